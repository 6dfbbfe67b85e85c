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
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.domain.codec import message_to_dict
from bot.domain.digest import countdown_line
from bot.domain.models import Channel, Countdown, Engagement, EventDate, Item, Subscription
from bot.domain.render import render_countdown, render_proposal
from bot.domain.schedule import countdown_phrase, due_milestones, is_past, local_today
from bot.domain.views import ProposalView
from jobs.insights import insight_repo

if TYPE_CHECKING:
    from bot.app import App
    from storage.repos.countdowns import Proposal

log = logging.getLogger(__name__)

PROPOSABLE_KINDS = frozenset({"call", "meeting", "visit", "talks", "summit", "conference"})
CERTAINTY_RANK = {"exact": 0, "approximate": 1, "expected": 2}
PAST_NOTICE_DAYS = 3
SAME_EVENT_DAYS = 45  # proposals of one label starting this close are the same event
NEAR_WINDOW = timedelta(days=7)  # a tentative event reported this early still counts
PROPOSAL_MODES = ("realtime", "both")


def thread_key(countdown_id: int) -> str:
    return f"countdown:{countdown_id}"


def normalize_label(label: str) -> str:
    """Case, dash and spacing variants of an event name compare equal."""
    text = re.sub(r"[‐‑‒–—―-]+", "-", label.casefold())
    return re.sub(r"\s+", " ", text).strip()


async def countdown_channels(app: App) -> list[Channel]:
    """Channels with at least one subscription that are not paused."""
    subscribed = {s.channel_id for s in await app.store.channels.subscriptions()}
    return [c for c in await app.store.channels.all() if c.id in subscribed and not c.paused_reason]


# --------------------------------------------------------------------------- milestones


async def run_countdowns(app: App, now: datetime) -> int:
    """Enqueue due milestone posts and past-event notices; returns how many were enqueued."""
    channels = await countdown_channels(app)
    repo = insight_repo(app)
    queued = 0
    for cd in await app.store.countdowns.all():
        if is_past(cd, now):
            queued += await _retire(app, cd, channels, now)
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
                    app, channel, cd, now, f"{prefix}{milestone}", kind="countdown"
                )
    return queued


async def _enqueue_countdown(
    app: App, channel: Channel, cd: Countdown, now: datetime, key: str, *, kind: str
) -> int:
    line = countdown_line(cd, now)
    if cd.status in ("cancelled", "past") and cd.note:
        line = replace(line, phrase="cancelled" if cd.status == "cancelled" else "took place")
    message = render_countdown(line)
    added = await app.store.deliveries.enqueue(
        channel_id=channel.id,
        kind=kind,
        dedupe_key=key,
        payload=message_to_dict(message),
        now=now,
        thread_key=thread_key(cd.id),
        countdown_id=cd.id,
    )
    return int(added)


async def _retire(app: App, cd: Countdown, channels: list[Channel], now: datetime) -> int:
    queued = 0
    if (local_today(now, cd.timezone) - cd.end).days <= PAST_NOTICE_DAYS:
        for channel in channels:
            key = f"countdown:{cd.id}:{channel.id}:past"
            queued += await _enqueue_countdown(app, channel, cd, now, key, kind="countdown")
    await app.store.countdowns.update(cd.id, status="past")
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


async def propose_events(app: App, items: list[Item], now: datetime) -> int:
    """Offer dated engagements of new relevant items as countdowns, and apply news about
    events already tracked. Returns proposals recorded plus countdowns updated."""
    candidates = [i for i in items if i.relevant and i.engagements]
    if not candidates:
        return 0
    store, today = app.store, now.date()
    tracked = {normalize_label(c.name): c for c in await store.countdowns.all()}
    known = await store.countdowns.proposals(status=None)
    subs = await store.channels.subscriptions()
    channels = {c.id: c for c in await store.channels.all() if not c.paused_reason}
    done = 0
    for item in candidates:
        for engagement in item.engagements:
            if engagement.kind not in PROPOSABLE_KINDS:
                continue
            label = engagement.label or engagement.kind
            cd = tracked.get(normalize_label(label))
            if cd is not None:
                updated = await _apply_news(app, cd, engagement, item, now)
                if updated is not None:
                    tracked[normalize_label(label)] = updated
                    done += 1
                continue
            when = best_date(engagement, today)
            if when is None or engagement.status in ("cancelled", "postponed"):
                continue
            if _same_event(known, label, when.start):
                continue
            proposal = await store.countdowns.propose(
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
                await store.deliveries.enqueue(
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
    app: App, cd: Countdown, engagement: Engagement, item: Item, now: datetime
) -> Countdown | None:
    """Update a tracked countdown from news about it and post the change into its thread."""
    if cd.status != "active":
        return None
    change = detect_change(cd, engagement, now.date(), item.source_name)
    if change is None:
        return None
    await app.store.countdowns.update(cd.id, **change.values)
    updated = replace(cd, **change.values)
    shown = replace(updated, note=change.note)
    for channel in await countdown_channels(app):
        key = (
            f"countdown-update:{cd.id}:{channel.id}:{change.what}:"
            f"{updated.start.isoformat()}:{updated.end.isoformat()}"
        )
        await _enqueue_countdown(app, channel, shown, now, key, kind="followup")
    log.info("countdown %s (%s) %s by news item %s", cd.id, cd.name, change.what, item.id)
    return updated
