"""Protocols the shell implements, so that jobs and chat code depend on shapes, not on
libraries or the composition root."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from bot.domain.models import (
    Channel,
    Countdown,
    CountdownChange,
    Delivery,
    FetchOutcome,
    FetchState,
    Item,
    Message,
    Mode,
    Platform,
    Proposal,
    SentDelivery,
    Source,
    SourceSpec,
    Story,
    Subscription,
)
from bot.domain.quota import SourceAddQuota
from bot.domain.taxonomy import Taxonomy

if TYPE_CHECKING:
    from bot.domain.ingest import IngestBatch, PendingDelivery


@dataclass(frozen=True)
class SendResult:
    """What a platform returned for one post: its id (Slack ``ts``) and the thread it is in."""

    remote_id: str | None
    thread_ref: str | None = None


class Notifier(Protocol):
    """Posts neutral messages to one platform. Only notifiers talk to chat networks.

    ``send`` raises ``TransientDeliveryError`` (retry later), ``PermanentDeliveryError``
    (pause the channel) or ``PayloadRejectedError`` (send a plain-text fallback instead).
    ``can_find_sent`` is True only when ``find_sent`` really asks the platform; where it
    cannot, a possibly repeated post is logged instead. Other abilities are declared by
    implementing the capabilities below.
    """

    platform: str
    can_find_sent: bool

    async def send(
        self, channel: Channel, message: Message, *, thread_ref: str | None, delivery_id: int
    ) -> SendResult: ...

    async def find_sent(self, channel: Channel, delivery_id: int, *, since: datetime) -> str | None:
        """After a crash: the remote id of a post already made for ``delivery_id``, if any."""
        ...


# --------------------------------------------------------------------------- notifier capabilities
# What a notifier can do beyond the ``Notifier`` port is declared by implementing one of these
# (checked with ``isinstance``), never probed by attribute name.


@runtime_checkable
class FileUploader(Protocol):
    """A notifier capability: files posted into a channel (or a thread of it)."""

    async def upload_file(
        self,
        channel: Channel,
        filename: str,
        content: bytes,
        title: str,
        thread_ref: str | None = None,
    ) -> str | None: ...


@runtime_checkable
class Paced(Protocol):
    """Posts to one channel are spaced by at least ``min_interval_s`` seconds; the delivery
    worker keeps that pace by putting deliveries back, never by sleeping."""

    min_interval_s: float


@runtime_checkable
class ThreadSentFinder(Protocol):
    """``find_sent`` for a reply inside the thread ``thread_ref``."""

    async def find_sent_in_thread(
        self, channel: Channel, delivery_id: int, *, thread_ref: str, since: datetime
    ) -> str | None: ...


@runtime_checkable
class PlainSender(Protocol):
    """The platform's own plain-text form of a message whose rich payload was rejected
    (without it, the worker sends the message's fallback text through ``send``)."""

    async def send_plain(
        self, channel: Channel, message: Message, *, thread_ref: str | None, delivery_id: int
    ) -> SendResult: ...


@runtime_checkable
class Closable(Protocol):
    """A notifier holding connections, closed once when the app shuts down."""

    async def aclose(self) -> None: ...


class Clock(Protocol):
    def __call__(self) -> datetime: ...


# --------------------------------------------------------------------------- stores, by job


class PruningStore(Protocol):
    """What retention removes or empties; each returns the number of rows touched."""

    async def tombstone_items(self, seen_before: datetime) -> int: ...
    async def delete_items(self, seen_before: datetime) -> int: ...
    async def delete_stories(self, last_seen_before: datetime) -> int: ...
    async def delete_finished_deliveries(self, before: datetime) -> int: ...


class RequestKeyStore(Protocol):
    """Replay-guard keys of processed requests."""

    async def forget_before(self, cutoff: datetime) -> int: ...


# Each job's port bundle (``jobs.*.…Ports``) names the narrowest of these it needs; the
# composition root hands it the concrete repositories of ``storage``, which fit them.


class ChannelReader(Protocol):
    """Channels and their subscriptions, read."""

    async def all(self) -> list[Channel]: ...
    async def get(self, channel_id: int) -> Channel | None: ...
    async def by_name(self, name: str) -> Channel | None: ...
    async def subscriptions(
        self, channel_ids: Iterable[int] | None = None
    ) -> list[Subscription]: ...


class DigestChannelStore(ChannelReader, Protocol):
    """Channels, and the last digest slot recorded for each (``jobs.digest``)."""

    async def digest_last_slot(self, channel_id: int) -> datetime | None: ...
    async def set_digest_last_slot(self, channel_id: int, slot: datetime) -> None: ...


class PausingChannelStore(ChannelReader, Protocol):
    """Channels that the delivery worker pauses on a permanent error; each returns how many
    channels were newly paused."""

    async def pause(self, channel_id: int, reason: str, now: datetime) -> bool: ...
    async def pause_platform(self, platform: str, reason: str, now: datetime) -> int: ...


class OutboxWriter(Protocol):
    """Deliveries recorded for the worker to post, once per dedupe key."""

    async def enqueue(
        self,
        *,
        channel_id: int,
        kind: str,
        dedupe_key: str,
        payload: dict[str, Any],
        now: datetime,
        story_key: str | None = None,
        thread_key: str | None = None,
        countdown_id: int | None = None,
        item_id: int | None = None,
    ) -> bool: ...
    async def exists(self, dedupe_key: str) -> bool: ...
    async def thread_parent(self, channel_id: int, thread_key: str) -> tuple[str, str | None]:
        """("none" | "pending" | "sent", the parent's remote id when sent)."""
        ...


class DeliveryQueue(Protocol):
    """The outbox as the delivery worker drives it: claims (leases) and their outcomes."""

    async def claim(
        self,
        *,
        worker: str,
        now: datetime,
        limit: int = 50,
        lease: timedelta = ...,
        skip_channels: Collection[int] = (),
    ) -> list[Delivery]: ...
    async def mark_sent(
        self,
        delivery_id: int,
        *,
        remote_id: str | None,
        now: datetime,
        thread_remote_id: str | None = None,
    ) -> None: ...
    async def mark_retry(self, delivery_id: int, *, error: str, at: datetime) -> None: ...
    async def mark_unsure(self, delivery_id: int, *, error: str, at: datetime) -> None: ...
    async def mark_failed(
        self, delivery_id: int, *, error: str, status: str = "failed"
    ) -> None: ...
    async def defer(
        self, delivery_id: int, *, at: datetime, unsure: bool = False, error: str | None = None
    ) -> None: ...
    async def expire_older_than(self, cutoff: datetime, *, now: datetime, reason: str) -> int: ...
    async def thread_parent(self, channel_id: int, thread_key: str) -> tuple[str, str | None]: ...


class FollowupHistory(Protocol):
    """Follow-ups posted recently, per (channel, story): the routing budget's memory."""

    async def recent_followups(self, since: datetime) -> dict[tuple[int, str], int]: ...


class CountdownStore(Protocol):
    """Countdowns, the events proposed from the news, and the changes proposed for them."""

    async def all(self, *, status: str | None = "active") -> list[Countdown]: ...
    async def get(self, countdown_id: int) -> Countdown | None: ...
    async def by_name(self, name: str) -> Countdown | None: ...
    async def add(
        self,
        *,
        name: str,
        start: date,
        end: date,
        tentative: bool,
        now: datetime,
        where: str | None = None,
        at: datetime | None = None,
        timezone: str = "UTC",
        milestones: tuple[int, ...] = ...,
        origin: str = "command",
        created_by: str | None = None,
        note: str | None = None,
        follow_news: bool = False,
        status: str = "active",
    ) -> Countdown: ...
    async def update(self, countdown_id: int, **values: object) -> None: ...
    async def propose(
        self,
        *,
        label: str,
        kind: str,
        start: date,
        end: date,
        certainty: str,
        now: datetime,
        item_id: int | None = None,
        story_key: str | None = None,
    ) -> Proposal | None: ...
    async def proposal(self, proposal_id: int) -> Proposal | None: ...
    async def proposals(self, *, status: str | None = "proposed") -> list[Proposal]: ...
    async def mark_tracked(self, proposal_id: int, countdown_id: int) -> None: ...
    async def propose_change(
        self,
        *,
        countdown_id: int,
        what: str,
        start: date,
        end: date,
        tentative: bool,
        note: str,
        now: datetime,
        item_id: int | None = None,
        item_title: str | None = None,
        item_url: str | None = None,
    ) -> CountdownChange | None: ...
    async def change(self, change_id: int) -> CountdownChange | None: ...
    async def changes(self, *, status: str | None = "proposed") -> list[CountdownChange]: ...
    async def decide_change(
        self, change_id: int, status: str, *, now: datetime, by: str | None = None
    ) -> bool: ...
    async def supersede_changes(self, countdown_id: int, *, now: datetime) -> int: ...


class StoryReader(Protocol):
    """Stories by key and by period."""

    async def many(self, keys: Iterable[str]) -> dict[str, Story]: ...
    async def between(
        self, since: datetime, until: datetime, *, topic: str | None = None
    ) -> list[Story]: ...


class ItemSearch(Protocol):
    async def search(
        self, words: str, *, topic: str | None = None, limit: int = 10
    ) -> list[Item]: ...


class InsightStore(Protocol):
    """Small, indexed aggregates over items, stories and sent posts (the query layer's reads)."""

    async def latest_per_topic(self, topics: Sequence[str], until: datetime) -> dict[str, Item]: ...
    async def story_counts(
        self, topics: Sequence[str], since: datetime, split: datetime, until: datetime
    ) -> dict[str, tuple[int, int]]: ...
    async def engagement_items(
        self, since: datetime, until: datetime, *, topic: str | None = None, limit: int = 200
    ) -> list[Item]: ...
    async def recent_story_keys(self, topic: str, until: datetime, limit: int = 5) -> list[str]: ...
    async def items_of_stories(
        self, keys: Sequence[str], per_story: int = 50
    ) -> dict[str, list[Item]]: ...
    async def story_topics_between(
        self, since: datetime, until: datetime
    ) -> list[tuple[datetime, list[str]]]: ...
    async def dedupe_keys(self, prefix: str) -> set[str]: ...
    async def sent_with_prefix(self, prefix: str, since: datetime) -> list[SentDelivery]: ...


class OnceGuard(Protocol):
    """Keys taken once: True the first time ``key`` is seen."""

    async def first_time(self, key: str, now: datetime) -> bool: ...


class LeaseStore(Protocol):
    """A named lease shared by instances (the singleton jobs run where it is held)."""

    async def acquire_lease(
        self, name: str, holder: str, now: datetime, ttl: timedelta
    ) -> bool: ...


class PollSourceStore(Protocol):
    """Sources as polling claims them and records their fetch state."""

    async def all(self, *, enabled_only: bool = False) -> list[Source]: ...
    async def claim_due(
        self, now: datetime, *, hold: timedelta = ..., limit: int | None = None
    ) -> list[Source]: ...
    async def save_states(self, states: Sequence[tuple[int, FetchState]]) -> None: ...


class IngestStore(Protocol):
    """What one ingest transaction writes, and what deciding it reads."""

    async def known_identities_of(self, source_ids: Iterable[int]) -> dict[int, set[str]]: ...
    async def commit_many(self, batches: Sequence[IngestBatch]) -> list[list[Item]]:
        """The batches in one transaction; their deliveries are enqueued in batch order,
        follow-ups after all the others (``route.enqueue_rank``: a parent alert decided in
        the same window always gets the lower outbox id). Per batch, the items inserted."""
        ...

    async def alerted_channels(self, story_keys: Iterable[str]) -> dict[str, set[int]]: ...
    async def enqueue(self, deliveries: Sequence[PendingDelivery], now: datetime) -> None:
        """Deliveries of no stored item (the summaries that end a poll cycle)."""
        ...


class StoryWindowStore(Protocol):
    """Stories seen since a time, with their stored fingerprints (the open-stories view)."""

    async def recent_fingerprints(self, since: datetime) -> list[tuple[Story, dict[str, Any]]]: ...


class Fetcher(Protocol):
    """Fetches feeds over HTTP; opened with ``await fetcher.__aenter__()`` (or ``async with``)
    and closed with ``aclose``. ``fetch`` never raises for a per-source problem."""

    async def __aenter__(self) -> Fetcher: ...
    async def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchOutcome: ...
    async def aclose(self) -> None: ...


# --------------------------------------------------------------------------- chat services
# What chat surfaces (the command executor, the Slack listeners, the Teams endpoint) use,
# declared here so that they depend on shapes; the composition root hands them the
# concrete stores, the bound query layer and the policies in one ``ChatServices``.


class ChannelStore(ChannelReader, Protocol):
    """Channels and subscriptions as commands, buttons and the App Home change them."""

    async def by_target(self, platform: Platform, target: str) -> Channel | None: ...
    async def by_external_id(self, external_id: str) -> Channel | None: ...
    async def ensure(
        self,
        *,
        name: str,
        platform: Platform,
        target: str,
        now: datetime,
        timezone: str = "UTC",
        is_dm: bool = False,
        origin: str = "command",
        digest_cron: str | None = None,
        external_id: str | None = None,
    ) -> Channel: ...
    async def subscribe(
        self,
        channel_id: int,
        topics: Sequence[str],
        mode: Mode,
        *,
        now: datetime,
        created_by: str | None = None,
        origin: str = "command",
    ) -> list[str]:
        """The topics newly subscribed (already subscribed ones are kept as they are)."""
        ...

    async def unsubscribe(self, channel_id: int, topics: Sequence[str] | None) -> int: ...
    async def resume(self, channel_id: int) -> None: ...
    async def set_digest(self, channel_id: int, cron: str | None) -> None: ...
    async def mute(self, channel_id: int, topic: str, until: datetime) -> bool: ...


class LatestItems(Protocol):
    async def latest(self, *, topic: str | None = None, limit: int = 5) -> list[Item]: ...


class CommandCountdownStore(CountdownStore, Protocol):
    """Countdowns as people add and remove them, and detected events they dismiss."""

    async def remove(self, countdown_id: int) -> bool: ...
    async def dismiss_proposal(self, proposal_id: int) -> bool: ...


class SourceCatalog(Protocol):
    """Sources as admins list, add and remove them."""

    async def all(self, *, enabled_only: bool = False) -> list[Source]: ...
    async def get(self, source_id: int) -> Source | None: ...
    async def by_url(self, url: str) -> Source | None: ...
    async def count(self, *, origin: str | None = None) -> int: ...
    async def add(self, spec: SourceSpec, *, origin: str, now: datetime) -> Source: ...
    async def remove(self, source_id: int) -> bool: ...


class ChatQueries(Protocol):
    """The query layer bound to its stores (``jobs.queries.Queries``)."""

    async def status(self, topic: str | None, now: datetime) -> Message: ...
    async def countdown_list(self, now: datetime) -> Message: ...
    async def search(self, words: str, topic: str | None, now: datetime) -> Message: ...
    async def track_proposal(
        self, proposal_id: int, now: datetime, user: str | None
    ) -> Countdown: ...
    async def queue_digest(self, channel: Channel, now: datetime) -> bool:
        """Enqueue an on-demand digest for ``channel``; False when one is already queued."""
        ...


class ChangeDecisions(Protocol):
    """Confirming or dismissing a change the news proposed for a countdown (idempotent:
    the bool says whether this call decided it)."""

    async def confirm(
        self, change_id: int, now: datetime, user: str | None
    ) -> tuple[Countdown, bool]: ...
    async def dismiss(
        self, change_id: int, now: datetime, user: str | None
    ) -> tuple[Countdown, bool]: ...


class SourceHostPolicy(Protocol):
    """Refuses (``UnsafeURLError``) a source URL the fetcher would refuse: not http(s), or a
    host on a loopback/private/link-local network or that does not resolve."""

    async def __call__(self, url: str) -> None: ...


class MetricsSink(Protocol):
    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None: ...


class BoundedWait(Protocol):
    """Within the returned block, a locked database is waited for at most ``seconds``."""

    def __call__(self, seconds: float) -> AbstractContextManager[None]: ...


@dataclass(frozen=True)
class ChatServices:
    """Everything chat code may use, built by the composition root (``App.chat``): never
    the whole app, never a concrete store or client."""

    taxonomy: Taxonomy
    clock: Clock
    channels: ChannelStore
    items: LatestItems
    countdowns: CommandCountdownStore
    sources: SourceCatalog
    outbox: OutboxWriter
    request_keys: OnceGuard
    bounded_wait: BoundedWait
    queries: ChatQueries
    changes: ChangeDecisions
    source_host: SourceHostPolicy
    source_quota: SourceAddQuota
    metrics: MetricsSink
    notifiers: Mapping[str, Notifier]
    admins: frozenset[str]
    timezone: str
    milestones: tuple[int, ...]

    def now(self) -> datetime:
        return self.clock()
