"""Notifier capabilities are declared (``bot.domain.ports``) and read with ``isinstance``.

Which notifier reconciles, paces, sends plain text, uploads files or holds connections is
pinned here; the delivery worker relies on exactly these declarations.
"""

from __future__ import annotations

import io
import logging
from datetime import datetime

import pytest
from slack_support import Clock, alert_payload, make_app

from bot.app import App
from bot.chat.console import ConsoleNotifier
from bot.chat.slack.notifier import SlackNotifier
from bot.chat.teams.notifier import TeamsNotifier
from bot.domain.errors import PayloadRejectedError
from bot.domain.models import Channel, Message
from bot.domain.ports import (
    Closable,
    FileUploader,
    Notifier,
    Paced,
    PlainSender,
    SendResult,
    ThreadSentFinder,
)
from jobs.deliver import DeliveryWorker
from storage.store import Store

CAPABILITIES = {
    "Paced": Paced,
    "ThreadSentFinder": ThreadSentFinder,
    "PlainSender": PlainSender,
    "FileUploader": FileUploader,
    "Closable": Closable,
}


def capabilities(notifier: object) -> set[str]:
    return {name for name, proto in CAPABILITIES.items() if isinstance(notifier, proto)}


async def test_each_notifier_declares_what_it_can_do() -> None:
    slack = SlackNotifier("xoxb-test", base_url="http://127.0.0.1:9/api/")
    teams = TeamsNotifier()
    console = ConsoleNotifier(io.StringIO())
    try:
        assert capabilities(slack) == set(CAPABILITIES)
        assert capabilities(teams) == {"Paced", "Closable"}
        assert capabilities(console) == set()
        assert [n.can_find_sent for n in (slack, teams, console)] == [True, False, False]
        assert (slack.min_interval_s, teams.min_interval_s) == (1.0, 0.25)
    finally:
        await slack.aclose()
        await teams.aclose()


class RichRefused(Notifier):
    """Refuses any message with blocks; declares no capability at all."""

    platform = "console"
    can_find_sent = False

    def __init__(self) -> None:
        self.sent: list[Message] = []

    async def send(
        self, channel: Channel, message: Message, *, thread_ref: str | None, delivery_id: int
    ) -> SendResult:
        if message.blocks:
            raise PayloadRejectedError("no blocks here")
        self.sent.append(message)
        return SendResult(remote_id=f"r{delivery_id}")

    async def find_sent(self, channel: Channel, delivery_id: int, *, since: datetime) -> str | None:
        raise AssertionError("can_find_sent is False: never asked")


@pytest.fixture
def app(sqlite_store: Store) -> App:
    app = make_app(sqlite_store, None, Clock())
    app.notifiers["console"] = RichRefused()
    return app


async def test_without_plain_sender_the_fallback_text_is_sent(app: App) -> None:
    channel = await app.store.channels.ensure(
        name="plain", platform="console", target="stdout", now=app.now()
    )
    await app.store.deliveries.enqueue(
        channel_id=channel.id,
        kind="alert",
        dedupe_key="alert:plain:1",
        payload=alert_payload("Export controls widened"),
        now=app.now(),
    )
    assert await DeliveryWorker(app.delivery_ports()).run_once() == 1
    notifier = app.notifiers["console"]
    assert isinstance(notifier, RichRefused)
    [bare] = notifier.sent
    assert bare.blocks == () and "Export controls widened" in bare.fallback
    assert [d.status for d in await app.store.deliveries.for_channel(channel.id)] == ["sent"]


async def test_a_notifier_that_cannot_be_asked_logs_a_possible_duplicate(
    app: App, caplog: pytest.LogCaptureFixture
) -> None:
    channel = await app.store.channels.ensure(
        name="plain", platform="console", target="stdout", now=app.now()
    )
    await app.store.deliveries.enqueue(
        channel_id=channel.id,
        kind="alert",
        dedupe_key="alert:plain:2",
        payload=alert_payload("Chip tariffs paused"),
        now=app.now(),
    )
    [claimed] = await app.store.deliveries.claim(worker="crashed", now=app.now())
    app.clock.advance(3600)  # type: ignore[attr-defined]  # the crashed worker's lease ran out
    with caplog.at_level(logging.WARNING, logger="jobs.deliver"):
        assert await DeliveryWorker(app.delivery_ports()).run_once() == 1
    assert f"delivery {claimed.id} to plain: possible duplicate" in caplog.text
