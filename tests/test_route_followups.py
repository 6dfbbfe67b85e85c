"""A republish flood stays a burst: follow-ups are capped per story per hour and per channel
per cycle, and the rest becomes one "and N more updates" (bot.domain.route, bot.domain.ingest).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from test_route import DESK, NOW, STORY, SUBS, TRADE, make_item

from bot.domain.codec import message_from_dict
from bot.domain.ingest import Routes, cycle_summaries, deliveries
from bot.domain.route import DeliveryIntent, FollowupBudget, route_item
from storage.store import Store


def followups(channel: int, story: str, n: int) -> list[DeliveryIntent]:
    return [
        DeliveryIntent(channel, "followup", story, i, f"followup:{channel}:{story}:{i}")
        for i in range(n)
    ]


def test_per_story_limit_counts_what_the_last_hour_already_had() -> None:
    budget = FollowupBudget(per_story=3, per_cycle=100, recent={(1, "a"): 2})
    kept, held = budget.take([*followups(1, "a", 4), *followups(1, "b", 4)])
    assert [i.story_key for i in kept] == ["a", "b", "b", "b"]
    assert held == {1: 4}
    # The budget remembers: a later batch of the same cycle gets nothing more for "a" or "b".
    assert budget.take(followups(1, "a", 1) + followups(1, "b", 1)) == ([], {1: 2})


def test_per_cycle_limit_is_per_channel_and_alerts_always_pass() -> None:
    budget = FollowupBudget(per_story=50, per_cycle=5)
    alert = DeliveryIntent(1, "alert", "new", 1, "alert:1:new")
    intents = [*followups(1, "a", 8), alert, *followups(2, "a", 3)]
    kept, held = budget.take(intents)
    assert kept == [*followups(1, "a", 5), alert, *followups(2, "a", 3)]
    assert held == {1: 3}


def test_limits_must_not_be_negative() -> None:
    with pytest.raises(ValueError):
        FollowupBudget(per_story=-1, per_cycle=1)


def test_five_hundred_republished_items_give_a_burst_not_a_flood() -> None:
    """500 items of 5 already-alerted stories: at most 3 follow-ups per story, at most 10 in
    the cycle, then a single summary counting the rest."""
    stories = [replace(STORY, key=f"story-{s}") for s in range(5)]
    intents_by_item = []
    for n in range(500):
        item = make_item(key=f"wire:{n}", item_id=n)
        story = stories[n % 5]
        intents = route_item(
            item,
            story,
            is_new_story=False,
            channels=(DESK,),
            subscriptions=SUBS,
            alerted_channels={DESK.id},
            now=NOW,
        )
        intents_by_item.append((item, intents, story))
    routes = Routes(
        channels=(DESK, TRADE),
        subscriptions=SUBS,
        burst_limit=5,
        followups=FollowupBudget(per_story=3, per_cycle=10),
    )
    out, tally = deliveries(intents_by_item, routes, labels=str)
    assert not [d for d in out if d.kind == "burst_summary"]  # summaries end the cycle
    out += cycle_summaries(tally, routes.channels, NOW, "cycle")
    threaded = [d for d in out if d.kind == "followup"]
    summaries = [d for d in out if d.kind == "burst_summary"]
    assert len(threaded) == 10
    assert max(sum(d.story_key == s.key for d in threaded) for s in stories) <= 3
    assert len(summaries) == 1
    text = message_from_dict(summaries[0].payload).fallback
    assert "490 more updates" in text and "china-desk" in text


def test_without_a_budget_follow_ups_are_not_capped() -> None:
    item = make_item()
    intents = followups(1, STORY.key, 20)
    routes = Routes(channels=(DESK,), subscriptions=SUBS, burst_limit=5)
    out, tally = deliveries([(item, intents, STORY)], routes, labels=str)
    assert len(out) == 20 and not tally.owes_summary()


async def test_the_outbox_counts_recent_follow_ups_per_channel_and_story(store: Store) -> None:
    ch = await store.channels.ensure(name="slack:C1", platform="slack", target="C1", now=NOW)
    for n, (story, at) in enumerate(
        [("a", NOW), ("a", NOW), ("b", NOW), ("a", NOW - timedelta(hours=2))]
    ):
        await store.deliveries.enqueue(
            channel_id=ch.id,
            kind="followup",
            dedupe_key=f"followup:{n}",
            payload={},
            now=at,
            story_key=story,
        )
    await store.deliveries.enqueue(
        channel_id=ch.id, kind="alert", dedupe_key="alert:a", payload={}, now=NOW, story_key="a"
    )
    recent = await store.deliveries.recent_followups(NOW - timedelta(hours=1))
    assert recent == {(ch.id, "a"): 2, (ch.id, "b"): 1}
