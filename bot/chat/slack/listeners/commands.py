"""``/uschina``: acknowledged within Slack's 3 seconds.

Fast verbs answer in the acknowledgement itself. Slow verbs (status, search, latest, digest
now, sources add, admin checks) acknowledge at once with "Working…" and answer through
``respond()``; a fast verb that overruns its budget falls back to the same path.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.actions import CommandContext, execute, is_slow, parse
from bot.chat.slack.blocks import to_slack
from bot.chat.slack.listeners.home import HomePublisher
from bot.domain import commands as c
from bot.domain.errors import CommandError
from bot.domain.models import Message
from bot.domain.ports import ChatServices

log = logging.getLogger(__name__)

WORKING = "Working…"
FAST_BUDGET_S = 2.0
ADMIN_CHECK_TIMEOUT_S = 3.0
SUBSCRIPTION_COMMANDS = (c.Subscribe, c.Unsubscribe)


def reply(message: Message) -> dict[str, Any]:
    """An ephemeral slash-command answer (only the person who asked sees it)."""
    return {**to_slack(message), "response_type": "ephemeral"}


async def workspace_admin(client: AsyncWebClient, user_id: str) -> bool:
    """True for workspace admins and owners (``users.info``); False when unsure."""
    try:
        response = await asyncio.wait_for(client.users_info(user=user_id), ADMIN_CHECK_TIMEOUT_S)
    except Exception:
        return False
    user = response.get("user") or {}
    return bool(user.get("is_admin") or user.get("is_owner"))


def context_of(body: dict[str, Any]) -> CommandContext:
    return CommandContext(
        platform="slack",
        channel_ref=str(body.get("channel_id") or ""),
        user_id=str(body.get("user_id") or ""),
        user_name=str(body.get("user_name") or ""),
        channel_name=str(body.get("channel_name") or "") or None,
        workspace=str(body.get("team_id") or ""),
    )


def register(bolt: AsyncApp, chat: ChatServices, publisher: HomePublisher) -> None:
    @bolt.command("/uschina")
    async def on_command(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        text = str(body.get("text") or "")
        ctx = context_of(body)
        chat.metrics.inc("uschina_bot_commands_total", platform="slack")
        try:
            command: c.Command | None = parse(chat, text)
        except CommandError:
            command = None  # execute() renders the error
        admin_only = command is not None and c.is_admin_command(command)
        if command is not None and (is_slow(command) or admin_only):
            await ack(response_type="ephemeral", text=WORKING)
            if admin_only and ctx.user_id not in chat.admins:
                ctx = replace(ctx, is_admin=await workspace_admin(client, ctx.user_id))
            message = await execute(chat, text, ctx)
            await respond(**reply(message), replace_original=True)
        else:
            task = asyncio.ensure_future(execute(chat, text, ctx))
            try:
                message = await asyncio.wait_for(asyncio.shield(task), FAST_BUDGET_S)
            except TimeoutError:
                await ack(response_type="ephemeral", text=WORKING)
                await respond(**reply(await task), replace_original=True)
            else:
                await ack(**reply(message))
        if isinstance(command, SUBSCRIPTION_COMMANDS):
            await publisher.publish(client, ctx.user_id)
