"""Fetch states are written with the group commit: once per source per poll, every outcome
(new items, 304, failure) in the same kind of multi-source transaction."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from feedserver import FeedServer

from bot.app import build_app
from bot.config import FileConfig, Settings, SourceConfig
from bot.domain.ingest import IngestBatch
from bot.domain.models import Item
from jobs.poll import poll_due
from storage.repos.items import IngestRepository

START = datetime(2024, 9, 2, 12, 0, tzinfo=UTC)


async def test_every_outcome_saves_its_state_once_per_poll(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[list[tuple[int, str]]] = []
    original = IngestRepository.commit_many

    async def spy(self: IngestRepository, batches: list[IngestBatch]) -> list[list[Item]]:
        calls.append([(b.source_id, b.status) for b in batches])
        return await original(self, batches)

    monkeypatch.setattr(IngestRepository, "commit_many", spy)
    with FeedServer(n_feeds=3, items_per_feed=4) as server:
        sources = [SourceConfig.model_validate(entry) for entry in server.source_entries()]
        sources.append(SourceConfig(name="broken", url=server.url(FeedServer.HTTP_500)))
        settings = Settings(
            database_url=f"sqlite:///{tmp_path / 'bot.db'}",
            allow_private_networks=True,
            file=FileConfig(sources=sources),
        )
        now = [START]
        app = await build_app(settings, clock=lambda: now[0], output=io.StringIO())
        try:
            first = await poll_due(app.poll_ports(), all_sources=True)
            assert (first.ok, first.failed) == (3, 1)
            first_writes = sorted(st for c in calls for _, st in c)
            assert first_writes == ["failed", "ok", "ok", "ok"]  # each source once
            now[0] = START + timedelta(hours=1)
            second = await poll_due(app.poll_ports(), all_sources=True)
            assert second.new_items == 0 and second.failed == 1
            second_writes = sorted(st for c in calls for _, st in c)[4:]
            writes = sorted(st for c in calls for _, st in c)
            assert writes.count("not_modified") == 3 and writes.count("failed") == 2
            assert len(writes) == 8 and second_writes
            stored = {s.spec.name: s.state for s in await app.store.sources.all()}
        finally:
            await app.close()
    for i in range(3):
        state = stored[f"feed {i}"]
        assert state.last_success == now[0] and state.failures == 0
        assert state.next_poll is not None and state.next_poll > now[0]
    broken = stored["broken"]
    assert broken.failures == 2 and broken.last_error and "500" in broken.last_error
    assert broken.last_attempt == now[0]
