"""The status board and a topic's detail, from the fixture news, plus search."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from insights_samples import NOW, check_golden, make_app, seed

from bot.chat.slack.blocks import to_slack
from bot.chat.teams.cards import to_teams
from bot.domain.errors import CommandError
from bot.domain.models import Classification, Engagement, EventDate, Item
from bot.domain.status import (
    TopicActivity,
    both_sides,
    build_status,
    engagement_day,
    is_direct,
    last_engagement,
    side_of,
)
from bot.domain.textout import to_text
from jobs.queries import search_message, status_message
from storage.store import Store

LABELS = {"diplomacy": "Diplomacy", "military": "Military", "health": "Health"}


def item(
    n: int,
    topics: tuple[str, ...],
    engagements: tuple[Engagement, ...] = (),
    published: datetime = NOW - timedelta(days=1),
    url: str = "https://news.example/x",
) -> Item:
    return Item(
        id=n,
        key=f"k{n}",
        source_id=1,
        url=url,
        title=f"Item {n}",
        summary="",
        published=published,
        first_seen=published,
        source_name="Outlet",
        classification=Classification(relevant=True, topics=topics),
        story_key=f"s{n}",
        engagements=engagements,
    )


def meeting(day: date, status: str = "reported", kind: str = "meeting") -> Engagement:
    when = EventDate(text=str(day), start=day, end=day, certainty="exact")
    return Engagement(kind=kind, label=f"{kind} on {day}", status=status, dates=(when,))


def test_direct_engagements_are_reported_calls_meetings_talks_visits_summits() -> None:
    assert is_direct(meeting(date(2024, 9, 1)))
    assert not is_direct(meeting(date(2024, 9, 1), status="expected"))
    assert not is_direct(meeting(date(2024, 9, 1), status="cancelled"))
    assert not is_direct(meeting(date(2024, 9, 1), kind="sanctions"))
    # The engagement's own date counts, not the day the news came out.
    old = item(1, ("diplomacy",), (meeting(date(2024, 9, 2)),))
    assert engagement_day(old, old.engagements[0]) == date(2024, 9, 2)


def test_board_rows_counts_and_days_since() -> None:
    items = [
        item(1, ("diplomacy",), (meeting(date(2024, 9, 8)),)),
        item(2, ("military",), (meeting(date(2024, 8, 31), kind="call"),)),
        item(3, ("health",), (meeting(date(2024, 9, 9), status="expected"),)),
    ]
    view = build_status(
        labels=LABELS,
        activity={"diplomacy": TopicActivity(count_7d=4, previous_7d=1)},
        engagement_items=items,
        now=NOW,
    )
    rows = {r.topic: r for r in view.rows}
    assert [r.topic for r in view.rows] == ["diplomacy", "military", "health"]
    assert (rows["diplomacy"].count_7d, rows["diplomacy"].previous_7d) == (4, 1)
    assert rows["diplomacy"].days_since_engagement == 2
    assert rows["military"].days_since_engagement == 10
    assert rows["health"].days_since_engagement is None  # only an expected one
    assert view.days_since_direct_engagement == 2
    assert view.last_engagement == "meeting on 2024-09-08"
    assert last_engagement([]) is None


def test_sides_and_accounts() -> None:
    assert side_of("https://www.state.gov/briefings/x") == "US"
    assert side_of("https://www.mfa.gov.cn/eng/x") == "PRC"
    assert side_of("https://reuters.example/x") is None
    us = item(1, ("diplomacy",), url="https://www.whitehouse.gov/briefing/readout")
    cn = item(2, ("diplomacy",), url="https://www.mfa.gov.cn/eng/readout")
    press = item(3, ("diplomacy",), url="https://apnews.example/call")
    accounts = both_sides([cn, press, us])
    assert [a[0] for a in accounts] == ["US", "PRC"]
    assert both_sides([us, press]) == ()


async def test_status_board_from_the_store(store: Store) -> None:
    await seed(store)
    app = make_app(store)
    text = to_text(await status_message(app.query_ports(), None, NOW))
    assert "Last direct engagement (Biden–Xi call): 1 day ago" in text
    assert "Taiwan — 7 days: 5 (▲4) · engagement 1 day ago" in text
    assert "Military — 7 days: 2 (▲1) · engagement 11 days ago" in text
    assert "Latest: PLA announces drills near Taiwan after arms sale" in text
    assert "Fentanyl — 7 days: 1 (▲1) · engagement 2 days ago" in text
    assert "Health — 7 days: 0 (=)\n    No stories yet" in text


async def test_frozen_clock_sees_only_the_past(store: Store) -> None:
    await seed(store)
    app = make_app(store)
    earlier = datetime(2024, 9, 5, 12, 0, tzinfo=UTC)
    text = to_text(await status_message(app.query_ports(), None, earlier))
    assert "Biden and Xi" not in text
    assert "Last direct engagement (Austin–Dong call): 6 days ago" in text


async def test_topic_detail_shows_both_sides(store: Store) -> None:
    await seed(store)
    app = make_app(store)
    await store.countdowns.add(
        name="COP29", start=date(2024, 11, 11), end=date(2024, 11, 11), tentative=False, now=NOW
    )
    message = await status_message(app.query_ports(), "Diplomacy", NOW)
    text = to_text(message)
    assert "Last engagement: Biden–Xi call (9 Sep 2024)" in text
    assert "US — State Department:" in text and "PRC — PRC Foreign Ministry:" in text
    assert "COP29 — in 62 days" in text
    assert text.index("Podesta") < text.index("Biden and Xi") < text.index("fentanyl")


async def test_unknown_topic_is_a_command_error(sqlite_store: Store) -> None:
    app = make_app(sqlite_store)
    with pytest.raises(CommandError, match=r"unknown topic 'taiwn'.*taiwan"):
        await status_message(app.query_ports(), "taiwn", NOW)


async def test_status_golden_slack_and_teams(sqlite_store: Store) -> None:
    await seed(sqlite_store)
    app = make_app(sqlite_store)
    board = await status_message(app.query_ports(), None, NOW)
    check_golden("insights_status.slack", to_slack(board))
    check_golden("insights_status.teams", to_teams(board))
    detail = await status_message(app.query_ports(), "diplomacy", NOW)
    check_golden("insights_status_detail.slack", to_slack(detail))
    check_golden("insights_status_detail.teams", to_teams(detail))


async def test_search_groups_items_by_story(store: Store) -> None:
    await seed(store)
    app = make_app(store)
    text = to_text(await search_message(app.query_ports(), "phone call", None, NOW))
    assert text.count("Biden and Xi hold phone call") == 1  # four items, one story
    assert "1 result" in text
    none = await search_message(app.query_ports(), "arms sale", "climate", NOW)
    assert "No stories match" in none.fallback
