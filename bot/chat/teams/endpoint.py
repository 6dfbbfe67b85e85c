"""``POST /teams/messages``: the Teams outgoing webhook (a channel @mention reaches us here).

Teams signs each call with ``Authorization: HMAC <base64(HMAC-SHA256(key, raw body))>``
where the key is the base64-decoded security token shown when the outgoing webhook was
created (``TEAMS_OUTGOING_SECRET``). The answer must come within 5 seconds, as a message
activity.

Invariants:
- the endpoint is off (404) when no secret is configured;
- nothing is parsed, stored or run before the MAC over the raw body checks out; a missing or
  malformed header, undecodable base64 or a wrong MAC is answered 401 and changes nothing;
- bodies above ``MAX_BODY`` bytes are refused with 413 without being read in full;
- the scheme has no timestamp, so each activity id is handled once: a replay is answered
  "already handled" and runs nothing (remembered in memory first, then in the store by
  ``guards.first_time("teams:" + id)`` for commands that use the database; help, topics and
  usage errors never touch the database, so they are answered while it is down or locked);
- neither the body nor the ``Authorization`` header is ever logged; a repeated
  ``Authorization`` header is refused like a malformed one;
- a database that is down, locked or full is answered with a message activity saying so
  (SQLite waits at most ``DB_WAIT_S`` for a lock), never with a 500;
- a command slower than ``reply_timeout_s`` is answered "still working" and finishes in the
  background; its answer is then queued in the outbox for the channel's Workflows webhook
  (when the channel is configured), so the delivery worker posts it with the usual retries.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import dataclasses
import hashlib
import hmac
import json
import logging
import re
from typing import Any

from pydantic import SecretStr
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot import actions
from bot.chat.http_body import MAX_CHAT_BODY, RecentKeys, read_capped, single_header
from bot.chat.teams.cards import to_teams_reply
from bot.domain import commands
from bot.domain.codec import message_to_dict
from bot.domain.errors import CommandError, ConfigError, DatabaseUnavailableError
from bot.domain.models import Channel, Context, Message, Text
from bot.domain.ports import ChatServices

log = logging.getLogger(__name__)

PATH = "/teams/messages"
MAX_BODY = MAX_CHAT_BODY
REPLY_TIMEOUT_S = 4.0
REPLAY_MEMORY_S = 24 * 3600.0  # no timestamp in the scheme: remember activity ids a day
DB_WAIT_S = 2.0  # longest wait for a locked SQLite database inside a request
_AUTH = re.compile(r"^HMAC ([A-Za-z0-9+/]{1,200}={0,2})$")
_MAC_BYTES = 32
_ANNOUNCE_LIMIT = 1000  # unconfigured conversations logged once each
_CHANNEL_BOUND = (
    commands.Subscribe,
    commands.Unsubscribe,
    commands.Subscriptions,
    commands.DigestNow,
    commands.DigestDaily,
    commands.DigestWeekly,
    commands.DigestOff,
)

ALREADY_HANDLED = "Already handled: this message was answered before."
STILL_WORKING = "Still working — the answer will be posted to the channel."
TAKING_LONG = "Still working on it; this channel has no webhook for late answers, try again soon."
FAILED = "Sorry, that command failed on our side. Try again in a minute."


# --------------------------------------------------------------------------- pure helpers


def decode_secret(secret: str) -> bytes:
    """The HMAC key: the base64 token Teams showed (``ConfigError`` when it is not base64)."""
    try:
        key = base64.b64decode(secret.strip(), validate=True)
    except (binascii.Error, ValueError):
        # from None: the decoder's complaint is about the secret's characters; keep them out
        raise ConfigError(
            "TEAMS_OUTGOING_SECRET must be the base64 security token Teams showed "
            "when the outgoing webhook was created"
        ) from None
    if not key:
        raise ConfigError("TEAMS_OUTGOING_SECRET is empty")
    return key


def sign(key: bytes, body: bytes) -> str:
    """The ``Authorization`` header value Teams sends for ``body``."""
    mac = hmac.new(key, body, hashlib.sha256).digest()
    return "HMAC " + base64.b64encode(mac).decode("ascii")


def verify(key: bytes, body: bytes, header: str | None) -> str | None:
    """None when ``header`` is the right MAC of ``body``, else the reason it is refused."""
    if not header:
        return "missing_signature"
    match = _AUTH.match(header.strip())
    if match is None:
        return "malformed_signature"
    try:
        given = base64.b64decode(match.group(1), validate=True)
    except (binascii.Error, ValueError):
        return "malformed_signature"
    if len(given) != _MAC_BYTES:
        return "malformed_signature"
    expected = hmac.new(key, body, hashlib.sha256).digest()
    return None if hmac.compare_digest(expected, given) else "bad_signature"


def conversation_id(activity: dict[str, Any]) -> str | None:
    """The channel's conversation id, without the ``;messageid=...`` of a reply thread."""
    conversation = activity.get("conversation")
    raw = conversation.get("id") if isinstance(conversation, dict) else None
    if not isinstance(raw, str) or not raw.strip():
        return None
    return raw.split(";messageid=", 1)[0].strip()


def command_text(activity: dict[str, Any]) -> str:
    """The command typed after the @mention, with mentions, HTML and entities removed."""
    text = activity.get("text")
    return commands.normalize_text(text) if isinstance(text, str) else ""


def not_configured_note(conversation: str) -> str:
    return (
        "This channel is not configured; add teams_channel_id: "
        f"{conversation} to its entry in the config file (next to its teams_webhook_url)."
    )


def _reply(message: Message) -> JSONResponse:
    return JSONResponse(to_teams_reply(message))


def _plain(text: str) -> Message:
    return Message(fallback=text, blocks=(), kind="info")


# --------------------------------------------------------------------------- endpoint


class TeamsEndpoint:
    """The outgoing-webhook handler over the ``ChatServices`` the composition root built;
    ``secret`` is ``TEAMS_OUTGOING_SECRET`` (None: the endpoint is off). Keeps its late
    answers referenced."""

    def __init__(
        self,
        chat: ChatServices,
        secret: SecretStr | None,
        *,
        reply_timeout_s: float = REPLY_TIMEOUT_S,
    ) -> None:
        self.chat = chat
        self.reply_timeout_s = reply_timeout_s
        self.key = decode_secret(secret.get_secret_value()) if secret is not None else None
        self.background: set[asyncio.Task[None]] = set()
        self.recent = RecentKeys(REPLAY_MEMORY_S)
        self._announced: set[str] = set()

    def routes(self) -> list[Route]:
        return [Route(PATH, self.handle, methods=["POST"])]

    async def wait_idle(self) -> None:
        """Wait for late answers still running (shutdown, tests)."""
        while self.background:
            await asyncio.gather(*list(self.background), return_exceptions=True)

    def _reject(self, reason: str) -> None:
        self.chat.metrics.inc(
            "uschina_bot_requests_rejected_total", platform="teams", reason=reason
        )

    async def handle(self, request: Request) -> Response:
        if self.key is None:
            return PlainTextResponse("Not Found", status_code=404)
        body = await read_capped(request, MAX_BODY)
        if body is None:
            self._reject("too_large")
            return PlainTextResponse("request body too large", status_code=413)
        refused = verify(self.key, body, single_header(request, "authorization"))
        if refused is not None:
            self._reject(refused)
            return PlainTextResponse("unauthorized", status_code=401)
        try:
            activity = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            activity = None
        if not isinstance(activity, dict):
            self._reject("bad_json")
            return PlainTextResponse("the body is not a JSON activity", status_code=400)
        activity_id = activity.get("id")
        conversation = conversation_id(activity)
        if not isinstance(activity_id, str) or not activity_id or conversation is None:
            self._reject("bad_activity")
            return PlainTextResponse("the activity has no id or conversation", status_code=400)
        key = f"teams:{activity_id}"
        if not self.recent.first_time(key, self.chat.now().timestamp()):
            self._reject("replay")
            return _reply(_plain(ALREADY_HANDLED))
        uses_db = actions.needs_database(self.chat, command_text(activity))
        try:
            with self.chat.bounded_wait(DB_WAIT_S):
                if uses_db and not await self.chat.request_keys.first_time(key, self.chat.now()):
                    self._reject("replay")
                    return _reply(_plain(ALREADY_HANDLED))
                return _reply(await self._answer(activity, conversation, activity_id))
        except DatabaseUnavailableError as exc:  # logged once per outage by the database
            self._reject(f"database_{exc.kind}")
            return _reply(_plain(str(exc)))

    async def _answer(
        self, activity: dict[str, Any], conversation: str, activity_id: str
    ) -> Message:
        text = command_text(activity)
        channel = await self._channel(conversation, needed=actions.needs_database(self.chat, text))
        parsed = self._parse(text)
        if channel is None:
            self._announce(conversation)
            if isinstance(parsed, _CHANNEL_BOUND) and not getattr(parsed, "me", False):
                return _plain(not_configured_note(conversation))
        raw_sender = activity.get("from")
        sender: dict[str, Any] = raw_sender if isinstance(raw_sender, dict) else {}
        ctx = actions.CommandContext(
            platform="teams",
            channel_ref=conversation,
            user_id=str(sender.get("id") or ""),
            user_name=str(sender.get("name") or ""),
            is_admin=self._is_admin(sender),
            channel_name=channel.name if channel is not None else None,
        )
        self.chat.metrics.inc("uschina_bot_commands_total", platform="teams")
        task = asyncio.create_task(actions.execute(self.chat, text, ctx))
        try:
            message = await asyncio.wait_for(asyncio.shield(task), self.reply_timeout_s)
        except TimeoutError:
            self._finish_late(task, channel, activity_id)
            return _plain(STILL_WORKING if self._can_post(channel) else TAKING_LONG)
        except asyncio.CancelledError:  # Teams hung up: finish the command all the same
            self._finish_late(task, channel, activity_id)
            raise
        except Exception:
            log.exception("a Teams command failed")
            return _plain(FAILED)
        if channel is None and isinstance(parsed, commands.Help):
            note = Context((Text(not_configured_note(conversation)),))
            message = dataclasses.replace(message, blocks=(*message.blocks, note))
        return message

    async def _channel(self, conversation: str, *, needed: bool) -> Channel | None:
        """The configured channel; for commands that need no database an outage only loses
        the "not configured" note."""
        try:
            return await self.chat.channels.by_external_id(conversation)
        except DatabaseUnavailableError:
            if needed:
                raise
            return None

    def _parse(self, text: str) -> commands.Command | None:
        try:
            return actions.parse(self.chat, text)
        except CommandError:
            return None

    def _is_admin(self, sender: dict[str, Any]) -> bool:
        admins = self.chat.admins
        ids = {sender.get("id"), sender.get("aadObjectId")}
        return any(isinstance(i, str) and i in admins for i in ids)

    def _announce(self, conversation: str) -> None:
        if conversation not in self._announced and len(self._announced) < _ANNOUNCE_LIMIT:
            self._announced.add(conversation)
            log.info(
                "Teams conversation %s is not configured: add teams_channel_id: %s "
                "to its channel entry",
                conversation,
                conversation,
            )

    def _can_post(self, channel: Channel | None) -> bool:
        return (
            channel is not None
            and channel.platform == "teams"
            and channel.paused_reason is None
            and "teams" in self.chat.notifiers
        )

    def _finish_late(
        self, task: asyncio.Task[Message], channel: Channel | None, activity_id: str
    ) -> None:
        late = asyncio.create_task(self._post_late(task, channel, activity_id))
        self.background.add(late)
        late.add_done_callback(self.background.discard)

    async def _post_late(
        self, task: asyncio.Task[Message], channel: Channel | None, activity_id: str
    ) -> None:
        """Queue the late answer in the outbox: the delivery worker posts it (with retries)."""
        try:
            message = await task
        except Exception:
            log.exception("a slow Teams command failed")
            return
        if channel is None or not self._can_post(channel):
            return
        await self.chat.outbox.enqueue(
            channel_id=channel.id,
            kind="command",
            dedupe_key=f"teams-reply:{activity_id}",
            payload=message_to_dict(message),
            now=self.chat.now(),
        )


def teams_routes(chat: ChatServices, secret: SecretStr | None) -> list[Route]:
    """The Starlette routes of the Teams outgoing webhook (404 while no secret is set)."""
    return TeamsEndpoint(chat, secret).routes()
