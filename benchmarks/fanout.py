"""Fan-out into the outbox: N new relevant items x M subscribed channels, decide + commit.

    python -m benchmarks.fanout [--items 1000 --channels 2000]

Builds a throwaway SQLite app with ``--channels`` console channels each subscribed to every
topic in real time, one baselined source, and ``--items`` relevant items of the benchmark
corpus (prepared once, outside the timing). Times ``bot.domain.ingest.decide`` (grouping,
routing with the per-channel burst cap, rendering, the cycle's burst summaries) and
``IngestRepository.commit_many`` for one batch plus the summaries, and counts the deliveries
written.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


async def run(items: int, channels: int) -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    from feedserver import FeedServer

    from bot.app import build_app
    from bot.config import FileConfig, Settings
    from bot.domain.ingest import Judge, OpenStories, Prepared, cycle_summaries, decide, prepare
    from bot.domain.models import FetchOutcome, FetchState, SourceSpec
    from bot.domain.stories import StoryIndex
    from jobs.poll import load_routes

    now = datetime(2024, 9, 2, 12, 0, tzinfo=UTC)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            database_url=f"sqlite:///{Path(tmp) / 'fanout.db'}", file=FileConfig(sources=[])
        )
        app = await build_app(settings, clock=lambda: now, output=io.StringIO())
        try:
            for n in range(channels):
                channel = await app.store.channels.ensure(
                    name=f"desk-{n}", platform="console", target="stdout", now=now
                )
                await app.store.channels.subscribe(channel.id, ["*"], "realtime", now=now)
            source = await app.store.sources.add(
                SourceSpec(name="wire", url="https://wire.example/feed"), origin="user", now=now
            )
            source = replace(source, state=FetchState(baseline_done=True))
            judge = Judge(app.taxonomy, app.classifier)
            judged = []
            with FeedServer(n_feeds=max(1, items // 20), items_per_feed=50) as server:
                for feed in server.feeds:
                    outcome = FetchOutcome(
                        url=feed.url,
                        ok=True,
                        status=200,
                        body=feed.body,
                        headers={"content-type": feed.content_type},
                    )
                    spec = replace(source.spec, type=feed.source_type, selector=feed.selector)
                    got = prepare(replace(source, spec=spec), outcome, set(), now, judge)
                    judged += [j for j in got.items if j.item.relevant]
            prepared = Prepared(tuple(judged[:items]), None, items)
            routes = await load_routes(app.poll_ports())
            view = OpenStories(StoryIndex(), {})
            outcome = FetchOutcome(url=source.url, ok=True, status=200)
            started = time.perf_counter()
            batch = decide(
                source,
                outcome,
                prepared,
                view,
                routes,
                now,
                labels=app.taxonomy.label,
                jitter=0.0,
            )
            summaries = cycle_summaries(batch.tally, routes.channels, now, "bench")
            decided = time.perf_counter()
            await app.store.ingest.commit_many([batch])
            await app.store.ingest.enqueue(summaries, now)
            committed = time.perf_counter()
            rows = len(batch.deliveries) + len(summaries)
            print(
                f"{len(prepared.items)} relevant items x {len(routes.channels)} channels: "
                f"{rows} deliveries; decide {decided - started:.2f} s, "
                f"commit {committed - decided:.2f} s, total {committed - started:.2f} s"
            )
        finally:
            await app.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--channels", type=int, default=2000)
    args = parser.parse_args()
    asyncio.run(run(args.items, args.channels))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
