"""``uschina-bot evaluate classify|stories FILE.jsonl`` -- scores against labelled data."""

from __future__ import annotations

import argparse
import json
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="score the classifier or the story grouping on a labelled JSON Lines file",
        description="Score the classifier (fields relevant/topics) or the story grouping "
        "(field story) on a labelled JSON Lines file.",
    )
    sub = parser.add_subparsers(dest="target", metavar="TARGET", required=True)
    cls = sub.add_parser("classify", help="relevance and topic precision/recall/F1")
    cls.add_argument("file", metavar="FILE.jsonl")
    cls.add_argument("--taxonomy", metavar="PATH", help="taxonomy YAML (default: packaged)")
    cls.add_argument("--json", action="store_true", help="print the report as JSON")
    cls.set_defaults(handler=run_classify)
    st = sub.add_parser("stories", help="pairwise and B-cubed scores of story grouping")
    st.add_argument("file", metavar="FILE.jsonl")
    st.add_argument("--json", action="store_true", help="print the report as JSON")
    st.set_defaults(handler=run_stories)


def _rows(path: str) -> list[dict[str, Any]]:
    from bot.cli._common import open_input, read_jsonl

    stream = open_input(path)
    try:
        return list(read_jsonl(stream))
    finally:
        if path != "-":
            stream.close()


def run_classify(args: argparse.Namespace) -> int:
    from bot.domain.classify import Classifier
    from bot.domain.errors import ConfigError
    from bot.domain.metrics import classification_report
    from bot.taxonomy_file import default_taxonomy, load_taxonomy_file

    rows = _rows(args.file)
    for number, row in enumerate(rows, start=1):
        if "relevant" not in row:
            raise ConfigError(f"{args.file}: item {number} has no 'relevant' label")
    taxonomy = load_taxonomy_file(args.taxonomy) if args.taxonomy else default_taxonomy()
    results = Classifier(taxonomy).classify_many(rows)
    preds = [{"relevant": r.relevant, "topics": list(r.topics)} for r in results]
    report = classification_report(rows, preds)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    rel = report["relevance"]
    print(f"items: {report['items']}")
    print(
        f"relevance  P {rel['precision']:.3f}  R {rel['recall']:.3f}  F1 {rel['f1']:.3f}"
        f"  (tp {rel['tp']}, fp {rel['fp']}, fn {rel['fn']})"
    )
    print(f"topics     micro-F1 {report['micro_f1']:.3f}  macro-F1 {report['macro_f1']:.3f}")
    for topic, m in report["topics"].items():
        print(
            f"  {topic:<16} P {m['precision']:.3f}  R {m['recall']:.3f}  F1 {m['f1']:.3f}"
            f"  (tp {m['tp']}, fp {m['fp']}, fn {m['fn']})"
        )
    return 0


def run_stories(args: argparse.Namespace) -> int:
    from bot.domain.errors import ConfigError
    from bot.domain.metrics import clustering_report
    from bot.domain.stories import group_rows

    rows = _rows(args.file)
    for number, row in enumerate(rows, start=1):
        if "story" not in row:
            raise ConfigError(f"{args.file}: item {number} has no 'story' label")
    predicted = group_rows(rows)
    report = clustering_report([str(r["story"]) for r in rows], [str(p) for p in predicted])
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    pw, b3 = report["pairwise"], report["bcubed"]
    print(
        f"items: {report['items']}  gold stories: {report['gold_clusters']}  "
        f"predicted: {report['pred_clusters']}"
    )
    print(f"pairwise   P {pw['precision']:.3f}  R {pw['recall']:.3f}  F1 {pw['f1']:.3f}")
    print(f"B-cubed    P {b3['precision']:.3f}  R {b3['recall']:.3f}  F1 {b3['f1']:.3f}")
    return 0
