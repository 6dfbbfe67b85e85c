"""Slash-command latency through the signed Slack endpoint while a poll runs.

    python -m benchmarks.commands_latency [--items 100000] [--feeds 300] [--requests 60]
                                          [--runs 3]

Set-up, each piece in its own process so none steals the others' interpreter:

- a SQLite database seeded once with ``--items`` stored items (batched inserts of
  ``benchmarks.status_speed.seed``, dated up to now), copied afresh for every run;
- the local feed server of the test suite (``tests/feedserver.py``) with ``--feeds`` feeds;
- the bot: the real Starlette app of ``bot/web.py`` with the Bolt endpoint, served by
  uvicorn on 127.0.0.1, in the same event loop as ``poll_due`` polling every feed in a loop
  (the first poll stores every item, later ones get 304s) -- as ``run`` serves;
- this process: the fake Slack Web API of ``tests/fakeslack.py`` (``SLACK_API_URL``), which
  also receives the ``response_url`` answers and notes when each arrives, and a client that
  sends ``/uschina latest``, ``status`` and ``search WORD`` signed with the signing secret,
  one at a time, 50 ms apart.

For each request two times are measured from just before it is sent: until the HTTP
response (the acknowledgement, "Working…") and until the answer reaches the fake's
``response_url``. Only requests sent while a poll was running count. Percentiles pool the
samples of every run; the median over runs of each run's p99 is reported beside them.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.service_common import (
    ROOT,
    free_port,
    load,
    load_line,
    machine,
    median,
    percentile,
    write_results,
)

SELF = (sys.executable, "-m", "benchmarks.commands_latency")
NAME = "commands_latency"
GOAL_P99_MS = 100.0
COMMANDS = ("latest", "status", "search taiwan")
GAP_S = 0.05
sys.path.insert(0, str(ROOT / "tests"))


# --------------------------------------------------------------------------- child roles


def serve_feeds(feeds: int, items: int) -> int:
    """Child role: the feed server until stdin closes; first prints its feeds as JSON."""
    from feedserver import FeedServer

    with FeedServer(n_feeds=feeds, items_per_feed=items) as server:
        corpus = [
            {"url": f.url, "type": f.source_type, "selector": f.selector} for f in server.feeds
        ]
        print(json.dumps(corpus), flush=True)
        sys.stdin.read()
    return 0


def run_bot(corpus_path: Path, database_url: str, port: int, api_url: str, idle: bool) -> int:
    """Child role: the web app and (unless ``idle``) a poll loop in one event loop until stdin
    closes; then prints the polls it ran (monotonic start, end, new items) as JSON."""
    corpus = json.loads(corpus_path.read_text())
    return asyncio.run(_bot(corpus, database_url, port, api_url, idle))


async def _bot(
    corpus: list[dict[str, Any]], database_url: str, port: int, api_url: str, idle: bool
) -> int:
    import uvicorn
    from slack_support import BOT_TOKEN, SIGNING_SECRET

    from bot.app import build_app
    from bot.config import FileConfig, PollConfig, Settings, SourceConfig
    from bot.web import build_web, chat_routes
    from jobs.poll import poll_due

    sources = [
        SourceConfig(name=f"feed {i}", url=f["url"], type=f["type"], selector=f["selector"])
        for i, f in enumerate(corpus)
    ]
    settings = Settings(
        database_url=database_url,
        allow_private_networks=True,
        slack_bot_token=BOT_TOKEN,  # type: ignore[arg-type]
        slack_signing_secret=SIGNING_SECRET,  # type: ignore[arg-type]
        slack_api_url=api_url,
        file=FileConfig(sources=sources, poll=PollConfig(concurrency=32, per_host=32)),
    )
    app = await build_app(settings, clock=lambda: datetime.now(UTC), output=io.StringIO())
    web = build_web(app, extra_routes=chat_routes(app))
    config = uvicorn.Config(web, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    served = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 -- uvicorn offers a flag, no event
        await asyncio.sleep(0.01)
    polls: list[list[float]] = []
    stop = asyncio.Event()
    asyncio.get_running_loop().add_reader(sys.stdin.fileno(), stop.set)

    async def poll_loop() -> None:
        while not stop.is_set() and not idle:
            began = time.monotonic()
            summary = await poll_due(app.poll_ports(), all_sources=True)
            polls.append([began, time.monotonic(), summary.new_items])

    polling = asyncio.create_task(poll_loop())
    print(json.dumps({"ready": True}), flush=True)
    await stop.wait()
    await polling
    server.should_exit = True
    await served
    await app.close()
    print(json.dumps({"polls": polls}), flush=True)
    return 0


# --------------------------------------------------------------------------- this process


def seeded_database(path: Path, items: int) -> float:
    """Create the database at ``path`` with ``items`` stored items; returns seconds taken."""
    from benchmarks.status_speed import seed
    from bot.taxonomy_file import default_taxonomy
    from storage.db import Database, upgrade_to_head
    from storage.store import Store

    url = f"sqlite:///{path}"
    began = time.perf_counter()
    upgrade_to_head(url)

    async def fill() -> None:
        store = Store(Database(url))
        try:
            await seed(store, items, list(default_taxonomy().topic_ids), now=datetime.now(UTC))
        finally:
            await store.close()

    asyncio.run(fill())
    return round(time.perf_counter() - began, 1)


def timed_fake() -> Any:
    """The fake Slack of the tests, noting the monotonic arrival time of each response."""
    from aiohttp import web
    from fakeslack import FakeSlack

    class TimedFake(FakeSlack):
        def __init__(self) -> None:
            super().__init__()
            self.arrived: dict[str, float] = {}
            self.arrival = threading.Condition()

        async def _respond(self, request: web.Request) -> web.Response:
            response = await super()._respond(request)
            with self.arrival:
                self.arrived[request.match_info["name"]] = time.monotonic()
                self.arrival.notify_all()
            return response

    return TimedFake()


async def send_commands(fake: Any, port: int, tag: str, per_command: int) -> list[dict[str, Any]]:
    """Send ``per_command`` of each command (interleaved, one at a time); return samples."""
    import httpx
    from slack_support import command_body, sign

    samples: list[dict[str, Any]] = []
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        for n in range(per_command):
            for command in COMMANDS:
                name = f"{tag}-{n}-{command.split()[0]}"
                body = command_body(command, fake=fake, name=name)
                headers = sign(body)
                sent = time.monotonic()
                response = await client.post(
                    "/slack/events", content=body.encode(), headers=headers
                )
                acked = time.monotonic()
                if response.status_code != 200:
                    raise RuntimeError(f"{command}: HTTP {response.status_code} {response.text}")
                samples.append(
                    {
                        "command": command.split()[0],
                        "name": name,
                        "sent": sent,
                        "ack_ms": (acked - sent) * 1000,
                    }
                )
                await asyncio.sleep(GAP_S)
    return samples


def await_answers(fake: Any, samples: list[dict[str, Any]], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    with fake.arrival:
        while not all(s["name"] in fake.arrived for s in samples):
            if not fake.arrival.wait(max(0.0, deadline - time.monotonic())):
                break
    for s in samples:
        arrived = fake.arrived.get(s["name"])
        s["answer_ms"] = (arrived - s["sent"]) * 1000 if arrived is not None else None


def one_run(
    args: argparse.Namespace, base: Path, tmp: Path, corpus: Path, fake: Any, n: int
) -> dict[str, Any]:
    db = tmp / f"run{n}.db"
    shutil.copyfile(base, db)
    port = free_port()
    bot = subprocess.Popen(
        [
            *SELF,
            "--role",
            "bot",
            "--corpus",
            str(corpus),
            "--url",
            f"sqlite:///{db}",
            "--port",
            str(port),
            "--api-url",
            fake.api_url,
            *(["--idle"] if args.idle else []),
        ],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert bot.stdin is not None and bot.stdout is not None
    try:
        if not json.loads(bot.stdout.readline() or "{}").get("ready"):
            raise RuntimeError("bot did not start")
        samples = asyncio.run(send_commands(fake, port, f"r{n}", args.requests))
        await_answers(fake, samples)
    finally:
        bot.stdin.close()
        out = bot.stdout.read()
        bot.wait(120)
    polls = json.loads(out.strip().splitlines()[-1])["polls"] if out.strip() else []
    for s in samples:
        s["during"] = next(
            (
                "first" if i == 0 else "later"
                for i, p in enumerate(polls)
                if p[0] <= s["sent"] <= p[1]
            ),
            "idle" if args.idle else "none",
        )
    db.unlink(missing_ok=True)
    first = polls[0] if polls else [0, 0, 0]
    return {
        "samples": samples,
        "first_poll_s": round(first[1] - first[0], 1),
        "first_poll_new_items": first[2],
        "polls": len(polls),
    }


def compact(run: dict[str, Any]) -> dict[str, Any]:
    """A run for the results file: samples as [command, during, ack ms, answer ms]."""
    rows = [
        [
            s["command"],
            s["during"],
            round(s["ack_ms"], 1),
            s["answer_ms"] and round(s["answer_ms"], 1),
        ]
        for s in run["samples"]
    ]
    return run | {"samples": rows}


def figures(samples: list[dict[str, Any]], key: str) -> dict[str, float]:
    values = [s[key] for s in samples if s.get(key) is not None]
    return {
        "n": len(values),
        "p50": round(percentile(values, 50), 1),
        "p95": round(percentile(values, 95), 1),
        "p99": round(percentile(values, 99), 1),
        "max": round(max(values), 1) if values else 0.0,
    }


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    table: dict[str, Any] = {}
    for command in (c.split()[0] for c in COMMANDS):
        row: dict[str, Any] = {}
        for key in ("ack_ms", "answer_ms"):
            pooled = [
                s
                for r in runs
                for s in r["samples"]
                if s["command"] == command and s["during"] != "none"
            ]
            row[key] = figures(pooled, key)
            per_run = [
                figures(
                    [s for s in r["samples"] if s["command"] == command and s["during"] != "none"],
                    key,
                )["p99"]
                for r in runs
            ]
            row[key]["p99_median_of_runs"] = round(median(per_run), 1)
            row[key]["met"] = row[key]["p99"] < GOAL_P99_MS
        row["missing_answers"] = sum(
            1
            for r in runs
            for s in r["samples"]
            if s["command"] == command and s["answer_ms"] is None
        )
        row["during_first_poll"] = sum(
            1
            for r in runs
            for s in r["samples"]
            if s["command"] == command and s["during"] == "first"
        )
        table[command] = row
    return table


def report(result: dict[str, Any]) -> str:
    meanwhile = (
        "no poll meanwhile (--idle)"
        if result["idle"]
        else f"{result['feeds']} feeds x {result['items_per_feed']} items polled in a loop "
        f"meanwhile (first poll: {result['first_poll_s']} s, "
        f"{result['first_poll_new_items']} new items, median)"
    )
    lines = [
        f"{result['items']:,} stored items (SQLite), {meanwhile}",
        load_line(result) + f"; {result['runs_each']} runs, {result['requests']} of each "
        "command per run, sequential, 50 ms apart",
        "",
    ]
    header = (
        f"{'command':10}{'measure':10}{'n':>5}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
        f"{'p99 med':>9}{'goal':>10}{'met':>5}"
    )
    lines += [header, "-" * len(header)]
    for command, row in result["table"].items():
        for key, label in (("ack_ms", "ack"), ("answer_ms", "answer")):
            f = row[key]
            lines.append(
                f"{command:10}{label:10}{f['n']:>5}{f['p50']:>9.1f}{f['p95']:>9.1f}{f['p99']:>9.1f}"
                f"{f['p99_median_of_runs']:>9.1f}{'< 100':>10}{'yes' if f['met'] else 'NO':>5}"
            )
    lines.append("")
    lines.append(
        "ack: until the HTTP response; answer: until the response_url post arrives. "
        "Samples sent while a poll ran; during the first (storing) poll: "
        + ", ".join(f"{c} {r['during_first_poll']}" for c, r in result["table"].items())
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000, help="stored items")
    parser.add_argument("--feeds", type=int, default=300)
    parser.add_argument("--feed-items", type=int, default=50)
    parser.add_argument("--requests", type=int, default=60, help="of each command per run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--idle", action="store_true", help="no poll meanwhile (baseline)")
    parser.add_argument("--output", type=Path)
    parser.add_argument("--role", choices=("feeds", "bot"), help=argparse.SUPPRESS)
    parser.add_argument("--corpus", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--api-url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.role == "feeds":
        return serve_feeds(args.feeds, args.feed_items)
    if args.role == "bot":
        return run_bot(args.corpus, args.url, args.port, args.api_url, args.idle)

    load_before = load()
    feeds = subprocess.Popen(
        [
            *SELF,
            "--role",
            "feeds",
            "--feeds",
            str(args.feeds),
            "--feed-items",
            str(args.feed_items),
        ],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    fake = timed_fake()
    runs: list[dict[str, Any]] = []
    try:
        assert feeds.stdout is not None
        corpus_json = feeds.stdout.readline()
        with tempfile.TemporaryDirectory() as tmp_name, fake:
            tmp = Path(tmp_name)
            corpus = tmp / "corpus.json"
            corpus.write_text(corpus_json)
            base = tmp / "base.db"
            seed_s = seeded_database(base, args.items)
            print(f"seeded {args.items:,} items in {seed_s} s", flush=True)
            for n in range(args.runs):
                runs.append(one_run(args, base, tmp, corpus, fake, n))
                print(
                    f"run {n + 1}/{args.runs}: first poll {runs[-1]['first_poll_s']} s, "
                    f"{len(runs[-1]['samples'])} requests",
                    flush=True,
                )
    finally:
        if feeds.stdin is not None:
            feeds.stdin.close()
        feeds.wait(30)
    result: dict[str, Any] = machine(load_before) | {
        "items": args.items,
        "idle": args.idle,
        "feeds": args.feeds,
        "items_per_feed": args.feed_items,
        "runs_each": args.runs,
        "requests": args.requests,
        "goal_p99_ms": GOAL_P99_MS,
        "first_poll_s": median([r["first_poll_s"] for r in runs]),
        "first_poll_new_items": median([r["first_poll_new_items"] for r in runs]),
        "table": summarise(runs),
        "runs": [compact(r) for r in runs],
    }
    print()
    print(report(result))
    written = write_results(NAME + ("-idle" if args.idle else ""), result, args.output)
    print(f"\nresults written to {written}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
