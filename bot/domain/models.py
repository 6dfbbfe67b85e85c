"""Plain, frozen domain objects shared by every layer.

Invariants:
- every ``datetime`` here is timezone-aware and in UTC (``ensure_utc`` enforces it at the edges);
- objects are immutable; use ``dataclasses.replace`` to derive a changed copy;
- nothing here performs I/O or reads the clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal, Never, Protocol, TypeVar

SourceType = str  # a name registered in ``bot.domain.source_types``
Platform = str  # a name registered in ``bot.domain.platforms``
Mode = Literal["realtime", "digest", "both"]
Certainty = Literal["exact", "approximate", "expected"]
R_co = TypeVar("R_co", covariant=True)


def ensure_utc(value: datetime) -> datetime:
    """Return ``value`` as an aware UTC datetime (naive values are taken to be UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


# --------------------------------------------------------------------------- sources


@dataclass(frozen=True)
class SourceSpec:
    """What a user declares about a source (config file, CLI, OPML)."""

    name: str
    url: str
    type: SourceType = "auto"
    interval_s: int = 900
    selector: str | None = None  # CSS selector of item links, for ``html`` pages
    official: bool = False  # a government site (US or PRC)
    enabled: bool = True


@dataclass(frozen=True)
class FetchState:
    """What the poller remembers about a source between fetches."""

    etag: str | None = None
    last_modified: str | None = None
    last_success: datetime | None = None
    last_attempt: datetime | None = None
    last_error: str | None = None
    last_warning: str | None = None
    failures: int = 0
    next_poll: datetime | None = None
    baseline_done: bool = False  # first successful poll stores items without alerting


@dataclass(frozen=True)
class Source:
    id: int
    spec: SourceSpec
    state: FetchState = field(default_factory=FetchState)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def url(self) -> str:
        return self.spec.url


@dataclass(frozen=True)
class FetchOutcome:
    """Result of one fetch. ``ok`` is False with ``error`` (words for a person) on failure.

    ``status`` 304 means not modified: ``body`` is empty and nothing is to be parsed.
    ``retry_after_s``/``max_age_s`` come from the response headers when present.
    """

    url: str
    ok: bool
    status: int = 0
    final_url: str = ""
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    retry_after_s: float | None = None
    max_age_s: float | None = None
    elapsed_s: float = 0.0

    @property
    def not_modified(self) -> bool:
        return self.status == 304


# --------------------------------------------------------------------------- feeds


@dataclass(frozen=True)
class ParsedEntry:
    """One raw entry as read from a feed or page, before normalisation."""

    guid: str | None
    link: str | None
    title: str
    summary: str
    published: datetime | None = None
    language: str | None = None
    author: str | None = None


@dataclass(frozen=True)
class ParsedFeed:
    title: str | None
    entries: tuple[ParsedEntry, ...]
    format: str  # "rss", "atom", "json", "html", "rdf"
    warnings: tuple[str, ...] = ()
    language: str | None = None


# --------------------------------------------------------------------------- judgement


@dataclass(frozen=True)
class Classification:
    relevant: bool
    topics: tuple[str, ...] = ()
    scores: dict[str, float] = field(default_factory=dict)
    why: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class EventDate:
    """A date an item mentions, resolved against the item's publication time.

    ``start``..``end`` is the window (equal for an exact day); ``text`` is the phrase found.
    """

    text: str
    start: date
    end: date
    certainty: Certainty


@dataclass(frozen=True)
class Engagement:
    kind: str  # call | meeting | visit | talks | summit | sanctions | incident | conference
    us_parties: tuple[str, ...] = ()
    cn_parties: tuple[str, ...] = ()
    dates: tuple[EventDate, ...] = ()
    label: str = ""  # short human name, e.g. "Biden–Xi call", "COP29"
    status: str = "reported"  # reported | expected | cancelled | postponed


# --------------------------------------------------------------------------- items and stories


@dataclass(frozen=True)
class Item:
    """A normalised news item. ``key`` is its identity (unique per source)."""

    key: str
    source_id: int
    url: str
    title: str
    summary: str
    published: datetime
    first_seen: datetime
    source_name: str = ""
    official: bool = False
    language: str | None = None
    guid: str | None = None
    content_hash: str = ""
    id: int | None = None
    classification: Classification | None = None
    story_key: str | None = None
    engagements: tuple[Engagement, ...] = ()

    @property
    def relevant(self) -> bool:
        return bool(self.classification and self.classification.relevant)

    @property
    def topics(self) -> tuple[str, ...]:
        return self.classification.topics if self.classification else ()


@dataclass(frozen=True)
class Story:
    """Items from several outlets reporting one event."""

    key: str
    title: str
    url: str
    first_seen: datetime
    last_seen: datetime
    topics: tuple[str, ...] = ()
    outlets: tuple[str, ...] = ()
    official: bool = False
    item_count: int = 1
    first_item_id: int | None = None


# --------------------------------------------------------------------------- delivery


@dataclass(frozen=True)
class Channel:
    """A place messages go to: a Slack channel or DM, a Teams channel, or the console."""

    id: int
    name: str
    platform: Platform
    target: str = field(repr=False)  # Slack channel/user id, Teams webhook URL (secret), "stdout"
    timezone: str = "UTC"
    digest_cron: str | None = None  # standard cron, 0 = Sunday
    paused_reason: str | None = None
    is_dm: bool = False
    external_id: str | None = None  # Teams conversation id of a webhook channel


@dataclass(frozen=True)
class Subscription:
    id: int
    channel_id: int
    topic: str  # a topic id, or "*" for all topics
    mode: Mode = "realtime"
    muted_until: datetime | None = None


@dataclass(frozen=True)
class Countdown:
    id: int
    name: str
    start: date
    end: date  # == start unless tentative window
    tentative: bool = False
    where: str | None = None
    at: datetime | None = None  # exact time when known (UTC)
    timezone: str = "UTC"
    milestones: tuple[int, ...] = (30, 14, 7, 3, 1, 0)
    source: str = "config"  # config | command | proposal
    status: str = "active"  # active | past | cancelled
    note: str | None = None
    follow_news: bool = False  # news may change it directly; otherwise it only proposes


@dataclass(frozen=True)
class Proposal:
    """An event detected in the news and offered as a countdown (tracked once confirmed)."""

    id: int
    label: str
    kind: str
    start: date
    end: date
    certainty: str
    status: str
    item_id: int | None = None
    story_key: str | None = None
    countdown_id: int | None = None


@dataclass(frozen=True)
class CountdownChange:
    """A change the news suggests for a countdown a person owns (confirmed or dismissed)."""

    id: int
    countdown_id: int
    what: str
    start: date
    end: date
    tentative: bool
    note: str
    status: str
    item_id: int | None = None
    item_title: str | None = None
    item_url: str | None = None
    decided_by: str | None = None


# A channel's ``paused_reason`` starting with this was a workspace-wide pause (every channel
# of the platform); resuming one channel of it resumes them all.
WORKSPACE_PREFIX = "workspace: "


@dataclass(frozen=True)
class Delivery:
    """One recorded post of the outbox (``pending`` -> ``sending`` -> ``sent``/``failed``)."""

    id: int
    channel_id: int
    kind: str
    dedupe_key: str
    payload: dict[str, Any]
    status: str
    attempts: int
    story_key: str | None = None
    item_id: int | None = None
    countdown_id: int | None = None
    thread_key: str | None = None
    remote_id: str | None = None
    error: str | None = None
    created_at: datetime | None = None
    was_sending: bool = False  # claimed before and never finished: reconcile before resending


@dataclass(frozen=True)
class SentDelivery:
    """What a sent post left behind: where it went, its dedupe key and its remote id."""

    channel_id: int
    dedupe_key: str
    remote_id: str | None
    sent_at: datetime | None


# --------------------------------------------------------------------------- neutral messages


@dataclass(frozen=True)
class Text:
    """Untrusted plain text; every renderer escapes it for its platform."""

    text: str


@dataclass(frozen=True)
class Strong:
    text: str


@dataclass(frozen=True)
class Link:
    """A hyperlink; renderers drop it to plain ``label`` unless ``url`` is http(s)."""

    url: str
    label: str


@dataclass(frozen=True)
class When:
    """A point in time; Slack renders it in the reader's timezone."""

    at: datetime
    style: Literal["date", "datetime", "ago"] = "datetime"


Span = Text | Strong | Link | When


@dataclass(frozen=True)
class Header:
    text: str


@dataclass(frozen=True)
class Paragraph:
    spans: tuple[Span, ...]


@dataclass(frozen=True)
class Fields:
    pairs: tuple[tuple[str, tuple[Span, ...]], ...]


@dataclass(frozen=True)
class Context:
    spans: tuple[Span, ...]


@dataclass(frozen=True)
class Divider:
    pass


@dataclass(frozen=True)
class Button:
    label: str
    action_id: str
    value: str = ""
    url: str | None = None
    style: Literal["primary", "danger"] | None = None


@dataclass(frozen=True)
class Actions:
    buttons: tuple[Button, ...]


@dataclass(frozen=True)
class Image:
    url: str
    alt: str


Block = Header | Paragraph | Fields | Context | Divider | Actions | Image


class BlockRenderer(Protocol[R_co]):
    """One method per block kind: every renderer of ``Message`` blocks implements this.

    Adding a block kind = its dataclass above, ``Block``, one method here and one branch in
    ``render_block``; the type checker then names every renderer that does not handle it yet."""

    def header(self, block: Header) -> R_co: ...
    def paragraph(self, block: Paragraph) -> R_co: ...
    def fields(self, block: Fields) -> R_co: ...
    def context(self, block: Context) -> R_co: ...
    def divider(self, block: Divider) -> R_co: ...
    def actions(self, block: Actions) -> R_co: ...
    def image(self, block: Image) -> R_co: ...


def render_block(block: Block, renderer: BlockRenderer[R_co]) -> R_co:
    """``renderer``'s method for ``block``'s kind applied to it: the one block dispatch."""
    if isinstance(block, Header):
        return renderer.header(block)
    if isinstance(block, Paragraph):
        return renderer.paragraph(block)
    if isinstance(block, Fields):
        return renderer.fields(block)
    if isinstance(block, Context):
        return renderer.context(block)
    if isinstance(block, Divider):
        return renderer.divider(block)
    if isinstance(block, Actions):
        return renderer.actions(block)
    if isinstance(block, Image):
        return renderer.image(block)
    unhandled: Never = block  # a Block kind without a branch above fails type checking
    raise TypeError(f"unknown block: {type(unhandled).__name__}")


@dataclass(frozen=True)
class Message:
    """A platform-neutral message. ``fallback`` is the plain-text version of the whole."""

    fallback: str
    blocks: tuple[Block, ...] = ()
    kind: str = "info"  # alert | followup | digest | countdown | proposal | status | help | error
