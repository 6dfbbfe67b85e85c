"""Countdown and digest time arithmetic. Pure: ``now`` is always passed in.

Invariants:
- cron expressions use cron's numbering (day-of-week 0 or 7 = Sunday, 1 = Monday, ... 6 =
  Saturday); :meth:`CronSpec.apscheduler_fields` writes day-of-week as names so APScheduler's
  Monday=0 numbering can never bite;
- slots are computed on the wall clock of an IANA timezone: a nonexistent local time (spring
  forward) is shifted forward by the gap, an ambiguous one (fall back) fires once, at its first
  occurrence; every returned instant is an aware UTC ``datetime``;
- day counts are calendar days in the countdown's own timezone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.domain.errors import ConfigError
from bot.domain.models import Countdown, ensure_utc

__all__ = [
    "WEEKDAY_NAMES",
    "CronSpec",
    "countdown_phrase",
    "cron_daily",
    "cron_weekly",
    "days_until",
    "describe_cron",
    "due_digest_slot",
    "due_milestones",
    "is_past",
    "local_today",
    "parse_cron",
    "parse_date_or_window",
    "parse_duration",
    "weekday_name",
    "zone",
]

# Cron numbering: index 0 = Sunday.
WEEKDAY_NAMES: tuple[str, ...] = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_WEEKDAY_FULL = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # Feb 29 can happen
# Far enough to reach a Feb 29 that also falls on a given weekday (leap years skip centuries).
_SEARCH_DAYS = 366 * 29

_ALIASES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


def zone(tz: str | tzinfo) -> tzinfo:
    """An IANA timezone by name (or a tzinfo, returned as is); ConfigError if unknown."""
    if isinstance(tz, tzinfo):
        return tz
    try:
        return ZoneInfo(str(tz).strip())
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # from None: a failed lookup; the cause says no more than the message
        raise ConfigError(
            f"unknown timezone '{tz}' (use an IANA name like America/New_York)"
        ) from None


def _to_utc(wall: datetime, tz: tzinfo) -> datetime:
    """A naive wall-clock time in ``tz`` -> UTC.

    ``fold=0`` gives the first occurrence of an ambiguous time and shifts a nonexistent time
    forward by the size of the gap (02:30 on a spring-forward night becomes 03:30).
    """
    return wall.replace(tzinfo=tz, fold=0).astimezone(UTC)


# --------------------------------------------------------------------------- cron


@dataclass(frozen=True)
class _Field:
    name: str
    lo: int
    hi: int
    names: tuple[str, ...] = ()
    names_start: int = 0


_FIELDS = (
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day-of-month", 1, 31),
    _Field("month", 1, 12, _MONTH_NAMES, 1),
    _Field("day-of-week", 0, 7, WEEKDAY_NAMES, 0),
)


@dataclass(frozen=True)
class CronSpec:
    """A parsed 5-field cron expression (minute hour day-of-month month day-of-week).

    ``weekdays`` uses cron numbering (0 = Sunday). Like Vixie cron, when both the day-of-month
    and the day-of-week fields are restricted (neither starts with ``*``) a day matches if
    EITHER matches; otherwise both must match.
    """

    expr: str
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: tuple[int, ...]
    months: tuple[int, ...]
    weekdays: tuple[int, ...]
    day_star: bool = True
    weekday_star: bool = True

    @property
    def day_or_weekday(self) -> bool:
        """True when the day-of-month/day-of-week fields combine with OR (both restricted)."""
        return not self.day_star and not self.weekday_star

    # ---- matching

    def day_matches(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        by_day = day.day in self.days
        by_weekday = _cron_weekday(day) in self.weekdays
        if self.day_or_weekday:
            return by_day or by_weekday
        return by_day and by_weekday

    def matches(self, local_dt: datetime) -> bool:
        """Whether the wall-clock minute of ``local_dt`` is a slot (seconds are ignored)."""
        return (
            local_dt.minute in self.minutes
            and local_dt.hour in self.hours
            and self.day_matches(local_dt.date())
        )

    def fires_on(self, day: date, tz: str | tzinfo) -> list[datetime]:
        """The UTC instants this spec fires on local ``day`` in ``tz``, sorted and unique."""
        if not self.day_matches(day):
            return []
        return list(_fires_on(self, day, zone(tz)))

    def next_fire(self, now: datetime, tz: str | tzinfo) -> datetime:
        """The first slot strictly after ``now``, as UTC."""
        now_utc = ensure_utc(now)
        zone_ = zone(tz)
        for day in _days_from(now_utc.astimezone(zone_).date() - timedelta(days=1), +1):
            for instant in self.fires_on(day, zone_):
                if instant > now_utc:
                    return instant
        raise ConfigError(f"cron '{self.expr}' never fires")  # pragma: no cover - validated

    def previous_fire(self, now: datetime, tz: str | tzinfo) -> datetime:
        """The latest slot at or before ``now``, as UTC."""
        now_utc = ensure_utc(now)
        zone_ = zone(tz)
        for day in _days_from(now_utc.astimezone(zone_).date() + timedelta(days=1), -1):
            for instant in reversed(self.fires_on(day, zone_)):
                if instant <= now_utc:
                    return instant
        raise ConfigError(f"cron '{self.expr}' never fires")  # pragma: no cover - validated

    # ---- APScheduler

    def apscheduler_fields(self) -> dict[str, str]:
        """CronTrigger keyword arguments (``second`` included, day_of_week as names).

        Raises ConfigError when day-of-month and day-of-week are both restricted: cron ORs
        them but one CronTrigger ANDs them; use :meth:`apscheduler_field_sets` with an
        OrTrigger for that case.
        """
        if self.day_or_weekday:
            raise ConfigError(
                f"cron '{self.expr}' restricts both day-of-month and day-of-week; "
                "it needs two triggers (see apscheduler_field_sets)"
            )
        return self._fields(self.days, self.weekdays)

    def apscheduler_field_sets(self) -> tuple[dict[str, str], ...]:
        """One CronTrigger kwargs dict, or two to OR together when cron's OR rule applies."""
        if not self.day_or_weekday:
            return (self._fields(self.days, self.weekdays),)
        every_day = tuple(range(1, 32))
        every_weekday = tuple(range(7))
        return (self._fields(self.days, every_weekday), self._fields(every_day, self.weekdays))

    def _fields(self, days: tuple[int, ...], weekdays: tuple[int, ...]) -> dict[str, str]:
        return {
            "second": "0",
            "minute": _numbers(self.minutes, 0, 59),
            "hour": _numbers(self.hours, 0, 23),
            "day": _numbers(days, 1, 31),
            "month": _numbers(self.months, 1, 12),
            "day_of_week": _weekday_names(weekdays),
        }


@lru_cache(maxsize=4096)
def _fires_on(spec: CronSpec, day: date, zone_: tzinfo) -> tuple[datetime, ...]:
    instants = {
        _to_utc(datetime(day.year, day.month, day.day, hour, minute), zone_)
        for hour in spec.hours
        for minute in spec.minutes
    }
    return tuple(sorted(instants))


def _cron_weekday(day: date) -> int:
    """Cron's weekday number of ``day``: 0 = Sunday ... 6 = Saturday."""
    return (day.weekday() + 1) % 7


def _days_from(start: date, step: int) -> Iterator[date]:
    day = start
    for _ in range(_SEARCH_DAYS):
        yield day
        try:
            day = day + timedelta(days=step)
        except OverflowError:  # pragma: no cover - year 1 or 9999
            return


def _numbers(values: tuple[int, ...], lo: int, hi: int) -> str:
    if len(values) == hi - lo + 1:
        return "*"
    return ",".join(str(v) for v in values)


def _weekday_names(weekdays: tuple[int, ...]) -> str:
    if len(weekdays) == 7:
        return "*"
    monday_first = sorted(weekdays, key=lambda n: (n + 6) % 7)
    return ",".join(WEEKDAY_NAMES[n] for n in monday_first)


def parse_cron(expr: str) -> CronSpec:
    """Parse a standard 5-field cron expression (or @daily, @weekly, ...); ConfigError if bad."""
    text = " ".join(str(expr).split())
    source = _ALIASES.get(text.lower(), text)
    parts = source.split(" ")
    if len(parts) != 5 or not source:
        raise ConfigError(
            f"cron '{text}' must have 5 fields (minute hour day-of-month month day-of-week), "
            f"got {len(parts) if source else 0}"
        )
    values = [_parse_field(part, spec, text) for part, spec in zip(parts, _FIELDS, strict=True)]
    spec = CronSpec(
        expr=text,
        minutes=values[0],
        hours=values[1],
        days=values[2],
        months=values[3],
        weekdays=values[4],
        day_star=parts[2].startswith("*"),
        weekday_star=parts[4].startswith("*"),
    )
    if not spec.day_or_weekday and not _some_day_exists(spec.days, spec.months):
        raise ConfigError(f"cron '{text}' never fires: no such day in the months given")
    return spec


def _some_day_exists(days: Iterable[int], months: Iterable[int]) -> bool:
    return any(day <= _MONTH_DAYS[month - 1] for day in days for month in months)


def _parse_field(text: str, field: _Field, expr: str) -> tuple[int, ...]:
    values: set[int] = set()
    for item in text.split(","):
        values.update(_parse_item(item, field, expr))
    if field.name == "day-of-week" and 7 in values:
        values.discard(7)
        values.add(0)
    return tuple(sorted(values))


def _parse_item(item: str, field: _Field, expr: str) -> range:
    def fail(why: str) -> ConfigError:
        return ConfigError(f"cron '{expr}': {field.name} item '{item}' {why}")

    if not item:
        raise fail("is empty")
    base, slash, step_text = item.partition("/")
    step = 1
    if slash:
        if not re.fullmatch(r"[0-9]{1,3}", step_text) or int(step_text) == 0:
            raise fail("has a bad step (use a whole number from 1)")
        step = int(step_text)
    hi = 6 if field.name == "day-of-week" else field.hi
    if base == "*":
        return range(field.lo, hi + 1, step)
    first_text, dash, last_text = base.partition("-")
    first = _field_value(first_text, field, fail, is_end=False)
    last = first
    if dash:
        last = _field_value(last_text, field, fail, is_end=True)
    elif slash:  # "5/15": from 5 to the end of the range
        last = hi
    if last < first:
        raise fail(f"runs backwards ({first} > {last})")
    return range(first, last + 1, step)


def _field_value(
    text: str, field: _Field, fail: Callable[[str], ConfigError], *, is_end: bool
) -> int:
    lowered = text.lower()
    if field.names and lowered in field.names:
        value = field.names.index(lowered) + field.names_start
        # "fri-sun": Sunday closing a range is 7.
        return 7 if (is_end and field.name == "day-of-week" and value == 0) else value
    if not re.fullmatch(r"[0-9]{1,2}", text):
        raise fail(f"is not a number from {field.lo} to {field.hi}")
    value = int(text)
    if not field.lo <= value <= field.hi:
        raise fail(f"is out of range ({field.lo}-{field.hi})")
    return value


def cron_daily(hour: int, minute: int) -> str:
    """A cron expression firing every day at ``hour:minute``."""
    _check_time(hour, minute)
    return f"{minute} {hour} * * *"


def cron_weekly(weekday: str | int, hour: int, minute: int) -> str:
    """A cron expression firing weekly. ``weekday`` is a name (``mon``, ``Monday``) or a cron
    number (0 or 7 = Sunday); the expression names the day, so no numbering is ambiguous."""
    _check_time(hour, minute)
    return f"{minute} {hour} * * {weekday_name(weekday)}"


def weekday_name(weekday: str | int) -> str:
    """Normalise a weekday to its three-letter cron name; ValueError if it is not one."""
    if isinstance(weekday, int) and not isinstance(weekday, bool):
        if 0 <= weekday <= 7:
            return WEEKDAY_NAMES[weekday % 7]
        raise ValueError(f"weekday number {weekday} is not 0-7 (0 or 7 = Sunday)")
    key = str(weekday).strip().lower()[:3]
    if key in WEEKDAY_NAMES and _WEEKDAY_FULL[WEEKDAY_NAMES.index(key)].lower().startswith(
        str(weekday).strip().lower()
    ):
        return key
    raise ValueError(f"'{weekday}' is not a day of the week (mon, tue, ... sun)")


def _check_time(hour: int, minute: int) -> None:
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise ValueError(f"{hour}:{minute:02d} is not a time of day (00:00-23:59)")


def describe_cron(expr: str | CronSpec) -> str:
    """Words for a cron expression: 'every weekday at 08:00', 'every Monday at 09:30'."""
    spec = expr if isinstance(expr, CronSpec) else parse_cron(expr)
    days, times = _describe_days(spec), _describe_times(spec)
    if days == "every day" and times.startswith("every"):
        return times
    return f"{days} {times}"


def _describe_times(spec: CronSpec) -> str:
    minutes, hours = spec.minutes, spec.hours
    if len(minutes) == 60 and len(hours) == 24:
        return "every minute"
    if len(hours) == 24 and len(minutes) <= 4:
        return "every hour at " + _join([f":{m:02d}" for m in minutes])
    if len(minutes) * len(hours) <= 6:
        return "at " + _join([f"{h:02d}:{m:02d}" for h in hours for m in minutes])
    return f"at minute {_join([str(m) for m in minutes])} of hour {_join([str(h) for h in hours])}"


def _describe_days(spec: CronSpec) -> str:
    weekdays = "" if spec.weekday_star and len(spec.weekdays) == 7 else _describe_weekdays(spec)
    days = ""
    if not (spec.day_star and len(spec.days) == 31):
        days = "on day " + _join([str(d) for d in spec.days]) + " of the month"
    months = ""
    if len(spec.months) != 12:
        months = "in " + _join([_MONTH_NAMES[m - 1].title() for m in spec.months])
    if days and weekdays:
        joiner = " or " if spec.day_or_weekday else " if it is "
        what = days + joiner + weekdays.removeprefix("every ")
    else:
        what = days or weekdays or "every day"
    return f"{what} {months}".strip()


def _describe_weekdays(spec: CronSpec) -> str:
    days = set(spec.weekdays)
    if days == {1, 2, 3, 4, 5}:
        return "every weekday"
    if days == {0, 6}:
        return "every weekend day"
    names = [_WEEKDAY_FULL[n] for n in sorted(days, key=lambda n: (n + 6) % 7)]
    return "every " + _join(names)


def _join(words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


# --------------------------------------------------------------------------- digest slots


def due_digest_slot(
    cron: str | CronSpec,
    tz: str | tzinfo,
    now: datetime,
    last_sent_slot: datetime | None,
    grace: timedelta,
) -> datetime | None:
    """The digest slot to send now (UTC), or None.

    Only the most recent slot at or before ``now`` can be due, and only while ``now`` is
    within ``grace`` of it and it was not sent yet (``last_sent_slot`` before it). A bot that
    was down over several slots therefore sends one digest, never a backlog.
    """
    spec = cron if isinstance(cron, CronSpec) else parse_cron(cron)
    now_utc = ensure_utc(now)
    slot = spec.previous_fire(now_utc, tz)
    if now_utc - slot > grace:
        return None
    if last_sent_slot is not None and ensure_utc(last_sent_slot) >= slot:
        return None
    return slot


# --------------------------------------------------------------------------- countdowns


def local_today(now: datetime, tz: str | tzinfo) -> date:
    """The calendar date of ``now`` on the wall clock of ``tz``."""
    return ensure_utc(now).astimezone(zone(tz)).date()


def days_until(countdown: Countdown, now: datetime) -> int:
    """Calendar days from today (in the countdown's timezone) to its start (negative: past)."""
    return (countdown.start - local_today(now, countdown.timezone)).days


def is_past(countdown: Countdown, now: datetime) -> bool:
    """True once the countdown's last day (window end) is over in its timezone."""
    return local_today(now, countdown.timezone) > countdown.end


def countdown_phrase(countdown: Countdown, now: datetime) -> str:
    """'in 71 days', 'tomorrow', 'today', 'ended 3 days ago'; for tentative windows
    'expected between 1 Sep and 31 Oct 2024 (in 10–70 days)' or '(window open, closes in N
    days)'."""
    today = local_today(now, countdown.timezone)
    if countdown.tentative:
        return _window_phrase(countdown.start, countdown.end, today)
    past_days = (today - countdown.end).days
    if past_days > 0:
        return "ended yesterday" if past_days == 1 else f"ended {past_days} days ago"
    if today > countdown.start:  # a multi-day event under way
        return "under way, ends " + ("today" if past_days == 0 else _days_phrase(-past_days))
    return _days_phrase((countdown.start - today).days)


def _days_phrase(days: int) -> str:
    if days <= 0:
        return "today"
    if days == 1:
        return "tomorrow"
    return f"in {days} days"


def _window_phrase(start: date, end: date, today: date) -> str:
    window = f"expected between {_day_text(start, start.year != end.year)} and {_day_text(end)}"
    if today < start:
        return f"{window} (in {(start - today).days}–{(end - today).days} days)"
    if today <= end:
        left = (end - today).days
        closes = "closes today" if left == 0 else f"closes {_days_phrase(left)}"
        return f"{window} (window open, {closes})"
    gone = (today - end).days
    return f"{window} (window closed {'yesterday' if gone == 1 else f'{gone} days ago'})"


def _day_text(day: date, with_year: bool = True) -> str:
    text = f"{day.day} {_MONTH_NAMES[day.month - 1].title()}"
    return f"{text} {day.year}" if with_year else text


def due_milestones(countdown: Countdown, now: datetime, fired: set[int]) -> tuple[int, ...]:
    """Milestones (days before the start) to announce now; each fires at most once.

    A milestone is due on its own day. If the bot was down on that day, the latest passed
    milestone is still due for one more day; older missed ones are never sent. Cancelled
    and past countdowns have no milestones. Tentative windows count to the window start.
    """
    if countdown.status == "cancelled" or is_past(countdown, now):
        return ()
    left = days_until(countdown, now)
    reached = [m for m in countdown.milestones if m >= left and m >= 0]
    if not reached:
        return ()
    latest = min(reached)
    if latest in fired or latest - left > 1:
        return ()
    return (latest,)


# --------------------------------------------------------------------------- text values

_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}", re.ASCII)
_WINDOW_SEPARATORS = ("..", "…")


def parse_date_or_window(text: str) -> tuple[date, date, bool]:
    """'2024-11-11' -> (d, d, False); '2024-09-01..2024-10-31' -> (start, end, True).

    Raises ValueError with a message for a person.
    """
    value = " ".join(str(text).split())
    for separator in _WINDOW_SEPARATORS:
        if separator in value:
            first, _, last = value.partition(separator)
            start, end = _parse_day(first.strip()), _parse_day(last.strip().lstrip("."))
            if end < start:
                raise ValueError(f"window {value} ends before it starts")
            return start, end, True
    day = _parse_day(value)
    return day, day, False


def _parse_day(text: str) -> date:
    example = "use YYYY-MM-DD, e.g. 2024-11-11, or a window 2024-09-01..2024-10-31"
    if not _DATE_RE.fullmatch(text):
        raise ValueError(f"'{text}' is not a date ({example})")
    year, month, day = (int(part) for part in text.split("-"))
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise ValueError(f"'{text}' is not a real date ({example})") from exc


_DURATION_UNITS: dict[str, int] = {
    "s": 1,
    "sec": 1,
    "secs": 1,
    "second": 1,
    "seconds": 1,
    "m": 60,
    "min": 60,
    "mins": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hr": 3600,
    "hrs": 3600,
    "hour": 3600,
    "hours": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
    "w": 604800,
    "week": 604800,
    "weeks": 604800,
}
_DURATION_PART = re.compile(r"([0-9]{1,7})\s*([a-z]+)", re.ASCII)


def parse_duration(text: str) -> timedelta:
    """'90s', '10m', '2h', '24h', '7d', '1w', '1h30m' -> timedelta (> 0); ValueError if bad."""
    value = str(text).strip().lower()
    hint = "use a number and a unit: 90s, 10m, 2h, 7d, 1w"
    if re.fullmatch(r"[0-9]+", value, re.ASCII):
        raise ValueError(f"duration '{text}' needs a unit, e.g. {value}s or {value}m ({hint})")
    seconds = 0
    position = 0
    compact = value.replace(" ", "")
    for match in _DURATION_PART.finditer(compact):
        unit = _DURATION_UNITS.get(match.group(2))
        if match.start() != position or unit is None:
            break
        seconds += int(match.group(1)) * unit
        position = match.end()
    if not compact or position != len(compact):
        raise ValueError(f"'{text}' is not a duration ({hint})")
    if seconds <= 0:
        raise ValueError(f"duration '{text}' must be longer than zero")
    return timedelta(seconds=seconds)
