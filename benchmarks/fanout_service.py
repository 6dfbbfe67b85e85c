"""Fan-out: new relevant items routed to many subscriptions and committed to the outbox.

    python -m benchmarks.fanout_service [--items 1000] [--channels 500] [--topics-per-channel 4]
                                        [--runs 3] [--database-url postgresql://...]

A fresh database per run holds ``--channels`` Slack channels, each subscribed in real time
to ``--topics-per-channel`` topics (2,000 subscriptions by default). ``--items`` relevant
items (1-2 topics each, every one its own story) arrive from sources of 50 items each, as a
poll delivers them: per source, the real ``bot.domain.ingest.decide`` groups them into
stories, routes them (``bot/domain/route.py``: at most ``alerts_per_channel_per_poll`` alerts
per channel in the poll cycle, counted by the tally carried from source to source) and
renders each delivery; ``IngestRepository.commit_many`` then writes items, stories and
delivery rows, 32 sources per transaction as ``jobs/poll.py`` does, and the cycle ends with
one burst summary per channel that lost alerts (``cycle_summaries``, one transaction). The
clock runs from the first ``decide`` to the last commit; stored items and preparation
(parsing, classification, fingerprints) are not in it. The goal is under 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.ingest import database
from benchmarks.service_common import load, load_line, machine, median, write_results
from bot.domain.ingest import (
    Judged,
    OpenStories,
    Prepared,
    Routes,
    cycle_summaries,
    decide,
    item_fingerprint,
)
from bot.domain.models import Classification, FetchOutcome, Item, Source, SourceSpec
from bot.domain.route import BurstTally
from bot.domain.stories import StoryIndex
from bot.taxonomy_file import default_taxonomy
from storage.db import upgrade_to_head
from storage.store import Store

NAME = "fanout_service"
GOAL_S = 1.0
PER_SOURCE = 50
GROUP_MAX = 32  # sources per transaction, as jobs.poll.GROUP_MAX
BURST_LIMIT = 5  # alerts_per_channel_per_poll's default
SYLLABLES = ("ba", "ko", "ri", "tu", "se", "ma", "lo", "ve", "ni", "da", "fu", "gy", "pe", "zo")


def word(rng: random.Random) -> str:
    """A made-up word, so that generated items share no vocabulary and form own stories."""
    return "".join(rng.choice(SYLLABLES) for _ in range(4))


def generated_items(n: int, sources: list[Source], topics: list[str], now: datetime) -> list[Item]:
    """``n`` relevant items, ``PER_SOURCE`` per source, distinct enough to be own stories."""
    rng = random.Random(11)
    items: list[Item] = []
    for index in range(n):
        source = sources[index // PER_SOURCE]
        item_topics = tuple(rng.sample(topics, rng.choice((1, 2))))
        title = " ".join(word(rng) for _ in range(6)).capitalize()
        published = now - timedelta(minutes=rng.randint(1, 600))
        items.append(
            Item(
                key=f"fan-{index}",
                source_id=source.id,
                url=f"https://news.example/fan/{index}",
                title=title,
                summary=" ".join(word(rng) for _ in range(12)) + ".",
                published=published,
                first_seen=now,
                source_name=source.name,
                classification=Classification(relevant=True, topics=item_topics),
            )
        )
    return items


async def setup(
    store: Store, args: argparse.Namespace, topics: list[str], now: datetime
) -> tuple[list[Source], Routes]:
    """Channels with their subscriptions, and the sources the items come from."""
    for c in range(args.channels):
        channel = await store.channels.ensure(
            name=f"desk-{c}", platform="slack", target=f"C{c:06d}", now=now
        )
        wanted = [topics[(c + k * 3) % len(topics)] for k in range(args.topics_per_channel)]
        await store.channels.subscribe(channel.id, wanted, "realtime", now=now)
    sources = []
    for s in range(-(-args.items // PER_SOURCE)):
        spec = SourceSpec(name=f"Wire {s}", url=f"https://wire{s}.example/feed")
        sources.append(await store.sources.add(spec, origin="config", now=now))
    routes = Routes(
        channels=await store.channels.all(),
        subscriptions=await store.channels.subscriptions(),
        burst_limit=BURST_LIMIT,
    )
    return sources, routes


async def one_run(url: str, args: argparse.Namespace) -> dict[str, Any]:
    await asyncio.to_thread(upgrade_to_head, url)
    store = await Store.open(url, upgrade=False)
    taxonomy = default_taxonomy()
    now = datetime.now(UTC)
    try:
        sources, routes = await setup(store, args, list(taxonomy.topic_ids), now)
        items = generated_items(args.items, sources, list(taxonomy.topic_ids), now)
        prepared: dict[int, list[Judged]] = {}
        for item in items:
            judged = Judged(item, (item.key,), item_fingerprint(item))
            prepared.setdefault(item.source_id, []).append(judged)
        view = OpenStories(StoryIndex.restore([]), {})
        ok = FetchOutcome(url="https://wire.example/feed", ok=True, status=200, body=b"")
        started, cpu_started = time.perf_counter(), time.process_time()
        decide_s = commit_s = 0.0
        rows = 0
        kinds: dict[str, int] = {}
        tally = BurstTally()  # the poll cycle's count per channel, carried source to source
        for start in range(0, len(sources), GROUP_MAX):
            group = sources[start : start + GROUP_MAX]
            began = time.perf_counter()
            batches = []
            for source in group:
                batch = decide(
                    replace_baseline(source),
                    ok,
                    Prepared(tuple(prepared.get(source.id, ())), None, PER_SOURCE),
                    view,
                    routes,
                    now,
                    labels=taxonomy.label,
                    jitter=0.5,
                    tally=tally,
                )
                tally = batch.tally
                batches.append(batch)
            decided = time.perf_counter()
            await store.ingest.commit_many(batches)
            commit_s += time.perf_counter() - decided
            decide_s += decided - began
            rows += sum(len(b.deliveries) for b in batches)
            for d in (d for b in batches for d in b.deliveries):
                kinds[d.kind] = kinds.get(d.kind, 0) + 1
        began = time.perf_counter()  # the cycle ends: one summary per channel that lost alerts
        summaries = cycle_summaries(tally, routes.channels, now, "bench")
        decided = time.perf_counter()
        await store.ingest.enqueue(summaries, now)
        commit_s += time.perf_counter() - decided
        decide_s += decided - began
        rows += len(summaries)
        for d in summaries:
            kinds[d.kind] = kinds.get(d.kind, 0) + 1
        total_s = time.perf_counter() - started
        cpu_s = time.process_time() - cpu_started
        counts = await store.deliveries.counts()
    finally:
        await store.close()
    return {
        "total_s": round(total_s, 3),
        "cpu_s": round(cpu_s, 3),
        "decide_s": round(decide_s, 3),
        "commit_s": round(commit_s, 3),
        "deliveries": rows,
        "kinds": kinds,
        "stories": len(view.stories),
        "pending_rows": counts.get("pending", 0),
        "subscriptions": len(routes.subscriptions),
        "channels": len(routes.channels),
    }


def replace_baseline(source: Source) -> Source:
    """The source as already baselined, so its new items are routed."""
    from dataclasses import replace

    return replace(source, state=replace(source.state, baseline_done=True))


def run_database(label: str, url: str | None, args: argparse.Namespace) -> dict[str, Any]:
    runs = []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp, database(url, Path(tmp)) as run_url:
            runs.append(asyncio.run(one_run(run_url, args)))
    keys = ("total_s", "cpu_s", "decide_s", "commit_s")
    row: dict[str, Any] = {k: round(median([r[k] for r in runs]), 3) for k in keys}
    row.update(database=label, deliveries=runs[0]["deliveries"], runs=runs)
    row.update(subscriptions=runs[0]["subscriptions"], channels=runs[0]["channels"])
    row["met"] = row["total_s"] < GOAL_S
    return row


def postgres_reachable(url: str) -> bool:
    import asyncpg
    from sqlalchemy.engine import make_url

    base = make_url(url)

    async def ping() -> None:
        conn = await asyncpg.connect(
            host=base.host, port=base.port or 5432, user=base.username, database=base.database
        )
        await conn.close()

    try:
        asyncio.run(asyncio.wait_for(ping(), 5))
    except Exception:
        return False
    return True


def report(result: dict[str, Any]) -> str:
    first = result["rows"][0]
    lines = [
        f"{result['items']:,} relevant items from {result['items'] // PER_SOURCE} sources x "
        f"{first['subscriptions']:,} subscriptions ({first['channels']} channels x "
        f"{result['topics_per_channel']} topics), burst limit {BURST_LIMIT} alerts per channel "
        f"and poll cycle; medians of {result['runs_each']} runs",
        load_line(result),
        "",
    ]
    header = (
        f"{'database':12}{'deliveries':>12}{'decide s':>10}{'commit s':>10}{'total s':>10}"
        f"{'CPU s':>8}{'goal':>8}{'met':>5}"
    )
    lines += [header, "-" * len(header)]
    for row in result["rows"]:
        lines.append(
            f"{row['database']:12}{row['deliveries']:>12,}{row['decide_s']:>10.3f}"
            f"{row['commit_s']:>10.3f}{row['total_s']:>10.3f}{row['cpu_s']:>8.2f}{'< 1 s':>8}"
            f"{'yes' if row['met'] else 'NO':>5}"
        )
    lines.append("")
    lines.append("decide: story grouping, routing and rendering (pure); commit: the outbox rows")
    lines.append("CPU s: process time of this process over the same span (not the database server)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--channels", type=int, default=500)
    parser.add_argument("--topics-per-channel", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--database-url",
        default="postgresql://127.0.0.1:5432/test",
        help="PostgreSQL server for the second row (skipped when unreachable; '' to skip)",
    )
    parser.add_argument("--output", type=Path)
    args = parser.parse_args(argv)
    load_before = load()
    rows = [run_database("SQLite", None, args)]
    if args.database_url and postgres_reachable(args.database_url):
        rows.append(run_database("PostgreSQL", args.database_url, args))
    result: dict[str, Any] = machine(load_before) | {
        "items": args.items,
        "topics_per_channel": args.topics_per_channel,
        "runs_each": args.runs,
        "goal_s": GOAL_S,
        "rows": rows,
    }
    print(report(result))
    print(f"\nresults written to {write_results(NAME, result, args.output)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
