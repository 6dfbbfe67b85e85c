"""Delivery rate: the real outbox worker posting to 50 channels on a local fake Slack.

    python -m benchmarks.delivery_rate [--channels 50] [--per-channel 20] [--runs 3]

A fresh SQLite outbox holds ``--per-channel`` pending alerts for each of ``--channels`` Slack
channels, queued item by item as routing queues them (one alert of an item per channel, then
the next item). The real ``jobs.deliver.DeliveryWorker`` sends them through the real
``SlackNotifier`` (its production pacing, ``min_interval_s`` = 1 s per channel) to the fake
Slack Web API of ``tests/fakeslack.py`` on 127.0.0.1 (``SLACK_API_URL``), which notes when
each post arrives. Figures: overall messages per second from the first to the last arrival
(goal >= 45), and the most posts any one channel received within any 1-s window (goal: 1,
i.e. about one per second per channel).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import sys
import tempfile
import threading
import time
from bisect import bisect_left
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.service_common import ROOT, load, load_line, machine, median, write_results

NAME = "delivery_rate"
GOAL_RATE = 45.0
GOAL_PER_CHANNEL_WINDOW = 1
sys.path.insert(0, str(ROOT / "tests"))


def timed_fake() -> Any:
    """The fake Slack of the tests, noting the monotonic arrival time of each post."""
    from aiohttp import web
    from fakeslack import FakeSlack

    class TimedFake(FakeSlack):
        def __init__(self) -> None:
            super().__init__()
            self.arrivals: list[tuple[str, float]] = []
            self.all_arrived = threading.Event()
            self.expected = 0

        async def _m_chat_postMessage(self, args: dict[str, Any]) -> web.Response:
            arrived = time.monotonic()
            response = await super()._m_chat_postMessage(args)
            with self.lock:
                self.arrivals.append((str(args.get("channel", "")), arrived))
                if len(self.arrivals) >= self.expected:
                    self.all_arrived.set()
            return response

    return TimedFake()


def max_in_window(times: list[float], window_s: float = 1.0) -> int:
    """The most of ``times`` that fall in any half-open window of ``window_s`` seconds."""
    ordered = sorted(times)
    return max((bisect_left(ordered, t + window_s) - i for i, t in enumerate(ordered)), default=0)


async def one_run(fake: Any, args: argparse.Namespace, tmp: Path, n: int) -> dict[str, Any]:
    from slack_support import BOT_TOKEN, alert_payload

    from bot.app import App
    from bot.chat.slack.notifier import SlackNotifier
    from bot.config import FileConfig, Settings
    from bot.domain.classify import Classifier
    from bot.metrics import Metrics
    from bot.taxonomy_file import default_taxonomy
    from jobs.deliver import DeliveryWorker
    from storage.store import Store

    store = await Store.open(f"sqlite:///{tmp / f'run{n}.db'}")
    taxonomy = default_taxonomy()
    app = App(
        settings=Settings(database_url="sqlite://", file=FileConfig()),
        store=store,
        taxonomy=taxonomy,
        classifier=Classifier(taxonomy),
        clock=lambda: datetime.now(UTC),
        metrics=Metrics(),
        instance_id="bench-worker",
    )
    app.notifiers["slack"] = SlackNotifier(BOT_TOKEN, base_url=fake.api_url)
    now = datetime.now(UTC) - timedelta(seconds=1)
    channels = [
        await store.channels.ensure(
            name=f"desk-{c}", platform="slack", target=f"C{n}X{c:03d}", now=now
        )
        for c in range(args.channels)
    ]
    for i in range(args.per_channel):
        payload = alert_payload(f"Headline number {i} of the run")
        for channel in channels:
            await store.deliveries.enqueue(
                channel_id=channel.id,
                kind="alert",
                dedupe_key=f"alert:{channel.id}:s{i}",
                payload=payload,
                now=now,
                story_key=f"s{i}",
            )
    total = args.channels * args.per_channel
    with fake.lock:
        fake.arrivals.clear()
        fake.expected = total
        fake.all_arrived.clear()
    stop = asyncio.Event()
    worker = DeliveryWorker(app.delivery_ports())
    started = time.monotonic()
    task = asyncio.create_task(worker.run_forever(stop))
    deadline = started + args.timeout
    while not fake.all_arrived.is_set() and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.05)  # the fake's event is a thread's, not this loop's
    stop.set()
    await task
    await app.close()
    with fake.lock:
        arrivals = list(fake.arrivals)
    times = [t for _, t in arrivals]
    span = max(times) - min(times) if len(times) > 1 else 0.0
    per_channel: dict[str, list[float]] = {}
    for channel_ref, t in arrivals:
        per_channel.setdefault(channel_ref, []).append(t)
    gaps = [b - a for v in per_channel.values() for a, b in itertools.pairwise(v)]
    return {
        "posted": len(arrivals),
        "expected": total,
        "span_s": round(span, 2),
        "wall_s": round(max(times, default=started) - started, 2),
        "rate_per_s": round((len(times) - 1) / span, 1) if span else 0.0,
        "max_per_channel_in_1s": max((max_in_window(v) for v in per_channel.values()), default=0),
        "min_gap_same_channel_s": round(min(gaps, default=0.0), 3),
    }


def report(result: dict[str, Any]) -> str:
    m = result["median"]
    lines = [
        f"{result['channels']} channels x {result['per_channel']} alerts, real DeliveryWorker "
        f"+ SlackNotifier (1 s per channel) -> fake Slack on 127.0.0.1; "
        f"medians of {result['runs_each']} runs",
        load_line(result),
        "",
    ]
    header = f"{'figure':40}{'measured':>10}{'goal':>10}{'met':>5}"
    lines += [header, "-" * len(header)]
    rate_met = m["rate_per_s"] >= GOAL_RATE
    window_met = m["max_per_channel_in_1s"] <= GOAL_PER_CHANNEL_WINDOW
    lines.append(
        f"{'messages/s overall':40}{m['rate_per_s']:>10.1f}{'>= 45':>10}"
        f"{'yes' if rate_met else 'NO':>5}"
    )
    lines.append(
        f"{'max posts to one channel in any 1 s':40}{m['max_per_channel_in_1s']:>10.0f}"
        f"{'1':>10}{'yes' if window_met else 'NO':>5}"
    )
    lines.append(f"{'shortest gap, same channel, s':40}{m['min_gap_same_channel_s']:>10.3f}")
    lines.append(
        f"{'posted / expected (last run)':40}"
        f"{result['runs'][-1]['posted']:>6}/{result['runs'][-1]['expected']}"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=50)
    parser.add_argument("--per-channel", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per run at most")
    parser.add_argument("--output", type=Path)
    args = parser.parse_args(argv)
    load_before = load()
    fake = timed_fake()
    runs = []
    with fake, tempfile.TemporaryDirectory() as tmp:
        for n in range(args.runs):
            runs.append(asyncio.run(one_run(fake, args, Path(tmp), n)))
            print(
                f"run {n + 1}/{args.runs}: {runs[-1]['rate_per_s']} msg/s, "
                f"max {runs[-1]['max_per_channel_in_1s']} per channel in 1 s",
                flush=True,
            )
    keys = ("rate_per_s", "max_per_channel_in_1s", "min_gap_same_channel_s", "span_s")
    result: dict[str, Any] = machine(load_before) | {
        "channels": args.channels,
        "per_channel": args.per_channel,
        "runs_each": args.runs,
        "goal_rate_per_s": GOAL_RATE,
        "median": {k: median([r[k] for r in runs]) for k in keys},
        "runs": runs,
    }
    print()
    print(report(result))
    print(f"\nresults written to {write_results(NAME, result, args.output)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
