"""Whole-pipeline ingest speed: uschina-bot against the ``reader`` library on one local corpus.

    python -m benchmarks.ingest [--feeds 500 --items 50] [--runs 3] [--database-url URL]

Starts the local feed server of the test suite (``tests/feedserver.py``) in its own process,
so serving costs neither contender CPU time nor the GIL, then runs, each in a fresh process:

(a) uschina-bot: a fresh database, one source per feed, ``poll_due(ports, all_sources=True)``
    twice -- the first poll stores everything (all items new), the second gets 304 for all;
(b) reader (``make_reader`` on a temporary SQLite file): the same feeds, ``update_feeds()``
    twice.

Wall time and peak RSS of each poll are measured (the peak is reset between polls); the peak
RSS of uschina-bot's parsing worker processes (``poll.workers``) is reported beside it. Each
contender runs ``--runs`` times (alternating, fresh database each time); the table shows
medians with the goal of each row, and everything (every run, the machine's load) is written
to ``benchmarks/results/ingest-latest.json``.

Every feed lives on one host here, so the fetcher's per-host limit is raised to its global
limit; a real deployment polls many hosts, where the per-host limit rarely binds.
``--database-url postgresql://...`` creates (and afterwards drops) a throwaway database on
that server; a SQLite URL must name a file that does not exist yet.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "ingest-latest.json"
SELF = (sys.executable, "-m", "benchmarks.ingest")


@contextmanager
def served_corpus(feeds: int, items: int) -> Iterator[dict[str, Any]]:
    """The benchmark corpus served by a child process (``--role serve``) while the block runs;
    yields its description (feed URLs, types, bytes)."""
    server = subprocess.Popen(
        [*SELF, "--role", "serve", "--feeds", str(feeds), "--items", str(items)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        yield json.loads(server.stdout.readline())
    finally:
        if server.stdin is not None:
            server.stdin.close()
        server.wait(30)


def poll_served_corpus(
    args: argparse.Namespace,
    run: Callable[[dict[str, Any], argparse.Namespace, Path], Awaitable[None]],
) -> int:
    """``run(corpus, args, database path)`` with the corpus of ``args.feeds`` x ``args.items``
    served meanwhile; the database at ``args.db`` is removed before and after (profilers)."""
    args.db.unlink(missing_ok=True)
    try:
        with served_corpus(args.feeds, args.items) as corpus:
            asyncio.run(run(corpus, args, args.db))
    finally:
        args.db.unlink(missing_ok=True)
    return 0


PER_HOST_MAX = 64  # the configuration's upper bound for poll.per_host
MiB = 1024 * 1024


# --------------------------------------------------------------------------- memory


def reset_peak_rss() -> None:
    """Reset the kernel's peak-RSS mark of this process (Linux; no-op elsewhere)."""
    with suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def rss_mib(field: str = "VmHWM") -> float:
    """``VmHWM`` (peak) or ``VmRSS`` (current) of this process in MiB; 0 when unknown."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return 0.0


@contextmanager
def measured(out: dict[str, Any]) -> Iterator[None]:
    """Record wall time, CPU time and peak RSS of the block into ``out``."""
    gc.collect()
    reset_peak_rss()
    out["rss_before_mib"] = rss_mib("VmRSS")
    wall, cpu = time.perf_counter(), time.process_time()
    yield
    out["wall_s"] = round(time.perf_counter() - wall, 3)
    out["cpu_s"] = round(time.process_time() - cpu, 3)
    out["peak_rss_mib"] = rss_mib("VmHWM")


# --------------------------------------------------------------------------- roles


def serve(feeds: int, items: int) -> int:
    """Child role: run the feed server until stdin closes; first print its feeds as JSON."""
    sys.path.insert(0, str(ROOT / "tests"))
    from feedserver import FeedServer

    with FeedServer(n_feeds=feeds, items_per_feed=items) as server:
        info = {
            "bytes": sum(len(f.body) for f in server.feeds),
            "feeds": [
                {"url": f.url, "type": f.source_type, "selector": f.selector, "format": f.format}
                for f in server.feeds
            ],
        }
        print(json.dumps(info), flush=True)
        sys.stdin.read()
    return 0


def run_ours(corpus: dict[str, Any], database_url: str, concurrency: int) -> dict[str, Any]:
    """Child role: uschina-bot, two polls of every source."""
    return asyncio.run(_ours(corpus, database_url, concurrency))


async def _ours(corpus: dict[str, Any], database_url: str, concurrency: int) -> dict[str, Any]:
    from bot.app import build_app
    from bot.config import FileConfig, PollConfig, Settings, SourceConfig
    from jobs.poll import poll_due

    sources = [
        SourceConfig(name=f"feed {i}", url=f["url"], type=f["type"], selector=f["selector"])
        for i, f in enumerate(corpus["feeds"])
    ]
    settings = Settings(
        database_url=database_url,
        allow_private_networks=True,
        file=FileConfig(
            sources=sources,
            poll=PollConfig(concurrency=concurrency, per_host=min(concurrency, PER_HOST_MAX)),
        ),
    )
    app = await build_app(settings, clock=lambda: datetime.now(UTC), output=io.StringIO())
    result: dict[str, Any] = {
        "concurrency": concurrency,
        "per_host": settings.file.poll.per_host,
        "workers": settings.file.poll.workers,
    }
    try:
        for name in ("first", "second"):
            phase: dict[str, Any] = {}
            with measured(phase):
                summary = await poll_due(app.poll_ports(), all_sources=True)
            worker_peak = app.metrics.gauges.pop("uschina_bot_parse_worker_peak_rss_bytes", 0)
            phase["workers_peak_rss_mib"] = round(worker_peak / MiB, 1)
            phase.update(
                ok=summary.ok,
                failed=summary.failed,
                new_items=summary.new_items,
                relevant_items=summary.relevant_items,
                not_modified=sum(r.status == "not_modified" for r in summary.results),
            )
            result[name] = phase
        result["stored_items"] = await app.store.items.count()
    finally:
        await app.close()
    return result


def run_reader(corpus: dict[str, Any], workers: int) -> dict[str, Any]:
    """Child role: the ``reader`` library, two ``update_feeds()`` of the same feeds."""
    import logging

    from reader import make_reader

    logging.getLogger("reader").setLevel(logging.CRITICAL)  # parse errors of HTML pages
    import reader as reader_pkg

    result: dict[str, Any] = {"version": reader_pkg.__version__, "workers": workers}
    with tempfile.TemporaryDirectory() as tmp:
        rd = make_reader(str(Path(tmp) / "reader.sqlite"))
        for f in corpus["feeds"]:
            rd.add_feed(f["url"])
        for name in ("first", "second"):
            phase: dict[str, Any] = {}
            with measured(phase):
                rd.update_feeds(scheduled=False, workers=workers)
            phase["entries_total"] = rd.get_entry_counts().total
            result[name] = phase
        result["failed_feeds"] = sum(1 for f in rd.get_feeds() if f.last_exception)
        rd.close()
    return result


# --------------------------------------------------------------------------- orchestration


def _child(role: str, corpus_path: Path, args: argparse.Namespace, *extra: str) -> dict[str, Any]:
    command = [*SELF, "--role", role]
    command += ["--corpus", str(corpus_path), "--concurrency", str(args.concurrency)]
    command += ["--reader-workers", str(args.reader_workers), *extra]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{role} run failed:\n{done.stderr[-4000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


@contextmanager
def database(url: str | None, tmp: Path) -> Iterator[str]:
    """A fresh database URL: a new SQLite file, or a throwaway PostgreSQL database."""
    if not url:
        yield f"sqlite:///{tmp / 'bench.db'}"
        return
    if not url.startswith(("postgresql", "postgres")):
        yield url
        return
    from sqlalchemy.engine import make_url

    base = make_url(url)
    name = f"uschina_bench_{os.getpid()}"

    async def admin(statement: str) -> None:
        import asyncpg

        conn = await asyncpg.connect(
            host=base.host,
            port=base.port or 5432,
            user=base.username,
            password=base.password,
            database=base.database or "postgres",
        )
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def ratio(a: float, b: float) -> float:
    return round(a / b, 2) if b else 0.0


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per phase, the median of every numeric figure over ``runs`` (same shape as a run)."""
    out: dict[str, Any] = dict(runs[0])
    for phase in ("first", "second"):
        keys = [k for k, v in runs[0][phase].items() if isinstance(v, int | float)]
        out[phase] = dict(runs[0][phase]) | {
            k: round(statistics.median(r[phase][k] for r in runs), 3) for k in keys
        }
    return out


def items_per_s(phase: dict[str, Any], key: str) -> float:
    return round(phase[key] / phase["wall_s"], 1) if phase["wall_s"] else 0.0


def goals(ours: dict[str, Any], theirs: dict[str, Any]) -> dict[str, Any]:
    """The issue's goals, computed from reader's figures of the same run, and whether met."""
    ours_rate = items_per_s(ours["first"], "new_items")
    their_rate = items_per_s(theirs["first"], "entries_total")
    first_goal_s = round(ours["first"]["new_items"] / (8 * their_rate), 2) if their_rate else 0
    second_goal_s = round(theirs["second"]["wall_s"] / 2, 2)
    rss_goal = round(theirs["first"]["peak_rss_mib"] + 50, 1)
    return {
        "first_items_per_s": {"ours": ours_rate, "reader": their_rate, "goal": 8 * their_rate},
        "first_wall_s": {"goal": first_goal_s, "met": ours_rate >= 8 * their_rate},
        "second_wall_s": {"goal": second_goal_s, "met": ours["second"]["wall_s"] <= second_goal_s},
        "first_peak_rss_mib": {
            "goal": rss_goal,
            "met": ours["first"]["peak_rss_mib"] <= rss_goal,
        },
    }


def report(result: dict[str, Any]) -> str:
    ours, theirs = result["uschina_bot"], result.get("reader")
    corpus = result["corpus"]
    lines = [
        f"corpus: {corpus['feeds']} feeds x {corpus['items_per_feed']} items, "
        f"{corpus['bytes'] / 1e6:.1f} MB, one local host (feed server in its own process)",
        f"machine: {result['cpus']} CPUs, Python {result['python']}, load average "
        f"{result['load_before']} before, {result['load_after']} after; "
        f"medians of {result['runs_each']} runs each",
        f"uschina-bot: {ours['database']}, concurrency {ours['concurrency']}, per-host limit "
        f"raised to {ours['per_host']} (one host here), {ours['workers']} parsing workers",
    ]
    if theirs:
        lines.append(
            f"reader {theirs['version']}: "
            f"update_feeds(scheduled=False, workers={theirs['workers']})"
        )
    lines.append("")
    header = f"{'':30}{'uschina-bot':>12}{'reader':>10}{'goal':>12}{'met':>6}"
    lines += [header, "-" * len(header)]
    g = result.get("goals", {})

    def row(label: str, a: float, b: float | None, goal: str = "", met: bool | None = None) -> None:
        mark = "" if met is None else ("yes" if met else "NO")
        other = f"{b:>10.2f}" if b is not None else f"{'':>10}"
        lines.append(f"{label:30}{a:>12.2f}{other}{goal:>12}{mark:>6}")

    a1, a2 = ours["first"], ours["second"]
    b1, b2 = (theirs["first"], theirs["second"]) if theirs else (None, None)
    if g:
        rate = g["first_items_per_s"]
        row("first poll items/s", rate["ours"], rate["reader"], f">= {rate['goal']:.0f}")
        row(
            "first poll wall s",
            a1["wall_s"],
            b1["wall_s"] if b1 else None,
            f"<= {g['first_wall_s']['goal']:.2f}",
            g["first_wall_s"]["met"],
        )
        row(
            "  peak RSS MiB",
            a1["peak_rss_mib"],
            b1["peak_rss_mib"] if b1 else None,
            f"<= {g['first_peak_rss_mib']['goal']:.0f}",
            g["first_peak_rss_mib"]["met"],
        )
        row("  parsing worker peak MiB", a1.get("workers_peak_rss_mib", 0.0), None, "(each)")
        row(
            "second poll (all 304) wall s",
            a2["wall_s"],
            b2["wall_s"] if b2 else None,
            f"<= {g['second_wall_s']['goal']:.2f}",
            g["second_wall_s"]["met"],
        )
    else:
        row("first poll wall s", a1["wall_s"], None)
        row("  peak RSS MiB", a1["peak_rss_mib"], None)
        row("second poll (all 304) wall s", a2["wall_s"], None)
    row("  peak RSS MiB", a2["peak_rss_mib"], b2["peak_rss_mib"] if b2 else None)
    row("first poll CPU s (main process)", a1["cpu_s"], b1["cpu_s"] if b1 else None)
    lines.append("")
    lines.append(
        f"uschina-bot first poll: {a1['new_items']:.0f} new items "
        f"({a1['relevant_items']:.0f} relevant), {a1['ok']:.0f} sources ok, "
        f"{a1['failed']:.0f} failed; second poll: {a2['not_modified']:.0f} not modified"
    )
    if theirs:
        lines.append(
            f"reader: {b1['entries_total']:.0f} entries stored, "  # type: ignore[index]
            f"{theirs['failed_feeds']} feeds failed (it does not read HTML listing pages)"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3, help="runs of each contender (median)")
    parser.add_argument("--database-url", metavar="URL")
    parser.add_argument("--concurrency", type=int, default=32, help="poll.concurrency")
    parser.add_argument("--reader-workers", type=int, default=4, help="update_feeds(workers=)")
    parser.add_argument("--skip-reader", action="store_true")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--role", choices=("serve", "ours", "reader"), help=argparse.SUPPRESS)
    parser.add_argument("--corpus", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.role == "serve":
        return serve(args.feeds, args.items)
    if args.role in ("ours", "reader"):
        corpus = json.loads(args.corpus.read_text())
        if args.role == "ours":
            out = run_ours(corpus, args.url, args.concurrency)
        else:
            out = run_reader(corpus, args.reader_workers)
        print(json.dumps(out))
        return 0

    load_before = [round(x, 2) for x in os.getloadavg()]
    runs: dict[str, list[dict[str, Any]]] = {"uschina_bot": [], "reader": []}
    with served_corpus(args.feeds, args.items) as corpus, tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        corpus_path = tmp / "corpus.json"
        corpus_path.write_text(json.dumps(corpus))
        for n in range(args.runs):
            run_dir = tmp / f"run{n}"
            run_dir.mkdir()
            with database(args.database_url, run_dir) as url:
                ours = _child("ours", corpus_path, args, "--url", url)
                ours["database"] = url.split(":", 1)[0]
            runs["uschina_bot"].append(ours)
            if not args.skip_reader:
                runs["reader"].append(_child("reader", corpus_path, args))
            print(
                f"run {n + 1}/{args.runs}: uschina-bot {ours['first']['wall_s']:.2f} s / "
                f"{ours['second']['wall_s']:.2f} s"
                + (
                    f"; reader {runs['reader'][-1]['first']['wall_s']:.2f} s / "
                    f"{runs['reader'][-1]['second']['wall_s']:.2f} s"
                    if runs["reader"]
                    else ""
                ),
                flush=True,
            )

    result: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "load_before": load_before,
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "runs_each": args.runs,
        "corpus": {"feeds": args.feeds, "items_per_feed": args.items, "bytes": corpus["bytes"]},
        "uschina_bot": median_run(runs["uschina_bot"]),
        "runs": runs,
    }
    if runs["reader"]:
        result["reader"] = median_run(runs["reader"])
        result["goals"] = goals(result["uschina_bot"], result["reader"])
    print()
    print(report(result))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nresults written to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
