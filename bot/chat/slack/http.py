"""``POST /slack/events`` (HTTP mode) and Socket Mode start-up.

Every request is checked before Bolt sees it, in this order:
- header shape: exactly one ``X-Slack-Request-Timestamp`` of 1-12 ASCII digits within 300 s
  of ``chat.now()`` and exactly one ``X-Slack-Signature`` of ``v0=`` + 64 lower-case hex
  digits, else 401 (a malformed header can never reach the verifier and turn into a 500);
- size: the body is read in chunks and refused with 413 past ``MAX_BODY`` bytes;
- the HMAC-SHA256 of ``v0:{timestamp}:{body}`` matches, compared in constant time, else 401;
- shape: UTF-8 form or JSON of a slash command, an interactivity ``payload`` or an event
  envelope with the fields the listeners read, else 400 with one WARNING line;
- workspace: the request's ``team_id`` must be the bot's own (``auth.test``), else 403;
- replay: a correctly signed request seen before gets 200 and no action. The first guard is
  in memory; requests that use the database are also recorded in the store (so another
  instance refuses them too). Help, topics and usage errors never touch the database.
A database that is down, locked (SQLite waits at most ``DB_WAIT_S``) or full is answered in
the acknowledgement ("try again"), never with a 500. Request bodies are never logged.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from slack_bolt.adapter.starlette.async_handler import to_async_bolt_request, to_starlette_response
from slack_bolt.async_app import AsyncApp
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.actions import needs_database
from bot.chat.http_body import MAX_CHAT_BODY, RecentKeys, read_capped, single_header
from bot.chat.slack.app import build_bolt_app
from bot.config import Settings
from bot.domain.errors import ConfigError, DatabaseUnavailableError
from bot.domain.ports import ChatServices

if TYPE_CHECKING:
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

log = logging.getLogger(__name__)

MAX_SKEW_S = 300
MAX_BODY = MAX_CHAT_BODY
DB_WAIT_S = 2.0
TEAM_LOOKUP_TIMEOUT_S = 3.0
MAX_FORM_FIELDS = 100
_TIMESTAMP = re.compile(r"[0-9]{1,12}", re.ASCII)
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}", re.ASCII)
NOT_INSTALLED = "This app is not installed for your workspace."


def signature_of(secret: str, timestamp: str, body: bytes) -> str:
    base = b"v0:" + timestamp.encode("ascii") + b":" + body
    return "v0=" + hmac.new(secret.encode("utf-8"), base, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Inbound:
    """What a verified request is: ``kind`` command, payload, event or check; its workspace;
    the command text of a slash command."""

    kind: str
    team_id: str | None = None
    text: str = ""


class BadRequest(ValueError):
    """The signed body is not a request the app understands (answered 400)."""


def _form(text: str) -> dict[str, str]:
    try:
        fields = parse_qs(text, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except ValueError as exc:
        raise BadRequest("too many form fields") from exc
    if any(len(values) != 1 for values in fields.values()):
        raise BadRequest("a form field is repeated")
    return {key: values[0] for key, values in fields.items()}


def _text(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) and value else None


def _payload(raw: str) -> Inbound:
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise BadRequest("payload is not JSON") from exc
    if not isinstance(data, dict) or _text(data, "type") is None:
        raise BadRequest("payload is not an object with a type")
    team = data.get("team")
    user = data.get("user")
    team_id = (
        (_text(team, "id") if isinstance(team, dict) else None)
        or _text(data, "team_id")
        or (_text(user, "team_id") if isinstance(user, dict) else None)
    )
    if team_id is None:
        raise BadRequest("payload has no team")
    if user is not None and not (isinstance(user, dict) and _text(user, "id")):
        raise BadRequest("payload user has no id")
    actions = data.get("actions")
    if data["type"] == "block_actions" and not (
        isinstance(actions, list)
        and actions
        and all(isinstance(a, dict) and _text(a, "action_id") for a in actions)
    ):
        raise BadRequest("block_actions without actions")
    for key in ("channel", "container", "view", "message"):
        if key in data and not isinstance(data[key], dict):
            raise BadRequest(f"payload {key} is not an object")
    return Inbound("payload", team_id)


def _envelope(raw: str) -> Inbound:
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise BadRequest("body is not JSON") from exc
    if not isinstance(data, dict) or _text(data, "type") is None:
        raise BadRequest("body is not an object with a type")
    if data["type"] == "url_verification":
        return Inbound("check")
    team_id = _text(data, "team_id")
    if team_id is None:
        raise BadRequest("event has no team_id")
    event = data.get("event")
    if data["type"] == "event_callback" and not (isinstance(event, dict) and _text(event, "type")):
        raise BadRequest("event_callback without an event")
    return Inbound("event", team_id)


def inspect(body: bytes, content_type: str) -> Inbound:
    """Classify a signed body; ``BadRequest`` when it has the wrong shape."""
    try:
        raw = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest("body is not UTF-8") from exc
    if content_type.split(";", 1)[0].strip().lower() == "application/json":
        return _envelope(raw)
    form = _form(raw)
    if "payload" in form:
        return _payload(form["payload"])
    if "ssl_check" in form:
        return Inbound("check")
    if "command" not in form:
        raise BadRequest("neither a command, a payload nor an event")
    team_id = form.get("team_id") or None
    if team_id is None or not form.get("user_id"):
        raise BadRequest("command without team_id or user_id")
    return Inbound("command", team_id, form.get("text", ""))


class SlackGate:
    """Shape, freshness, size, signature, workspace and replay checks in front of Bolt."""

    def __init__(self, chat: ChatServices, bolt: AsyncApp, secret: str) -> None:
        self.chat = chat
        self.bolt = bolt
        self.secret = secret
        self.recent = RecentKeys(2 * MAX_SKEW_S)
        self._team_id: str | None = None

    def _count(self, reason: str, *, quiet: bool = False) -> None:
        self.chat.metrics.inc(
            "uschina_bot_requests_rejected_total", platform="slack", reason=reason
        )
        if not quiet:
            log.info("slack request refused: %s", reason)

    def _reject(self, reason: str, status: int = 401) -> Response:
        self._count(reason)
        return JSONResponse({"error": "invalid request"}, status_code=status)

    async def own_team(self) -> str | None:
        """The bot's workspace id from ``auth.test`` (asked once, then remembered)."""
        if self._team_id is None:
            try:
                result = await asyncio.wait_for(self.bolt.client.auth_test(), TEAM_LOOKUP_TIMEOUT_S)
            except Exception as exc:
                log.warning("slack: auth.test failed (%s); requests refused", type(exc).__name__)
                return None
            team = result.get("team_id")
            self._team_id = team if isinstance(team, str) and team else None
        return self._team_id

    async def __call__(self, request: Request) -> Response:
        timestamp = single_header(request, "x-slack-request-timestamp") or ""
        signature = single_header(request, "x-slack-signature") or ""
        if not _TIMESTAMP.fullmatch(timestamp) or not _SIGNATURE.fullmatch(signature):
            return self._reject("malformed_headers")
        now = self.chat.now()
        if abs(now.timestamp() - int(timestamp)) > MAX_SKEW_S:
            return self._reject("stale")
        body = await read_capped(request, MAX_BODY)
        if body is None:
            return self._reject("too_large", 413)
        if not hmac.compare_digest(signature_of(self.secret, timestamp, body), signature):
            return self._reject("bad_signature")
        try:
            inbound = inspect(body, request.headers.get("content-type", ""))
        except BadRequest as exc:
            log.warning("slack request refused: malformed body (%s)", exc)
            return self._reject("bad_body", 400)
        if inbound.team_id is not None:
            own = await self.own_team()
            if own is None:
                return self._reject("team_unknown", 503)
            if inbound.team_id != own:
                return self._reject("other_workspace", 403)
        key = "slack:" + hashlib.sha256((signature + timestamp).encode("ascii")).hexdigest()
        if not self.recent.first_time(key, now.timestamp()):
            self._count("replay")
            return Response(status_code=200)
        return await self._dispatch(request, body, inbound, key)

    async def _dispatch(
        self, request: Request, body: bytes, inbound: Inbound, key: str
    ) -> Response:
        uses_db = inbound.kind != "check" and (
            inbound.kind != "command" or needs_database(self.chat, inbound.text)
        )
        try:
            with self.chat.bounded_wait(DB_WAIT_S):
                if uses_db and not await self.chat.request_keys.first_time(key, self.chat.now()):
                    self._reject("replay")
                    return Response(status_code=200)
                answer = await self.bolt.async_dispatch(to_async_bolt_request(request, body))
        except DatabaseUnavailableError as exc:  # logged once per outage by the database
            self._count(f"database_{exc.kind}", quiet=True)
            if inbound.kind == "event":
                return Response(status_code=503, headers={"Retry-After": "60"})
            return JSONResponse({"response_type": "ephemeral", "text": str(exc)})
        if answer.status >= 500:
            log.warning("slack request could not be handled (status %d)", answer.status)
            return self._reject("unhandled", 400)
        return to_starlette_response(answer)


def slack_routes(
    chat: ChatServices, settings: Settings, bolt_app: AsyncApp | None = None
) -> list[Route]:
    """The ``POST /slack/events`` route (slash command, interactivity and events)."""
    secret = settings.slack_signing_secret
    if secret is None:
        raise ConfigError("SLACK_SIGNING_SECRET is required for Slack HTTP mode")
    if bolt_app is None:
        bolt_app = build_bolt_app(chat, settings)
    gate = SlackGate(chat, bolt_app, secret.get_secret_value())

    async def slack_events(request: Request) -> Response:
        return await gate(request)

    return [Route("/slack/events", slack_events, methods=["POST"])]


async def start_socket_mode(
    chat: ChatServices, settings: Settings, bolt_app: AsyncApp | None = None
) -> AsyncSocketModeHandler:
    """Connect to Slack over Socket Mode (``SLACK_APP_TOKEN``); returns the handler, whose
    ``close_async()`` disconnects.

    A token Slack refuses raises ``ConfigError`` at once (the SDK alone would retry it forever);
    on any failure the handler is closed before the error propagates.
    """
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
    from slack_sdk.errors import SlackApiError

    token = settings.slack_app_token
    if token is None:
        raise ConfigError("SLACK_APP_TOKEN is required for Socket Mode")
    if bolt_app is None:
        bolt_app = build_bolt_app(chat, settings)
    handler = AsyncSocketModeHandler(bolt_app, token.get_secret_value())
    try:
        handler.client.wss_uri = await handler.client.issue_new_wss_url()
        await handler.connect_async()
    except SlackApiError as exc:
        await handler.close_async()
        code = exc.response.get("error") or "unknown_error"
        raise ConfigError(f"Slack refused SLACK_APP_TOKEN for Socket Mode: {code}") from exc
    except BaseException:
        await handler.close_async()
        raise
    return handler
