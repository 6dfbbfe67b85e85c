"""The outbox worker against the fake Slack: exactly-once under 429s, fallbacks, pauses, threads."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import pytest
from fakeslack import FakeSlack
from slack_support import Clock, alert_payload, make_app

from bot.app import App
from jobs.deliver import DeliveryPolicy, DeliveryWorker
from storage.store import Store


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


@pytest.fixture
async def app(store: Store, fake: FakeSlack) -> AsyncIterator[App]:
    """Each test runs on SQLite and on PostgreSQL (when reachable)."""
    app = make_app(store, fake, Clock())
    yield app
    await app.notifiers["slack"].aclose()  # type: ignore[attr-defined]


async def channel(app: App, target: str = "C100", name: str | None = None) -> int:
    ch = await app.store.channels.ensure(
        name=name or f"slack:{target}", platform="slack", target=target, now=app.now()
    )
    return ch.id


async def enqueue(app: App, channel_id: int, n: int, *, title: str = "Story") -> list[str]:
    keys = []
    for i in range(n):
        key = f"alert:{channel_id}:s{i}"
        await app.store.deliveries.enqueue(
            channel_id=channel_id,
            kind="alert",
            dedupe_key=key,
            payload=alert_payload(f"{title} {i}"),
            now=app.now(),
            story_key=f"s{i}",
            thread_key=f"s{i}",
        )
        keys.append(key)
    return keys


async def drain(app: App, worker: DeliveryWorker, clock: Clock, rounds: int = 200) -> None:
    """Run passes, moving the frozen clock forward, until nothing is pending."""
    for _ in range(rounds):
        await worker.run_once()
        counts = await app.store.deliveries.counts()
        if not counts.get("pending") and not counts.get("sending"):
            return
        clock.advance(1.1)
    raise AssertionError(f"outbox did not drain: {await app.store.deliveries.counts()}")


async def test_every_alert_arrives_exactly_once_despite_429s(app: App, fake: FakeSlack) -> None:
    fake.rate_limit_every = 3
    fake.retry_after = 1
    cid = await channel(app)
    await enqueue(app, cid, 30)
    worker = DeliveryWorker(app.delivery_ports())
    await drain(app, worker, app.clock)  # type: ignore[arg-type]
    counts = fake.delivery_counts()
    assert len(counts) == 30
    assert set(counts.values()) == {1}
    sent = await app.store.deliveries.for_channel(cid, status="sent")
    assert len(sent) == 30
    assert {d.id for d in sent} == set(counts)
    retries = app.metrics.counters[
        ("uschina_bot_deliveries_total", (("platform", "slack"), ("result", "retry")))
    ]
    assert retries >= 10


async def test_retry_after_is_honoured_exactly(app: App, fake: FakeSlack) -> None:
    fake.rate_limit_every = 1
    fake.retry_after = 7
    cid = await channel(app)
    await enqueue(app, cid, 1)
    worker = DeliveryWorker(app.delivery_ports())
    await worker.run_once()
    [d] = await app.store.deliveries.for_channel(cid)
    assert d.status == "pending"
    assert d.error == "ratelimited"
    clock: Clock = app.clock  # type: ignore[assignment]
    clock.advance(6.5)
    assert await worker.run_once() == 0  # not due yet
    assert len(fake.calls_to("chat.postMessage")) == 1
    fake.rate_limit_every = None
    clock.advance(1.0)
    assert await worker.run_once() == 1


async def test_backoff_grows_and_gives_up_after_max_age(app: App, fake: FakeSlack) -> None:
    fake.channel_errors["C100"] = "internal_error"
    worker = DeliveryWorker(
        app.delivery_ports(), policy=DeliveryPolicy(max_age=timedelta(minutes=2))
    )
    assert worker.backoff_s(0, None) < worker.backoff_s(6, None)
    assert worker.backoff_s(50, None) <= worker.policy.max_backoff_s * 1.5
    cid = await channel(app)
    await enqueue(app, cid, 1)
    clock: Clock = app.clock  # type: ignore[assignment]
    for _ in range(40):
        await worker.run_once()
        clock.advance(30)
    [d] = await app.store.deliveries.for_channel(cid)
    assert d.status == "failed"
    assert d.error is not None and d.error.startswith("gave up")
    assert fake.posts == []


async def test_invalid_blocks_falls_back_to_text_without_blocking(
    app: App, fake: FakeSlack
) -> None:
    fake.reject_blocks = True
    cid = await channel(app)
    await enqueue(app, cid, 3)
    await drain(app, DeliveryWorker(app.delivery_ports()), app.clock)  # type: ignore[arg-type]
    posts = fake.posts_for("C100")
    assert len(posts) == 3
    assert all(p.blocks is None for p in posts)
    assert all("<https://news.example/a|Story" in p.text for p in posts)
    assert len(fake.delivery_counts()) == 3


async def test_channel_not_found_pauses_channel_once(app: App, fake: FakeSlack) -> None:
    fake.channel_errors["C404"] = "channel_not_found"
    bad = await channel(app, "C404")
    good = await channel(app, "C200")
    await enqueue(app, bad, 5)
    await enqueue(app, good, 2, title="Fine")
    worker = DeliveryWorker(app.delivery_ports())
    for _ in range(5):
        await worker.run_once()
        app.clock.advance(1.1)  # type: ignore[attr-defined]
    attempts = [c for c in fake.calls_to("chat.postMessage") if c["channel"] == "C404"]
    assert len(attempts) == 1  # no endless retries
    ch = await app.store.channels.get(bad)
    assert ch is not None and ch.paused_reason == "channel_not_found"
    statuses = {d.status for d in await app.store.deliveries.for_channel(bad)}
    assert statuses == {"pending"}  # kept for the resume, never claimed while paused
    assert len(fake.posts_for("C200")) == 2
    pauses = [k for k in app.metrics.counters if k[0] == "uschina_bot_channels_paused_total"]
    assert len(pauses) == 1 and app.metrics.counters[pauses[0]] == 1
    # Later deliveries for the paused channel wait too, never posted while paused.
    await enqueue(app, bad, 1, title="Later")
    await worker.run_once()
    assert len([c for c in fake.calls_to("chat.postMessage") if c["channel"] == "C404"]) == 1


async def test_followups_wait_for_parent_and_land_in_its_thread(app: App, fake: FakeSlack) -> None:
    cid = await channel(app)
    # The follow-up is due first, but its parent alert is still pending.
    await app.store.deliveries.enqueue(
        channel_id=cid,
        kind="alert",
        dedupe_key="alert:1",
        payload=alert_payload("First report"),
        now=app.now(),
        story_key="story-1",
        thread_key="story-1",
    )
    await app.store.deliveries.enqueue(
        channel_id=cid,
        kind="followup",
        dedupe_key="follow:1",
        payload=alert_payload("Second outlet", outlet="Other", followup=True),
        now=app.now(),
        story_key="story-1",
        thread_key="story-1",
    )
    fake.rate_limit_every = 1  # the parent is rate limited at first
    worker = DeliveryWorker(app.delivery_ports())
    await worker.run_once()
    assert fake.posts == []
    fake.rate_limit_every = None
    await drain(app, worker, app.clock)  # type: ignore[arg-type]
    parent, reply = fake.posts_for("C100")
    assert parent.thread_ts is None
    assert reply.thread_ts == parent.ts
    assert "Also reported by" in reply.text


async def test_hostile_titles_are_escaped_in_what_slack_receives(app: App, fake: FakeSlack) -> None:
    cid = await channel(app)
    hostile = "<!channel> ping <@U123> see <https://evil.example|safe> & more"
    await app.store.deliveries.enqueue(
        channel_id=cid,
        kind="alert",
        dedupe_key="alert:h",
        payload=alert_payload(hostile),
        now=app.now(),
        story_key="h",
        thread_key="h",
    )
    await drain(app, DeliveryWorker(app.delivery_ports()), app.clock)  # type: ignore[arg-type]
    [post] = fake.posts
    everything = post.everything()
    for raw in ("<!channel>", "<@U123>", "<https://evil.example|safe>"):
        assert raw not in everything
    assert "&lt;!channel&gt;" in everything
    assert post.raw["unfurl_links"] is False


async def test_crashed_send_is_reconciled_not_reposted(app: App, fake: FakeSlack) -> None:
    cid = await channel(app)
    await enqueue(app, cid, 2)
    notifier = app.notifiers["slack"]
    ch = await app.store.channels.get(cid)
    assert ch is not None
    # Simulate a worker that claimed both, posted the first and died before recording it.
    claimed = await app.store.deliveries.claim(
        worker="dead", now=app.now(), lease=timedelta(seconds=30)
    )
    from bot.domain.codec import message_from_dict

    await notifier.send(
        ch, message_from_dict(claimed[0].payload), thread_ref=None, delivery_id=claimed[0].id
    )
    clock: Clock = app.clock  # type: ignore[assignment]
    clock.advance(31)
    await drain(app, DeliveryWorker(app.delivery_ports()), clock)
    assert fake.delivery_counts() == {claimed[0].id: 1, claimed[1].id: 1}
    key = ("uschina_bot_deliveries_total", (("platform", "slack"), ("result", "reconciled")))
    assert app.metrics.counters[key] == 1


async def test_pacing_defers_instead_of_sleeping(sqlite_store: Store, fake: FakeSlack) -> None:
    clock = Clock()
    app = make_app(sqlite_store, fake, clock, min_interval_s=1.0)
    cid = await channel(app)
    await enqueue(app, cid, 3)
    worker = DeliveryWorker(app.delivery_ports())
    assert await worker.run_once() == 1  # one per channel per second, the rest deferred
    assert len(fake.posts) == 1
    pending = await app.store.deliveries.for_channel(cid, status="pending")
    assert len(pending) == 2
    clock.advance(1.0)
    assert await worker.run_once() == 1
    await app.notifiers["slack"].aclose()  # type: ignore[attr-defined]


async def test_dm_channel_posts_to_the_opened_conversation(app: App, fake: FakeSlack) -> None:
    ch = await app.store.channels.ensure(
        name="slack-dm:U777", platform="slack", target="U777", is_dm=True, now=app.now()
    )
    await enqueue(app, ch.id, 1)
    await drain(app, DeliveryWorker(app.delivery_ports()), app.clock)  # type: ignore[arg-type]
    assert len(fake.posts_for("D777")) == 1


async def test_run_forever_delivers_when_woken_and_stops(
    sqlite_store: Store, fake: FakeSlack
) -> None:
    app = make_app(sqlite_store, fake, Clock(real=True))
    worker = DeliveryWorker(app.delivery_ports(), policy=DeliveryPolicy(idle_poll_s=30))
    stop, wake = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(worker.run_forever(stop, wake))
    await asyncio.sleep(0.2)  # idle: waiting on wake (30 s idle poll)
    cid = await channel(app)
    await enqueue(app, cid, 2)
    wake.set()
    await fake.wait_for(lambda: len(fake.posts) == 2, 5)
    stop.set()
    await asyncio.wait_for(task, 5)
    await app.notifiers["slack"].aclose()  # type: ignore[attr-defined]
