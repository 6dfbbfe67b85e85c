"""Buttons: Subscribe here / Mute 24h / Open on alerts, Track this / Dismiss on detected events,
Confirm / Dismiss on changes the news proposes for a countdown, and the App Home's subscribe
and unsubscribe buttons.

Every handler acknowledges first, then acts; values come from our own messages but are
validated anyway. Answers to message buttons are ephemeral (``respond``); Home buttons
republish the Home tab instead.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.actions import CommandContext, execute, find_channel
from bot.chat.slack.blocks import to_slack
from bot.chat.slack.listeners.home import SUBSCRIBE, UNSUBSCRIBE, HomePublisher
from bot.domain.errors import BotError
from bot.domain.models import Message, Paragraph, Text, When
from bot.domain.ports import ChatServices
from bot.domain.render import render_error, render_ok
from bot.domain.schedule import countdown_phrase

log = logging.getLogger(__name__)

MUTE_FOR = timedelta(hours=24)
_ID = re.compile(r"[0-9]{1,9}", re.ASCII)


def _value(body: dict[str, Any]) -> str:
    actions = body.get("actions") or [{}]
    return str(actions[0].get("value") or "")


def _user(body: dict[str, Any]) -> str:
    return str((body.get("user") or {}).get("id") or "")


def _context(body: dict[str, Any]) -> CommandContext:
    channel = body.get("channel") or {}
    return CommandContext(
        platform="slack",
        channel_ref=str(channel.get("id") or ""),
        user_id=_user(body),
        user_name=str((body.get("user") or {}).get("username") or ""),
        channel_name=str(channel.get("name") or "") or None,
    )


async def _answer(respond: AsyncRespond, body: dict[str, Any], message: Message) -> None:
    if body.get("response_url"):
        await respond(**to_slack(message), response_type="ephemeral", replace_original=False)


def _topic(chat: ChatServices, value: str) -> str | None:
    return value if value == "*" or value in chat.taxonomy.topic_ids else None


def register(bolt: AsyncApp, chat: ChatServices, publisher: HomePublisher) -> None:
    @bolt.action("subscribe_topic")
    async def on_subscribe(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        topic = _topic(chat, _value(body))
        if topic is None:
            await _answer(respond, body, render_error("That topic no longer exists."))
            return
        ctx = _context(body)
        message = await execute(chat, f"subscribe {'all' if topic == '*' else topic}", ctx)
        await _answer(respond, body, message)
        await publisher.publish(client, ctx.user_id)

    @bolt.action("mute_topic")
    async def on_mute(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        topic = _topic(chat, _value(body))
        ctx = _context(body)
        channel = await find_channel(chat, ctx)
        if topic is None or channel is None:
            await _answer(respond, body, render_error("Nothing to mute here."))
            return
        until = chat.now() + MUTE_FOR
        if not await chat.channels.mute(channel.id, topic, until):
            await _answer(respond, body, render_error("This channel is not subscribed to that."))
            return
        label = chat.taxonomy.label(topic)
        text = f"{label} muted here for 24 hours"
        await _answer(
            respond,
            body,
            Message(
                fallback=f"{text}.",
                blocks=(Paragraph((Text(f"🔕 {text}, until "), When(until), Text("."))),),
                kind="ok",
            ),
        )

    @bolt.action(re.compile(r"^track_(event|proposal)$"))
    async def on_track(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        value = _value(body)
        if not _ID.fullmatch(value):
            await _answer(respond, body, render_error("That event can no longer be tracked."))
            return
        now = chat.now()
        try:
            countdown = await chat.queries.track_proposal(int(value), now, _user(body) or None)
        except BotError as exc:
            await _answer(respond, body, render_error(str(exc)))
            return
        await _answer(
            respond,
            body,
            render_ok(
                f"Tracking {countdown.name} as countdown #{countdown.id} "
                f"({countdown_phrase(countdown, now)})."
            ),
        )

    @bolt.action("dismiss_proposal")
    async def on_dismiss(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        value = _value(body)
        if _ID.fullmatch(value):
            await chat.countdowns.dismiss_proposal(int(value))
        await _answer(respond, body, render_ok("Dismissed; it will not be tracked."))

    @bolt.action(re.compile(r"^(confirm|dismiss)_change$"))
    async def on_change(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        value = _value(body)
        if not _ID.fullmatch(value):
            await _answer(respond, body, render_error("That change is no longer pending."))
            return
        action = str(((body.get("actions") or [{}])[0]).get("action_id") or "")
        verb = "confirm" if action == "confirm_change" else "dismiss"
        await _answer(
            respond, body, await execute(chat, f"countdown {verb} {value}", _context(body))
        )

    @bolt.action("open_story")
    async def on_open(ack: AsyncAck) -> None:
        await ack()  # a link button: Slack opens the URL, we only acknowledge

    @bolt.action(re.compile(rf"^{SUBSCRIBE}(:[0-9]+)?$"))
    async def on_home_subscribe(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        topic = _topic(chat, _value(body))
        user = _user(body)
        if topic is not None and user:
            ctx = CommandContext(platform="slack", channel_ref=user, user_id=user)
            await execute(chat, f"subscribe me {'all' if topic == '*' else topic}", ctx)
        await publisher.publish(client, user)

    @bolt.action(re.compile(rf"^{UNSUBSCRIBE}(:[0-9]+)?$"))
    async def on_home_unsubscribe(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        channel_id, _, topic = _value(body).partition("|")
        if _ID.fullmatch(channel_id) and _topic(chat, topic) is not None:
            channel = await chat.channels.get(int(channel_id))
            if channel is not None and channel.platform == "slack":
                await chat.channels.unsubscribe(channel.id, [topic])
        await publisher.publish(client, _user(body))
