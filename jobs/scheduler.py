"""The scheduler of ``uschina-bot run``: the ONE module that imports APScheduler.

Jobs (all with ``coalesce=True``, ``max_instances=1`` and an explicit ``misfire_grace_time``,
because APScheduler's default grace of 1 s silently drops a run that starts late):

===========  ===========================  ==================================================
job          when                         what
===========  ===========================  ==================================================
poll         every 2 s                    ``Poller.tick``: start the sources that came due
                                          (never waits for them), report finished ones
deliver      every 2 s (or woken)         one pass of the outbox worker
digests      every minute                 ``run_due_digests`` (singleton)
countdowns   at start, then hourly        ``run_countdowns`` (singleton)
retention    5 min after start, daily     ``run_retention`` (singleton)
===========  ===========================  ==================================================

Per-channel digest times do not use APScheduler cron triggers: the minute tick asks
``due_digest_slot`` (cron numbering, the channel's timezone, a grace window, the last slot
sent), which survives restarts and never sends a slot twice. :func:`cron_trigger` exists for
anything that does want a CronTrigger: it is built from ``CronSpec.apscheduler_field_sets()``,
which names the weekdays, so cron's 0 = Sunday can never become APScheduler's 0 = Monday.

Several instances may share one PostgreSQL database. Poll and delivery are safe to run
everywhere (per-source commits, ``SKIP LOCKED`` claims); the singleton jobs run only in the
instance holding the lease ``SINGLETON_LEASE``, renewed by every singleton run (TTL 3 min),
so another instance takes over within minutes of the holder dying.

A database outage (``DatabaseUnavailableError``) is not a job failure with a traceback: the
database logs the change of state once, and every job skips its runs for a back-off that
doubles from ``DB_BACKOFF_MIN`` to ``DB_BACKOFF_MAX`` until one run succeeds again.
``shutdown`` cancels running job bodies and waits for them, so a stop never logs a traceback.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.domain.errors import DatabaseUnavailableError
from bot.domain.ports import Clock, LeaseStore
from bot.domain.schedule import parse_cron, zone
from bot.metrics import Metrics
from jobs.countdown import CountdownPorts, run_countdowns
from jobs.deliver import DeliveryPorts, DeliveryWorker
from jobs.digest import DigestPorts, run_due_digests
from jobs.poll import Poller, PollPorts, PollSummary
from jobs.retention import RetentionPorts, run_retention

log = logging.getLogger(__name__)

SINGLETON_LEASE = "singleton-jobs"
LEASE_TTL = timedelta(minutes=3)
POLL_EVERY = timedelta(seconds=2)
DELIVER_EVERY = timedelta(seconds=2)
DIGEST_EVERY = timedelta(minutes=1)
COUNTDOWN_EVERY = timedelta(hours=1)
RETENTION_EVERY = timedelta(days=1)
RETENTION_FIRST_DELAY = timedelta(minutes=5)
DEFAULT_MISFIRE_GRACE_S = 30
JOB_METRIC = "uschina_bot_job_runs_total"
DB_BACKOFF_MIN = 2.0
DB_BACKOFF_MAX = 60.0


def cron_trigger(expr: str, timezone: str) -> BaseTrigger:
    """A trigger firing like cron ``expr`` in ``timezone`` (weekdays passed as names; cron's
    day-of-month OR day-of-week rule kept with an OrTrigger)."""
    tz = zone(timezone)
    triggers: list[BaseTrigger] = [
        CronTrigger(timezone=tz, **fields) for fields in parse_cron(expr).apscheduler_field_sets()
    ]
    return triggers[0] if len(triggers) == 1 else OrTrigger(triggers)


@dataclass(frozen=True)
class SchedulerPorts:
    """What the scheduler needs, as the composition root wires it (``App.scheduler_ports``):
    the singleton lease, clock, metrics and instance name, and one factory per job for the
    ports that job runs with."""

    leases: LeaseStore
    clock: Clock
    metrics: Metrics
    instance_id: str
    poll: Callable[[], PollPorts]
    delivery: Callable[[], DeliveryPorts]
    digests: Callable[[], DigestPorts]
    countdowns: Callable[[], CountdownPorts]
    retention: Callable[[], RetentionPorts]


class Scheduler:
    """Wraps an ``AsyncIOScheduler`` running the bot's periodic jobs for one app's ports."""

    def __init__(
        self,
        ports: SchedulerPorts,
        *,
        poll: bool = True,
        deliver: bool = True,
        worker: DeliveryWorker | None = None,
    ) -> None:
        self.ports = ports
        self.poll_enabled = poll
        self.deliver_enabled = deliver
        self._worker = worker
        self.scheduler = AsyncIOScheduler(
            timezone=UTC,
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": DEFAULT_MISFIRE_GRACE_S,
            },
        )
        self._poller: Poller | None = None
        self.last_runs: dict[str, datetime] = {}
        self.last_errors: dict[str, str] = {}
        self._running_bodies: set[asyncio.Task[Any]] = set()
        self._stopping = False
        self._db_backoff = 0.0
        self._db_retry_at = 0.0

    # ----------------------------------------------------------------- lifecycle

    def start(self, *, paused: bool = False) -> None:
        """Register the jobs and start (call from inside the running event loop); ``paused``
        registers everything without running anything (inspection, tests)."""
        if self.scheduler.running:
            return
        now = datetime.now(UTC)
        if self.poll_enabled:
            self._every("poll", self.poll_tick, POLL_EVERY, grace=30, first=now)
        if self.deliver_enabled:
            self._every("deliver", self.deliver_tick, DELIVER_EVERY, grace=10, first=now)
        self._every("digests", self.digest_tick, DIGEST_EVERY, grace=60, first=now)
        self._every("countdowns", self.countdown_tick, COUNTDOWN_EVERY, grace=900, first=now)
        self._every(
            "retention",
            self.retention_tick,
            RETENTION_EVERY,
            grace=3600,
            first=now + RETENTION_FIRST_DELAY,
        )
        self.scheduler.start(paused=paused)

    async def shutdown(self) -> None:
        """Stop scheduling; running job bodies and fetches in flight are cancelled and awaited
        without being logged as failures (the outbox keeps their work; sources in flight are
        polled again when their claim ends)."""
        self._stopping = True
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        running = [task for task in self._running_bodies if not task.done()]
        for task in running:
            task.cancel()
        if running:
            await asyncio.gather(*running, return_exceptions=True)
        await asyncio.sleep(0)  # AsyncIOScheduler applies the shutdown on the loop
        if self._poller is not None:
            poller, self._poller = self._poller, None
            await poller.aclose()

    @property
    def running(self) -> bool:
        return bool(self.scheduler.running)

    def _every(
        self,
        job_id: str,
        func: Callable[[], Awaitable[Any]],
        every: timedelta,
        *,
        grace: int,
        first: datetime,
    ) -> None:
        self.scheduler.add_job(
            func,
            IntervalTrigger(seconds=every.total_seconds(), timezone=UTC),
            id=job_id,
            name=job_id,
            misfire_grace_time=grace,
            coalesce=True,
            max_instances=1,
            next_run_time=first,
            replace_existing=True,
        )

    def wake_delivery(self) -> None:
        """Run the delivery job as soon as possible (new deliveries were just enqueued)."""
        job = self.scheduler.get_job("deliver")
        if job is not None and self.scheduler.running:
            job.modify(next_run_time=datetime.now(UTC))

    def state(self) -> dict[str, Any]:
        """Health output: ``{"running": bool, "jobs": {...}}``."""
        return {"running": self.running, "jobs": self.jobs()}

    def jobs(self) -> dict[str, dict[str, Any]]:
        """For health output: each job's next run, last run and last error."""
        out: dict[str, dict[str, Any]] = {}
        for job in self.scheduler.get_jobs():
            next_run = getattr(job, "next_run_time", None)
            last = self.last_runs.get(job.id)
            out[job.id] = {
                "next_run": next_run.isoformat() if next_run else None,
                "last_run": last.isoformat() if last else None,
                "last_error": self.last_errors.get(job.id),
            }
        return out

    # ----------------------------------------------------------------- jobs

    @property
    def worker(self) -> DeliveryWorker:
        if self._worker is None:
            self._worker = DeliveryWorker(self.ports.delivery())
        return self._worker

    async def _guarded(
        self, name: str, run: Callable[[], Awaitable[Any]], *, none_is_a_run: bool = True
    ) -> Any:
        """Run one job body; log and remember its error instead of raising into APScheduler.
        With ``none_is_a_run=False`` a None result (skipped: no lease) is not recorded.
        While the database is out, runs are skipped until the back-off expires."""
        if self._stopping or time.monotonic() < self._db_retry_at:
            return None
        body = asyncio.ensure_future(run())
        self._running_bodies.add(body)
        try:
            result = await body
        except asyncio.CancelledError:
            if not self._stopping:
                raise
            return None  # stopping: the body was cancelled on purpose
        except DatabaseUnavailableError as exc:
            self._back_off()
            self.last_errors[name] = str(exc)
            self.ports.metrics.inc(JOB_METRIC, job=name, result="db_unavailable")
            return None
        except Exception as exc:
            log.exception("job %s failed", name)
            self.last_errors[name] = f"{type(exc).__name__}: {exc}"
            self.ports.metrics.inc(JOB_METRIC, job=name, result="error")
            return None
        finally:
            self._running_bodies.discard(body)
        self._db_backoff = 0.0
        if result is None and not none_is_a_run:
            return None
        self.last_runs[name] = self.ports.clock()
        self.last_errors.pop(name, None)
        self.ports.metrics.inc(JOB_METRIC, job=name, result="ok")
        return result

    def _back_off(self) -> None:
        self._db_backoff = min(max(self._db_backoff * 2, DB_BACKOFF_MIN), DB_BACKOFF_MAX)
        self._db_retry_at = time.monotonic() + self._db_backoff

    async def holds_lease(self) -> bool:
        """Take or renew the singleton lease; True when this instance holds it."""
        return await self.ports.leases.acquire_lease(
            SINGLETON_LEASE, self.ports.instance_id, self.ports.clock(), LEASE_TTL
        )

    async def _singleton(self, name: str, run: Callable[[datetime], Awaitable[int]]) -> int | None:
        async def body() -> int | None:
            if not await self.holds_lease():
                return None
            return await run(self.ports.clock())

        result: int | None = await self._guarded(name, body, none_is_a_run=False)
        return result

    async def poll_tick(self) -> None:
        """Start the due sources (each is fetched and ingested on its own; a slow one holds
        back nobody) and log the ones that finished since the last tick."""

        async def body() -> None:
            if self._poller is None:
                self._poller = await Poller(self.ports.poll()).__aenter__()
            poller = self._poller
            await poller.tick()
            summary = PollSummary(started=self.ports.clock(), results=poller.finished)
            poller.finished = []
            if summary.results:
                self.ports.metrics.inc("uschina_bot_polls_total")
                log.info("poll: %s", summary.line())
                baselined = sum(r.baseline for r in summary.results)
                if baselined:
                    log.info(
                        "first poll of %d source(s): their current items were stored as a "
                        "baseline and not alerted; new items will be posted as they appear "
                        "(see the current picture with: uschina-bot status)",
                        baselined,
                    )
                self.wake_delivery()

        await self._guarded("poll", body)

    async def deliver_tick(self) -> int | None:
        result: int | None = await self._guarded("deliver", self.worker.run_once)
        return result

    async def digest_tick(self) -> int | None:
        queued = await self._singleton(
            "digests", lambda now: run_due_digests(self.ports.digests(), now)
        )
        if queued:
            self.wake_delivery()
        return queued

    async def countdown_tick(self) -> int | None:
        queued = await self._singleton(
            "countdowns", lambda now: run_countdowns(self.ports.countdowns(), now)
        )
        if queued:
            self.wake_delivery()
        return queued

    async def retention_tick(self) -> int | None:
        return await self._singleton(
            "retention", lambda now: run_retention(self.ports.retention(), now)
        )
