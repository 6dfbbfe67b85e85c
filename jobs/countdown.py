"""Countdown milestones, retirement of past events, and events proposed from the news.

Who gets countdown posts: every channel (or DM) with at least one subscription, of any
topic and mode, that is not paused. Countdowns have no topic, and a team that follows any
part of US–China relations wants to know that a COP or a leaders' call is a week away.

Once-only rules (all through the outbox's unique dedupe key):
- milestone ``m`` of countdown ``c`` in channel ``ch``: ``countdown:{c}:{ch}:{m}``;
- the "it has happened" notice: ``countdown:{c}:{ch}:past``, then the countdown is retired
  (status ``past``); an event that ended more than ``PAST_NOTICE_DAYS`` ago retires silently;
- a proposal: recorded once per (label, start), posted as ``proposal:{p}:{ch}``;
- an update of a tracked event (confirmed, moved, narrowed, postponed, cancelled, or it took
  place, which retires a tentative countdown):
  ``countdown-update:{c}:{ch}:{what}:{start}:{end}``, posted into the countdown's thread.

Countdowns are their owners': news changes a countdown directly only when it follows the news
(``follow_news``: created by the bot from the news with "Track this", or opted in in the config
file). Any other countdown only gets a *proposed* change, recorded once ever per (countdown,
what, start, end) and posted into the countdown's thread as ``countdown-change:{p}:{ch}``; a
person confirms it (applied once, however often Confirm is clicked or replayed) or dismisses it
(never proposed again).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from bot.domain.codec import message_to_dict
from bot.domain.digest import countdown_line
from bot.domain.errors import CommandError
from bot.domain.models import (
    Channel,
    Countdown,
    CountdownChange,
    Engagement,
    EventDate,
    Item,
    Proposal,
    Subscription,
)
from bot.domain.ports import ChannelReader, CountdownStore, InsightStore, OutboxWriter
from bot.domain.render import render_change_proposal, render_countdown, render_proposal
from bot.domain.schedule import countdown_phrase, due_milestones, is_past, local_today
from bot.domain.views import ChangeView, ProposalView

log = logging.getLogger(__name__)

PROPOSABLE_KINDS = frozenset({"call", "meeting", "visit", "talks", "summit", "conference"})
CERTAINTY_RANK = {"exact": 0, "approximate": 1, "expected": 2}
PAST_NOTICE_DAYS = 3
SAME_EVENT_DAYS = 45  # proposals of one label starting this close are the same event
NEAR_WINDOW = timedelta(days=7)  # a tentative event reported this early still counts
PROPOSAL_MODES = ("realtime", "both")
DATE_CHANGES = frozenset({"confirmed", "moved", "narrowed"})
CHANGE_USAGE = "countdown confirm ID | countdown dismiss ID"


@dataclass(frozen=True)
class CountdownPorts:
    """What the countdown jobs read and write, as the composition root wires it
    (``App.countdown_ports``)."""

    channels: ChannelReader
    countdowns: CountdownStore
    deliveries: OutboxWriter
    insights: InsightStore


def thread_key(countdown_id: int) -> str:
    return f"countdown:{countdown_id}"


def normalize_label(label: str) -> str:
    """Case, dash and spacing variants of an event name compare equal."""
    text = re.sub(r"[‐‑‒–—―-]+", "-", label.casefold())
    return re.sub(r"\s+", " ", text).strip()


async def countdown_channels(ports: CountdownPorts) -> list[Channel]:
    """Channels with at least one subscription that are not paused."""
    subscribed = {s.channel_id for s in await ports.channels.subscriptions()}
    return [c for c in await ports.channels.all() if c.id in subscribed and not c.paused_reason]


# --------------------------------------------------------------------------- milestones


async def run_countdowns(ports: CountdownPorts, now: datetime) -> int:
    """Enqueue due milestone posts and past-event notices; returns how many were enqueued."""
    channels = await countdown_channels(ports)
    repo = ports.insights
    queued = 0
    for cd in await ports.countdowns.all():
        if is_past(cd, now):
            queued += await _retire(ports, cd, channels, now)
            continue
        fired_keys = await repo.dedupe_keys(f"countdown:{cd.id}:")
        for channel in channels:
            prefix = f"countdown:{cd.id}:{channel.id}:"
            fired = {
                int(k[len(prefix) :])
                for k in fired_keys
                if k.startswith(prefix) and k[len(prefix) :].isdigit()
            }
            for milestone in due_milestones(cd, now, fired):
                queued += await _enqueue_countdown(
                    ports, channel, cd, now, f"{prefix}{milestone}", kind="countdown"
                )
    return queued


async def _enqueue_countdown(
    ports: CountdownPorts, channel: Channel, cd: Countdown, now: datetime, key: str, *, kind: str
) -> int:
    line = countdown_line(cd, now)
    if cd.status in ("cancelled", "past") and cd.note:
        line = replace(line, phrase="cancelled" if cd.status == "cancelled" else "took place")
    message = render_countdown(line)
    added = await ports.deliveries.enqueue(
        channel_id=channel.id,
        kind=kind,
        dedupe_key=key,
        payload=message_to_dict(message),
        now=now,
        thread_key=thread_key(cd.id),
        countdown_id=cd.id,
    )
    return int(added)


async def _retire(
    ports: CountdownPorts, cd: Countdown, channels: list[Channel], now: datetime
) -> int:
    queued = 0
    if (local_today(now, cd.timezone) - cd.end).days <= PAST_NOTICE_DAYS:
        for channel in channels:
            key = f"countdown:{cd.id}:{channel.id}:past"
            queued += await _enqueue_countdown(ports, channel, cd, now, key, kind="countdown")
    await ports.countdowns.update(cd.id, status="past")
    log.info("countdown %s (%s) retired", cd.id, cd.name)
    return queued


# --------------------------------------------------------------------------- proposals


def best_date(engagement: Engagement, today: date) -> EventDate | None:
    """The most certain date of ``engagement`` that is not over yet (earliest on ties)."""
    future = [d for d in engagement.dates if d.end >= today]
    if not future:
        return None
    return min(future, key=lambda d: (CERTAINTY_RANK.get(d.certainty, 9), d.start, d.end))


def window_phrase(label: str, when: EventDate, now: datetime) -> str:
    tentative = when.certainty != "exact" or when.start != when.end
    probe = Countdown(id=0, name=label, start=when.start, end=when.end, tentative=tentative)
    return countdown_phrase(probe, now)


@dataclass(frozen=True)
class Change:
    """How news changes a tracked countdown: ``what`` happened and the new column values."""

    what: str  # confirmed | moved | narrowed | postponed | cancelled | happened
    values: dict[str, Any]
    note: str


def detect_change(
    cd: Countdown, engagement: Engagement, today: date, outlet: str = ""
) -> Change | None:
    """What ``engagement`` (the same event as ``cd``) changes about it, if anything.

    Vague reports never loosen an exact date; a tentative window is confirmed by an exact
    day inside it, narrowed by a smaller window inside it, and moved by a date outside it;
    a tentative event reported as having happened is retired."""
    by = f" ({outlet})" if outlet else ""
    if engagement.status == "cancelled":
        if cd.status == "cancelled":
            return None
        return Change("cancelled", {"status": "cancelled"}, f"Reported cancelled{by}.")
    happened = _took_place(cd, engagement, today)
    if happened is not None:
        return Change("happened", {"status": "past"}, f"Took place on {_day(happened)}{by}.")
    when = best_date(engagement, today)
    if when is not None and (when.start, when.end) != (cd.start, cd.end):
        exact_day = when.certainty == "exact" and when.start == when.end
        inside = cd.start <= when.start and when.end <= cd.end
        span = when.end - when.start
        new = {"start": when.start, "end": when.end, "tentative": not exact_day}
        if exact_day:
            what = "confirmed" if cd.tentative and inside else "moved"
            return Change(what, new, f"{what.title()} for {_day(when.start)}{by}.")
        if cd.tentative and inside and span < cd.end - cd.start:
            return Change("narrowed", new, f"Now expected {_window(when)}{by}.")
        if cd.tentative and not inside and engagement.status == "postponed":
            return Change("moved", new, f"Postponed; now expected {_window(when)}{by}.")
        if cd.tentative and not inside and when.start > cd.end:
            return Change("moved", new, f"Now expected {_window(when)}{by}.")
    if engagement.status == "postponed" and "postponed" not in (cd.note or "").lower():
        return Change("postponed", {"note": f"Reported postponed{by}."}, f"Reported postponed{by}.")
    return None


def _took_place(cd: Countdown, engagement: Engagement, today: date) -> date | None:
    """The day a tentative event was reported to have happened (inside or near its window)."""
    if not cd.tentative or engagement.status != "reported":
        return None
    days = [
        d.end
        for d in engagement.dates
        if d.certainty == "exact" and d.end <= today and d.start >= cd.start - NEAR_WINDOW
    ]
    return max(days) if days else None


def _day(value: date) -> str:
    return value.strftime("%d %b %Y").lstrip("0")


def dates_phrase(start: date, end: date, tentative: bool) -> str:
    """'on 11 Nov 2024', 'expected on 12 Sep 2024', 'between 1 Sep 2024 and 31 Oct 2024'."""
    if start == end:
        return f"{'expected ' if tentative else ''}on {_day(start)}"
    return f"between {_day(start)} and {_day(end)}"


def _window(when: EventDate) -> str:
    if when.start == when.end:
        return f"on {_day(when.start)}"
    return f"between {_day(when.start)} and {_day(when.end)}"


def _subscribed(subs: list[Subscription], topics: tuple[str, ...], now: datetime) -> set[int]:
    return {
        s.channel_id
        for s in subs
        if s.mode in PROPOSAL_MODES
        and (s.topic == "*" or s.topic in topics)
        and (s.muted_until is None or s.muted_until <= now)
    }


def _same_event(known: list[Proposal], label: str, start: date) -> bool:
    name = normalize_label(label)
    return any(
        normalize_label(p.label) == name and abs((p.start - start).days) <= SAME_EVENT_DAYS
        for p in known
    )


async def propose_events(ports: CountdownPorts, items: list[Item], now: datetime) -> int:
    """Offer dated engagements of new relevant items as countdowns, and apply news about
    events already tracked. Returns proposals recorded plus countdowns updated."""
    candidates = [i for i in items if i.relevant and i.engagements]
    if not candidates:
        return 0
    today = now.date()
    tracked = {normalize_label(c.name): c for c in await ports.countdowns.all()}
    known = await ports.countdowns.proposals(status=None)
    subs = await ports.channels.subscriptions()
    channels = {c.id: c for c in await ports.channels.all() if not c.paused_reason}
    done = 0
    for item in candidates:
        for engagement in item.engagements:
            if engagement.kind not in PROPOSABLE_KINDS:
                continue
            label = engagement.label or engagement.kind
            cd = tracked.get(normalize_label(label))
            if cd is not None:
                if cd.follow_news:
                    updated = await _apply_news(ports, cd, engagement, item, now)
                    if updated is not None:
                        tracked[normalize_label(label)] = updated
                        done += 1
                elif await _propose_change(ports, cd, engagement, item, now):
                    done += 1
                continue
            when = best_date(engagement, today)
            if when is None or engagement.status in ("cancelled", "postponed"):
                continue
            if _same_event(known, label, when.start):
                continue
            proposal = await ports.countdowns.propose(
                label=label,
                kind=engagement.kind,
                start=when.start,
                end=when.end,
                certainty=when.certainty,
                now=now,
                item_id=item.id,
                story_key=item.story_key,
            )
            if proposal is None:
                continue
            known.append(proposal)
            done += 1
            view = ProposalView(
                label=label,
                window_phrase=window_phrase(label, when, now),
                item=item,
                proposal_id=proposal.id,
            )
            payload = message_to_dict(render_proposal(view))
            for channel_id in sorted(_subscribed(subs, item.topics, now)):
                if channel_id not in channels:
                    continue
                await ports.deliveries.enqueue(
                    channel_id=channel_id,
                    kind="proposal",
                    dedupe_key=f"proposal:{proposal.id}:{channel_id}",
                    payload=payload,
                    now=now,
                    story_key=item.story_key,
                    item_id=item.id,
                )
    return done


async def _apply_news(
    ports: CountdownPorts, cd: Countdown, engagement: Engagement, item: Item, now: datetime
) -> Countdown | None:
    """Update a countdown that follows the news and post the change into its thread."""
    if cd.status != "active":
        return None
    change = detect_change(cd, engagement, now.date(), item.source_name)
    if change is None:
        return None
    updated = await _apply(ports, cd, change, now)
    log.info("countdown %s (%s) %s by news item %s", cd.id, cd.name, change.what, item.id)
    return updated


async def _apply(ports: CountdownPorts, cd: Countdown, change: Change, now: datetime) -> Countdown:
    """Write ``change`` to the countdown and announce it (once) in every countdown channel."""
    await ports.countdowns.update(cd.id, **change.values)
    updated = replace(cd, **change.values)
    shown = replace(updated, note=change.note)
    for channel in await countdown_channels(ports):
        key = (
            f"countdown-update:{cd.id}:{channel.id}:{change.what}:"
            f"{updated.start.isoformat()}:{updated.end.isoformat()}"
        )
        await _enqueue_countdown(ports, channel, shown, now, key, kind="followup")
    return updated


# --------------------------------------------------------------------------- proposed changes


def _change_record(cd: Countdown, change: Change) -> tuple[date, date, bool]:
    """The (start, end, tentative) a change is recorded under: the new dates of a date change,
    the countdown's own for a status change."""
    if change.what in DATE_CHANGES:
        return change.values["start"], change.values["end"], bool(change.values["tentative"])
    return cd.start, cd.end, cd.tentative


def change_of(record: CountdownChange) -> Change:
    """The column values a recorded change writes when it is confirmed."""
    values: dict[str, Any]
    if record.what in DATE_CHANGES:
        values = {"start": record.start, "end": record.end, "tentative": record.tentative}
    elif record.what == "cancelled":
        values = {"status": "cancelled"}
    elif record.what == "happened":
        values = {"status": "past"}
    else:
        values = {"note": record.note}
    return Change(record.what, values, record.note)


def change_view(record: CountdownChange, cd: Countdown) -> ChangeView:
    return ChangeView(
        change_id=record.id,
        countdown_id=cd.id,
        countdown_name=cd.name,
        proposal=record.note,
        current=dates_phrase(cd.start, cd.end, cd.tentative),
        item_title=record.item_title,
        item_url=record.item_url,
    )


async def _propose_change(
    ports: CountdownPorts, cd: Countdown, engagement: Engagement, item: Item, now: datetime
) -> bool:
    """Offer a change to a countdown a person owns, in its thread; True when newly proposed."""
    if cd.status != "active":
        return False
    change = detect_change(cd, engagement, now.date(), item.source_name)
    if change is None:
        return False
    start, end, tentative = _change_record(cd, change)
    record = await ports.countdowns.propose_change(
        countdown_id=cd.id,
        what=change.what,
        start=start,
        end=end,
        tentative=tentative,
        note=change.note,
        now=now,
        item_id=item.id,
        item_title=item.title,
        item_url=item.url,
    )
    if record is None:
        return False  # proposed before: pending, confirmed or dismissed
    payload = message_to_dict(render_change_proposal(change_view(record, cd)))
    for channel in await countdown_channels(ports):
        await _ensure_thread(ports, channel, cd, now)
        await ports.deliveries.enqueue(
            channel_id=channel.id,
            kind="followup",
            dedupe_key=f"countdown-change:{record.id}:{channel.id}",
            payload=payload,
            now=now,
            thread_key=thread_key(cd.id),
            countdown_id=cd.id,
            item_id=item.id,
        )
    log.info("countdown %s (%s): news item %s proposes %s", cd.id, cd.name, item.id, change.what)
    return True


async def _ensure_thread(
    ports: CountdownPorts, channel: Channel, cd: Countdown, now: datetime
) -> None:
    """Post the countdown itself first when it has no message in ``channel`` to reply under."""
    state, _ = await ports.deliveries.thread_parent(channel.id, thread_key(cd.id))
    if state == "none":
        key = f"countdown:{cd.id}:{channel.id}:thread"
        await _enqueue_countdown(ports, channel, cd, now, key, kind="countdown")


async def _pending(ports: CountdownPorts, change_id: int) -> tuple[CountdownChange, Countdown]:
    record = await ports.countdowns.change(change_id)
    cd = await ports.countdowns.get(record.countdown_id) if record else None
    if record is None or cd is None:
        raise CommandError(f"There is no proposed change #{change_id}.", CHANGE_USAGE)
    return record, cd


async def confirm_change(
    ports: CountdownPorts, change_id: int, now: datetime, user: str | None = None
) -> tuple[Countdown, bool]:
    """Apply a proposed change. Idempotent: only the first confirmation writes (a second
    click or a replayed request returns the countdown and False). CommandError when the
    change was dismissed or superseded, or its countdown is gone or no longer active."""
    record, cd = await _pending(ports, change_id)
    if record.status == "applied":
        return cd, False
    if record.status != "proposed":
        raise CommandError(
            f"Proposed change #{change_id} was {record.status}; nothing to confirm.", CHANGE_USAGE
        )
    if cd.status != "active":
        raise CommandError(
            f"Countdown #{cd.id} ({cd.name}) is {cd.status}; the change no longer applies.",
            CHANGE_USAGE,
        )
    if not await ports.countdowns.decide_change(change_id, "applied", now=now, by=user):
        return await _after_race(ports, change_id, cd)
    updated = await _apply(ports, cd, change_of(record), now)
    await ports.countdowns.supersede_changes(cd.id, now=now)
    log.info("countdown %s (%s) %s: change #%s confirmed", cd.id, cd.name, record.what, change_id)
    return updated, True


async def _after_race(
    ports: CountdownPorts, change_id: int, cd: Countdown
) -> tuple[Countdown, bool]:
    """Another confirmation or dismissal won between our read and our write."""
    record, current = await _pending(ports, change_id)
    if record.status == "applied":
        return current, False
    raise CommandError(
        f"Proposed change #{change_id} was {record.status}; nothing to confirm.", CHANGE_USAGE
    )


async def dismiss_change(
    ports: CountdownPorts, change_id: int, now: datetime, user: str | None = None
) -> tuple[Countdown, bool]:
    """Discard a proposed change (it is never proposed again). Idempotent: dismissing it
    again returns False; dismissing a change already applied is a CommandError."""
    record, cd = await _pending(ports, change_id)
    if record.status == "applied":
        raise CommandError(
            f"Proposed change #{change_id} was already confirmed; it cannot be dismissed.",
            CHANGE_USAGE,
        )
    if record.status != "proposed":
        return cd, False
    dismissed = await ports.countdowns.decide_change(change_id, "dismissed", now=now, by=user)
    if dismissed:
        log.info("countdown %s (%s): change #%s dismissed", cd.id, cd.name, change_id)
    return cd, dismissed


@dataclass(frozen=True)
class CountdownChanges:
    """``confirm_change`` and ``dismiss_change`` bound to their ports (the
    ``ports.ChangeDecisions`` that the composition root hands to chat code)."""

    ports: CountdownPorts

    async def confirm(
        self, change_id: int, now: datetime, user: str | None
    ) -> tuple[Countdown, bool]:
        return await confirm_change(self.ports, change_id, now, user)

    async def dismiss(
        self, change_id: int, now: datetime, user: str | None
    ) -> tuple[Countdown, bool]:
        return await dismiss_change(self.ports, change_id, now, user)


async def pending_changes(countdowns: CountdownStore) -> list[ChangeView]:
    """Proposed changes waiting for a decision, for active countdowns, oldest first."""
    active = {cd.id: cd for cd in await countdowns.all()}
    return [
        change_view(record, active[record.countdown_id])
        for record in await countdowns.changes()
        if record.countdown_id in active
    ]
