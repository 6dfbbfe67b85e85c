"""The outbox worker delivering to Teams through the fake Workflows webhook.

Exactly once under 429s and 5xx, split messages resumed rather than repeated, a deleted
webhook (404) pauses its channel once, and the webhook secret never shows anywhere.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta

import pytest
from faketeams import Answer, FakeTeams
from render_samples import NOW
from test_teams_notifier import alert, big_digest, card_text

from bot.app import App, load_taxonomy
from bot.chat.teams.cards import ENVELOPE_LIMIT, to_teams
from bot.chat.teams.notifier import TeamsNotifier
from bot.config import Settings
from bot.domain.classify import Classifier
from bot.domain.codec import message_to_dict
from bot.domain.models import Message
from jobs.deliver import DeliveryWorker
from storage.store import Store


class Clock:
    def __init__(self, start: datetime = NOW) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def fake() -> Iterator[FakeTeams]:
    with FakeTeams() as server:
        yield server


@pytest.fixture
async def app(sqlite_store: Store) -> AsyncIterator[App]:
    settings = Settings(allow_private_networks=True)
    taxonomy = load_taxonomy(settings)
    notifier = TeamsNotifier(allow_private_networks=True, timeout_s=2)
    notifier.min_interval_s = 0  # the worker paces by the frozen clock; no real sleeps here
    app = App(
        settings=settings,
        store=sqlite_store,
        taxonomy=taxonomy,
        classifier=Classifier(taxonomy),
        clock=Clock(),
        notifiers={"teams": notifier},
    )
    yield app
    await notifier.aclose()


async def teams_channel(app: App, url: str, name: str = "china-desk") -> int:
    ch = await app.store.channels.ensure(
        name=name, platform="teams", target=url, now=app.now(), external_id=f"19:{name}@thread"
    )
    return ch.id


async def enqueue(app: App, channel_id: int, messages: list[Message], kind: str = "alert") -> None:
    for n, message in enumerate(messages):
        await app.store.deliveries.enqueue(
            channel_id=channel_id,
            kind=kind,
            dedupe_key=f"{kind}:{channel_id}:{n}",
            payload=message_to_dict(message),
            now=app.now(),
            story_key=f"s{n}",
        )


async def _waiting_unpaused(app: App) -> int:
    """Deliveries still to send outside paused channels (a paused queue waits for resume)."""
    waiting = 0
    for channel in await app.store.channels.all():
        if channel.paused_reason:
            continue
        for d in await app.store.deliveries.for_channel(channel.id):
            waiting += d.status in ("pending", "sending")
    return waiting


async def drain(app: App, rounds: int = 100) -> None:
    """Worker passes with the frozen clock moving on, until nothing is pending."""
    worker = DeliveryWorker(app.delivery_ports())
    clock = app.clock
    assert isinstance(clock, Clock)
    for _ in range(rounds):
        await worker.run_once()
        if not await _waiting_unpaused(app):
            return
        clock.advance(2.5)
    raise AssertionError(f"outbox did not drain: {await app.store.deliveries.counts()}")


async def test_every_alert_arrives_exactly_once_despite_429s(app: App, fake: FakeTeams) -> None:
    cid = await teams_channel(app, fake.webhook("desk"))
    fake.plan(
        "desk",
        202,
        Answer(429, retry_after="2"),
        202,
        Answer(429, retry_after="2"),
        Answer(429, retry_after="2"),
        503,
        202,
        Answer(429),
    )
    await enqueue(app, cid, [alert(n) for n in range(12)])
    await drain(app)
    texts = [card_text(e) for e in fake.accepted("desk")]
    for n in range(12):
        assert sum(f"Alert number {n}:" in t for t in texts) == 1, n
    assert len(texts) == 12
    sent = await app.store.deliveries.for_channel(cid, status="sent")
    assert len(sent) == 12
    assert {d.remote_id for d in sent} == {f"accepted:{d.id}" for d in sent}
    assert len(fake.posts("desk")) == 12 + 5  # every refused post was retried exactly once


async def test_retry_after_is_honoured(app: App, fake: FakeTeams) -> None:
    cid = await teams_channel(app, fake.webhook("desk"))
    fake.plan("desk", Answer(429, retry_after="30"))
    await enqueue(app, cid, [alert(1)])
    worker = DeliveryWorker(app.delivery_ports())
    clock = app.clock
    assert isinstance(clock, Clock)
    await worker.run_once()
    clock.advance(20)
    await worker.run_once()
    assert len(fake.posts("desk")) == 1  # not yet: Teams asked for 30 s
    clock.advance(11)
    await worker.run_once()
    assert len(fake.accepted("desk")) == 1


async def test_split_digest_arrives_once_with_throttling(app: App, fake: FakeTeams) -> None:
    cid = await teams_channel(app, fake.webhook("desk"))
    message = big_digest(200)
    envelopes = to_teams(message)
    fake.plan("desk", 202, Answer(429, retry_after="1"), 202, 500)
    await enqueue(app, cid, [message], kind="digest")
    await drain(app)
    received = fake.accepted("desk")
    assert received == envelopes
    assert all(len(p.body) < ENVELOPE_LIMIT for p in fake.posts("desk"))


async def test_deleted_webhook_pauses_the_channel_once(
    app: App, fake: FakeTeams, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # The database driver's own DEBUG trace prints SQL parameters; the service runs it at
    # WARNING (bot.logging_setup), so it is held to that here too.
    caplog.set_level(logging.WARNING, logger="aiosqlite")
    fake.set_default("gone", 404)
    gone = await teams_channel(app, fake.webhook("gone"), name="gone-desk")
    alive = await teams_channel(app, fake.webhook("alive"), name="alive-desk")
    await enqueue(app, gone, [alert(n) for n in range(3)])
    await enqueue(app, alive, [alert(n) for n in range(3)], kind="digest")
    await drain(app)

    assert len(fake.posts("gone")) == 1  # the first 404 stopped the queue
    assert len(fake.accepted("alive")) == 3  # another channel is not affected
    channel = await app.store.channels.get(gone)
    assert channel is not None and channel.paused_reason is not None
    assert "answered 404: it was deleted or its URL is wrong" in channel.paused_reason

    await enqueue(app, gone, [alert(n) for n in range(10, 12)], kind="later")
    await drain(app)
    assert len(fake.posts("gone")) == 1  # paused: nothing more was posted
    paused_logs = [r for r in caplog.records if "paused" in r.getMessage()]
    assert len([r for r in paused_logs if r.levelno >= logging.WARNING]) == 1
    pause_counts = [
        value
        for (name, _labels), value in app.metrics.counters.items()
        if name == "uschina_bot_channels_paused_total"
    ]
    assert sum(pause_counts) == 1

    errors = [d.error or "" for d in await app.store.deliveries.for_channel(gone)]
    visible = caplog.text + app.metrics.render() + channel.paused_reason + "".join(errors)
    assert FakeTeams.SECRET not in visible
    assert "sig=" not in visible
