"""The feed corpus in ``tests/data/feeds``: every file reads into the entries its sidecar names.

Each ``<name>.<ext>`` has a ``<name>.expected.json`` with the Content-Type it is served with
(if any), and the expected entries: their count, and for each the fields listed (title, link,
guid, summary, published as ISO 8601; ``null`` means "absent"). See the folder's README.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.domain.models import ParsedEntry
from bot.domain.parse import parse_feed

CORPUS = Path(__file__).resolve().parent / "data" / "feeds"
SIDECAR = ".expected.json"
URL = "https://example.org/feed.xml"
SIDECARS = sorted(CORPUS.glob(f"*/*{SIDECAR}"))
CATEGORIES = {
    "ampersands",
    "atom_links",
    "basics",
    "dates",
    "encodings",
    "jsonfeed",
    "namespaces",
    "titles",
}


def feed_file(sidecar: Path) -> Path:
    stem = sidecar.name.removesuffix(SIDECAR)
    (found,) = [p for p in sidecar.parent.glob(f"{stem}.*") if not p.name.endswith(SIDECAR)]
    return found


def case_id(sidecar: Path) -> str:
    return f"{sidecar.parent.name}/{sidecar.name.removesuffix(SIDECAR)}"


def entry_fields(entry: ParsedEntry, keys: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key in keys:
        value = getattr(entry, key)
        values[key] = value.isoformat() if key == "published" and value else value
    return values


def test_corpus_covers_every_category() -> None:
    assert {p.parent.name for p in SIDECARS} == CATEGORIES
    assert len(SIDECARS) >= 60


@pytest.mark.parametrize("sidecar", SIDECARS, ids=case_id)
def test_corpus_file_reads_as_expected(sidecar: Path) -> None:
    spec = json.loads(sidecar.read_text(encoding="utf-8"))
    feed = parse_feed(
        feed_file(sidecar).read_bytes(),
        url=spec.get("url", URL),
        content_type=spec.get("content_type"),
    )
    expected = spec["entries"]
    actual = [entry_fields(e, list(want)) for e, want in zip(feed.entries, expected, strict=False)]
    assert actual == expected[: len(actual)]
    assert len(feed.entries) == len(expected)
    if "format" in spec:
        assert feed.format == spec["format"]
    if "feed_title" in spec:
        assert feed.title == spec["feed_title"]
    if "language" in spec:
        assert feed.language == spec["language"]
    skipped = [w for w in feed.warnings if "without a title or link were skipped" in w]
    assert skipped == (
        [f"{spec['skipped']} entries without a title or link were skipped"]
        if spec.get("skipped")
        else []
    )
