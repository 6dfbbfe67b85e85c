"""Same-event grouping on hand-written items (not taken from any evaluation set)."""

from __future__ import annotations

import json
import random
from typing import Any

from bot.domain.stories import Fingerprint, StoryIndex, fingerprint, group_rows, row_fingerprint

CALL_OUTLETS: list[dict[str, Any]] = [
    {
        "id": "a1",
        "title": "Raimondo and Wang Wentao hold phone call on export controls",
        "summary": "US Commerce Secretary Gina Raimondo spoke by phone with Chinese Commerce "
        "Minister Wang Wentao on Tuesday, discussing export controls and market access.",
        "published": "2024-03-12T14:00:00Z",
        "url": "https://wire.example.com/2024/03/12/raimondo-wang-call",
        "source": "Wire A",
    },
    {
        "id": "a2",
        "title": "China's commerce minister tells Raimondo US chip curbs hurt trade",
        "summary": "Commerce Minister Wang Wentao told US Commerce Secretary Gina Raimondo in a "
        "call on Tuesday that Washington's export controls on chips harm normal trade.",
        "published": "2024-03-12T18:30:00Z",
        "url": "https://paper.example.net/world/wang-wentao-raimondo",
        "source": "Paper B",
    },
    {
        "id": "a3",
        "title": "Raimondo, Wang Wentao talk by telephone as trade frictions persist",
        "summary": "The two commerce chiefs held a call a day earlier, the Chinese ministry said "
        "on Wednesday, covering export controls and the business environment.",
        "published": "2024-03-13T03:00:00Z",
        "url": "https://asia.example.org/news/commerce-chiefs-call",
        "source": "Outlet C",
    },
]

LATER_CALL: dict[str, Any] = {
    "id": "b1",
    "title": "Raimondo and Wang Wentao hold phone call on export controls",
    "summary": "US Commerce Secretary Gina Raimondo spoke by phone with Chinese Commerce "
    "Minister Wang Wentao on Monday, discussing export controls and market access.",
    "published": "2024-08-19T14:00:00Z",
    "url": "https://wire.example.com/2024/08/19/raimondo-wang-call",
    "source": "Wire A",
}

PREVIEW: dict[str, Any] = {
    "id": "p1",
    "title": "US and Chinese envoys to hold maritime talks in Honolulu next week",
    "summary": "Officials from the United States and China will meet in Honolulu next week for "
    "talks on maritime safety, the State Department said on Friday.",
    "published": "2024-05-03T16:00:00Z",
    "url": "https://wire.example.com/2024/05/03/maritime-talks-preview",
    "source": "Wire A",
}
EVENT: list[dict[str, Any]] = [
    {
        "id": "e1",
        "title": "US and Chinese officials hold maritime safety talks in Honolulu",
        "summary": "Officials from the United States and China held talks in Honolulu on "
        "Wednesday on maritime safety and military communication.",
        "published": "2024-05-08T20:00:00Z",
        "url": "https://wire.example.com/2024/05/08/maritime-talks",
        "source": "Wire A",
    },
    {
        "id": "e2",
        "title": "Maritime talks in Honolulu end with pledge to keep channels open",
        "summary": "US and Chinese officials met in Honolulu on Wednesday for maritime safety "
        "talks and agreed to keep military communication channels open.",
        "published": "2024-05-09T02:00:00Z",
        "url": "https://paper.example.net/maritime-honolulu",
        "source": "Paper B",
    },
]

SANCTIONS: dict[str, Any] = {
    "id": "s1",
    "title": "US sanctions five Chinese firms over drone parts for Russia",
    "summary": "The Treasury Department on Thursday imposed sanctions on five Chinese companies "
    "accused of supplying drone components to Russia.",
    "published": "2024-10-17T15:00:00Z",
    "url": "https://wire.example.com/2024/10/17/us-sanctions-chinese-firms",
    "source": "Wire A",
}
COUNTER: dict[str, Any] = {
    "id": "s2",
    "title": "China retaliates with countermeasures against US defense firms",
    "summary": "Beijing on Saturday announced countermeasures against three US defense "
    "companies in response to American sanctions on Chinese firms.",
    "published": "2024-10-19T09:00:00Z",
    "url": "https://paper.example.net/china-countermeasures",
    "source": "Paper B",
}


def _keys(rows: list[dict[str, Any]]) -> dict[str, str]:
    return {row["id"]: key for row, key in zip(rows, group_rows(rows), strict=True)}


def test_same_call_from_three_outlets_shares_one_key() -> None:
    keys = _keys(CALL_OUTLETS)
    assert len(set(keys.values())) == 1


def test_two_calls_months_apart_get_two_keys() -> None:
    keys = _keys([*CALL_OUTLETS, LATER_CALL])
    assert keys["b1"] != keys["a1"]
    assert keys["a1"] == keys["a2"] == keys["a3"]


def test_preview_days_before_is_its_own_story() -> None:
    keys = _keys([PREVIEW, *EVENT])
    assert keys["e1"] == keys["e2"]
    assert keys["p1"] != keys["e1"]


def test_counter_sanctions_are_not_the_sanctions_story() -> None:
    keys = _keys([SANCTIONS, COUNTER])
    assert keys["s1"] != keys["s2"]


def test_unrelated_items_stay_apart() -> None:
    rows = [CALL_OUTLETS[0], SANCTIONS, EVENT[0]]
    assert len(set(group_rows(rows))) == 3


def test_grouping_does_not_depend_on_input_order() -> None:
    rows = [*CALL_OUTLETS, LATER_CALL, PREVIEW, *EVENT, SANCTIONS, COUNTER]
    expected = _keys(rows)
    for seed in range(5):
        shuffled = rows[:]
        random.Random(seed).shuffle(shuffled)
        assert _keys(shuffled) == expected


def test_undated_rows_use_dates_in_their_text() -> None:
    undated = [{k: v for k, v in row.items() if k != "published"} for row in CALL_OUTLETS[:2]]
    keys = _keys(undated)
    assert keys["a1"] == keys["a2"]


def test_eval_style_date_and_outlet_fields_are_accepted() -> None:
    rows = [
        {
            **{k: v for k, v in row.items() if k not in {"published", "source"}},
            "date": row["published"][:10],
            "outlet": row["source"],
        }
        for row in CALL_OUTLETS
    ]
    assert len(set(group_rows(rows))) == 1


def test_index_forgets_stories_outside_its_window() -> None:
    index = StoryIndex(window_days=4)
    old_key, _ = index.assign(row_fingerprint(CALL_OUTLETS[0]))
    index.assign(row_fingerprint(LATER_CALL))
    assert len(index) == 1
    assert index.story_state(old_key) == {}


def test_index_is_bounded_by_max_stories() -> None:
    index = StoryIndex(max_stories=2)
    for row in (CALL_OUTLETS[0], SANCTIONS, PREVIEW):
        index.assign(row_fingerprint(row))
    assert len(index) == 2


def test_story_keys_are_stable_and_prefixed() -> None:
    first = group_rows(CALL_OUTLETS)
    assert first == group_rows(CALL_OUTLETS)
    assert all(key.startswith("st-") for key in first)


def test_fingerprint_is_json_and_resolves_weekdays() -> None:
    fp = fingerprint(
        title="China raises tariffs on US goods to 125%",
        summary="Beijing said on Friday it would lift tariffs on American goods from 84% to "
        "125%, a $10 billion blow, effective Saturday.",
        published="2025-04-13T10:00:00Z",
        url="https://example.com/x",
        source="Example",
    )
    assert Fingerprint.from_json(json.loads(json.dumps(fp.to_json()))) == fp
    assert "2025-04-11" in fp.dates  # "on Friday" before a Sunday publication
    assert {"125%", "84%"} <= set(fp.numbers)
    assert "tariffs" in fp.kinds
    assert fp.targets == ("us",)


def test_weekday_that_looks_ahead_resolves_forward() -> None:
    fp = fingerprint("New levies take effect", "The duties apply from Saturday.", "2025-04-10")
    assert fp.dates == ("2025-04-12",)


def test_index_restores_from_per_story_states() -> None:
    index = StoryIndex()
    first_key, _ = index.assign(row_fingerprint(CALL_OUTLETS[0]))
    other_key, _ = index.assign(row_fingerprint({**SANCTIONS, "published": "2024-03-12T20:00:00Z"}))
    states = [(k, json.loads(json.dumps(index.story_state(k)))) for k in (first_key, other_key)]
    restored = StoryIndex.restore(states)
    assert len(restored) == 2
    assert restored.assign(row_fingerprint(CALL_OUTLETS[1])) == (first_key, False)
    assert index.story_state("st-unknown") == {}


def test_same_day_alone_does_not_join_unrelated_items() -> None:
    from bot.domain.stories import group_rows

    rows = [
        {
            "id": "a",
            "title": "Chinese and American officials discuss journalist visas in Beijing",
            "summary": "Diplomats from the United States and China discussed visa quotas for "
            "reporters.",
            "published": "2024-09-03T08:00:00+00:00",
        },
        {
            "id": "b",
            "title": "US and China leaders talk by phone, pledge to keep military channels open",
            "summary": "Joe Biden and Xi Jinping spoke by telephone, officials said.",
            "published": "2024-09-03T20:00:00+00:00",
        },
    ]
    first, second = group_rows(rows)
    assert first != second
