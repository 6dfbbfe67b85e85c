"""Slack notifier: posts neutral messages with ``chat.postMessage`` and maps Slack's errors.

Invariants:
- a post is never retried blindly: the SDK's connection-error retry is off for
  ``chat.postMessage`` and file uploads (a dropped connection may still have posted), and 429
  is not retried here; the outbox worker decides, after reconciling;
- every post carries ``metadata.event_payload.delivery_id`` so that ``find_sent`` can tell,
  after a crash, whether a delivery was already posted;
- errors leave as ``TransientDeliveryError`` (retry later, ``retry_after`` from the 429
  header), ``PermanentDeliveryError`` (pause the channel, reason = Slack's error code) or
  ``PayloadRejectedError`` (resend as plain text).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import AsyncConnectionErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient

from bot.chat.slack.blocks import to_slack, to_slack_text
from bot.domain.errors import (
    AmbiguousDeliveryError,
    DeliveryError,
    MissingScopeError,
    PayloadRejectedError,
    PermanentDeliveryError,
    TransientDeliveryError,
)
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

log = logging.getLogger(__name__)

EVENT_TYPE = "uschina_delivery"
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "token_expired",
        "account_inactive",
        "missing_scope",
        "no_permission",
        "restricted_action",
        "user_not_found",
        "cannot_dm_bot",
        "team_access_not_granted",
        "ekm_access_denied",
    }
)
# Errors that make the whole workspace unusable (the token), not one channel.
WORKSPACE_ERRORS = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "token_expired",
        "account_inactive",
        "team_access_not_granted",
        "ekm_access_denied",
    }
)
PAYLOAD_ERRORS = frozenset(
    {"invalid_blocks", "invalid_blocks_format", "msg_too_long", "too_many_attachments"}
)
# Calls that create something: a retry after a dropped connection could duplicate it.
NON_IDEMPOTENT_METHODS = ("chat.postMessage", "files.completeUploadExternal", "/upload/")
HISTORY_PAGES = 5


class _RetryIdempotentOnly(AsyncRetryHandler):
    """The SDK's connection-error retry, except for calls that post or upload."""

    def __init__(self) -> None:
        super().__init__(max_retry_count=1)
        self._inner = AsyncConnectionErrorRetryHandler(max_retry_count=1)

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if any(marker in request.url for marker in NON_IDEMPOTENT_METHODS):
            return False
        return await self._inner._can_retry_async(
            state=state, request=request, response=response, error=error
        )


def make_client(token: str, base_url: str | None = None, *, timeout: int = 10) -> AsyncWebClient:
    """An ``AsyncWebClient`` that never re-sends a post by itself (see module docstring)."""
    kwargs: dict[str, Any] = {}
    if base_url:
        kwargs["base_url"] = base_url.rstrip("/") + "/"
    return AsyncWebClient(
        token=token, timeout=timeout, retry_handlers=[_RetryIdempotentOnly()], **kwargs
    )


def _retry_after(response: Any) -> float | None:
    headers = getattr(response, "headers", None) or {}
    value = None
    for key in ("Retry-After", "retry-after"):
        if key in headers:
            value = headers[key]
            break
    if value is None:
        return None
    text = str(value[0] if isinstance(value, list) and value else value).strip()
    try:
        seconds = float(text)
    except ValueError:
        return None
    return max(0.0, min(seconds, 3600.0))


def map_slack_error(exc: Exception) -> DeliveryError:
    """A Slack SDK/network exception -> the matching ``DeliveryError`` subclass.

    A failure after the request may have reached Slack (connection reset or closed, a timeout,
    ``internal_error``/``fatal_error``/5xx) is an ``AmbiguousDeliveryError``: the worker looks
    for the post before sending again. 429 and failed connects cannot have posted anything.
    """
    if isinstance(exc, SlackApiError):
        response = exc.response
        status = int(getattr(response, "status_code", 0) or 0)
        data = getattr(response, "data", None)
        code = str(data.get("error", "")) if isinstance(data, dict) else ""
        if status == 429 or code == "ratelimited":
            return TransientDeliveryError("ratelimited", retry_after=_retry_after(response))
        if code in PAYLOAD_ERRORS:
            return PayloadRejectedError(code)
        if code in WORKSPACE_ERRORS:
            return PermanentDeliveryError(code, workspace=True)
        if code == "missing_scope":
            return MissingScopeError(code)
        if code in PERMANENT_ERRORS:
            return PermanentDeliveryError(code)
        if status >= 500 or status == 0 or code in ("fatal_error", "internal_error", ""):
            return AmbiguousDeliveryError(
                f"slack error {code or status}", retry_after=_retry_after(response)
            )
        if status == 404:
            return PermanentDeliveryError(code or "not_found")
        return TransientDeliveryError(f"slack error {code or status}")
    if isinstance(exc, aiohttp.ClientConnectorError):
        return TransientDeliveryError(f"network error: {type(exc).__name__}")
    if isinstance(exc, asyncio.TimeoutError | aiohttp.ClientError | OSError | SlackClientError):
        return AmbiguousDeliveryError(f"network error: {type(exc).__name__}")
    return AmbiguousDeliveryError(f"unexpected error: {type(exc).__name__}")


class SlackNotifier(Notifier, Paced, ThreadSentFinder, PlainSender, FileUploader, Closable):
    """The Slack side of the ``Notifier`` port (plus App Home, DMs and file uploads)."""

    platform = "slack"
    can_find_sent = True  # find_sent really looks (conversations.history with metadata)

    def __init__(
        self,
        token: str,
        base_url: str | None = None,
        *,
        min_interval_s: float = 1.0,
        timeout: int = 10,
        client: AsyncWebClient | None = None,
    ) -> None:
        self.client = client or make_client(token, base_url, timeout=timeout)
        # Whatever client was given, it must never re-send a post by itself.
        self.client.retry_handlers = [_RetryIdempotentOnly()]
        self.min_interval_s = min_interval_s
        self._dm_ids: dict[str, str] = {}

    # ----------------------------------------------------------------- helpers

    async def _call(self, method: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = await self.client.api_call(method, json=kwargs)
        except Exception as exc:
            raise map_slack_error(exc) from exc
        data = response.data
        return data if isinstance(data, dict) else {}

    async def _params_call(self, method: str, **params: Any) -> dict[str, Any]:
        try:
            response = await self.client.api_call(method, http_verb="GET", params=params)
        except Exception as exc:
            raise map_slack_error(exc) from exc
        data = response.data
        return data if isinstance(data, dict) else {}

    async def conversation_id(self, channel: Channel) -> str:
        """Where to post: the channel id, or for a person the id of their DM with the bot."""
        target = channel.target
        if channel.is_dm or target[:1] in ("U", "W"):
            return await self.open_dm(target)
        return target

    async def open_dm(self, user_id: str) -> str:
        """The DM conversation id with ``user_id`` (``conversations.open``, cached)."""
        if user_id not in self._dm_ids:
            data = await self._call("conversations.open", users=user_id)
            conv = data.get("channel") or {}
            if not conv.get("id"):
                raise TransientDeliveryError("conversations.open returned no channel")
            self._dm_ids[user_id] = str(conv["id"])
        return self._dm_ids[user_id]

    # ----------------------------------------------------------------- Notifier port

    async def send(
        self, channel: Channel, message: Message, *, thread_ref: str | None, delivery_id: int
    ) -> SendResult:
        try:
            payload = to_slack(message)
        except Exception as exc:  # slack_sdk validation refused a block
            raise PayloadRejectedError(f"cannot render blocks: {type(exc).__name__}") from exc
        return await self._post(channel, payload, thread_ref, delivery_id)

    async def send_plain(
        self, channel: Channel, message: Message, *, thread_ref: str | None, delivery_id: int
    ) -> SendResult:
        """The whole message as mrkdwn text without blocks (after ``invalid_blocks``)."""
        text = to_slack_text(message) or " "
        return await self._post(channel, {"text": text}, thread_ref, delivery_id)

    async def _post(
        self,
        channel: Channel,
        payload: dict[str, Any],
        thread_ref: str | None,
        delivery_id: int,
    ) -> SendResult:
        conversation = await self.conversation_id(channel)
        args: dict[str, Any] = {
            "channel": conversation,
            "text": payload.get("text") or " ",
            "unfurl_links": False,
            "unfurl_media": False,
            "metadata": {"event_type": EVENT_TYPE, "event_payload": {"delivery_id": delivery_id}},
        }
        if payload.get("blocks"):
            args["blocks"] = payload["blocks"]
        if thread_ref:
            args["thread_ts"] = thread_ref
        data = await self._call("chat.postMessage", **args)
        ts = data.get("ts") or (data.get("message") or {}).get("ts")
        if not ts:
            raise AmbiguousDeliveryError("chat.postMessage returned no ts")
        return SendResult(remote_id=str(ts), thread_ref=thread_ref or str(ts))

    async def find_sent(self, channel: Channel, delivery_id: int, *, since: datetime) -> str | None:
        """The ``ts`` of a post carrying ``delivery_id`` in its metadata, if one exists."""
        conversation = await self.conversation_id(channel)
        return await self._scan(
            "conversations.history", conversation, delivery_id, since=since, ts=None
        )

    async def find_sent_in_thread(
        self, channel: Channel, delivery_id: int, *, thread_ref: str, since: datetime
    ) -> str | None:
        """Like ``find_sent`` for a reply in the thread ``thread_ref``."""
        conversation = await self.conversation_id(channel)
        return await self._scan(
            "conversations.replies", conversation, delivery_id, since=since, ts=thread_ref
        )

    async def _scan(
        self, method: str, conversation: str, delivery_id: int, *, since: datetime, ts: str | None
    ) -> str | None:
        oldest = (since - timedelta(minutes=2)).timestamp()
        params: dict[str, Any] = {
            "channel": conversation,
            "oldest": f"{max(oldest, 0):.6f}",
            "include_all_metadata": "true",
            "inclusive": "true",
            "limit": 200,
        }
        if ts:
            params["ts"] = ts
        for _ in range(HISTORY_PAGES):
            data = await self._params_call(method, **params)
            for msg in data.get("messages") or []:
                meta = msg.get("metadata") or {}
                if meta.get("event_type") != EVENT_TYPE:
                    continue
                found = (meta.get("event_payload") or {}).get("delivery_id")
                if str(found) == str(delivery_id) and msg.get("ts"):
                    return str(msg["ts"])
            cursor = (data.get("response_metadata") or {}).get("next_cursor")
            if not data.get("has_more") or not cursor:
                return None
            params["cursor"] = cursor
        return None

    # ----------------------------------------------------------------- other surfaces

    async def publish_home(self, user_id: str, view: dict[str, Any]) -> None:
        """Publish the App Home tab of ``user_id`` (``views.publish``)."""
        await self._call("views.publish", user_id=user_id, view=view)

    async def upload_file(
        self,
        channel: Channel,
        filename: str,
        content: bytes,
        title: str,
        thread_ref: str | None = None,
    ) -> str | None:
        """Upload ``content`` into the channel (``files_upload_v2``); returns the file id."""
        conversation = await self.conversation_id(channel)
        try:
            response = await self.client.files_upload_v2(
                channel=conversation,
                filename=filename,
                content=content,
                title=title,
                thread_ts=thread_ref,
            )
        except Exception as exc:
            # from None: the SDK's error for the upload step quotes the signed upload URL
            raise map_slack_error(exc) from None
        file = response.get("file") or {}
        return str(file.get("id")) if isinstance(file, dict) and file.get("id") else None

    async def aclose(self) -> None:
        session = getattr(self.client, "session", None)
        if session is not None and not session.closed:
            await session.close()
