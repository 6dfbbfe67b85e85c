"""Cron, digest slots, countdowns, dates and durations (bot.domain.schedule)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger

from bot.domain.errors import ConfigError
from bot.domain.models import Countdown
from bot.domain.schedule import (
    countdown_phrase,
    cron_daily,
    cron_weekly,
    days_until,
    describe_cron,
    due_digest_slot,
    due_milestones,
    is_past,
    parse_cron,
    parse_date_or_window,
    parse_duration,
)

NY = ZoneInfo("America/New_York")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# --------------------------------------------------------------------------- cron parsing


@pytest.mark.parametrize(
    ("expr", "weekdays", "names"),
    [
        ("0 9 * * 0", (0,), "sun"),
        ("0 9 * * 7", (0,), "sun"),
        ("0 9 * * SUN", (0,), "sun"),
        ("0 9 * * 1", (1,), "mon"),
        ("0 8 * * 1-5", (1, 2, 3, 4, 5), "mon,tue,wed,thu,fri"),
        ("0 8 * * mon-fri", (1, 2, 3, 4, 5), "mon,tue,wed,thu,fri"),
        ("0 8 * * fri-sun", (0, 5, 6), "fri,sat,sun"),
        ("0 8 * * 5-7", (0, 5, 6), "fri,sat,sun"),
        ("0 8 * * 0,6", (0, 6), "sat,sun"),
        ("0 8 * * */2", (0, 2, 4, 6), "tue,thu,sat,sun"),
        ("0 8 * * *", (0, 1, 2, 3, 4, 5, 6), "*"),
    ],
)
def test_day_of_week_uses_cron_numbering_and_names_for_apscheduler(
    expr: str, weekdays: tuple[int, ...], names: str
) -> None:
    spec = parse_cron(expr)
    assert spec.weekdays == weekdays
    assert spec.apscheduler_fields()["day_of_week"] == names


def test_apscheduler_fields_shape() -> None:
    assert parse_cron("*/15 8-10 1,15 jan,jul *").apscheduler_fields() == {
        "second": "0",
        "minute": "0,15,30,45",
        "hour": "8,9,10",
        "day": "1,15",
        "month": "1,7",
        "day_of_week": "*",
    }
    assert parse_cron("@daily").apscheduler_fields()["hour"] == "0"


def test_sunday_zero_fires_on_sunday_in_apscheduler_unlike_from_crontab() -> None:
    spec = parse_cron("0 9 * * 0")
    trigger = CronTrigger(**spec.apscheduler_fields(), timezone=NY)
    fire = trigger.get_next_fire_time(None, datetime(2024, 9, 2, tzinfo=NY))  # a Monday
    assert fire is not None and fire.weekday() == 6  # Sunday
    trap = CronTrigger.from_crontab("0 9 * * 0", timezone=NY)
    trap_fire = trap.get_next_fire_time(None, datetime(2024, 9, 2, tzinfo=NY))
    assert trap_fire is not None and trap_fire.weekday() == 0  # what we avoid


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("0 8 * *", "must have 5 fields"),
        ("", "must have 5 fields"),
        ("0 8 * * * *", "must have 5 fields"),
        ("60 8 * * *", "minute item '60' is out of range (0-59)"),
        ("0 24 * * *", "hour item '24' is out of range (0-23)"),
        ("0 8 0 * *", "day-of-month item '0' is out of range"),
        ("0 8 * 13 *", "month item '13' is out of range"),
        ("0 8 * * 8", "day-of-week item '8' is out of range"),
        ("0 8 * * mon-sat/0", "bad step"),
        ("0 8 * * 5-1", "runs backwards"),
        ("0 8 * * funday", "is not a number"),
        ("0 8 * mon *", "month item 'mon' is not a number"),
        ("0 8 1,,2 * *", "is empty"),
        ("0 0 30 2 *", "never fires"),
        ("x 8 * * *", "minute item 'x'"),
    ],
)
def test_parse_cron_errors_are_readable(expr: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_cron(expr)
    assert message in str(caught.value)


def test_day_of_month_or_day_of_week_when_both_restricted() -> None:
    spec = parse_cron("0 8 1 * mon")
    assert spec.matches(datetime(2024, 9, 1, 8, 0))  # the 1st, a Sunday
    assert spec.matches(datetime(2024, 9, 2, 8, 0))  # a Monday
    assert not spec.matches(datetime(2024, 9, 3, 8, 0))
    with pytest.raises(ConfigError):
        spec.apscheduler_fields()
    assert len(spec.apscheduler_field_sets()) == 2
    # a '*'-led field keeps the AND rule, like Vixie cron and a single CronTrigger
    assert not parse_cron("0 8 */2 * mon").matches(datetime(2024, 9, 2, 8, 0))
    assert parse_cron("0 8 */2 * mon").matches(datetime(2024, 9, 9, 8, 0))


def test_matches_uses_the_wall_clock() -> None:
    spec = parse_cron("0 8 * * 1-5")
    assert spec.matches(datetime(2024, 9, 2, 8, 0, tzinfo=NY))
    assert spec.matches(datetime(2024, 9, 2, 8, 0, 30))
    assert not spec.matches(datetime(2024, 9, 1, 8, 0))  # Sunday
    assert not spec.matches(datetime(2024, 9, 2, 8, 1))


# --------------------------------------------------------------------------- against APScheduler


def _apscheduler_fires(trigger: CronTrigger | OrTrigger, start: datetime, end: datetime) -> list:
    fires = []
    fire = trigger.get_next_fire_time(None, start)
    while fire is not None and fire < end:
        fires.append(fire.astimezone(UTC))
        fire = trigger.get_next_fire_time(fire, fire)
    return fires


def _our_fires(expr: str, start: datetime, end: datetime) -> list[datetime]:
    spec = parse_cron(expr)
    fires = []
    fire = spec.next_fire(start - timedelta(microseconds=1), NY)
    while fire < end:
        fires.append(fire)
        fire = spec.next_fire(fire, NY)
    return fires


def _repeated_wall_times(fires: list[datetime]) -> list[datetime]:
    """APScheduler fires an ambiguous fall-back time twice; these are the second firings."""
    seen: set[datetime] = set()
    repeats = []
    for fire in fires:
        wall = fire.astimezone(NY).replace(tzinfo=None)
        if wall in seen:
            repeats.append(fire)
        seen.add(wall)
    return repeats


@pytest.mark.parametrize(
    "expr",
    [
        "0 8 * * 1-5",
        "0 9 * * 0",
        "15 10 * * 7",
        "0 0 * * fri-sun",
        "30 2 * * *",  # nonexistent on 10 March 2024
        "30 1 * * *",  # ambiguous on 3 November 2024
        "*/20 0-4 * * *",
        "0 12 1,15 * *",
        "0 12 */2 * *",
        "45 23 * 3,11 sat",
        "@weekly",
    ],
)
def test_next_fire_agrees_with_apscheduler_for_a_year_across_dst(expr: str) -> None:
    start, end = utc(2024, 1, 1), utc(2025, 1, 1)
    spec = parse_cron(expr)
    trigger = CronTrigger(**spec.apscheduler_fields(), timezone=NY)
    theirs = _apscheduler_fires(trigger, start, end)
    ours = _our_fires(expr, start, end)
    repeats = _repeated_wall_times(theirs)
    assert ours == [fire for fire in theirs if fire not in repeats]
    assert len(ours) >= 8
    # the only difference: an ambiguous local time fires once with us
    assert all(fire.astimezone(NY).date() == date(2024, 11, 3) for fire in repeats)


def test_or_rule_agrees_with_apscheduler_or_trigger() -> None:
    start, end = utc(2024, 1, 1), utc(2025, 1, 1)
    spec = parse_cron("0 8 1 * mon")
    trigger = OrTrigger(
        [CronTrigger(**fields, timezone=NY) for fields in spec.apscheduler_field_sets()]
    )
    assert _our_fires("0 8 1 * mon", start, end) == _apscheduler_fires(trigger, start, end)


# --------------------------------------------------------------------------- DST behaviour


def test_eight_oclock_digest_stays_at_eight_local_across_dst() -> None:
    spec = parse_cron("0 8 * * *")
    before = spec.next_fire(utc(2024, 3, 9, 14), NY)
    after = spec.next_fire(before, NY)
    assert before == utc(2024, 3, 10, 12)  # 08:00 EDT (DST began at 02:00 that day)
    assert spec.previous_fire(utc(2024, 3, 10, 11, 59), NY) == utc(2024, 3, 9, 13)  # 08:00 EST
    assert after == utc(2024, 3, 11, 12)
    assert spec.next_fire(utc(2024, 11, 3, 0), NY) == utc(2024, 11, 3, 13)  # 08:00 EST


def test_nonexistent_time_is_shifted_forward() -> None:
    spec = parse_cron("30 2 * * *")
    assert spec.next_fire(utc(2024, 3, 10, 0), NY) == utc(2024, 3, 10, 7, 30)  # 03:30 EDT
    assert spec.next_fire(utc(2024, 3, 10, 7, 30), NY) == utc(2024, 3, 11, 6, 30)


def test_ambiguous_time_fires_once() -> None:
    spec = parse_cron("30 1 * * *")
    first = spec.next_fire(utc(2024, 11, 3, 0), NY)
    assert first == utc(2024, 11, 3, 5, 30)  # 01:30 EDT, the first of two
    assert spec.next_fire(first, NY) == utc(2024, 11, 4, 6, 30)
    assert spec.previous_fire(utc(2024, 11, 3, 6, 45), NY) == first


def test_previous_and_next_bracket_now() -> None:
    spec = parse_cron("0 8 * * 1-5")
    now = utc(2024, 9, 2, 12, 0)  # Monday 08:00 EDT exactly
    assert spec.previous_fire(now, NY) == now
    assert spec.next_fire(now, NY) == utc(2024, 9, 3, 12, 0)
    assert spec.previous_fire(utc(2024, 9, 1, 12), "America/New_York") == utc(2024, 8, 30, 12)


def test_unknown_timezone_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown timezone 'Mars/Olympus'"):
        parse_cron("0 8 * * *").next_fire(utc(2024, 1, 1), "Mars/Olympus")


# --------------------------------------------------------------------------- builders, words


def test_builders_round_trip() -> None:
    assert cron_daily(8, 0) == "0 8 * * *"
    assert cron_weekly("mon", 8, 30) == "30 8 * * mon"
    assert cron_weekly("Sunday", 18, 0) == "0 18 * * sun"
    assert cron_weekly(0, 9, 0) == "0 9 * * sun"
    assert cron_weekly(7, 9, 0) == "0 9 * * sun"
    assert parse_cron(cron_weekly("mon", 8, 30)).apscheduler_fields()["day_of_week"] == "mon"
    with pytest.raises(ValueError):
        cron_daily(24, 0)
    with pytest.raises(ValueError):
        cron_weekly("funday", 8, 0)


@pytest.mark.parametrize(
    ("expr", "words"),
    [
        ("0 8 * * 1-5", "every weekday at 08:00"),
        ("0 8 * * *", "every day at 08:00"),
        ("30 9 * * 1", "every Monday at 09:30"),
        ("0 9 * * 0", "every Sunday at 09:00"),
        ("0 10 * * sat,sun", "every weekend day at 10:00"),
        ("0 8,17 * * *", "every day at 08:00 and 17:00"),
        ("0 8 * * mon,wed,fri", "every Monday, Wednesday and Friday at 08:00"),
        ("0 * * * *", "every hour at :00"),
        ("0 8 1 * *", "on day 1 of the month at 08:00"),
    ],
)
def test_describe_cron(expr: str, words: str) -> None:
    assert describe_cron(expr) == words


# --------------------------------------------------------------------------- digest slots


def test_due_digest_slot_on_time_and_only_once() -> None:
    cron, grace = "0 8 * * 1-5", timedelta(hours=2)
    slot = utc(2024, 9, 3, 12, 0)  # Tuesday 08:00 EDT
    assert due_digest_slot(cron, NY, slot, None, grace) == slot
    assert due_digest_slot(cron, NY, slot + timedelta(minutes=1), slot, grace) is None
    # a minute early, the latest slot is Monday's, a day old: outside grace
    assert due_digest_slot(cron, NY, slot - timedelta(minutes=1), None, grace) is None


def test_due_digest_slot_after_downtime_sends_the_latest_slot_once() -> None:
    cron, grace = "0 8 * * *", timedelta(hours=3)
    last_sent = utc(2024, 9, 1, 12)  # Sunday's digest went out; the bot was down Mon..Wed 08:00
    back = utc(2024, 9, 4, 13, 30)  # Wednesday 09:30 EDT
    due = due_digest_slot(cron, NY, back, last_sent, grace)
    assert due == utc(2024, 9, 4, 12)
    sent = []
    now = back
    while now < utc(2024, 9, 4, 16):  # the scheduler ticks every minute
        slot = due_digest_slot(cron, NY, now, last_sent, grace)
        if slot is not None:
            sent.append(slot)
            last_sent = slot
        now += timedelta(minutes=1)
    assert sent == [utc(2024, 9, 4, 12)]


def test_due_digest_slot_outside_grace_is_skipped() -> None:
    cron = "0 8 * * *"
    back = utc(2024, 9, 4, 18)  # 14:00 EDT, six hours late
    assert due_digest_slot(cron, NY, back, utc(2024, 9, 1, 12), timedelta(hours=3)) is None
    assert due_digest_slot(parse_cron(cron), NY, back, None, timedelta(hours=6)) == utc(
        2024, 9, 4, 12
    )


def test_apscheduler_double_fire_at_fall_back_is_absorbed() -> None:
    cron, grace = "30 1 * * *", timedelta(hours=2)
    first = utc(2024, 11, 3, 5, 30)
    assert due_digest_slot(cron, NY, first, None, grace) == first
    assert due_digest_slot(cron, NY, utc(2024, 11, 3, 6, 30), first, grace) is None


# --------------------------------------------------------------------------- countdowns

COP29 = Countdown(id=1, name="COP29", start=date(2024, 11, 11), end=date(2024, 11, 11))
CALL = Countdown(
    id=2,
    name="Biden-Xi call",
    start=date(2024, 9, 1),
    end=date(2024, 10, 31),
    tentative=True,
)


def test_cop29_is_71_days_from_first_of_september() -> None:
    assert days_until(COP29, utc(2024, 9, 1, 12)) == 71
    assert countdown_phrase(COP29, utc(2024, 9, 1, 12)) == "in 71 days"


def test_days_are_counted_in_the_countdowns_timezone() -> None:
    in_ny = Countdown(id=3, name="x", start=date(2024, 11, 11), end=date(2024, 11, 11),
                      timezone="America/New_York")  # fmt: skip
    late_evening = utc(2024, 9, 1, 2)  # still 31 August in New York
    assert days_until(in_ny, late_evening) == 72
    assert days_until(COP29, late_evening) == 71


@pytest.mark.parametrize(
    ("now", "phrase"),
    [
        (utc(2024, 11, 9, 12), "in 2 days"),
        (utc(2024, 11, 10, 12), "tomorrow"),
        (utc(2024, 11, 11, 23), "today"),
        (utc(2024, 11, 12, 0), "ended yesterday"),
        (utc(2024, 11, 14, 9), "ended 3 days ago"),
    ],
)
def test_countdown_phrase_exact(now: datetime, phrase: str) -> None:
    assert countdown_phrase(COP29, now) == phrase


@pytest.mark.parametrize(
    ("now", "phrase"),
    [
        (utc(2024, 8, 22), "expected between 1 Sep and 31 Oct 2024 (in 10–70 days)"),
        (
            utc(2024, 9, 1),
            "expected between 1 Sep and 31 Oct 2024 (window open, closes in 60 days)",
        ),
        (
            utc(2024, 10, 30),
            "expected between 1 Sep and 31 Oct 2024 (window open, closes tomorrow)",
        ),
        (utc(2024, 10, 31), "expected between 1 Sep and 31 Oct 2024 (window open, closes today)"),
        (utc(2024, 11, 3), "expected between 1 Sep and 31 Oct 2024 (window closed 3 days ago)"),
    ],
)
def test_countdown_phrase_tentative(now: datetime, phrase: str) -> None:
    assert countdown_phrase(CALL, now) == phrase


def test_window_across_years_names_both_years() -> None:
    window = Countdown(id=4, name="x", start=date(2024, 12, 15), end=date(2025, 1, 15),
                       tentative=True)  # fmt: skip
    assert countdown_phrase(window, utc(2024, 12, 1)).startswith(
        "expected between 15 Dec 2024 and 15 Jan 2025"
    )


def test_is_past() -> None:
    assert not is_past(COP29, utc(2024, 11, 11, 23, 59))
    assert is_past(COP29, utc(2024, 11, 12))
    assert not is_past(CALL, utc(2024, 10, 31, 12))
    assert is_past(CALL, utc(2024, 11, 1))


def test_each_milestone_fires_once_on_its_day() -> None:
    fired: set[int] = set()
    announced: list[tuple[date, int]] = []
    now = utc(2024, 9, 1)
    while now < utc(2024, 11, 20):
        for milestone in due_milestones(COP29, now, fired):
            fired.add(milestone)
            announced.append((now.date(), milestone))
        now += timedelta(hours=1)
    assert announced == [
        (date(2024, 10, 12), 30),
        (date(2024, 10, 28), 14),
        (date(2024, 11, 4), 7),
        (date(2024, 11, 8), 3),
        (date(2024, 11, 10), 1),
        (date(2024, 11, 11), 0),
    ]


def test_missed_milestone_fires_late_only_within_a_day() -> None:
    assert due_milestones(COP29, utc(2024, 11, 5, 9), {30, 14}) == (7,)  # down on the 4th
    assert due_milestones(COP29, utc(2024, 11, 6, 9), {30, 14}) == ()  # two days late: skip
    # back on the day of the next milestone: only that one, never a backlog
    assert due_milestones(COP29, utc(2024, 11, 8, 9), {30, 14}) == (3,)
    assert due_milestones(COP29, utc(2024, 11, 8, 9), {30, 14, 3}) == ()


def test_milestones_for_tentative_window_count_to_its_start() -> None:
    assert due_milestones(CALL, utc(2024, 8, 25), set()) == (7,)
    assert due_milestones(CALL, utc(2024, 9, 1), set()) == (0,)
    assert due_milestones(CALL, utc(2024, 9, 15), set()) == ()


def test_no_milestones_for_cancelled_or_past_countdowns() -> None:
    cancelled = Countdown(id=5, name="x", start=date(2024, 11, 11), end=date(2024, 11, 11),
                          status="cancelled")  # fmt: skip
    assert due_milestones(cancelled, utc(2024, 11, 11), set()) == ()
    assert due_milestones(COP29, utc(2024, 11, 12), set()) == ()


# --------------------------------------------------------------------------- dates, durations


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-11-11", (date(2024, 11, 11), date(2024, 11, 11), False)),
        ("2024-09-01..2024-10-31", (date(2024, 9, 1), date(2024, 10, 31), True)),
        ("2024-09-01…2024-10-31", (date(2024, 9, 1), date(2024, 10, 31), True)),
        ("2024-9-1", (date(2024, 9, 1), date(2024, 9, 1), False)),
    ],
)
def test_parse_date_or_window(text: str, expected: tuple[date, date, bool]) -> None:
    assert parse_date_or_window(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("11/11/2024", "'11/11/2024' is not a date"),
        ("2024-02-30", "'2024-02-30' is not a real date"),
        ("2024-10-31..2024-09-01", "ends before it starts"),
        ("2024-09-01..", "'' is not a date"),
        ("", "is not a date"),
    ],
)
def test_parse_date_or_window_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_date_or_window(text)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("10m", timedelta(minutes=10)),
        ("2h", timedelta(hours=2)),
        ("24h", timedelta(hours=24)),
        ("7d", timedelta(days=7)),
        ("1w", timedelta(weeks=1)),
        ("1h30m", timedelta(minutes=90)),
        ("15 minutes", timedelta(minutes=15)),
        (" 2H ", timedelta(hours=2)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("10", "needs a unit, e.g. 10s or 10m"),
        ("ten minutes", "is not a duration"),
        ("5y", "is not a duration"),
        ("0m", "must be longer than zero"),
        ("", "is not a duration"),
        ("-5m", "is not a duration"),
    ],
)
def test_parse_duration_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_duration(text)
    assert message in str(caught.value)
