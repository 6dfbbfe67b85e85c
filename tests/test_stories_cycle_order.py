"""Story grouping and routing do not depend on the order in which a poll's fetches finish.

Pure: ``decide_cycle`` gives the same batches for any permutation of a window's outcomes.
Shell: the same feeds, served by a local feed server that answers each one after its own
delay, polled with different completion orders, store the same stories (partition of the
items) and enqueue the same deliveries in the same outbox order, every follow-up after its
parent alert; a source slower than the window barrier holds nobody.
"""

from __future__ import annotations

import io
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from feedserver import FeedServer
from hypothesis import given, settings
from hypothesis import strategies as st
from newsserver import NewsItem, rss_feed
from sqlalchemy import select
from test_stories_grouping import COUNTER, PREVIEW, SANCTIONS
from test_stories_lookalikes import ITEMS

from bot.app import App, build_app
from bot.config import FileConfig, PollConfig, Settings, SourceConfig
from bot.domain.ingest import (
    Fetched,
    IngestBatch,
    Judged,
    OpenStories,
    PendingDelivery,
    Prepared,
    Routes,
    decide,
    decide_cycle,
    item_fingerprint,
)
from bot.domain.models import (
    Channel,
    Classification,
    FetchOutcome,
    FetchState,
    Item,
    Source,
    SourceSpec,
    Subscription,
)
from bot.domain.route import BurstTally, FollowupBudget
from bot.domain.stories import StoryIndex
from jobs.poll import Poller, barrier_s_of, commit_slices, poll_due
from storage.tables import delivery_t, item_t, source_t

NOW = datetime(2026, 10, 12, 12, 0, tzinfo=UTC)
# Outlets in source-id order: the earliest reports come from the last one, so a story's
# alert is often in a later batch than its follow-ups.
OUTLETS = ("Outlet C", "Paper B", "Wire A")
ROWS = [*ITEMS.values()]
MIRROR = {**ITEMS["visit_a"], "id": "visit_mirror", "url": "https://mirror.example/visit"}


# --------------------------------------------------------------------------- pure


def _source(number: int, name: str, *, baseline_done: bool = True) -> Source:
    spec = SourceSpec(name=name, url=f"https://{number}.example/feed")
    return Source(id=number, spec=spec, state=FetchState(baseline_done=baseline_done))


def _judged(source: Source, row: dict[str, Any]) -> Judged:
    item = Item(
        key=row["id"],
        source_id=source.id,
        url=row["url"],
        title=row["title"],
        summary=row["summary"],
        published=datetime.fromisoformat(row["published"].replace("Z", "+00:00")),
        first_seen=NOW,
        source_name=source.name,
        classification=Classification(relevant=True, topics=("diplomacy",)),
    )
    return Judged(item, (row["id"],), item_fingerprint(item))


def _window() -> list[Fetched]:
    sources = [_source(n + 1, name) for n, name in enumerate(OUTLETS)]
    sources.append(_source(4, "Mirror D"))
    sources.append(_source(5, "New outlet", baseline_done=False))
    rows = {s.id: [r for r in ROWS if r["source"] == s.name] for s in sources}
    rows[4] = [MIRROR]
    rows[5] = [{**ITEMS["chip_curbs"], "id": "chip_new", "url": "https://new.example/chips"}]
    return [
        Fetched(
            s,
            FetchOutcome(url=s.url, ok=True, status=200),
            Prepared(tuple(_judged(s, r) for r in rows[s.id]), None, len(rows[s.id])),
            NOW,
            0.5,
        )
        for s in sources
    ]


def _routes() -> Routes:
    channels = [Channel(10, "all", "console", "stdout"), Channel(11, "desk", "console", "x")]
    subscriptions = [Subscription(1, 10, "*"), Subscription(2, 11, "diplomacy")]
    budget = FollowupBudget(per_story=1, per_cycle=2)
    return Routes(channels, subscriptions, burst_limit=4, followups=budget)


def _delivery(d: PendingDelivery) -> tuple[Any, ...]:
    return (d.channel_id, d.kind, d.dedupe_key, d.story_key, d.item_key, d.payload)


def _decided(fetched: Sequence[Fetched]) -> tuple[list[Any], BurstTally]:
    view = OpenStories(StoryIndex(), {})
    batches, tally = decide_cycle(fetched, view, _routes(), NOW, labels=str)
    return [_plain(b) for b in batches], tally


def _plain(batch: IngestBatch) -> dict[str, Any]:
    return {
        "source": batch.source_id,
        "items": [(item.key, item.story_key) for item, _ in batch.items],
        "stories": [(s.key, s.outlets, s.item_count, state) for s, state in batch.stories],
        "deliveries": [_delivery(d) for d in batch.deliveries],
    }


EXPECTED = _decided(_window())


def test_the_window_exercises_stories_across_sources_caps_and_baselines() -> None:
    batches, tally = EXPECTED
    stories = {key for b in batches for _, key in b["items"]}
    shared = {k for k in stories if sum(k in {s for _, s in b["items"]} for b in batches) > 1}
    assert shared, "some story must span sources"
    kinds = [d[1] for b in batches for d in b["deliveries"]]
    assert "alert" in kinds and "followup" in kinds
    assert tally.held, "the alert cap must hold something back"
    assert not batches[-1]["deliveries"], "a baseline source is stored, not routed"
    assert [b["source"] for b in batches] == [1, 2, 3, 4, 5]


def _partition(items: Sequence[tuple[int, str, str | None]]) -> frozenset[frozenset[Any]]:
    groups: dict[str | None, set[tuple[int, str]]] = {}
    for source_id, key, story in items:
        groups.setdefault(story, set()).add((source_id, key))
    return frozenset(frozenset(g) for g in groups.values())


def _one_at_a_time(order: Sequence[int]) -> frozenset[frozenset[Any]]:
    """What polls did before windows: each source decided alone, in arrival order."""
    by_id = {f.source.id: f for f in _window()}
    view, found = OpenStories(StoryIndex(), {}), []
    for source_id in order:
        f = by_id[source_id]
        batch = decide(f.source, f.outcome, f.prepared, view, _routes(), NOW, labels=str, jitter=0)
        found += [(source_id, item.key, item.story_key) for item, _ in batch.items]
    return _partition(found)


def test_one_source_at_a_time_would_depend_on_the_order() -> None:
    """The control: the fixture is one whose grouping arrival order changes."""
    window = _partition([(b["source"], k, s) for b in EXPECTED[0] for k, s in b["items"]])
    visit = {(1, "visit_c"), (2, "visit_b"), (3, "visit_a"), (4, "visit_mirror")}
    assert visit in window
    assert _one_at_a_time([1, 2, 3, 4, 5]) != _one_at_a_time([3, 1, 2, 4, 5])


@settings(max_examples=40, deadline=None)
@given(st.permutations(_window()))
def test_decide_cycle_gives_the_same_batches_in_any_order(fetched: list[Fetched]) -> None:
    assert _decided(fetched) == EXPECTED


@settings(max_examples=20, deadline=None)
@given(st.permutations(_window()))
def test_every_followup_is_enqueued_after_its_parent_alert(fetched: list[Fetched]) -> None:
    view = OpenStories(StoryIndex(), {})
    batches, _ = decide_cycle(fetched, view, _routes(), NOW, labels=str)
    for batch in batches:  # a batch's alerts come first
        kinds = [d.kind for d in batch.deliveries]
        assert kinds == sorted(kinds, key=lambda k: k == "followup")
    every = [d for b in batches for d in b.deliveries]
    alerts = {(d.channel_id, d.thread_key) for d in every if d.kind == "alert"}
    replies = 0
    for part in commit_slices(batches, rows=1):  # a parent and its replies commit together
        inside = [d for b in batches[part] for d in b.deliveries]
        here = {(d.channel_id, d.thread_key) for d in inside if d.kind == "alert"}
        for d in inside:
            if d.kind == "followup" and (d.channel_id, d.thread_key) in alerts:
                assert (d.channel_id, d.thread_key) in here
                replies += 1
    assert replies


def test_a_cycle_split_into_windows_keeps_the_burst_cap_per_cycle() -> None:
    window = _window()
    view = OpenStories(StoryIndex(), {})
    routes = _routes()
    first, tally = decide_cycle(window[:2], view, routes, NOW, labels=str)
    second, tally = decide_cycle(window[2:], view, routes, NOW, labels=str, tally=tally)
    alerts: dict[int, int] = {}
    for batch in [*first, *second]:
        for d in batch.deliveries:
            if d.kind == "alert":
                alerts[d.channel_id] = alerts.get(d.channel_id, 0) + 1
    assert alerts and max(alerts.values()) <= routes.burst_limit
    assert dict(tally.alerts) == alerts


# --------------------------------------------------------------------------- shell

BASELINE = {"Wire A": SANCTIONS, "Paper B": COUNTER, "Outlet C": PREVIEW}


def _news(row: dict[str, Any]) -> NewsItem:
    published = datetime.fromisoformat(row["published"].replace("Z", "+00:00"))
    return NewsItem(row["id"], row["title"], row["url"], row["summary"], published)


def _feed(outlet: str, *, reports: bool) -> bytes:
    rows = [r for r in ROWS if r["source"] == outlet] if reports else []
    return rss_feed(outlet, [_news(r) for r in [*rows, BASELINE[outlet]]])


def _settings(db: Path, server: FeedServer, deadline: int = 20) -> Settings:
    sources = [
        SourceConfig(name=o, url=server.url(_path(o)), type="rss")  # type: ignore[arg-type]
        for o in OUTLETS
    ]
    return Settings(
        database_url=f"sqlite:///{db}",
        allow_private_networks=True,
        file=FileConfig(sources=sources, poll=PollConfig(deadline=deadline)),
    )


def _path(outlet: str) -> str:
    return "/" + outlet.lower().replace(" ", "-") + ".xml"


def _serve(server: FeedServer, delays: dict[str, float], *, reports: bool) -> None:
    for outlet in OUTLETS:
        body = _feed(outlet, reports=reports)
        server.serve(_path(outlet), body, "application/rss+xml", delay_s=delays[outlet])


async def _stored(app: App) -> tuple[frozenset[frozenset[tuple[str, str]]], list[Any]]:
    """The stories as a partition of (outlet, item url), and the outbox in id order."""
    async with app.store.db.connect() as conn:
        names = dict((await conn.execute(select(source_t.c.id, source_t.c.name))).all())
        items = (await conn.execute(select(item_t))).mappings().all()
        rows = (await conn.execute(select(delivery_t).order_by(delivery_t.c.id))).mappings()
        deliveries = rows.all()
    groups: dict[str, set[tuple[str, str]]] = {}
    for row in items:
        if row["story_key"]:
            groups.setdefault(row["story_key"], set()).add((names[row["source_id"]], row["url"]))
    urls = {row["id"]: (names[row["source_id"]], row["url"]) for row in items}
    outbox = [
        (
            d["channel_id"],
            d["kind"],
            "burst" if d["kind"] == "burst_summary" else d["dedupe_key"],
            d["thread_key"],
            urls.get(d["item_id"]),
        )
        for d in deliveries
    ]
    return frozenset(frozenset(g) for g in groups.values()), outbox


def _finish_order(server: FeedServer, since: int) -> list[str]:
    paths = {_path(o): o for o in OUTLETS}
    done = [r for r in server.requests[since:] if r.path in paths]
    return [paths[r.path] for r in sorted(done, key=lambda r: r.finished or 0.0)]


async def _run(tmp: Path, server: FeedServer, order: Sequence[str]) -> tuple[Any, Any]:
    delays = {outlet: 0.3 * order.index(outlet) for outlet in OUTLETS}
    app = await build_app(_settings(tmp, server), clock=lambda: NOW, output=io.StringIO())
    try:
        for reports in (False, True):
            _serve(server, delays, reports=reports)
            since = len(server.requests)
            summary = await poll_due(app.poll_ports(), all_sources=True)
            assert summary.failed == 0, [r.error for r in summary.results]
            assert _finish_order(server, since) == list(order)
        return await _stored(app)
    finally:
        await app.close()


@pytest.mark.timeout(300)
async def test_completion_order_changes_no_story_and_no_delivery(tmp_path: Path) -> None:
    orders = [OUTLETS, OUTLETS[::-1], (OUTLETS[1], OUTLETS[2], OUTLETS[0])]
    with FeedServer(n_feeds=1) as server:
        found = [await _run(tmp_path / f"{n}.db", server, o) for n, o in enumerate(orders)]
    stories, outbox = found[0]
    assert any(len(g) > 1 for g in stories), "some story must span outlets"
    assert any(d[1] == "followup" for d in outbox) and any(d[1] == "alert" for d in outbox)
    assert any(d[1] == "burst_summary" for d in outbox), "the alert cap must hold some back"
    for other_stories, other_outbox in found[1:]:
        assert other_stories == stories
        assert other_outbox == outbox
    alerts = {(c, t): n for n, (c, k, _, t, _) in enumerate(outbox) if k == "alert"}
    replies = [(n, (c, t)) for n, (c, k, _, t, _) in enumerate(outbox) if k == "followup"]
    threaded = [(n, alerts[thread]) for n, thread in replies if thread in alerts]
    assert threaded  # (a follow-up whose alert the cap held back has no parent)
    assert all(parent < n for n, parent in threaded), "a parent alert is enqueued first"


@pytest.mark.timeout(120)
async def test_a_source_slower_than_the_barrier_holds_nobody(tmp_path: Path) -> None:
    with FeedServer(n_feeds=1) as server:
        # deadline 2 s: a window waits at most 0.5 s for more sources after its first
        app = await build_app(
            _settings(tmp_path / "slow.db", server, deadline=2),
            clock=lambda: NOW,
            output=io.StringIO(),
        )
        try:
            slow = {"Wire A": 1.5, "Paper B": 0.0, "Outlet C": 0.0}
            _serve(server, slow, reports=False)
            await poll_due(app.poll_ports(), all_sources=True)  # the baseline
            _serve(server, slow, reports=True)
            sources = await app.store.sources.all(enabled_only=True)
            done: dict[str, float] = {}
            started = time.monotonic()
            async with Poller(app.poll_ports()) as poller:
                assert poller.barrier_s == 0.5
                await poller.poll(
                    sources, NOW, lambda _n, _t, r: done.setdefault(r.name, time.monotonic())
                )
            stories, outbox = await _stored(app)
        finally:
            await app.close()
    assert done["Paper B"] - started < 1.4 and done["Outlet C"] - started < 1.4, done
    assert done["Wire A"] - started >= 1.5
    assert any(len(g) > 1 for g in stories) and outbox


def test_barrier_is_two_seconds_or_a_quarter_of_the_deadline() -> None:
    assert barrier_s_of(20) == 2.0 and barrier_s_of(4) == 1.0 and barrier_s_of(1) == 0.25


@pytest.mark.timeout(120)
async def test_a_window_closes_once_every_source_in_flight_is_in(tmp_path: Path) -> None:
    with FeedServer(n_feeds=1) as server:
        app = await build_app(
            _settings(tmp_path / "quick.db", server), clock=lambda: NOW, output=io.StringIO()
        )
        try:
            _serve(server, dict.fromkeys(OUTLETS, 0.0), reports=True)
            sources = await app.store.sources.all(enabled_only=True)
            started = time.monotonic()
            async with Poller(app.poll_ports(), barrier_s=60) as poller:
                results = await poller.poll(sources, NOW)
            took = time.monotonic() - started
        finally:
            await app.close()
    assert [r.status for r in results] == ["ok"] * 3
    assert took < 30, took
