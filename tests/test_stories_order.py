"""Story grouping of a batch does not depend on the order its items arrive in, and the
candidate index finds exactly the stories a scan of every open story finds."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from test_stories_grouping import CALL_OUTLETS, COUNTER, EVENT, LATER_CALL, PREVIEW, SANCTIONS
from test_stories_lookalikes import ITEMS

from bot.domain.stories import StoryIndex, group_rows, row_fingerprint

ROWS: list[dict[str, Any]] = [
    *CALL_OUTLETS,
    LATER_CALL,
    PREVIEW,
    *EVENT,
    SANCTIONS,
    COUNTER,
    *ITEMS.values(),
    # the same text from two outlets, and an undated copy: ties the order key must break
    {**CALL_OUTLETS[0], "id": "dup1", "url": "https://mirror.example/a1", "source": "Mirror"},
    {k: v for k, v in CALL_OUTLETS[1].items() if k != "published"} | {"id": "undated"},
]


def _partition(rows: list[dict[str, Any]], keys: list[str]) -> frozenset[frozenset[str]]:
    groups: dict[str, set[str]] = {}
    for row, key in zip(rows, keys, strict=True):
        groups.setdefault(key, set()).add(row["id"])
    return frozenset(frozenset(g) for g in groups.values())


def _by_id(rows: list[dict[str, Any]], keys: list[str]) -> dict[str, str]:
    return {row["id"]: key for row, key in zip(rows, keys, strict=True)}


EXPECTED = group_rows(ROWS)


@settings(max_examples=60, deadline=None)
@given(st.permutations(ROWS))
def test_any_order_gives_the_same_partition_and_keys(rows: list[dict[str, Any]]) -> None:
    keys = group_rows(rows)
    assert _partition(rows, keys) == _partition(ROWS, EXPECTED)
    assert _by_id(rows, keys) == _by_id(ROWS, EXPECTED)


@settings(max_examples=30, deadline=None)
@given(st.permutations(ROWS))
def test_assign_batch_is_order_canonical(rows: list[dict[str, Any]]) -> None:
    results = StoryIndex().assign_batch([row_fingerprint(r) for r in rows])
    reference = StoryIndex().assign_batch([row_fingerprint(r) for r in ROWS])
    assert _by_id(rows, [k for k, _ in results]) == _by_id(ROWS, [k for k, _ in reference])
    new_by_id = {r["id"]: new for r, (_, new) in zip(rows, results, strict=True)}
    assert new_by_id == {r["id"]: new for r, (_, new) in zip(ROWS, reference, strict=True)}


def test_the_expected_partition_is_not_trivial() -> None:
    partition = _partition(ROWS, EXPECTED)
    assert 1 < len(partition) < len(ROWS)


# --------------------------------------------------------------------------- index vs scan

SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]
KINDS = ["held talks", "spoke by phone", "imposed tariffs", "staged drills", "met"]


def _corpus(seed: int, stories: int, items: int) -> list[dict[str, Any]]:
    """Invented items: each story has a few distinctive pseudo-words, a day and a kind; items
    mix them with common words, numbers and shared filler so that candidates overlap."""
    rng = random.Random(seed)
    words = sorted({"".join(rng.sample(SYLLABLES, 3)) for _ in range(4000)})
    filler = words[:40]  # frequent words shared by many stories
    plans = [
        (
            rng.sample(words[40:], 5),
            date(2025, 1, 1) + timedelta(days=rng.randrange(40)),
            rng.choice(KINDS),
            rng.randrange(5, 60),
        )
        for _ in range(stories)
    ]
    rows = []
    for n in range(items):
        own, day, kind, number = plans[rng.randrange(stories)]
        picked = rng.sample(own, 3) + rng.sample(filler, 3)
        title = f"{picked[0].capitalize()} {picked[1]} officials {kind} {picked[3]}"
        weekday = rng.choice(["Monday", "Friday"])
        summary = f"{' '.join(picked)} {rng.choice(filler)} {number}% on {weekday}."
        when = day + timedelta(hours=rng.randrange(60))
        rows.append(
            {
                "id": f"g{n}",
                "title": title,
                "summary": summary,
                "published": None if n % 11 == 0 else when.isoformat(),
                "url": f"https://gen.example/{n}",
            }
        )
    return rows


def _assign_all(rows: list[dict[str, Any]], candidate_index: bool, holders: int) -> list[str]:
    index = StoryIndex(
        window_days=6, max_stories=150, candidate_index=candidate_index, max_holders=holders
    )
    return [index.assign(row_fingerprint(row))[0] for row in rows]


def test_candidate_index_assigns_exactly_as_a_scan_of_every_story() -> None:
    for seed, holders in ((0, 64), (1, 6)):  # 6: many probes are skipped as too widely held
        rows = _corpus(seed, stories=300, items=900)
        indexed = _assign_all(rows, candidate_index=True, holders=holders)
        assert indexed == _assign_all(rows, candidate_index=False, holders=holders)
        assert 50 < len(set(indexed)) < 850  # the corpus both joins and splits


def test_batch_grouping_with_and_without_the_index_agree() -> None:
    rows = _corpus(11, stories=60, items=250) + ROWS
    assert group_rows(rows) == group_rows(rows, candidate_index=False)
