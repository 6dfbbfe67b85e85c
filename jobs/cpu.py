"""The CPU stage of ingest (``bot.domain.ingest.prepare``), inline or in worker processes.

Parsing, normalising, classifying, engagement extraction and story fingerprints are pure
functions of a source's bytes, so large cycles run them in a small process pool and the event
loop (fetching, story assignment, database writes) keeps the main core. Each worker loads the
taxonomy once, in its initializer; a job carries only one source, its body and its known
identity keys, and returns plain data.

A worker that dies (or a pool that breaks) fails only the jobs in it: the pool is rebuilt for
the next ones (a few times; then parsing stays in the main process). Entry points must guard
their ``__main__`` module: worker processes import it.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime

from bot.domain import source_types
from bot.domain.ingest import Judge, Prepared, prepare
from bot.domain.models import FetchOutcome, Source
from bot.taxonomy_file import load_taxonomy_file

log = logging.getLogger(__name__)

_judge: Judge | None = None

WORKER_NICENESS = 10
"""How much lower than the bot's own the workers' CPU priority is (``nice``): when both cores
are busy, the event loop that answers chat requests, fetches and commits runs first, and the
workers take every cycle it leaves; on an idle machine they run as fast as before."""


def _lower_priority(increment: int) -> None:
    try:
        os.nice(increment)
    except OSError:  # not permitted here: run at the bot's priority
        log.debug("could not lower the parsing workers' CPU priority")


def _init_worker(taxonomy_path: str | None, reader_modules: tuple[str, ...] = ()) -> None:
    global _judge

    _lower_priority(WORKER_NICENESS)
    for name in reader_modules:  # source types registered outside the built-ins
        importlib.import_module(name)
    _judge = Judge(load_taxonomy_file(taxonomy_path))


def _prepare_in_worker(
    source: Source, outcome: FetchOutcome, known: frozenset[str], now: datetime
) -> Prepared:
    assert _judge is not None, "worker not initialised"
    return prepare(source, outcome, known, now, _judge)


def _ready() -> bool:
    return _judge is not None


class WorkerDied(Exception):
    """The worker process running a job died."""


class CpuStage:
    """Runs :func:`prepare` inline (``workers == 0``) or in ``workers`` processes.

    ``pool_min`` is the number of jobs waiting at once from which the pool is worth its
    start-up; below it, jobs run inline while no pool exists yet. The jobs in a pool that
    breaks fail (their sources are retried with backoff); after ``MAX_BREAKS`` breaks the
    stage stops using processes.
    """

    MAX_BREAKS = 3

    def __init__(
        self,
        judge: Judge,
        *,
        workers: int,
        taxonomy_path: str | None,
        pool_min: int = 16,
    ) -> None:
        self.judge = judge
        self.workers = workers
        self.taxonomy_path = taxonomy_path
        self.pool_min = pool_min
        self._pool: ProcessPoolExecutor | None = None
        self.breaks = 0

    def want_pool(self, waiting: int, *, large: bool = False) -> bool:
        """Whether ``waiting`` jobs should go to the workers (``large``: part of a poll of at
        least ``pool_min`` sources)."""
        return self.workers > 0 and (self._pool is not None or large or waiting >= self.pool_min)

    def start(self) -> None:
        """Start the workers now (they initialise while the first fetches run)."""
        if self.workers <= 0 or self._pool is not None:
            return
        self._pool = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("forkserver"),
            initializer=_init_worker,
            initargs=(self.taxonomy_path, source_types.reader_modules()),
        )
        for _ in range(self.workers):
            self._pool.submit(_ready)

    def prepare_inline(
        self, source: Source, outcome: FetchOutcome, known: frozenset[str], now: datetime
    ) -> Prepared:
        return prepare(source, outcome, known, now, self.judge)

    async def prepare_in_pool(
        self, source: Source, outcome: FetchOutcome, known: frozenset[str], now: datetime
    ) -> Prepared:
        self.start()
        assert self._pool is not None
        pool = self._pool
        try:
            future = pool.submit(_prepare_in_worker, source, outcome, known, now)
            return await asyncio.wrap_future(future)
        except BrokenProcessPool:
            if self._pool is pool:
                self._pool = None
                pool.shutdown(wait=False, cancel_futures=True)
                self.breaks += 1
                if self.breaks >= self.MAX_BREAKS:
                    log.warning("parsing workers keep dying; parsing in the main process now")
                    self.workers = 0
                else:
                    log.warning("a parsing worker died; restarting the workers")
            # from None: BrokenProcessPool says only that a worker died; the message says more
            raise WorkerDied("the parsing worker stopped while reading this feed") from None

    def worker_peak_rss_bytes(self) -> int:
        """The largest peak RSS of the current workers (Linux; 0 when unknown)."""
        pool = self._pool
        processes = getattr(pool, "_processes", None) or {}
        peak = 0
        for pid in list(processes):
            try:
                with open(f"/proc/{pid}/status", encoding="ascii") as status:
                    for line in status:
                        if line.startswith("VmHWM:"):
                            peak = max(peak, int(line.split()[1]) * 1024)
            except (OSError, ValueError):
                continue
        return peak

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
