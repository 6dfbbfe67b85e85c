"""One bad or slow source must not stop or delay polling for the others.

- A JSON feed of 50,000 nested arrays (the parser raises ``RecursionError``) among 16 good
  feeds: ``poll --once`` exits 0, stores the 16, and records the error with backoff; the same
  through the worker processes of large cycles.
- Slow-drip sources on one host and a healthy source elsewhere: with ``run``'s ticking poller
  (no cycle barrier) the healthy one keeps being polled on its own schedule while the slow
  fetches are still hanging.
"""

from __future__ import annotations

import asyncio
import io
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from feedserver import FeedServer
from sqlalchemy import func, select

from bot.app import build_app
from bot.cli import main
from bot.config import FileConfig, PollConfig, Settings, SourceConfig, load_settings
from storage.db import Database
from storage.store import Store
from storage.tables import item_t


@pytest.fixture(scope="module")
def server() -> Iterator[FeedServer]:
    with FeedServer(n_feeds=16, items_per_feed=5, summary_words=30) as srv:
        yield srv


def source_dicts(server: FeedServer) -> list[dict[str, str]]:
    return [
        *server.source_entries(),
        {"name": "deep", "url": server.url(FeedServer.DEEP_JSON), "type": "json"},
    ]


async def stored(url: str) -> dict[str, tuple[int, str | None, datetime | None]]:
    """Per source name: items stored, last error, next poll."""
    store = Store(Database(url))
    try:
        query = select(item_t.c.source_id, func.count()).group_by(item_t.c.source_id)
        async with store.db.connect() as conn:
            counts = {sid: int(n) for sid, n in (await conn.execute(query)).all()}
        return {
            s.name: (counts.get(s.id, 0), s.state.last_error, s.state.next_poll)
            for s in await store.sources.all()
        }
    finally:
        await store.close()


@pytest.mark.timeout(120)
def test_a_hostile_feed_fails_alone_through_the_cli(
    tmp_path: Path,
    server: FeedServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = tmp_path / "uschina-bot.yaml"
    config.write_text(yaml.safe_dump({"sources": source_dicts(server)}), encoding="utf-8")
    monkeypatch.setenv("USCHINA_BOT_CONFIG", str(config))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'bot.db'}")
    monkeypatch.setenv("USCHINA_BOT_ALLOW_PRIVATE_NETWORKS", "1")

    assert main(["poll", "--once", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["sources_ok"] == 16 and summary["sources_failed"] == 1
    (failure,) = summary["failed"]
    assert failure["name"] == "deep" and "nested too deeply" in failure["error"]
    assert summary["new_items"] == sum(len(f.guids) for f in server.feeds)

    states = asyncio.run(stored(load_settings().database_url))
    for i, feed in enumerate(server.feeds):
        count, error, _ = states[f"feed {i}"]
        assert count == len(feed.guids) and error is None
    count, error, next_poll = states["deep"]
    assert count == 0 and error is not None and "nested" in error
    assert next_poll is not None and next_poll - datetime.now(UTC) > timedelta(
        minutes=20
    )  # backed off (interval 15m)

    assert main(["poll", "--once", "--json"]) == 0  # and again: still isolated, still 0
    again = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert again["sources_failed"] == 1 and again["new_items"] == 0


@pytest.mark.timeout(120)
async def test_a_hostile_feed_fails_alone_in_the_worker_processes(
    tmp_path: Path, server: FeedServer
) -> None:
    from jobs.poll import Poller

    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'bot.db'}",
        allow_private_networks=True,
        file=FileConfig(sources=[SourceConfig.model_validate(s) for s in source_dicts(server)]),
    )
    app = await build_app(settings, output=io.StringIO())
    try:
        sources = await app.store.sources.all(enabled_only=True)
        async with Poller(app.poll_ports(), workers=1, pool_min=1) as poller:
            results = await poller.poll(sources, app.now())
        by_name = {r.name: r for r in results}
        assert by_name["deep"].status == "failed"
        assert "nested too deeply" in (by_name["deep"].error or "")
        assert all(r.status == "ok" for n, r in by_name.items() if n != "deep")
        assert sum(r.new_items for r in results) == sum(len(f.guids) for f in server.feeds)
    finally:
        await app.close()


class FastClock:
    """Application time running ``speed`` times faster than real time."""

    def __init__(self, speed: float) -> None:
        self.start = datetime.now(UTC)
        self.real = time.monotonic()
        self.speed = speed

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=(time.monotonic() - self.real) * self.speed)


@pytest.mark.timeout(120)
async def test_slow_sources_do_not_hold_back_a_healthy_one(tmp_path: Path) -> None:
    """Eight slow-drip sources on one host (two at a time there, each hanging until the 5 s
    deadline) and a healthy 1-minute source on another; application time runs 30x faster, so
    the healthy source is due every ~2 s of real time. With a cycle barrier it would be polled
    about once while the slow ones drain (8 / 2 x 5 s = 20 s); without, every time it is due."""
    from jobs.poll import Poller

    with FeedServer(n_feeds=1) as slow_host, FeedServer(n_feeds=1) as healthy_host:
        slow = [
            SourceConfig(name=f"drip {i}", url=slow_host.url(f"{FeedServer.DRIP}?every=0.5&n={i}"))
            for i in range(8)
        ]
        feed = healthy_host.feeds[0]
        healthy = SourceConfig.model_validate(
            {"name": "healthy", "url": feed.url, "type": feed.source_type, "interval": "1m"}
        )
        settings = Settings(
            database_url=f"sqlite:///{tmp_path / 'bot.db'}",
            allow_private_networks=True,
            file=FileConfig(
                sources=[*slow, healthy], poll=PollConfig(per_host=2, deadline=5, workers=0)
            ),
        )
        app = await build_app(settings, clock=FastClock(30), output=io.StringIO())
        try:
            async with Poller(app.poll_ports()) as poller:
                until = time.monotonic() + 12
                while time.monotonic() < until:
                    await poller.tick()
                    await asyncio.sleep(0.2)
                finished = list(poller.finished)
        finally:
            await app.close()
        healthy_fetches = healthy_host.requests_for("/feeds/0")
    done = [r.name for r in finished]
    assert len(healthy_fetches) >= 4, [round(r.started, 1) for r in healthy_fetches]
    assert done.count("healthy") >= 4
    first_slow_done = next(i for i, name in enumerate(done) if name.startswith("drip"))
    assert done[:first_slow_done].count("healthy") >= 2  # polled again before any slow one ended
