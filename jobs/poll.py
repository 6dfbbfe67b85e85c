"""One poll cycle: fetch -> parse -> normalise -> identify -> classify -> group -> store -> route.

Per source, everything it produces (new items, their stories, the delivery intents they
cause, the source's new fetch state) is committed in one transaction, so an alert is never
lost nor an item stored without its alerts. A failing source becomes a failed
``SourceResult`` and never delays or breaks the others: fetches run concurrently, and each
result is processed as soon as it arrives.

The first successful poll of a source is its baseline: items are stored, nothing is alerted.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import random
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.domain.codec import message_to_dict
from bot.domain.engagements import extract_engagements
from bot.domain.errors import ParseError
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
from bot.domain.parse import parse_feed
from bot.domain.polling import next_poll_at
from bot.domain.render import render_alert, render_burst_summary
from bot.domain.route import DeliveryIntent, burst_summary_intent, cap_burst, route_item
from bot.domain.stories import StoryIndex, fingerprint
from bot.domain.storyline import extend_story, open_story
from bot.domain.views import AlertView
from storage.repos.items import IngestBatch, PendingDelivery

if TYPE_CHECKING:
    from bot.app import App
    from bot.sources.http import Fetcher

log = logging.getLogger(__name__)

STORY_WINDOW = timedelta(days=4)
FULL_TEXT_MAX = 20_000  # characters of an entry's text that classification reads


@dataclass(frozen=True)
class SourceResult:
    source_id: int
    name: str
    status: str  # ok | not_modified | failed
    error: str | None = None
    warning: str | None = None
    fetched: int = 0
    new_items: int = 0
    relevant_items: int = 0
    deliveries: int = 0
    baseline: bool = False


@dataclass
class PollSummary:
    started: datetime
    results: list[SourceResult] = field(default_factory=list)

    @property
    def ok(self) -> int:
        return sum(r.status != "failed" for r in self.results)

    @property
    def failed(self) -> int:
        return sum(r.status == "failed" for r in self.results)

    @property
    def new_items(self) -> int:
        return sum(r.new_items for r in self.results)

    @property
    def relevant_items(self) -> int:
        return sum(r.relevant_items for r in self.results)

    @property
    def deliveries(self) -> int:
        return sum(r.deliveries for r in self.results)

    def line(self) -> str:
        return (
            f"sources ok: {self.ok}, failed: {self.failed}; new items: {self.new_items}, "
            f"relevant: {self.relevant_items}; deliveries queued: {self.deliveries}"
        )


Progress = Callable[[int, int, SourceResult], None]


@dataclass
class Routing:
    """What routing needs about channels, loaded once per cycle."""

    channels: list[Channel]
    subscriptions: list[Subscription]
    burst_limit: int


class StateBuffer:
    """Fetch states of sources that brought nothing new (not modified, failed), saved
    ``size`` at a time in one transaction instead of one transaction each.

    A crash loses at most the unsaved states: those sources are simply polled again.
    """

    def __init__(self, app: App, size: int = 100) -> None:
        self.app = app
        self.size = size
        self.pending: list[tuple[int, FetchState]] = []

    async def add(self, source_id: int, state: FetchState) -> None:
        self.pending.append((source_id, state))
        if len(self.pending) >= self.size:
            await self.flush()

    async def flush(self) -> None:
        pending, self.pending = self.pending, []
        await self.app.store.sources.save_states(pending)


async def _save_state(
    app: App, source_id: int, state: FetchState, states: StateBuffer | None
) -> None:
    if states is None:
        await app.store.sources.save_state(source_id, state)
    else:
        await states.add(source_id, state)


class StoryWindow:
    """The recent-stories index, restored from the database at the start of a cycle."""

    def __init__(self, index: StoryIndex, stories: dict[str, Story]) -> None:
        self.index = index
        self.stories = stories

    @classmethod
    async def load(cls, app: App, now: datetime) -> StoryWindow:
        recent = await app.store.stories.recent_fingerprints(now - STORY_WINDOW)
        index = StoryIndex.restore([(s.key, fp) for s, fp in recent if fp])
        return cls(index, {s.key: s for s, _ in recent})


# --------------------------------------------------------------------------- cycle


async def poll_due(
    app: App, *, all_sources: bool = False, progress: Progress | None = None
) -> PollSummary:
    """Poll the sources that are due (or all enabled ones) once; never raises per source."""
    now = app.now()
    summary = PollSummary(started=now)
    if all_sources:
        sources = await app.store.sources.all(enabled_only=True)
    else:
        sources = await app.store.sources.claim_due(now)
    if not sources:
        return summary
    routing = Routing(
        channels=await app.store.channels.all(),
        subscriptions=await app.store.channels.subscriptions(),
        burst_limit=app.settings.file.alerts_per_channel_per_poll,
    )
    window = await StoryWindow.load(app, now)
    lock = asyncio.Lock()
    states = StateBuffer(app)
    with _gc_paused():
        try:
            await _poll_sources(app, sources, routing, window, now, summary, lock, progress, states)
        finally:
            await states.flush()
    app.metrics.inc("uschina_bot_polls_total")
    return summary


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Automatic garbage collection off for one cycle, then one young-generation collection.

    A cycle allocates many short-lived objects; left on, the collector keeps rescanning the
    long-lived heap (story window, parsed trees) for little gain. Reference counting still
    frees everything acyclic at once; the collection at the end frees the few cycles made.
    """
    if not gc.isenabled():  # someone else manages the collector
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect(1)


async def _poll_sources(
    app: App,
    sources: Sequence[Source],
    routing: Routing,
    window: StoryWindow,
    now: datetime,
    summary: PollSummary,
    lock: asyncio.Lock,
    progress: Progress | None,
    states: StateBuffer,
) -> None:
    async with app.fetcher() as fetcher:

        async def one(source: Source) -> SourceResult:
            outcome = await fetch_source(fetcher, source)
            async with lock:  # processing is CPU + one transaction; keep the index consistent
                return await process_outcome(
                    app, source, outcome, routing, window, now, states=states
                )

        tasks = [asyncio.create_task(one(s)) for s in sources]
        for done in asyncio.as_completed(tasks):
            result = await done
            summary.results.append(result)
            if progress:
                progress(len(summary.results), len(sources), result)


async def fetch_source(fetcher: Fetcher, source: Source) -> FetchOutcome:
    return await fetcher.fetch(
        source.url, etag=source.state.etag, last_modified=source.state.last_modified
    )


async def process_outcome(
    app: App,
    source: Source,
    outcome: FetchOutcome,
    routing: Routing,
    window: StoryWindow,
    now: datetime,
    *,
    states: StateBuffer | None = None,
) -> SourceResult:
    """Turn one fetch outcome into stored items, stories and delivery intents.

    With ``states``, the fetch state of a source bringing nothing new (not modified, failed)
    is buffered there for a batched save; without, it is saved at once."""
    if not outcome.ok:
        error = outcome.error or "fetch failed"
        return await _record_failure(app, source, error, outcome, now, states)
    if outcome.not_modified:
        state = _success_state(source, outcome, now, warning=source.state.last_warning)
        await _save_state(app, source.id, state, states)
        app.metrics.inc("uschina_bot_source_fetches_total", result="not_modified")
        return SourceResult(source.id, source.name, "not_modified")
    try:
        feed = parse_feed(
            outcome.body,
            url=outcome.final_url or source.url,
            content_type=outcome.headers.get("content-type"),
            source_type=source.spec.type,
            selector=source.spec.selector,
        )
    except ParseError as exc:
        return await _record_failure(app, source, str(exc), outcome, now, states)
    warning = "; ".join(feed.warnings) or None
    normalized = [
        (normalize_entry(e, source=source, feed_language=feed.language, now=now), e)
        for e in feed.entries
    ]
    full_texts: dict[str, tuple[str, str]] = {}
    for normal, entry in normalized:  # stored text is capped; judge the whole entry
        full_texts.setdefault(normal.key, full_text(normal, entry))
    items = dedupe_batch([normal for normal, _ in normalized])
    pairs = [(item, identities_of(item)) for item in items]
    known = await app.store.ingest.known_identities(source.id, [i for _, ids in pairs for i in ids])
    fresh = [(item, ids) for item, ids in pairs if not known.intersection(ids)]
    baseline = not source.state.baseline_done
    judged = [(judge(app, item, full_texts.get(item.key)), ids) for item, ids in fresh]
    batch = IngestBatch(
        source_id=source.id,
        state=_success_state(source, outcome, now, warning=warning),
        now=now,
        items=[],
        baseline=baseline,
    )
    grouped: list[tuple[Item, tuple[str, ...], Story | None, bool]] = []
    touched: dict[str, Story] = {}
    for item, ids in judged:
        if item.relevant:
            item, story, is_new_story = group(window, item)
            touched[story.key] = story
            grouped.append((item, ids, story, is_new_story))
        else:
            grouped.append((item, ids, None, False))
        batch.items.append((item, ids))
    intents_by_item: list[tuple[Item, list[DeliveryIntent], Story]] = []
    if not baseline and touched:
        alerted = await app.store.ingest.alerted_channels(touched)
        for member, _, member_story, is_new_story in grouped:
            if member_story is None:
                continue
            channels_alerted = alerted.setdefault(member_story.key, set())
            intents = route_item(
                member,
                member_story,
                is_new_story=is_new_story,
                channels=routing.channels,
                subscriptions=routing.subscriptions,
                alerted_channels=channels_alerted,
                now=now,
            )
            intents_by_item.append((member, intents, touched[member_story.key]))
            channels_alerted.update(i.channel_id for i in intents if i.kind == "alert")
    batch.stories = [(s, window.index.story_state(k)) for k, s in touched.items()]
    batch.deliveries = _deliveries(app, intents_by_item, routing, now)
    inserted = await app.store.ingest.commit(batch)
    relevant = [i for i in inserted if i.relevant]
    if relevant and not baseline:
        await _propose_events(app, relevant, now)
    app.metrics.inc("uschina_bot_source_fetches_total", result="ok")
    app.metrics.inc("uschina_bot_items_stored_total", len(inserted))
    app.metrics.inc("uschina_bot_relevant_items_total", len(relevant))
    return SourceResult(
        source.id,
        source.name,
        "ok",
        warning=warning,
        fetched=len(items),
        new_items=len(inserted),
        relevant_items=len(relevant),
        deliveries=len(batch.deliveries),
        baseline=baseline,
    )


def full_text(item: Item, entry: ParsedEntry) -> tuple[str, str]:
    """The entry's title and summary as plain text without the storage caps of ``item``."""
    title = clean_text(entry.title, FULL_TEXT_MAX) or item.title
    return title, clean_text(entry.summary, FULL_TEXT_MAX) or item.summary


def judge(app: App, item: Item, text: tuple[str, str] | None = None) -> Item:
    """Classify an item and, when relevant, extract the engagements it reports.

    ``text`` (title, summary) is the uncapped entry text when known: topics and dates named
    late in a long article count even though the stored summary is cut short."""
    title, summary = text or (item.title, item.summary)
    classification = app.classifier.classify(title, summary)
    item = replace(item, classification=classification)
    if classification.relevant:
        engagements = extract_engagements(title, summary, item.published, app.taxonomy)
        item = replace(item, engagements=engagements)
    return item


def group(window: StoryWindow, item: Item) -> tuple[Item, Story, bool]:
    """Assign ``item`` to a story of the window (or a new one); return the updated story."""
    fp = fingerprint(
        item.title,
        item.summary,
        published=item.published,
        url=item.url,
        source=item.source_name,
        identity=f"{item.source_id}:{item.key}",
    )
    key, is_new = window.index.assign(fp)
    existing = window.stories.get(key)
    story = open_story(key, item) if existing is None or is_new else extend_story(existing, item)
    window.stories[key] = story
    return replace(item, story_key=key), story, is_new


def _deliveries(
    app: App,
    intents_by_item: Sequence[tuple[Item, list[DeliveryIntent], Story]],
    routing: Routing,
    now: datetime,
) -> list[PendingDelivery]:
    flat = [(item, intent, story) for item, intents, story in intents_by_item for intent in intents]
    kept, overflow = cap_burst([i for _, i, _ in flat], routing.burst_limit)
    kept_ids = {id(i) for i in kept}
    labels = app.taxonomy.label
    out: list[PendingDelivery] = []
    for item, intent, story in flat:
        if id(intent) not in kept_ids:
            continue
        view = AlertView(
            story=story,
            item=item,
            topic_labels=tuple(labels(t) for t in item.topics),
            outlet_count=max(1, len(story.outlets)),
            followup=intent.kind == "followup",
        )
        out.append(
            PendingDelivery(
                channel_id=intent.channel_id,
                kind=intent.kind,
                dedupe_key=intent.dedupe_key,
                payload=message_to_dict(render_alert(view)),
                story_key=story.key,
                item_key=item.key,
                thread_key=story.key,
            )
        )
    names = {c.id: c.name for c in routing.channels}
    for channel_id, count in overflow.items():
        topics = sorted(
            {t for item, i, _ in flat if i.channel_id == channel_id for t in item.topics}
        )
        summary = burst_summary_intent(channel_id, f"{now.isoformat()}:{random.random()}")
        message = render_burst_summary(names.get(channel_id, ""), count, tuple(topics), now)
        out.append(
            PendingDelivery(
                channel_id=channel_id,
                kind="burst_summary",
                dedupe_key=summary.dedupe_key,
                payload=message_to_dict(message),
            )
        )
    return out


async def _propose_events(app: App, items: list[Item], now: datetime) -> None:
    try:
        from jobs.countdown import propose_events
    except ImportError:  # pragma: no cover - countdown job absent
        return
    await propose_events(app, items, now)


# --------------------------------------------------------------------------- fetch state


def _success_state(
    source: Source, outcome: FetchOutcome, now: datetime, *, warning: str | None
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
            jitter=random.random(),
        ),
        baseline_done=True,
    )


async def _record_failure(
    app: App,
    source: Source,
    error: str,
    outcome: FetchOutcome,
    now: datetime,
    states: StateBuffer | None = None,
) -> SourceResult:
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
            retry_after_s=outcome.retry_after_s,
            jitter=random.random(),
        ),
    )
    await _save_state(app, source.id, state, states)
    app.metrics.inc("uschina_bot_source_fetches_total", result="failed")
    log.info("source %s (%s) failed: %s", source.id, source.name, error)
    return SourceResult(source.id, source.name, "failed", error=error)


def summary_json(summary: PollSummary) -> dict[str, Any]:
    return {
        "sources_ok": summary.ok,
        "sources_failed": summary.failed,
        "new_items": summary.new_items,
        "relevant_items": summary.relevant_items,
        "deliveries": summary.deliveries,
        "failed": [
            {"id": r.source_id, "name": r.name, "error": r.error}
            for r in summary.results
            if r.status == "failed"
        ],
    }
