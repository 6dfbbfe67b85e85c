"""The anchored scans of ``story_features`` find exactly what an unanchored regex scan finds.

Each fast path (patterns tried only where a match can start, literal pre-checks, the modal
read from the end of the text) is compared with the plain ``re`` call it replaces, on
scrambled ASCII and non-ASCII text full of near-misses and on the generated corpus.
"""

from __future__ import annotations

import random

import text_corpus

from bot.domain import story_features as sf

_GLUE = (" ", "  ", "\t", "-", " - ", ", ", ".", ". ", "'s ", "\n", "_", "", "$", "%", " $")
_PIECES = (
    "will", "may", "might", "could", "would", "to", "also", "WILL", "stillwill", "hold", "held",
    "holds", "met", "meets", "meet", "spoke", "signed", "wraps up", "wrap", "hit", "white",
    "talks with", "set for", "next week", "ahead of the", "meeting", "call", "calls for",
    "phone", "telephone", "video-call", "in a call", "in an call", "in-person", "face-to-face",
    "sat down", "summit", "trip", "lands", "arrived", "delegation", "negotiating",
    "working group", "entity list", "blacklisted", "export controls", "curbs", "tariffs",
    "levies", "duties", "retaliates", "hits back", "strikes back", "counter-measures",
    "countersanctions", "in response", "responded", "answered", "with", "drills", "war games",
    "wargame", "collided", "intercepts", "unsafe", "shot down", "shoots down", "downed",
    "balloon", "court", "upholds", "justices", "executive order", "signs an order",
    "order signed", "testified", "told congress", "house foreign committee", "senate",
    "speech", "remarks at", "addressed to", "lecture", "earthquake", "flooding", "bans",
    "barred", "prohibited", "on", "against", "targeting", "into", "China", "Chinese", "U.S.",
    "US", "United States", "Beijing", "mainland", "all", "the", "selected", "sanctions",
    "taxes", "restrictions", "probe", "2024-11-05", "1999-01-01", "20241105", "19", "20",
    "2024", "12", "5", "3.5", "1,200", "10", "percent", "per cent", "%", "billion", "bn", "m",
    "90-day", "24 hour", "7.1 magnitude", "mph", "Monday", "today", "yesterday", "someday",
    "Round-up", "roundup", "week in review", "in brief", "Briefing", "people's republic of china",
    "house of representatives", "U.S.A.", "united states", "ſanctions", "İstanbul", "ﬁnal",
    "Ｕ.Ｓ.", "٣٤", "½", "May 5", "5th-7th May", "Sept. 3, 2024", "20 to 22 March", "4 Jun",
    "President", "Secretary of State", "Foreign Minister", "Wang Yi", "Antony Blinken", "CEO",
    "Presidential", "Vice President", "Defense Secretary Lloyd Austin's", "Mr", "Dec.",
)  # fmt: skip


_ROLES = (
    "President", "Secretary", "Minister", "Director", "Admiral", "General", "Commander",
    "Adviser", "Advisor", "Envoy", "Premier", "Speaker", "Chairman", "Chairwoman", "Councilor",
    "Councillor", "Chief", "Ambassador", "Leader", "Senator", "Governor", "Representative",
    "Spokesperson", "Spokesman", "Spokeswoman", "CEO",
)  # fmt: skip


def _texts(count: int = 3000) -> list[str]:
    rnd = random.Random(7)
    out = [f"The {role} Li Qiang, {role}s and ex-{role} said" for role in _ROLES]
    for _ in range(count):
        parts = [rnd.choice(_PIECES) for _ in range(rnd.randint(1, 16))]
        out.append("".join(p + rnd.choice(_GLUE) for p in parts))
    for row in text_corpus.items(500):
        out += [str(row["title"]), str(row["summary"])]
    return out


TEXTS = _texts()


def _spans(matches: object) -> list[tuple[int, int]]:
    return [m.span() for m in matches]  # type: ignore[attr-defined]


def test_anchored_scans_match_finditer() -> None:
    for text in TEXTS:
        persons = sf._word_starts(sf._PERSON_SCANNER, text).get(0, ())
        assert _spans(sf._anchored(sf._PERSON, text, persons)) == _spans(
            sf._PERSON.finditer(text)
        ), text
        if not text.isascii():
            continue
        fast = [m.group(1) for m in sf._anchored(sf._NUMBER, text, sf._number_starts(text))]
        assert fast == sf._NUMBER.findall(text), text
        starts = sf._word_starts(sf._TEXT_SCANNER, text.lower())
        for pattern, tag in (
            (sf._TARGET, sf._TARGET_TAG),
            (sf._MONTH_DAY, sf._MONTH_TAG),
            (sf._DAY_MONTH, sf._DIGIT_TAG),
            (sf._ISO_DATE, sf._DIGIT_TAG),
        ):
            fast_spans = _spans(sf._anchored(pattern, text, starts.get(tag, ())))
            assert fast_spans == _spans(pattern.finditer(text)), (pattern.pattern, text)
        tense = sf._word_starts(sf._TENSE_SCANNER, text.lower())
        assert _spans(sf._anchored(sf._PAST, text, tense.get(1, ()))) == _spans(
            sf._PAST.finditer(text)
        ), text


def test_cue_kinds_match_a_search_per_kind() -> None:
    for text in TEXTS:
        lowered = text.lower()
        expected = [kind for kind, pattern in sf._KIND_CUES if pattern.search(lowered)]
        assert sf._kinds(text) == expected, text


def test_modal_read_from_the_end_matches_the_regex() -> None:
    for text in TEXTS:  # a past cue follows a space mostly; every cut of short texts
        cuts = range(len(text) + 1) if len(text) < 80 else range(0, len(text) + 1, 3)
        for cut in cuts:
            prefix = text[:cut]
            assert sf._modal_before(prefix) == bool(sf._MODAL_BEFORE.search(prefix)), prefix


def test_literal_pre_checks_never_hide_a_match() -> None:
    for text in TEXTS:
        future, _ = sf._future_and_past(text)
        assert future == bool(sf._FUTURE.search(text)), text
        assert sf._is_roundup(text) == bool(sf._ROUNDUP.search(text)), text
        expected = text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
        for _, pattern, repl in sf._PHRASES:
            expected = pattern.sub(repl, expected)
        assert sf._normalise(text) == expected, text


def test_the_scrambles_reach_every_kind_and_the_modal_cases() -> None:
    kinds = {kind for text in TEXTS for kind in sf._kinds(text)}
    assert kinds == {kind for kind, _ in sf._KIND_CUES}
    assert sum(bool(sf._MODAL_BEFORE.search(t + " ")) for t in TEXTS) > 50
