"""The phrase audit: taxonomy phrases that only one labelled item uses.

A phrase found in exactly one item of a development set may have been copied from it; the
items whose judgement changes without such phrases are the ones a development score depends
on. The audit runs on a small hand-written sample always, and on the shared development set
when it sits beside the repository.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.domain.phrase_audit import (
    dependent_items,
    phrase_uses,
    single_item_phrases,
    without_phrases,
)
from bot.domain.taxonomy import Taxonomy, load_taxonomy
from bot.taxonomy_file import default_taxonomy

REPO = Path(__file__).resolve().parents[1]
SHARED = next(
    (p for p in (REPO.parent / "shared", Path("/work/shared")) if (p / "eval").is_dir()),
    None,
)
DEV_NEWS = SHARED / "eval" / "dev_news.jsonl" if SHARED else None
# Items of the development set that still depend on a phrase found only in them. Each one is
# general vocabulary (an official's name, "travel advisory", "flights"); the bound keeps
# item-specific wording from creeping back.
MAX_DEPENDENT_DEV_ITEMS = 14

SAMPLE: list[dict[str, Any]] = [
    {"id": "s1", "title": "US and China hold trade talks", "summary": "Tariffs were discussed."},
    {"id": "s2", "title": "Washington and Beijing sign trade deal", "summary": "Tariffs fall."},
    {"id": "s3", "title": "US and China agree on soybean purchases", "summary": ""},
    {"id": "s4", "title": "Chinatown fair draws crowds", "summary": "Lanterns and food."},
]


def _sample_taxonomy(extra_trade: dict[str, float] | None = None) -> Taxonomy:
    topics: dict[str, Any] = {
        t.id: {"label": t.label, "phrases": {f"{t.id} placeholder": 1.0}}
        for t in default_taxonomy().topics
    }
    topics["trade"]["phrases"] = {"tariff*": 1.0, "trade talks": 1.0, **(extra_trade or {})}
    return load_taxonomy(
        {
            "topics": topics,
            "countries": {"us": ["US", "Washington"], "cn": ["China", "Beijing"]},
            "near_misses": ["Chinatown"],
            "interactions": ["talks", "agree*", "sign"],
        }
    )


def test_phrase_uses_follow_the_classifier_matching() -> None:
    uses = {(u.phrase, u.where): u.items for u in phrase_uses(_sample_taxonomy(), SAMPLE)}
    assert uses[("tariff*", "topics.trade.phrases")] == ("s1", "s2")
    assert uses[("trade talks", "topics.trade.phrases")] == ("s1",)
    assert uses[("US", "countries.us")] == ("s1", "s3")  # capitals only: not "Lanterns"


def test_single_item_phrases_and_the_items_that_depend_on_them() -> None:
    taxonomy = _sample_taxonomy({"soybean purchases": 1.0})
    listed = single_item_phrases(taxonomy, SAMPLE)
    assert {(u.phrase, u.items) for u in listed} == {
        ("trade talks", ("s1",)),
        ("soybean purchases", ("s3",)),
    }
    one_word = single_item_phrases(taxonomy, SAMPLE, min_words=1)
    assert ("Chinatown", ("s4",)) in {(u.phrase, u.items) for u in one_word}
    dependent = dependent_items(taxonomy, SAMPLE, one_word)
    # s1 keeps `trade` through "Tariffs"; s3 loses it without the phrase copied from it; s2
    # alone names Washington and Beijing; s4 is not relevant either way.
    assert set(dependent) == {"s2", "s3"}
    assert {u.phrase for u in dependent["s3"]} == {"soybean purchases", "agree*"}


def test_without_phrases_removes_only_what_is_named() -> None:
    taxonomy = _sample_taxonomy({"soybean purchases": 1.0})
    listed = single_item_phrases(taxonomy, SAMPLE)
    lean = without_phrases(taxonomy, listed)
    assert dict(lean.topic("trade").phrases) == {"tariff*": 1.0}
    assert lean.near_misses == taxonomy.near_misses
    assert lean.resolve_topic("trade") == "trade"


def test_evaluate_phrases_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "sample.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in SAMPLE), encoding="utf-8")
    assert main(["evaluate", "phrases", str(source), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["items"] == 4
    assert all(len(u["phrase"].split()) >= 2 for u in report["single_item_phrases"])
    listed = {(u["phrase"], u["item"]) for u in report["single_item_phrases"]}
    assert ("trade talks", "s1") in listed
    assert main(["evaluate", "phrases", str(source), "--max-dependent", "0"]) == 1
    assert "items are judged differently" in capsys.readouterr().out
    assert main(["evaluate", "phrases", str(source), "--min-words", "0"]) == 2


def test_the_development_set_depends_on_few_single_item_phrases() -> None:
    """Runs on the shared development set when it is beside the repository (CI has it)."""
    rows = [{"id": "x1", "title": "US and China hold trade talks", "summary": ""}]
    if DEV_NEWS is not None and DEV_NEWS.is_file():
        rows = [json.loads(line) for line in DEV_NEWS.read_text(encoding="utf-8").splitlines()]
        assert len(rows) >= 200
    taxonomy = default_taxonomy()
    dependent = dependent_items(taxonomy, rows, single_item_phrases(taxonomy, rows, min_words=1))
    assert len(dependent) <= MAX_DEPENDENT_DEV_ITEMS, sorted(dependent)
