"""Dated engagements an item mentions: calls, visits, talks, summits, conferences.

Pure: ``published`` is passed in and every relative date ("on Tuesday", "next week", "in the
coming weeks", "soon", "in November") is resolved against it.

Per sentence, each event cue (call, visit, talks, summit, sanctions, incident, ...) takes the
date phrase nearest to it; the people named in that sentence are its parties. Well-known events
from the taxonomy's ``events`` table (COP29, an election) get their known dates. Only
engagements with a date are returned (they feed countdowns and the status board); mentions of
the same event (same kind and parties, or same known event) are merged.
"""

from __future__ import annotations

import calendar
import functools
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

import ahocorasick

from bot.domain.models import Certainty, Engagement, EventDate, ensure_utc
from bot.domain.taxonomy import Actor, KnownEvent, Taxonomy

MONTHS = {
    name.lower(): number
    for number in range(1, 13)
    for name in (calendar.month_name[number], calendar.month_abbr[number])
}
MONTHS["sept"] = 9
WEEKDAYS = {calendar.day_name[i].lower(): i for i in range(7)}
_MONTH = (
    r"(?P<month>January|February|March|April|May|June|July|August|September|October|November"
    r"|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)\.?"
)
_DAY_FIRST = (
    r"(?P<d1>\d{1,2})(?:\s*(?:-|–|to)\s*(?P<d2>\d{1,2}))?\s+"
    + _MONTH.replace("month", "month2")
    + r"(?:,?\s+(?P<year2>\d{4}))?"
)
DATE_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern, re.IGNORECASE))
    for name, pattern in (
        (
            "month_day",
            _MONTH
            + r"\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?(?:\s*(?:-|–|to)\s*(?:"
            + _MONTH.replace("month", "month_end")
            + r"\s+)?(?P<day_end>\d{1,2}))?(?:,?\s+(?P<year>\d{4}))?\b",
        ),
        ("day_month", r"\b" + _DAY_FIRST + r"\b"),
        (
            "weekday",
            r"\b(?:on\s+|this\s+|next\s+)?(?P<weekday>Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b",
        ),
        (
            "coming",
            r"\b(?:in|over|within)\s+the\s+(?:coming|next)\s+(?:few\s+)?(?P<unit>days|weeks|months)\b",
        ),
        ("next_unit", r"\bnext\s+(?P<unit>week|month|year)\b"),
        ("this_week", r"\bthis\s+week\b"),
        ("later_month", r"\blater\s+this\s+month\b"),
        (
            "year_end",
            r"\b(?:by\s+the\s+end\s+of\s+(?:the|this)\s+year|later\s+this\s+year|by\s+year[-\s]end|before\s+the\s+end\s+of\s+the\s+year)\b",
        ),
        ("part_month", r"\b(?P<part>early|mid|late)[-\s]+" + _MONTH + r"(?:\s+(?P<year>\d{4}))?\b"),
        (
            "in_month",
            r"\b(?:in|this|next|by|until|before)\s+"
            + _MONTH
            + r"(?:\s+(?P<year>\d{4}))?\b(?!\s+\d)",
        ),
        ("tomorrow", r"\btomorrow\b"),
        ("today", r"\btoday\b"),
        ("yesterday", r"\byesterday\b"),
        ("soon", r"\b(?:soon|shortly|in\s+the\s+near\s+future)\b"),
    )
)
KIND_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern, re.IGNORECASE))
    for kind, pattern in (
        ("summit", r"\bsummit\b"),
        (
            "call",
            r"\b(?:phone|telephone|video)?\s*call\b|\b(?:spoke|speak|speaks|speaking)\s+"
            r"(?:by\s+phone\s+)?with\b|\b(?:phone|telephone)\s+(?:conversation|talks)\b|"
            r"\bby\s+(?:phone|telephone)\b",
        ),
        (
            "visit",
            r"\bvisit(?:s|ed|ing)?\b|\btrip\s+to\b|\btravel(?:s|led|ling)?\s+to\b|\barriv(?:e|es|ed)\s+in\b",
        ),
        ("talks", r"\btalks\b|\bdialogue\b|\bnegotiations?\b"),
        ("meeting", r"\bmeet(?:s|ing|ings)?\b|\bmet\b"),
        ("sanctions", r"\bsanction(?:s|ed|ing)?\b|\bentity\s+list\b"),
        (
            "incident",
            r"\bintercept(?:s|ed|ion)?\b|\bcollid(?:e|ed|es)\b|\bcollision\b|\bwater\s+cannon\b",
        ),
        ("conference", r"\bconference\b|\bforum\b"),
    )
)
FUTURE = re.compile(
    r"\b(?:will|expected|expects|set\s+to|scheduled|plans?\s+to|planned|upcoming|is\s+to|are\s+to|"
    r"would|preparing|to\s+(?:visit|meet|hold|travel|speak|attend)|ahead\s+of|potential|possible)\b",
    re.IGNORECASE,
)
CANCELLED = re.compile(r"\b(?:cancel(?:s|led|ed|ling)?|called\s+off|scrapp(?:ed|ing))\b", re.I)
POSTPONED = re.compile(r"\b(?:postpone(?:s|d)?|delay(?:s|ed)?|put\s+off|pushed\s+back)\b", re.I)
PLACE_AFTER_VISIT = re.compile(
    r"\b(?:visit(?:s|ed|ing)?|trip\s+to|travel(?:s|led|ling)?\s+to|arriv(?:e|es|ed)\s+in)\s+"
    r"(?:to\s+)?(?P<place>[A-Z][a-zA-Z]+(?:\s+[A-Z][a-zA-Z]+)?)"
)
SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"“‘'])|\n+")


@dataclass(frozen=True)
class _Found:
    """A date phrase resolved in one sentence."""

    start: int
    end: int
    when: EventDate


# --------------------------------------------------------------------------- dates


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _next_month_year(base: date, month: int, year: str | None) -> int:
    if year:
        return int(year)
    return base.year if month >= base.month else base.year + 1


def _near_year(base: date, month: int, day: int) -> int:
    """The year putting month/day closest to ``base``."""
    best = base.year
    for year in (base.year - 1, base.year, base.year + 1):
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        try:
            current = date(best, month, day)
        except ValueError:
            best = year
            continue
        if abs((candidate - base).days) < abs((current - base).days):
            best = year
    return best


def _safe(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


_MONTH_WORDS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
# Per pattern, words of which every match contains one (lower case): month names all contain
# their three-letter abbreviation, weekdays "day".
_NEEDS: dict[str, tuple[str, ...]] = {
    "month_day": _MONTH_WORDS,
    "day_month": _MONTH_WORDS,
    "weekday": ("day",),
    "coming": ("coming", "next"),
    "next_unit": ("next",),
    "this_week": ("week",),
    "later_month": ("later",),
    "year_end": ("year",),
    "part_month": _MONTH_WORDS,
    "in_month": _MONTH_WORDS,
    "tomorrow": ("tomorrow",),
    "today": ("today",),
    "yesterday": ("yesterday",),
    "soon": ("soon", "shortly", "near"),
    "summit": ("summit",),
    "call": ("call", "spoke", "speak", "phone"),
    "visit": ("visit", "trip", "travel", "arriv"),
    "talks": ("talks", "dialogue", "negotiation"),
    "meeting": ("meet", "met"),
    "sanctions": ("sanction", "entity"),
    "incident": ("intercept", "collid", "collision", "cannon"),
    "conference": ("conference", "forum"),
}


_NEEDED: dict[str, frozenset[str]] = {name: frozenset(words) for name, words in _NEEDS.items()}
_MONTH_SET = frozenset(_MONTH_WORDS)


def _hint_scanner() -> Any:
    """An Aho-Corasick automaton of the ``_NEEDS`` words: word -> (word, its length - 1,
    whether it is a month word)."""
    automaton = ahocorasick.Automaton()
    for word in sorted({word for words in _NEEDS.values() for word in words}):
        automaton.add_word(word, (word, len(word) - 1, word in _MONTH_SET))
    automaton.make_automaton()
    return automaton


_HINT_SCANNER = _hint_scanner()


@dataclass(frozen=True, slots=True)
class _Hints:
    """What one pass over an ASCII sentence (lower-cased) tells about it."""

    lower: str
    present: frozenset[str]  # the ``_NEEDS`` words occurring in it
    months: tuple[int, ...]  # sorted offsets where a month word starts


@functools.lru_cache(maxsize=64)
def _hints(sentence: str) -> _Hints | None:
    """The hints of an ASCII sentence; None for other text (some non-ASCII letters match
    ASCII ones ignoring case, so lower-cased substring tests would not be exact)."""
    if not sentence.isascii():
        return None
    lower = sentence.lower()
    present: set[str] = set()
    months: set[int] = set()
    for end, (word, back, month) in _HINT_SCANNER.iter(lower):
        present.add(word)
        if month:
            months.add(end - back)
    return _Hints(lower, frozenset(present), tuple(sorted(months)))


def _applicable(
    patterns: tuple[tuple[str, re.Pattern[str]], ...], sentence: str
) -> tuple[tuple[str, re.Pattern[str]], ...]:
    """The named patterns that can match ``sentence``, in order. For ASCII text
    case-insensitive matching is plain lower-casing, so a pattern none of whose ``_NEEDS``
    words occurs in the lower-cased text is left out; other text keeps every pattern."""
    hints = _hints(sentence)
    if hints is None:
        return patterns
    present = hints.present
    if not present:
        return ()
    return tuple(
        (name, pattern) for name, pattern in patterns if not _NEEDED[name].isdisjoint(present)
    )


# ----------------------------------------------------------------- where matches can start
#
# An unanchored case-insensitive scan tries every offset of the text (Python's ``re`` finds no
# literal prefix behind ``\b`` or under IGNORECASE). In ASCII text, lower-casing is exactly
# what IGNORECASE does, so for each pattern below a few ``str.find`` loops list a superset of
# the offsets where one of its matches can start (the words it starts with, or the words
# found by looking back from a word it must contain); the pattern is tried only there, in
# order, the way ``finditer`` would (none of them matches the empty string).


def _find_all(lower: str, word: str) -> Iterator[int]:
    at = lower.find(word)
    while at >= 0:
        yield at
        at = lower.find(word, at + 1)


def _starts_of(lower: str, words: Iterable[str]) -> Iterator[int]:
    for word in words:
        yield from _find_all(lower, word)


def _gap_start(lower: str, at: int, dash: bool = False) -> int:
    """Where the run of whitespace (and, with ``dash``, hyphens) ending at ``at`` begins."""
    while at > 0 and (lower[at - 1].isspace() or (dash and lower[at - 1] == "-")):
        at -= 1
    return at


def _words_before(lower: str, at: int, words: Iterable[str], dash: bool = False) -> list[int]:
    """Offsets of those ``words`` that end right before a non-empty run of whitespace
    (``dash``: or hyphens) that ends at ``at``."""
    gap = _gap_start(lower, at, dash)
    if gap == at:
        return []
    return [gap - len(word) for word in words if lower.endswith(word, 0, gap)]


def _digits_start(lower: str, at: int) -> int:
    while at > 0 and "0" <= lower[at - 1] <= "9":
        at -= 1
    return at


def _day_first(lower: str, months: tuple[int, ...]) -> Iterator[int]:
    """ "5 May", "5-7 May", "5 to 7 May": the first digits before a month word."""
    for month in months:
        end = _gap_start(lower, month)
        if end == month:
            continue
        start = _digits_start(lower, end)
        if start == end:
            continue
        yield start
        joint = _gap_start(lower, start)
        if lower.endswith("-", 0, joint):
            joint -= 1
        elif lower.endswith("to", 0, joint):
            joint -= 2
        else:
            continue
        end = _gap_start(lower, joint)
        first = _digits_start(lower, end)
        if first < end:
            yield first


def _weekday_starts(lower: str) -> Iterator[int]:
    for name in WEEKDAYS:
        for at in _find_all(lower, name):
            yield at
            yield from _words_before(lower, at, ("on", "this", "next"))


def _coming_starts(lower: str) -> Iterator[int]:
    for at in _starts_of(lower, ("coming", "next")):
        for the in _words_before(lower, at, ("the",)):
            yield from _words_before(lower, the, ("in", "over", "within"))


def _soon_starts(lower: str) -> Iterator[int]:
    yield from _starts_of(lower, ("soon", "shortly"))
    for at in _find_all(lower, "near"):
        for the in _words_before(lower, at, ("the",)):
            yield from _words_before(lower, the, ("in",))


def _call_starts(lower: str) -> Iterator[int]:
    yield from _starts_of(lower, ("video", "spoke", "speak"))
    for at in _starts_of(lower, ("phone", "telephone")):
        yield at
        yield from _words_before(lower, at, ("by",))
    for at in _find_all(lower, "call"):
        yield from range(_gap_start(lower, at), at + 1)


_Starts = Callable[[str, tuple[int, ...]], Iterable[int]]
_STARTS: dict[str, _Starts] = {
    "month_day": lambda lower, months: months,
    "day_month": _day_first,
    "weekday": lambda lower, months: _weekday_starts(lower),
    "coming": lambda lower, months: _coming_starts(lower),
    "next_unit": lambda lower, months: _find_all(lower, "next"),
    "this_week": lambda lower, months: _find_all(lower, "this"),
    "later_month": lambda lower, months: _find_all(lower, "later"),
    "year_end": lambda lower, months: _starts_of(lower, ("by", "later", "before")),
    "part_month": lambda lower, months: (
        at for month in months for at in _words_before(lower, month, ("early", "mid", "late"), True)
    ),
    "in_month": lambda lower, months: (
        at
        for month in months
        for at in _words_before(lower, month, ("in", "this", "next", "by", "until", "before"))
    ),
    "tomorrow": lambda lower, months: _find_all(lower, "tomorrow"),
    "today": lambda lower, months: _find_all(lower, "today"),
    "yesterday": lambda lower, months: _find_all(lower, "yesterday"),
    "soon": lambda lower, months: _soon_starts(lower),
    "summit": lambda lower, months: _find_all(lower, "summit"),
    "call": lambda lower, months: _call_starts(lower),
    "visit": lambda lower, months: _starts_of(lower, ("visit", "trip", "travel", "arriv")),
    "talks": lambda lower, months: _starts_of(lower, ("talks", "dialogue", "negotiation")),
    "meeting": lambda lower, months: _starts_of(lower, ("meet", "met")),
    "sanctions": lambda lower, months: _starts_of(lower, ("sanction", "entity")),
    "incident": lambda lower, months: _starts_of(
        lower, ("intercept", "collid", "collision", "water")
    ),
    "conference": lambda lower, months: _starts_of(lower, ("conference", "forum")),
}


def _matches(name: str, pattern: re.Pattern[str], sentence: str) -> Iterator[re.Match[str]]:
    """``pattern.finditer(sentence)``: in ASCII text, tried only where a match can start."""
    hints = _hints(sentence)
    if hints is None:
        yield from pattern.finditer(sentence)
        return
    free = 0
    for start in sorted(set(_STARTS[name](hints.lower, hints.months))):
        if start < free:
            continue
        m = pattern.match(sentence, start)
        if m:
            free = m.end()
            yield m


def resolve_dates(sentence: str, published: datetime) -> list[_Found]:
    """Every date phrase of ``sentence`` resolved against ``published`` (no overlaps)."""
    patterns = _applicable(DATE_PATTERNS, sentence)
    if not patterns:
        return []
    base = ensure_utc(published).date()
    future: bool | None = None
    found: list[_Found] = []
    taken: list[tuple[int, int]] = []
    for name, pattern in patterns:
        for m in _matches(name, pattern, sentence):
            if any(s < m.end() and m.start() < e for s, e in taken):
                continue
            if future is None:
                future = bool(FUTURE.search(sentence))
            when = _resolve(name, m, base, _tense_near(sentence, m.start(), future))
            if when is not None:
                taken.append((m.start(), m.end()))
                found.append(_Found(m.start(), m.end(), when))
    found.sort(key=lambda f: f.start)
    return found


PAST_NEAR = re.compile(
    r"\b(?:\w+ed|said|spoke|met|held|told|took|made|began|gave|won|saw|was|were)\s+"
    r"(?:\w+\s+){0,2}$",
    re.IGNORECASE,
)


def _tense_near(sentence: str, start: int, sentence_future: bool) -> bool:
    """Whether a date phrase at ``start`` points forward: the words right before it decide
    ("agreed on Tuesday" is past even in a sentence that also plans talks), else the
    sentence's tense does."""
    before = sentence[max(0, start - 40) : start]
    if FUTURE.search(before):
        return True
    if PAST_NEAR.search(before):
        return False
    return sentence_future


def _event(text: str, start: date, end: date, certainty: Certainty) -> EventDate:
    return EventDate(text=text.strip(), start=start, end=end, certainty=certainty)


def _resolve(name: str, m: re.Match[str], base: date, future: bool) -> EventDate | None:
    text = m.group(0)
    groups = m.groupdict()
    if name == "month_day":
        month = MONTHS[groups["month"].lower()]
        day = int(groups["day"])
        year = int(groups["year"]) if groups["year"] else _near_year(base, month, day)
        start = _safe(year, month, day)
        end_month = MONTHS[groups["month_end"].lower()] if groups.get("month_end") else month
        end = _safe(year, end_month, int(groups["day_end"])) if groups["day_end"] else start
        if start is None or end is None or end < start:
            return None
        return _event(text, start, end, "exact")
    if name == "day_month":
        month = MONTHS[groups["month2"].lower()]
        day = int(groups["d1"])
        year = int(groups["year2"]) if groups["year2"] else _near_year(base, month, day)
        start = _safe(year, month, day)
        end = _safe(year, month, int(groups["d2"])) if groups["d2"] else start
        if start is None or end is None or end < start:
            return None
        return _event(text, start, end, "exact")
    if name == "weekday":
        target = WEEKDAYS[groups["weekday"].lower()]
        if future or text.lower().startswith("next"):
            delta = (target - base.weekday()) % 7 or 7
            moment = base + timedelta(days=delta)
        else:
            moment = base - timedelta(days=(base.weekday() - target) % 7)
        return _event(text, moment, moment, "exact")
    if name == "coming":
        unit = groups["unit"].lower()
        lo, hi = {"days": (1, 10), "weeks": (7, 42), "months": (30, 180)}[unit]
        return _event(text, base + timedelta(days=lo), base + timedelta(days=hi), "expected")
    if name == "next_unit":
        unit = groups["unit"].lower()
        if unit == "week":
            monday = base + timedelta(days=7 - base.weekday())
            return _event(text, monday, monday + timedelta(days=6), "approximate")
        if unit == "month":
            year, month = (base.year + 1, 1) if base.month == 12 else (base.year, base.month + 1)
            return _event(text, date(year, month, 1), _month_end(year, month), "approximate")
        return _event(text, date(base.year + 1, 1, 1), date(base.year + 1, 12, 31), "approximate")
    if name == "this_week":
        monday = base - timedelta(days=base.weekday())
        return _event(text, monday, monday + timedelta(days=6), "approximate")
    if name == "later_month":
        end = _month_end(base.year, base.month)
        return _event(text, min(base + timedelta(days=1), end), end, "expected")
    if name == "year_end":
        end = date(base.year, 12, 31)
        return _event(text, min(base + timedelta(days=1), end), end, "expected")
    if name == "part_month":
        month = MONTHS[groups["month"].lower()]
        year = _next_month_year(base, month, groups["year"])
        last = calendar.monthrange(year, month)[1]
        lo, hi = {"early": (1, 10), "mid": (11, 20), "late": (21, last)}[groups["part"].lower()]
        return _event(text, date(year, month, lo), date(year, month, hi), "approximate")
    if name == "in_month":
        month = MONTHS[groups["month"].lower()]
        year = _next_month_year(base, month, groups["year"])
        return _event(text, date(year, month, 1), _month_end(year, month), "approximate")
    if name == "tomorrow":
        moment = base + timedelta(days=1)
        return _event(text, moment, moment, "exact")
    if name == "today":
        return _event(text, base, base, "exact")
    if name == "yesterday":
        moment = base - timedelta(days=1)
        return _event(text, moment, moment, "exact")
    if name == "soon":
        return _event(text, base + timedelta(days=1), base + timedelta(days=30), "expected")
    return None


# --------------------------------------------------------------------------- parties


def short_name(actor: Actor) -> str:
    """How a label names an actor: a one-word alias ("Xi", "Biden") when there is one."""
    single = [m for m in actor.match if " " not in m.strip() and not m.isupper()]
    if single:
        return min(single, key=len)
    if actor.side == "us" and actor.rank not in ("institution", "office"):
        return actor.name.split()[-1]
    return actor.name


def _actor_patterns(taxonomy: Taxonomy) -> list[tuple[Actor, re.Pattern[str]]]:
    out = []
    for actor in taxonomy.actors:
        if actor.rank in ("institution", "office"):
            continue
        words = "|".join(re.escape(p) for p in sorted(actor.phrases, key=len, reverse=True))
        out.append((actor, re.compile(rf"\b(?:{words})\b")))
    return out


@dataclass(frozen=True)
class _ActorRule:
    """One person of the taxonomy: side, the name labels use, and the pattern naming them."""

    side: str
    name: str
    pattern: re.Pattern[str]


def _parties(sentence: str, actors: Iterable[_ActorRule]) -> dict[str, list[tuple[int, str]]]:
    """Actors named in the sentence, by side, with positions; possessives ("Biden's adviser")
    are dropped when someone else is named."""
    found: dict[str, list[tuple[int, str]]] = {"us": [], "cn": []}
    possessive: set[str] = set()
    for actor in actors:
        m = actor.pattern.search(sentence)
        if m:
            found[actor.side].append((m.start(), actor.name))
            if sentence[m.end() : m.end() + 2] in ("'s", "’s"):
                possessive.add(actor.name)
    for side, hits in found.items():
        kept = [hit for hit in hits if hit[1] not in possessive]
        found[side] = sorted(kept or hits)
    return found


# --------------------------------------------------------------------------- extraction

# Necessary conditions, as literals: every match of a KIND_PATTERNS (DATE_PATTERNS) pattern
# contains one of these words (case-insensitively), so text without any cannot have a cue
# (a date). Month names all contain their three-letter abbreviation, weekdays "day".
_CUE_HINT = re.compile(
    r"summit|call|spoke|speak|phone|visit|trip|travel|arriv|talks|dialogue|negotiation|meet|met"
    r"|sanction|entity|intercept|collid|collision|cannon|conference|forum",
    re.IGNORECASE,
)
_DATE_HINT = re.compile(
    r"jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|day|next|coming|week|later|year"
    r"|tomorrow|soon|shortly|near",
    re.IGNORECASE,
)


_CUE_WORDS = frozenset(word for kind, _ in KIND_PATTERNS for word in _NEEDS[kind])
_DATE_WORDS = frozenset(word for name, _ in DATE_PATTERNS for word in _NEEDS[name])


def _may_have_dated_cue(text: str) -> bool:
    """False only when ``text`` has no event cue or no date phrase (``_CUE_HINT`` and
    ``_DATE_HINT``, read from the hints of ASCII text)."""
    hints = _hints(text)
    if hints is None:
        return bool(_CUE_HINT.search(text) and _DATE_HINT.search(text))
    present = hints.present
    return not (present.isdisjoint(_CUE_WORDS) or present.isdisjoint(_DATE_WORDS))


def _status(sentence: str, when: EventDate | None, base: date) -> str:
    if CANCELLED.search(sentence):
        return "cancelled"
    if POSTPONED.search(sentence):
        return "postponed"
    if when is not None and (when.certainty == "expected" or when.start > base):
        return "expected"
    if FUTURE.search(sentence) and (when is None or when.end >= base):
        return "expected"
    return "reported"


def _label(
    kind: str, parties: dict[str, list[tuple[int, str]]], sentence: str, cue: tuple[int, int]
) -> str:
    us = [name for _, name in parties["us"]]
    cn = [name for _, name in parties["cn"]]
    cue_end = cue[1]
    if kind == "visit":
        everyone = sorted(parties["us"] + parties["cn"])
        before = [name for pos, name in everyone if pos < cue[0]]
        who = before[-1] if before else (everyone[0][1] if everyone else "Official")
        place = PLACE_AFTER_VISIT.search(sentence, max(0, cue_end - 30))
        return f"{who} visit to {place.group('place')}" if place else f"{who} visit"
    names = [n for n in (us[:1] + cn[:1]) if n]
    return f"{'–'.join(names)} {kind}" if names else kind


@dataclass(frozen=True)
class _EventPhrase:
    """A known-event phrase (lower case), its pattern, and its events sorted by start."""

    phrase: str
    pattern: re.Pattern[str]
    events: tuple[KnownEvent, ...]


def _event_phrases(taxonomy: Taxonomy) -> tuple[_EventPhrase, ...]:
    by_phrase: dict[str, list[KnownEvent]] = {}
    for event in taxonomy.events:
        for phrase in event.match:
            by_phrase.setdefault(phrase.lower(), []).append(event)
    return tuple(
        _EventPhrase(
            phrase,
            re.compile(rf"\b{re.escape(phrase)}\b"),
            tuple(sorted(events, key=lambda e: e.start)),
        )
        for phrase, events in by_phrase.items()
    )


def _actor_scanner(phrases: Sequence[tuple[str, ...]]) -> Any:
    """An Aho-Corasick automaton from each actor phrase to the indexes of its actors."""
    owners: dict[str, list[int]] = {}
    for index, actor_phrases in enumerate(phrases):
        for phrase in actor_phrases:
            owners.setdefault(phrase, []).append(index)
    if not owners:
        return None
    automaton = ahocorasick.Automaton()
    for phrase, indexes in owners.items():
        automaton.add_word(phrase, tuple(indexes))
    automaton.make_automaton()
    return automaton


class EngagementExtractor:
    """``extract_engagements`` for one taxonomy, with every pattern compiled once.

    Per item, one Aho-Corasick pass finds the actors whose phrases occur at all (only those
    are matched per sentence) and substring checks find the candidate known events; an item
    with neither a known event nor both an event cue and a date word is skipped at once.
    Results are exactly those of matching every actor and event pattern in every sentence.
    """

    def __init__(self, taxonomy: Taxonomy) -> None:
        self.taxonomy = taxonomy
        actors = _actor_patterns(taxonomy)
        self._actors = tuple(
            _ActorRule(actor.side, short_name(actor), pattern) for actor, pattern in actors
        )
        self._scanner = _actor_scanner([actor.phrases for actor, _ in actors])
        self._events = _event_phrases(taxonomy)

    def extract(self, title: str, text: str, published: datetime) -> tuple[Engagement, ...]:
        """Dated engagements mentioned by an item, merged across its sentences."""
        whole = f"{title}.\n{text}"
        lower = whole.lower()
        events = tuple(e for e in self._events if e.phrase in lower)
        if not events and not _may_have_dated_cue(whole):
            return ()
        base = ensure_utc(published).date()
        actors = self._actors_in(whole)
        results: list[Engagement] = []
        for sentence in _sentences(whole):
            results.extend(_from_sentence(sentence, published, base, events, actors))
        return _merge(results)

    def _actors_in(self, text: str) -> tuple[_ActorRule, ...]:
        """The actors (in taxonomy order) one of whose phrases occurs in ``text``."""
        if self._scanner is None:
            return ()
        seen: set[int] = set()
        for _, indexes in self._scanner.iter(text):
            seen.update(indexes)
        return tuple(self._actors[i] for i in sorted(seen))


_EXTRACTORS: dict[int, EngagementExtractor] = {}
_EXTRACTORS_MAX = 8


def extractor_for(taxonomy: Taxonomy) -> EngagementExtractor:
    """The compiled extractor of ``taxonomy`` (built on first use, kept while it is in use)."""
    extractor = _EXTRACTORS.get(id(taxonomy))
    if extractor is None or extractor.taxonomy is not taxonomy:
        if len(_EXTRACTORS) >= _EXTRACTORS_MAX:
            _EXTRACTORS.clear()
        extractor = _EXTRACTORS[id(taxonomy)] = EngagementExtractor(taxonomy)
    return extractor


def _known_event(
    events: Sequence[_EventPhrase], sentence: str, base: date
) -> list[tuple[int, KnownEvent]]:
    """Known events named in the sentence: the next (or latest) instance of each name."""
    lower = sentence.lower()
    out: dict[str, tuple[int, KnownEvent]] = {}
    for candidate in events:
        if candidate.phrase not in lower:
            continue
        m = candidate.pattern.search(lower)
        if not m:
            continue
        upcoming = [e for e in candidate.events if e.end >= base]
        past = [e for e in candidate.events if e.end < base]
        chosen = upcoming[0] if upcoming else past[-1]
        if upcoming and (chosen.start - base).days > 400:
            continue
        out.setdefault(chosen.name, (m.start(), chosen))
    return list(out.values())


def extract_engagements(
    title: str, text: str, published: datetime, taxonomy: Taxonomy
) -> tuple[Engagement, ...]:
    """Dated engagements mentioned by an item, merged across its sentences."""
    return extractor_for(taxonomy).extract(title, text, published)


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in SENTENCE.split(text) if s and s.strip()]


def _cues(sentence: str) -> list[tuple[int, int, str]]:
    cues: list[tuple[int, int, str]] = []
    for kind, pattern in _applicable(KIND_PATTERNS, sentence):
        for m in _matches(kind, pattern, sentence):
            if not any(s <= m.start() < e for s, e, _ in cues):
                cues.append((m.start(), m.end(), kind))
    return cues


def _from_sentence(
    sentence: str,
    published: datetime,
    base: date,
    events: Sequence[_EventPhrase],
    actors: Sequence[_ActorRule],
) -> list[Engagement]:
    cues = _cues(sentence)
    known = _known_event(events, sentence, base) if events else []
    anchors: list[tuple[int, int, str, KnownEvent | None]] = [
        (pos, pos, event.kind, event) for pos, event in known
    ]
    anchors += [
        (s, e, k, None) for s, e, k in cues if not any(abs(s - pos) < 40 for pos, _ in known)
    ]
    if not anchors:
        return []
    dates = resolve_dates(sentence, published)
    if not dates and not known:  # every cue would go without a date
        return []
    assigned = _assign_dates(anchors, dates)
    parties: dict[str, list[tuple[int, str]]] | None = None
    out: list[Engagement] = []
    for index, (start, end, kind, event) in enumerate(anchors):
        when = assigned.get(index)
        if event is not None:
            known_when = EventDate(
                text=when.text if when else event.name,
                start=event.start,
                end=event.end,
                certainty="exact",
            )
            status = "expected" if event.start > base else "reported"
            status = _status(sentence, known_when, base) if status == "expected" else status
            out.append(
                Engagement(kind=event.kind, dates=(known_when,), label=event.name, status=status)
            )
            continue
        if when is None:
            continue
        if parties is None:
            parties = _parties(sentence, actors)
        out.append(
            Engagement(
                kind=kind,
                us_parties=tuple(name for _, name in parties["us"]),
                cn_parties=tuple(name for _, name in parties["cn"]),
                dates=(when,),
                label=_label(kind, parties, sentence, (start, end)),
                status=_status(sentence, when, base),
            )
        )
    return out


def _assign_dates(
    anchors: list[tuple[int, int, str, KnownEvent | None]], dates: list[_Found]
) -> dict[int, EventDate]:
    """Give each date phrase to its nearest anchor (ties go to the anchor before the date)."""
    assigned: dict[int, EventDate] = {}
    best_gap: dict[int, int] = {}
    for found in dates:
        gaps = []
        for index, (start, end, _, _) in enumerate(anchors):
            gap = found.start - end if found.start >= end else (start - found.end) + 5
            gaps.append((max(gap, 0), index))
        gap, index = min(gaps)
        if index not in best_gap or gap < best_gap[index]:
            best_gap[index] = gap
            assigned[index] = found.when
    return assigned


def _merge(items: list[Engagement]) -> tuple[Engagement, ...]:
    """One engagement per event: same label, or same kind with overlapping parties."""
    merged: list[Engagement] = []
    for item in items:
        for i, seen in enumerate(merged):
            if _same(seen, item):
                merged[i] = _combine(seen, item)
                break
        else:
            merged.append(item)
    return tuple(merged)


def _same(a: Engagement, b: Engagement) -> bool:
    if a.label == b.label:
        return True
    if a.kind != b.kind:
        return False
    if a.dates and b.dates and a.dates[0].start == b.dates[0].start:
        return True
    shared_us = set(a.us_parties) & set(b.us_parties)
    shared_cn = set(a.cn_parties) & set(b.cn_parties)
    return bool(shared_us or shared_cn)


def _combine(a: Engagement, b: Engagement) -> Engagement:
    rank = {"exact": 0, "approximate": 1, "expected": 2}
    dates = sorted(a.dates + b.dates, key=lambda d: rank[d.certainty])
    status = a.status if a.status != "reported" else b.status
    richer = a if len(a.us_parties + a.cn_parties) >= len(b.us_parties + b.cn_parties) else b
    return replace(
        richer,
        us_parties=tuple(dict.fromkeys(a.us_parties + b.us_parties)),
        cn_parties=tuple(dict.fromkeys(a.cn_parties + b.cn_parties)),
        dates=tuple(dict.fromkeys(dates))[:1] if dates else (),
        status=status,
    )
