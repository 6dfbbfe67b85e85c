"""Polling: fetch -> ``bot.domain.ingest`` (parse ... route) -> one transaction -> results.

The shell around the pure ingest step (``bot.domain.ingest``). A :class:`Poller` owns one
fetcher, the CPU stage (inline or worker processes, ``jobs.cpu``) and the open-stories view,
and runs a pipeline in three stages joined by queues:

1. fetch: each source is fetched as soon as it is started (the fetcher bounds concurrency
   overall and per host); its outcome is queued the moment it arrives;
2. prepare: whatever outcomes are waiting are taken together, their sources' known identity
   keys loaded in one query, and parsing/classification started (in worker processes for
   large groups);
3. decide window + commit: prepared sources are gathered into a window, which closes when
   every source in flight is in it, when it holds ``WINDOW_ITEMS`` new items, or at its
   barrier, min(2 s, fetch deadline / 4) after its first source came in (a slow source is
   decided in a later window and holds nobody); each source's raw bytes are released as
   soon as it is parsed. The window is decided as one (``decide_cycle``: story assignment
   and routing in a canonical order, so the stories do not depend on the order the fetches
   finished in; the one place that updates the open-stories view), then committed in
   transactions of up to ``COMMIT_ROWS`` rows of whole source batches, in source order:
   each source's items, stories, delivery intents and fetch state together (the outbox
   guarantee), and a follow-up in the same transaction as its parent alert, which is
   enqueued first (``commit_slices``).

The event loop also serves chat requests (``run``), so stage 3 keeps its CPU off it: an
inline prepare and ``decide_cycle`` run in a worker thread, the window stage awaiting them
(so the open-stories view is only ever touched by one thread), and the group commit runs on
the database's writer thread (``Database.on_writer``).

Isolation: whatever goes wrong with one source (a fetch, a hostile feed that makes the parser
raise anything, a worker dying, a database error on its rows) becomes that source's recorded
error with backoff; the other sources go on. There is no cycle barrier: ``poll_due`` starts
every due source and waits for them (``poll --once``), while ``run`` calls :meth:`Poller.tick`
every few seconds, which starts the sources that came due and returns at once; a window
waits at most its short barrier, so a slow source delays nobody.

The first successful poll of a source is its baseline: items are stored, nothing is alerted.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import random
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from bot.domain.classify import Classifier
from bot.domain.errors import DatabaseUnavailableError, ParseError
from bot.domain.ingest import (
    Fetched,
    IngestBatch,
    Judge,
    OpenStories,
    Prepared,
    Routes,
    cycle_summaries,
    decide_cycle,
    failed_batch,
    not_modified_batch,
)
from bot.domain.models import Channel, FetchOutcome, Item, Source
from bot.domain.ports import (
    ChannelReader,
    Clock,
    Fetcher,
    FollowupHistory,
    IngestStore,
    PollSourceStore,
    StoryWindowStore,
)
from bot.domain.route import BurstTally, FollowupBudget, enqueue_rank
from bot.domain.stories import StoryIndex
from bot.domain.taxonomy import Taxonomy
from bot.metrics import Metrics
from jobs.countdown import CountdownPorts, propose_events
from jobs.cpu import CpuStage, WorkerDied

log = logging.getLogger(__name__)

STORY_WINDOW = timedelta(days=4)
VIEW_MAX_AGE = timedelta(seconds=30)  # open stories and routes are reloaded this often
GROUP_MAX = 32  # sources whose parsing starts together at most
# A decide window closes when its sources hold this many new items (bounds memory), when
# every source in flight is in it, or BARRIER_MAX_S (at most a quarter of the fetch deadline)
# after its first source came in, so a slow source holds nobody (module docstring).
WINDOW_ITEMS = 5000
BARRIER_MAX_S = 2.0
# Rows written per transaction at most (whole source batches). SQLite holds its one write
# lock from a transaction's first insert to its commit, and every chat request that uses the
# database records its replay guard (a write) before it is acknowledged: short transactions
# keep that wait short while a poll stores thousands of items.
COMMIT_ROWS = 256


@dataclass(frozen=True)
class SourceResult:
    source_id: int
    name: str
    status: str  # ok | not_modified | failed
    error: str | None = None
    warning: str | None = None
    fetched: int = 0
    new_items: int = 0
    relevant_items: int = 0
    deliveries: int = 0
    baseline: bool = False


@dataclass
class PollSummary:
    started: datetime
    results: list[SourceResult] = field(default_factory=list)

    @property
    def ok(self) -> int:
        return sum(r.status != "failed" for r in self.results)

    @property
    def failed(self) -> int:
        return sum(r.status == "failed" for r in self.results)

    @property
    def new_items(self) -> int:
        return sum(r.new_items for r in self.results)

    @property
    def relevant_items(self) -> int:
        return sum(r.relevant_items for r in self.results)

    @property
    def deliveries(self) -> int:
        return sum(r.deliveries for r in self.results)

    def line(self) -> str:
        return (
            f"sources ok: {self.ok}, failed: {self.failed}; new items: {self.new_items}, "
            f"relevant: {self.relevant_items}; deliveries queued: {self.deliveries}"
        )


Progress = Callable[[int, int, SourceResult], None]
Routing = Routes  # the name the demo uses


@dataclass(frozen=True)
class PollPorts:
    """What polling needs, as the composition root wires it (``App.poll_ports``): the stores
    it reads and commits to, a fetcher factory, the countdown job's ports (events proposed from
    new items), the classifier, the clock and metrics, and the poll settings as plain values."""

    sources: PollSourceStore
    ingest: IngestStore
    stories: StoryWindowStore
    channels: ChannelReader
    deliveries: FollowupHistory
    fetcher: Callable[[], Fetcher]  # a new, unopened fetcher per poller
    countdowns: CountdownPorts
    taxonomy: Taxonomy
    classifier: Classifier
    clock: Clock
    metrics: Metrics
    workers: int  # parse worker processes (0: parse inline)
    taxonomy_path: str | None  # what the workers load (None: the built-in taxonomy)
    alerts_per_channel_per_poll: int
    followups_per_story_per_hour: int
    followups_per_channel_per_poll: int
    deadline_s: float  # a fetch's deadline (``poll.deadline``): sets the window barrier


def barrier_s_of(deadline_s: float) -> float:
    """How long a decide window waits for more sources after its first: min(2 s, deadline/4)."""
    return min(BARRIER_MAX_S, deadline_s / 4)


def judge_of(ports: PollPorts) -> Judge:
    return Judge(ports.taxonomy, ports.classifier)


async def load_routes(ports: PollPorts) -> Routes:
    return Routes(
        channels=await ports.channels.all(),
        subscriptions=await ports.channels.subscriptions(),
        burst_limit=ports.alerts_per_channel_per_poll,
        followups=FollowupBudget(
            per_story=ports.followups_per_story_per_hour,
            per_cycle=ports.followups_per_channel_per_poll,
            recent=await ports.deliveries.recent_followups(ports.clock() - timedelta(hours=1)),
        ),
    )


class StoryWindow:
    """Loads the open-stories view (recent stories, their index, channels already alerted)."""

    @staticmethod
    async def load(ports: PollPorts, now: datetime) -> OpenStories:
        recent = await ports.stories.recent_fingerprints(now - STORY_WINDOW)
        index = StoryIndex.restore([(s.key, fp) for s, fp in recent if fp])
        stories = {s.key: s for s, _ in recent}
        alerted = await ports.ingest.alerted_channels(stories)
        return OpenStories(index, stories, {k: v for k, v in alerted.items() if v})


# --------------------------------------------------------------------------- poller


@dataclass
class _Job:
    source: Source
    now: datetime
    done: asyncio.Future[SourceResult]
    outcome: FetchOutcome | None = None
    prepared: Prepared | None = None  # parsed and judged (the body is then released)
    error: str | None = None  # why its body could not be read


@dataclass
class _Cycle:
    """One poll cycle's burst tally: ``alerts_per_channel_per_poll`` holds per channel for
    the cycle, whose held-back alerts and follow-ups become one summary each per channel
    when it ends (``poll_due``: the whole poll; ``run``: one routing window, VIEW_MAX_AGE)."""

    started: datetime
    channels: Sequence[Channel]
    tally: BurstTally = field(default_factory=BurstTally)
    nonce: str = field(default_factory=lambda: str(random.random()))


class Poller:
    """Polls sources through the fetch -> prepare -> decide window -> commit pipeline (module
    docstring). ``barrier_s`` overrides the window barrier of ``ports.deadline_s`` (tests)."""

    def __init__(
        self,
        ports: PollPorts,
        *,
        workers: int | None = None,
        pool_min: int = 32,
        barrier_s: float | None = None,
    ) -> None:
        self.ports = ports
        count = ports.workers if workers is None else workers
        self.cpu = CpuStage(
            judge_of(ports),
            workers=count,
            taxonomy_path=ports.taxonomy_path,
            pool_min=pool_min,
        )
        self.barrier_s = barrier_s_of(ports.deadline_s) if barrier_s is None else barrier_s
        self._fetcher: Fetcher | None = None
        self._fetched: asyncio.Queue[_Job] = asyncio.Queue()
        self._prepared: asyncio.Queue[tuple[list[_Job], list[Any]]] = asyncio.Queue(maxsize=1)
        self._next: asyncio.Task[tuple[list[_Job], list[Any]]] | None = None
        self._carry: tuple[list[_Job], list[Any]] | None = None  # the rest of a group
        self._stages: list[asyncio.Task[None]] = []
        self._fetches: set[asyncio.Task[None]] = set()
        self._in_flight: set[int] = set()
        self._view: OpenStories | None = None
        self._routes: Routes | None = None
        self._view_at: datetime | None = None
        self._cycle: _Cycle | None = None
        self._large = False  # polling enough sources at once to be worth the workers
        self.finished: list[SourceResult] = []  # for ``tick`` callers; drained by them

    async def __aenter__(self) -> Poller:
        self._fetcher = await self.ports.fetcher().__aenter__()
        self._stages = [
            asyncio.create_task(self._prepare_stage()),
            asyncio.create_task(self._window_stage()),
        ]
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        tasks = [*self._fetches, *self._stages, *([self._next] if self._next else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._stages, self._fetches, self._next = [], set(), None
        await self._close_cycle(self.ports.clock())
        if self._fetcher is not None:
            await self._fetcher.aclose()
            self._fetcher = None
        peak = self.cpu.worker_peak_rss_bytes()
        if peak:
            self.ports.metrics.set("uschina_bot_parse_worker_peak_rss_bytes", peak)
        self.cpu.close()

    def start(self, source: Source, now: datetime) -> asyncio.Future[SourceResult] | None:
        """Fetch and ingest ``source``; None when it is already in flight."""
        if source.id in self._in_flight:
            return None
        self._in_flight.add(source.id)
        job = _Job(source, now, asyncio.get_running_loop().create_future())
        task = asyncio.create_task(self._fetch(job))
        self._fetches.add(task)
        task.add_done_callback(self._fetches.discard)
        return job.done

    async def tick(self) -> int:
        """Start the sources that are due and not in flight; returns how many started."""
        now = self.ports.clock()
        cycle = self._cycle
        if cycle is not None and not self._in_flight and now - cycle.started >= VIEW_MAX_AGE:
            await self._close_cycle(now)  # a quiet spell ends a routing window's cycle
        started = 0
        for source in await self.ports.sources.claim_due(now):
            if self.start(source, now) is not None:
                started += 1
        return started

    async def poll(
        self, sources: Sequence[Source], now: datetime, progress: Progress | None = None
    ) -> list[SourceResult]:
        """Poll ``sources`` and wait for all of them; results in completion order."""
        self._large = len(sources) >= self.cpu.pool_min
        futures = [f for s in sources if (f := self.start(s, now)) is not None]
        results: list[SourceResult] = []
        for done in asyncio.as_completed(futures):
            result = await done
            results.append(result)
            if progress:
                progress(len(results), len(futures), result)
        return results

    # ----------------------------------------------------------------- stage 1: fetch

    async def _fetch(self, job: _Job) -> None:
        assert self._fetcher is not None
        source = job.source
        try:
            job.outcome = await self._fetcher.fetch(
                source.url, etag=source.state.etag, last_modified=source.state.last_modified
            )
        except Exception as exc:  # the fetcher words its own failures; this is the rest
            log.exception("fetching source %s failed unexpectedly", source.id)
            job.outcome = FetchOutcome(url=source.url, ok=False, error=_unexpected(exc))
        await self._fetched.put(job)

    # ----------------------------------------------------------------- stage 2: prepare

    async def _prepare_stage(self) -> None:
        while True:
            jobs = [await self._fetched.get()]
            while len(jobs) < GROUP_MAX and not self._fetched.empty():
                jobs.append(self._fetched.get_nowait())
            try:
                work = await self._start_prepare(jobs)
            except Exception as exc:  # e.g. the database is unreachable
                _log_failure(exc, "preparing %d source(s) failed", len(jobs))
                work = [exc] * len(jobs)
            await self._prepared.put((jobs, work))

    async def _start_prepare(self, jobs: list[_Job]) -> list[Any]:
        """Per job: None (nothing to parse), or a Future/_Deferred/exception."""
        parse = [j for j in jobs if _has_body(j.outcome)]
        known = await self.ports.ingest.known_identities_of(j.source.id for j in parse)
        # a large poll uses the workers from its first body on; an all-304 one never starts them
        pooled = bool(parse) and self.cpu.want_pool(len(parse), large=self._large)
        work: list[Any] = []
        for job in jobs:
            if not _has_body(job.outcome):
                work.append(None)
                continue
            assert job.outcome is not None
            ids = frozenset(known.get(job.source.id, ()))
            if pooled:
                coro = self.cpu.prepare_in_pool(job.source, job.outcome, ids, job.now)
                work.append(asyncio.ensure_future(coro))
            else:
                work.append(_Deferred(job, ids))
        return work

    async def _parsed(self, job: _Job, work: Any) -> int:
        """Wait for ``job``'s prepare ``work`` (run it, when inline) and release its body;
        returns how many new items it holds. A failure is recorded as the job's ``error``."""
        if work is None:  # failed or not modified: nothing to parse
            return 0
        try:
            if isinstance(work, BaseException):  # preparing its group failed
                raise work
            if isinstance(work, asyncio.Future):
                job.prepared = await work
            else:  # CPU: off the event loop (module docstring)
                job.prepared = await asyncio.to_thread(work.run, self)
        except ParseError as exc:
            job.error = str(exc)
        except Exception as exc:  # hostile input: any error is this source's failure only
            if not isinstance(exc, WorkerDied | DatabaseUnavailableError):
                log.warning("source %s (%s): %s", job.source.id, job.source.name, _unexpected(exc))
            job.error = _unexpected(exc)
        if job.outcome is not None and job.outcome.body:
            job.outcome = replace(job.outcome, body=b"")  # parsed: the bytes are not needed
        return len(job.prepared.items) if job.prepared is not None else 0

    # ----------------------------------------------------------------- stage 3: decide window

    async def _window_stage(self) -> None:
        """Gather a window of prepared sources (module docstring: until every source in flight
        is in, WINDOW_ITEMS new items, or the barrier), decide it, commit it; again."""
        loop = asyncio.get_running_loop()
        while True:
            window: list[_Job] = []
            first = await self._next_group()
            closes_at = loop.time() + self.barrier_s  # from when its first sources came in
            items = await self._take(first, window, 0)
            while items < WINDOW_ITEMS and len(window) < len(self._in_flight):
                group = await self._group_before(closes_at)
                if group is None:
                    break  # the barrier: later sources go to the next window
                items = await self._take(group, window, items)
            try:
                results = await self._decide_and_commit(window)
            except Exception as exc:
                _log_failure(exc, "ingesting %d source(s) failed", len(window))
                self._view = None  # it may hold the window's stories: reload it
                results = [await self._fail_alone(j, _unexpected(exc)) for j in window]
            for job, result in zip(window, results, strict=True):
                self._finish(job, result)

    async def _next_group(self) -> tuple[list[_Job], list[Any]]:
        if self._carry is not None:
            group, self._carry = self._carry, None
            return group
        if self._next is None:
            self._next = asyncio.ensure_future(self._prepared.get())
        group = await self._next
        self._next = None
        return group

    async def _group_before(self, closes_at: float) -> tuple[list[_Job], list[Any]] | None:
        """The next prepared group, or None when none came before loop time ``closes_at``
        (the wait for it goes on, for the next window: nothing taken off the queue is lost)."""
        if self._carry is not None:
            return await self._next_group()
        if self._next is None:
            self._next = asyncio.ensure_future(self._prepared.get())
        left = closes_at - asyncio.get_running_loop().time()
        if left <= 0 and not self._next.done():
            return None
        done, _ = await asyncio.wait({self._next}, timeout=max(left, 0))
        return await self._next_group() if done else None

    async def _take(
        self, group: tuple[list[_Job], list[Any]], window: list[_Job], items: int
    ) -> int:
        """Add ``group``'s sources to ``window`` (which holds ``items`` new items) until it
        holds WINDOW_ITEMS; the rest of the group opens the next window. Returns the count."""
        jobs, work = group
        for n, (job, w) in enumerate(zip(jobs, work, strict=True)):
            if items >= WINDOW_ITEMS:
                self._carry = (jobs[n:], work[n:])
                break
            items += await self._parsed(job, w)
            window.append(job)
        return items

    # ----------------------------------------------------------------- stage 4: commit

    async def _decide_and_commit(self, jobs: Sequence[_Job]) -> list[SourceResult]:
        """Decide a window (canonical order: sources by id, ``decide_cycle``) and commit it
        in slices of whole batches; results in the order of ``jobs``."""
        ordered = sorted(jobs, key=lambda j: j.source.id)
        parsed = [j for j in ordered if j.prepared is not None]
        decided: dict[int, IngestBatch] = {}
        if parsed:
            decided = await self._decide_window(parsed)
        batches = [
            decided.pop(j.source.id) if j.source.id in decided else _unparsed_batch(j)
            for j in ordered
        ]
        for job in parsed:
            job.prepared = None  # decided: the batches hold what is stored
        # each slice's batches are let go once committed (the window holds thousands of items)
        slices = deque((ordered[p], batches[p]) for p in commit_slices(batches))
        del batches
        results: dict[int, SourceResult] = {}
        while slices:
            part_jobs, part = slices.popleft()
            for job, result in zip(part_jobs, await self._commit(part_jobs, part), strict=True):
                results[job.source.id] = result
            del part
        return [results[j.source.id] for j in jobs]

    async def _decide_window(self, jobs: list[_Job]) -> dict[int, IngestBatch]:
        """``decide_cycle`` over the window's parsed sources, off the event loop (the only
        place that updates the open-stories view; one window at a time). Should it raise, the
        view is reloaded and each source decided alone, so an error stays with its source."""
        now = max(j.now for j in jobs)
        view, routes = await self._current_view(now)
        assert self._cycle is not None
        cycle, labels = self._cycle, self.ports.taxonomy.label
        fetched = [_fetched(j) for j in jobs]
        try:
            batches, cycle.tally = await asyncio.to_thread(
                decide_cycle, fetched, view, routes, now, labels=labels, tally=cycle.tally
            )
            return {b.source_id: b for b in batches}
        except Exception:
            log.exception("deciding %d source(s) together failed; one at a time", len(jobs))
        self._view = view = await StoryWindow.load(self.ports, now)  # it may hold a part
        out: dict[int, IngestBatch] = {}
        for job, one in zip(jobs, fetched, strict=True):
            try:
                (batch,), cycle.tally = await asyncio.to_thread(
                    decide_cycle, [one], view, routes, now, labels=labels, tally=cycle.tally
                )
            except Exception as exc:
                log.warning("source %s (%s): %s", job.source.id, job.source.name, _unexpected(exc))
                self._view = None  # it may hold part of this source: the next window reloads it
                batch = failed_batch(
                    job.source, _unexpected(exc), job.outcome, job.now, jitter=one.jitter
                )
            out[job.source.id] = batch
        for batch in out.values():  # each story as the whole window left it
            batch.stories = [
                (view.stories.get(s.key, s), view.index.story_state(s.key) or state)
                for s, state in batch.stories
            ]
        return out

    async def _commit(self, jobs: list[_Job], batches: list[IngestBatch]) -> list[SourceResult]:
        try:
            inserted = await self.ports.ingest.commit_many(batches)
        except Exception as exc:
            _log_failure(exc, "committing %d source(s) together failed; one at a time", len(jobs))
            self._view = None  # the view holds uncommitted stories: reload it
            return [await self._commit_alone(j, b) for j, b in zip(jobs, batches, strict=True)]
        results = []
        for job, batch, new in zip(jobs, batches, inserted, strict=True):
            results.append(await self._after_commit(job, batch, new))
        return results

    async def _commit_alone(self, job: _Job, batch: IngestBatch) -> SourceResult:
        try:
            (new,) = await self.ports.ingest.commit_many([batch])
        except Exception as exc:
            _log_failure(exc, "committing source %s failed", job.source.id)
            return await self._fail_alone(job, f"could not store its items ({_unexpected(exc)})")
        return await self._after_commit(job, batch, new)

    async def _fail_alone(self, job: _Job, error: str) -> SourceResult:
        batch = failed_batch(job.source, error, job.outcome, job.now, jitter=random.random())
        try:
            await self.ports.sources.save_states([(job.source.id, batch.state)])
        except Exception as exc:
            _log_failure(exc, "saving the state of source %s failed", job.source.id)
        return self._count(job.source, batch, [])

    async def _after_commit(self, job: _Job, batch: IngestBatch, new: list[Item]) -> SourceResult:
        relevant = [i for i in new if i.relevant]
        if relevant and not batch.baseline:
            try:
                await propose_events(self.ports.countdowns, relevant, job.now)
            except Exception:
                log.exception("proposing events from source %s failed", job.source.id)
        return self._count(job.source, batch, new)

    def _count(self, source: Source, batch: IngestBatch, new: list[Item]) -> SourceResult:
        metrics = self.ports.metrics
        metrics.inc("uschina_bot_source_fetches_total", result=batch.status)
        if batch.status == "failed":
            log.info("source %s (%s) failed: %s", source.id, source.name, batch.error)
            return SourceResult(source.id, source.name, "failed", error=batch.error)
        if batch.status == "not_modified":
            return SourceResult(source.id, source.name, "not_modified")
        relevant = sum(i.relevant for i in new)
        metrics.inc("uschina_bot_items_stored_total", len(new))
        metrics.inc("uschina_bot_relevant_items_total", relevant)
        return SourceResult(
            source.id,
            source.name,
            "ok",
            warning=batch.warning,
            fetched=batch.fetched,
            new_items=len(new),
            relevant_items=relevant,
            deliveries=len(batch.deliveries),
            baseline=batch.baseline,
        )

    def _finish(self, job: _Job, result: SourceResult) -> None:
        self._in_flight.discard(job.source.id)
        self.finished.append(result)
        if not job.done.done():
            job.done.set_result(result)

    async def _current_view(self, now: datetime) -> tuple[OpenStories, Routes]:
        stale = self._view_at is None or abs(now - self._view_at) >= VIEW_MAX_AGE
        if self._view is None or self._routes is None or stale:
            await self._close_cycle(now)  # new routes (and follow-up budget): a new cycle
            self._view = await StoryWindow.load(self.ports, now)
            self._routes = await load_routes(self.ports)
            self._view_at = now
        if self._cycle is None:
            self._cycle = _Cycle(now, self._routes.channels)
        return self._view, self._routes

    async def _close_cycle(self, now: datetime) -> None:
        """End the current cycle: queue its summaries of what the caps held back."""
        cycle, self._cycle = self._cycle, None
        if cycle is None or not cycle.tally.owes_summary():
            return
        key = f"{cycle.started.isoformat()}:{cycle.nonce}"
        summaries = cycle_summaries(cycle.tally, cycle.channels, now, key)
        try:
            await self.ports.ingest.enqueue(summaries, now)
        except Exception as exc:  # the held items are stored; only the summary is lost
            _log_failure(exc, "queueing %d burst summaries failed", len(summaries))


def commit_slices(batches: Sequence[IngestBatch], rows: int = COMMIT_ROWS) -> Iterator[slice]:
    """Consecutive runs of ``batches`` of at most ``rows`` rows each (items, stories and
    deliveries, one for the state), in order; one batch larger than ``rows`` is a run alone.
    A batch is never split: its items, stories and alerts commit together. Nor is a run of
    batches from a follow-up's parent alert to the follow-up (a window decides several
    sources' items of one story together): they commit in one transaction, which enqueues
    the parent first (``IngestStore.commit_many``), whatever their order here."""
    joined = _thread_spans(batches)
    start, size = 0, 0
    for n, batch in enumerate(batches):
        weight = 1 + len(batch.items) + len(batch.stories) + len(batch.deliveries)
        if n > start and size + weight > rows and n not in joined:
            yield slice(start, n)
            start, size = n, 0
        size += weight
    if start < len(batches):
        yield slice(start, len(batches))


def _thread_spans(batches: Sequence[IngestBatch]) -> set[int]:
    """Positions ``n`` where no run may start, because batch ``n - 1`` and ``n`` both lie
    between a follow-up and its parent alert (same channel and thread), in either order."""
    parents: dict[tuple[int, str], int] = {}
    for n, batch in enumerate(batches):
        for d in batch.deliveries:
            if enqueue_rank(d.kind) == 0 and d.thread_key:
                parents.setdefault((d.channel_id, d.thread_key), n)
    joined: set[int] = set()
    for n, batch in enumerate(batches):
        for d in batch.deliveries:
            parent = parents.get((d.channel_id, d.thread_key or ""))
            if enqueue_rank(d.kind) and parent is not None and parent != n:
                joined.update(range(min(parent, n) + 1, max(parent, n) + 1))
    return joined


class _Deferred:
    """A prepare job run inline, when the window stage reaches it."""

    def __init__(self, job: _Job, known: frozenset[str]) -> None:
        self.job = job
        self.known = known

    def run(self, poller: Poller) -> Prepared:
        assert self.job.outcome is not None
        return poller.cpu.prepare_inline(
            self.job.source, self.job.outcome, self.known, self.job.now
        )


def _fetched(job: _Job) -> Fetched:
    assert job.outcome is not None and job.prepared is not None
    return Fetched(job.source, job.outcome, job.prepared, job.now, random.random())


def _unparsed_batch(job: _Job) -> IngestBatch:
    """The batch of a source with nothing to decide: failed, unreadable or not modified."""
    source, outcome, now, jitter = job.source, job.outcome, job.now, random.random()
    if outcome is None or not outcome.ok:
        error = (outcome.error if outcome else None) or "fetch failed"
        return failed_batch(source, error, outcome, now, jitter=jitter)
    if job.error is not None:
        return failed_batch(source, job.error, outcome, now, jitter=jitter)
    return not_modified_batch(source, outcome, now, jitter=jitter)


def _has_body(outcome: FetchOutcome | None) -> bool:
    return outcome is not None and outcome.ok and not outcome.not_modified


def _unexpected(exc: BaseException) -> str:
    """One line for a person about an error nobody words better."""
    if isinstance(exc, WorkerDied):
        return str(exc)
    if isinstance(exc, RecursionError):
        return "the feed is nested too deeply to read"
    if isinstance(exc, MemoryError):
        return "the feed is too large to read"
    detail = str(exc).splitlines()[0][:200] if str(exc) else ""
    return f"could not process the feed ({type(exc).__name__}{': ' + detail if detail else ''})"


# --------------------------------------------------------------------------- cycle


async def poll_due(
    ports: PollPorts, *, all_sources: bool = False, progress: Progress | None = None
) -> PollSummary:
    """Poll the sources that are due (or all enabled ones) once; never raises per source."""
    now = ports.clock()
    summary = PollSummary(started=now)
    if all_sources:
        sources = await ports.sources.all(enabled_only=True)
    else:
        sources = await ports.sources.claim_due(now)
    if not sources:
        return summary
    with _gc_paused():
        async with Poller(ports) as poller:
            summary.results = await poller.poll(sources, now, progress)
    ports.metrics.inc("uschina_bot_polls_total")
    return summary


async def process_outcome(
    ports: PollPorts,
    source: Source,
    outcome: FetchOutcome,
    routes: Routes,
    stories: OpenStories,
    now: datetime,
) -> SourceResult:
    """Ingest one fetch outcome inline and commit it, as a cycle of its own (the demo; tests)."""
    (result,) = await process_outcomes(ports, [(source, outcome)], routes, stories, now)
    return result


async def process_outcomes(
    ports: PollPorts,
    outcomes: Sequence[tuple[Source, FetchOutcome]],
    routes: Routes,
    stories: OpenStories,
    now: datetime,
) -> list[SourceResult]:
    """Ingest fetch outcomes (distinct sources) inline as one decide window and one poll
    cycle, committed like a poll's window; results in the order of ``outcomes`` (tests)."""
    poller = Poller(ports, workers=0)
    poller._view, poller._routes, poller._view_at = stories, routes, now
    loop = asyncio.get_running_loop()
    jobs = [_Job(source, now, loop.create_future(), outcome) for source, outcome in outcomes]
    for job, work in zip(jobs, await poller._start_prepare(jobs), strict=True):
        await poller._parsed(job, work)
    results = await poller._decide_and_commit(jobs)
    await poller._close_cycle(now)
    return results


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Automatic garbage collection off for one cycle, then one young-generation collection.

    A cycle allocates many short-lived objects; left on, the collector keeps rescanning the
    long-lived heap (story window, parsed trees) for little gain. Reference counting still
    frees everything acyclic at once; the collection at the end frees the few cycles made.
    """
    if not gc.isenabled():  # someone else manages the collector
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect(1)


def summary_json(summary: PollSummary) -> dict[str, Any]:
    return {
        "sources_ok": summary.ok,
        "sources_failed": summary.failed,
        "new_items": summary.new_items,
        "relevant_items": summary.relevant_items,
        "deliveries": summary.deliveries,
        "failed": [
            {"id": r.source_id, "name": r.name, "error": r.error}
            for r in summary.results
            if r.status == "failed"
        ],
    }


def _log_failure(exc: BaseException, message: str, *args: object) -> None:
    """A traceback for a surprise; one DEBUG line for a database outage (the database logs
    the start and end of an outage itself)."""
    if isinstance(exc, DatabaseUnavailableError):
        log.debug(message + " (%s)", *args, exc)
    else:
        log.error(message, *args, exc_info=exc)
