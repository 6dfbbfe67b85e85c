"""The fingerprint's cheap literal pre-checks never change what the full patterns find."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain import story_features as stories

WORDS = [
    "met", "meets", "in-person", "face to face", "sat down", "summit", "phone", "video call",
    "spoke", "speaks with", "calls", "visit", "lands", "arrived", "delegation", "talks",
    "negotiations", "working group", "sanctions", "entity list", "export controls", "curbs",
    "tariffs", "levies", "duties", "retaliates", "hits back", "countermeasures", "in response",
    "answered with", "drills", "war games", "collided", "intercepted", "shot down", "balloon",
    "court", "upheld", "executive order", "signs an order", "testified", "hearing",
    "told Congress", "Senate armed committee", "speech", "remarks at", "addressed to",
    "earthquake", "flooding", "ban", "barred", "prohibited", "on", "against", "China",
    "Chinese", "US", "Washington", "May", "5", "12th", "to", "-", "Sept.", "2024", "March",
    "maritime", "and", "Dec", "the", "ſept", "Beijing", "probe", "into", "13", "1st", "–",
]  # fmt: skip


def _kinds_reference(text: str) -> list[str]:
    lowered = text.lower()
    return [kind for kind, pattern in stories._KIND_CUES if pattern.search(lowered)]


def _month_spans_reference(text: str) -> list[tuple[int, int]]:
    found = [m.span() for m in stories._MONTH_DAY.finditer(text)]
    return found + [m.span() for m in stories._DAY_MONTH.finditer(text)]


def _targets_reference(text: str) -> list[str]:
    sides: list[str] = []
    for match in stories._TARGET.finditer(text):
        word = match.group(1).lower()
        side = "cn" if word in {"china", "chinese", "beijing", "mainland"} else "us"
        if side not in sides:
            sides.append(side)
    return sides


texts = st.lists(st.sampled_from(WORDS), max_size=14).map(" ".join) | st.text(max_size=60)


@settings(max_examples=400, deadline=None)
@given(texts)
def test_kinds_match_the_full_scan(text: str) -> None:
    assert stories._kinds(text) == _kinds_reference(text)


@settings(max_examples=400, deadline=None)
@given(texts)
def test_targets_match_the_full_scan(text: str) -> None:
    assert stories._targets(text) == _targets_reference(text)


@settings(max_examples=400, deadline=None)
@given(texts)
def test_month_day_scans_find_what_the_full_patterns_find(text: str) -> None:
    """In ASCII text the date patterns are tried only where a month stem or digit starts a
    word; they find exactly the matches of an unanchored scan."""
    if not text.isascii():
        return
    starts = stories._word_starts(stories._TEXT_SCANNER, text.lower())
    found = [
        m.span()
        for m in stories._anchored(stories._MONTH_DAY, text, starts.get(stories._MONTH_TAG, ()))
    ] + [
        m.span()
        for m in stories._anchored(stories._DAY_MONTH, text, starts.get(stories._DIGIT_TAG, ()))
    ]
    assert found == _month_spans_reference(text)


def test_known_dates_still_resolve() -> None:
    resolved, _ = stories._explicit_dates("Talks on Sept. 12 and 5th-7th May", date(2024, 9, 1))
    assert resolved == ["2024-09-12", "2024-05-05", "2024-05-06", "2024-05-07"]
    assert stories._kinds("Xi and Biden met; tariffs hit back") == [
        "meeting",
        "tariffs",
        "retaliation",
    ]
    assert stories._targets("New tariffs on Chinese steel") == ["cn"]
