"""Sources with nothing new (304, failures) have their fetch state saved in batches."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from feedserver import FeedServer

from bot.app import build_app
from bot.config import FileConfig, Settings, SourceConfig
from bot.domain.models import FetchState
from jobs.poll import poll_due
from storage.repos.sources import SourceRepository

START = datetime(2024, 9, 2, 12, 0, tzinfo=UTC)


async def test_unchanged_and_failed_sources_are_saved_in_one_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[list[tuple[int, FetchState]]] = []
    original = SourceRepository.save_states

    async def spy(self: SourceRepository, states: list[tuple[int, FetchState]]) -> None:
        calls.append(list(states))
        await original(self, states)

    monkeypatch.setattr(SourceRepository, "save_states", spy)
    with FeedServer(n_feeds=3, items_per_feed=4) as server:
        sources = [
            SourceConfig.model_validate(
                {"name": f"feed {i}", "url": f.url, "type": f.source_type, "selector": f.selector}
            )
            for i, f in enumerate(server.feeds)
        ]
        sources.append(SourceConfig(name="broken", url=server.url(FeedServer.HTTP_500)))
        settings = Settings(
            database_url=f"sqlite:///{tmp_path / 'bot.db'}",
            allow_private_networks=True,
            file=FileConfig(sources=sources),
        )
        now = [START]
        app = await build_app(settings, clock=lambda: now[0], output=io.StringIO())
        try:
            first = await poll_due(app, all_sources=True)
            assert (first.ok, first.failed) == (3, 1)
            assert [len(c) for c in calls] == [1]  # only the failure waited for the batch
            now[0] = START + timedelta(hours=1)
            second = await poll_due(app, all_sources=True)
            assert second.new_items == 0 and second.failed == 1
            assert [len(c) for c in calls] == [1, 4]  # three 304s and the failure, together
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
