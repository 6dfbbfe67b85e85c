"""``uschina-bot demo``: the whole pipeline offline, on bundled sample items.

Sample feeds written for the project (``bot/data/demo``) are replayed through parsing,
normalising, dedup, classification, story grouping, engagement extraction, storage, routing
and delivery into a throwaway SQLite database; the console shows what a channel would get.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli._common import parse_now
from bot.domain.models import FetchOutcome, SourceSpec
from bot.domain.textout import to_text

if TYPE_CHECKING:
    from bot.app import App

DEFAULT_NOW = "2024-08-31T12:00:00+00:00"
EMPTY_ATOM = (
    b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>x</title></feed>'
)
WIRE = SourceSpec(name="Demo Wire", url="https://wire.example.org/feed.xml", type="rss")
OFFICIAL = SourceSpec(
    name="Demo Official Readouts",
    url="https://readouts.example.gov/feed",
    type="atom",
    official=True,
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "demo",
        help="see the bot work offline: sample news through the whole pipeline",
        description=(
            "Replay bundled sample items through the whole pipeline into a throwaway database "
            "and print what a channel would get: alerts, a digest, countdowns and the status "
            "board. No credentials, no network."
        ),
    )
    p.add_argument(
        "--now", metavar="ISO", default=DEFAULT_NOW, help=f"clock (default {DEFAULT_NOW})"
    )
    p.set_defaults(handler=handle)


def sample(name: str) -> bytes:
    return (resources.files("bot") / "data" / "demo" / name).read_bytes()


def heading(title: str) -> None:
    print(f"\n=== {title} " + "=" * max(0, 60 - len(title)))


def handle(args: argparse.Namespace) -> int:
    now = parse_now(args.now)
    with tempfile.TemporaryDirectory(prefix="uschina-demo-") as tmp:
        return asyncio.run(run_demo(Path(tmp) / "demo.db", now))


class DemoClock:
    """A settable clock: the sample polls happen before ``now``, the digest at ``now``."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


async def run_demo(db_path: Path, now: datetime) -> int:
    from bot.app import build_app  # heavy: sqlalchemy
    from bot.config import CountdownConfig, FileConfig, Settings  # heavy: pydantic

    settings = Settings(
        database_url=f"sqlite:///{db_path}",
        file=FileConfig(
            sources=[],
            alerts_per_channel_per_poll=20,
            countdowns=[
                CountdownConfig(name="COP29", date=datetime(2024, 11, 11).date(), where="Baku"),
                CountdownConfig(name="US presidential election", date=datetime(2024, 11, 5).date()),
            ],
        ),
    )
    clock = DemoClock(now)
    app = await build_app(settings, clock=clock)
    try:
        await replay(app, clock)
    finally:
        await app.close()
    return 0


async def replay(app: App, clock: DemoClock) -> None:
    from jobs.deliver import DeliveryWorker  # heavy: sqlalchemy
    from jobs.poll import PollSummary, Routing, StoryWindow, process_outcome  # heavy: sqlalchemy
    from jobs.queries import (  # heavy: sqlalchemy
        countdown_list_message,
        digest_message,
        status_message,
    )

    now = clock.at
    clock.at = now - timedelta(hours=3)
    wire = await app.store.sources.add(WIRE, origin="user", now=now)
    official = await app.store.sources.add(OFFICIAL, origin="user", now=now)
    routing = Routing(
        channels=await app.store.channels.all(),
        subscriptions=await app.store.channels.subscriptions(),
        burst_limit=app.settings.file.alerts_per_channel_per_poll,
    )
    rounds: list[list[tuple[int, str | None]]] = [
        [(wire.id, "wire-before.xml"), (official.id, None)],
        [(wire.id, "wire-after.xml"), (official.id, "official.xml")],
    ]
    heading("Polling two sample sources (first poll = baseline, no alerts)")
    for number, sources in enumerate(rounds, start=1):
        clock.at += timedelta(hours=1)
        summary = PollSummary(started=clock.at)
        window = await StoryWindow.load(app.poll_ports(), clock.at)
        for source_id, name in sources:
            source = await app.store.sources.get(source_id)
            assert source is not None
            body = sample(name) if name else EMPTY_ATOM
            outcome = FetchOutcome(
                url=source.url,
                ok=True,
                status=200,
                final_url=source.url,
                body=body,
                headers={"content-type": "application/xml"},
            )
            summary.results.append(
                await process_outcome(app.poll_ports(), source, outcome, routing, window, now)
            )
        print(f"poll {number}: {summary.line()}")
    heading("Real-time alerts (what the channel receives)")
    clock.at = now
    await DeliveryWorker(app.delivery_ports()).drain()
    console = await app.store.channels.by_name("console")
    assert console is not None
    heading("Digest (last 48 hours)")
    print(to_text(await digest_message(app.query_ports(), console, now, since=timedelta(hours=48))))
    heading("Countdowns")
    print(to_text(await countdown_list_message(app.query_ports(), now)))
    heading("Status board")
    print(to_text(await status_message(app.query_ports(), None, now)))
    heading('Events proposed from the news ("Track this")')
    proposals = await app.store.countdowns.proposals()
    for p in proposals:
        span = p.start.isoformat() if p.start == p.end else f"{p.start}..{p.end}"
        print(f"  #{p.id} {p.label} — {p.certainty}, {span}")
    if not proposals:
        print("  (none)")
    print("\nThat was a throwaway database. Run the real thing with: uschina-bot run")
