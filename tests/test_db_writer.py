"""The database's writer thread (``Database.on_writer``) and the poll's commit slices."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime
from pathlib import Path

from bot.domain.ingest import IngestBatch
from bot.domain.models import FetchState
from jobs.poll import commit_slices
from storage.db import Database


async def _where(db: Database) -> tuple[str, asyncio.AbstractEventLoop, int]:
    async with db.connect() as conn:
        one = int((await conn.exec_driver_sql("SELECT 1")).scalar_one())
    return threading.current_thread().name, asyncio.get_running_loop(), one


async def test_file_database_writes_on_its_own_thread_and_loop(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'w.db'}")
    try:
        name, loop, one = await db.on_writer(_where)
        assert one == 1
        assert name == "uschina-bot-db-writer" and loop is not asyncio.get_running_loop()
        assert (await db.on_writer(_where))[1] is loop  # one writer, reused
    finally:
        await db.dispose()
    assert not any(t.name == "uschina-bot-db-writer" for t in threading.enumerate())


async def test_memory_database_writes_on_the_callers_loop() -> None:
    db = Database("sqlite://")
    try:
        name, loop, _ = await db.on_writer(_where)
        assert name == threading.current_thread().name and loop is asyncio.get_running_loop()
    finally:
        await db.dispose()


def _batch(source_id: int, items: int) -> IngestBatch:
    batch = IngestBatch(source_id, FetchState(), datetime(2024, 1, 1, tzinfo=UTC))
    batch.items = [(object(), ()) for _ in range(items)]  # type: ignore[misc]
    return batch


def test_commit_slices_keep_order_and_whole_batches() -> None:
    batches = [_batch(i, n) for i, n in enumerate([100, 100, 100, 600, 10, 10])]
    parts = list(commit_slices(batches, rows=256))
    assert [(p.start, p.stop) for p in parts] == [(0, 2), (2, 3), (3, 4), (4, 6)]
    assert list(commit_slices([], rows=256)) == []
