"""``POST /slack/events`` (HTTP mode) and Socket Mode start-up.

Every request is checked before Bolt sees it:
- header shape: ``X-Slack-Request-Timestamp`` is 1-12 ASCII digits within 300 s of
  ``app.now()``, ``X-Slack-Signature`` is ``v0=`` + 64 lower-case hex digits, else 401
  (a malformed header can never reach the verifier and turn into a 500);
- the HMAC-SHA256 of ``v0:{timestamp}:{body}`` matches, compared in constant time, else 401;
- a correctly signed request seen before gets 200 and no action (replay guard in the store).
Request bodies are never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from typing import TYPE_CHECKING

from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.domain.errors import ConfigError

if TYPE_CHECKING:
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    from bot.app import App

log = logging.getLogger(__name__)

MAX_SKEW_S = 300
MAX_BODY = 1024 * 1024
_TIMESTAMP = re.compile(r"[0-9]{1,12}", re.ASCII)
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}", re.ASCII)


def signature_of(secret: str, timestamp: str, body: bytes) -> str:
    base = b"v0:" + timestamp.encode("ascii") + b":" + body
    return "v0=" + hmac.new(secret.encode("utf-8"), base, hashlib.sha256).hexdigest()


class SlackGate:
    """Shape, freshness, signature and replay checks in front of Bolt."""

    def __init__(self, app: App, handler: AsyncSlackRequestHandler, secret: str) -> None:
        self.app = app
        self.handler = handler
        self.secret = secret

    def _reject(self, reason: str, status: int = 401) -> Response:
        self.app.metrics.inc("uschina_bot_requests_rejected_total", platform="slack", reason=reason)
        log.info("slack request refused: %s", reason)
        return JSONResponse({"error": "invalid request"}, status_code=status)

    async def __call__(self, request: Request) -> Response:
        timestamp = request.headers.get("x-slack-request-timestamp", "")
        signature = request.headers.get("x-slack-signature", "")
        if not _TIMESTAMP.fullmatch(timestamp) or not _SIGNATURE.fullmatch(signature):
            return self._reject("malformed_headers")
        now = self.app.now()
        if abs(now.timestamp() - int(timestamp)) > MAX_SKEW_S:
            return self._reject("stale")
        length = request.headers.get("content-length", "0")
        if length.isdigit() and int(length) > MAX_BODY:
            return self._reject("too_large", 413)
        body = await request.body()
        if len(body) > MAX_BODY:
            return self._reject("too_large", 413)
        if not hmac.compare_digest(signature_of(self.secret, timestamp, body), signature):
            return self._reject("bad_signature")
        key = "slack:" + hashlib.sha256((signature + timestamp).encode("ascii")).hexdigest()
        if not await self.app.store.guards.first_time(key, now):
            self._reject("replay")
            return Response(status_code=200)
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            return self._reject("bad_body", 400)
        return await self.handler.handle(request)


def slack_routes(app: App, bolt_app: AsyncApp | None = None) -> list[Route]:
    """The ``POST /slack/events`` route (slash command, interactivity and events)."""
    secret = app.settings.slack_signing_secret
    if secret is None:
        raise ConfigError("SLACK_SIGNING_SECRET is required for Slack HTTP mode")
    if bolt_app is None:
        from bot.chat.slack.app import build_bolt_app

        bolt_app = build_bolt_app(app)
    gate = SlackGate(app, AsyncSlackRequestHandler(bolt_app), secret.get_secret_value())

    async def slack_events(request: Request) -> Response:
        return await gate(request)

    return [Route("/slack/events", slack_events, methods=["POST"])]


async def start_socket_mode(app: App, bolt_app: AsyncApp | None = None) -> AsyncSocketModeHandler:
    """Connect to Slack over Socket Mode (``SLACK_APP_TOKEN``); returns the handler, whose
    ``close_async()`` disconnects.

    A token Slack refuses raises ``ConfigError`` at once (the SDK alone would retry it forever);
    on any failure the handler is closed before the error propagates.
    """
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
    from slack_sdk.errors import SlackApiError

    token = app.settings.slack_app_token
    if token is None:
        raise ConfigError("SLACK_APP_TOKEN is required for Socket Mode")
    if bolt_app is None:
        from bot.chat.slack.app import build_bolt_app

        bolt_app = build_bolt_app(app)
    handler = AsyncSocketModeHandler(bolt_app, token.get_secret_value())
    try:
        handler.client.wss_uri = await handler.client.issue_new_wss_url()
        await handler.connect_async()
    except SlackApiError as exc:
        await handler.close_async()
        code = exc.response.get("error") or "unknown_error"
        raise ConfigError(f"Slack refused SLACK_APP_TOKEN for Socket Mode: {code}") from None
    except BaseException:
        await handler.close_async()
        raise
    return handler
