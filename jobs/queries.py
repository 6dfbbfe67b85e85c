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
from typing import TYPE_CHECKING

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
from bot.domain.views import CountdownLine
from storage.repos.insights import InsightRepository

if TYPE_CHECKING:
    from bot.app import App

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


def insight_repo(app: App) -> InsightRepository:
    return InsightRepository(app.store.db)


def topic_labels(app: App) -> dict[str, str]:
    """Topic id -> label, in taxonomy order."""
    return {topic.id: topic.label for topic in app.taxonomy.topics}


def resolve_topic(app: App, name: str, usage: str) -> str:
    """The topic id for an id, label or alias; ``CommandError`` (with a suggestion) if none."""
    found = app.taxonomy.resolve_topic(name)
    if found is not None:
        return found
    suggestion = app.taxonomy.suggest_topic(name)
    hint = f" (did you mean {suggestion}?)" if suggestion else " (try `topics`)"
    raise CommandError(f"unknown topic '{name}'{hint}", usage=usage)


async def channel_topics(app: App, channel: Channel, modes: tuple[str, ...] = ()) -> list[str]:
    """Topics a channel follows (``"*"`` = all): its subscriptions of ``modes`` if it has any,
    else all its subscriptions, else every topic."""
    subs = await app.store.channels.subscriptions([channel.id])
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


async def countdown_lines(app: App, now: datetime) -> tuple[CountdownLine, ...]:
    """Active countdowns not over yet, soonest first, with their phrases as of ``now``."""
    return upcoming_lines(await app.store.countdowns.all(), now)


async def past_lines(app: App, now: datetime) -> tuple[CountdownLine, ...]:
    """Countdowns that are over as of ``now`` (retired or not yet), most recent first; they
    are kept until removed."""
    past = await app.store.countdowns.all(status="past")
    past += [c for c in await app.store.countdowns.all() if is_past(c, now)]
    past.sort(key=lambda c: (c.end, c.id), reverse=True)
    return tuple(countdown_line(c, now) for c in past)


async def countdown_list_message(app: App, now: datetime) -> Message:
    """Upcoming countdowns, the changes the news proposes for them, and past ones."""
    from jobs.countdown import pending_changes

    return render_countdown_list(
        await countdown_lines(app, now), await pending_changes(app), await past_lines(app, now)
    )


async def track_proposal(app: App, proposal_id: int, now: datetime, user: str | None) -> Countdown:
    """Turn a proposal into a countdown and mark it tracked. Idempotent: tracking it again
    (a second click, a replayed request) returns the same countdown."""
    store = app.store
    proposal = await store.countdowns.proposal(proposal_id)
    if proposal is None:
        raise CommandError(f"no detected event #{proposal_id}", usage="countdown")
    if proposal.countdown_id is not None:
        existing = await store.countdowns.get(proposal.countdown_id)
        if existing is not None:
            return existing
    countdown = await store.countdowns.by_name(proposal.label)
    if countdown is None:
        countdown = await store.countdowns.add(
            name=proposal.label,
            start=proposal.start,
            end=proposal.end,
            tentative=proposal.certainty != "exact" or proposal.start != proposal.end,
            now=now,
            timezone=app.settings.file.timezone,
            milestones=tuple(app.settings.file.milestones),
            origin="proposal",
            created_by=user,
            follow_news=True,
        )
    await store.countdowns.mark_tracked(proposal_id, countdown.id)
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


async def _engagement_items(app: App, topics: list[str], now: datetime) -> list[Item]:
    """Newest items reporting direct engagements: overall, then per topic still missing."""
    repo = insight_repo(app)
    found = await repo.engagement_items(now - ENGAGEMENT_LOOKBACK, now, limit=OVERALL_ENGAGEMENTS)
    for topic in topics:
        if last_engagement(found, topic) is None:
            found += await repo.engagement_items(
                now - TOPIC_ENGAGEMENT_LOOKBACK, now, topic=topic, limit=20
            )
    return found


async def status_board(app: App, now: datetime) -> Message:
    repo = insight_repo(app)
    labels = topic_labels(app)
    topics = list(labels)
    # Independent reads, run side by side (each on its own pooled connection).
    latest, counts, engagement_items = await asyncio.gather(
        repo.latest_per_topic(topics, now),
        repo.story_counts(topics, now - 2 * WEEK, now - WEEK, now),
        _engagement_items(app, topics, now),
    )
    stories = await app.store.stories.many(i.story_key for i in latest.values() if i.story_key)
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


async def status_detail(app: App, topic: str, now: datetime) -> Message:
    repo = insight_repo(app)
    keys = await repo.recent_story_keys(topic, now, 5)
    found = await app.store.stories.many(keys)
    stories = [found[k] for k in keys if k in found]
    engaged = await repo.engagement_items(now - ENGAGEMENT_LOOKBACK, now, topic=topic, limit=50)
    seen = last_engagement(engaged, topic)
    first = [seen.item.story_key] if seen and seen.item.story_key else []
    story_items = await repo.items_of_stories(first + keys)
    view = build_status_detail(
        topic=topic,
        label=app.taxonomy.label(topic),
        stories=stories,
        countdowns=upcoming_lines(await app.store.countdowns.all(), now),
        engagement_items=engaged,
        story_items=story_items,
    )
    return render_status_detail(view)


async def status_message(app: App, topic: str | None, now: datetime) -> Message:
    """The status board, or with ``topic`` (id, label or alias) that topic's detail."""
    if topic is None or not topic.strip():
        return await status_board(app, now)
    return await status_detail(app, resolve_topic(app, topic, "status [TOPIC]"), now)


# --------------------------------------------------------------------------- digests


async def weekly_chart(app: App, channel: Channel, end: datetime) -> bytes:
    """PNG of the channel's stories per issue over the ``CHART_WEEKS`` weeks before ``end``."""
    rows = await insight_repo(app).story_topics_between(end - CHART_WEEKS * WEEK, end)
    series, starts = weekly_series(
        rows,
        end=end,
        topics=await channel_topics(app, channel, ("digest", "both")),
        labels=topic_labels(app),
        weeks=CHART_WEEKS,
    )
    return chart_png(series, starts)


def chart_data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


async def digest_message(
    app: App,
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
    topics = await channel_topics(app, channel, ("digest", "both"))
    stories = await app.store.stories.between(start, end)
    previous = await app.store.stories.between(start - (end - start), start)
    chart_url, note = None, None
    if chart and weekly and platforms.get(channel.platform).inline_charts:
        uri = chart_data_uri(await weekly_chart(app, channel, end))
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
        labels=topic_labels(app),
        countdowns=upcoming_lines(await app.store.countdowns.all(), end, DIGEST_COUNTDOWNS),
        top=app.settings.file.digest_top,
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
    app: App, channel: Channel, now: datetime, slot: datetime | None = None
) -> bool:
    """Enqueue the digest of ``slot`` (or an on-demand one); False if already enqueued."""
    key = digest_key(channel, now, slot)
    if await app.store.deliveries.exists(key):
        return False
    message = await digest_message(app, channel, now, slot=slot, chart=True)
    return await app.store.deliveries.enqueue(
        channel_id=channel.id,
        kind="digest",
        dedupe_key=key,
        payload=message_to_dict(message),
        now=now,
    )


# --------------------------------------------------------------------------- search


async def search_message(app: App, words: str, topic: str | None, now: datetime) -> Message:
    """Stored relevant items matching all ``words`` (newest first), one line per story."""
    topic_id = resolve_topic(app, topic, "search WORDS") if topic else None
    items = await app.store.items.search(words, topic=topic_id, limit=SEARCH_LIMIT * 2)
    stories = await app.store.stories.many(i.story_key for i in items if i.story_key)
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
    """The functions above bound to one ``App``: what the composition root hands to chat code,
    so that chat surfaces render and send without importing jobs or storage."""

    app: App

    async def status(self, topic: str | None, now: datetime) -> Message:
        return await status_message(self.app, topic, now)

    async def countdown_list(self, now: datetime) -> Message:
        return await countdown_list_message(self.app, now)

    async def search(self, words: str, topic: str | None, now: datetime) -> Message:
        return await search_message(self.app, words, topic, now)

    async def track_proposal(self, proposal_id: int, now: datetime, user: str | None) -> Countdown:
        return await track_proposal(self.app, proposal_id, now, user)


__all__ = [
    "Queries",
    "channel_topics",
    "countdown_lines",
    "countdown_list_message",
    "digest_message",
    "insight_repo",
    "queue_digest",
    "search_message",
    "status_message",
    "topic_labels",
    "track_proposal",
    "weekly_chart",
]
