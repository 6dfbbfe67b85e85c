"""No alert is lost or doubled when the database goes away in the middle of a delivery burst.

The real ``DeliveryWorker.run_forever`` posts a burst to the fake Slack; right after one post
reached Slack (before the worker could mark it sent) the database goes away: PostgreSQL behind
a closed TCP proxy, or SQLite held under ``BEGIN EXCLUSIVE`` by another connection. It stays
away for several worker passes, comes back, and the worker drains the outbox: every delivery
arrives exactly once, none is failed, and the outage and its end are each logged once.
A SQLite lock shorter than the busy timeout is simply waited out: no outage is logged.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from fakeslack import FakeSlack, Post
from slack_support import Clock, alert_payload, make_app
from sqlalchemy import make_url
from tcpproxy import TcpProxy

from bot.app import App
from jobs.deliver import DeliveryPolicy, DeliveryWorker
from storage.store import Store

BURST = 24
CUT_AFTER = 7  # posts that reached Slack when the database goes away
POLICY = DeliveryPolicy(lease=timedelta(seconds=2), idle_poll_s=0.05, base_backoff_s=0.1)


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


def cut_after_post(fake: FakeSlack, n: int, cut: Callable[[], None]) -> threading.Event:
    """Run ``cut`` in the fake's thread right after its ``n``-th post was recorded, before the
    worker hears the answer (so that post is on Slack but not yet marked sent)."""
    done = threading.Event()
    record = fake._record

    def recording(args: dict[str, Any]) -> Post:
        post = record(args)
        if len(fake.posts) == n and not done.is_set():
            cut()
            done.set()
        return post

    fake._record = recording  # type: ignore[method-assign]
    return done


async def queue_burst(app: App) -> list[int]:
    ids = []
    for c in range(3):
        ch = await app.store.channels.ensure(
            name=f"slack:C{c}", platform="slack", target=f"C{c}", now=app.now()
        )
        ids.append(ch.id)
    for i in range(BURST):
        await app.store.deliveries.enqueue(
            channel_id=ids[i % 3],
            kind="alert",
            dedupe_key=f"alert:{i}",
            payload=alert_payload(f"Story {i}"),
            now=app.now(),
            story_key=f"s{i}",
            thread_key=f"s{i}",
        )
    return ids


@pytest.fixture
async def running(fake: FakeSlack) -> AsyncIterator[Callable[[Store], Any]]:
    """Starts the worker loop on a store; stops it and closes the notifier at the end."""
    stop = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []
    apps: list[App] = []

    async def start(store: Store) -> App:
        app = make_app(store, fake, Clock(real=True))
        apps.append(app)
        await queue_burst(app)
        tasks.append(
            asyncio.create_task(
                DeliveryWorker(app.delivery_ports(), policy=POLICY).run_forever(stop)
            )
        )
        return app

    yield start
    stop.set()
    await asyncio.gather(*tasks)
    for app in apps:
        await app.notifiers["slack"].aclose()  # type: ignore[attr-defined]


async def wait_until(predicate: Callable[[], bool], seconds: float = 30.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached in time")


async def drained(app: App, seconds: float = 30.0) -> dict[str, int]:
    for _ in range(int(seconds / 0.1)):
        counts = await app.store.deliveries.counts()
        if not counts.get("pending") and not counts.get("sending"):
            return counts
        await asyncio.sleep(0.1)
    raise AssertionError(f"outbox did not drain: {await app.store.deliveries.counts()}")


async def assert_each_arrived_once(app: App, fake: FakeSlack) -> None:
    counts = await drained(app)
    assert counts == {"sent": BURST}, counts
    per_delivery = fake.delivery_counts()
    assert len(per_delivery) == BURST
    assert set(per_delivery.values()) == {1}
    assert len(fake.posts) == BURST


def assert_logged_once(caplog: pytest.LogCaptureFixture, outage: str) -> None:
    assert not [r for r in caplog.records if r.exc_info], "no traceback"
    [warning] = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert warning.levelno == logging.WARNING and outage in warning.getMessage()
    back = [r for r in caplog.records if "available again" in r.getMessage()]
    assert len(back) == 1 and back[0].levelno == logging.INFO


@pytest.mark.postgres
async def test_postgres_outage_mid_burst_loses_and_doubles_nothing(
    pg_proxy: tuple[TcpProxy, str],
    pg_store: Store,
    fake: FakeSlack,
    running: Callable[[Store], Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    proxy = pg_proxy[0]
    caplog.set_level(logging.INFO)
    cut = cut_after_post(fake, CUT_AFTER, proxy.close)
    app = await running(pg_store)
    await wait_until(cut.is_set)
    await asyncio.sleep(0.5)  # several passes of the worker while the database is away
    assert len(fake.posts) == CUT_AFTER  # nothing is posted that could not be recorded
    proxy.open()
    await assert_each_arrived_once(app, fake)
    # The post that landed just before the cut was found on Slack, not posted again.
    reconciled = ("uschina_bot_deliveries_total", (("platform", "slack"), ("result", "reconciled")))
    assert app.metrics.counters[reconciled] == 1
    assert_logged_once(caplog, "unavailable")


async def test_sqlite_lock_mid_burst_is_waited_out_and_doubles_nothing(
    sqlite_url: str,
    sqlite_store: Store,
    fake: FakeSlack,
    running: Callable[[Store], Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    path = make_url(sqlite_url).database
    assert path
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        caplog.set_level(logging.INFO)
        cut = cut_after_post(fake, CUT_AFTER, lambda: holder.execute("BEGIN EXCLUSIVE"))
        app = await running(sqlite_store)
        await wait_until(cut.is_set)
        await asyncio.sleep(0.5)
        assert len(fake.posts) == CUT_AFTER
        holder.execute("COMMIT")
        await assert_each_arrived_once(app, fake)
        # Shorter than the busy timeout: the worker waited for the lock, so no outage at all.
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]
    finally:
        if holder.in_transaction:
            holder.execute("ROLLBACK")
        holder.close()
