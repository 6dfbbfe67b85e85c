"""Where the main process's memory goes during the benchmark's first poll.

    python -m benchmarks.profile_memory [--feeds 500 --items 50] [--workers N] [--top 25]
        [--no-trace]

The feed server runs in its own process (as in ``benchmarks.ingest``). This process reports
its RSS after the imports, after ``build_app`` and at the peak of the first poll, samples RSS
every 20 ms during the poll (the timeline is printed in steps), and, unless ``--no-trace``,
runs the poll under ``tracemalloc``: a snapshot is taken whenever the traced memory reaches a
new high (every 4 MiB), and the one at the highest is printed grouped by file:line and by
file, with the snapshot after the poll beside it (what the poll keeps). tracemalloc slows the
poll and adds its own memory to RSS: read RSS figures from a ``--no-trace`` run.
"""

from __future__ import annotations

import argparse
import gc
import io
import threading
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.ingest import ROOT, poll_served_corpus, reset_peak_rss, rss_mib

MiB = 1024 * 1024


class Sampler:
    """RSS every ``every`` seconds, and a tracemalloc snapshot at each new traced high."""

    def __init__(self, trace: bool, every: float = 0.02, step: int = 4 * MiB) -> None:
        self.trace, self.every, self.step = trace, every, step
        self.samples: list[tuple[float, float]] = []
        self.best: tracemalloc.Snapshot | None = None
        self.best_size = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Sampler:
        self._start = time.perf_counter()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.samples.append((time.perf_counter() - self._start, rss_mib("VmRSS")))
            if self.trace:
                current, _ = tracemalloc.get_traced_memory()
                if current >= self.best_size + self.step:
                    self.best = tracemalloc.take_snapshot()
                    self.best_size = current


def _print_top(snapshot: tracemalloc.Snapshot, key: str, top: int, title: str) -> None:
    stats = snapshot.statistics(key)
    total = sum(s.size for s in stats)
    print(f"-- {title}: {total / MiB:.1f} MiB traced, top {top} by {key}")
    for stat in stats[:top]:
        frame = stat.traceback[0]
        name = frame.filename.replace(str(ROOT) + "/", "")
        if "site-packages/" in name:
            name = name.split("site-packages/", 1)[1]
        where = f"{name}:{frame.lineno}" if key == "lineno" else name
        print(f"{stat.size / MiB:8.2f} MiB {stat.count:9d} blocks  {where}")


async def _run(corpus: dict[str, Any], args: argparse.Namespace, db: Path) -> None:
    print(f"start: RSS {rss_mib('VmRSS')} MiB")
    from bot.app import build_app
    from bot.config import FileConfig, PollConfig, Settings, SourceConfig
    from jobs.poll import poll_due

    print(f"imports: RSS {rss_mib('VmRSS')} MiB")
    sources = [
        SourceConfig(name=f"feed {i}", url=f["url"], type=f["type"], selector=f["selector"])
        for i, f in enumerate(corpus["feeds"])
    ]
    poll = PollConfig(concurrency=32, per_host=32)
    if args.workers is not None:
        poll = PollConfig(concurrency=32, per_host=32, workers=args.workers)
    settings = Settings(
        database_url=f"sqlite:///{db}",
        allow_private_networks=True,
        file=FileConfig(sources=sources, poll=poll),
    )
    app = await build_app(settings, clock=lambda: datetime.now(UTC), output=io.StringIO())
    try:
        gc.collect()
        print(f"build_app: RSS {rss_mib('VmRSS')} MiB")
        if not args.no_trace:
            tracemalloc.start(args.frames)
        reset_peak_rss()
        wall = time.perf_counter()
        with Sampler(trace=not args.no_trace) as sampler:
            summary = await poll_due(app.poll_ports(), all_sources=True)
        wall = time.perf_counter() - wall
        gc.collect()
        after = tracemalloc.take_snapshot() if not args.no_trace else None
        worker = app.metrics.gauges.pop("uschina_bot_parse_worker_peak_rss_bytes", 0)
        print(
            f"first poll: {wall:.2f} s wall; {summary.line()}\n"
            f"peak RSS {rss_mib('VmHWM')} MiB, RSS after {rss_mib('VmRSS')} MiB; "
            f"each parsing worker peaked at {worker / MiB:.1f} MiB"
        )
        steps = max(1, len(sampler.samples) // 30)
        print(
            "RSS timeline (s, MiB): "
            + ", ".join(f"{t:.1f}:{r:.0f}" for t, r in sampler.samples[::steps])
        )
        if sampler.best is not None and after is not None:
            print(f"traced high {sampler.best_size / MiB:.1f} MiB")
            _print_top(sampler.best, "lineno", args.top, "at the traced high")
            _print_top(sampler.best, "filename", args.top, "at the traced high")
            _print_top(after, "lineno", args.top, "after the poll")
    finally:
        await app.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--workers", type=int)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--frames", type=int, default=1)
    parser.add_argument("--no-trace", action="store_true")
    parser.add_argument("--db", type=Path, default=Path("/tmp/uschina-memory.db"))
    return poll_served_corpus(parser.parse_args(), _run)


if __name__ == "__main__":
    raise SystemExit(main())
