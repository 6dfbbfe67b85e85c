"""Relevance and topic classification of news items from the taxonomy.

Pure and fast: every phrase of the taxonomy is compiled once into one Aho-Corasick automaton
over lower-cased text whose punctuation is turned into spaces; keys are padded with spaces, so
one C-level scan per item finds whole-word matches with no per-phrase Python loop. All-capital
words (``US``, ``AI``) are checked against the original case at the matched offsets.

Relevance (the item is about the US and China dealing with each other) needs evidence of both
sides -- a person, institution or country word; a company only counts when an interaction cue
is present; a topic with ``implies_side`` can stand for one side -- and a link between them:
the two sides named side by side ("US-China", "Biden and Xi"), an interaction cue (talks,
sanctions, warned), or a strong topic signal. Side words inside near-misses ("Chinatown",
"US dollars") are ignored. An item that names a multilateral gathering (G20, APEC) and lists
participants ("including", "among") with no cue beyond mere presence (summit, pledge) is not
relevant: both sides attending the same event is not dealing with each other.

Topics sum the weights of distinct phrases found (headline hits count 1.3 times; a phrase
inside a longer phrase of the same topic does not count twice); a topic is assigned at 1.0.
Leaders, ministers and deputies meeting or calling add to ``diplomacy``; generic meeting words
yield to the topics listed in the diplomacy topic's ``yields_to``. A relevant item always gets
at least one topic; an irrelevant one gets none.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from operator import itemgetter
from typing import Any

import ahocorasick

from bot.domain.models import Classification
from bot.domain.taxonomy import Taxonomy, normalize_text, phrase_key

TITLE_BOOST = 1.3
THRESHOLD = 1.0
DIPLOMATIC_RANKS = frozenset({"leader", "minister", "deputy", "office"})
# Side evidence that only counts beside an interaction cue (a government acting on a company).
WEAK_KINDS = frozenset({"company", "place"})
PAIR_GLUE = frozenset({"", "and", "and the", "to", "vs", "versus", "or"})
SIDE_NAMES = ("US", "China")
SIDE_IDS = {"us": 0, "cn": 1}
# Where shorter keys of a topic lie inside a longer key of that topic: (offset, length - 1).
Inner = tuple[tuple[int, int], ...]
# What a topic phrase adds where it is found: (weight, is_support, ident, inner); ident folds
# the plural, inner is where shorter keys of the same topic lie inside this key.
Weight = tuple[float, bool, str, Inner]
# A topic phrase of a key: (topic, its weight in the headline, its weight in the summary).
TopicEntry = tuple[int, Weight, Weight]
# A side phrase of a key: (side, label, kind, folded label); kind is an actor rank,
# "country", "issue" (Taiwan), "company" or "place".
SideEntry = tuple[int, str, str, str]

# How ``classify`` reads a key (``Record.form``). Most keys found are one topic phrase or side
# words and nothing else, matched in any case, and are read with no further tests; any other
# key is read through its spellings.
TOPIC = 0  # one topic phrase only
SIDES = 1  # side words only, a whole-word key
OTHER = 2  # anything else: read ``variants``


@dataclass(frozen=True, slots=True)
class Record:
    """What one compiled key stands for (slotted: attribute reads are as fast as indexing).

    The automaton holds one record per lower-cased key. A record of form ``TOPIC`` or
    ``SIDES`` has one spelling, matched in any case, and no exclusion, near-miss, cue, third
    party or setting; a record of form ``OTHER`` lists its spellings in ``variants``.
    """

    form: int  # TOPIC, SIDES or OTHER
    length: int  # key length, padding included
    topics: tuple[TopicEntry, ...]
    excluded: tuple[int, ...]  # topics this key excludes
    sides: tuple[SideEntry, ...]
    cue: str  # interaction cue label, or ""
    near_miss: bool
    third: str  # third-party label, or ""
    setting: int  # bits: MULTILATERAL | PARTICIPATION
    is_hit: bool  # any of the above but exclusions and near-misses
    is_span: bool  # an exclusion or a near-miss
    prefix: bool  # a ``*`` key: the match may end inside a word
    # (the key as written if it is matched in capitals only, else "", its record) for each
    # spelling of a lower-cased key; read for form OTHER only
    variants: tuple[tuple[str, Record], ...] = ()


MULTILATERAL = 1
PARTICIPATION = 2
# A topic hit: (start, end, what the phrase adds there).
TopicHit = tuple[int, int, Weight]
# A side hit: (word start, word end, label, kind, folded label).
SideHit = tuple[int, int, str, str, str]
# An interaction cue: (label, words as written, start).
Cue = tuple[str, str, int]
# What an item's matches say: topic hits by topic, side hits by side, cues, third parties
# (start, label) and the setting bits.
Evidence = tuple[
    dict[int, list[TopicHit]],
    tuple[list[SideHit], list[SideHit]],
    list[Cue],
    list[tuple[int, str]],
    int,
]
Matches = list[tuple[int, Record]]


class Classifier:
    """Classifies (title, summary) pairs with a compiled :class:`Taxonomy`."""

    def __init__(self, taxonomy: Taxonomy) -> None:
        self.taxonomy = taxonomy
        self.topic_ids = taxonomy.topic_ids
        self._implies = tuple(
            (i, SIDE_IDS[t.implies_side]) for i, t in enumerate(taxonomy.topics) if t.implies_side
        )
        self._diplomacy = self.topic_ids.index("diplomacy")
        self._yields_to = tuple(
            self.topic_ids.index(t) for t in taxonomy.topic("diplomacy").yields_to
        )
        self._bilateral = tuple(self.topic_ids.index(t) for t in taxonomy.bilateral_issues)
        self._presence = frozenset(p.rstrip("*") for p in taxonomy.presence_cues)
        meeting_words = {p.rstrip("*") for p, _ in taxonomy.topic("diplomacy").phrases}
        self._meeting = frozenset(
            p.rstrip("*") for p in taxonomy.interactions if p.rstrip("*") in meeting_words
        )
        self._automaton = _compile(taxonomy)

    # ------------------------------------------------------------------ public

    def classify(self, title: str, summary: str) -> Classification:
        """Judge one item; ``why`` explains each topic and, under "relevance", both sides."""
        head = normalize_text(title or "")
        cased = f" {head} | {normalize_text(summary or '')} "
        lower = cased.lower()
        if len(lower) != len(cased):  # a few Unicode letters change length when lowered
            lower = "".join(c.lower() if len(c.lower()) == 1 else c for c in cased)
        title_end = len(head) + 2

        matches: Matches = list(self._automaton.iter(lower))  # one scan
        topics, sides, cues, thirds, setting = _gather(matches, cased, title_end)

        relevant, reasons, totals = self._relevance(
            topics, sides, cues, thirds, setting, title_end, lower
        )
        if not relevant:
            return _classification(False, (), {}, {"relevance": reasons})
        self._diplomacy_weight(totals, topics, sides)
        return self._explain(totals, topics, sides, reasons, cased)

    def classify_many(self, rows: Iterable[Mapping[str, Any]]) -> list[Classification]:
        """Classify rows carrying ``title`` and ``summary`` (missing keys read as empty)."""
        return [
            self.classify(str(row.get("title") or ""), str(row.get("summary") or ""))
            for row in rows
        ]

    # ------------------------------------------------------------------ judgement

    def _relevance(
        self,
        topics: dict[int, list[TopicHit]],
        sides: tuple[list[SideHit], list[SideHit]],
        cues: list[Cue],
        thirds: list[tuple[int, str]],
        setting: int,
        title_end: int,
        text: str,
    ) -> tuple[bool, list[str], dict[int, float]]:
        """Both sides, a link between them, and none of the rules that rule an item out;
        the reasons, and each topic's total weight (weighed when both sides are named, or
        once both are present: an item without them needs the totals of ``implies_side``
        topics only; an irrelevant item without both gets no totals)."""
        totals = _totals(topics) if sides[0] and sides[1] else None
        implied = [False, False]  # per side: a strong topic hit stands for it
        if topics:
            for topic, side in self._implies:
                if totals is not None:
                    if totals.get(topic, 0.0) >= THRESHOLD:
                        implied[side] = True
                else:
                    hits = topics.get(topic)
                    if hits is not None and _total(hits) >= THRESHOLD:
                        implied[side] = True
        cued = bool(cues)
        presence = self._presence
        dealings = False
        for label, _, _ in cues:
            if label not in presence:
                dealings = True
                break
        us_present, us_line, us_extra = _describe_side(0, sides[0], cued, dealings, implied[0])
        cn_present, cn_line, cn_extra = _describe_side(1, sides[1], cued, dealings, implied[1])
        reasons = [us_line, cn_line, *us_extra, *cn_extra]
        both = us_present and cn_present
        pair = _paired(sides, text) if both else ""
        if pair:
            reasons.append(f"named together: {pair}")
        if cued:
            seen: dict[str, str] = {}  # the cue words, first spelling of each
            for _, surface, _ in cues:
                seen.setdefault(surface.lower(), surface)
            words = list(seen.values())
            reasons.append(f"interaction: {', '.join(words[:6])}")
        others = _unique([label for _, label in thirds]) if thirds else []
        if others:
            reasons.append(f"others named: {', '.join(others)}")
        if not both:
            if us_present or cn_present:
                missing = SIDE_NAMES[1] if us_present else SIDE_NAMES[0]
            else:
                missing = " and ".join(SIDE_NAMES)
            reasons.append(f"not relevant: no {missing} side")
            return False, reasons, {}
        if totals is None:
            totals = _totals(topics)
        if setting == MULTILATERAL | PARTICIPATION and not dealings:
            reasons.append("not relevant: both sides only listed as guests of a multilateral event")
            return False, reasons, totals
        if not (pair or cued or any(total >= THRESHOLD for total in totals.values())):
            reasons.append("not relevant: both sides named but no dealings between them")
            return False, reasons, totals
        passing = (
            self._third_party_meeting(totals, sides, cues, thirds, title_end, pair)
            if thirds
            else None
        )
        if passing is not None:
            reasons.append(
                f"not relevant: a meeting with {others[0]}; the {SIDE_NAMES[passing]} side is "
                "only mentioned in passing"
            )
            return False, reasons, totals
        return True, reasons, totals

    def _third_party_meeting(
        self,
        totals: dict[int, float],
        sides: tuple[list[SideHit], list[SideHit]],
        cues: list[Cue],
        thirds: list[tuple[int, str]],
        title_end: int,
        pair: str,
    ) -> int | None:
        """The side mentioned only in passing when the headline reports one side meeting a
        third country (its leader or capital), or None.

        The other side must be named by country words alone (no person, office or
        institution), the two sides must not be named together, and no bilateral issue
        (Taiwan, the South China Sea) may be at stake. "Xi meets Putin, criticises US
        sanctions" is a China–Russia meeting; the US is named once, by a country word.
        """
        if pair or not any(start < title_end for start, _ in thirds):
            return None
        if not any(start < title_end and label in self._meeting for label, _, start in cues):
            return None
        if any(totals.get(t, 0.0) >= THRESHOLD for t in self._bilateral):
            return None
        for passing in (0, 1):
            named = sides[passing]
            other = sides[1 - passing]
            if (
                len(named) == 1
                and all(kind == "country" for _, _, _, kind, _ in named)
                and any(kind not in _PASSING for _, _, _, kind, _ in other)
            ):
                return passing
        return None

    def _diplomacy_weight(
        self,
        totals: dict[int, float],
        topics: dict[int, list[TopicHit]],
        sides: tuple[list[SideHit], list[SideHit]],
    ) -> None:
        """Leaders, ministers or deputies meeting make diplomacy; generic talks yield."""
        d = self._diplomacy
        us_ranked, cn_ranked = _high_level(sides[0]), _high_level(sides[1])
        meeting = totals.get(d, 0.0) > 0
        bonus = 0.0
        if us_ranked and cn_ranked:
            bonus = 0.7 if meeting else 0.3
        elif (us_ranked or cn_ranked) and meeting:
            bonus = 0.4
        if bonus:
            totals[d] = totals.get(d, 0.0) + bonus
        if not (us_ranked and cn_ranked):
            for t in self._yields_to:
                if totals.get(t, 0.0) >= THRESHOLD:
                    totals.pop(d, None)
                    topics.pop(d, None)
                    break

    def _explain(
        self,
        totals: dict[int, float],
        topics: dict[int, list[TopicHit]],
        sides: tuple[list[SideHit], list[SideHit]],
        reasons: list[str],
        cased: str,
    ) -> Classification:
        # By weight, heaviest first, then by topic: sort by topic, then (stable) by weight.
        ranked = sorted(totals.items())
        ranked.sort(key=_BY_WEIGHT, reverse=True)
        ids = self.topic_ids
        chosen: list[int] = []
        scores: dict[str, float] = {}
        for t, total in ranked:
            if total > 0:
                scores[ids[t]] = _score(total)
                if total >= THRESHOLD:  # THRESHOLD > 0
                    chosen.append(t)
        if not chosen:
            chosen = [ranked[0][0] if ranked and ranked[0][1] > 0 else self._diplomacy]
        why: dict[str, list[str]] = {"relevance": reasons}
        names = []
        for t in chosen:
            name = ids[t]
            names.append(name)
            scores.setdefault(name, 0.5)
            seen: dict[str, str] = {}  # the words found, first spelling of each
            for start, end, _ in topics.get(t, ()):
                # a prefix key's word runs on to the next space (see ``_gather``)
                word = cased[start + 1 : end if cased[end] == " " else cased.find(" ", end)]
                seen.setdefault(word.lower(), word)
            words = list(seen.values())
            if t == self._diplomacy:
                words += _unique(
                    [
                        f"{label} (high-level)"
                        for side in sides
                        for _, _, label, kind, _ in side
                        if kind in DIPLOMATIC_RANKS
                    ]
                )
            why[name] = words or ["US–China dealings in general"]
        return _classification(True, tuple(names), scores, why)


_PASSING = frozenset({"country", "place", "company"})
_BY_WEIGHT = itemgetter(1)
# Side evidence kinds that do not name a side directly.
_INDIRECT = frozenset({"issue", "company", "place"})


def _gather(matches: Matches, cased: str, title_end: int) -> Evidence:
    """The topic, side, cue and third-party hits and the setting of an item's matches.

    A topic hit inside an exclusion of its topic, and a side, cue or third-party hit inside a
    longer near-miss, are left out. Exclusions and near-misses are rare, and may be found
    after the hits they hold, so they are applied once all matches are read: topic hits are
    filtered, and an item with a near-miss has its side, cue and third-party hits read again
    (``_placed``). Hits keep the order of the matches (by end, then as the automaton reports
    them).
    """
    topics: dict[int, list[TopicHit]] = {}
    sides: tuple[list[SideHit], list[SideHit]] = ([], [])
    cues: list[Cue] = []
    thirds: list[tuple[int, str]] = []
    near: list[tuple[int, int]] = []
    excluding: list[tuple[int, int, tuple[int, ...]]] = []
    setting = 0
    for end, rec in matches:
        form = rec.form
        if form == TOPIC:  # the common case first: one spelling, one topic phrase only
            topic, title_weight, weight = rec.topics[0]
            start = end - rec.length + 1
            hit = (start, end, title_weight if end < title_end else weight)
            found = topics.get(topic)
            if found is None:
                topics[topic] = [hit]
            else:
                found.append(hit)
            continue
        if form == SIDES:  # one spelling, whole words, side words only
            start = end - rec.length + 1
            for side, label, kind, folded in rec.sides:
                sides[side].append((start + 1, end, label, kind, folded))
            continue
        for cased_key, variant in rec.variants:
            start = end - variant.length + 1
            if cased_key and cased[start : end + 1] != cased_key:
                continue
            if variant.is_span:
                if variant.near_miss:
                    near.append((start, end))
                if variant.excluded:
                    excluding.append((start, end, variant.excluded))
            if not variant.is_hit:
                continue
            setting |= variant.setting
            if variant.topics:
                in_title = end < title_end
                for topic, title_weight, weight in variant.topics:
                    hit = (start, end, title_weight if in_title else weight)
                    found = topics.get(topic)
                    if found is None:
                        topics[topic] = [hit]
                    else:
                        found.append(hit)
            if variant.sides:
                stop = cased.find(" ", end) if variant.prefix and cased[end] != " " else end
                for side, label, kind, folded in variant.sides:
                    sides[side].append((start + 1, stop, label, kind, folded))
            if variant.cue:
                # The words matched: a whole-word key ends at a space; a prefix key ends at a
                # letter or digit and runs on to the end of its word (the text holds no
                # whitespace but spaces and ends with one).
                surface = cased[start + 1 : cased.find(" ", end) if variant.prefix else end]
                cues.append((variant.cue, surface, start))
            if variant.third:
                thirds.append((start, variant.third))
    if excluding:
        topics = _unexcluded(topics, excluding)
    if near:
        sides, cues, thirds = _placed(matches, cased, near)
    return topics, sides, cues, thirds, setting


def _unexcluded(
    topics: dict[int, list[TopicHit]], excluding: list[tuple[int, int, tuple[int, ...]]]
) -> dict[int, list[TopicHit]]:
    """The topic hits that lie inside no exclusion of their topic; a topic left with none is
    dropped (the order of topics does not matter: they are ranked by weight, then id)."""
    kept: dict[int, list[TopicHit]] = {}
    for topic, hits in topics.items():
        outside = [hit for hit in hits if not _excluded(topic, hit[0], hit[1], excluding)]
        if outside:
            kept[topic] = outside
    return kept


def _placed(
    matches: Matches, cased: str, near: list[tuple[int, int]]
) -> tuple[tuple[list[SideHit], list[SideHit]], list[Cue], list[tuple[int, str]]]:
    """The side, cue and third-party hits of an item's matches that lie inside no longer
    near-miss (``near``: their spans), as ``_gather`` reads them."""
    sides: tuple[list[SideHit], list[SideHit]] = ([], [])
    cues: list[Cue] = []
    thirds: list[tuple[int, str]] = []
    for end, rec in matches:
        form = rec.form
        if form == TOPIC:
            continue
        if form == SIDES:
            start = end - rec.length + 1
            if not _near_miss(start, end, near):
                for side, label, kind, folded in rec.sides:
                    sides[side].append((start + 1, end, label, kind, folded))
            continue
        for cased_key, variant in rec.variants:
            start = end - variant.length + 1
            if cased_key and cased[start : end + 1] != cased_key:
                continue
            if not (variant.sides or variant.cue or variant.third):
                continue
            if _near_miss(start, end, near):
                continue
            if variant.sides:
                stop = cased.find(" ", end) if variant.prefix and cased[end] != " " else end
                for side, label, kind, folded in variant.sides:
                    sides[side].append((start + 1, stop, label, kind, folded))
            if variant.cue:
                surface = cased[start + 1 : cased.find(" ", end) if variant.prefix else end]
                cues.append((variant.cue, surface, start))
            if variant.third:
                thirds.append((start, variant.third))
    return sides, cues, thirds


_CLASSIFICATION_FIELDS = ("relevant", "topics", "scores", "why")


def _classification(
    relevant: bool, topics: tuple[str, ...], scores: dict[str, float], why: dict[str, list[str]]
) -> Classification:
    """``Classification(relevant, topics, scores, why)``, made without the frozen dataclass's
    ``__init__`` (an ``object.__setattr__`` call per field, a tenth of a classification's
    time for an irrelevant item): the same fields, set in the same order. These four are all
    its fields (``tests/test_classify_core.py`` checks)."""
    result: Classification = object.__new__(Classification)
    result.__dict__.update(relevant=relevant, topics=topics, scores=scores, why=why)
    return result


def _unique(words: list[str]) -> list[str]:
    """Words in first-seen order, repeats ignored whatever their case."""
    if len(words) < 2:
        return words
    seen: dict[str, str] = {}
    for word in words:
        seen.setdefault(word.lower(), word)
    return list(seen.values())


def _describe_side(
    side: int, hits: list[SideHit], cued: bool, dealings: bool, implied: bool
) -> tuple[bool, str, list[str]]:
    """Whether the side is present, its line, and the lines for its China-related issues and
    its companies and places.

    Present when named by a person, office, institution, country word or issue; a company
    counts beside an interaction cue, a place beside a cue of dealings (not mere presence:
    "visitors"); a topic that concerns both sides can imply it.
    """
    name = SIDE_NAMES[side]
    if not hits:
        if implied:
            return True, f"{name} side: implied by a topic that concerns both sides", []
        return False, f"{name} side: none", []
    direct: dict[str, str] = {}
    for _, _, label, kind, folded in hits:  # most often people, offices and countries only
        if kind in _INDIRECT:
            return _describe_mixed_side(name, hits, cued, dealings, implied)
        direct.setdefault(folded, label)
    return True, f"{name} side: {', '.join(direct.values())}", []


def _describe_mixed_side(
    name: str, hits: list[SideHit], cued: bool, dealings: bool, implied: bool
) -> tuple[bool, str, list[str]]:
    """``_describe_side`` for a side with an issue, company or place among its hits."""
    direct: dict[str, str] = {}
    issues: dict[str, str] = {}
    weak: dict[str, str] = {}
    counted = False
    for _, _, label, kind, folded in hits:
        if kind == "place":
            counted = counted or dealings
            weak.setdefault(folded, label)
        elif kind == "company":
            counted = counted or cued
            weak.setdefault(folded, label)
        elif kind == "issue":
            issues.setdefault(folded, label)
        else:
            direct.setdefault(folded, label)
    present = bool(direct or issues) or counted or implied
    if direct:
        line = f"{name} side: {', '.join(direct.values())}"
    elif issues:
        line = f"{name} side: through the China-related issue below"
    elif counted:
        line = f"{name} side: through the {name} companies or places below"
    elif implied:
        line = f"{name} side: implied by a topic that concerns both sides"
    else:
        line = f"{name} side: none"
    extra = []
    if issues:
        extra.append(f"China-related issue: {', '.join(issues.values())}")
    if weak:
        note = (
            "counted, as dealings are named"
            if counted
            else f"not counted: a {name} company or place counts only when dealings are named"
        )
        extra.append(f"{name} companies and places: {', '.join(weak.values())} ({note})")
    return present, line, extra


@lru_cache(maxsize=4096)
def _score(total: float) -> float:
    """The score shown for a topic's total weight (cached: totals are sums of a few
    taxonomy weights, so few distinct values recur, and ``round`` to digits is slow)."""
    return round(total / (total + 1.0), 2)


def _high_level(hits: list[SideHit]) -> bool:
    """True when a side is named by a leader, minister, deputy or high office."""
    for hit in hits:  # noqa: SIM110 (a loop: no generator per call)
        if hit[3] in DIPLOMATIC_RANKS:
            return True
    return False


# --------------------------------------------------------------------------- helpers


def _totals(topics: dict[int, list[TopicHit]]) -> dict[int, float]:
    """Each topic's weight (``_total``; a lone hit, the common case, read in place)."""
    totals: dict[int, float] = {}
    for topic, hits in topics.items():
        if len(hits) == 1:
            weight, support, _, _ = hits[0][2]
            totals[topic] = 0.0 if support else weight
        else:
            totals[topic] = _weigh(hits)
    return totals


def _total(hits: list[TopicHit]) -> float:
    """A topic's weight from its hits (a lone support phrase weighs nothing)."""
    if len(hits) == 1:
        weight, support, _, _ = hits[0][2]
        return 0.0 if support else weight
    return _weigh(hits)


def _weigh(hits: list[TopicHit]) -> float:
    """Core weight plus support weight (support only counts beside a core phrase).

    Distinct phrases count once (plural folded), at their heaviest. When no phrase found
    holds shorter phrases of the topic (``inner`` empty), every hit counts; else
    ``_weigh_nested`` leaves out the hits inside longer ones.
    """
    best: dict[str, float] = {}
    core = False
    for _, _, (weight, support, ident, inner) in hits:
        if inner:
            return _weigh_nested(hits)
        if not support:
            core = True
        if weight > best.get(ident, 0.0):
            best[ident] = weight
    return sum(best.values()) if core else 0.0


def _weigh_nested(hits: list[TopicHit]) -> float:
    """``_weigh`` for hits some of which may lie inside others: a hit inside a longer hit
    of the topic does not count. A hit lies inside a longer one exactly when its span is
    one of the spans the longer hit's key holds shorter keys of the topic at (``inner``,
    found when the taxonomy is compiled), so no pair of hits needs comparing.
    """
    inside: set[tuple[int, int]] = set()
    for start, _, (_, _, _, inner) in hits:
        for offset, span in inner:
            inside.add((start + offset, start + offset + span))
    best: dict[str, float] = {}
    core = False
    for start, end, (weight, support, ident, _) in hits:
        if (start, end) in inside:
            continue
        if not support:
            core = True
        if weight > best.get(ident, 0.0):
            best[ident] = weight
    return sum(best.values()) if core else 0.0


def _near_miss(start: int, end: int, near: list[tuple[int, int]]) -> bool:
    """True when the hit lies inside a near-miss phrase (``near``: their spans) longer than
    itself."""
    size = end - start
    for s, e in near:  # noqa: SIM110 (a loop: no generator per call)
        if s <= start and end <= e and e - s > size:
            return True
    return False


def _excluded(
    topic: int, start: int, end: int, excluding: list[tuple[int, int, tuple[int, ...]]]
) -> bool:
    """True when the hit lies inside an exclusion of ``topic`` (``excluding``: the spans of
    exclusions with the topics each excludes)."""
    for s, e, excluded in excluding:  # noqa: SIM110 (a loop: no generator per call)
        if s <= start and end <= e and topic in excluded:
            return True
    return False


def _paired(sides: tuple[list[SideHit], list[SideHit]], text: str) -> str:
    """Both sides named next to each other ("US-China", "Biden and Xi"), or ''.

    Pairs are tried US hit by US hit, each against the China hits in order; companies and
    places never pair. Glue longer than 9 characters is never in ``PAIR_GLUE``.
    """
    china = [hit for hit in sides[1] if hit[3] not in WEAK_KINDS]
    if not china:
        return ""
    for us_start, us_end, us_label, us_kind, _ in sides[0]:
        if us_kind in WEAK_KINDS:
            continue
        for cn_start, cn_end, cn_label, _, _ in china:
            if us_end <= cn_start:
                if cn_start - us_end > 9:
                    continue
                glue = text[us_end:cn_start]
            elif cn_end <= us_start:
                if us_start - cn_end > 9:
                    continue
                glue = text[cn_end:us_start]
            else:
                continue
            if glue.strip() in PAIR_GLUE:
                return f"{us_label}–{cn_label}"
    return ""


def phrase_forms(phrase: str) -> tuple[str, ...]:
    """A topic phrase and, for a lower-case phrase without ``*``, its plural ("defense
    minister" -> "defense ministers", "policy" -> "policies"), so both read the same."""
    key = phrase_key(phrase)
    if key is None or key.prefix or key.case_sensitive:
        return (phrase,)
    body = key.key.strip()
    last = body.rsplit(" ", 1)[-1]
    if not last.isalpha() or last.endswith("s") or len(last) < 3:
        return (phrase,)
    if last.endswith("y") and last[-2] not in "aeiou":
        plural = body[:-1] + "ies"
    elif last.endswith(("x", "ch", "sh")):
        plural = body + "es"
    else:
        plural = body + "s"
    return (phrase, plural)


def _ident(phrase: str) -> str:
    key = phrase_key(phrase)
    word = key.key.strip().lower() if key else phrase.lower()
    return word[:-1] if word.endswith("s") else word


def _side_entry(side: str, phrase: str, kind: str) -> tuple[int, str, str, str]:
    label = phrase.rstrip("*")
    return (SIDE_IDS[side], label, kind, label.lower())


def _compile(taxonomy: Taxonomy) -> ahocorasick.Automaton:
    """Merge every phrase of the taxonomy into per-key records in two automata."""
    table: dict[tuple[str, bool], dict[str, Any]] = {}

    def slot(phrase: str) -> dict[str, Any] | None:
        key = phrase_key(phrase)
        if key is None:
            return None
        return table.setdefault(
            (key.key, key.case_sensitive),
            {"topics": [], "excl": [], "sides": [], "cue": [], "near": [], "third": [], "set": 0},
        )

    def add(phrase: str, field: str, value: Any) -> None:
        entry = slot(phrase)
        if entry is not None:
            entry[field].append(value)

    for index, topic in enumerate(taxonomy.topics):
        for phrase, weight in topic.phrases:
            for form in phrase_forms(phrase):
                add(form, "topics", _topic_entry(index, weight, False, phrase))
        for phrase, weight in topic.support:
            for form in phrase_forms(phrase):
                add(form, "topics", _topic_entry(index, weight, True, phrase))
        for phrase in topic.exclusions:
            for form in phrase_forms(phrase):
                add(form, "excl", index)
    for actor in taxonomy.actors:
        for phrase in actor.phrases:
            add(phrase, "sides", (SIDE_IDS[actor.side], actor.name, actor.rank, actor.name.lower()))
    for side, phrases in taxonomy.countries:
        for phrase in phrases:
            add(phrase, "sides", _side_entry(side, phrase, "country"))
    for phrase in taxonomy.issue_places:
        add(phrase, "sides", _side_entry("cn", phrase, "issue"))
    for side, phrases in taxonomy.places:
        for phrase in phrases:
            add(phrase, "sides", _side_entry(side, phrase, "place"))
    for side, phrases in taxonomy.companies:
        for phrase in phrases:
            add(phrase, "sides", _side_entry(side, phrase, "company"))
    for phrase in taxonomy.near_misses:
        add(phrase, "near", True)
    for phrase in taxonomy.interactions:
        add(phrase, "cue", phrase.rstrip("*"))
    for phrase in taxonomy.third_parties:
        add(phrase, "third", phrase)
    for phrase in taxonomy.presence_cues:
        add(phrase, "cue", phrase.rstrip("*"))
    for bit, phrases in (
        (MULTILATERAL, taxonomy.multilateral),
        (PARTICIPATION, taxonomy.participation),
    ):
        for phrase in phrases:
            entry = slot(phrase)
            if entry is not None:
                entry["set"] |= bit

    automaton = ahocorasick.Automaton()  # (cased key, record) per spelling
    variants: dict[str, list[tuple[str, Record]]] = {}
    for (key, case_sensitive), e in table.items():
        hit = bool(e["topics"] or e["sides"] or e["cue"] or e["third"] or e["set"])
        record = Record(
            form=OTHER,
            length=len(key),
            topics=tuple(e["topics"]),
            excluded=tuple(dict.fromkeys(e["excl"])),
            sides=tuple(dict.fromkeys(e["sides"])),
            cue=e["cue"][0] if e["cue"] else "",
            near_miss=bool(e["near"]),
            third=e["third"][0] if e["third"] else "",
            setting=int(e["set"]),
            is_hit=hit,
            is_span=bool(e["near"] or e["excl"]),
            prefix=not key.endswith(" "),
        )
        variants.setdefault(key.lower(), []).append((key if case_sensitive else "", record))
    for key, found in variants.items():
        automaton.add_word(key, tuple(found))
    if not variants:
        automaton.add_word("\x00\x00", ())
    automaton.make_automaton()
    return _with_inner_keys(automaton, variants)


def _with_inner_keys(
    automaton: ahocorasick.Automaton, variants: dict[str, list[tuple[str, Record]]]
) -> ahocorasick.Automaton:
    """The automaton ``classify`` scans with: one :class:`Record` per lower-cased key (see
    ``_keyed``), each topic phrase given ``inner``: where shorter keys of the same topic lie
    inside its key. A scan finds every key inside a longer key wherever the longer key is
    found (the text there is that key), so these are exactly the hits of a topic that lie
    inside a longer hit of it."""
    result = ahocorasick.Automaton()
    for key, found in variants.items():
        within: dict[int, set[tuple[int, int]]] = {}
        for end, others in automaton.iter(key):
            for _, other in others:
                if other.length < len(key):
                    for entry in other.topics:
                        within.setdefault(entry[0], set()).add(
                            (end - other.length + 1, other.length - 1)
                        )
        records = [
            (
                cased_key,
                replace(
                    rec,
                    topics=tuple(
                        _with_inner(entry, tuple(sorted(within.get(entry[0], ()))))
                        for entry in rec.topics
                    ),
                ),
            )
            for cased_key, rec in found
        ]
        result.add_word(key, _keyed(records))
    if not variants:
        result.add_word("\x00\x00", _keyed([]))
    result.make_automaton()
    return result


def _topic_entry(topic: int, weight: float, support: bool, phrase: str) -> TopicEntry:
    """A topic phrase's entry, with no inner keys yet."""
    ident = _ident(phrase)
    return (topic, (weight * TITLE_BOOST, support, ident, ()), (weight, support, ident, ()))


def _with_inner(entry: TopicEntry, inner: Inner) -> TopicEntry:
    topic, (title_weight, support, ident, _), (weight, _, _, _) = entry
    return (topic, (title_weight, support, ident, inner), (weight, support, ident, inner))


def _keyed(found: list[tuple[str, Record]]) -> Record:
    """The record the automaton holds for a lower-cased key with these spellings: form
    ``TOPIC`` or ``SIDES`` when its one spelling, matched in any case, is only one topic
    phrase or only whole-word side words; else form ``OTHER`` with the spellings."""
    if len(found) == 1:
        cased_key, rec = found[0]
        plain = not (cased_key or rec.is_span or rec.cue or rec.third or rec.setting)
        if plain and len(rec.topics) == 1 and not rec.sides:
            return replace(rec, form=TOPIC)
        if plain and rec.sides and not rec.topics and not rec.prefix:
            return replace(rec, form=SIDES)
    empty = Record(OTHER, 0, (), (), (), "", False, "", 0, False, False, False)
    return replace(found[0][1] if found else empty, form=OTHER, variants=tuple(found))
