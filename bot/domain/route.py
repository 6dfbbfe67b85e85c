"""Who gets what: items and stories become delivery intents (nothing is sent here).

Invariants:
- pure and deterministic: the same inputs give the same intents in the same order (the order
  of ``channels``);
- at most one intent per channel per item, however many subscriptions match;
- ``dedupe_key`` is stable across retries and restarts, so a unique constraint on it makes
  enqueueing idempotent: one alert per (channel, story), one follow-up per (channel, item).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from bot.domain.models import Channel, Item, Story, Subscription, ensure_utc

__all__ = [
    "BurstTally",
    "DeliveryIntent",
    "FollowupBudget",
    "IntentKind",
    "RoutedBatch",
    "alert_key",
    "burst_summary_intent",
    "cap_alerts",
    "cap_burst",
    "enqueue_rank",
    "followup_key",
    "route_batch",
    "route_item",
    "subscriptions_by_topic",
    "subscriptions_for",
    "updates_summary_intent",
    "wants_realtime",
]

IntentKind = Literal["alert", "followup", "burst_summary"]
ALL_TOPICS = "*"
THREAD_REPLY_KINDS = frozenset({"followup"})  # posted in the thread of the story's alert


def enqueue_rank(kind: str) -> int:
    """Sort key of deliveries enqueued together: replies after everything else (order
    otherwise kept), so a follow-up never gets a lower outbox id than its parent alert --
    the delivery worker posts in id order and threads a follow-up under its parent."""
    return 1 if kind in THREAD_REPLY_KINDS else 0


@dataclass(frozen=True)
class DeliveryIntent:
    """One message to post: an alert for a story, a threaded follow-up, or a burst summary."""

    channel_id: int
    kind: IntentKind
    story_key: str
    item_id: int | None
    dedupe_key: str


def alert_key(channel_id: int, story_key: str) -> str:
    return f"alert:{channel_id}:{story_key}"


def followup_key(channel_id: int, item_key: str) -> str:
    return f"followup:{channel_id}:{item_key}"


def wants_realtime(
    subscription: Subscription, topics: Sequence[str] | set[str], now: datetime
) -> bool:
    """Whether ``subscription`` asks for real-time posts about any of ``topics`` right now."""
    if subscription.mode not in ("realtime", "both"):
        return False
    if subscription.muted_until is not None and ensure_utc(subscription.muted_until) > now:
        return False
    return subscription.topic == ALL_TOPICS or subscription.topic in topics


def subscriptions_by_topic(
    subscriptions: Sequence[Subscription],
) -> dict[str, list[Subscription]]:
    """``subscriptions`` grouped by topic ("*" under its own key), order kept within each."""
    grouped: dict[str, list[Subscription]] = {}
    for sub in subscriptions:
        grouped.setdefault(sub.topic, []).append(sub)
    return grouped


def subscriptions_for(
    by_topic: dict[str, list[Subscription]], topics: Sequence[str]
) -> list[Subscription]:
    """The only subscriptions of ``by_topic`` that can want an item about ``topics``: those
    to one of them or to "*". Routing with these gives the same intents as with all."""
    found = list(by_topic.get(ALL_TOPICS, ()))
    for topic in dict.fromkeys(topics):
        if topic != ALL_TOPICS:
            found.extend(by_topic.get(topic, ()))
    return found


def route_item(
    item: Item,
    story: Story,
    *,
    is_new_story: bool,
    channels: Sequence[Channel],
    subscriptions: Sequence[Subscription],
    alerted_channels: set[int],
    now: datetime,
) -> list[DeliveryIntent]:
    """Intents for one freshly stored item of ``story``.

    A relevant item goes to every channel that has an unmuted realtime/both subscription to
    one of the item's topics (or to "*"). The channel gets a "followup" (threaded under its
    first alert) if it already had an alert for this story, else an "alert". A new story
    has no earlier alerts, whatever ``alerted_channels`` says.
    Irrelevant items route nowhere. A paused channel is routed to as well: its deliveries wait
    in the outbox for the resume (and expire when too old), so a pause loses nothing.
    """
    if not item.relevant or not item.topics:
        return []
    now_utc = ensure_utc(now)
    topics = set(item.topics)
    wanted = {sub.channel_id for sub in subscriptions if wants_realtime(sub, topics, now_utc)}
    intents: list[DeliveryIntent] = []
    seen: set[int] = set()
    for channel in channels:
        if channel.id in seen or channel.id not in wanted:
            continue
        seen.add(channel.id)
        if not is_new_story and channel.id in alerted_channels:
            intents.append(
                DeliveryIntent(
                    channel.id, "followup", story.key, item.id, followup_key(channel.id, item.key)
                )
            )
        else:
            intents.append(
                DeliveryIntent(
                    channel.id, "alert", story.key, item.id, alert_key(channel.id, story.key)
                )
            )
    return intents


@dataclass
class RoutedBatch:
    """:func:`route_batch`'s result: per item the intents kept, and the cycle's counts."""

    intents: list[list[DeliveryIntent]]
    queued: dict[int, int]
    held: dict[int, int]
    held_topics: dict[int, set[str]]


def route_batch(
    members: Sequence[tuple[Item, Story, bool]],
    *,
    channels: Sequence[Channel],
    subscriptions: Sequence[Subscription],
    alerted: Mapping[str, set[int]],
    per_channel_limit: int,
    queued: Mapping[int, int],
    now: datetime,
) -> RoutedBatch:
    """:func:`route_item` for each ``(item, story, is_new_story)`` in order, then
    :func:`cap_alerts` over all their intents, in one pass that never builds the alerts the
    cap drops (a flood of 1,000 items x 500 channels routes ~200,000 alerts and keeps 2,500).

    ``alerted`` gives, per story key, the channels that had an alert for it before this batch
    (not changed). As with routing item by item, an alert routed earlier in the batch makes
    the channel's later items of the same story follow-ups, whether or not the cap kept it.
    The same intents, counts and order as the two-step path (property test); ``held_topics``
    are the topics of the held items, per channel.
    """
    if per_channel_limit < 0:
        raise ValueError("per_channel_limit must be 0 or more")
    now_utc = ensure_utc(now)
    position: dict[int, int] = {}
    for index, channel in enumerate(channels):
        position.setdefault(channel.id, index)
    by_topic: dict[str, set[int]] = {}  # realtime channels per subscribed topic ("*" too)
    for sub in subscriptions:
        if sub.channel_id in position and wants_realtime(sub, (sub.topic,), now_utc):
            by_topic.setdefault(sub.topic, set()).add(sub.channel_id)
    everything = by_topic.get(ALL_TOPICS, set())
    counts = dict(queued)
    full = {c for c in position if counts.get(c, 0) >= per_channel_limit}
    held: Counter[int] = Counter()
    held_by_topic: dict[str, set[int]] = {}  # channels that lost an item about the topic
    story_alerted: dict[str, set[int]] = {}
    out: list[list[DeliveryIntent]] = []
    for item, story, is_new_story in members:
        if not item.relevant or not item.topics:
            out.append([])
            continue
        wanted = set(everything)
        for topic in item.topics:
            if topic != ALL_TOPICS:
                wanted.update(by_topic.get(topic, ()))
        seen = story_alerted.get(story.key)
        if seen is None:
            seen = story_alerted[story.key] = set(alerted.get(story.key, ()))
        if is_new_story:
            followups, alerts = set(), wanted
        else:
            followups, alerts = wanted & seen, wanted - seen
        seen |= alerts
        dropped = alerts & full
        if dropped:
            held.update(dropped)  # counted in C: a flood drops ~200 channels per item
            for topic in item.topics:
                held_by_topic.setdefault(topic, set()).update(dropped)
        kept: list[tuple[int, DeliveryIntent]] = [
            (
                position[c],
                DeliveryIntent(c, "followup", story.key, item.id, followup_key(c, item.key)),
            )
            for c in followups
        ]
        for channel_id in alerts - dropped if dropped else alerts:
            count = counts.get(channel_id, 0) + 1
            counts[channel_id] = count
            if count >= per_channel_limit:
                full.add(channel_id)
            kept.append(
                (
                    position[channel_id],
                    DeliveryIntent(
                        channel_id,
                        "alert",
                        story.key,
                        item.id,
                        alert_key(channel_id, story.key),
                    ),
                )
            )
        kept.sort(key=lambda pair: pair[0])
        out.append([intent for _, intent in kept])
    held_topics: dict[int, set[str]] = {channel_id: set() for channel_id in held}
    for topic, channel_ids in held_by_topic.items():
        for channel_id in channel_ids:
            held_topics[channel_id].add(topic)
    return RoutedBatch(out, counts, dict(held), held_topics)


def cap_burst(
    intents: Sequence[DeliveryIntent], per_channel_limit: int
) -> tuple[list[DeliveryIntent], dict[int, int]]:
    """Keep at most ``per_channel_limit`` alerts per channel (first ones win, order kept).

    Follow-ups and summaries are never dropped. Returns the kept intents and, for each channel
    that overflowed, how many alerts were dropped (a burst summary is posted instead).
    :func:`cap_alerts` is the same with the count already queued earlier in the cycle.
    """
    kept, overflow, _ = cap_alerts(intents, per_channel_limit, {})
    return kept, overflow


def cap_alerts(
    intents: Sequence[DeliveryIntent], per_channel_limit: int, queued: Mapping[int, int]
) -> tuple[list[DeliveryIntent], dict[int, int], dict[int, int]]:
    """:func:`cap_burst` within a poll cycle: ``queued`` counts, per channel, the alerts the
    cycle already queued (from earlier sources), so the limit holds per channel per cycle.

    Returns the kept intents, the alerts dropped per channel, and the updated count (a new
    dict; ``queued`` is not changed). Splitting a cycle's intents into several calls, each
    given the count the previous one returned, keeps and drops exactly what one call on all
    of them would.
    """
    if per_channel_limit < 0:
        raise ValueError("per_channel_limit must be 0 or more")
    kept: list[DeliveryIntent] = []
    alerts = dict(queued)
    overflow: dict[int, int] = {}
    for intent in intents:
        if intent.kind != "alert":
            kept.append(intent)
            continue
        count = alerts.get(intent.channel_id, 0)
        if count < per_channel_limit:
            alerts[intent.channel_id] = count + 1
            kept.append(intent)
        else:
            overflow[intent.channel_id] = overflow.get(intent.channel_id, 0) + 1
    return kept, overflow, alerts


@dataclass(frozen=True)
class BurstTally:
    """One poll cycle's count so far, per channel id (plain data, never mutated).

    ``alerts``: alerts queued; ``held``: alerts held back by the per-channel cap, with the
    topics of the held items in ``held_topics``; ``held_updates``: follow-ups held back by
    the follow-up budget. ``bot.domain.ingest.decide`` takes the cycle's tally and returns
    the next one; when the cycle ends, ``bot.domain.ingest.cycle_summaries`` turns it into at
    most one burst summary and one "more updates" summary per channel.
    """

    alerts: Mapping[int, int] = field(default_factory=dict)
    held: Mapping[int, int] = field(default_factory=dict)
    held_topics: Mapping[int, frozenset[str]] = field(default_factory=dict)
    held_updates: Mapping[int, int] = field(default_factory=dict)

    def owes_summary(self) -> bool:
        """Whether something was held back (the cycle ends with a summary)."""
        return bool(self.held or self.held_updates)


def burst_summary_intent(channel_id: int, cycle_key: str) -> DeliveryIntent:
    """The summary posted instead of a channel's overflowing alerts in one poll cycle.

    ``cycle_key`` names the poll cycle (e.g. its start time in ISO form), so the summary is
    enqueued once per channel per cycle.
    """
    return DeliveryIntent(channel_id, "burst_summary", "", None, f"burst:{channel_id}:{cycle_key}")


@dataclass
class FollowupBudget:
    """How many more threaded follow-ups may be queued, so that a burst stays a burst.

    At most ``per_story`` follow-ups per (channel, story) within the window the shell counted
    ``recent`` over (an hour), and at most ``per_cycle`` per channel in one poll cycle (the
    life of this object). A republished feed of 500 items thus gives a handful of follow-ups
    per story and one "and N more updates" summary per channel, not 500 thread posts.
    Mutable like the open-stories view: ``take`` records what it lets through.
    """

    per_story: int
    per_cycle: int
    recent: dict[tuple[int, str], int] = field(default_factory=dict)
    cycle: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.per_story < 0 or self.per_cycle < 0:
            raise ValueError("follow-up limits must be 0 or more")

    def take(
        self, intents: Sequence[DeliveryIntent]
    ) -> tuple[list[DeliveryIntent], dict[int, int]]:
        """The intents to queue (order kept; alerts and summaries always pass) and, per
        channel, how many follow-ups were held back (to be summarised)."""
        kept: list[DeliveryIntent] = []
        held: dict[int, int] = {}
        for intent in intents:
            if intent.kind != "followup":
                kept.append(intent)
                continue
            channel, story = intent.channel_id, (intent.channel_id, intent.story_key)
            if (
                self.recent.get(story, 0) >= self.per_story
                or self.cycle.get(channel, 0) >= self.per_cycle
            ):
                held[channel] = held.get(channel, 0) + 1
                continue
            self.recent[story] = self.recent.get(story, 0) + 1
            self.cycle[channel] = self.cycle.get(channel, 0) + 1
            kept.append(intent)
        return kept, held


def updates_summary_intent(channel_id: int, cycle_key: str) -> DeliveryIntent:
    """The one "and N more updates" post for follow-ups held back in a cycle."""
    return DeliveryIntent(
        channel_id, "burst_summary", "", None, f"updates:{channel_id}:{cycle_key}"
    )
