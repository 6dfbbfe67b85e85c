"""Inputs of rendering: plain, frozen views assembled from storage by the jobs and commands.

Invariants:
- views hold data only; every phrase that depends on the clock is either computed by the
  caller (``CountdownLine.phrase``) or computed by the renderer from an explicit ``now``;
- datetimes are timezone-aware UTC like everywhere in the domain.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.domain.models import Countdown, Item, Source, Story


@dataclass(frozen=True)
class AlertView:
    """One real-time alert (or, with ``followup``, a compact thread reply for the same story).

    ``outlet_count`` is how many outlets have reported the story so far (1 = only this one).
    ``subscribe_topic`` is the topic the Subscribe/Mute buttons act on (default: first topic).
    """

    story: Story
    item: Item
    topic_labels: tuple[str, ...]
    outlet_count: int
    followup: bool = False
    subscribe_topic: str | None = None


@dataclass(frozen=True)
class ChangeView:
    """A change the news suggests for a person's countdown, waiting for Confirm or Dismiss.

    ``proposal`` says what would change ("Now expected between 11 Dec 2026 and 15 Jan 2027
    (Reuters)."), ``current`` what the countdown says today."""

    change_id: int
    countdown_id: int
    countdown_name: str
    proposal: str
    current: str
    item_title: str | None = None
    item_url: str | None = None


@dataclass(frozen=True)
class CountdownLine:
    """A countdown with its day count (``None`` for a window not yet open) and a ready phrase."""

    countdown: Countdown
    days: int | None
    phrase: str  # "in 71 days", "expected between 1 Sep and 31 Oct 2024", "today", "3 days ago"


@dataclass(frozen=True)
class DigestSection:
    """One topic of a digest. ``stories`` are those shown; ``more`` counts the ones left out.

    ``count`` / ``previous_count`` are the story counts of this period and the one before.
    """

    topic: str
    label: str
    stories: tuple[Story, ...]
    more: int
    count: int
    previous_count: int


@dataclass(frozen=True)
class DigestView:
    """A scheduled digest for one channel. No sections means a quiet period."""

    channel_name: str
    period_start: datetime
    period_end: datetime
    timezone: str
    sections: tuple[DigestSection, ...]
    countdowns: tuple[CountdownLine, ...]
    weekly: bool = False
    chart_url: str | None = None


@dataclass(frozen=True)
class StatusRow:
    """One topic line of the status board."""

    topic: str
    label: str
    latest: Story | None
    latest_outlet: str | None
    count_7d: int
    previous_7d: int
    days_since_engagement: int | None


@dataclass(frozen=True)
class StatusView:
    rows: tuple[StatusRow, ...]
    now: datetime
    days_since_direct_engagement: int | None
    last_engagement: str | None


@dataclass(frozen=True)
class StatusDetailView:
    """The status of one topic. ``accounts`` are (side "US"/"PRC", outlet, headline or URL)."""

    topic: str
    label: str
    stories: tuple[Story, ...]
    countdowns: tuple[CountdownLine, ...]
    last_engagement_title: str | None
    accounts: tuple[tuple[str, str, str], ...] = ()


@dataclass(frozen=True)
class ProposalView:
    """A detected dated event offered as a countdown ("Track this")."""

    label: str
    window_phrase: str
    item: Item
    proposal_id: int


@dataclass(frozen=True)
class TopicEntry:
    """A topic of the taxonomy as listed by ``topics``."""

    id: str
    label: str
    description: str = ""


@dataclass(frozen=True)
class SubscriptionRow:
    """One subscription as listed by ``subscriptions``.

    ``topic`` is a topic id or ``"*"``; ``where`` names the target ("#china-desk", "you").
    """

    topic: str
    label: str
    mode: str = "realtime"
    muted_until: datetime | None = None
    where: str = ""
    digest_time: str | None = None  # e.g. "08:00 America/New_York"


@dataclass(frozen=True)
class SourceRow:
    """One source as listed by ``sources list`` (``items_7d`` when the caller counted them)."""

    source: Source
    items_7d: int | None = None
