"""Profile uschina-bot's two polls (all new, then all 304) of the benchmark corpus.

    python -m benchmarks.profile_poll [--feeds 500 --items 50] [--phase first|second|both]
        [--sort cumulative|tottime] [--top 40] [--workers N]

The feed server runs in its own process (as in ``benchmarks.ingest``); this process runs
``poll_due`` under cProfile and prints the top functions of each phase. Worker processes
(``poll.workers``) are not profiled: pass ``--workers 0`` to see the CPU stage inline.
``--threads`` also profiles the threads the poll runs work on (``asyncio.to_thread`` for the
decide step, the database writer thread for commits), merged into one table.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.ingest import poll_served_corpus


class ThreadProfiles:
    """One ``cProfile.Profile`` per thread, started at the thread's first call once ``active``.

    Install before the threads start (:func:`threading.setprofile`); threads that already run
    are not seen."""

    def __init__(self) -> None:
        self.active = False
        self.profiles: list[cProfile.Profile] = []
        threading.setprofile(self._hook)

    def _hook(self, frame: Any, event: str, arg: Any) -> None:
        if self.active and event == "call":
            profiler = cProfile.Profile()
            self.profiles.append(profiler)
            profiler.enable()  # replaces this hook in the calling thread


async def _run(corpus: dict[str, Any], args: argparse.Namespace, db: Path) -> None:
    from bot.app import build_app
    from bot.config import FileConfig, PollConfig, Settings, SourceConfig
    from jobs.poll import poll_due

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
    threads = ThreadProfiles() if args.threads else None
    app = await build_app(settings, clock=lambda: datetime.now(UTC), output=io.StringIO())
    try:
        for phase in ("first", "second"):
            profiler = cProfile.Profile()
            wall, cpu = time.perf_counter(), time.process_time()
            if args.phase in (phase, "both"):
                profiler.enable()
                if threads is not None:
                    threads.active = True
            summary = await poll_due(app.poll_ports(), all_sources=True)
            profiler.disable()
            took = f"{time.perf_counter() - wall:.2f} s wall, {time.process_time() - cpu:.2f} s CPU"
            print(f"== {phase}: {took}; {summary.line()}")
            if args.phase in (phase, "both"):
                stats = pstats.Stats(profiler)
                if threads is not None and phase == args.phase:
                    threads.active = False
                    for other in threads.profiles:
                        stats.add(other)
                stats.sort_stats(args.sort).print_stats(args.top)
    finally:
        await app.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--phase", choices=("first", "second", "both"), default="both")
    parser.add_argument("--sort", default="tottime")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--workers", type=int)
    parser.add_argument("--threads", action="store_true", help="profile worker threads too")
    parser.add_argument("--db", type=Path, default=Path("/tmp/uschina-profile.db"))
    return poll_served_corpus(parser.parse_args(), _run)


if __name__ == "__main__":
    raise SystemExit(main())
