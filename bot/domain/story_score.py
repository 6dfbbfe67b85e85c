"""How strongly two fingerprints look like one event (pure).

Word overlap (rarity-weighted) is only the starting point; dates, event kinds, places,
targets, numbers and people add, subtract or veto. Every constant is a named field of
:class:`ScoreWeights`. The score is symmetric: ``pair_score(a, b) == pair_score(b, a)``.

Event agreement (vetoes, :func:`event_conflict`): two items are never one event when

- their publications are more than ``max_pub_gap`` days apart, or a preview was published
  before the other item's event day (or announces an event that starts after it);
- both name event days in their text and the nearest two are more than
  ``max_named_day_gap`` days apart;
- their headlines name places and share none, unless they name the same action and agree
  on the day;
- their headlines name different actions (a call vs drills, talks vs a ban) and neither the
  place nor a named day positively agrees.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from bot.domain.story_features import WEEKDAYS as _WEEKDAYS
from bot.domain.story_features import Fingerprint

VETO = -1.0  # pair score of two items that cannot be one event

# Each names a different kind of encounter: an item that is only a call is not a meeting.
EXCLUSIVE_KINDS = frozenset({"call", "meeting", "hearing", "speech"})
# Kinds specific enough that sharing one is evidence of the same event.
SPECIFIC_KINDS = frozenset(
    {"call", "meeting", "retaliation", "drills", "incident", "ruling", "order", "hearing"}
    | {"speech", "disaster", "ban"}
)
# Headline actions that report one encounter in different words ("talks" in one outlet,
# "meeting" or "visit" in another): they never count as different actions of each other.
ENCOUNTER_ACTIONS = frozenset({"call", "meeting", "visit", "talks"})
# Events over within a day: two of them on days named further apart are two events.
ONE_DAY_ACTIONS = frozenset({"call", "hearing", "speech", "ruling", "order", "incident"})


@dataclass(frozen=True)
class ScoreWeights:
    """The constants of :func:`pair_score`, each an addition to the text similarity (0..1)
    unless said otherwise. Defaults were set on hand-written cases and checked on the
    development set; change them only with a rule-level reason."""

    # publication days
    max_pub_gap: int = 4  # days between publications beyond which items are different events
    close_pub_bonus: float = 0.10  # publications at most a day apart
    pub_gap_penalty_per_day: float = 0.05  # per day between publications, beyond one
    # days named in the text
    max_named_day_gap: int = 7  # both name days, nearest two further apart: different events
    near_day_bonus: float = 0.15  # nearest event days at most a day apart
    day_gap_penalty_per_day: float = 0.10  # per day between the nearest event days, beyond one
    day_gap_penalty_cap: float = 0.30
    near_month_day_bonus: float = 0.15  # undated items naming the same month-day (+-1)
    month_day_penalty_per_day: float = 0.05  # month-days up to a week apart
    month_day_far_penalty: float = 0.40  # month-days more than a week apart
    same_weekday_bonus: float = 0.08
    adjacent_weekday_penalty: float = 0.05
    other_weekday_penalty: float = 0.20
    # kinds, targets, people, places
    exclusive_kind_penalty: float = 0.15  # only a call vs only a meeting
    retaliation_penalty: float = 0.08  # a retaliation vs the measure it answers
    shared_kind_bonus: float = 0.04  # per shared specific kind, at most two
    opposite_target_penalty: float = 0.25  # tariffs on US goods vs tariffs on Chinese goods
    preview_penalty: float = 0.12  # a preview vs a report, published on different days
    shared_person_bonus: float = 0.05
    other_people_penalty: float = 0.20  # two different pairs of officials
    partly_other_people_penalty: float = 0.10
    place_conflict_penalty: float = 0.15  # same action, headline places differ
    # shared specifics
    shared_number_bonus: float = 0.05  # per shared quantity, at most two
    shared_name_bonus: float = 0.04  # per shared multi-word name, at most three
    # text
    min_text_for_dates: float = 0.15  # below this, dates alone never join two items


WEIGHTS = ScoreWeights()


@dataclass
class DocFreq:
    """Document frequencies of tokens over the items seen (bounded by halving when large)."""

    counts: dict[str, int] = field(default_factory=dict)
    docs: int = 0
    limit: int = 200_000

    def add(self, tokens: Iterable[str]) -> None:
        self.docs += 1
        for token in set(tokens):
            self.counts[token] = self.counts.get(token, 0) + 1
        if len(self.counts) > self.limit:
            self.counts = {t: c // 2 for t, c in self.counts.items() if c > 1}
            self.docs = max(1, self.docs // 2)

    def idf(self, token: str) -> float:
        return math.log((self.docs + 2) / (self.counts.get(token, 0) + 1)) + 0.5

    def idfs(self, tokens: Iterable[str]) -> dict[str, float]:
        """``{token: self.idf(token)}`` for many tokens (the same figures, fewer calls)."""
        docs, count, log = self.docs + 2, self.counts.get, math.log
        return {t: log(docs / (count(t, 0) + 1)) + 0.5 for t in tokens}

    def is_common(self, token: str) -> bool:
        """Too frequent to help find candidates (e.g. "china" in a US–China feed)."""
        return self.docs >= 50 and self.counts.get(token, 0) > 0.2 * self.docs


@dataclass(frozen=True)
class Weighted:
    """An item's tokens weighted by rarity, with the sums the similarity needs cached."""

    vec: dict[str, float]
    norm: float
    mass: float


def weigh(tokens: Mapping[str, float], df: DocFreq) -> Weighted:
    return weigh_by(tokens, df.idfs(tokens))


def weigh_by(tokens: Mapping[str, float], idf: Mapping[str, float]) -> Weighted:
    """:func:`weigh` with every token's rarity (``DocFreq.idf``) already looked up."""
    vec = {t: w * idf[t] for t, w in tokens.items()}
    return Weighted(vec, math.sqrt(sum(v * v for v in vec.values())), sum(vec.values()))


def text_similarity(a: Weighted, b: Weighted) -> float:
    """Mean of the cosine and of the overlap coefficient (shared rarity over the smaller item,
    so that a headline-only item is not penalised against a long one)."""
    small, large = (a, b) if len(a.vec) <= len(b.vec) else (b, a)
    dot = shared = 0.0
    lookup = large.vec.get
    for token, weight in small.vec.items():
        other = lookup(token)
        if other:
            dot += weight * other
            shared += weight if weight <= other else other  # min(), without the call
    if dot == 0.0:
        return 0.0
    return 0.5 * dot / (a.norm * b.norm) + 0.5 * shared / min(a.mass, b.mass)


# --------------------------------------------------------------------------- one item


@functools.lru_cache(maxsize=8192)
def _ordinal(day: str) -> int:
    return date.fromisoformat(day).toordinal()


def days_apart(a: str, b: str) -> int:
    """Whole days between two ISO days."""
    return abs(_ordinal(a) - _ordinal(b))


def _day_of_year(month_day: str) -> int:
    """Day of the year of an ``MM-DD`` value (in a leap year, so that 02-29 exists)."""
    return date(2000, int(month_day[:2]), int(month_day[3:5])).timetuple().tm_yday


def _family(actions: Iterable[str]) -> frozenset[str]:
    """Actions with every encounter word folded into one ("talks" = "meeting" = "visit")."""
    return frozenset("encounter" if a in ENCOUNTER_ACTIONS else a for a in actions)


@dataclass(frozen=True, slots=True)
class Prepared:
    """One item as :func:`prepared_pair_score` reads it: its fingerprint, its weighted tokens
    and what every comparison would otherwise derive again (day numbers, sets, families).
    Built once per item by :func:`prepare`."""

    fp: Fingerprint
    weighted: Weighted
    published: int | None  # ordinal of the publication day, when there is one
    dates: tuple[int, ...]  # ordinals of ``fp.dates``
    event_days: tuple[int, ...]  # ordinals of ``fp.event_days()``
    last_event_day: str | None  # latest of ``fp.event_days()``, ISO
    first_date: str | None  # earliest of ``fp.dates``, ISO
    month_days: frozenset[int]  # days of the year of the month-days and event days
    weekday: int | None  # 0 = Monday: the weekday named, else that of the first date
    kinds: frozenset[str]
    exclusive_kinds: frozenset[str]
    specific_kinds: frozenset[str]
    kind_family: frozenset[str]
    actions: frozenset[str]
    action_family: frozenset[str]
    one_day_actions: frozenset[str]
    places: frozenset[str]
    targets: frozenset[str]
    people: tuple[frozenset[str], ...]  # the words of each person's name
    numbers: frozenset[str]
    names: frozenset[str]  # multi-word entities


def prepare(fp: Fingerprint, weighted: Weighted) -> Prepared:
    event_days = fp.event_days()
    if fp.weekday in _WEEKDAYS:
        weekday: int | None = _WEEKDAYS.index(fp.weekday)
    else:
        weekday = date.fromisoformat(fp.dates[0]).weekday() if fp.dates else None
    kinds, actions = frozenset(fp.kinds), frozenset(fp.actions)
    return Prepared(
        fp=fp,
        weighted=weighted,
        published=_ordinal(fp.published) if fp.published else None,
        dates=tuple(_ordinal(d) for d in fp.dates),
        event_days=tuple(_ordinal(d) for d in event_days),
        last_event_day=max(event_days) if event_days else None,
        first_date=min(fp.dates) if fp.dates else None,
        month_days=frozenset(
            _day_of_year(md) for md in {*fp.month_days, *(d[5:] for d in event_days)}
        ),
        weekday=weekday,
        kinds=kinds,
        exclusive_kinds=kinds & EXCLUSIVE_KINDS,
        specific_kinds=kinds & SPECIFIC_KINDS,
        kind_family=_family(kinds),
        actions=actions,
        action_family=_family(actions),
        one_day_actions=actions & ONE_DAY_ACTIONS,
        places=frozenset(fp.places),
        targets=frozenset(fp.targets),
        people=tuple(frozenset(person.split()) for person in fp.people),
        numbers=frozenset(fp.numbers),
        names=frozenset(e for e in fp.entities if " " in e),
    )


# --------------------------------------------------------------------------- dates


def _min_gap(xs: Sequence[int], ys: Sequence[int]) -> int | None:
    """Smallest distance between two sets of day numbers; None when either is empty."""
    if not xs or not ys:
        return None
    if len(xs) == 1 and len(ys) == 1:
        return abs(xs[0] - ys[0])
    return min(abs(x - y) for x in xs for y in ys)


def _month_day_gap(xs: Iterable[int], ys: Iterable[int]) -> int | None:
    """Smallest distance in days between days of the year, across the year's end."""
    gaps = [abs(x - y) for x in xs for y in ys]
    return min((min(g, 366 - g) for g in gaps), default=None)


def _preview_before(preview: Prepared, other: Prepared) -> bool:
    """A preview published on a day before the other item's event is a story of its own, and
    so is one announcing an event that starts after the other item's event days."""
    if not preview.fp.preview or other.fp.preview or preview.published is None:
        return False
    ahead = preview.fp.ahead
    if ahead and other.last_event_day is not None and other.last_event_day < ahead:
        return True
    if other.first_date is not None:
        return str(preview.fp.published) < other.first_date
    return other.published is not None and abs(preview.published - other.published) >= 2


def _when_agrees(a: Prepared, b: Prepared, named: int | None) -> bool | None:
    """Whether the two items' event days agree: by the days their texts name when both name
    some (``named``: the smallest gap between them; at most a day apart), else by publication
    (at most a day apart); None when neither tells."""
    if named is not None:
        return named <= 1
    if a.published is not None and b.published is not None:
        return abs(a.published - b.published) <= 1
    return None


def _date_evidence(a: Prepared, b: Prepared, named: int | None, w: ScoreWeights) -> float | None:
    """Score adjustment from dates (``named``: the smallest gap between the days the two texts
    name); None means the dates rule the pair out."""
    score = 0.0
    if a.published is not None and b.published is not None:
        gap = abs(a.published - b.published)
        if gap > w.max_pub_gap:
            return None
        score += w.close_pub_bonus if gap <= 1 else -w.pub_gap_penalty_per_day * gap
    if _preview_before(a, b) or _preview_before(b, a):
        return None
    if named is not None and named > w.max_named_day_gap:
        return None
    if a.dates or b.dates:
        days = _min_gap(a.event_days, b.event_days)
        if days is not None:
            penalty = min(w.day_gap_penalty_per_day * (days - 1), w.day_gap_penalty_cap)
            score += w.near_day_bonus if days <= 1 else -penalty
    if a.fp.month_days or b.fp.month_days:
        apart = _month_day_gap(a.month_days, b.month_days)
        if apart is not None:
            if apart <= 1:
                score += w.near_month_day_bonus
            else:
                score -= (
                    w.month_day_penalty_per_day * apart if apart <= 6 else w.month_day_far_penalty
                )
    wa, wb = a.weekday, b.weekday
    if wa is not None and wb is not None and (a.fp.weekday or b.fp.weekday):
        diff = min((wa - wb) % 7, (wb - wa) % 7)
        if diff == 0:
            score += w.same_weekday_bonus
        else:
            score -= w.adjacent_weekday_penalty if diff == 1 else w.other_weekday_penalty
    return score


# --------------------------------------------------------------------------- event agreement


def _different_actions(a: Prepared, b: Prepared) -> bool:
    """One item's headline action is nowhere in the other's text (encounter words folded)."""

    def unmatched(x: Prepared, y: Prepared) -> bool:
        return bool(x.actions and y.kinds) and not x.action_family & y.kind_family

    return unmatched(a, b) or unmatched(b, a)


def _places_conflict(a: Prepared, b: Prepared) -> bool:
    return bool(a.places and b.places) and not a.places & b.places


def event_conflict(a: Prepared, b: Prepared, named: int | None) -> bool:
    """True when kind and place/day disagree so that the two cannot be one event (see the
    module doc; ``named``: the smallest gap between the days the two texts name); symmetric."""
    if a.fp.roundup != b.fp.roundup:
        return True
    when = _when_agrees(a, b, named)
    if _different_actions(a, b):
        return not (a.places & b.places and when is True)
    # two one-day events: a day either side is allowed (time zones, "yesterday")
    if a.one_day_actions & b.one_day_actions and named is not None and named > 2:
        return True
    return _places_conflict(a, b) and when is False


# --------------------------------------------------------------------------- kinds, people


def _people_evidence(
    a: Sequence[frozenset[str]], b: Sequence[frozenset[str]], w: ScoreWeights
) -> float:
    """Named officials (as the words of their names): sharing them supports; each side naming
    someone the other does not (two different pairs of officials) contradicts. Two names are
    one person when they share a word."""
    if not a or not b:
        return 0.0
    only_a = [x for x in a if not any(x & y for y in b)]
    only_b = [y for y in b if not any(x & y for x in a)]
    if len(only_a) == len(a) and len(only_b) == len(b):
        return -w.other_people_penalty if min(len(a), len(b)) >= 2 else 0.0
    if only_a and only_b and min(len(a), len(b)) >= 2:
        return -w.partly_other_people_penalty
    return w.shared_person_bonus


def _kind_evidence(a: Prepared, b: Prepared, w: ScoreWeights) -> float:
    score = 0.0
    ea, eb = a.exclusive_kinds, b.exclusive_kinds
    if ea and eb and not ea & eb and len(ea) == 1 and len(eb) == 1:
        score -= w.exclusive_kind_penalty
    if ("retaliation" in a.kinds) != ("retaliation" in b.kinds):
        score -= w.retaliation_penalty
    score += w.shared_kind_bonus * min(len(a.specific_kinds & b.specific_kinds), 2)
    score += _people_evidence(a.people, b.people, w)
    if a.targets and b.targets and not a.targets & b.targets:
        score -= w.opposite_target_penalty
    if a.fp.preview != b.fp.preview and not (a.published and a.fp.published == b.fp.published):
        score -= w.preview_penalty
    if _places_conflict(a, b):
        score -= w.place_conflict_penalty
    return score


def _shared_specifics(a: Prepared, b: Prepared, w: ScoreWeights) -> float:
    """Bonus for shared quantities ("125%", "$10bn") and rare multi-word names."""
    bonus = w.shared_number_bonus * min(len(a.numbers & b.numbers), 2)
    return bonus + w.shared_name_bonus * min(len(a.names & b.names), 3)


# --------------------------------------------------------------------------- pair score


def pair_score(a: Fingerprint, b: Fingerprint, df: DocFreq, w: ScoreWeights = WEIGHTS) -> float:
    """How strongly two items look like one event; :data:`VETO` when they cannot be one."""
    return prepared_pair_score(prepare(a, weigh(a.tokens, df)), prepare(b, weigh(b.tokens, df)), w)


def prepared_pair_score(a: Prepared, b: Prepared, w: ScoreWeights = WEIGHTS) -> float:
    """:func:`pair_score` of two prepared items."""
    dates = pair_dates(a, b, w)
    return VETO if dates is None else scored_with_dates(a, b, dates, w)


def pair_dates(a: Prepared, b: Prepared, w: ScoreWeights = WEIGHTS) -> float | None:
    """The date evidence of a pair, or None when dates or event agreement veto it (the cheap
    first half of :func:`prepared_pair_score`)."""
    named = _min_gap(a.dates, b.dates)
    dates = _date_evidence(a, b, named, w)
    if dates is None or event_conflict(a, b, named):
        return None
    return dates


def scored_with_dates(a: Prepared, b: Prepared, dates: float, w: ScoreWeights = WEIGHTS) -> float:
    """The second half of :func:`prepared_pair_score`: text, kinds and specifics added to the
    date evidence ``pair_dates(a, b, w)`` of a pair it did not veto."""
    text = text_similarity(a.weighted, b.weighted)
    kind, specifics = _kind_evidence(a, b, w), _shared_specifics(a, b, w)
    if text < w.min_text_for_dates and kind <= 0 and specifics <= 0:
        return text  # same day, nothing else in common: a date alone joins no stories
    return text + dates + kind + specifics
