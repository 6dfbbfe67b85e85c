"""When deciding a window raises, each of its sources is decided alone: the error stays with
the source that caused it, the others are stored, and the next poll starts clean."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from feedserver import FeedServer

import jobs.poll
from bot.app import build_app
from bot.config import FileConfig, Settings, SourceConfig
from bot.domain.ingest import Fetched
from jobs.poll import poll_due

START = datetime(2024, 9, 2, 12, 0, tzinfo=UTC)


async def test_a_source_that_breaks_its_window_fails_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = jobs.poll.decide_cycle
    poisoned: set[str] = set()
    windows: list[list[str]] = []

    def decide_cycle(fetched: Sequence[Fetched], *args: Any, **kwargs: Any) -> Any:
        names = [f.source.name for f in fetched]
        windows.append(names)
        if poisoned & set(names):
            raise RuntimeError("story assignment failed")
        return real(fetched, *args, **kwargs)

    monkeypatch.setattr(jobs.poll, "decide_cycle", decide_cycle)
    with FeedServer(n_feeds=3, items_per_feed=4) as server:
        sources = [SourceConfig.model_validate(entry) for entry in server.source_entries()]
        settings = Settings(
            database_url=f"sqlite:///{tmp_path / 'bot.db'}",
            allow_private_networks=True,
            file=FileConfig(sources=sources),
        )
        now = [START]
        app = await build_app(settings, clock=lambda: now[0], output=io.StringIO())
        try:
            poisoned.add("feed 1")
            first = await poll_due(app.poll_ports(), all_sources=True)
            by_name = {r.name: r for r in first.results}
            assert by_name["feed 1"].status == "failed"
            assert "RuntimeError" in (by_name["feed 1"].error or "")
            assert by_name["feed 0"].status == by_name["feed 2"].status == "ok"
            assert by_name["feed 0"].new_items == by_name["feed 2"].new_items == 4
            assert any(len(w) > 1 for w in windows)  # the window was tried whole first
            assert ["feed 1"] in windows  # then each source alone

            assert await app.store.items.count() == 8
            feed1 = {s.id for s in await app.store.sources.all() if s.name == "feed 1"}
            assert not feed1 & {i.source_id for i in await app.store.items.latest(limit=50)}
            states = {s.name: s.state for s in await app.store.sources.all()}
            assert states["feed 1"].failures == 1 and states["feed 1"].last_error
            assert states["feed 0"].failures == 0

            poisoned.clear()  # the cause is gone: the failed source is read on its next poll
            now[0] = START + timedelta(hours=2)
            second = await poll_due(app.poll_ports(), all_sources=True)
            assert {r.name: r.status for r in second.results} == {
                "feed 0": "not_modified",
                "feed 1": "ok",
                "feed 2": "not_modified",
            }
            assert await app.store.items.count() == 12
        finally:
            await app.close()
