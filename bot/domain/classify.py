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

# A compiled key's record: (key length, topic phrases ((topic, weight, is_support, ident), ...),
# excluded topics (topic, ...), sides ((side, label, kind), ...), cue label or "",
# is near-miss, third-party label or "", setting bits: MULTILATERAL | PARTICIPATION).
# A side's kind is an actor rank, "country", "issue" (Taiwan), "company" or "place".
Record = tuple[
    int,
    tuple[tuple[int, float, bool, str], ...],
    tuple[int, ...],
    tuple[tuple[int, str, str], ...],
    str,
    bool,
    str,
    int,
]
MULTILATERAL = 1
PARTICIPATION = 2
# A topic hit: (start, end, weight, is_support, ident).
TopicHit = tuple[int, int, float, bool, str]
# A side hit: (word start, word end, label, kind).
SideHit = tuple[int, int, str, str]
# An interaction cue: (label, words as written, start).
Cue = tuple[str, str, int]


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

        hits: list[tuple[int, int, Record]] = []
        spans: list[tuple[int, int, Record]] = []
        for end, variants in self._automaton.iter(lower):
            for cased_key, rec in variants:
                start = end - rec[0] + 1
                if cased_key and cased[start : end + 1] != cased_key:
                    continue
                if rec[5] or rec[2]:
                    spans.append((start, end, rec))
                if rec[1] or rec[3] or rec[4] or rec[6] or rec[7]:
                    hits.append((start, end, rec))

        topics: dict[int, list[TopicHit]] = {}
        sides: tuple[list[SideHit], list[SideHit]] = ([], [])
        cues: list[Cue] = []
        thirds: list[tuple[int, str]] = []
        setting = 0
        for start, end, rec in hits:
            setting |= rec[7]
            if rec[1]:
                boost = TITLE_BOOST if end < title_end else 1.0
                for topic, weight, support, ident in rec[1]:
                    if spans and _excluded(topic, start, end, spans):
                        continue
                    found = topics.get(topic)
                    if found is None:
                        topics[topic] = [(start, end, weight * boost, support, ident)]
                    else:
                        found.append((start, end, weight * boost, support, ident))
            if spans and _near_miss(start, end, spans):
                continue
            for side, label, kind in rec[3]:
                stop = end if cased[end] == " " else cased.find(" ", end)
                sides[side].append((start + 1, stop, label, kind))
            if rec[4]:
                cues.append((rec[4], _surface(cased, start, end), start))
            if rec[6]:
                thirds.append((start, rec[6]))

        totals = {t: _weigh(h) for t, h in topics.items()}
        evidence = _Evidence(sides, cues, thirds, setting, title_end)
        relevant, reasons = self._relevance(totals, topics, evidence, lower)
        if not relevant:
            return Classification(relevant=False, why={"relevance": reasons})
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
        totals: dict[int, float],
        topics: dict[int, list[TopicHit]],
        ev: _Evidence,
        text: str,
    ) -> tuple[bool, list[str]]:
        """Both sides, a link between them, and none of the rules that rule an item out."""
        implied = [side for topic, side in self._implies if totals.get(topic, 0.0) >= THRESHOLD]
        dealings = any(label not in self._presence for label, _, _ in ev.cues)
        present = [
            _side_present(ev.sides[side], bool(ev.cues), dealings) or side in implied
            for side in (0, 1)
        ]
        reasons = _side_reasons(ev.sides, implied, bool(ev.cues), dealings)
        pair = _paired(ev.sides, text) if all(present) else ""
        if pair:
            reasons.append(f"named together: {pair}")
        if ev.cues:
            words = _unique(surface for _, surface, _ in ev.cues)
            reasons.append(f"interaction: {', '.join(words[:6])}")
        others = _unique(label for _, label in ev.thirds)
        if others:
            reasons.append(f"others named: {', '.join(others)}")
        if not all(present):
            missing = " and ".join(SIDE_NAMES[s] for s in (0, 1) if not present[s])
            reasons.append(f"not relevant: no {missing} side")
            return False, reasons
        labels = [label for label, _, _ in ev.cues]
        if ev.setting == MULTILATERAL | PARTICIPATION and all(c in self._presence for c in labels):
            reasons.append("not relevant: both sides only listed as guests of a multilateral event")
            return False, reasons
        if not (pair or ev.cues or any(total >= THRESHOLD for total in totals.values())):
            reasons.append("not relevant: both sides named but no dealings between them")
            return False, reasons
        passing = self._third_party_meeting(totals, topics, ev, pair)
        if passing is not None:
            reasons.append(
                f"not relevant: a meeting with {others[0]}; the {SIDE_NAMES[passing]} side is "
                "only mentioned in passing"
            )
            return False, reasons
        return True, reasons

    def _third_party_meeting(
        self,
        totals: dict[int, float],
        topics: dict[int, list[TopicHit]],
        ev: _Evidence,
        pair: str,
    ) -> int | None:
        """The side mentioned only in passing when the headline reports one side meeting a
        third country (its leader or capital), or None.

        The other side must be named by country words alone (no person, office or
        institution), the two sides must not be named together, and no bilateral issue
        (Taiwan, the South China Sea) may be at stake. "Xi meets Putin, criticises US
        sanctions" is a China–Russia meeting; the US is named once, by a country word.
        """
        if pair or not any(start < ev.title_end for start, _ in ev.thirds):
            return None
        if not any(start < ev.title_end and label in self._meeting for label, _, start in ev.cues):
            return None
        if any(totals.get(t, 0.0) >= THRESHOLD for t in self._bilateral):
            return None
        for passing in (0, 1):
            named = ev.sides[passing]
            other = ev.sides[1 - passing]
            if (
                len(named) == 1
                and named[0][3] == "country"
                and any(hit[3] not in _PASSING for hit in other)
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
        ranked = [any(hit[3] in DIPLOMATIC_RANKS for hit in sides[s]) for s in (0, 1)]
        meeting = totals.get(d, 0.0) > 0
        bonus = 0.0
        if all(ranked):
            bonus = 0.7 if meeting else 0.3
        elif any(ranked) and meeting:
            bonus = 0.4
        if bonus:
            totals[d] = totals.get(d, 0.0) + bonus
        if not all(ranked) and any(totals.get(t, 0.0) >= THRESHOLD for t in self._yields_to):
            totals.pop(d, None)
            topics.pop(d, None)

    def _explain(
        self,
        totals: dict[int, float],
        topics: dict[int, list[TopicHit]],
        sides: tuple[list[SideHit], list[SideHit]],
        reasons: list[str],
        cased: str,
    ) -> Classification:
        ranked = sorted(totals.items(), key=_by_weight)
        chosen = [t for t, total in ranked if total >= THRESHOLD]
        if not chosen:
            chosen = [ranked[0][0] if ranked and ranked[0][1] > 0 else self._diplomacy]
        ids = self.topic_ids
        scores = {ids[t]: round(total / (total + 1.0), 2) for t, total in ranked if total > 0}
        why: dict[str, list[str]] = {"relevance": reasons}
        for t in chosen:
            scores.setdefault(ids[t], 0.5)
            words = _unique(_surface(cased, h[0], h[1]) for h in topics.get(t, ()))
            if t == self._diplomacy:
                words += _unique(
                    f"{hit[2]} (high-level)"
                    for side in sides
                    for hit in side
                    if hit[3] in DIPLOMATIC_RANKS
                )
            why[ids[t]] = words or ["US–China dealings in general"]
        return Classification(
            relevant=True, topics=tuple(ids[t] for t in chosen), scores=scores, why=why
        )


_PASSING = frozenset({"country", "place", "company"})


class _Evidence:
    """What one scan found about the two sides (plain holder, built per item)."""

    __slots__ = ("cues", "setting", "sides", "thirds", "title_end")

    def __init__(
        self,
        sides: tuple[list[SideHit], list[SideHit]],
        cues: list[Cue],
        thirds: list[tuple[int, str]],
        setting: int,
        title_end: int,
    ) -> None:
        self.sides = sides
        self.cues = cues
        self.thirds = thirds
        self.setting = setting
        self.title_end = title_end


def _unique(words: Iterable[str]) -> list[str]:
    """Words in first-seen order, repeats ignored whatever their case."""
    seen: dict[str, str] = {}
    for word in words:
        seen.setdefault(word.lower(), word)
    return list(seen.values())


def _side_present(hits: list[SideHit], cued: bool, dealings: bool) -> bool:
    """Named by a person, office, institution, country word or issue; a company counts beside
    an interaction cue, a place beside a cue of dealings (not mere presence: "visitors")."""
    for hit in hits:
        kind = hit[3]
        if kind == "place":
            if dealings:
                return True
        elif kind != "company" or cued:
            return True
    return False


def _side_reasons(
    sides: tuple[list[SideHit], list[SideHit]],
    implied: list[int],
    cued: bool,
    dealings: bool,
) -> list[str]:
    """One readable line per side, then the China-related issues, companies and places."""
    lines: list[str] = []
    extra: list[str] = []
    for side in (0, 1):
        name = SIDE_NAMES[side]
        direct = _unique(h[2] for h in sides[side] if h[3] not in WEAK_KINDS and h[3] != "issue")
        issues = _unique(h[2] for h in sides[side] if h[3] == "issue")
        weak = _unique(h[2] for h in sides[side] if h[3] in WEAK_KINDS)
        counted = _side_present([h for h in sides[side] if h[3] in WEAK_KINDS], cued, dealings)
        if direct:
            lines.append(f"{name} side: {', '.join(direct)}")
        elif issues:
            lines.append(f"{name} side: through the China-related issue below")
        elif counted:
            lines.append(f"{name} side: through the {name} companies or places below")
        elif side in implied:
            lines.append(f"{name} side: implied by a topic that concerns both sides")
        else:
            lines.append(f"{name} side: none")
        if issues:
            extra.append(f"China-related issue: {', '.join(issues)}")
        if weak:
            note = (
                "counted, as dealings are named"
                if counted
                else f"not counted: a {name} company or place counts only when dealings are named"
            )
            extra.append(f"{name} companies and places: {', '.join(weak)} ({note})")
    return lines + extra


def _by_weight(pair: tuple[int, float]) -> tuple[float, int]:
    return (-pair[1], pair[0])


# --------------------------------------------------------------------------- helpers


def _weigh(hits: list[TopicHit]) -> float:
    """Core weight plus support weight (support only counts beside a core phrase).

    Distinct phrases count once (plural folded); a hit inside a longer hit does not count.
    """
    if len(hits) == 1:
        hit = hits[0]
        return 0.0 if hit[3] else hit[2]
    best: dict[str, float] = {}
    core = False
    for start, end, weight, support, ident in hits:
        size = end - start
        inside = False
        for s, e, _, _, _ in hits:
            if s <= start and end <= e and e - s > size:
                inside = True
                break
        if inside:
            continue
        if not support:
            core = True
        if weight > best.get(ident, 0.0):
            best[ident] = weight
    return sum(best.values()) if core else 0.0


def _surface(cased: str, start: int, end: int) -> str:
    """The matched words (a prefix match runs to the end of its word)."""
    stop = end if cased[end] == " " else cased.find(" ", end)
    return cased[start + 1 : stop if stop >= 0 else len(cased)].strip()


def _near_miss(start: int, end: int, spans: list[tuple[int, int, Record]]) -> bool:
    """True when the hit lies inside a near-miss phrase longer than itself."""
    return any(rec[5] and s <= start and end <= e and e - s > end - start for s, e, rec in spans)


def _excluded(topic: int, start: int, end: int, spans: list[tuple[int, int, Record]]) -> bool:
    return any(topic in rec[2] and s <= start and end <= e for s, e, rec in spans)


def _paired(sides: tuple[list[SideHit], list[SideHit]], text: str) -> str:
    """Both sides named next to each other ("US-China", "Biden and Xi"), or ''."""
    for us_start, us_end, us_label, us_kind in sides[0]:
        for cn_start, cn_end, cn_label, cn_kind in sides[1]:
            if us_kind in WEAK_KINDS or cn_kind in WEAK_KINDS:
                continue
            if us_end <= cn_start:
                glue = text[us_end:cn_start]
            elif cn_end <= us_start:
                glue = text[cn_end:us_start]
            else:
                continue
            if len(glue) <= 9 and glue.strip() in PAIR_GLUE:
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
                add(form, "topics", (index, weight, False, _ident(phrase)))
        for phrase, weight in topic.support:
            for form in phrase_forms(phrase):
                add(form, "topics", (index, weight, True, _ident(phrase)))
        for phrase in topic.exclusions:
            for form in phrase_forms(phrase):
                add(form, "excl", index)
    for actor in taxonomy.actors:
        for phrase in actor.phrases:
            add(phrase, "sides", (SIDE_IDS[actor.side], actor.name, actor.rank))
    for side, phrases in taxonomy.countries:
        for phrase in phrases:
            add(phrase, "sides", (SIDE_IDS[side], phrase.rstrip("*"), "country"))
    for phrase in taxonomy.issue_places:
        add(phrase, "sides", (SIDE_IDS["cn"], phrase.rstrip("*"), "issue"))
    for side, phrases in taxonomy.places:
        for phrase in phrases:
            add(phrase, "sides", (SIDE_IDS[side], phrase.rstrip("*"), "place"))
    for side, phrases in taxonomy.companies:
        for phrase in phrases:
            add(phrase, "sides", (SIDE_IDS[side], phrase.rstrip("*"), "company"))
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

    automaton = ahocorasick.Automaton()
    variants: dict[str, list[tuple[str, Record]]] = {}
    for (key, case_sensitive), e in table.items():
        record: Record = (
            len(key),
            tuple(e["topics"]),
            tuple(dict.fromkeys(e["excl"])),
            tuple(dict.fromkeys(e["sides"])),
            e["cue"][0] if e["cue"] else "",
            bool(e["near"]),
            e["third"][0] if e["third"] else "",
            int(e["set"]),
        )
        variants.setdefault(key.lower(), []).append((key if case_sensitive else "", record))
    for key, found in variants.items():
        automaton.add_word(key, tuple(found))
    if not variants:
        automaton.add_word("\x00\x00", ())
    automaton.make_automaton()
    return automaton
