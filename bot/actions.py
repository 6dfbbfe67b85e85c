"""The command executor shared by Slack, Teams and the CLI: text in, neutral ``Message`` out.

Invariants:
- ``execute`` never raises and never shows a stack trace: a ``CommandError`` becomes
  ``render_error(message, usage)``; anything unexpected is logged and answered briefly;
- bad input changes nothing (parsing and permission checks happen before any write);
- state changes are idempotent, so a replayed request cannot double-act: subscribing twice,
  adding the same countdown or source twice, or removing twice gives the same end state;
- subscribing never back-fills: only items found by later polls are alerted.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from bot.domain import commands as c
from bot.domain import platforms
from bot.domain.errors import BotError, CommandError, ConfigError, UnsafeURLError
from bot.domain.models import Channel, Countdown, Message, SourceSpec
from bot.domain.ports import ChatServices
from bot.domain.render import (
    render_error,
    render_help,
    render_latest,
    render_ok,
    render_sources,
    render_subscriptions,
    render_topics,
)
from bot.domain.schedule import (
    countdown_phrase,
    cron_daily,
    cron_weekly,
    describe_cron,
    local_today,
)
from bot.domain.source_input import shown_url
from bot.domain.taxonomy import Taxonomy
from bot.domain.views import SubscriptionRow, TopicEntry

log = logging.getLogger(__name__)

ChatPlatform = str  # a name registered in bot.domain.platforms
DEFAULT_DIGEST_CRON = "0 8 * * 1-5"
FAILED = "Sorry, that did not work. Please try again in a moment."


@dataclass(frozen=True)
class CommandContext:
    """Who asked, and where. ``channel_ref`` is the Slack channel id, the Teams conversation
    id, or (CLI) a channel name."""

    platform: ChatPlatform
    channel_ref: str
    user_id: str
    user_name: str = ""
    is_admin: bool = False
    channel_name: str | None = None
    workspace: str = ""  # Slack team id; empty elsewhere (the platform stands for it)


class TaxonomyTopics:
    """The taxonomy seen through the parser's ``TopicResolver`` protocol."""

    def __init__(self, taxonomy: Taxonomy) -> None:
        self.taxonomy = taxonomy

    def resolve(self, name: str) -> str | None:
        return self.taxonomy.resolve_topic(name)

    def suggest(self, name: str) -> str | None:
        return self.taxonomy.suggest_topic(name)

    def ids(self) -> tuple[str, ...]:
        return self.taxonomy.topic_ids


def parse(chat: ChatServices, text: str) -> c.Command:
    """``parse_command`` with the configured taxonomy (raises ``CommandError``)."""
    return c.parse_command(text, TaxonomyTopics(chat.taxonomy))


def is_admin(chat: ChatServices, ctx: CommandContext) -> bool:
    return ctx.is_admin or (bool(ctx.user_id) and ctx.user_id in chat.admins)


async def execute(chat: ChatServices, text: str, ctx: CommandContext) -> Message:
    """Run one command line for ``ctx``; always returns a message to show."""
    try:
        command = parse(chat, text)
        if c.is_admin_command(command) and not is_admin(chat, ctx):
            raise CommandError(
                "Only workspace admins (or people listed under admins: in the config) can "
                "add or remove sources.",
                c.USAGE["sources"],
            )
        handler = _HANDLERS[type(command)]
        return await handler(chat, command, ctx)
    except CommandError as exc:
        return render_error(str(exc), exc.usage)
    except BotError as exc:
        return render_error(str(exc))
    except Exception:
        log.exception("command failed: %s", _verb_of(text))
        return render_error(FAILED)


def _verb_of(text: str) -> str:
    words = str(text).split()
    return words[0][:20] if words else "help"


# --------------------------------------------------------------------------- channels


async def find_channel(
    chat: ChatServices, ctx: CommandContext, *, me: bool = False
) -> Channel | None:
    """The stored channel ``ctx`` speaks for (or the person's DM channel), if any."""
    channels, platform = chat.channels, platforms.get(ctx.platform)
    if platform.has_dms and (me or platform.is_dm_ref(ctx.channel_ref)):
        return await channels.by_target(platform.name, ctx.user_id)
    if me:
        return None
    if platform.finds_channel_by == "target":
        return await channels.by_target(platform.name, ctx.channel_ref)
    if platform.finds_channel_by == "external_id":
        return await channels.by_external_id(ctx.channel_ref)
    return await channels.by_name(ctx.channel_ref)


async def ensure_channel(chat: ChatServices, ctx: CommandContext, *, me: bool = False) -> Channel:
    """The channel to act on, created when the platform allows; ``CommandError`` otherwise."""
    found = await find_channel(chat, ctx, me=me)
    if found is not None:
        return found
    now, tz = chat.now(), chat.timezone
    platform = platforms.get(ctx.platform)
    if platform.dm_prefix is not None and (me or platform.is_dm_ref(ctx.channel_ref)):
        if not ctx.user_id:
            raise CommandError("Cannot tell who you are.", c.USAGE["subscribe"])
        return await chat.channels.ensure(
            name=f"{platform.dm_prefix}{ctx.user_id}",
            platform=platform.name,
            target=ctx.user_id,
            is_dm=True,
            timezone=tz,
            now=now,
        )
    if me:
        where = " or ".join(p.label for p in platforms.with_dms()) or "no platform"
        raise CommandError(
            f"Direct messages are only available in {where}; subscribe this channel instead.",
            c.USAGE["subscribe"],
        )
    if platform.channel_prefix is None:
        raise CommandError(platform.unknown_channel.format(ref=ctx.channel_ref))
    return await chat.channels.ensure(
        name=f"{platform.channel_prefix}{ctx.channel_ref}",
        platform=platform.name,
        target=ctx.channel_ref,
        timezone=tz,
        now=now,
    )


def _plain_where(channel: Channel, ctx: CommandContext) -> str:
    if channel.is_dm:
        return "you"
    if (
        platforms.get(channel.platform).finds_channel_by == "target"
        and channel.target == ctx.channel_ref
    ):
        return "this channel"
    return ctx.channel_name or channel.name


# --------------------------------------------------------------------------- verbs


async def _help(chat: ChatServices, cmd: c.Help, ctx: CommandContext) -> Message:
    if cmd.topic is None:
        return render_help(c.HELP_LINES)
    if cmd.topic in c.USAGE:
        lines = [c.USAGE[cmd.topic]] + [
            line for line in c.HELP_LINES if line.split(" ", 1)[0] == cmd.topic
        ]
        return render_help(lines)
    topic = chat.taxonomy.topic(cmd.topic)
    return render_topics([TopicEntry(topic.id, topic.label, topic.description)])


async def _topics(chat: ChatServices, cmd: c.Topics, ctx: CommandContext) -> Message:
    return render_topics([TopicEntry(t.id, t.label, t.description) for t in chat.taxonomy.topics])


async def _latest(chat: ChatServices, cmd: c.Latest, ctx: CommandContext) -> Message:
    items = await chat.items.latest(topic=cmd.topic, limit=cmd.n)
    label = chat.taxonomy.label(cmd.topic) if cmd.topic else None
    return render_latest(items, label, chat.now())


async def _status(chat: ChatServices, cmd: c.Status, ctx: CommandContext) -> Message:
    return await chat.queries.status(cmd.topic, chat.now())


def _labels(chat: ChatServices, topics: tuple[str, ...] | list[str]) -> str:
    return ", ".join("all topics" if t == "*" else chat.taxonomy.label(t) for t in topics)


async def _subscribe(chat: ChatServices, cmd: c.Subscribe, ctx: CommandContext) -> Message:
    channel = await ensure_channel(chat, ctx, me=cmd.me)
    channels, now = chat.channels, chat.now()
    added = await channels.subscribe(
        channel.id, list(cmd.topics), cmd.mode, now=now, created_by=ctx.user_id or None
    )
    notes: list[str] = []
    if channel.paused_reason:
        await channels.resume(channel.id)
        notes.append(f"Deliveries here were paused ({channel.paused_reason}); resumed.")
    if cmd.mode in ("digest", "both") and not channel.digest_cron:
        await channels.set_digest(channel.id, DEFAULT_DIGEST_CRON)
        notes.append(
            f"Digest schedule: {describe_cron(DEFAULT_DIGEST_CRON)} ({channel.timezone}); "
            "change it with `digest daily HH:MM`."
        )
    where = _plain_where(channel, ctx)
    kept = [t for t in cmd.topics if t not in added]
    text = f"Subscribed {where} to {_labels(chat, cmd.topics)} ({cmd.mode})."
    if kept and not added:
        text = f"Already subscribed: {_labels(chat, kept)} ({cmd.mode} for {where})."
    if cmd.mode != "digest":
        text += " New stories will be posted as they are found; nothing old is re-posted."
    join_hint = platforms.get(channel.platform).join_hint
    if join_hint and not channel.is_dm and added:
        notes.append(join_hint)
    return render_ok(" ".join([text, *notes]))


async def _unsubscribe(chat: ChatServices, cmd: c.Unsubscribe, ctx: CommandContext) -> Message:
    channel = await find_channel(chat, ctx, me=cmd.me)
    if channel is None:
        return render_ok("Nothing to unsubscribe: there are no subscriptions here.")
    removed = await chat.channels.unsubscribe(channel.id, None if cmd.all else list(cmd.topics))
    where = _plain_where(channel, ctx)
    if not removed:
        what = "anything" if cmd.all else _labels(chat, cmd.topics)
        return render_ok(
            f"{where.capitalize()} {'is' if where != 'you' else 'are'} not "
            f"subscribed to {what}; nothing changed."
        )
    what = "everything" if cmd.all else _labels(chat, cmd.topics)
    return render_ok(f"Unsubscribed {where} from {what}.")


async def subscription_rows(chat: ChatServices, ctx: CommandContext) -> list[SubscriptionRow]:
    """The subscriptions of the channel ``ctx`` speaks for and the person's DMs (if any)."""
    channels: list[Channel] = []
    here = await find_channel(chat, ctx)
    if here is not None:
        channels.append(here)
    if platforms.get(ctx.platform).has_dms:
        mine = await find_channel(chat, ctx, me=True)
        if mine is not None and all(ch.id != mine.id for ch in channels):
            channels.append(mine)
    rows: list[SubscriptionRow] = []
    for channel in channels:
        subs = await chat.channels.subscriptions([channel.id])
        where = _plain_where(channel, ctx)
        if channel.paused_reason:
            where += f" — paused: {channel.paused_reason}"
        digest_time = None
        if channel.digest_cron:
            try:
                digest_time = f"{describe_cron(channel.digest_cron)} {channel.timezone}"
            except (ConfigError, ValueError):
                digest_time = channel.digest_cron
        for sub in subs:
            rows.append(
                SubscriptionRow(
                    topic=sub.topic,
                    label=chat.taxonomy.label(sub.topic),
                    mode=sub.mode,
                    muted_until=sub.muted_until
                    if sub.muted_until and sub.muted_until > chat.now()
                    else None,
                    where=where,
                    digest_time=digest_time if sub.mode in ("digest", "both") else None,
                )
            )
    return rows


async def _subscriptions(chat: ChatServices, cmd: c.Subscriptions, ctx: CommandContext) -> Message:
    return render_subscriptions(await subscription_rows(chat, ctx))


async def _countdown_list(chat: ChatServices, cmd: c.CountdownList, ctx: CommandContext) -> Message:
    return await chat.queries.countdown_list(chat.now())


async def _countdown_add(chat: ChatServices, cmd: c.CountdownAdd, ctx: CommandContext) -> Message:
    countdowns, now = chat.countdowns, chat.now()
    timezone = chat.timezone
    today = local_today(now, timezone)
    if cmd.end < today:
        raise CommandError(
            f"{cmd.end.isoformat()} has already passed (today is {today.isoformat()} in "
            f"{timezone}); give a date from today on.",
            c.USAGE["countdown"],
        )
    existing = await countdowns.by_name(cmd.name)
    if existing is not None:
        if (existing.start, existing.end) == (cmd.start, cmd.end):
            return render_ok(
                f"Countdown #{existing.id} {existing.name} is already tracked "
                f"({countdown_phrase(existing, now)})."
            )
        raise CommandError(
            f"A countdown named '{cmd.name}' already exists (#{existing.id}); "
            f"remove it first with 'countdown remove {existing.id}'.",
            c.USAGE["countdown"],
        )
    countdown = await countdowns.add(
        name=cmd.name,
        start=cmd.start,
        end=cmd.end,
        tentative=cmd.tentative,
        now=now,
        timezone=timezone,
        milestones=chat.milestones,
        origin="command",
        created_by=ctx.user_id or None,
    )
    return render_ok(
        f"Countdown #{countdown.id} added: {countdown.name} — {countdown_phrase(countdown, now)}."
    )


async def _countdown_remove(
    chat: ChatServices, cmd: c.CountdownRemove, ctx: CommandContext
) -> Message:
    countdown = await chat.countdowns.get(cmd.id)
    if countdown is None:
        raise CommandError(f"There is no countdown #{cmd.id}.", c.USAGE["countdown"])
    await chat.countdowns.remove(cmd.id)
    return render_ok(f"Countdown #{cmd.id} ({countdown.name}) removed.")


async def _countdown_confirm(
    chat: ChatServices, cmd: c.CountdownConfirm, ctx: CommandContext
) -> Message:
    now = chat.now()
    countdown, applied = await chat.changes.confirm(cmd.id, now, ctx.user_id or None)
    return render_ok(confirmed_text(countdown, applied, cmd.id, now))


def confirmed_text(countdown: Countdown, applied: bool, change_id: int, now: datetime) -> str:
    """What a person sees after confirming proposed change ``change_id``."""
    state = (
        countdown_phrase(countdown, now)
        if countdown.status == "active"
        else f"now {countdown.status}"
    )
    if applied:
        return f"Change #{change_id} applied: {countdown.name} (#{countdown.id}) — {state}."
    return f"Change #{change_id} was already applied: {countdown.name} — {state}."


async def _countdown_dismiss(
    chat: ChatServices, cmd: c.CountdownDismiss, ctx: CommandContext
) -> Message:
    countdown, dismissed = await chat.changes.dismiss(cmd.id, chat.now(), ctx.user_id or None)
    return render_ok(dismissed_text(countdown, dismissed, cmd.id))


def dismissed_text(countdown: Countdown, dismissed: bool, change_id: int) -> str:
    """What a person sees after dismissing proposed change ``change_id``."""
    if dismissed:
        return (
            f"Change #{change_id} dismissed; {countdown.name} (#{countdown.id}) stays as it is "
            f"and this change will not be proposed again."
        )
    return f"Change #{change_id} is no longer pending; {countdown.name} is unchanged."


async def _digest_now(chat: ChatServices, cmd: c.DigestNow, ctx: CommandContext) -> Message:
    channel = await ensure_channel(chat, ctx)
    if await chat.queries.queue_digest(channel, chat.now()):
        return render_ok(f"A digest for {_plain_where(channel, ctx)} is on its way.")
    return render_ok("A digest is already on its way.")


async def _set_digest(chat: ChatServices, ctx: CommandContext, cron: str | None) -> Message:
    channel = await ensure_channel(chat, ctx)
    await chat.channels.set_digest(channel.id, cron)
    where = _plain_where(channel, ctx)
    if cron is None:
        return render_ok(f"Scheduled digests for {where} are off.")
    return render_ok(f"Digest for {where}: {describe_cron(cron)} ({channel.timezone}).")


async def _digest_daily(chat: ChatServices, cmd: c.DigestDaily, ctx: CommandContext) -> Message:
    return await _set_digest(chat, ctx, cron_daily(cmd.hour, cmd.minute))


async def _digest_weekly(chat: ChatServices, cmd: c.DigestWeekly, ctx: CommandContext) -> Message:
    return await _set_digest(chat, ctx, cron_weekly(cmd.weekday, cmd.hour, cmd.minute))


async def _digest_off(chat: ChatServices, cmd: c.DigestOff, ctx: CommandContext) -> Message:
    return await _set_digest(chat, ctx, None)


async def _sources_list(chat: ChatServices, cmd: c.SourcesList, ctx: CommandContext) -> Message:
    return render_sources(await chat.sources.all())


async def _sources_add(chat: ChatServices, cmd: c.SourcesAdd, ctx: CommandContext) -> Message:
    shown = shown_url(cmd.url)
    existing = await chat.sources.by_url(cmd.url)
    if existing is not None:
        return render_ok(f"Already watching {shown} (source #{existing.id}).")
    try:
        await chat.source_host(cmd.url)  # what the fetcher would refuse (UnsafeURLError)
    except UnsafeURLError as exc:
        # from None: a user-facing answer that already repeats the cause's text
        raise CommandError(f"Cannot add that source: {exc}.", c.USAGE["sources"]) from None
    refusal = chat.source_quota.refusal(
        ctx.user_id or "?",
        f"{ctx.platform}:{ctx.workspace}",
        await chat.sources.count(origin="command"),
        chat.now(),
    )
    if refusal:
        raise CommandError(f"Cannot add that source now: {refusal}", c.USAGE["sources"])
    name = urlsplit(cmd.url).hostname or shown
    try:
        source = await chat.sources.add(
            SourceSpec(name=name, url=cmd.url), origin="command", now=chat.now()
        )
    except ConfigError:  # added meanwhile (a replay racing the first request)
        found = await chat.sources.by_url(cmd.url)
        return render_ok(f"Already watching {shown} (source #{found.id if found else '?'}).")
    return render_ok(
        f"Added source #{source.id} ({name}). Its current items are stored without alerts; "
        "new ones will be alerted from the next poll on."
    )


async def _sources_remove(chat: ChatServices, cmd: c.SourcesRemove, ctx: CommandContext) -> Message:
    source = await chat.sources.get(cmd.id)
    if source is None:
        raise CommandError(f"There is no source #{cmd.id}.", c.USAGE["sources"])
    await chat.sources.remove(cmd.id)
    return render_ok(f"Removed source #{cmd.id} ({source.name}).")


async def _search(chat: ChatServices, cmd: c.Search, ctx: CommandContext) -> Message:
    return await chat.queries.search(cmd.words, cmd.topic, chat.now())


_Handler = Callable[[Any, Any, CommandContext], Awaitable[Message]]
_HANDLERS: dict[type, _Handler] = {
    c.Help: _help,
    c.Topics: _topics,
    c.Latest: _latest,
    c.Status: _status,
    c.Subscribe: _subscribe,
    c.Unsubscribe: _unsubscribe,
    c.Subscriptions: _subscriptions,
    c.CountdownList: _countdown_list,
    c.CountdownAdd: _countdown_add,
    c.CountdownRemove: _countdown_remove,
    c.CountdownConfirm: _countdown_confirm,
    c.CountdownDismiss: _countdown_dismiss,
    c.DigestNow: _digest_now,
    c.DigestDaily: _digest_daily,
    c.DigestWeekly: _digest_weekly,
    c.DigestOff: _digest_off,
    c.SourcesList: _sources_list,
    c.SourcesAdd: _sources_add,
    c.SourcesRemove: _sources_remove,
    c.Search: _search,
}

SLOW_COMMANDS: tuple[type, ...] = (c.Status, c.Search, c.DigestNow, c.SourcesAdd, c.Latest)


def is_slow(command: c.Command) -> bool:
    """Commands that may take more than a moment (answer them after acknowledging)."""
    return isinstance(command, SLOW_COMMANDS)


DATABASE_FREE_COMMANDS: tuple[type, ...] = (c.Help, c.Topics)


def needs_database(chat: ChatServices, text: str) -> bool:
    """False for command lines answered without the database: help, topics and any line
    that does not parse (its answer is the usage error)."""
    try:
        command = parse(chat, text)
    except CommandError:
        return False
    return not isinstance(command, DATABASE_FREE_COMMANDS)
