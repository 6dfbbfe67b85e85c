"""Per-story states stored by earlier versions keep loading; the fingerprint codec is exact."""

from __future__ import annotations

import json
from typing import Any

from bot.domain.stories import Fingerprint, StoryIndex, row_fingerprint

# A state as the previous fingerprint format stored it (short keys; no "act", "where",
# "ahead" or "roundup"), for an invented phone call.
LEGACY_MEMBER: dict[str, Any] = {
    "id": "https://wire.example.com/2024/03/12/raimondo-wang-call",
    "src": "Wire A",
    "pub": "2024-03-12",
    "month": None,
    "tok": {
        "us": 1.0,
        "commerce": 1.0,
        "secretary": 1.0,
        "gina": 1.0,
        "raimondo": 2.0,
        "speak": 1.0,
        "phone": 2.0,
        "china": 1.0,
        "minister": 1.0,
        "wang": 2.0,
        "wentao": 2.0,
        "hold": 2.0,
        "call": 2.0,
        "export": 2.0,
        "control": 2.0,
    },
    "ent": [
        "raimondo",
        "wang wentao",
        "commerce secretary gina raimondo",
        "commerce minister wang wentao",
        "tuesday",
    ],
    "num": [],
    "kind": ["call", "sanctions"],
    "tgt": [],
    "who": ["gina raimondo", "wang wentao"],
    "fut": False,
    "dates": ["2024-03-12"],
    "md": [],
    "wd": None,
}
LEGACY_STATE: dict[str, Any] = {
    "first": "2024-03-12",
    "last": "2024-03-12",
    "members": [LEGACY_MEMBER],
}
SAME_CALL = {
    "id": "a2",
    "title": "Raimondo, Wang Wentao talk by telephone about export controls",
    "summary": "The two commerce chiefs spoke by phone on Tuesday about export controls.",
    "published": "2024-03-12T18:00:00Z",
    "url": "https://paper.example.net/raimondo-wang",
    "source": "Paper B",
}


def test_a_legacy_state_restores_and_still_takes_new_members() -> None:
    index = StoryIndex.restore([("st-legacy00000", LEGACY_STATE)])
    assert len(index) == 1
    assert index.assign(row_fingerprint(SAME_CALL)) == ("st-legacy00000", False)
    members = index.story_state("st-legacy00000")["members"]
    assert [m["id"] for m in members] == [LEGACY_MEMBER["id"], SAME_CALL["url"]]
    assert all(isinstance(m, dict) for m in json.loads(json.dumps(members)))


def test_legacy_fields_load_and_missing_ones_are_empty() -> None:
    fp = Fingerprint.from_json(LEGACY_MEMBER)
    assert fp.published == "2024-03-12"
    assert fp.kinds == ("call", "sanctions")
    assert fp.people == ("gina raimondo", "wang wentao")
    assert (fp.actions, fp.places, fp.ahead, fp.roundup) == ((), (), None, False)
    legacy_keys = set(LEGACY_MEMBER)
    assert {k: v for k, v in fp.to_json().items() if k in legacy_keys} == {
        k: v for k, v in LEGACY_MEMBER.items()
    }


def test_codec_round_trips_every_field() -> None:
    fp = row_fingerprint(
        {
            "id": "x",
            "title": "Week in review: US and China to hold talks in Geneva next month",
            "summary": "Officials will meet in Geneva next month, the ministry said on Friday, "
            "after tariffs of 34% on May 3.",
            "published": "2025-04-13T10:00:00Z",
        }
    )
    assert fp.roundup and fp.preview and fp.places == ("geneva",) and fp.ahead == "2025-05-01"
    assert Fingerprint.from_json(json.loads(json.dumps(fp.to_json()))) == fp
