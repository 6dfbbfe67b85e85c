"""Delivery routing: which channels get an alert, a follow-up, or nothing (bot.domain.route)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.models import Channel, Classification, Item, Story, Subscription
from bot.domain.route import (
    DeliveryIntent,
    burst_summary_intent,
    cap_burst,
    route_item,
    subscriptions_by_topic,
    subscriptions_for,
)

NOW = datetime(2024, 9, 1, 12, tzinfo=UTC)


def make_item(key: str = "src1:abc", topics: tuple[str, ...] = ("taiwan",), relevant: bool = True,
              item_id: int | None = 11) -> Item:  # fmt: skip
    return Item(
        key=key,
        source_id=1,
        url=f"https://news.example/{key}",
        title="US and China discuss Taiwan",
        summary="",
        published=NOW,
        first_seen=NOW,
        id=item_id,
        classification=Classification(relevant=relevant, topics=topics if relevant else ()),
    )


STORY = Story(key="story-1", title="t", url="https://news.example/1", first_seen=NOW,
              last_seen=NOW, topics=("taiwan",))  # fmt: skip
DESK = Channel(id=1, name="china-desk", platform="slack", target="C1")
TRADE = Channel(id=2, name="trade-desk", platform="teams", target="https://hook.example/x")
ALL = Channel(id=3, name="everything", platform="console", target="stdout")
CHANNELS = (DESK, TRADE, ALL)
TOPIC_POOL = ("taiwan", "trade", "military", "health")
SUBS = (
    Subscription(id=1, channel_id=1, topic="taiwan"),
    Subscription(id=2, channel_id=1, topic="military", mode="both"),
    Subscription(id=3, channel_id=2, topic="trade"),
    Subscription(id=4, channel_id=3, topic="*"),
)


def route(item: Item, *, new: bool = True, alerted: set[int] | None = None,
          channels=CHANNELS, subs=SUBS) -> list[DeliveryIntent]:  # fmt: skip
    return route_item(
        item,
        STORY,
        is_new_story=new,
        channels=channels,
        subscriptions=subs,
        alerted_channels=alerted or set(),
        now=NOW,
    )


def test_relevant_item_alerts_matching_channels_once_each() -> None:
    intents = route(make_item(topics=("taiwan", "military")))
    assert intents == [
        DeliveryIntent(1, "alert", "story-1", 11, "alert:1:story-1"),
        DeliveryIntent(3, "alert", "story-1", 11, "alert:3:story-1"),
    ]


def test_topic_filter_and_wildcard() -> None:
    assert [i.channel_id for i in route(make_item(topics=("trade",)))] == [2, 3]
    assert [i.channel_id for i in route(make_item(topics=("health",)))] == [3]


def test_irrelevant_items_route_nowhere() -> None:
    assert route(make_item(relevant=False)) == []
    assert route(replace(make_item(), classification=None)) == []


def test_followup_when_channel_already_alerted_for_the_story() -> None:
    item = make_item(key="src2:def", item_id=12)
    intents = route(item, new=False, alerted={1})
    assert intents == [
        DeliveryIntent(1, "followup", "story-1", 12, "followup:1:src2:def"),
        DeliveryIntent(3, "alert", "story-1", 12, "alert:3:story-1"),
    ]


def test_new_story_is_always_an_alert() -> None:
    assert {i.kind for i in route(make_item(), new=True, alerted={1, 3})} == {"alert"}


def test_digest_only_subscriptions_get_no_realtime_intent() -> None:
    subs = (Subscription(id=9, channel_id=1, topic="taiwan", mode="digest"),)
    assert route(make_item(), subs=subs) == []
    both = (Subscription(id=9, channel_id=1, topic="taiwan", mode="both"),)
    assert [i.channel_id for i in route(make_item(), subs=both)] == [1]


def test_muted_subscription_is_skipped_until_mute_ends() -> None:
    muted = (
        Subscription(id=9, channel_id=1, topic="taiwan", muted_until=NOW + timedelta(hours=1)),
    )
    assert route(make_item(), subs=muted) == []
    ended = (Subscription(id=9, channel_id=1, topic="taiwan", muted_until=NOW),)
    assert [i.channel_id for i in route(make_item(), subs=ended)] == [1]
    # another unmuted subscription of the same channel still matches
    mixed = (*muted, Subscription(id=10, channel_id=1, topic="*"))
    assert [i.channel_id for i in route(make_item(), subs=mixed)] == [1]


def test_paused_channel_still_queues_for_its_resume() -> None:
    paused = replace(DESK, paused_reason="channel_not_found")
    assert [i.channel_id for i in route(make_item(), channels=(paused, ALL))] == [1, 3]


def test_subscription_of_unknown_channel_is_ignored() -> None:
    orphan = (Subscription(id=9, channel_id=99, topic="*"),)
    assert route(make_item(), subs=orphan) == []


def test_dedupe_keys_are_stable_across_retries() -> None:
    item = make_item()
    assert route(item) == route(item)
    assert [i.dedupe_key for i in route(item)] == ["alert:1:story-1", "alert:3:story-1"]


def _alerts(channel_id: int, count: int) -> list[DeliveryIntent]:
    return [
        DeliveryIntent(channel_id, "alert", f"s{n}", n, f"alert:{channel_id}:s{n}")
        for n in range(count)
    ]


def test_cap_burst_keeps_first_alerts_per_channel_and_counts_overflow() -> None:
    follow = DeliveryIntent(1, "followup", "s0", 99, "followup:1:x")
    intents = [*_alerts(1, 5), follow, *_alerts(2, 2)]
    kept, overflow = cap_burst(intents, 3)
    assert kept == [*_alerts(1, 3), follow, *_alerts(2, 2)]
    assert overflow == {1: 2}


def test_cap_burst_edges() -> None:
    assert cap_burst([], 3) == ([], {})
    kept, overflow = cap_burst(_alerts(1, 2), 0)
    assert kept == [] and overflow == {1: 2}
    with pytest.raises(ValueError):
        cap_burst(_alerts(1, 1), -1)


def test_burst_summary_intent_is_once_per_channel_and_cycle() -> None:
    summary = burst_summary_intent(4, "2024-09-01T12:00:00Z")
    assert summary.kind == "burst_summary"
    assert summary.dedupe_key == "burst:4:2024-09-01T12:00:00Z"
    assert cap_burst([summary], 0) == ([summary], {})


def test_subscriptions_for_keeps_only_those_that_can_want_the_topics() -> None:
    by_topic = subscriptions_by_topic(SUBS)
    assert [s.id for s in subscriptions_for(by_topic, ("taiwan", "trade"))] == [4, 1, 3]
    assert [s.id for s in subscriptions_for(by_topic, ("health",))] == [4]
    assert [s.id for s in subscriptions_for(by_topic, ("taiwan", "taiwan"))] == [4, 1]


@settings(max_examples=200, deadline=None)
@given(
    topics=st.lists(st.sampled_from(TOPIC_POOL), min_size=1, max_size=3),
    subs=st.lists(
        st.tuples(
            st.integers(1, 3),
            st.sampled_from((*TOPIC_POOL, "*")),
            st.sampled_from(("realtime", "digest", "both")),
            st.booleans(),
        ),
        max_size=12,
    ),
    new=st.booleans(),
    alerted=st.sets(st.integers(1, 3)),
)
def test_routing_with_the_topic_subset_equals_routing_with_all(
    topics: list[str], subs: list[tuple[int, str, str, bool]], new: bool, alerted: set[int]
) -> None:
    subscriptions = [
        Subscription(id=n, channel_id=channel, topic=topic, mode=mode,  # type: ignore[arg-type]
                     muted_until=NOW + timedelta(hours=1) if muted else None)
        for n, (channel, topic, mode, muted) in enumerate(subs, 1)
    ]  # fmt: skip
    item = make_item(topics=tuple(topics))
    subset = subscriptions_for(subscriptions_by_topic(subscriptions), item.topics)
    assert route(item, new=new, alerted=alerted, subs=subset) == route(
        item, new=new, alerted=alerted, subs=subscriptions
    )
