"""Countdowns: day counts, milestones once each, retirement, proposals and tracked updates."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from insights_samples import Clock, add_channel, check_golden, make_app, seed

from bot.chat.slack.blocks import to_slack
from bot.chat.teams.cards import to_teams
from bot.domain.codec import message_from_dict
from bot.domain.models import (
    Actions,
    Classification,
    Countdown,
    Engagement,
    EventDate,
    Item,
)
from bot.domain.textout import to_text
from jobs.countdown import detect_change, propose_events, run_countdowns
from jobs.queries import countdown_lines, countdown_list_message, track_proposal
from storage.store import Store

SEP_1 = datetime(2024, 9, 1, 12, 0, tzinfo=UTC)


async def add_cop29(store: Store, **kw: object) -> Countdown:
    return await store.countdowns.add(
        name="COP29",
        start=date(2024, 11, 11),
        end=date(2024, 11, 11),
        tentative=False,
        where="Baku",
        now=SEP_1,
        **kw,  # type: ignore[arg-type]
    )


async def add_call_window(store: Store, *, follow_news: bool = False) -> Countdown:
    return await store.countdowns.add(
        name="Biden–Xi call",
        start=date(2024, 9, 1),
        end=date(2024, 10, 31),
        tentative=True,
        now=SEP_1,
        follow_news=follow_news,
    )


async def test_cop29_seen_from_september_first_is_71_days(store: Store) -> None:
    await add_cop29(store)
    app = make_app(store, Clock(SEP_1))
    [line] = await countdown_lines(app.query_ports(), SEP_1)
    assert (line.days, line.phrase) == (71, "in 71 days")
    assert "COP29 (Baku) — in 71 days" in to_text(
        await countdown_list_message(app.query_ports(), SEP_1)
    )


async def test_tentative_call_shows_its_window(store: Store) -> None:
    await add_call_window(store)
    app = make_app(store)
    before = datetime(2024, 8, 20, 12, 0, tzinfo=UTC)
    [line] = await countdown_lines(app.query_ports(), before)
    assert line.days is None
    assert line.phrase == "expected between 1 Sep and 31 Oct 2024 (in 12–72 days)"
    [during] = await countdown_lines(app.query_ports(), datetime(2024, 9, 10, tzinfo=UTC))
    assert "window open, closes in 51 days" in during.phrase


async def test_countdown_list_golden(sqlite_store: Store) -> None:
    await add_cop29(sqlite_store)
    await add_call_window(sqlite_store)
    app = make_app(sqlite_store)
    message = await countdown_list_message(app.query_ports(), SEP_1)
    check_golden("insights_countdowns.slack", to_slack(message))
    check_golden("insights_countdowns.teams", to_teams(message))


async def milestone_keys(store: Store, channel_id: int) -> list[str]:
    return [
        d.dedupe_key
        for d in await store.deliveries.for_channel(channel_id)
        if d.kind == "countdown"
    ]


async def test_milestones_fire_once_each(store: Store) -> None:
    cop = await add_cop29(store)
    app = make_app(store)
    desk = await add_channel(app, "china-desk", ["climate"], mode="realtime")
    dm = await add_channel(app, "analyst-dm", ["taiwan"], mode="digest")
    start = datetime(2024, 10, 12, 12, 0, tzinfo=UTC)  # 30 days before
    counts = []
    for day in range(31):
        now = start + timedelta(days=day)
        counts.append(await run_countdowns(app.countdown_ports(), now))
        counts[-1] += await run_countdowns(
            app.countdown_ports(), now + timedelta(hours=1)
        )  # hourly rerun
    assert sum(counts) == 12  # 6 milestones × 2 channels
    keys = await milestone_keys(store, desk.id)
    assert keys == [f"countdown:{cop.id}:{desk.id}:{m}" for m in (30, 14, 7, 3, 1, 0)]
    assert len(await milestone_keys(store, dm.id)) == 6
    [first] = [d for d in await store.deliveries.for_channel(desk.id)][:1]
    assert first.thread_key == f"countdown:{cop.id}" and first.countdown_id == cop.id
    assert "COP29 (Baku) — in 30 days" in to_text(message_from_dict(first.payload))


async def test_a_missed_milestone_is_sent_late_only_once_and_older_ones_never(
    store: Store,
) -> None:
    cop = await add_cop29(store)
    app = make_app(store)
    desk = await add_channel(app, "china-desk", ["*"])
    # Down from 20 days before until 6 days before: 14 is stale (8 days late), 7 was yesterday.
    assert await run_countdowns(app.countdown_ports(), datetime(2024, 11, 5, 9, 0, tzinfo=UTC)) == 1
    assert await milestone_keys(store, desk.id) == [f"countdown:{cop.id}:{desk.id}:7"]
    assert (
        await run_countdowns(app.countdown_ports(), datetime(2024, 11, 5, 10, 0, tzinfo=UTC)) == 0
    )


async def test_past_event_says_so_once_and_retires(store: Store) -> None:
    cop = await add_cop29(store)
    app = make_app(store)
    desk = await add_channel(app, "china-desk", ["*"])
    after = datetime(2024, 11, 12, 9, 0, tzinfo=UTC)
    assert await run_countdowns(app.countdown_ports(), after) == 1
    assert await run_countdowns(app.countdown_ports(), after + timedelta(hours=1)) == 0
    retired = await store.countdowns.get(cop.id)
    assert retired is not None and retired.status == "past"
    [notice] = await store.deliveries.for_channel(desk.id)
    assert notice.dedupe_key == f"countdown:{cop.id}:{desk.id}:past"
    assert "ended yesterday" in to_text(message_from_dict(notice.payload))
    assert await countdown_lines(app.query_ports(), after) == ()


async def test_long_past_event_retires_silently(store: Store) -> None:
    cop = await add_cop29(store)
    app = make_app(store)
    await add_channel(app, "china-desk", ["*"])
    assert await run_countdowns(app.countdown_ports(), datetime(2025, 1, 10, tzinfo=UTC)) == 0
    retired = await store.countdowns.get(cop.id)
    assert retired is not None and retired.status == "past"


def news(n: int, engagement: Engagement, topics: tuple[str, ...] = ("diplomacy",)) -> Item:
    published = datetime(2024, 8, 28, 14, 0, tzinfo=UTC)
    return Item(
        id=n,
        key=f"news-{n}",
        source_id=1,
        url=f"https://reuters.example/news/{n}",
        title=f"White House says Biden and Xi to speak in the coming weeks ({n})",
        summary="",
        published=published,
        first_seen=published,
        source_name="Reuters",
        classification=Classification(relevant=True, topics=topics),
        story_key=f"story-{n}",
        engagements=(engagement,),
    )


def expected_call(
    start: date = date(2024, 9, 1),
    end: date = date(2024, 10, 31),
    certainty: str = "expected",
    status: str = "expected",
) -> Engagement:
    return Engagement(
        kind="call",
        us_parties=("Biden",),
        cn_parties=("Xi",),
        label="Biden–Xi call",
        status=status,
        dates=(EventDate("in the coming weeks", start, end, certainty),),  # type: ignore[arg-type]
    )


async def test_proposal_then_track_creates_a_countdown_once(store: Store) -> None:
    await seed(store)
    clock = Clock(datetime(2024, 8, 28, 15, 0, tzinfo=UTC))
    app = make_app(store, clock)
    desk = await add_channel(app, "china-desk", ["diplomacy"], mode="realtime")
    digest_only = await add_channel(app, "weekly", ["*"], mode="digest")
    other = await add_channel(app, "trade-desk", ["trade"], mode="realtime")
    item = news(1, expected_call())
    assert await propose_events(app.countdown_ports(), [item], clock.now) == 1
    assert (
        await propose_events(app.countdown_ports(), [news(2, expected_call())], clock.now) == 0
    )  # same event
    [proposal] = await store.countdowns.proposals()
    assert (proposal.label, proposal.start, proposal.end) == (
        "Biden–Xi call",
        date(2024, 9, 1),
        date(2024, 10, 31),
    )
    [posted] = await store.deliveries.for_channel(desk.id)
    assert posted.kind == "proposal" and posted.dedupe_key == f"proposal:{proposal.id}:{desk.id}"
    message = message_from_dict(posted.payload)
    [actions] = [b for b in message.blocks if isinstance(b, Actions)]
    assert actions.buttons[0].value == str(proposal.id)
    assert "expected between 1 Sep and 31 Oct 2024" in message.fallback
    assert await store.deliveries.for_channel(digest_only.id) == []
    assert await store.deliveries.for_channel(other.id) == []

    countdown = await track_proposal(app.query_ports(), proposal.id, clock.now, "U123")
    again = await track_proposal(app.query_ports(), proposal.id, clock.now, "U456")
    assert again.id == countdown.id
    assert (countdown.name, countdown.tentative, countdown.source) == (
        "Biden–Xi call",
        True,
        "proposal",
    )
    assert countdown.follow_news  # created by the bot from the news: it follows the news
    assert len(await store.countdowns.all()) == 1
    [tracked] = await store.countdowns.proposals(status="tracked")
    assert tracked.countdown_id == countdown.id


async def test_past_dates_and_other_kinds_are_not_proposed(sqlite_store: Store) -> None:
    app = make_app(sqlite_store)
    await add_channel(app, "china-desk", ["*"], mode="realtime")
    now = datetime(2024, 9, 20, tzinfo=UTC)
    past = expected_call(date(2024, 9, 1), date(2024, 9, 10))
    sanctions = replace(expected_call(), kind="sanctions", label="new sanctions")
    assert (
        await propose_events(app.countdown_ports(), [news(1, past), news(2, sanctions)], now) == 0
    )


async def test_news_confirms_then_cancels_an_event_that_follows_the_news(store: Store) -> None:
    await seed(store)
    app = make_app(store)
    desk = await add_channel(app, "china-desk", ["*"])
    call = await add_call_window(store, follow_news=True)
    now = datetime(2024, 9, 5, 12, 0, tzinfo=UTC)
    confirmed = expected_call(date(2024, 9, 12), date(2024, 9, 12), "exact", "expected")
    assert await propose_events(app.countdown_ports(), [news(3, confirmed)], now) == 1
    updated = await store.countdowns.get(call.id)
    assert updated is not None
    assert (updated.start, updated.end, updated.tentative) == (
        date(2024, 9, 12),
        date(2024, 9, 12),
        False,
    )
    assert (
        await propose_events(app.countdown_ports(), [news(4, confirmed)], now) == 0
    )  # nothing new
    cancelled = expected_call(date(2024, 9, 12), date(2024, 9, 12), "exact", "cancelled")
    assert await propose_events(app.countdown_ports(), [news(5, cancelled)], now) == 1
    gone = await store.countdowns.get(call.id)
    assert gone is not None and gone.status == "cancelled"
    posts = await store.deliveries.for_channel(desk.id)
    assert [p.kind for p in posts] == ["followup", "followup"]
    assert {p.thread_key for p in posts} == {f"countdown:{call.id}"}
    texts = [message_from_dict(p.payload) for p in posts]
    assert "Confirmed for 12 Sep 2024 (Reuters)." in to_text(texts[0])
    assert "cancelled" in texts[1].fallback
    assert await store.countdowns.proposals() == []  # updates are not proposals


def test_detect_change_rules() -> None:
    today = date(2024, 9, 5)
    exact = Countdown(id=1, name="COP29", start=date(2024, 11, 11), end=date(2024, 11, 11))
    window = replace(exact, start=date(2024, 9, 1), end=date(2024, 10, 31), tentative=True)
    vague = expected_call(date(2024, 11, 1), date(2024, 11, 30), "approximate")
    assert detect_change(exact, vague, today) is None  # never loosen an exact date
    narrower = expected_call(date(2024, 9, 15), date(2024, 9, 30), "approximate")
    change = detect_change(window, narrower, today, "AP")
    assert change is not None and change.what == "narrowed"
    assert change.note == "Now expected between 15 Sep 2024 and 30 Sep 2024 (AP)."
    moved = expected_call(date(2024, 11, 20), date(2024, 11, 20), "exact")
    change = detect_change(exact, moved, today)
    assert change is not None and change.what == "moved"
    assert change.values == {
        "start": date(2024, 11, 20),
        "end": date(2024, 11, 20),
        "tentative": False,
    }
    postponed = replace(expected_call(), status="postponed", dates=())
    change = detect_change(window, postponed, today)
    assert change is not None and change.what == "postponed"
    assert detect_change(replace(window, note=change.note), postponed, today) is None
    held = replace(expected_call(date(2024, 9, 4), date(2024, 9, 4), "exact"), status="reported")
    change = detect_change(window, held, today, "AP")
    assert change is not None and change.what == "happened"
    assert (change.values, change.note) == ({"status": "past"}, "Took place on 4 Sep 2024 (AP).")
    assert detect_change(exact, held, today) is None  # exact-dated events retire by date
