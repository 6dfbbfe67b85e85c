"""The query layer: the status board, digests, countdowns, search, proposals, read for people.

Each function gathers small, indexed aggregates from the store, hands them to the pure
assembly in ``bot.domain.digest`` / ``bot.domain.status`` and renders a neutral ``Message``.
Commands, the scheduler and the CLI all come through here, so every surface shows the same.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot.domain import platforms
from bot.domain.codec import message_to_dict
from bot.domain.digest import (
    DIGEST_COUNTDOWNS,
    build_digest,
    chart_png,
    countdown_line,
    digest_period,
    upcoming_lines,
    weekly_series,
)
from bot.domain.errors import CommandError, ConfigError
from bot.domain.models import Channel, Context, Countdown, Item, Message, Story, Text
from bot.domain.ports import (
    ChannelReader,
    CountdownStore,
    InsightStore,
    ItemSearch,
    OutboxWriter,
    StoryReader,
)
from bot.domain.render import (
    render_countdown_list,
    render_digest,
    render_search,
    render_status,
    render_status_detail,
)
from bot.domain.schedule import CronSpec, is_past, parse_cron
from bot.domain.status import (
    TopicActivity,
    build_status,
    build_status_detail,
    last_engagement,
    latest_outlet,
)
from bot.domain.taxonomy import Taxonomy
from bot.domain.views import CountdownLine
from jobs.countdown import pending_changes

log = logging.getLogger(__name__)

WEEK = timedelta(days=7)
ENGAGEMENT_LOOKBACK = timedelta(days=365)
OVERALL_ENGAGEMENTS = 120  # newest engagement-bearing items read for the whole board
# Per-topic fallback when a topic had no engagement among the newest overall: bounded walk.
TOPIC_ENGAGEMENT_LOOKBACK = timedelta(days=90)
CHART_WEEKS = 8
CHART_FILENAME = "uschina-weekly.png"
# A data: URI larger than this would crowd the digest out of one Teams message.
TEAMS_CHART_LIMIT = 12_000
SEARCH_LIMIT = 25


@dataclass(frozen=True)
class QueryPorts:
    """What the query layer reads and writes, as the composition root wires it
    (``App.query_ports``), and the settings it renders with."""

    channels: ChannelReader
    countdowns: CountdownStore
    stories: StoryReader
    items: ItemSearch
    deliveries: OutboxWriter
    insights: InsightStore
    taxonomy: Taxonomy
    timezone: str = "UTC"  # of countdowns tracked from proposals
    milestones: tuple[int, ...] = (30, 14, 7, 3, 1, 0)  # of countdowns tracked from proposals
    digest_top: int = 5


def topic_labels(ports: QueryPorts) -> dict[str, str]:
    """Topic id -> label, in taxonomy order."""
    return {topic.id: topic.label for topic in ports.taxonomy.topics}


def resolve_topic(ports: QueryPorts, name: str, usage: str) -> str:
    """The topic id for an id, label or alias; ``CommandError`` (with a suggestion) if none."""
    found = ports.taxonomy.resolve_topic(name)
    if found is not None:
        return found
    suggestion = ports.taxonomy.suggest_topic(name)
    hint = f" (did you mean {suggestion}?)" if suggestion else " (try `topics`)"
    raise CommandError(f"unknown topic '{name}'{hint}", usage=usage)


async def channel_topics(
    channels: ChannelReader, channel: Channel, modes: tuple[str, ...] = ()
) -> list[str]:
    """Topics a channel follows (``"*"`` = all): its subscriptions of ``modes`` if it has any,
    else all its subscriptions, else every topic."""
    subs = await channels.subscriptions([channel.id])
    chosen = [s for s in subs if s.mode in modes] if modes else []
    return [s.topic for s in (chosen or subs)] or ["*"]


def _cron_of(channel: Channel) -> CronSpec | None:
    if not channel.digest_cron:
        return None
    try:
        return parse_cron(channel.digest_cron)
    except ConfigError:
        log.warning("channel %s: bad digest cron %r", channel.name, channel.digest_cron)
        return None


# --------------------------------------------------------------------------- countdowns


async def countdown_lines(ports: QueryPorts, now: datetime) -> tuple[CountdownLine, ...]:
    """Active countdowns not over yet, soonest first, with their phrases as of ``now``."""
    return upcoming_lines(await ports.countdowns.all(), now)


async def past_lines(ports: QueryPorts, now: datetime) -> tuple[CountdownLine, ...]:
    """Countdowns that are over as of ``now`` (retired or not yet), most recent first; they
    are kept until removed."""
    past = await ports.countdowns.all(status="past")
    past += [c for c in await ports.countdowns.all() if is_past(c, now)]
    past.sort(key=lambda c: (c.end, c.id), reverse=True)
    return tuple(countdown_line(c, now) for c in past)


async def countdown_list_message(ports: QueryPorts, now: datetime) -> Message:
    """Upcoming countdowns, the changes the news proposes for them, and past ones."""

    return render_countdown_list(
        await countdown_lines(ports, now),
        await pending_changes(ports.countdowns),
        await past_lines(ports, now),
    )


async def track_proposal(
    ports: QueryPorts, proposal_id: int, now: datetime, user: str | None
) -> Countdown:
    """Turn a proposal into a countdown and mark it tracked. Idempotent: tracking it again
    (a second click, a replayed request) returns the same countdown."""
    countdowns = ports.countdowns
    proposal = await countdowns.proposal(proposal_id)
    if proposal is None:
        raise CommandError(f"no detected event #{proposal_id}", usage="countdown")
    if proposal.countdown_id is not None:
        existing = await countdowns.get(proposal.countdown_id)
        if existing is not None:
            return existing
    countdown = await countdowns.by_name(proposal.label)
    if countdown is None:
        countdown = await countdowns.add(
            name=proposal.label,
            start=proposal.start,
            end=proposal.end,
            tentative=proposal.certainty != "exact" or proposal.start != proposal.end,
            now=now,
            timezone=ports.timezone,
            milestones=ports.milestones,
            origin="proposal",
            created_by=user,
            follow_news=True,
        )
    await countdowns.mark_tracked(proposal_id, countdown.id)
    return countdown


# --------------------------------------------------------------------------- status


def _dated_story(story: Story, item: Item, now: datetime) -> Story:
    """The story as it stood at ``now`` (a frozen clock may sit before its later items)."""
    if story.last_seen <= now:
        return story
    return replace(story, last_seen=max(min(item.published, now), story.first_seen))


def _story_of_item(item: Item) -> Story:
    return Story(
        key=item.story_key or f"item:{item.id}",
        title=item.title,
        url=item.url,
        first_seen=item.first_seen,
        last_seen=item.published,
        topics=item.topics,
        outlets=(item.source_name,) if item.source_name else (),
        official=item.official,
    )


async def _engagement_items(repo: InsightStore, topics: list[str], now: datetime) -> list[Item]:
    """Newest items reporting direct engagements: overall, then per topic still missing."""
    found = await repo.engagement_items(now - ENGAGEMENT_LOOKBACK, now, limit=OVERALL_ENGAGEMENTS)
    for topic in topics:
        if last_engagement(found, topic) is None:
            found += await repo.engagement_items(
                now - TOPIC_ENGAGEMENT_LOOKBACK, now, topic=topic, limit=20
            )
    return found


async def status_board(ports: QueryPorts, now: datetime) -> Message:
    repo = ports.insights
    labels = topic_labels(ports)
    topics = list(labels)
    # Independent reads, run side by side (each on its own pooled connection).
    latest, counts, engagement_items = await asyncio.gather(
        repo.latest_per_topic(topics, now),
        repo.story_counts(topics, now - 2 * WEEK, now - WEEK, now),
        _engagement_items(repo, topics, now),
    )
    stories = await ports.stories.many(i.story_key for i in latest.values() if i.story_key)
    activity = {}
    for topic in topics:
        item = latest.get(topic)
        story = None
        if item is not None:
            known = stories.get(item.story_key or "")
            story = _dated_story(known, item, now) if known else _story_of_item(item)
        current, previous = counts.get(topic, (0, 0))
        activity[topic] = TopicActivity(
            latest=story,
            latest_outlet=latest_outlet(story, item),
            count_7d=current,
            previous_7d=previous,
        )
    view = build_status(
        labels=labels,
        activity=activity,
        engagement_items=engagement_items,
        now=now,
    )
    return render_status(view)


async def status_detail(ports: QueryPorts, topic: str, now: datetime) -> Message:
    repo = ports.insights
    keys = await repo.recent_story_keys(topic, now, 5)
    found = await ports.stories.many(keys)
    stories = [found[k] for k in keys if k in found]
    engaged = await repo.engagement_items(now - ENGAGEMENT_LOOKBACK, now, topic=topic, limit=50)
    seen = last_engagement(engaged, topic)
    first = [seen.item.story_key] if seen and seen.item.story_key else []
    story_items = await repo.items_of_stories(first + keys)
    view = build_status_detail(
        topic=topic,
        label=ports.taxonomy.label(topic),
        stories=stories,
        countdowns=upcoming_lines(await ports.countdowns.all(), now),
        engagement_items=engaged,
        story_items=story_items,
    )
    return render_status_detail(view)


async def status_message(ports: QueryPorts, topic: str | None, now: datetime) -> Message:
    """The status board, or with ``topic`` (id, label or alias) that topic's detail."""
    if topic is None or not topic.strip():
        return await status_board(ports, now)
    return await status_detail(ports, resolve_topic(ports, topic, "status [TOPIC]"), now)


# --------------------------------------------------------------------------- digests


async def weekly_chart(ports: QueryPorts, channel: Channel, end: datetime) -> bytes:
    """PNG of the channel's stories per issue over the ``CHART_WEEKS`` weeks before ``end``."""
    rows = await ports.insights.story_topics_between(end - CHART_WEEKS * WEEK, end)
    series, starts = weekly_series(
        rows,
        end=end,
        topics=await channel_topics(ports.channels, channel, ("digest", "both")),
        labels=topic_labels(ports),
        weeks=CHART_WEEKS,
    )
    return chart_png(series, starts)


def chart_data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


async def digest_message(
    ports: QueryPorts,
    channel: Channel,
    now: datetime,
    since: timedelta | None = None,
    *,
    slot: datetime | None = None,
    chart: bool = False,
) -> Message:
    """The digest ``channel`` gets at ``slot`` (scheduled) or ``now`` (asked for).

    Period: ``since`` when given, else since the previous slot of the channel's cron (24 h
    without one; 7 days for a weekly cron). With ``chart``, a weekly digest for Teams carries
    the chart as a data: URI when it fits (Slack gets it uploaded by the digest job)."""
    end = slot or now
    spec = _cron_of(channel)
    start, end, weekly = digest_period(
        spec, channel.timezone, end, since=since, at_slot=slot is not None
    )
    topics = await channel_topics(ports.channels, channel, ("digest", "both"))
    stories = await ports.stories.between(start, end)
    previous = await ports.stories.between(start - (end - start), start)
    chart_url, note = None, None
    if chart and weekly and platforms.get(channel.platform).inline_charts:
        uri = chart_data_uri(await weekly_chart(ports, channel, end))
        if len(uri) <= TEAMS_CHART_LIMIT:
            chart_url = uri
        else:
            note = "The weekly chart was left out: too large for a Teams message."
    view = build_digest(
        channel_name=channel.name,
        timezone=channel.timezone,
        period_start=start,
        period_end=end,
        stories=stories,
        previous_stories=previous,
        topics=topics,
        labels=topic_labels(ports),
        countdowns=upcoming_lines(await ports.countdowns.all(), end, DIGEST_COUNTDOWNS),
        top=ports.digest_top,
        weekly=weekly,
        chart_url=chart_url,
    )
    message = render_digest(view, end)
    if note:
        message = replace(message, blocks=(*message.blocks, Context((Text(note),))))
    return message


def digest_key(channel: Channel, now: datetime, slot: datetime | None) -> str:
    if slot is not None:
        return f"digest:{channel.id}:{slot.isoformat()}"
    return f"digest-now:{channel.id}:{now.isoformat()}"


async def queue_digest(
    ports: QueryPorts, channel: Channel, now: datetime, slot: datetime | None = None
) -> bool:
    """Enqueue the digest of ``slot`` (or an on-demand one); False if already enqueued."""
    key = digest_key(channel, now, slot)
    if await ports.deliveries.exists(key):
        return False
    message = await digest_message(ports, channel, now, slot=slot, chart=True)
    return await ports.deliveries.enqueue(
        channel_id=channel.id,
        kind="digest",
        dedupe_key=key,
        payload=message_to_dict(message),
        now=now,
    )


# --------------------------------------------------------------------------- search


async def search_message(
    ports: QueryPorts, words: str, topic: str | None, now: datetime
) -> Message:
    """Stored relevant items matching all ``words`` (newest first), one line per story."""
    topic_id = resolve_topic(ports, topic, "search WORDS") if topic else None
    items = await ports.items.search(words, topic=topic_id, limit=SEARCH_LIMIT * 2)
    stories = await ports.stories.many(i.story_key for i in items if i.story_key)
    results: list[Story | Item] = []
    seen: set[str] = set()
    for item in items:
        key = item.story_key or f"item:{item.id}"
        if key in seen:
            continue
        seen.add(key)
        story = stories.get(item.story_key or "")
        results.append(_dated_story(story, item, now) if story else item)
    return render_search(words, results[:SEARCH_LIMIT], now)


# --------------------------------------------------------------------------- bound


@dataclass(frozen=True)
class Queries:
    """The functions above bound to one set of ports: what the composition root hands to chat
    code, so that chat surfaces render and send without importing jobs or storage."""

    ports: QueryPorts

    async def status(self, topic: str | None, now: datetime) -> Message:
        return await status_message(self.ports, topic, now)

    async def countdown_list(self, now: datetime) -> Message:
        return await countdown_list_message(self.ports, now)

    async def search(self, words: str, topic: str | None, now: datetime) -> Message:
        return await search_message(self.ports, words, topic, now)

    async def track_proposal(self, proposal_id: int, now: datetime, user: str | None) -> Countdown:
        return await track_proposal(self.ports, proposal_id, now, user)

    async def queue_digest(self, channel: Channel, now: datetime) -> bool:
        return await queue_digest(self.ports, channel, now)


__all__ = [
    "Queries",
    "QueryPorts",
    "channel_topics",
    "countdown_lines",
    "countdown_list_message",
    "digest_message",
    "queue_digest",
    "search_message",
    "status_message",
    "topic_labels",
    "track_proposal",
    "weekly_chart",
]
