"""Slack failures the worker cannot read as "not posted": reconciled, never posted twice.

Each case goes through the real worker and SlackNotifier against the fake Slack, which posts
the message and then fails the call (reset, late answer, internal/fatal error).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator

import pytest
from fakeslack import FakeSlack, PostMode
from slack_sdk.web.async_client import AsyncWebClient
from slack_support import BOT_TOKEN, Clock, alert_payload, make_app

from bot.app import App
from bot.chat.slack.notifier import SlackNotifier
from jobs.deliver import DeliveryWorker
from storage.store import Store


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


@pytest.fixture
async def app(sqlite_store: Store, fake: FakeSlack) -> AsyncIterator[App]:
    app = make_app(sqlite_store, fake, Clock())
    # A short client timeout so that a "late" answer really times out.
    app.notifiers["slack"] = SlackNotifier(
        BOT_TOKEN, base_url=fake.api_url, min_interval_s=0, timeout=1
    )
    fake.late_by = 2.0
    yield app
    await app.notifiers["slack"].aclose()  # type: ignore[attr-defined]


async def queue(app: App, n: int, target: str = "C100") -> int:
    ch = await app.store.channels.ensure(
        name=f"slack:{target}", platform="slack", target=target, now=app.now()
    )
    for i in range(n):
        await app.store.deliveries.enqueue(
            channel_id=ch.id,
            kind="alert",
            dedupe_key=f"alert:{ch.id}:s{i}",
            payload=alert_payload(f"Story {i}"),
            now=app.now(),
            story_key=f"s{i}",
            thread_key=f"s{i}",
        )
    return ch.id


async def drain(app: App, worker: DeliveryWorker, rounds: int = 60) -> None:
    clock = app.clock
    assert isinstance(clock, Clock)
    for _ in range(rounds):
        await worker.run_once()
        counts = await app.store.deliveries.counts()
        if not counts.get("pending") and not counts.get("sending"):
            return
        clock.advance(700)  # past any backoff
    raise AssertionError(f"outbox did not drain: {await app.store.deliveries.counts()}")


AMBIGUOUS = [
    PostMode.RESET_AFTER,
    PostMode.LATE,
    PostMode.error_after("internal_error"),
    PostMode.error_after("fatal_error"),
]


@pytest.mark.parametrize("mode", AMBIGUOUS)
async def test_a_post_that_landed_before_the_failure_is_not_posted_again(
    app: App, fake: FakeSlack, mode: str
) -> None:
    cid = await queue(app, 3)
    fake.plan_posts(PostMode.OK, mode)
    worker = DeliveryWorker(app.delivery_ports())
    await worker.run_once()
    # The SDK did not retry the post by itself: exactly 3 calls in the first pass.
    assert len(fake.calls_to("chat.postMessage")) == 3
    await drain(app, worker)
    assert fake.delivery_counts() == {d.id: 1 for d in await app.store.deliveries.for_channel(cid)}
    sent = await app.store.deliveries.for_channel(cid, status="sent")
    assert len(sent) == 3
    posted = {p.delivery_id: p.ts for p in fake.posts}
    assert all(d.remote_id == posted[d.id] for d in sent)
    assert len(fake.calls_to("conversations.history")) == 1  # looked once, before any retry
    assert (
        app.metrics.counters[
            ("uschina_bot_deliveries_total", (("platform", "slack"), ("result", "reconciled")))
        ]
        == 1
    )


@pytest.mark.parametrize(
    "mode", [PostMode.RESET_BEFORE, PostMode.error("internal_error"), PostMode.RATELIMITED]
)
async def test_a_failure_before_posting_is_sent_once_after_the_retry(
    app: App, fake: FakeSlack, mode: str
) -> None:
    cid = await queue(app, 2)
    fake.plan_posts(mode)
    await drain(app, DeliveryWorker(app.delivery_ports()))
    assert fake.delivery_counts() == {d.id: 1 for d in await app.store.deliveries.for_channel(cid)}
    assert len(fake.calls_to("chat.postMessage")) == 3


async def test_a_client_with_the_sdks_default_retries_never_reposts(
    sqlite_store: Store, fake: FakeSlack
) -> None:
    """slack_sdk's default handlers retry a post once after a dropped connection."""
    client = AsyncWebClient(token=BOT_TOKEN, base_url=fake.api_url)
    assert client.retry_handlers  # the SDK's defaults are on
    app = make_app(sqlite_store, fake, Clock())
    app.notifiers["slack"] = SlackNotifier(BOT_TOKEN, client=client, min_interval_s=0)
    cid = await queue(app, 1)
    fake.plan_posts(PostMode.RESET_AFTER)
    worker = DeliveryWorker(app.delivery_ports())
    await worker.run_once()
    assert len(fake.calls_to("chat.postMessage")) == 1
    await drain(app, worker)
    assert len(fake.calls_to("chat.postMessage")) == 1
    assert fake.delivery_counts() == {d.id: 1 for d in await app.store.deliveries.for_channel(cid)}
    await app.notifiers["slack"].aclose()  # type: ignore[attr-defined]


async def test_when_history_cannot_be_read_a_possible_duplicate_is_logged(
    app: App, fake: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    """Without the history scope the worker cannot know: it sends again and says so."""
    cid = await queue(app, 1)
    fake.plan_posts(PostMode.RESET_AFTER)
    original = fake._m_conversations_history

    async def no_scope(args: dict[str, object]) -> object:
        return fake._error("missing_scope")

    fake._m_conversations_history = no_scope  # type: ignore[method-assign,assignment]
    with caplog.at_level(logging.WARNING, logger="jobs.deliver"):
        await drain(app, DeliveryWorker(app.delivery_ports()))
    fake._m_conversations_history = original  # type: ignore[method-assign]
    (delivery,) = await app.store.deliveries.for_channel(cid)
    assert fake.delivery_counts() == {delivery.id: 2}
    lines = [r.getMessage() for r in caplog.records if "possible duplicate" in r.getMessage()]
    assert len(lines) == 1 and f"delivery {delivery.id} " in lines[0]


async def test_history_failing_keeps_the_delivery_unsure_until_it_can_look(
    app: App, fake: FakeSlack
) -> None:
    cid = await queue(app, 1)
    fake.plan_posts(PostMode.RESET_AFTER)
    fake.drop_connection["conversations.history"] = 2
    await drain(app, DeliveryWorker(app.delivery_ports()))
    assert len(fake.calls_to("conversations.history")) == 3
    (delivery,) = await app.store.deliveries.for_channel(cid)
    assert delivery.status == "sent" and fake.delivery_counts() == {delivery.id: 1}
