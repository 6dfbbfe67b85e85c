"""The scheduler: job options, cron day-of-week mapping, and singleton jobs under a lease."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from insights_samples import SLOT, Clock, add_channel, make_app, seed

from jobs.scheduler import LEASE_TTL, Scheduler, cron_trigger
from storage.store import Store

WEDNESDAY = datetime(2024, 9, 11, 12, 0, tzinfo=UTC)


def test_cron_sunday_is_sunday_not_monday() -> None:
    trigger = cron_trigger("0 9 * * 0", "UTC")
    fire = trigger.get_next_fire_time(None, WEDNESDAY)
    assert fire is not None and fire.strftime("%A %H:%M") == "Sunday 09:00"
    weekdays = cron_trigger("0 8 * * 1-5", "America/New_York")
    fire = weekdays.get_next_fire_time(None, datetime(2024, 9, 13, 13, 0, tzinfo=UTC))  # Fri
    assert fire is not None
    assert fire.strftime("%A %H:%M") == "Monday 08:00" and fire.utcoffset() == timedelta(hours=-4)


def test_cron_day_of_month_or_day_of_week() -> None:
    trigger = cron_trigger("0 9 1 * mon", "UTC")  # the 1st OR any Monday, like cron
    fires = []
    previous = None
    now = datetime(2024, 9, 26, tzinfo=UTC)  # Thursday
    for _ in range(3):
        fire = trigger.get_next_fire_time(previous, now)
        assert fire is not None
        fires.append(fire.date().isoformat())
        previous, now = fire, fire + timedelta(seconds=1)
    assert fires == ["2024-09-30", "2024-10-01", "2024-10-07"]


async def test_jobs_are_registered_with_explicit_misfire_and_coalesce(sqlite_store: Store) -> None:
    app = make_app(sqlite_store)
    scheduler = Scheduler(app.scheduler_ports(), poll=False)
    scheduler.start(paused=True)
    try:
        jobs = {job.id: job for job in scheduler.scheduler.get_jobs()}
        assert set(jobs) == {"deliver", "digests", "countdowns", "retention"}
        for job in jobs.values():
            assert job.coalesce is True
            assert job.max_instances == 1
            assert job.misfire_grace_time is not None and job.misfire_grace_time >= 10
        assert jobs["digests"].trigger.interval == timedelta(minutes=1)
        assert jobs["countdowns"].trigger.interval == timedelta(hours=1)
        state = scheduler.state()
        assert state["running"] is True and set(state["jobs"]) == set(jobs)
        scheduler.wake_delivery()
    finally:
        await scheduler.shutdown()
    assert not scheduler.running and scheduler.state()["running"] is False


async def test_singleton_jobs_run_only_in_the_lease_holder(sqlite_store: Store) -> None:
    await seed(sqlite_store)
    clock = Clock(SLOT + timedelta(seconds=30))
    app_a = make_app(sqlite_store, clock, instance_id="a")
    first = Scheduler(app_a.scheduler_ports(), poll=False)
    second = Scheduler(make_app(sqlite_store, clock, instance_id="b").scheduler_ports(), poll=False)
    await add_channel(app_a, "china-desk", ["*"])
    assert await first.digest_tick() == 1
    assert await second.digest_tick() is None  # lease held by "a"
    assert await second.countdown_tick() is None
    assert await first.countdown_tick() == 0
    assert first.last_runs["digests"] == clock.now and "digests" not in second.last_runs
    # "a" dies: once its lease expires, "b" takes over.
    clock.now += LEASE_TTL + timedelta(seconds=1)
    assert await second.digest_tick() == 0
    assert await first.digest_tick() is None


async def test_a_failing_job_is_logged_not_raised(sqlite_store: Store) -> None:
    app = make_app(sqlite_store)
    scheduler = Scheduler(app.scheduler_ports(), poll=False)

    async def boom() -> int:
        raise RuntimeError("database on fire")

    assert await scheduler._guarded("digests", boom) is None
    assert scheduler.last_errors["digests"] == "RuntimeError: database on fire"
    assert 'job="digests"' in app.metrics.render()
