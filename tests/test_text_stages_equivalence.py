"""The per-item text stages are pinned: a faster implementation must not change a single result.

sha256 digests of the output of normalisation (``normalize_entry`` and the uncapped text),
engagement extraction, story fingerprints (their persisted form, token order included) and
classification over the generated corpus of ``tests/text_corpus.py``; of fingerprints and
engagements over the shared development sets (when they are beside the repository); and of
the whole CPU stage (``prepare``: parse, normalise, dedupe, classify, engagements,
fingerprints) over the benchmark's feeds in every format. After a change meant to alter
results (vocabulary, a rule, the corpus), record new digests with
``cd tests && python test_text_stages_equivalence.py`` and say so in the commit message.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import text_corpus
from feedserver import CONTENT_TYPES, FORMATS, HTML_SELECTOR, SOURCE_TYPES, render_feed

from bot.cli.classify import result_row
from bot.domain.classify import Classifier
from bot.domain.engagements import extract_engagements
from bot.domain.ingest import Judge, full_text, prepare
from bot.domain.models import FetchOutcome, Source, SourceSpec
from bot.domain.normalize import normalize_entry
from bot.domain.story_features import fingerprint
from bot.taxonomy_file import default_taxonomy

REPO = Path(__file__).resolve().parents[1]
SHARED = next(
    (p for p in (REPO.parent / "shared", Path("/work/shared")) if (p / "eval").is_dir()),
    None,
)
DEV_SETS = (
    tuple(SHARED / "eval" / name for name in ("dev_news.jsonl", "dev_stories.jsonl"))
    if SHARED
    else ()
)
NOW = datetime(2024, 9, 2, 12, 0, tzinfo=UTC)

DIGESTS = {
    "normalise": "f72de9132d52811485191a3e94f450f6ca1645c6fd0e69cce5592eb4d12849ca",
    "fingerprints": "960438fe5f5b59b6fa42bc959f4775e572b89f06553414cd0d52de4b6e24b061",
    "engagements": "f452f3d6445d34d1bba74953aa3eda7576197a2b44801b98108eb2af15381715",
    "classification": "778cab7eaa86477b43d9fc1acd0f9b5d68f59c7f80f6744f86738946cc94811b",
    "prepare": "49048f7181c1eee7469c5991875b5838c71a6d285f3e4aa109f6accb4be07949",
}
DEV_DIGESTS = {
    "fingerprints": "e29c25bb40e6eaf881d57c4bc7adc216c0c41e588773a0bda95b05c50676777d",
    "engagements": "9ffbc3f55281806ff10c68ec2dab213f796f03ac703fc6dce16f33f5ac02c715",
}


def _sha(lines: Iterable[str]) -> str:
    sha = hashlib.sha256()
    for line in lines:
        sha.update(line.encode("utf-8", "surrogatepass") + b"\n")
    return sha.hexdigest()


def _moment(value: object, n: int) -> datetime:
    """A publication time for engagement extraction (which needs one) from a corpus row."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, 6, tzinfo=UTC)
    return NOW + timedelta(hours=7 * n)


def fingerprint_lines(rows: list[dict[str, Any]]) -> Iterable[str]:
    for row in rows:
        fp = fingerprint(
            str(row.get("title") or ""),
            str(row.get("summary") or ""),
            published=row.get("published") or row.get("date"),
            url=str(row.get("url") or ""),
            source=str(row.get("source") or row.get("outlet") or ""),
            identity=str(row.get("identity") or row.get("id") or ""),
        )
        yield json.dumps(fp.to_json(), ensure_ascii=False)


def engagement_lines(rows: list[dict[str, Any]]) -> Iterable[str]:
    taxonomy = default_taxonomy()
    for n, row in enumerate(rows):
        published = _moment(row.get("published") or row.get("date"), n)
        found = extract_engagements(
            str(row.get("title") or ""), str(row.get("summary") or ""), published, taxonomy
        )
        yield repr(found)


def classification_lines(rows: list[dict[str, Any]]) -> Iterable[str]:
    classifier = Classifier(default_taxonomy())
    for n, row in enumerate(rows):
        result = classifier.classify(str(row["title"]), str(row["summary"]))
        yield json.dumps(result_row(n, result), ensure_ascii=False)


def normalise_lines() -> Iterable[str]:
    sources = [
        Source(1, SourceSpec(name="Outlet", url="https://example.com/feed/")),
        Source(2, SourceSpec(name="Gov", url="http://gov.example.org/a/b.xml", official=True)),
    ]
    for n, entry in enumerate(text_corpus.raw_entries()):
        source = sources[n % 2]
        item = normalize_entry(entry, source=source, feed_language="en-US", now=NOW)
        yield repr((item, full_text(item, entry)))


def prepare_lines(feeds: int = 25, per_feed: int = 20) -> Iterable[str]:
    judge = Judge(default_taxonomy())
    for index in range(feeds):
        fmt = FORMATS[index % len(FORMATS)]
        body, _ = render_feed(index, fmt, per_feed, 100)
        url = f"http://127.0.0.1:9/feeds/{index}"
        spec = SourceSpec(
            name=f"feed {index}",
            url=url,
            type=SOURCE_TYPES[fmt],
            selector=HTML_SELECTOR if fmt == "html" else None,
        )
        outcome = FetchOutcome(
            url=url, ok=True, status=200, body=body, headers={"content-type": CONTENT_TYPES[fmt]}
        )
        prepared = prepare(Source(index + 1, spec), outcome, set(), NOW, judge)
        for judged in prepared.items:
            fp = judged.fingerprint
            yield repr((judged.item, judged.identities))
            yield json.dumps(fp.to_json() if fp else None, ensure_ascii=False)
        yield repr((prepared.warning, prepared.fetched))


def dev_rows() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for path in DEV_SETS:
        rows += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return rows


def corpus_digests() -> dict[str, str]:
    rows = text_corpus.items()
    return {
        "normalise": _sha(normalise_lines()),
        "fingerprints": _sha(fingerprint_lines(rows)),
        "engagements": _sha(engagement_lines(rows)),
        "classification": _sha(classification_lines(rows)),
        "prepare": _sha(prepare_lines()),
    }


def dev_digests() -> dict[str, str]:
    rows = dev_rows()
    return {
        "fingerprints": _sha(fingerprint_lines(rows)),
        "engagements": _sha(engagement_lines(rows)),
    }


STAGES: dict[str, Callable[[], Iterable[str]]] = {
    "normalise": normalise_lines,
    "fingerprints": lambda: fingerprint_lines(text_corpus.items()),
    "engagements": lambda: engagement_lines(text_corpus.items()),
    "classification": lambda: classification_lines(text_corpus.items()),
    "prepare": prepare_lines,
}


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_generated_corpus_output_is_unchanged(stage: str) -> None:
    assert _sha(STAGES[stage]()) == DIGESTS[stage]


def test_development_sets_output_is_unchanged() -> None:
    """Checked whenever the development sets are beside the repository (CI has them)."""
    if not DEV_SETS or not all(p.is_file() for p in DEV_SETS):
        pytest.skip("development sets not present")
    assert dev_digests() == DEV_DIGESTS


def test_corpus_reaches_the_branches_it_is_meant_to() -> None:
    """The corpus is varied enough to catch a change: relevant items with engagements,
    fingerprints with dates, places, targets, people and previews, non-ASCII text."""
    rows = text_corpus.items(600)
    lines = [json.loads(line) for line in fingerprint_lines(rows)]
    for key in ("dates", "where", "tgt", "who", "act", "num", "md"):
        assert sum(bool(fp[key]) for fp in lines) > 20, key
    assert sum(bool(fp["fut"]) for fp in lines) > 20
    assert sum(bool(fp["wd"]) for fp in lines) > 5
    assert sum(bool(fp["ahead"]) for fp in lines) > 5
    assert sum(bool(fp["roundup"]) for fp in lines) > 5
    assert sum(line != "()" for line in engagement_lines(rows)) > 50
    relevant = [json.loads(line)["relevant"] for line in classification_lines(rows)]
    assert 0.2 < sum(relevant) / len(relevant) < 0.95
    assert sum(not (str(r["title"]) + str(r["summary"])).isascii() for r in rows) > 50


if __name__ == "__main__":  # record new digests after an intended change of results
    print("DIGESTS =", json.dumps(corpus_digests(), indent=4))
    if DEV_SETS and all(p.is_file() for p in DEV_SETS):
        print("DEV_DIGESTS =", json.dumps(dev_digests(), indent=4))
    sys.exit(0)
