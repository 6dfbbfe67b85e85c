"""The alert cap holds per channel per poll cycle (bot.domain.route, bot.domain.ingest).

``cap_alerts`` takes the count a cycle already queued and returns the updated one;
``route_batch`` routes and caps in one pass; ``decide`` carries a ``BurstTally`` from source to
source; ``cycle_summaries`` ends the cycle with one summary per channel that lost something.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_route import CHANNELS, DESK, NOW, STORY, SUBS, TOPIC_POOL, make_item

from bot.domain.codec import message_from_dict
from bot.domain.ingest import (
    Judged,
    OpenStories,
    Prepared,
    Routes,
    cycle_summaries,
    decide,
    item_fingerprint,
)
from bot.domain.models import Channel, FetchOutcome, FetchState, Source, SourceSpec, Subscription
from bot.domain.route import (
    BurstTally,
    DeliveryIntent,
    cap_alerts,
    cap_burst,
    route_batch,
    route_item,
)
from bot.domain.stories import StoryIndex

intent_lists = st.lists(
    st.tuples(st.integers(1, 4), st.sampled_from(("alert", "alert", "followup"))), max_size=40
)


def intents_of(spec: list[tuple[int, str]]) -> list[DeliveryIntent]:
    return [
        DeliveryIntent(channel, kind, f"s{n}", n, f"{kind}:{channel}:{n}")  # type: ignore[arg-type]
        for n, (channel, kind) in enumerate(spec)
    ]


@settings(max_examples=300, deadline=None)
@given(spec=intent_lists, limit=st.integers(0, 6), cuts=st.lists(st.integers(0, 40), max_size=5))
def test_a_cycle_split_into_sources_caps_as_one_batch_would(
    spec: list[tuple[int, str]], limit: int, cuts: list[int]
) -> None:
    intents = intents_of(spec)
    whole_kept, whole_overflow, whole_queued = cap_alerts(intents, limit, {})
    bounds = [0, *sorted(min(c, len(intents)) for c in cuts), len(intents)]
    queued: dict[int, int] = {}
    kept: list[DeliveryIntent] = []
    overflow: dict[int, int] = {}
    for start, end in pairwise(bounds):
        passed, snapshot = queued, dict(queued)
        part_kept, part_overflow, queued = cap_alerts(intents[start:end], limit, passed)
        assert passed == snapshot  # the count passed in is not changed
        kept += part_kept
        for channel, n in part_overflow.items():
            overflow[channel] = overflow.get(channel, 0) + n
    assert (kept, overflow, queued) == (whole_kept, whole_overflow, whole_queued)
    for channel in {c for c, _ in spec}:
        alerts = sum(i.channel_id == channel and i.kind == "alert" for i in kept)
        routed = sum(c == channel and k == "alert" for c, k in spec)
        assert alerts == min(limit, routed) and alerts + overflow.get(channel, 0) == routed
    assert [i for i in intents if i.kind != "alert"] == [i for i in kept if i.kind != "alert"]
    assert cap_burst(intents, limit) == (whole_kept, whole_overflow)


def test_the_count_carried_in_counts_against_the_limit() -> None:
    intents = intents_of([(1, "alert"), (2, "alert"), (1, "followup")])
    kept, overflow, queued = cap_alerts(intents, 5, {1: 5, 2: 4})
    assert kept == intents[1:] and overflow == {1: 1} and queued == {1: 5, 2: 5}
    with pytest.raises(ValueError):
        cap_alerts(intents, -1, {})


def two_step(members, channels, subscriptions, alerted, limit, queued):  # type: ignore[no-untyped-def]
    """Routing item by item (``route_item``), then ``cap_alerts`` over everything."""
    local = {k: set(v) for k, v in alerted.items()}
    routed = []
    for item, story, is_new in members:
        seen = local.setdefault(story.key, set())
        intents = route_item(
            item,
            story,
            is_new_story=is_new,
            channels=channels,
            subscriptions=subscriptions,
            alerted_channels=seen,
            now=NOW,
        )
        seen.update(i.channel_id for i in intents if i.kind == "alert")
        routed.append(intents)
    kept, overflow, counts = cap_alerts([i for r in routed for i in r], limit, queued)
    kept_ids = {id(i) for i in kept}
    topics: dict[int, set[str]] = {}
    for (item, _, _), intents in zip(members, routed, strict=True):
        for i in intents:
            if id(i) not in kept_ids:
                topics.setdefault(i.channel_id, set()).update(item.topics)
    return [[i for i in r if id(i) in kept_ids] for r in routed], counts, overflow, topics


@settings(max_examples=300, deadline=None)
@given(
    items=st.lists(
        st.tuples(
            st.lists(st.sampled_from(TOPIC_POOL), max_size=2),
            st.booleans(),
            st.integers(0, 2),
            st.booleans(),
        ),
        max_size=12,
    ),
    subs=st.lists(
        st.tuples(
            st.integers(1, 4),
            st.sampled_from((*TOPIC_POOL, "*")),
            st.sampled_from(("realtime", "digest", "both")),
            st.booleans(),
        ),
        max_size=12,
    ),
    order=st.permutations(CHANNELS),
    alerted=st.dictionaries(st.sampled_from(("k0", "k1", "k2")), st.sets(st.integers(1, 4))),
    limit=st.integers(0, 4),
    queued=st.dictionaries(st.integers(1, 4), st.integers(0, 5)),
)
def test_route_batch_keeps_what_routing_then_capping_keeps(
    items: list[tuple[list[str], bool, int, bool]],
    subs: list[tuple[int, str, str, bool]],
    order: list[Channel],
    alerted: dict[str, set[int]],
    limit: int,
    queued: dict[int, int],
) -> None:
    subscriptions = [
        Subscription(id=n, channel_id=channel, topic=topic, mode=mode,  # type: ignore[arg-type]
                     muted_until=NOW + timedelta(hours=1) if muted else None)
        for n, (channel, topic, mode, muted) in enumerate(subs, 1)
    ]  # fmt: skip
    channels = [*order, order[0]]  # a channel listed twice is routed to once
    members = [
        (
            make_item(key=f"src:{n}", topics=tuple(topics), relevant=relevant, item_id=n),
            replace(STORY, key=f"k{story}"),
            is_new,
        )
        for n, (topics, relevant, story, is_new) in enumerate(items)
    ]
    routed = route_batch(
        members,
        channels=channels,
        subscriptions=subscriptions,
        alerted=alerted,
        per_channel_limit=limit,
        queued=queued,
        now=NOW,
    )
    expected = two_step(members, channels, subscriptions, alerted, limit, queued)
    assert (routed.intents, routed.queued, routed.held, routed.held_topics) == expected
    assert all(n <= max(limit, queued.get(c, 0)) for c, n in routed.queued.items())


# --------------------------------------------------------------------------- decide


def source(n: int) -> Source:
    spec = SourceSpec(name=f"wire {n}", url=f"https://wire{n}.example/feed")
    return Source(id=n, spec=spec, state=FetchState(baseline_done=True))


def judged(source_id: int, n: int, topic: str) -> Judged:
    words = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel")
    title = f"{words[n % 8]} {words[(n // 8) % 8]} unrelated event number {n} in {source_id}"
    item = replace(
        make_item(key=f"s{source_id}:{n}", topics=(topic,), item_id=None),
        source_id=source_id,
        title=title,
        url=f"https://wire{source_id}.example/{n}",
        published=NOW - timedelta(days=5 * n),  # five days apart: stories of their own
    )
    return Judged(item, (item.key,), item_fingerprint(item))


def test_decide_carries_the_cycle_count_from_source_to_source() -> None:
    """Four sources of four relevant items each: five alerts in the cycle, not five per
    source, and one summary of the other eleven when the cycle ends."""
    channels = (DESK, replace(DESK, id=2, name="quiet-desk"))
    routes = Routes(
        channels=channels,
        subscriptions=(*SUBS[:1], Subscription(id=9, channel_id=2, topic="health")),
        burst_limit=5,
    )
    view = OpenStories(StoryIndex(), {})
    ok = FetchOutcome(url="https://wire.example/feed", ok=True, status=200)
    tally = BurstTally()
    alerts = 0
    for s in range(1, 5):
        items = tuple(judged(s, 4 * s + n, "taiwan") for n in range(4))
        batch = decide(
            source(s), ok, Prepared(items, None, 4), view, routes, NOW,
            labels=str, jitter=0.0, tally=tally,
        )  # fmt: skip
        assert all(d.kind == "alert" for d in batch.deliveries)
        alerts += len(batch.deliveries)
        tally = batch.tally
    assert len(view.stories) == 16
    assert alerts == 5 and tally.alerts == {1: 5}
    assert tally.held == {1: 11} and tally.held_topics == {1: frozenset({"taiwan"})}
    assert tally.owes_summary()
    (summary,) = cycle_summaries(tally, channels, NOW, "cycle-1")
    assert (summary.channel_id, summary.kind, summary.dedupe_key) == (
        1,
        "burst_summary",
        "burst:1:cycle-1",
    )
    text = message_from_dict(summary.payload).fallback
    assert "11 more relevant items about taiwan" in text and "china-desk" in text
    assert cycle_summaries(BurstTally(alerts={1: 5}), channels, NOW, "cycle-2") == []
