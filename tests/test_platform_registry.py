"""A new chat platform is its module plus one line in the composition root: commands and
delivery work.

The ``pigeon`` platform lives only in this test module (its ``ChatPlatform`` entry and its
notifier, as an adapter package would hold them); the root's one line is
``register_notifier("pigeon", ...)``. The shared command executor creates its channels as the
registry entry says, ``build_notifiers`` builds its notifier, and the outbox worker delivers to it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

import pytest
from slack_support import Clock, alert_payload, make_app

from bot.actions import CommandContext, execute
from bot.app import NOTIFIER_FACTORIES, App, build_notifiers, register_notifier
from bot.domain import platforms
from bot.domain.errors import ConfigError
from bot.domain.models import Channel, Message
from bot.domain.ports import Notifier, SendResult
from jobs.deliver import DeliveryWorker
from storage.store import Store

PIGEON = platforms.register(
    platforms.ChatPlatform(
        "pigeon",
        "Pigeon post",
        finds_channel_by="target",
        channel_prefix="pigeon:",
        join_hint="Feed the pigeon.",
    )
)


class PigeonNotifier(Notifier):
    """Keeps what it was asked to send."""

    platform = "pigeon"
    can_find_sent = False

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, int]] = []

    async def send(
        self, channel: Channel, message: Message, *, thread_ref: str | None, delivery_id: int
    ) -> SendResult:
        self.sent.append((channel.target, message.fallback, delivery_id))
        return SendResult(remote_id=f"p{delivery_id}")

    async def find_sent(self, channel: Channel, delivery_id: int, *, since: datetime) -> str | None:
        return None


@pytest.fixture
async def app(sqlite_store: Store) -> AsyncIterator[App]:
    register_notifier("pigeon", lambda settings, output: PigeonNotifier())  # the root's line
    try:
        app = make_app(sqlite_store, None, Clock())
        app.notifiers = build_notifiers(app.settings, app.output)
        yield app
    finally:
        NOTIFIER_FACTORIES.pop("pigeon")


async def test_the_root_builds_the_new_platforms_notifier(app: App) -> None:
    assert isinstance(app.notifiers["pigeon"], PigeonNotifier)
    assert "console" in app.notifiers and "slack" not in app.notifiers  # no Slack token set


def test_a_notifier_for_an_unregistered_platform_is_a_wiring_error(app: App) -> None:
    register_notifier("owl", lambda settings, output: PigeonNotifier())
    try:
        with pytest.raises(ConfigError, match="unknown chat platform 'owl'"):
            build_notifiers(app.settings, app.output)
    finally:
        NOTIFIER_FACTORIES.pop("owl")


def test_registry_knows_the_new_platform() -> None:
    assert platforms.get("pigeon") is PIGEON
    assert "pigeon" in platforms.names()
    with pytest.raises(ConfigError, match="unknown chat platform 'owl'"):
        platforms.get("owl")


async def test_commands_and_deliveries_reach_the_new_platform(app: App) -> None:
    ctx = CommandContext(platform="pigeon", channel_ref="roost-7", user_id="u1")
    reply = await execute(app.chat, "subscribe trade", ctx)
    assert reply.kind == "ok", reply.fallback
    assert "Subscribed this channel" in reply.fallback and "Feed the pigeon." in reply.fallback
    (channel,) = await app.store.channels.all()
    assert (channel.name, channel.platform, channel.target) == (
        "pigeon:roost-7",
        "pigeon",
        "roost-7",
    )
    me = await execute(app.chat, "subscribe me trade", ctx)
    assert me.kind == "error" and "only available in Slack" in me.fallback

    await app.store.deliveries.enqueue(
        channel_id=channel.id,
        kind="alert",
        dedupe_key="alert:pigeon:1",
        payload=alert_payload("Tariff truce agreed"),
        now=app.now(),
        story_key="s1",
        thread_key="s1",
    )
    await DeliveryWorker(app.delivery_ports()).run_once()
    notifier = app.notifiers["pigeon"]
    assert isinstance(notifier, PigeonNotifier)
    assert [(target, "Tariff truce agreed" in text) for target, text, _ in notifier.sent] == [
        ("roost-7", True)
    ]
    assert [d.status for d in await app.store.deliveries.for_channel(channel.id)] == ["sent"]
