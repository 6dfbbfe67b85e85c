"""Evaluation metrics for the classifier and the story grouping. Pure.

- :func:`classification_report`: relevance precision/recall/F1, per-topic P/R/F1 and
  micro/macro F1 over rows carrying ``relevant`` and ``topics``.
- :func:`clustering_report`: pairwise and B-cubed precision/recall/F1 of predicted cluster
  labels against gold labels (one label per item, same order).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any


def prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    """Precision, recall, F1 (0.0 where undefined) and the counts."""
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "tp": tp,
        "fp": fp,
        "fn": fn,
    }


def _topics(row: Mapping[str, Any]) -> set[str]:
    return {str(t) for t in (row.get("topics") or ())}


def classification_report(
    gold_rows: Sequence[Mapping[str, Any]], pred_rows: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """Compare predictions with gold labels, row by row (same order, same length)."""
    if len(gold_rows) != len(pred_rows):
        raise ValueError(f"{len(gold_rows)} gold rows but {len(pred_rows)} predictions")
    rel = Counter[str]()
    per: dict[str, Counter[str]] = defaultdict(Counter)
    for gold, pred in zip(gold_rows, pred_rows, strict=True):
        g, p = bool(gold.get("relevant")), bool(pred.get("relevant"))
        rel["tp" if g and p else "fp" if p else "fn" if g else "tn"] += 1
        gt, pt = _topics(gold), _topics(pred)
        for topic in gt | pt:
            per[topic]["tp" if topic in gt and topic in pt else "fp" if topic in pt else "fn"] += 1
    topics = {t: prf(c["tp"], c["fp"], c["fn"]) for t, c in sorted(per.items())}
    totals = Counter[str]()
    for c in per.values():
        totals.update(c)
    gold_topics = sorted({t for row in gold_rows for t in _topics(row)})
    macro = [topics[t]["f1"] for t in gold_topics] if gold_topics else []
    return {
        "items": len(gold_rows),
        "relevance": prf(rel["tp"], rel["fp"], rel["fn"]),
        "topics": topics,
        "micro_f1": prf(totals["tp"], totals["fp"], totals["fn"])["f1"],
        "macro_f1": round(sum(macro) / len(macro), 4) if macro else 0.0,
    }


def _clusters(labels: Iterable[str]) -> dict[str, set[int]]:
    out: dict[str, set[int]] = defaultdict(set)
    for index, label in enumerate(labels):
        out[label].add(index)
    return out


def _pairs(size: int) -> int:
    return size * (size - 1) // 2


def clustering_report(gold_labels: Sequence[str], pred_labels: Sequence[str]) -> dict[str, Any]:
    """Pairwise and B-cubed scores of a predicted clustering against the gold one."""
    if len(gold_labels) != len(pred_labels):
        raise ValueError(f"{len(gold_labels)} gold labels but {len(pred_labels)} predictions")
    n = len(gold_labels)
    gold, pred = _clusters(gold_labels), _clusters(pred_labels)
    joint = Counter(zip(gold_labels, pred_labels, strict=True))
    tp = sum(_pairs(c) for c in joint.values())
    gold_pairs = sum(_pairs(len(m)) for m in gold.values())
    pred_pairs = sum(_pairs(len(m)) for m in pred.values())
    pairwise = prf(tp, pred_pairs - tp, gold_pairs - tp)
    precision = recall = 0.0
    for g, p in zip(gold_labels, pred_labels, strict=True):
        overlap = joint[(g, p)]
        precision += overlap / len(pred[p])
        recall += overlap / len(gold[g])
    bp, br = (precision / n, recall / n) if n else (0.0, 0.0)
    bf = 2 * bp * br / (bp + br) if bp + br else 0.0
    return {
        "items": n,
        "gold_clusters": len(gold),
        "pred_clusters": len(pred),
        "pairwise": pairwise,
        "bcubed": {"precision": round(bp, 4), "recall": round(br, 4), "f1": round(bf, 4)},
    }
