"""How fast is the status board with 100,000 stored items?

Seeds a throwaway SQLite database with N items (default 100,000) spread over a year, about two
items per story, 1–2 topics each, a few percent reporting direct engagements, then times
``jobs.queries.status_message`` (the board, and one topic's detail) and prints milliseconds.

    python -m benchmarks.status_speed [--items 100000] [--runs 30] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from bot.app import App
from bot.config import FileConfig, Settings
from bot.domain.classify import Classifier
from bot.domain.models import Classification, Engagement, EventDate, Item, SourceSpec, Story
from bot.taxonomy_file import default_taxonomy
from jobs.queries import status_message
from storage.db import Database, upgrade_to_head
from storage.repos.items import item_values, story_values
from storage.store import Store
from storage.tables import identity_t, item_t, item_topic_t, story_t

NOW = datetime(2024, 9, 10, 12, 0, tzinfo=UTC)
OUTLETS = ("Reuters", "AP", "SCMP", "State Department", "Xinhua", "Bloomberg", "NYT")
KINDS = ("call", "meeting", "talks", "visit", "summit")
CHUNK = 5000


def _engagements(rng: random.Random, published: datetime) -> tuple[Engagement, ...]:
    roll = rng.random()
    if roll > 0.08:
        return ()
    day = published.date() - timedelta(days=rng.randint(0, 2))
    status = "reported" if roll < 0.05 else "expected"
    if status == "expected":
        day = published.date() + timedelta(days=rng.randint(3, 40))
    kind = rng.choice(KINDS)
    when = EventDate(text="then", start=day, end=day, certainty="exact")
    return (Engagement(kind=kind, label=f"{kind} {day}", status=status, dates=(when,)),)


def generate(
    n: int, topics: list[str], seed: int = 7, now: datetime = NOW
) -> tuple[list[Item], list[Story]]:
    """``n`` items (ids 1..n) and their stories, newest about ``now``."""
    rng = random.Random(seed)
    items: list[Item] = []
    stories: list[Story] = []
    story_count = n // 2
    for s in range(story_count):
        first = now - timedelta(seconds=rng.randint(0, 365 * 86400))
        story_topics = tuple(rng.sample(topics, rng.choice((1, 1, 2))))
        members: list[Item] = []
        for k in range(2 if len(items) + 2 <= n else 1):
            published = first + timedelta(minutes=30 * k)
            outlet = OUTLETS[(s + k) % len(OUTLETS)]
            item_id = len(items) + len(members) + 1
            members.append(
                Item(
                    id=item_id,
                    key=f"k{item_id}",
                    source_id=1,
                    url=f"https://news.example/{item_id}",
                    title=f"US and China story {s} about {' and '.join(story_topics)}",
                    summary="Officials from both sides commented.",
                    published=published,
                    first_seen=published,
                    source_name=outlet,
                    classification=Classification(relevant=True, topics=story_topics),
                    story_key=f"s{s}",
                    engagements=_engagements(rng, published),
                )
            )
        items += members
        stories.append(
            Story(
                key=f"s{s}",
                title=members[0].title,
                url=members[0].url,
                first_seen=members[0].first_seen,
                last_seen=members[-1].published,
                topics=story_topics,
                outlets=tuple(m.source_name for m in members),
                item_count=len(members),
            )
        )
    return items, stories


async def seed(store: Store, n: int, topics: list[str], now: datetime = NOW) -> None:
    """Store ``n`` generated items and their stories in batched inserts (ids 1..n)."""
    await store.sources.add(
        SourceSpec(name="Bench", url="https://news.example/rss"), origin="config", now=now
    )
    items, stories = generate(n, topics, now=now)
    async with store.db.connect() as conn:
        for start in range(0, len(items), CHUNK):
            chunk = items[start : start + CHUNK]
            rows: list[dict[str, Any]] = []
            for item in chunk:
                row = item_values(item, baseline=False)
                row["id"] = item.id
                rows.append(row)
            await conn.execute(insert(item_t), rows)
            await conn.execute(
                insert(identity_t),
                [{"source_id": 1, "identity": i.key, "item_id": i.id} for i in chunk],
            )
            await conn.execute(
                insert(item_topic_t),
                [
                    {"item_id": i.id, "topic": t, "published": i.published}
                    for i in chunk
                    for t in i.topics
                ],
            )
        for start in range(0, len(stories), CHUNK):
            await conn.execute(
                insert(story_t), [story_values(s, {}) for s in stories[start : start + CHUNK]]
            )


async def timed(runs: int, call: Any) -> list[float]:
    out = []
    for _ in range(runs):
        began = time.perf_counter()
        await call()
        out.append((time.perf_counter() - began) * 1000)
    return out


def summary(label: str, ms: list[float]) -> str:
    ordered = sorted(ms)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return (
        f"{label}: median {statistics.median(ms):.1f} ms, p95 {p95:.1f} ms, "
        f"max {max(ms):.1f} ms ({len(ms)} runs)"
    )


async def main(n: int, runs: int, url: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        await asyncio.to_thread(upgrade_to_head, url)
        store = Store(Database(url))
        taxonomy = default_taxonomy()
        app = App(
            settings=Settings(file=FileConfig()),
            store=store,
            taxonomy=taxonomy,
            classifier=Classifier(taxonomy),
            clock=lambda: NOW,
        )
        began = time.perf_counter()
        await seed(store, n, list(taxonomy.topic_ids))
        print(f"seeded {await store.items.count()} items in {time.perf_counter() - began:.1f} s")
        await status_message(app.query_ports(), None, NOW)  # warm up caches and connections
        board = await timed(runs, lambda: status_message(app.query_ports(), None, NOW))
        detail = await timed(runs, lambda: status_message(app.query_ports(), "diplomacy", NOW))
        print(summary("status board", board))
        print(summary("status diplomacy", detail))
        await store.close()


def cli() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.status_speed")
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--database-url", help="an empty database (default: temporary SQLite)")
    args = parser.parse_args()
    asyncio.run(main(args.items, args.runs, args.database_url))


if __name__ == "__main__":
    cli()


__all__ = ["generate", "seed"]
