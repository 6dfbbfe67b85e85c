"""Look-alike items that report different events stay apart; one event told by several
outlets in different words stays together. Every item here is invented for the test."""

from __future__ import annotations

from typing import Any

import pytest

from bot.domain.stories import group_rows


def _item(ident: str, published: str, title: str, summary: str, source: str) -> dict[str, Any]:
    return {
        "id": ident,
        "title": title,
        "summary": summary,
        "published": published,
        "url": f"https://{source.lower().replace(' ', '-')}.example/{ident}",
        "source": source,
    }


ITEMS = {
    # Blinken in Beijing: one visit, three outlets.
    "visit_a": _item(
        "visit_a",
        "2026-04-26T12:00:00Z",
        "Blinken meets Xi in Beijing, presses on Taiwan and fentanyl",
        "Secretary of State Antony Blinken met President Xi Jinping in Beijing on Friday, "
        "raising Taiwan, fentanyl precursors and Chinese support for Russia.",
        "Wire A",
    ),
    "visit_b": _item(
        "visit_b",
        "2026-04-26T15:30:00Z",
        "Xi tells Blinken the two countries should be partners, not rivals",
        "Chinese leader Xi Jinping received Antony Blinken in Beijing on Friday at the end of a "
        "three-day visit dominated by Taiwan and fentanyl.",
        "Paper B",
    ),
    "visit_c": _item(
        "visit_c",
        "2026-04-27T02:00:00Z",
        "Top US diplomat wraps up China trip after talks with Xi",
        "Blinken ended his visit to Beijing after a meeting with Xi Jinping on Friday, "
        "officials said, with no breakthrough on Taiwan.",
        "Outlet C",
    ),
    # Other events, announced the same days, with the same actors and topics.
    "ai_geneva": _item(
        "ai_geneva",
        "2026-04-26T18:00:00Z",
        "US and China to hold first AI dialogue in Geneva next month",
        "Officials from the United States and China will meet in Geneva next month for talks "
        "on artificial intelligence risks, Blinken said in Beijing.",
        "Wire A",
    ),
    "maritime_hawaii": _item(
        "maritime_hawaii",
        "2026-04-28T09:00:00Z",
        "US and Chinese military officers hold maritime safety talks in Hawaii",
        "Officers from the United States and China held maritime safety talks in Hawaii on "
        "Monday, following up on commitments Blinken made in Beijing.",
        "Paper B",
    ),
    "sanctions_same_day": _item(
        "sanctions_same_day",
        "2026-04-26T20:00:00Z",
        "US sanctions Chinese firms over fentanyl precursors",
        "The Treasury Department on Friday imposed sanctions on six Chinese companies accused of "
        "shipping fentanyl precursors, as Blinken visited Beijing.",
        "Outlet C",
    ),
    "drills_taiwan": _item(
        "drills_taiwan",
        "2026-04-27T06:00:00Z",
        "China launches drills around Taiwan",
        "The People's Liberation Army began drills around Taiwan on Saturday, a day after "
        "Blinken left Beijing having raised Taiwan with Xi.",
        "Wire A",
    ),
    # The same kind of event in another place or on another day.
    "trade_london": _item(
        "trade_london",
        "2026-06-09T10:00:00Z",
        "US and China open trade talks in London",
        "Treasury Secretary Scott Bessent and Vice Premier He Lifeng opened trade talks in "
        "London on Monday on tariffs and rare earths.",
        "Wire A",
    ),
    "trade_london_b": _item(
        "trade_london_b",
        "2026-06-09T16:00:00Z",
        "Bessent, He Lifeng begin London negotiations on tariffs and rare earths",
        "Washington and Beijing began negotiations in London on Monday, with Bessent and He "
        "Lifeng leading talks on tariffs and rare earth exports.",
        "Paper B",
    ),
    "trade_geneva": _item(
        "trade_geneva",
        "2026-06-12T10:00:00Z",
        "US and China open trade talks in Geneva",
        "Treasury Secretary Scott Bessent and Vice Premier He Lifeng opened trade talks in "
        "Geneva on Thursday on tariffs and rare earths.",
        "Outlet C",
    ),
    "call_monday": _item(
        "call_monday",
        "2026-09-14T20:00:00Z",
        "Defense chiefs hold video call on South China Sea",
        "Defense Secretary Pete Hegseth and Defense Minister Dong Jun held a video call on "
        "Monday on the South China Sea and military channels.",
        "Wire A",
    ),
    "call_monday_b": _item(
        "call_monday_b",
        "2026-09-15T03:00:00Z",
        "Hegseth and Dong Jun talk by video link about the South China Sea",
        "The US and Chinese defense chiefs spoke by video on Monday, discussing the South China "
        "Sea and keeping military lines of communication open.",
        "Paper B",
    ),
    "call_friday": _item(
        "call_friday",
        "2026-09-18T20:00:00Z",
        "Defense chiefs hold video call on South China Sea",
        "Defense Secretary Pete Hegseth and Defense Minister Dong Jun held another video call "
        "on Friday on the South China Sea and military channels.",
        "Outlet C",
    ),
    # A round-up of several events, and two of those events reported alone.
    "roundup": _item(
        "roundup",
        "2026-10-10T18:00:00Z",
        "Week in review: chip curbs, a leaders' call and drills near Taiwan",
        "This week the US widened export controls on Chinese chipmakers, Trump and Xi spoke by "
        "phone, and China held drills near Taiwan.",
        "Paper B",
    ),
    "chip_curbs": _item(
        "chip_curbs",
        "2026-10-07T14:00:00Z",
        "US widens export controls on Chinese chipmakers",
        "The Commerce Department on Tuesday added 40 Chinese chipmakers to the entity list, "
        "widening export controls on advanced chips.",
        "Wire A",
    ),
    "chip_curbs_b": _item(
        "chip_curbs_b",
        "2026-10-07T19:00:00Z",
        "Commerce blacklists 40 Chinese chip firms in new export curbs",
        "Forty Chinese semiconductor companies were put on the entity list on Tuesday as "
        "Washington tightened export controls on chips.",
        "Outlet C",
    ),
    "leaders_call": _item(
        "leaders_call",
        "2026-10-09T13:00:00Z",
        "Trump and Xi speak by phone on trade and Taiwan",
        "President Donald Trump and President Xi Jinping spoke by phone on Thursday about "
        "trade, chips and Taiwan.",
        "Wire A",
    ),
}

APART = [
    ("visit_a", "ai_geneva"),  # same actors, an announced event elsewhere next month
    ("visit_a", "maritime_hawaii"),  # same actors, talks in another place
    ("visit_b", "maritime_hawaii"),
    ("visit_a", "sanctions_same_day"),  # same day and topic, a measure not a meeting
    ("visit_c", "drills_taiwan"),  # same topic next day, drills not a visit
    ("ai_geneva", "maritime_hawaii"),
    ("trade_london", "trade_geneva"),  # same kind, other place, three days later
    ("trade_london_b", "trade_geneva"),
    ("call_monday", "call_friday"),  # same kind and words, another day
    ("call_monday_b", "call_friday"),
    ("roundup", "chip_curbs"),  # a round-up is not any one of its events
    ("roundup", "leaders_call"),
    ("chip_curbs", "leaders_call"),
]
TOGETHER = [
    ("visit_a", "visit_b"),
    ("visit_a", "visit_c"),
    ("trade_london", "trade_london_b"),
    ("call_monday", "call_monday_b"),
    ("chip_curbs", "chip_curbs_b"),
]


@pytest.fixture(scope="module")
def keys() -> dict[str, str]:
    rows = list(ITEMS.values())
    return {row["id"]: key for row, key in zip(rows, group_rows(rows), strict=True)}


@pytest.mark.parametrize(("one", "other"), APART)
def test_different_events_get_different_stories(keys: dict[str, str], one: str, other: str) -> None:
    assert keys[one] != keys[other]


@pytest.mark.parametrize(("one", "other"), TOGETHER)
def test_one_event_in_other_words_shares_a_story(
    keys: dict[str, str], one: str, other: str
) -> None:
    assert keys[one] == keys[other]


@pytest.mark.parametrize(("one", "other"), APART + TOGETHER)
def test_each_pair_alone_gets_the_same_answer(one: str, other: str) -> None:
    first, second = group_rows([ITEMS[one], ITEMS[other]])
    assert (first == second) == ((one, other) in TOGETHER)
