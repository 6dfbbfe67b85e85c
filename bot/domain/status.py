"""Status board assembly: per-topic activity -> :class:`StatusView` / :class:`StatusDetailView`.

Pure. The shell fetches small, indexed aggregates (latest story per topic, 7-day counts,
the newest engagement-bearing items) and this module turns them into views.

Invariants:
- a *direct engagement* is a reported (not expected, cancelled or postponed) call, meeting,
  talks, visit or summit; its day is the latest date the item gives for it that is not after
  publication, else the publication day;
- "days since" counts calendar days in UTC and is never negative;
- rows follow the taxonomy order, so the board reads the same every time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import urlsplit

from bot.domain.models import Engagement, Item, Story, ensure_utc
from bot.domain.official import side_of as official_side_of
from bot.domain.views import CountdownLine, StatusDetailView, StatusRow, StatusView

DIRECT_KINDS = frozenset({"call", "meeting", "talks", "visit", "summit"})
DETAIL_STORIES = 5
DETAIL_COUNTDOWNS = 5
_SIDE_LABELS = {"us": "US", "cn": "PRC"}


# --------------------------------------------------------------------------- engagements


def is_direct(engagement: Engagement) -> bool:
    return engagement.kind in DIRECT_KINDS and engagement.status == "reported"


def engagement_day(item: Item, engagement: Engagement) -> date:
    """The day a reported engagement happened (never after the item was published)."""
    published = ensure_utc(item.published).date()
    days = [d.end if d.end <= published else d.start for d in engagement.dates]
    past = [d for d in days if d <= published]
    return max(past) if past else published


@dataclass(frozen=True)
class EngagementSeen:
    """The most recent direct engagement found in some items."""

    day: date
    title: str
    item: Item
    engagement: Engagement


def last_engagement(items: Iterable[Item], topic: str | None = None) -> EngagementSeen | None:
    """The latest direct engagement among ``items`` (of ``topic`` when given)."""
    best: EngagementSeen | None = None
    for item in items:
        if topic is not None and topic not in item.topics:
            continue
        for engagement in item.engagements:
            if not is_direct(engagement):
                continue
            day = engagement_day(item, engagement)
            title = engagement.label or item.title
            if best is None or (day, item.published) > (best.day, best.item.published):
                best = EngagementSeen(day=day, title=title, item=item, engagement=engagement)
    return best


def days_since(day: date | None, now: datetime) -> int | None:
    if day is None:
        return None
    return max((ensure_utc(now).date() - day).days, 0)


# --------------------------------------------------------------------------- board


@dataclass(frozen=True)
class TopicActivity:
    """What the shell counted for one topic."""

    latest: Story | None = None
    latest_outlet: str | None = None
    count_7d: int = 0
    previous_7d: int = 0


def build_status(
    *,
    labels: Mapping[str, str],
    activity: Mapping[str, TopicActivity],
    engagement_items: Sequence[Item],
    now: datetime,
    topics: Sequence[str] | None = None,
) -> StatusView:
    """The board: one row per topic (``topics`` or every topic of ``labels``, in order)."""
    rows = []
    for topic in topics if topics is not None else list(labels):
        seen = activity.get(topic, TopicActivity())
        engaged = last_engagement(engagement_items, topic)
        rows.append(
            StatusRow(
                topic=topic,
                label=labels.get(topic, topic),
                latest=seen.latest,
                latest_outlet=seen.latest_outlet,
                count_7d=seen.count_7d,
                previous_7d=seen.previous_7d,
                days_since_engagement=days_since(engaged.day if engaged else None, now),
            )
        )
    overall = last_engagement(engagement_items)
    return StatusView(
        rows=tuple(rows),
        now=now,
        days_since_direct_engagement=days_since(overall.day if overall else None, now),
        last_engagement=overall.title if overall else None,
    )


def latest_outlet(story: Story | None, item: Item | None = None) -> str | None:
    """The outlet to name for a story's latest development."""
    if item is not None and item.source_name:
        return item.source_name
    if story is not None and story.outlets:
        return story.outlets[-1]
    return None


# --------------------------------------------------------------------------- sides


def side_of(url: str) -> str | None:
    """ "US", "PRC" or None for the official source behind ``url`` (``official.side_of``)."""
    side = official_side_of(url)
    return _SIDE_LABELS[side] if side is not None else None


def both_sides(items: Iterable[Item]) -> tuple[tuple[str, str, str], ...]:
    """``(side, outlet, headline)`` for the first US and the first PRC official account of one
    story, US first; empty unless both sides are present."""
    found: dict[str, Item] = {}
    for item in sorted(items, key=lambda i: (i.published, i.id or 0)):
        side = side_of(item.url)
        if side is not None and side not in found:
            found[side] = item
    if "US" not in found or "PRC" not in found:
        return ()
    return tuple(
        (
            side,
            found[side].source_name or urlsplit(found[side].url).hostname or "",
            found[side].title,
        )
        for side in ("US", "PRC")
    )


def build_status_detail(
    *,
    topic: str,
    label: str,
    stories: Sequence[Story],
    countdowns: Sequence[CountdownLine],
    engagement_items: Sequence[Item],
    story_items: Mapping[str, Sequence[Item]],
) -> StatusDetailView:
    """One topic: last five stories, upcoming countdowns, the last engagement and, for the
    most recent story that both governments reported, their accounts side by side.

    ``story_items`` maps story keys (the engagement's story first) to their items."""
    engaged = last_engagement(engagement_items, topic)
    accounts: tuple[tuple[str, str, str], ...] = ()
    order = []
    if engaged and engaged.item.story_key:
        order.append(engaged.item.story_key)
    order += [s.key for s in stories]
    for key in dict.fromkeys(order):
        accounts = both_sides(story_items.get(key, ()))
        if accounts:
            break
    title = None
    if engaged is not None:
        title = f"{engaged.title} ({engaged.day.strftime('%d %b %Y').lstrip('0')})"
    return StatusDetailView(
        topic=topic,
        label=label,
        stories=tuple(stories[:DETAIL_STORIES]),
        countdowns=tuple(countdowns[:DETAIL_COUNTDOWNS]),
        last_engagement_title=title,
        accounts=accounts,
    )


__all__ = [
    "DIRECT_KINDS",
    "EngagementSeen",
    "TopicActivity",
    "both_sides",
    "build_status",
    "build_status_detail",
    "days_since",
    "engagement_day",
    "is_direct",
    "last_engagement",
    "latest_outlet",
    "side_of",
]
