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
    vec = {t: w * df.idf(t) for t, w in tokens.items()}
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


# --------------------------------------------------------------------------- dates


@functools.lru_cache(maxsize=8192)
def _ordinal(day: str) -> int:
    return date.fromisoformat(day).toordinal()


def days_apart(a: str, b: str) -> int:
    """Whole days between two ISO days."""
    return abs(_ordinal(a) - _ordinal(b))


_days = days_apart


def _min_gap(xs: Sequence[str], ys: Sequence[str]) -> int | None:
    if not xs or not ys:
        return None
    return min(_days(x, y) for x in xs for y in ys)


def _weekday_of(fp: Fingerprint) -> int | None:
    if fp.weekday in _WEEKDAYS:
        return _WEEKDAYS.index(fp.weekday)
    return date.fromisoformat(fp.dates[0]).weekday() if fp.dates else None


def _month_day_gap(xs: Iterable[str], ys: Iterable[str]) -> int | None:
    """Smallest distance in days between ``MM-DD`` values, ignoring the year."""

    def ordinal(md: str) -> int:
        return date(2000, int(md[:2]), int(md[3:5])).timetuple().tm_yday

    gaps = [abs(ordinal(x) - ordinal(y)) for x in xs for y in ys]
    return min((min(g, 366 - g) for g in gaps), default=None)


def _preview_before(preview: Fingerprint, other: Fingerprint) -> bool:
    """A preview published on a day before the other item's event is a story of its own, and
    so is one announcing an event that starts after the other item's event days."""
    if not preview.preview or other.preview or not preview.published:
        return False
    if preview.ahead and other.event_days() and max(other.event_days()) < preview.ahead:
        return True
    if other.dates:
        return preview.published < min(other.dates)
    return other.published is not None and _days(preview.published, other.published) >= 2


def _when_agrees(a: Fingerprint, b: Fingerprint) -> bool | None:
    """Whether the two items' event days agree: by the days their texts name when both name
    some (at most a day apart), else by publication (at most a day apart); None when
    neither tells."""
    named = _min_gap(a.dates, b.dates)
    if named is not None:
        return named <= 1
    if a.published and b.published:
        return _days(a.published, b.published) <= 1
    return None


def _date_evidence(a: Fingerprint, b: Fingerprint, w: ScoreWeights) -> float | None:
    """Score adjustment from dates; None means the dates rule the pair out."""
    score = 0.0
    if a.published and b.published:
        gap = _days(a.published, b.published)
        if gap > w.max_pub_gap:
            return None
        score += w.close_pub_bonus if gap <= 1 else -w.pub_gap_penalty_per_day * gap
    if _preview_before(a, b) or _preview_before(b, a):
        return None
    named = _min_gap(a.dates, b.dates)
    if named is not None and named > w.max_named_day_gap:
        return None
    if a.dates or b.dates:
        days = _min_gap(a.event_days(), b.event_days())
        if days is not None:
            penalty = min(w.day_gap_penalty_per_day * (days - 1), w.day_gap_penalty_cap)
            score += w.near_day_bonus if days <= 1 else -penalty
    if a.month_days or b.month_days:
        md_a = set(a.month_days) | {d[5:] for d in a.event_days()}
        md_b = set(b.month_days) | {d[5:] for d in b.event_days()}
        apart = _month_day_gap(md_a, md_b)
        if apart is not None:
            if apart <= 1:
                score += w.near_month_day_bonus
            else:
                score -= (
                    w.month_day_penalty_per_day * apart if apart <= 6 else w.month_day_far_penalty
                )
    wa, wb = _weekday_of(a), _weekday_of(b)
    if wa is not None and wb is not None and (a.weekday or b.weekday):
        diff = min((wa - wb) % 7, (wb - wa) % 7)
        if diff == 0:
            score += w.same_weekday_bonus
        else:
            score -= w.adjacent_weekday_penalty if diff == 1 else w.other_weekday_penalty
    return score


# --------------------------------------------------------------------------- event agreement


def _family(actions: Iterable[str]) -> set[str]:
    """Actions with every encounter word folded into one ("talks" = "meeting" = "visit")."""
    return {"encounter" if a in ENCOUNTER_ACTIONS else a for a in actions}


def _different_actions(a: Fingerprint, b: Fingerprint) -> bool:
    """One item's headline action is nowhere in the other's text (encounter words folded)."""

    def unmatched(x: Fingerprint, y: Fingerprint) -> bool:
        return bool(x.actions and y.kinds) and not _family(x.actions) & _family(y.kinds)

    return unmatched(a, b) or unmatched(b, a)


def _places_conflict(a: Fingerprint, b: Fingerprint) -> bool:
    return bool(a.places and b.places) and not set(a.places) & set(b.places)


def event_conflict(a: Fingerprint, b: Fingerprint) -> bool:
    """True when kind and place/day disagree so that the two cannot be one event (see the
    module doc); symmetric."""
    if a.roundup != b.roundup:
        return True
    when = _when_agrees(a, b)
    if _different_actions(a, b):
        return not (set(a.places) & set(b.places) and when is True)
    if set(a.actions) & set(b.actions) & ONE_DAY_ACTIONS:
        named = _min_gap(a.dates, b.dates)
        if named is not None and named > 2:  # a day either side: time zones, "yesterday"
            return True
    return _places_conflict(a, b) and when is False


# --------------------------------------------------------------------------- kinds, people


def _same_person(x: str, y: str) -> bool:
    return bool(set(x.split()) & set(y.split()))


def _people_evidence(a: Sequence[str], b: Sequence[str], w: ScoreWeights) -> float:
    """Named officials: sharing them supports; each side naming someone the other does not
    (two different pairs of officials) contradicts."""
    if not a or not b:
        return 0.0
    only_a = [x for x in a if not any(_same_person(x, y) for y in b)]
    only_b = [y for y in b if not any(_same_person(x, y) for x in a)]
    if len(only_a) == len(a) and len(only_b) == len(b):
        return -w.other_people_penalty if min(len(a), len(b)) >= 2 else 0.0
    if only_a and only_b and min(len(a), len(b)) >= 2:
        return -w.partly_other_people_penalty
    return w.shared_person_bonus


def _kind_evidence(a: Fingerprint, b: Fingerprint, w: ScoreWeights) -> float:
    ka, kb = set(a.kinds), set(b.kinds)
    score = 0.0
    ea, eb = ka & EXCLUSIVE_KINDS, kb & EXCLUSIVE_KINDS
    if ea and eb and not ea & eb and len(ea) == 1 and len(eb) == 1:
        score -= w.exclusive_kind_penalty
    if ("retaliation" in ka) != ("retaliation" in kb):
        score -= w.retaliation_penalty
    score += w.shared_kind_bonus * min(len(ka & kb & SPECIFIC_KINDS), 2)
    score += _people_evidence(a.people, b.people, w)
    if a.targets and b.targets and not set(a.targets) & set(b.targets):
        score -= w.opposite_target_penalty
    if a.preview != b.preview and not (a.published and a.published == b.published):
        score -= w.preview_penalty
    if _places_conflict(a, b):
        score -= w.place_conflict_penalty
    return score


def _shared_specifics(a: Fingerprint, b: Fingerprint, w: ScoreWeights) -> float:
    """Bonus for shared quantities ("125%", "$10bn") and rare multi-word names."""
    nums = set(a.numbers) & set(b.numbers)
    bonus = w.shared_number_bonus * min(len(nums), 2)
    ents = {e for e in set(a.entities) & set(b.entities) if " " in e}
    return bonus + w.shared_name_bonus * min(len(ents), 3)


# --------------------------------------------------------------------------- pair score


def pair_score(a: Fingerprint, b: Fingerprint, df: DocFreq, w: ScoreWeights = WEIGHTS) -> float:
    """How strongly two items look like one event; :data:`VETO` when they cannot be one."""
    return weighted_pair_score(a, weigh(a.tokens, df), b, weigh(b.tokens, df), w)


def weighted_pair_score(
    a: Fingerprint, wa: Weighted, b: Fingerprint, wb: Weighted, w: ScoreWeights = WEIGHTS
) -> float:
    """:func:`pair_score` with both items' rarity-weighted tokens already computed."""
    dates = _date_evidence(a, b, w)
    if dates is None or event_conflict(a, b):
        return VETO
    text = text_similarity(wa, wb)
    kind, specifics = _kind_evidence(a, b, w), _shared_specifics(a, b, w)
    if text < w.min_text_for_dates and kind <= 0 and specifics <= 0:
        return text  # same day, nothing else in common: a date alone joins no stories
    return text + dates + kind + specifics
