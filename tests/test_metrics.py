"""Metrics on tiny hand-made examples."""

from __future__ import annotations

import pytest

from bot.domain.metrics import classification_report, clustering_report


def test_classification_report_counts() -> None:
    gold = [
        {"relevant": True, "topics": ["taiwan", "military"]},
        {"relevant": True, "topics": ["trade"]},
        {"relevant": False, "topics": []},
        {"relevant": False, "topics": []},
    ]
    pred = [
        {"relevant": True, "topics": ["taiwan"]},
        {"relevant": False, "topics": []},
        {"relevant": True, "topics": ["trade"]},
        {"relevant": False, "topics": []},
    ]
    report = classification_report(gold, pred)
    rel = report["relevance"]
    assert (rel["tp"], rel["fp"], rel["fn"]) == (1, 1, 1)
    assert rel["precision"] == 0.5 and rel["recall"] == 0.5 and rel["f1"] == 0.5
    assert report["topics"]["taiwan"]["f1"] == 1.0
    assert report["topics"]["military"]["f1"] == 0.0
    assert report["topics"]["trade"] == {
        "precision": 0.0,
        "recall": 0.0,
        "f1": 0.0,
        "tp": 0,
        "fp": 1,
        "fn": 1,
    }
    # micro: tp 1 (taiwan), fp 1 (trade), fn 2 (military, trade) -> P 1/2, R 1/3 -> F1 2/5
    assert report["micro_f1"] == 0.4
    assert report["macro_f1"] == round(1 / 3, 4)


def test_classification_report_rejects_length_mismatch() -> None:
    with pytest.raises(ValueError):
        classification_report([{"relevant": True}], [])


def test_clustering_perfect_and_merged() -> None:
    perfect = clustering_report(["a", "a", "b"], ["x", "x", "y"])
    assert perfect["pairwise"]["f1"] == 1.0 and perfect["bcubed"]["f1"] == 1.0

    merged = clustering_report(["a", "a", "b"], ["x", "x", "x"])
    pw = merged["pairwise"]
    assert (pw["tp"], pw["fp"], pw["fn"]) == (1, 2, 0)
    assert pw["precision"] == round(1 / 3, 4) and pw["recall"] == 1.0
    # B-cubed precision: (2/3 + 2/3 + 1/3) / 3 = 5/9; recall 1
    assert merged["bcubed"]["precision"] == round(5 / 9, 4)
    assert merged["bcubed"]["recall"] == 1.0


def test_clustering_all_singletons() -> None:
    report = clustering_report(["a", "a", "a"], ["1", "2", "3"])
    assert report["pairwise"]["recall"] == 0.0 and report["pairwise"]["f1"] == 0.0
    assert report["bcubed"]["precision"] == 1.0
    assert report["bcubed"]["recall"] == round(1 / 3, 4)
