"""Whole-pipeline ingest speed: uschina-bot against the ``reader`` library on one local corpus.

    python -m benchmarks.ingest [--feeds 500 --items 50] [--database-url URL]

Starts the local feed server of the test suite (``tests/feedserver.py``) in its own process,
so serving costs neither contender CPU time nor the GIL, then runs, each in a fresh process:

(a) uschina-bot: a fresh database, one source per feed, ``poll_due(app, all_sources=True)``
    twice -- the first poll stores everything (all items new), the second gets 304 for all;
(b) reader (``make_reader`` on a temporary SQLite file): the same feeds, ``update_feeds()``
    twice.

Wall time and peak RSS of each poll are measured (the peak is reset between polls), ratios
printed, and everything written to ``benchmarks/results/ingest-latest.json``.

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
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "ingest-latest.json"
SELF = (sys.executable, "-m", "benchmarks.ingest")
PER_HOST_MAX = 64  # the configuration's upper bound for poll.per_host


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
    result: dict[str, Any] = {"concurrency": concurrency, "per_host": settings.file.poll.per_host}
    try:
        for name in ("first", "second"):
            phase: dict[str, Any] = {}
            with measured(phase):
                summary = await poll_due(app, all_sources=True)
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


def report(result: dict[str, Any]) -> str:
    ours, theirs = result["uschina_bot"], result.get("reader")
    corpus = result["corpus"]
    lines = [
        f"corpus: {corpus['feeds']} feeds x {corpus['items_per_feed']} items, "
        f"{corpus['bytes'] / 1e6:.1f} MB, one local host (feed server in its own process)",
        f"uschina-bot: {ours['database']}, concurrency {ours['concurrency']}, per-host limit "
        f"raised to {ours['per_host']} (one host here; real deployments poll many hosts)",
    ]
    if theirs:
        lines.append(
            f"reader {theirs['version']}: "
            f"update_feeds(scheduled=False, workers={theirs['workers']})"
        )
    lines.append("")
    header = f"{'':28}{'uschina-bot':>14}{'reader':>12}{'reader/ours':>13}"
    lines += [header, "-" * len(header)]
    for phase, label in (("first", "first poll (all new)"), ("second", "second poll (all 304)")):
        a = ours[phase]
        b = theirs[phase] if theirs else None
        lines.append(
            f"{label + ' wall s':28}{a['wall_s']:>14.2f}"
            + (f"{b['wall_s']:>12.2f}{ratio(b['wall_s'], a['wall_s']):>12.1f}x" if b else "")
        )
        lines.append(
            f"{'  peak RSS MiB':28}{a['peak_rss_mib']:>14.0f}"
            + (f"{b['peak_rss_mib']:>12.0f}" if b else "")
        )
    first = ours["first"]
    lines.append("")
    lines.append(
        f"uschina-bot first poll: {first['new_items']} new items "
        f"({first['relevant_items']} relevant), {first['ok']} sources ok, "
        f"{first['failed']} failed; second poll: {ours['second']['not_modified']} not modified"
    )
    if theirs:
        lines.append(
            f"reader: {theirs['first']['entries_total']} entries stored, "
            f"{theirs['failed_feeds']} feeds failed (it does not read HTML listing pages)"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--database-url", metavar="URL")
    parser.add_argument("--concurrency", type=int, default=32, help="poll.concurrency")
    parser.add_argument("--reader-workers", type=int, default=1, help="update_feeds(workers=)")
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

    server = subprocess.Popen(
        [*SELF, "--role", "serve", "--feeds", str(args.feeds), "--items", str(args.items)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        corpus = json.loads(server.stdout.readline())
        with tempfile.TemporaryDirectory() as tmp_name:
            tmp = Path(tmp_name)
            corpus_path = tmp / "corpus.json"
            corpus_path.write_text(json.dumps(corpus))
            with database(args.database_url, tmp) as url:
                ours = _child("ours", corpus_path, args, "--url", url)
                ours["database"] = url.split(":", 1)[0]
            theirs = None if args.skip_reader else _child("reader", corpus_path, args)
    finally:
        if server.stdin is not None:
            server.stdin.close()
        server.wait(30)

    result: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "corpus": {"feeds": args.feeds, "items_per_feed": args.items, "bytes": corpus["bytes"]},
        "uschina_bot": ours,
    }
    if theirs:
        result["reader"] = theirs
        result["ratios"] = {
            f"{phase}_poll_reader_over_ours": ratio(theirs[phase]["wall_s"], ours[phase]["wall_s"])
            for phase in ("first", "second")
        }
    print(report(result))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nresults written to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
