"""The App Home tab: a person's DM subscriptions, the channels' subscriptions with buttons to
change them, the status of each issue and upcoming countdowns. Republished whenever that
person's subscriptions change."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.chat.slack.blocks import to_slack
from bot.domain.errors import DatabaseUnavailableError
from bot.domain.models import (
    Actions,
    Block,
    Button,
    Channel,
    Context,
    Divider,
    Header,
    Message,
    Paragraph,
    Span,
    Strong,
    Subscription,
    Text,
)
from bot.domain.ports import ChatServices

log = logging.getLogger(__name__)

HOME_BLOCK_LIMIT = 100
BUTTONS_PER_ROW = 25
UNSUBSCRIBE = "home_unsubscribe"
SUBSCRIBE = "home_subscribe"


def _label(chat: ChatServices, topic: str) -> str:
    return "All topics" if topic == "*" else chat.taxonomy.label(topic)


def _subs_line(chat: ChatServices, subs: list[Subscription]) -> list[Span]:
    if not subs:
        return [Text("nothing yet")]
    parts: list[Span] = []
    for index, sub in enumerate(subs):
        if index:
            parts.append(Text(", "))
        parts += [Strong(_label(chat, sub.topic)), Text(f" ({sub.mode})")]
    return parts


def _buttons(action: str, items: list[tuple[str, str]]) -> list[Block]:
    """Rows of buttons; action ids are numbered because Slack wants them unique per block."""
    rows: list[Block] = []
    for start in range(0, len(items), BUTTONS_PER_ROW):
        chunk = items[start : start + BUTTONS_PER_ROW]
        rows.append(
            Actions(
                tuple(
                    Button(label, f"{action}:{start + i}", value=value)
                    for i, (label, value) in enumerate(chunk)
                )
            )
        )
    return rows


async def home_message(chat: ChatServices, user_id: str) -> Message:
    """The personal part of the Home tab as a neutral message."""
    channels = [c for c in await chat.channels.all() if c.platform == "slack"]
    mine = next((c for c in channels if c.is_dm and c.target == user_id), None)
    others = [c for c in channels if not c.is_dm]
    subs = await chat.channels.subscriptions([c.id for c in [*others, *([mine] if mine else [])]])
    by_channel: dict[int, list[Subscription]] = {}
    for sub in subs:
        by_channel.setdefault(sub.channel_id, []).append(sub)
    blocks: list[Block] = [Header("uschina-bot"), Paragraph((Strong("Your direct messages"),))]
    my_subs = by_channel.get(mine.id, []) if mine else []
    blocks.append(Paragraph(tuple(_subs_line(chat, my_subs))))
    if mine and mine.paused_reason:
        blocks.append(Context((Text(f"Paused: {mine.paused_reason}"),)))
    followed = {s.topic for s in my_subs}
    blocks += _buttons(
        UNSUBSCRIBE,
        [(f"Stop {_label(chat, s.topic)}", f"{s.channel_id}|{s.topic}") for s in my_subs],
    )
    blocks += _buttons(
        SUBSCRIBE,
        [
            (f"+ {chat.taxonomy.label(t)}", t)
            for t in chat.taxonomy.topic_ids
            if t not in followed and "*" not in followed
        ],
    )
    blocks += _channel_blocks(chat, others, by_channel)
    return Message(fallback="uschina-bot home", blocks=tuple(blocks), kind="home")


def _channel_blocks(
    chat: ChatServices, channels: list[Channel], by_channel: dict[int, list[Subscription]]
) -> list[Block]:
    blocks: list[Block] = [Divider(), Paragraph((Strong("Channels"),))]
    shown = [c for c in channels if by_channel.get(c.id)]
    if not shown:
        blocks.append(Paragraph((Text("No channel subscriptions yet. Use /uschina subscribe."),)))
    for channel in shown:
        subs = by_channel[channel.id]
        line: list[Span] = [Strong(channel.name), Text(": "), *_subs_line(chat, subs)]
        if channel.paused_reason:
            line.append(Text(f" — paused: {channel.paused_reason}"))
        blocks.append(Paragraph(tuple(line)))
        blocks += _buttons(
            UNSUBSCRIBE,
            [(f"Stop {_label(chat, s.topic)}", f"{s.channel_id}|{s.topic}") for s in subs],
        )
    return blocks


async def build_home_view(chat: ChatServices, user_id: str) -> dict[str, Any]:
    """The ``views.publish`` view: personal part, status board, countdowns (<= 100 blocks)."""
    now = chat.now()
    parts = [await home_message(chat, user_id)]
    sections = (
        lambda: chat.queries.status(None, now),
        lambda: chat.queries.countdown_list(now),
    )
    for section in sections:
        try:
            parts.append(await section())
        except DatabaseUnavailableError:
            raise  # publish() gives up quietly; the database logs the outage once
        except Exception:  # a broken board must not hide the subscriptions
            log.exception("App Home: a section failed")
    blocks: list[dict[str, Any]] = []
    for index, part in enumerate(parts):
        if index:
            blocks.append({"type": "divider"})
        blocks += to_slack(part)["blocks"]
    if len(blocks) > HOME_BLOCK_LIMIT:
        blocks = blocks[: HOME_BLOCK_LIMIT - 1]
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": "…and more"}]})
    return {"type": "home", "blocks": blocks}


class HomePublisher:
    """Publishes a person's Home tab; failures are logged, never raised to a listener."""

    def __init__(self, chat: ChatServices) -> None:
        self.chat = chat

    async def publish(self, client: AsyncWebClient, user_id: str) -> bool:
        if not user_id:
            return False
        try:
            view = await build_home_view(self.chat, user_id)
            await client.views_publish(user_id=user_id, view=view)
        except DatabaseUnavailableError:
            return False  # the database logs its outage once; the tab is republished later
        except Exception as exc:
            log.warning("App Home for %s not published: %s", user_id, type(exc).__name__)
            return False
        return True


def register(bolt: AsyncApp, chat: ChatServices, publisher: HomePublisher) -> None:
    @bolt.event("app_home_opened")
    async def on_home_opened(event: dict[str, Any], client: AsyncWebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        await publisher.publish(client, str(event.get("user") or ""))
