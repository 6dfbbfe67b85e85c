"""Issue acceptance for ingest: a local server with 50 mixed feeds and hostile sources.

Runs the real CLI (`poll --once`) against a real SQLite database, then checks what was stored,
what the server saw on the second poll, and how the failing sources were recorded.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from feedserver import FeedServer

from bot.cli import main
from bot.config import load_settings
from storage.db import Database
from storage.store import Store

HOSTILE = {
    "server error": FeedServer.HTTP_500,
    "slow": FeedServer.SLOW,
    "drip": FeedServer.DRIP + "?every=1",
    "redirect loop": FeedServer.LOOP,
    "50 MB": FeedServer.BIG,
    "gzip bomb": FeedServer.GZIP_BOMB,
    "html page": FeedServer.HTML,
}
EXPECTED_REASON = {
    "server error": "500",
    "slow": "timed out",
    "drip": "timed out",
    "redirect loop": "redirect",
    "50 MB": "larger than",
    "gzip bomb": "larger than",
    "html page": "not a feed",
}


@pytest.fixture(scope="module")
def server() -> Iterator[FeedServer]:
    with FeedServer(n_feeds=50, items_per_feed=8, slow_s=30, summary_words=40) as srv:
        yield srv


@pytest.fixture
def configured(tmp_path: Path, server: FeedServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    sources = server.source_entries(interval="10m")
    sources.append({"name": "regenerating", "url": server.url(FeedServer.REGEN), "type": "rss"})
    sources += [{"name": name, "url": server.url(path)} for name, path in HOSTILE.items()]
    config = {"sources": sources, "poll": {"deadline": "3s", "max_bytes": 2 * 1024 * 1024}}
    path = tmp_path / "uschina-bot.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    monkeypatch.setenv("USCHINA_BOT_CONFIG", str(path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'bot.db'}")
    monkeypatch.setenv("USCHINA_BOT_ALLOW_PRIVATE_NETWORKS", "1")
    return path


def poll(capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    assert main(["poll", "--once", "--json"]) == 0
    out = capsys.readouterr().out.strip().splitlines()[-1]
    return dict(json.loads(out))


async def source_states(url: str) -> dict[str, tuple[int, str | None, datetime | None]]:
    store = Store(Database(url))
    try:
        return {
            s.name: (s.state.failures, s.state.last_error, s.state.next_poll)
            for s in await store.sources.all()
        }
    finally:
        await store.close()


async def stored_items(url: str) -> int:
    store = Store(Database(url))
    try:
        return await store.items.count()
    finally:
        await store.close()


@pytest.mark.timeout(180)
def test_poll_twice_stores_once_and_reports_failures(
    configured: Path, server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    url = load_settings().database_url
    first = poll(capsys)
    feed_items = sum(len(f.guids) for f in server.feeds)
    assert first["sources_ok"] == 51
    assert first["sources_failed"] == len(HOSTILE)
    assert first["new_items"] == feed_items + server.regen_items
    assert asyncio.run(stored_items(url)) == feed_items + server.regen_items

    states = asyncio.run(source_states(url))
    now = datetime.now(UTC)
    for name, needle in EXPECTED_REASON.items():
        failures, error, next_poll = states[name]
        assert failures == 1, name
        assert error is not None and needle in error.lower(), (name, error)
        assert next_poll is not None and (next_poll - now).total_seconds() > 600, name

    server.clear_requests()
    second = poll(capsys)
    assert second["new_items"] == 0
    assert asyncio.run(stored_items(url)) == feed_items + server.regen_items
    for feed in server.feeds:
        requests = server.requests_for(urlpath(feed.url))
        assert requests and all(r.conditional for r in requests), feed.url
        assert all(r.status == 304 for r in requests), feed.url
    assert server.regen_fetches >= 2  # regenerated guids and dates, nothing new stored


def urlpath(url: str) -> str:
    return "/" + url.split("/", 3)[3]


@pytest.mark.timeout(120)
def test_failing_sources_do_not_delay_healthy_ones(
    configured: Path, server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.app import build_app
    from jobs.poll import poll_due

    order: list[str] = []

    async def run() -> None:
        app = await build_app(load_settings())
        try:
            await poll_due(
                app.poll_ports(), all_sources=True, progress=lambda d, t, r: order.append(r.name)
            )
        finally:
            await app.close()

    asyncio.run(run())
    healthy = [i for i, name in enumerate(order) if name.startswith("feed ")]
    slow = [order.index("slow"), order.index("drip")]
    assert len(healthy) == 50
    assert max(healthy) < min(slow)
