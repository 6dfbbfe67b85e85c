"""Posts neutral messages to Teams channels through their Workflows webhooks.

A Workflows webhook ("Post to a channel when a webhook request is received") takes one
message envelope per POST and answers 202 *before* it posts, so a delivery is only ever
"accepted", never confirmed: ``SendResult.remote_id`` is ``"accepted:<delivery_id>"``.

Invariants:
- the webhook URL is a credential (its query carries ``sig=``): it never appears in a log
  record, an exception message or a repr; ``mask_webhook`` is the only way it is shown, and
  httpx's own request log line is masked by a filter installed on the ``httpx`` logger;
- only ``https://`` webhooks are posted to; ``http://`` is allowed for loopback hosts when
  private networks are allowed (local test servers);
- status mapping: 2xx accepted, unless its body reports an error (Workflows and the old
  connectors answer ``200 "Webhook message delivery failed with error: …"``): then it is a
  failure, never recorded as sent; 429 -> ``TransientDeliveryError(retry_after)``; 408, 5xx
  and network errors -> transient; a timeout or a reset after sending -> ambiguous (may have
  posted); 413, or 400 saying "entity too large" -> ``PayloadTooLargeError``: the envelope is
  split in two and the parts are sent (repeatedly, up to ``MAX_SPLITS``), never a pause; any
  other answer (400, 401, 403, 404, 410, redirects) -> ``PermanentDeliveryError``;
- posts to one webhook are spaced by at least ``min_interval_s`` (about 4 per second, the
  throttling threshold of Workflows);
- a message split over several envelopes is resumed, not restarted, when a later envelope
  fails and the delivery is retried by the same process: envelopes already accepted are not
  posted again.

At-least-once window: Teams cannot be asked what was posted (``find_sent`` returns None), so
if the process dies after the webhook accepted a post and before the outbox marked it sent,
the delivery is posted again after restart. The window is one post (one envelope) per crash.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import json
import logging
import re
import time
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from bot.chat.teams.cards import split_envelope, to_teams
from bot.domain.errors import (
    AmbiguousDeliveryError,
    PayloadTooLargeError,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from bot.domain.headers import retry_after_seconds
from bot.domain.models import Channel, Message
from bot.domain.ports import Closable, Notifier, Paced, SendResult

log = logging.getLogger(__name__)

MIN_INTERVAL_S = 0.25
MAX_RETRY_AFTER_S = 3600.0
_PROGRESS_LIMIT = 1024  # deliveries whose partial progress is remembered
MAX_SPLITS = 8  # halvings of too-large envelopes per message
_BODY_PEEK = 4096  # bytes of an answer's body read to look for an error text
_ERROR_TEXT = re.compile(r"\b(fail(ed|ure)?|error|exception|invalid)\b", re.IGNORECASE)
_TOO_LARGE = re.compile(r"too\s*large|\b413\b|RequestEntityTooLarge", re.IGNORECASE)
_THROTTLED = re.compile(r"\b429\b|too\s*many\s*requests|throttl", re.IGNORECASE)

_PERMANENT_REASONS = {
    400: "it refused the request (the flow may be turned off, or its trigger was changed)",
    401: "its signature is no longer accepted (the flow was changed or its owner lost "
    "access); create a new webhook URL",
    403: "it is not allowed to post (the flow's owner lost access to the channel)",
    404: "it was deleted or its URL is wrong",
    410: "it was removed; create a new webhook URL",
}


# --------------------------------------------------------------------------- masking


def _fingerprint(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:8]


def mask_webhook(url: str) -> str:
    """A webhook URL safe to show: scheme and host only, e.g. ``https://host/…(masked #1a2b3c4d)``.

    The fingerprint is a short hash of the whole URL, so two webhooks can be told apart
    without revealing either.
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        scheme = parts.scheme or "?"
    except ValueError:
        scheme, host = "?", "?"
    middle = "/…/workflows/…" if "/workflows/" in url else "/…"
    return f"{scheme}://{host}{middle}(masked #{_fingerprint(url)})"


class _MaskWebhookFilter(logging.Filter):
    """Rewrites httpx's ``HTTP Request: POST <url> ...`` record so no webhook URL is logged."""

    def __init__(self) -> None:
        super().__init__("teams-webhook-mask")
        self.known: set[str] = set()  # fingerprints of the webhooks posted to

    def remember(self, url: str) -> None:
        self.known.add(hashlib.sha256(url.encode("utf-8")).hexdigest())

    def _secret(self, text: str) -> bool:
        if "sig=" in text:
            return True
        return hashlib.sha256(text.encode("utf-8")).hexdigest() in self.known

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and args:
            record.args = tuple(
                mask_webhook(str(a))
                if isinstance(a, httpx.URL | str) and self._secret(str(a))
                else a
                for a in args
            )
        elif isinstance(record.msg, str) and self._secret(record.msg):
            record.msg = "(a request to a masked Teams webhook)"
        return True


def _install_mask_filter() -> _MaskWebhookFilter:
    logger = logging.getLogger("httpx")
    for existing in logger.filters:
        if isinstance(existing, _MaskWebhookFilter):
            return existing
    created = _MaskWebhookFilter()
    logger.addFilter(created)
    return created


_MASK = _install_mask_filter()


# --------------------------------------------------------------------------- URL policy


def _is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _is_private_literal(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host.lower() in ("localhost", "localhost.")
    return not address.is_global


def check_webhook_url(url: str, *, allow_private_networks: bool) -> None:
    """Raise ``PermanentDeliveryError`` unless ``url`` is a webhook we may post to."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        _ = parts.port
    except ValueError:
        # from None: the parser's error may quote the webhook URL, which is a secret
        raise PermanentDeliveryError("the Teams webhook URL is not a valid URL") from None
    if not host or parts.username or parts.password:
        raise PermanentDeliveryError(
            f"the Teams webhook URL {mask_webhook(url)} is not a valid https:// URL"
        )
    scheme = parts.scheme.lower()
    if scheme == "http" and allow_private_networks and _is_loopback(host):
        return
    if scheme != "https":
        raise PermanentDeliveryError(
            f"the Teams webhook URL {mask_webhook(url)} must start with https://"
        )
    if not allow_private_networks and _is_private_literal(host):
        raise PermanentDeliveryError(
            f"the Teams webhook URL {mask_webhook(url)} points to a private address"
        )


# --------------------------------------------------------------------------- answers


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds (delta-seconds or an HTTP date), clamped to [0, 1 h]."""
    seconds = retry_after_seconds(value, now or datetime.now(UTC))
    return None if seconds is None else min(seconds, MAX_RETRY_AFTER_S)


def classify_answer(status: int, retry_after: str | None, body: str = "") -> Exception | None:
    """None when the webhook accepted the post, else the delivery error to raise."""
    prefix = f"the Teams webhook answered {status}"
    if 200 <= status < 300:
        if not body.strip() or not _ERROR_TEXT.search(body):
            return None
        said = _short(body)
        if _TOO_LARGE.search(body):
            return PayloadTooLargeError(f"{prefix} but reported: {said}")
        return TransientDeliveryError(
            f"{prefix} but reported a failed delivery: {said}",
            retry_after=parse_retry_after(retry_after) if _THROTTLED.search(body) else None,
        )
    if status == 429:
        return TransientDeliveryError(
            f"{prefix}: too many requests", retry_after=parse_retry_after(retry_after)
        )
    if status == 408 or status >= 500:
        return TransientDeliveryError(
            f"{prefix}: the service is unavailable, will retry",
            retry_after=parse_retry_after(retry_after),
        )
    if status == 413 or (status == 400 and _TOO_LARGE.search(body)):
        return PayloadTooLargeError(f"{prefix}: the message is too large")
    if 300 <= status < 400:
        return PermanentDeliveryError(f"{prefix}: an unexpected redirect; check the URL")
    reason = _PERMANENT_REASONS.get(status, "the request was refused")
    return PermanentDeliveryError(f"{prefix}: {reason}")


def _short(body: str) -> str:
    """The first 200 characters of an answer, on one line (it may echo nothing secret)."""
    return " ".join(body.split())[:200]


def _dumps(envelope: dict[str, Any]) -> bytes:
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _digest(bodies: list[bytes]) -> str:
    h = hashlib.sha256()
    for body in bodies:
        h.update(len(body).to_bytes(8, "big"))
        h.update(body)
    return h.hexdigest()


# --------------------------------------------------------------------------- notifier


class TeamsNotifier(Notifier, Paced, Closable):
    """The Notifier for Teams Workflows webhooks (``channel.target`` is the webhook URL)."""

    platform = "teams"
    can_find_sent = False  # webhooks answer nothing about past posts (see the docstring)
    min_interval_s = MIN_INTERVAL_S

    def __init__(
        self,
        *,
        allow_private_networks: bool = False,
        timeout_s: float = 10,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.allow_private_networks = allow_private_networks
        self.timeout_s = timeout_s
        self._client = client or httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_s),
            follow_redirects=False,
            headers={"User-Agent": "uschina-bot"},
        )
        self._owns_client = client is None
        self._last_post: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        # delivery id -> (digest of its envelopes, the envelopes after any splits, how many
        # of those were accepted)
        self._progress: OrderedDict[int, tuple[str, list[bytes], int]] = OrderedDict()

    def __repr__(self) -> str:
        return f"TeamsNotifier(allow_private_networks={self.allow_private_networks})"

    async def send(
        self, channel: Channel, message: Message, *, thread_ref: str | None, delivery_id: int
    ) -> SendResult:
        """POST every envelope of ``message`` to the channel's webhook (threads do not exist)."""
        url = channel.target
        check_webhook_url(url, allow_private_networks=self.allow_private_networks)
        _MASK.remember(url)
        envelopes = to_teams(message)
        digest = _digest([_dumps(e) for e in envelopes])
        bodies, done = self._resume_point(delivery_id, digest, envelopes)
        key = _fingerprint(url)
        lock = self._locks.setdefault(key, asyncio.Lock())
        splits = 0
        async with lock:
            index = done
            while index < len(bodies):
                await self._pace(key)
                try:
                    await self._post(url, _dumps(bodies[index]))
                except PayloadTooLargeError:
                    parts = split_envelope(bodies[index]) if splits < MAX_SPLITS else []
                    if not parts:
                        raise
                    splits += 1
                    log.info("Teams: an envelope was too large; sending it in two parts")
                    bodies[index : index + 1] = parts
                    continue
                except TransientDeliveryError:
                    self._remember_progress(delivery_id, digest, bodies, index)
                    raise
                index += 1
                self._remember_progress(delivery_id, digest, bodies, index)
        self._progress.pop(delivery_id, None)
        return SendResult(remote_id=f"accepted:{delivery_id}", thread_ref=None)

    async def find_sent(self, channel: Channel, delivery_id: int, *, since: datetime) -> str | None:
        """Teams cannot be asked what was posted: always None (see the module docstring)."""
        return None

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    # ----------------------------------------------------------------- internals

    def _resume_point(
        self, delivery_id: int, digest: str, envelopes: list[dict[str, Any]]
    ) -> tuple[list[dict[str, Any]], int]:
        saved = self._progress.get(delivery_id)
        if saved is None or saved[0] != digest:
            return list(envelopes), 0
        return [json.loads(b) for b in saved[1]], saved[2]

    def _remember_progress(
        self, delivery_id: int, digest: str, bodies: list[dict[str, Any]], accepted: int
    ) -> None:
        self._progress[delivery_id] = (digest, [_dumps(b) for b in bodies], accepted)
        self._progress.move_to_end(delivery_id)
        while len(self._progress) > _PROGRESS_LIMIT:
            self._progress.popitem(last=False)

    async def _pace(self, key: str) -> None:
        last = self._last_post.get(key)
        if last is not None:
            wait = last + self.min_interval_s - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        self._last_post[key] = time.monotonic()

    async def _post(self, url: str, body: bytes) -> None:
        masked = mask_webhook(url)
        try:
            async with asyncio.timeout(self.timeout_s):
                async with self._client.stream(
                    "POST", url, content=body, headers={"Content-Type": "application/json"}
                ) as response:
                    status = response.status_code
                    retry_after = response.headers.get("Retry-After")
                    text = await _peek(response)
        except TimeoutError:
            # from None: a bare timeout; the message says which webhook and how long
            raise AmbiguousDeliveryError(
                f"the Teams webhook {masked} did not answer within {self.timeout_s:g} s"
            ) from None
        except httpx.ConnectError as exc:
            # from None: httpx's error may quote the request URL, which is the webhook secret
            raise TransientDeliveryError(
                f"the Teams webhook {masked} could not be reached ({type(exc).__name__})"
            ) from None
        except httpx.HTTPError as exc:
            # from None: httpx's error may quote the request URL, which is the webhook secret
            raise AmbiguousDeliveryError(
                f"the Teams webhook {masked} failed after sending ({type(exc).__name__})"
            ) from None
        error = classify_answer(status, retry_after, text)
        if error is not None:
            log.warning("Teams webhook %s: %s", masked, error)
            raise error
        log.debug("Teams webhook %s accepted a post (%d bytes)", masked, len(body))


async def _peek(response: httpx.Response) -> str:
    """Up to ``_BODY_PEEK`` bytes of the answer, decoded leniently (the rest is not read)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_raw():
        chunks.append(chunk)
        size += len(chunk)
        if size >= _BODY_PEEK:
            break
    return b"".join(chunks)[:_BODY_PEEK].decode("utf-8", "replace")
