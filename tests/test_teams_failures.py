"""Teams answers that look like success but are not, and messages too large for one post.

Through the real worker and TeamsNotifier against the fake Workflows webhook.
"""

from __future__ import annotations

import logging

import pytest
import test_teams_delivery as base
from faketeams import Answer, FakeTeams
from test_teams_delivery import Clock, drain, enqueue, teams_channel
from test_teams_notifier import alert, card_text

from bot.app import App
from jobs.deliver import DeliveryWorker

fake = base.fake  # the same fixtures: a fake webhook, an app with the Teams notifier
app = base.app

FAILED_200 = (
    "Webhook message delivery failed with error: Microsoft Teams endpoint returned HTTP "
    "error 429 with ContextId tcid=0,server=msgapi-production"
)


async def test_a_200_reporting_a_failed_delivery_is_not_recorded_as_sent(
    app: App, fake: FakeTeams
) -> None:
    cid = await teams_channel(app, fake.webhook("desk"))
    fake.plan("desk", Answer(200, body=FAILED_200), Answer(200, body="Error: flow failed"))
    await enqueue(app, cid, [alert(1)])
    await drain(app)
    assert len(fake.posts("desk")) == 3  # two failures, then the real post
    texts = [card_text(e) for e in fake.accepted("desk")]
    assert len(texts) == 1 and "Alert number 1:" in texts[0]
    (delivery,) = await app.store.deliveries.for_channel(cid)
    assert delivery.status == "sent" and delivery.attempts == 3


@pytest.mark.parametrize(
    "refusal",
    [
        Answer(400, body='{"error":{"code":"RequestEntityTooLarge","message":"entity too large"}}'),
        Answer(413),
        Answer(200, body="Webhook message delivery failed: 413 entity too large"),
    ],
)
async def test_a_too_large_message_is_split_and_sent_not_paused(
    app: App, fake: FakeTeams, refusal: Answer
) -> None:
    cid = await teams_channel(app, fake.webhook("desk"))
    fake.plan("desk", refusal)
    await enqueue(app, cid, [alert(7)])
    await drain(app)
    channel = await app.store.channels.get(cid)
    assert channel is not None and channel.paused_reason is None
    parts = fake.accepted("desk")
    assert len(parts) == 2  # the refused card, halved
    assert "Alert number 7:" in card_text(parts[0]) + card_text(parts[1])
    (delivery,) = await app.store.deliveries.for_channel(cid)
    assert delivery.status == "sent"


async def test_an_accepted_post_whose_answer_is_lost_is_resent_and_logged(
    app: App, fake: FakeTeams, caplog: pytest.LogCaptureFixture
) -> None:
    """Teams cannot be asked: at least once, and the possible duplicate is logged."""
    cid = await teams_channel(app, fake.webhook("desk"))
    fake.plan("desk", Answer(202, action="reset"))
    await enqueue(app, cid, [alert(3)])
    with caplog.at_level(logging.WARNING, logger="jobs.deliver"):
        await drain(app)
    assert len(fake.accepted("desk")) == 2
    (delivery,) = await app.store.deliveries.for_channel(cid)
    lines = [r.getMessage() for r in caplog.records if "possible duplicate" in r.getMessage()]
    assert len(lines) == 1 and f"delivery {delivery.id} " in lines[0]


async def test_a_429_waits_for_retry_after(app: App, fake: FakeTeams) -> None:
    cid = await teams_channel(app, fake.webhook("desk"))
    fake.plan("desk", Answer(429, retry_after="30"))
    await enqueue(app, cid, [alert(4)])
    worker = DeliveryWorker(app.delivery_ports())
    await worker.run_once()
    clock = app.clock
    assert isinstance(clock, Clock)
    clock.advance(29)
    await worker.run_once()
    assert len(fake.posts("desk")) == 1  # not before Retry-After
    clock.advance(2)
    await worker.run_once()
    assert len(fake.accepted("desk")) == 1
