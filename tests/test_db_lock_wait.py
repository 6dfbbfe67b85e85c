"""A chat request's bounded lock wait (SQLite files): in force inside ``bounded_wait``, the
default outside it, and set with a ``PRAGMA`` only when a pooled connection changes hands."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event

from storage.db import SQLITE_BUSY_TIMEOUT_MS, Database, bounded_wait


async def _busy_timeout(db: Database, *, session: bool = False) -> int:
    if session:
        async with db.session() as s:
            conn = await s.connection()
            return int((await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar_one())
    async with db.connect() as conn:
        return int((await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar_one())


async def test_the_lock_wait_follows_the_request_without_extra_round_trips(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    db = Database(url)
    await db.upgrade()
    setters: list[str] = []

    @event.listens_for(db.engine.sync_engine, "before_cursor_execute")
    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith("PRAGMA busy_timeout="):
            setters.append(statement)

    try:
        assert await _busy_timeout(db) == SQLITE_BUSY_TIMEOUT_MS
        with bounded_wait(0.5):
            for _ in range(3):  # one request after another reuses the pooled connection
                assert await _busy_timeout(db) == 500
                assert await _busy_timeout(db, session=True) == 500
        assert setters == ["PRAGMA busy_timeout=500"]
        assert await _busy_timeout(db, session=True) == SQLITE_BUSY_TIMEOUT_MS
        assert await _busy_timeout(db) == SQLITE_BUSY_TIMEOUT_MS
        assert setters == [
            "PRAGMA busy_timeout=500",
            f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
        ]
    finally:
        await db.dispose()
