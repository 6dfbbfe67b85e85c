"""SQLModel tables. Rows are storage shapes, not domain objects: repositories map between them.

Invariants:
- every timestamp column is ``UTCDateTime`` (aware UTC in and out);
- an item is stored once per source: ``item_identity`` holds every identity key (guid, URL,
  title hash) of every stored item, primary key (source_id, identity);
- ``delivery.dedupe_key`` is unique, so enqueueing the same intent twice is a no-op;
- the schema changes only through Alembic migrations in ``storage/migrations``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


def _utc(nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, index=index)


class SourceRow(SQLModel, table=True):
    __tablename__ = "source"

    id: int | None = Field(default=None, primary_key=True)
    name: str
    url: str = Field(unique=True)
    type: str = "auto"
    interval_s: int = 900
    selector: str | None = None
    official: bool = False
    enabled: bool = True
    origin: str = "user"  # default | config | user | opml
    etag: str | None = None
    last_modified: str | None = None
    last_success: datetime | None = _utc()
    last_attempt: datetime | None = _utc()
    last_error: str | None = Field(default=None, sa_type=Text)
    last_warning: str | None = Field(default=None, sa_type=Text)
    failures: int = 0
    next_poll: datetime | None = _utc(index=True)
    baseline_done: bool = False
    item_count: int = 0
    created_at: datetime | None = _utc()


class ItemRow(SQLModel, table=True):
    __tablename__ = "item"
    __table_args__ = (
        UniqueConstraint("source_id", "key", name="uq_item_source_key"),
        Index("ix_item_relevant_published", "relevant", "published"),
    )

    id: int | None = Field(default=None, primary_key=True)
    source_id: int = Field(
        sa_column=Column(Integer, ForeignKey("source.id", ondelete="CASCADE"), nullable=False)
    )
    key: str
    guid: str | None = Field(default=None, sa_type=Text)
    url: str = Field(sa_type=Text)
    title: str = Field(sa_type=Text)
    summary: str = Field(default="", sa_type=Text)
    published: datetime = Field(sa_type=UTCDateTime, index=True)
    first_seen: datetime = Field(sa_type=UTCDateTime, index=True)
    source_name: str = ""
    official: bool = False
    language: str | None = None
    content_hash: str = ""
    relevant: bool | None = None
    topics: list[str] = Field(default_factory=list, sa_type=JSON)
    scores: dict[str, float] = Field(default_factory=dict, sa_type=JSON)
    why: dict[str, list[str]] = Field(default_factory=dict, sa_type=JSON)
    story_key: str | None = Field(default=None, index=True)
    engagements: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    is_baseline: bool = False


class ItemIdentityRow(SQLModel, table=True):
    __tablename__ = "item_identity"

    source_id: int = Field(
        sa_column=Column(Integer, ForeignKey("source.id", ondelete="CASCADE"), primary_key=True)
    )
    identity: str = Field(sa_column=Column(String(64), primary_key=True))
    item_id: int = Field(
        sa_column=Column(Integer, ForeignKey("item.id", ondelete="CASCADE"), nullable=False)
    )


class ItemTopicRow(SQLModel, table=True):
    __tablename__ = "item_topic"
    __table_args__ = (Index("ix_item_topic_topic_published", "topic", "published"),)

    item_id: int = Field(
        sa_column=Column(Integer, ForeignKey("item.id", ondelete="CASCADE"), primary_key=True)
    )
    topic: str = Field(sa_column=Column(String(40), primary_key=True))
    published: datetime = Field(sa_type=UTCDateTime)


class StoryRow(SQLModel, table=True):
    __tablename__ = "story"

    key: str = Field(primary_key=True)
    title: str = Field(sa_type=Text)
    url: str = Field(sa_type=Text)
    first_seen: datetime = Field(sa_type=UTCDateTime, index=True)
    last_seen: datetime = Field(sa_type=UTCDateTime, index=True)
    topics: list[str] = Field(default_factory=list, sa_type=JSON)
    outlets: list[str] = Field(default_factory=list, sa_type=JSON)
    official: bool = False
    item_count: int = 1
    first_item_id: int | None = None
    relevant: bool = False
    fingerprint: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class ChannelRow(SQLModel, table=True):
    __tablename__ = "channel"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    platform: str  # slack | teams | console
    target: str = Field(sa_type=Text)
    timezone: str = "UTC"
    digest_cron: str | None = None
    digest_last_slot: datetime | None = _utc()
    paused_reason: str | None = Field(default=None, sa_type=Text)
    paused_at: datetime | None = _utc()
    is_dm: bool = False
    external_id: str | None = Field(default=None, index=True)  # e.g. Teams conversation id
    origin: str = "command"  # config | command | console
    created_at: datetime | None = _utc()


class SubscriptionRow(SQLModel, table=True):
    __tablename__ = "subscription"
    __table_args__ = (UniqueConstraint("channel_id", "topic", name="uq_subscription"),)

    id: int | None = Field(default=None, primary_key=True)
    channel_id: int = Field(
        sa_column=Column(Integer, ForeignKey("channel.id", ondelete="CASCADE"), nullable=False)
    )
    topic: str
    mode: str = "realtime"
    muted_until: datetime | None = _utc()
    origin: str = "command"
    created_by: str | None = None
    created_at: datetime | None = _utc()


class DeliveryRow(SQLModel, table=True):
    """The outbox. ``status``: pending -> sending -> sent | failed | dropped."""

    __tablename__ = "delivery"
    __table_args__ = (Index("ix_delivery_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    channel_id: int = Field(
        sa_column=Column(Integer, ForeignKey("channel.id", ondelete="CASCADE"), nullable=False)
    )
    kind: str
    dedupe_key: str = Field(unique=True)
    story_key: str | None = Field(default=None, index=True)
    item_id: int | None = None
    countdown_id: int | None = None
    thread_key: str | None = None
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    status: str = "pending"
    attempts: int = 0
    next_attempt_at: datetime | None = _utc()
    claimed_by: str | None = None
    claimed_until: datetime | None = _utc()
    remote_id: str | None = None
    thread_remote_id: str | None = None
    error: str | None = Field(default=None, sa_type=Text)
    created_at: datetime | None = _utc()
    sent_at: datetime | None = _utc()


class CountdownRow(SQLModel, table=True):
    __tablename__ = "countdown"

    id: int | None = Field(default=None, primary_key=True)
    name: str
    start: date
    end: date
    tentative: bool = False
    where: str | None = None
    at: datetime | None = _utc()
    timezone: str = "UTC"
    milestones: list[int] = Field(default_factory=lambda: [30, 14, 7, 3, 1, 0], sa_type=JSON)
    origin: str = "command"  # config | command | proposal
    status: str = "active"  # active | past | cancelled
    note: str | None = Field(default=None, sa_type=Text)
    created_by: str | None = None
    created_at: datetime | None = _utc()
    follow_news: bool = False  # news may change it directly (else it only proposes)


class CountdownChangeRow(SQLModel, table=True):
    """A change the news suggests for a countdown, waiting for a person to confirm it.

    Unique per (countdown, what, start, end): a change that was confirmed or dismissed is
    never proposed again."""

    __tablename__ = "countdown_change"
    __table_args__ = (
        UniqueConstraint("countdown_id", "what", "start", "end", name="uq_countdown_change"),
    )

    id: int | None = Field(default=None, primary_key=True)
    countdown_id: int = Field(index=True)
    what: str  # confirmed | moved | narrowed | postponed | cancelled | happened
    start: date
    end: date
    tentative: bool = False
    note: str = Field(default="", sa_type=Text)
    status: str = "proposed"  # proposed | applied | dismissed | superseded
    item_id: int | None = None
    item_title: str | None = Field(default=None, sa_type=Text)
    item_url: str | None = Field(default=None, sa_type=Text)
    decided_by: str | None = None
    decided_at: datetime | None = _utc()
    created_at: datetime | None = _utc()


class ProposalRow(SQLModel, table=True):
    """An event detected in the news that a person may turn into a countdown."""

    __tablename__ = "proposal"
    __table_args__ = (UniqueConstraint("label", "start", name="uq_proposal_label_start"),)

    id: int | None = Field(default=None, primary_key=True)
    item_id: int | None = None
    story_key: str | None = None
    label: str
    kind: str = ""
    start: date
    end: date
    certainty: str = "expected"
    status: str = "proposed"  # proposed | tracked | dismissed
    countdown_id: int | None = None
    created_at: datetime | None = _utc()


class ProcessedRequestRow(SQLModel, table=True):
    """Replay guard for signed chat requests (Slack signature, Teams activity id)."""

    __tablename__ = "processed_request"

    key: str = Field(primary_key=True)
    created_at: datetime = Field(sa_type=UTCDateTime, index=True)


class LeaseRow(SQLModel, table=True):
    """A named lease so that only one of several instances runs a singleton job."""

    __tablename__ = "lease"

    name: str = Field(primary_key=True)
    holder: str
    expires_at: datetime = Field(sa_type=UTCDateTime)


ALL_TABLES = (
    SourceRow,
    ItemRow,
    ItemIdentityRow,
    ItemTopicRow,
    StoryRow,
    ChannelRow,
    SubscriptionRow,
    DeliveryRow,
    CountdownRow,
    CountdownChangeRow,
    ProposalRow,
    ProcessedRequestRow,
    LeaseRow,
)


def table_of(model: type[SQLModel]) -> Table:
    """The Core ``Table`` behind a model, for typed Core queries (``t.c.column``)."""
    return cast(Table, model.__table__)  # type: ignore[attr-defined]


source_t = table_of(SourceRow)
item_t = table_of(ItemRow)
identity_t = table_of(ItemIdentityRow)
item_topic_t = table_of(ItemTopicRow)
story_t = table_of(StoryRow)
channel_t = table_of(ChannelRow)
subscription_t = table_of(SubscriptionRow)
delivery_t = table_of(DeliveryRow)
countdown_t = table_of(CountdownRow)
countdown_change_t = table_of(CountdownChangeRow)
proposal_t = table_of(ProposalRow)
processed_request_t = table_of(ProcessedRequestRow)
lease_t = table_of(LeaseRow)
