"""The outbox worker: turns recorded deliveries into posts, at most once each in practice.

Guarantees (see docs/slack.md for the residual window):
- a delivery that may already have been posted -- claimed before and never finished (the
  process died mid-send), or whose last attempt failed ambiguously (connection reset after
  sending, an answer after the client timeout, the platform's internal error) -- is first
  reconciled through ``notifier.find_sent`` and marked sent if the platform already has it;
  where the platform cannot be asked, "possible duplicate" is logged with the delivery id;
- nothing sleeps while holding claims: pacing (``notifier.min_interval_s`` per channel) and
  waiting for a thread parent put the delivery back (``defer``) for later;
- transient errors retry with exponential backoff and jitter (a 429's ``retry_after`` is
  honoured exactly) until ``max_age``, then the delivery fails;
- a permanent error pauses the channel (a workspace error: every channel of the platform)
  and tells an admin once (WARNING log + a message to the admin channel, else the console);
  the paused queue is kept and sent on resume; anything older than ``backlog_max_age``
  expires with the reason recorded;
- a payload the platform rejects is resent once as plain text and never blocks the queue;
- follow-ups wait for their thread's first post and then go into its thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot.domain.codec import message_from_dict
from bot.domain.errors import (
    AmbiguousDeliveryError,
    DatabaseUnavailableError,
    DeliveryError,
    MissingScopeError,
    PayloadRejectedError,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from bot.domain.models import WORKSPACE_PREFIX, Channel, Delivery, Message, ensure_utc
from bot.domain.ports import (
    Clock,
    DeliveryQueue,
    Notifier,
    Paced,
    PausingChannelStore,
    PlainSender,
    SendResult,
    ThreadSentFinder,
)
from bot.domain.render import render_error
from bot.metrics import Metrics

log = logging.getLogger(__name__)

METRIC = "uschina_bot_deliveries_total"
PAUSE_METRIC = "uschina_bot_channels_paused_total"
FOLLOWUP_KINDS = frozenset({"followup"})


@dataclass(frozen=True)
class DeliveryPolicy:
    """Tunables of the worker; the defaults suit production."""

    max_age: timedelta = timedelta(hours=6)  # retrying a failing delivery stops after this
    backlog_max_age: timedelta = timedelta(hours=24)  # a queued (e.g. paused) one expires
    expire_every: timedelta = timedelta(minutes=1)
    base_backoff_s: float = 2.0
    max_backoff_s: float = 600.0
    lease: timedelta = timedelta(seconds=60)
    parent_wait_s: float = 5.0
    no_notifier_wait_s: float = 300.0
    idle_poll_s: float = 2.0


@dataclass(frozen=True)
class DeliveryPorts:
    """What the delivery worker needs, as the composition root wires it
    (``App.delivery_ports``): the outbox, the channels it reads and pauses, one notifier per
    platform, the clock, metrics, its name for claims, and where pause notices go."""

    deliveries: DeliveryQueue
    channels: PausingChannelStore
    notifiers: Mapping[str, Notifier]
    clock: Clock
    metrics: Metrics
    instance_id: str
    admin_channel: str | None = None  # the config's ``admin_channel``
    admins: tuple[str, ...] = ()  # the config's ``admins`` (Slack user ids)


class DeliveryWorker:
    """Claims due deliveries and sends them through ``ports.notifiers[platform]``."""

    def __init__(
        self,
        ports: DeliveryPorts,
        *,
        policy: DeliveryPolicy | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.ports = ports
        self.policy = policy or DeliveryPolicy()
        self.rng = rng or random.Random()
        self._next_slot: dict[int, datetime] = {}  # channel id -> earliest next post
        self._channels: dict[int, Channel | None] = {}
        self._earliest_deferred: datetime | None = None
        self._last_expiry: datetime | None = None

    # ----------------------------------------------------------------- one pass

    async def run_once(self, limit: int = 50) -> int:
        """Claim and handle up to ``limit`` due deliveries; returns how many were posted."""
        ports = self.ports
        claimed_at = self.ports.clock()
        self._channels = {}
        # Channels still paced are not claimed (claiming would only defer them to their slot);
        # the next pass is due when the first of them may post again.
        paced = {cid: slot for cid, slot in self._next_slot.items() if slot > claimed_at}
        self._earliest_deferred = min(paced.values(), default=None)
        await self._expire(claimed_at)
        batch = await ports.deliveries.claim(
            worker=self.ports.instance_id,
            now=claimed_at,
            limit=limit,
            lease=self.policy.lease,
            skip_channels=paced,
        )
        release_after = claimed_at + self.policy.lease / 2
        posted = 0
        for index, delivery in enumerate(batch):
            if self.ports.clock() >= release_after:
                # The lease is half gone: hand the rest back rather than risk a second claimer.
                for rest in batch[index:]:
                    await ports.deliveries.defer(
                        rest.id, at=self.ports.clock(), unsure=rest.was_sending
                    )
                break
            try:
                posted += await self._handle(delivery)
            except DatabaseUnavailableError:
                raise  # the whole pass stops; the scheduler backs off
            except Exception:
                log.exception("delivery %s: unexpected error", delivery.id)
                await self._retry(delivery, None, "internal error", None, unsure=True)
        return posted

    async def _channel(self, channel_id: int) -> Channel | None:
        if channel_id not in self._channels:
            self._channels[channel_id] = await self.ports.channels.get(channel_id)
        return self._channels[channel_id]

    async def _handle(self, d: Delivery) -> int:
        ports, now = self.ports, self.ports.clock()
        channel = await self._channel(d.channel_id)
        if channel is None:
            await ports.deliveries.mark_failed(d.id, error="channel removed")
            return 0
        if channel.paused_reason:  # paused after the claim: wait for the resume
            await self._defer(d, now, error=f"paused: {channel.paused_reason}")
            self._count(channel, "skipped_paused")
            return 0
        notifier = self.ports.notifiers.get(channel.platform)
        if notifier is None:
            await self._retry(d, channel, f"no {channel.platform} notifier configured", None)
            return 0

        thread_ref: str | None = None
        if d.kind in FOLLOWUP_KINDS and (d.thread_key or d.story_key):
            key = d.thread_key or d.story_key or ""
            state, parent = await ports.deliveries.thread_parent(channel.id, key)
            if state == "pending":
                await self._defer(d, now + timedelta(seconds=self.policy.parent_wait_s))
                return 0
            thread_ref = parent if state == "sent" else None

        if d.was_sending:
            if await self._reconcile(notifier, channel, d, thread_ref):
                return 0
            d = replace(d, was_sending=False)  # not posted (or cannot be known): send now

        slot = self._next_slot.get(channel.id)
        if slot is not None and slot > now:
            await self._defer(d, slot)
            return 0

        try:
            message = message_from_dict(d.payload)
        except (ValueError, KeyError, TypeError) as exc:
            await ports.deliveries.mark_failed(d.id, error=f"bad payload: {exc}")
            self._count(channel, "failed")
            return 0
        return await self._send(d, channel, notifier, message, thread_ref)

    async def _reconcile(
        self, notifier: Notifier, channel: Channel, d: Delivery, thread_ref: str | None
    ) -> bool:
        """Look for an earlier attempt of ``d``; True when ``d`` is settled (found, paused,
        put back), False when it should be sent now."""
        if not notifier.can_find_sent:
            self._possible_duplicate(d, channel, f"{channel.platform} cannot be asked")
            return False
        try:
            found = await self._find_sent(notifier, channel, d, thread_ref)
        except MissingScopeError:
            self._possible_duplicate(d, channel, "no history scope")
            return False
        except PermanentDeliveryError as exc:
            await self._pause(d, channel, exc)
            return True
        except TransientDeliveryError as exc:
            await self._retry(d, channel, f"reconcile: {exc}", exc.retry_after, unsure=True)
            return True
        if not found:
            log.info("delivery %s: earlier attempt not found in %s; sending", d.id, channel.name)
            return False
        await self.ports.deliveries.mark_sent(
            d.id, remote_id=found, now=self.ports.clock(), thread_remote_id=thread_ref
        )
        log.info("delivery %s: already posted as %s; not posting again", d.id, found)
        self._count(channel, "reconciled")
        return True

    def _possible_duplicate(self, d: Delivery, channel: Channel, why: str) -> None:
        log.warning(
            "delivery %s to %s: possible duplicate (an earlier attempt may have landed; %s)",
            d.id,
            channel.name,
            why,
        )
        self._count(channel, "possible_duplicate")

    async def _find_sent(
        self, notifier: Notifier, channel: Channel, d: Delivery, thread_ref: str | None
    ) -> str | None:
        since = (
            ensure_utc(d.created_at) if d.created_at else self.ports.clock() - self.policy.max_age
        )
        if thread_ref and isinstance(notifier, ThreadSentFinder):
            return await notifier.find_sent_in_thread(
                channel, d.id, thread_ref=thread_ref, since=since
            )
        return await notifier.find_sent(channel, d.id, since=since)

    async def _send(
        self,
        d: Delivery,
        channel: Channel,
        notifier: Notifier,
        message: Message,
        thread_ref: str | None,
    ) -> int:
        ports = self.ports
        interval = float(notifier.min_interval_s or 0.0) if isinstance(notifier, Paced) else 0.0
        try:
            try:
                result = await notifier.send(
                    channel, message, thread_ref=thread_ref, delivery_id=d.id
                )
                outcome = "sent"
            except PayloadRejectedError as exc:
                log.warning("delivery %s: payload rejected (%s), sending plain text", d.id, exc)
                result = await self._send_plain(notifier, channel, message, thread_ref, d.id)
                outcome = "sent_plain"
        except PayloadRejectedError as exc:
            await ports.deliveries.mark_failed(d.id, error=f"rejected: {exc}")
            self._count(channel, "rejected")
            return 0
        except PermanentDeliveryError as exc:
            await self._pause(d, channel, exc)
            return 0
        except TransientDeliveryError as exc:
            if exc.retry_after is not None:
                self._next_slot[channel.id] = self.ports.clock() + timedelta(
                    seconds=exc.retry_after
                )
            unsure = isinstance(exc, AmbiguousDeliveryError)
            await self._retry(d, channel, str(exc), exc.retry_after, unsure=unsure)
            return 0
        finally:
            self._next_slot.setdefault(channel.id, self.ports.clock())
            slot = self.ports.clock() + timedelta(seconds=interval)
            self._next_slot[channel.id] = max(self._next_slot[channel.id], slot)
        await ports.deliveries.mark_sent(
            d.id,
            remote_id=result.remote_id,
            now=self.ports.clock(),
            thread_remote_id=result.thread_ref,
        )
        self._count(channel, outcome)
        return 1

    async def _send_plain(
        self,
        notifier: Notifier,
        channel: Channel,
        message: Message,
        thread_ref: str | None,
        delivery_id: int,
    ) -> SendResult:
        if isinstance(notifier, PlainSender):
            return await notifier.send_plain(
                channel, message, thread_ref=thread_ref, delivery_id=delivery_id
            )
        bare = Message(fallback=message.fallback, kind=message.kind)
        return await notifier.send(channel, bare, thread_ref=thread_ref, delivery_id=delivery_id)

    # ----------------------------------------------------------------- outcomes

    async def _defer(self, d: Delivery, at: datetime, *, error: str | None = None) -> None:
        await self.ports.deliveries.defer(d.id, at=at, unsure=d.was_sending, error=error)
        if self._earliest_deferred is None or at < self._earliest_deferred:
            self._earliest_deferred = at

    def backoff_s(self, attempts: int, retry_after: float | None) -> float:
        """Seconds before the next attempt: ``retry_after`` exactly, else capped 2^n + jitter."""
        if retry_after is not None:
            return retry_after
        base = min(self.policy.max_backoff_s, self.policy.base_backoff_s * 2 ** min(attempts, 20))
        return base * (0.5 + self.rng.random())

    async def _retry(
        self,
        d: Delivery,
        channel: Channel | None,
        error: str,
        retry_after: float | None,
        *,
        unsure: bool = False,
    ) -> None:
        """Try again later; ``unsure`` (the attempt may have landed) reconciles first."""
        now = self.ports.clock()
        at = now + timedelta(seconds=self.backoff_s(d.attempts, retry_after))
        created = ensure_utc(d.created_at) if d.created_at else now
        if at - created > self.policy.max_age:
            await self.ports.deliveries.mark_failed(d.id, error=f"gave up: {error}")
            log.warning("delivery %s: gave up after %s (%s)", d.id, now - created, error)
            self._count(channel, "failed")
            return
        if unsure:
            await self.ports.deliveries.mark_unsure(d.id, error=error, at=at)
        else:
            await self.ports.deliveries.mark_retry(d.id, error=error, at=at)
        log.info(
            "delivery %s to %s failed (%s); retrying in %.0f s%s",
            d.id,
            channel.name if channel else d.channel_id,
            error,
            (at - now).total_seconds(),
            ", after checking whether it was posted" if unsure else "",
        )
        if self._earliest_deferred is None or at < self._earliest_deferred:
            self._earliest_deferred = at
        self._count(channel, "retry")

    async def _pause(self, d: Delivery, channel: Channel, exc: PermanentDeliveryError) -> None:
        """Pause the channel (or, for a workspace error, every channel of its platform), keep
        ``d`` and the rest of the queue for the resume, and tell an admin once."""
        ports, now = self.ports, self.ports.clock()
        reason = str(exc)
        if exc.workspace:
            reason = WORKSPACE_PREFIX + reason
            newly = await ports.channels.pause_platform(channel.platform, reason, now)
            self._channels = {}
        else:
            newly = int(await ports.channels.pause(channel.id, reason, now))
            self._channels[channel.id] = replace(channel, paused_reason=reason)
        await ports.deliveries.defer(d.id, at=now, error=f"paused: {reason}")
        self._count(channel, "paused")
        if newly:
            self.ports.metrics.inc(PAUSE_METRIC, platform=channel.platform, reason=reason)
            await self._tell_admin(channel, reason, workspace=exc.workspace)

    async def _tell_admin(self, channel: Channel, reason: str, *, workspace: bool) -> None:
        """One WARNING line, and one message to the admin channel (else the console)."""
        where = f"every {channel.platform} channel" if workspace else f"channel {channel.name}"
        hours = self.policy.backlog_max_age.total_seconds() / 3600
        text = (
            f"Deliveries to {where} are paused: {reason}. Queued messages are kept for "
            f"{hours:g} h and sent once it is resumed (`subscribe` in the channel resumes it)."
        )
        log.warning("%s paused: %s", where, reason)
        target = await self._admin_target(channel, workspace=workspace)
        notifier = self.ports.notifiers.get(target.platform)
        if notifier is None:
            return
        try:
            await notifier.send(target, render_error(text), thread_ref=None, delivery_id=0)
        except DeliveryError as exc:
            log.warning("could not tell the admin channel about the pause: %s", exc)

    async def _admin_target(self, paused: Channel, *, workspace: bool) -> Channel:
        """Where pause notices go: ``admin_channel`` from the config, else the first admin's
        Slack DM, else the console -- never the paused channel or platform itself."""
        ports = self.ports
        candidate: Channel | None = None
        if ports.admin_channel:
            candidate = await ports.channels.by_name(ports.admin_channel)
        elif ports.admins and "slack" in ports.notifiers:
            candidate = Channel(
                id=0, name="admin", platform="slack", target=ports.admins[0], is_dm=True
            )
        unusable = candidate is None or (
            candidate.paused_reason
            or candidate.id == paused.id
            or (workspace and candidate.platform == paused.platform)
            or candidate.platform not in self.ports.notifiers
        )
        if candidate is None or unusable:
            return Channel(id=0, name="admin", platform="console", target="stdout")
        return candidate

    async def _expire(self, now: datetime) -> None:
        """Every ``expire_every``: fail queued deliveries older than ``backlog_max_age``."""
        if self._last_expiry is not None and now - self._last_expiry < self.policy.expire_every:
            return
        self._last_expiry = now
        hours = self.policy.backlog_max_age.total_seconds() / 3600
        expired = await self.ports.deliveries.expire_older_than(
            now - self.policy.backlog_max_age,
            now=now,
            reason=f"expired: not delivered within {hours:g} h",
        )
        if expired:
            log.warning("%d queued deliveries expired (older than %g h)", expired, hours)

    def _count(self, channel: Channel | None, result: str) -> None:
        platform = channel.platform if channel else "unknown"
        self.ports.metrics.inc(METRIC, platform=platform, result=result)

    # ----------------------------------------------------------------- loop

    async def drain(self, *, timeout_s: float = 120.0) -> int:
        """Deliver until nothing is due, for one-shot commands; returns how many were posted.

        Waits (really) for paced or retried deliveries while the clock moves; with a frozen
        clock (``--now``) it stops after the first pass that posts nothing, leaving the rest
        queued for the service.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        total = 0
        dues: list[datetime] = []  # earliest deferral of every pass, until reached
        while loop.time() < deadline:
            before = self.ports.clock()
            posted = await self.run_once()
            total += posted
            if self._earliest_deferred is not None:
                dues.append(self._earliest_deferred)
            if posted:
                continue
            if not dues:
                break
            wait = (min(dues) - self.ports.clock()).total_seconds()
            await asyncio.sleep(min(max(wait, 0.05), 1.0))
            if self.ports.clock() == before:
                break
            dues = [due for due in dues if due > self.ports.clock()]
        return total

    async def run_forever(self, stop: asyncio.Event, wake: asyncio.Event | None = None) -> None:
        """Deliver until ``stop`` is set; ``wake`` (set by the poller) shortens idle waits."""
        while not stop.is_set():
            try:
                posted = await self.run_once()
            except DatabaseUnavailableError:
                posted = 0  # storage logs the outage once (WARNING) and its end once (INFO)
            except Exception:
                log.exception("delivery pass failed")
                posted = 0
            delay = self._next_delay(posted)
            if delay <= 0:
                await asyncio.sleep(0)
                continue
            await _wait_any(stop, wake, delay)
            if wake is not None:
                wake.clear()

    def _next_delay(self, posted: int) -> float:
        if posted:
            return 0.0
        delay = self.policy.idle_poll_s
        if self._earliest_deferred is not None:
            until = (self._earliest_deferred - self.ports.clock()).total_seconds()
            delay = min(delay, max(until, 0.05))
        return delay


async def _wait_any(stop: asyncio.Event, wake: asyncio.Event | None, seconds: float) -> None:
    waiters = [asyncio.ensure_future(stop.wait())]
    if wake is not None:
        waiters.append(asyncio.ensure_future(wake.wait()))
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
        for waiter in waiters:
            with contextlib.suppress(asyncio.CancelledError):
                await waiter
