"""The fast ingest path stores exactly what the simple one does.

Simple: each source fetched on its own, then the round's outcomes ingested as one decide
window (``process_outcomes``: CPU stage inline, the open-stories view loaded once per round,
one burst cycle per round). Fast: ``Poller`` with worker processes, outcomes prepared in
groups as they arrive, a barrier long enough for the round to be one window. Same generated
corpus (mixed formats), a baseline round and a round with new items.
Items (relevance, topics, engagements, story), stories and deliveries must be identical.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from feedserver import FeedServer
from sqlalchemy import select

from bot.app import App, build_app
from bot.config import FileConfig, PollConfig, Settings, SourceConfig
from jobs.poll import Poller, StoryWindow, load_routes, process_outcomes
from storage.tables import delivery_t, item_t, source_t, story_t

START = datetime(2024, 9, 2, 12, 0, tzinfo=UTC)


def settings(db: Path, server: FeedServer) -> Settings:
    sources = [SourceConfig.model_validate(entry) for entry in server.source_entries()]
    return Settings(
        database_url=f"sqlite:///{db}",
        allow_private_networks=True,
        file=FileConfig(sources=sources, poll=PollConfig(concurrency=1, per_host=1)),
    )


async def simple_round(app: App, now: datetime) -> None:
    sources = await app.store.sources.all(enabled_only=True)
    routes = await load_routes(app.poll_ports())
    window = await StoryWindow.load(app.poll_ports(), now)
    outcomes = []
    async with app.fetcher() as fetcher:
        for source in sources:
            outcome = await fetcher.fetch(
                source.url, etag=source.state.etag, last_modified=source.state.last_modified
            )
            outcomes.append((source, outcome))
    await process_outcomes(app.poll_ports(), outcomes, routes, window, now)


async def fast_round(app: App, now: datetime) -> None:
    sources = await app.store.sources.all(enabled_only=True)
    async with Poller(app.poll_ports(), workers=2, pool_min=1, barrier_s=120) as poller:
        results = await poller.poll(sources, now)
    assert all(r.status != "failed" for r in results), [r.error for r in results]


async def digest(app: App) -> dict[str, Any]:
    """Everything ingest wrote, in a comparable form (burst-summary keys carry a random
    nonce and next-poll times a random jitter: those are left out; deliveries are compared
    as a set, since proposals are enqueued after each commit, whose grouping differs)."""
    async with app.store.db.connect() as conn:
        names = dict((await conn.execute(select(source_t.c.id, source_t.c.name))).all())
        items = (await conn.execute(select(item_t).order_by(item_t.c.id))).mappings().all()
        keys = {row["id"]: (names[row["source_id"]], row["key"]) for row in items}
        stories = (await conn.execute(select(story_t).order_by(story_t.c.key))).mappings().all()
        deliveries = (
            (await conn.execute(select(delivery_t).order_by(delivery_t.c.id))).mappings().all()
        )
    skip_item = {"id", "source_id"}
    return {
        "items": [
            {k: _plain(v) for k, v in row.items() if k not in skip_item}
            | {"source": names[row["source_id"]]}
            for row in items
        ],
        "stories": [{k: _plain(v) for k, v in row.items()} for row in stories],
        "deliveries": [
            {
                "channel": row["channel_id"],
                "kind": row["kind"],
                "key": "burst" if row["kind"] == "burst_summary" else row["dedupe_key"],
                "story": row["story_key"],
                "item": keys.get(row["item_id"]),
                "payload": row["payload"] if row["kind"] != "burst_summary" else None,
            }
            for row in sorted(deliveries, key=lambda r: (r["kind"], r["dedupe_key"]))
        ],
    }


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str, sort_keys=True))


@pytest.mark.timeout(300)
async def test_fast_path_stores_what_the_simple_path_stores(tmp_path: Path) -> None:
    with FeedServer(n_feeds=30, items_per_feed=12, summary_words=60) as server:
        apps = {
            name: await build_app(
                settings(tmp_path / f"{name}.db", server), clock=lambda: START, output=io.StringIO()
            )
            for name in ("simple", "fast")
        }
        try:
            await simple_round(apps["simple"], START)
            await fast_round(apps["fast"], START)
            for index in range(0, len(server.feeds), 2):
                server.publish(index, 3)
            later = START + timedelta(hours=1)
            await simple_round(apps["simple"], later)
            await fast_round(apps["fast"], later)
            simple, fast = await digest(apps["simple"]), await digest(apps["fast"])
        finally:
            for app in apps.values():
                await app.close()
    assert len(simple["items"]) == 30 * 12 + 15 * 3
    assert any(i["relevant"] for i in simple["items"]) and simple["stories"]
    assert any(d["kind"] == "alert" for d in simple["deliveries"])
    for part in ("items", "stories", "deliveries"):
        assert len(fast[part]) == len(simple[part]), part
        for a, b in zip(simple[part], fast[part], strict=True):
            assert a == b, part
