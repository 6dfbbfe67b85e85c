"""Ingest decisions: one fetch outcome plus what is known becomes an :class:`IngestBatch`.

Pure (no I/O; ``now``, the poll jitter and the cycle's burst tally are passed in). Two
halves, so the CPU-heavy one can run in worker processes:

- :func:`prepare` -- bytes to judged items: parse, normalise, dedupe, drop known identities,
  classify, extract engagements, story fingerprints. Depends only on its arguments and the
  taxonomy; its result crosses process boundaries as plain data.
- :func:`decide_cycle` -- the prepared items of a window of sources to their batches: story
  assignment in the open-stories view, routing, rendering, each source's new fetch state.
  Takes the window in a canonical order (sources by id, items by :func:`canonical_order`),
  so the stories and deliveries do not depend on the order the fetches finished in; must
  run in one place, one window at a time, because it updates the view. :func:`decide` is
  the same for one source.

:func:`ingest` runs both. :func:`failed_batch` and :func:`not_modified_batch` cover outcomes
with nothing to parse. The shell commits a batch in one transaction (items, stories and their
delivery intents together: the outbox guarantee); when a commit fails it must reload the
open-stories view, which already holds the batch's stories and alerts. A poll cycle carries a
:class:`~bot.domain.route.BurstTally` from one window's :func:`decide_cycle` to the next (the
alert cap is per channel per cycle) and ends with :func:`cycle_summaries`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from bot.domain import source_types
from bot.domain.classify import Classifier
from bot.domain.codec import message_to_dict
from bot.domain.engagements import extract_engagements
from bot.domain.identity import dedupe_batch, identities_of
from bot.domain.models import (
    Channel,
    FetchOutcome,
    FetchState,
    Item,
    ParsedEntry,
    Source,
    Story,
    Subscription,
)
from bot.domain.normalize import clean_text, normalize_entry
from bot.domain.polling import next_poll_at
from bot.domain.render import render_alert, render_burst_summary, render_updates_summary
from bot.domain.route import (
    BurstTally,
    DeliveryIntent,
    FollowupBudget,
    burst_summary_intent,
    cap_alerts,
    enqueue_rank,
    route_batch,
    updates_summary_intent,
)
from bot.domain.stories import Fingerprint, StoryIndex, canonical_order, fingerprint
from bot.domain.storyline import extend_story, open_story
from bot.domain.taxonomy import Taxonomy
from bot.domain.views import AlertView

FULL_TEXT_MAX = 20_000  # characters of an entry's text that classification reads

Status = Literal["ok", "not_modified", "failed"]


# --------------------------------------------------------------------------- data


@dataclass
class PendingDelivery:
    """A delivery to enqueue with a batch; ``item_key`` is resolved to the stored item id."""

    channel_id: int
    kind: str
    dedupe_key: str
    payload: dict[str, Any]
    story_key: str | None = None
    item_key: str | None = None
    thread_key: str | None = None
    countdown_id: int | None = None


@dataclass
class IngestBatch:
    """Everything one source's poll writes, committed atomically.

    ``items`` pairs each new item with all its identity keys (primary first); ``stories``
    pairs each touched story with its index state. ``status``/``error``/``warning``/
    ``fetched`` describe the outcome for metrics and the poll summary.
    """

    source_id: int
    state: FetchState
    now: datetime
    items: list[tuple[Item, tuple[str, ...]]] = field(default_factory=list)
    stories: list[tuple[Story, dict[str, Any]]] = field(default_factory=list)
    deliveries: list[PendingDelivery] = field(default_factory=list)
    baseline: bool = False
    status: Status = "ok"
    error: str | None = None
    warning: str | None = None
    fetched: int = 0
    tally: BurstTally = field(default_factory=BurstTally)


@dataclass(frozen=True)
class Judged:
    """One fresh item, classified, with its identity keys and (relevant only) fingerprint."""

    item: Item
    identities: tuple[str, ...]
    fingerprint: Fingerprint | None


@dataclass(frozen=True)
class Prepared:
    """The CPU stage's result for one source: fresh judged items in feed order."""

    items: tuple[Judged, ...]
    warning: str | None
    fetched: int


@dataclass(frozen=True)
class Routes:
    """What routing needs about channels."""

    channels: Sequence[Channel]
    subscriptions: Sequence[Subscription]
    burst_limit: int
    followups: FollowupBudget | None = None  # None: follow-ups are not capped


class OpenStories:
    """The open-stories view: the story index, the stories it holds, and for each story the
    channels that already have an alert for it. :func:`decide` updates all three."""

    def __init__(
        self,
        index: StoryIndex,
        stories: dict[str, Story],
        alerted: dict[str, set[int]] | None = None,
    ) -> None:
        self.index = index
        self.stories = stories
        self.alerted = alerted if alerted is not None else {}

    def note_alerts(self, batch: IngestBatch) -> None:
        """Record the alerts ``batch`` enqueues (a batch that fails to commit invalidates the
        whole view: the shell reloads it)."""
        for d in batch.deliveries:
            if d.kind == "alert" and d.story_key:
                self.alerted.setdefault(d.story_key, set()).add(d.channel_id)


class Judge:
    """Classification and engagement extraction with one taxonomy."""

    def __init__(self, taxonomy: Taxonomy, classifier: Classifier | None = None) -> None:
        self.taxonomy = taxonomy
        self.classifier = classifier or Classifier(taxonomy)

    def __call__(self, item: Item, text: tuple[str, str] | None = None) -> Item:
        """Classify ``item`` and, when relevant, extract the engagements it reports.

        ``text`` (title, summary) is the uncapped entry text when known: topics and dates
        named late in a long article count even though the stored summary is cut short."""
        title, summary = text or (item.title, item.summary)
        classification = self.classifier.classify(title, summary)
        item = replace(item, classification=classification)
        if classification.relevant:
            engagements = extract_engagements(title, summary, item.published, self.taxonomy)
            item = replace(item, engagements=engagements)
        return item


# --------------------------------------------------------------------------- prepare


def full_text(item: Item, entry: ParsedEntry) -> tuple[str, str]:
    """The entry's title and summary as plain text without the storage caps of ``item``."""
    title = clean_text(entry.title, FULL_TEXT_MAX) or item.title
    return title, clean_text(entry.summary, FULL_TEXT_MAX) or item.summary


def item_fingerprint(item: Item) -> Fingerprint:
    return fingerprint(
        item.title,
        item.summary,
        published=item.published,
        url=item.url,
        source=item.source_name,
        identity=f"{item.source_id}:{item.key}",
    )


def prepare(
    source: Source,
    outcome: FetchOutcome,
    known: Callable[[str], bool] | set[str] | frozenset[str],
    now: datetime,
    judge: Callable[[Item, tuple[str, str] | None], Item],
) -> Prepared:
    """Parse ``outcome.body`` and judge the items not yet stored for ``source``.

    ``known`` holds (or answers for) the identity keys already stored for the source; an item
    sharing any of them is dropped. Raises ``ParseError`` for a feed that cannot be read (and
    may raise anything on hostile input: callers isolate it per source)."""
    is_known = known if callable(known) else known.__contains__
    feed = source_types.read(
        source.spec.type,
        outcome.body,
        url=outcome.final_url or source.url,
        content_type=outcome.headers.get("content-type"),
        selector=source.spec.selector,
    )
    normalized = [
        (normalize_entry(e, source=source, feed_language=feed.language, now=now), e)
        for e in feed.entries
    ]
    full_texts: dict[str, tuple[str, str]] = {}
    for normal, entry in normalized:  # stored text is capped; judge the whole entry
        full_texts.setdefault(normal.key, full_text(normal, entry))
    items = dedupe_batch([normal for normal, _ in normalized])
    judged: list[Judged] = []
    for item in items:
        ids = identities_of(item)
        if any(is_known(i) for i in ids):
            continue
        item = judge(item, full_texts.get(item.key))
        judged.append(Judged(item, ids, item_fingerprint(item) if item.relevant else None))
    return Prepared(tuple(judged), "; ".join(feed.warnings) or None, len(items))


# --------------------------------------------------------------------------- decide


def success_state(
    source: Source, outcome: FetchOutcome, now: datetime, *, warning: str | None, jitter: float
) -> FetchState:
    headers = outcome.headers
    return FetchState(
        etag=headers.get("etag") or source.state.etag,
        last_modified=headers.get("last-modified") or source.state.last_modified,
        last_success=now,
        last_attempt=now,
        last_error=None,
        last_warning=warning,
        failures=0,
        next_poll=next_poll_at(
            now,
            source.spec.interval_s,
            retry_after_s=outcome.retry_after_s,
            max_age_s=outcome.max_age_s,
            jitter=jitter,
        ),
        baseline_done=True,
    )


def failed_batch(
    source: Source, error: str, outcome: FetchOutcome | None, now: datetime, *, jitter: float
) -> IngestBatch:
    """A failure: the error is recorded and the next poll backs off exponentially."""
    failures = source.state.failures + 1
    state = replace(
        source.state,
        last_attempt=now,
        last_error=error,
        failures=failures,
        next_poll=next_poll_at(
            now,
            source.spec.interval_s,
            failures=failures,
            retry_after_s=outcome.retry_after_s if outcome else None,
            jitter=jitter,
        ),
    )
    return IngestBatch(source.id, state, now, status="failed", error=error)


def not_modified_batch(
    source: Source, outcome: FetchOutcome, now: datetime, *, jitter: float
) -> IngestBatch:
    state = success_state(source, outcome, now, warning=source.state.last_warning, jitter=jitter)
    return IngestBatch(source.id, state, now, status="not_modified")


@dataclass(frozen=True)
class Fetched:
    """One source's parsed fetch, as a decide window takes it: ``now`` is when the source's
    poll started (its fetch state's times), ``jitter`` its next-poll jitter."""

    source: Source
    outcome: FetchOutcome
    prepared: Prepared
    now: datetime
    jitter: float


def decide(
    source: Source,
    outcome: FetchOutcome,
    prepared: Prepared,
    stories: OpenStories,
    routes: Routes,
    now: datetime,
    *,
    labels: Callable[[str], str],
    jitter: float,
    tally: BurstTally | None = None,
) -> IngestBatch:
    """:func:`decide_cycle` for one source: the batch to commit, whose ``tally`` is the one
    to pass to the cycle's next decision (and to :func:`cycle_summaries` when it ends)."""
    (batch,), after = decide_cycle(
        [Fetched(source, outcome, prepared, now, jitter)],
        stories,
        routes,
        now,
        labels=labels,
        tally=tally,
    )
    batch.tally = after
    return batch


def decide_cycle(
    fetched: Sequence[Fetched],
    stories: OpenStories,
    routes: Routes,
    now: datetime,
    *,
    labels: Callable[[str], str],
    tally: BurstTally | None = None,
) -> tuple[list[IngestBatch], BurstTally]:
    """Decide a window of fetch outcomes (distinct sources) together, in a canonical order
    that does not depend on the order they came in: group all their prepared items into
    stories (updating ``stories``), route and render the alerts, and return one batch per
    source, ordered by source id, with the cycle's updated burst tally.

    Grouping uses :meth:`StoryIndex.assign_batch` over every relevant item of the window
    (token rarity learnt from the whole window, then items in :func:`canonical_order`:
    publication day, content, ``source id:item key``); routing follows the same order, so
    which alert the per-channel cap keeps, which item opens a story (and so its key) and
    which items are follow-ups are the same whatever order the fetches finished in. A
    batch's deliveries are its alerts, then its follow-ups, each in that order.

    The first successful poll of a source is its baseline: its items are grouped and
    stored, nothing of it is routed. ``tally`` is what the poll cycle queued and held back
    per channel before this window (empty: the cycle's first); the returned tally is the
    one to pass to the next window, and to :func:`cycle_summaries` when the cycle ends. The
    alert cap ``routes.burst_limit`` thus holds per channel per cycle.
    """
    ordered = sorted(fetched, key=lambda f: f.source.id)
    if len({f.source.id for f in ordered}) != len(ordered):
        raise ValueError("a source can be decided once per window")
    before = tally or BurstTally()
    batches = [
        IngestBatch(
            source_id=f.source.id,
            state=success_state(
                f.source, f.outcome, f.now, warning=f.prepared.warning, jitter=f.jitter
            ),
            now=f.now,
            baseline=not f.source.state.baseline_done,
            warning=f.prepared.warning,
            fetched=f.prepared.fetched,
            tally=before,
        )
        for f in ordered
    ]
    grouped, keyed = _group_window(stories, [f.prepared.items for f in ordered])
    touched: list[dict[str, None]] = [{} for _ in ordered]
    for n, _, story, _ in grouped:
        touched[n][story.key] = None
    states = {k: (stories.stories[k], stories.index.story_state(k)) for t in touched for k in t}
    for n, f in enumerate(ordered):  # a story touched by several sources: one state, shared
        batch = batches[n]
        for position, judged in enumerate(f.prepared.items):
            batch.items.append((keyed.get((n, position), judged.item), judged.identities))
        batch.stories = [states[k] for k in touched[n]]
    routed = [(item, story, new) for n, item, story, new in grouped if not batches[n].baseline]
    after = before
    if routed:
        result = route_batch(
            routed,
            channels=routes.channels,
            subscriptions=routes.subscriptions,
            alerted=stories.alerted,
            per_channel_limit=routes.burst_limit,
            queued=before.alerts,
            now=now,
        )
        capped = [
            (item, intents, stories.stories[story.key])
            for (item, story, _), intents in zip(routed, result.intents, strict=True)
        ]
        pending, after = _rendered(
            capped, routes, before, result.queued, result.held, result.held_topics, labels
        )
        slot = {b.source_id: n for n, b in enumerate(batches)}
        for source_id, delivery in sorted(pending, key=lambda p: enqueue_rank(p[1].kind)):
            batches[slot[source_id]].deliveries.append(delivery)
    for batch in batches:
        batch.tally = after
        stories.note_alerts(batch)
    return batches, after


def _group_window(
    stories: OpenStories, prepared: Sequence[Sequence[Judged]]
) -> tuple[list[tuple[int, Item, Story, bool]], dict[tuple[int, int], Item]]:
    """Assign the relevant items of a window's sources (``prepared``, one sequence per
    source) to stories with :meth:`StoryIndex.assign_batch`, in its canonical order, so the
    same items group the same whatever order their sources and feeds list them in. Returns
    the grouped items in that order as ``(source number, item with its story key, story as
    of the item, is_new)``, and each grouped item by ``(source number, feed position)``."""
    members = [
        (n, position, j.item, j.fingerprint)
        for n, items in enumerate(prepared)
        for position, j in enumerate(items)
        if j.item.relevant and j.fingerprint is not None
    ]
    fps = [fp for _, _, _, fp in members if fp is not None]
    order = sorted(range(len(fps)), key=lambda m: canonical_order(fps[m]))
    assigned = stories.index.assign_batch(fps)
    grouped: list[tuple[int, Item, Story, bool]] = []
    keyed: dict[tuple[int, int], Item] = {}
    for m in order:
        n, position, item, _ = members[m]
        key, is_new = assigned[m]
        existing = stories.stories.get(key)
        story = (
            open_story(key, item) if existing is None or is_new else extend_story(existing, item)
        )
        stories.stories[key] = story
        keyed[(n, position)] = replace(item, story_key=key)
        grouped.append((n, keyed[(n, position)], story, is_new))
    return grouped, keyed


def deliveries(
    intents_by_item: Sequence[tuple[Item, list[DeliveryIntent], Story]],
    routes: Routes,
    *,
    labels: Callable[[str], str],
    tally: BurstTally | None = None,
) -> tuple[list[PendingDelivery], BurstTally]:
    """Rendered deliveries for the routed intents, and the cycle's updated ``tally``.

    At most ``routes.burst_limit`` alerts per channel in the cycle (``tally.alerts`` counts
    those queued by earlier sources) and follow-ups within ``routes.followups``; what is
    held back is only counted in the tally (with the held alerts' topics), for the one
    summary per channel that :func:`cycle_summaries` makes when the cycle ends.
    :func:`decide` gets the same from ``route_batch``, which caps while routing."""
    before = tally or BurstTally()
    flat = [intent for _, intents, _ in intents_by_item for intent in intents]
    kept, overflow, queued = cap_alerts(flat, routes.burst_limit, before.alerts)
    kept_ids = {id(i) for i in kept}
    topics: dict[int, set[str]] = {}
    capped = []
    for item, intents, story in intents_by_item:
        for intent in intents:
            if id(intent) not in kept_ids:
                topics.setdefault(intent.channel_id, set()).update(item.topics)
        capped.append((item, [i for i in intents if id(i) in kept_ids], story))
    out, after = _rendered(capped, routes, before, queued, overflow, topics, labels)
    return [delivery for _, delivery in out], after


def _rendered(
    capped: Sequence[tuple[Item, list[DeliveryIntent], Story]],
    routes: Routes,
    before: BurstTally,
    queued: dict[int, int],
    held: dict[int, int],
    held_topics: dict[int, set[str]],
    labels: Callable[[str], str],
) -> tuple[list[tuple[int, PendingDelivery]], BurstTally]:
    """Deliveries for intents the alert cap kept (follow-ups still within the budget), each
    with its item's source id, and ``before`` plus these queued alerts, held alerts (and
    their topics) and held follow-ups. An alert or follow-up is rendered once per item and
    shared by every channel receiving it (payloads are never mutated after rendering)."""
    flat = [(item, intent, story) for item, intents, story in capped for intent in intents]
    kept = [intent for _, intent, _ in flat]
    held_updates: dict[int, int] = {}
    if routes.followups is not None:
        kept, held_updates = routes.followups.take(kept)
    kept_ids = {id(i) for i in kept}
    out: list[tuple[int, PendingDelivery]] = []
    rendered: dict[tuple[int, int, bool], dict[str, Any]] = {}  # one render per item and kind
    for item, intent, story in flat:
        if id(intent) not in kept_ids:
            continue
        followup = intent.kind == "followup"
        payload = rendered.get((id(item), id(story), followup))
        if payload is None:
            view = AlertView(
                story=story,
                item=item,
                topic_labels=tuple(labels(t) for t in item.topics),
                outlet_count=max(1, len(story.outlets)),
                followup=followup,
            )
            payload = rendered[(id(item), id(story), followup)] = message_to_dict(
                render_alert(view)
            )
        delivery = PendingDelivery(
            channel_id=intent.channel_id,
            kind=intent.kind,
            dedupe_key=intent.dedupe_key,
            payload=payload,
            story_key=story.key,
            item_key=item.key,
            thread_key=story.key,
        )
        out.append((item.source_id, delivery))
    if not held and not held_updates:
        return out, replace(before, alerts=queued)
    topics = dict(before.held_topics)
    for channel_id, found in held_topics.items():
        topics[channel_id] = topics.get(channel_id, frozenset()) | found
    return out, BurstTally(
        alerts=queued,
        held=_added(before.held, held),
        held_topics=topics,
        held_updates=_added(before.held_updates, held_updates),
    )


def _added(counts: Mapping[int, int], more: Mapping[int, int]) -> dict[int, int]:
    out = dict(counts)
    for key, count in more.items():
        out[key] = out.get(key, 0) + count
    return out


def cycle_summaries(
    tally: BurstTally, channels: Sequence[Channel], now: datetime, cycle_key: str
) -> list[PendingDelivery]:
    """The summaries that end a poll cycle: per channel, one burst summary of the alerts the
    cap held back (how many, about which topics) and one "and N more updates" of the held
    follow-ups; nothing for a channel that lost nothing. ``cycle_key`` names the cycle (its
    start and a random nonce), so each is enqueued once per channel per cycle."""
    names = {c.id: c.name for c in channels}
    out: list[PendingDelivery] = []
    order = {channel_id: n for n, channel_id in enumerate(names)}  # in the order of channels
    for channel_id, count in sorted(tally.held.items(), key=lambda c: order.get(c[0], -1)):
        topics = tuple(sorted(tally.held_topics.get(channel_id, ())))
        summary = burst_summary_intent(channel_id, cycle_key)
        message = render_burst_summary(names.get(channel_id, ""), count, topics, now)
        out.append(
            PendingDelivery(
                channel_id=channel_id,
                kind="burst_summary",
                dedupe_key=summary.dedupe_key,
                payload=message_to_dict(message),
            )
        )
    for channel_id, count in sorted(tally.held_updates.items(), key=lambda c: order.get(c[0], -1)):
        summary = updates_summary_intent(channel_id, cycle_key)
        message = render_updates_summary(names.get(channel_id, ""), count, now)
        out.append(
            PendingDelivery(
                channel_id=channel_id,
                kind="burst_summary",
                dedupe_key=summary.dedupe_key,
                payload=message_to_dict(message),
            )
        )
    return out


# --------------------------------------------------------------------------- whole


def ingest(
    source: Source,
    outcome: FetchOutcome,
    known: set[str] | frozenset[str] | Mapping[str, Any],
    stories: OpenStories,
    routes: Routes,
    now: datetime,
    *,
    judge: Callable[[Item, tuple[str, str] | None], Item],
    labels: Callable[[str], str],
    jitter: float,
    tally: BurstTally | None = None,
) -> IngestBatch:
    """:func:`prepare` then :func:`decide`; failures and 304s become their batches.

    Raises ``ParseError`` (and whatever hostile input provokes) from parsing."""
    if not outcome.ok:
        return failed_batch(source, outcome.error or "fetch failed", outcome, now, jitter=jitter)
    if outcome.not_modified:
        return not_modified_batch(source, outcome, now, jitter=jitter)
    prepared = prepare(source, outcome, set(known), now, judge)
    return decide(
        source,
        outcome,
        prepared,
        stories,
        routes,
        now,
        labels=labels,
        jitter=jitter,
        tally=tally,
    )
