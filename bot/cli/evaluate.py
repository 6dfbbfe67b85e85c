"""``uschina-bot evaluate classify|stories|phrases FILE.jsonl...`` -- scores on labelled data.

``classify`` and ``stories`` take several labelled files and print their figures side by side
(one column per file: a development set beside a held-out one). ``phrases`` lists the taxonomy
phrases that match exactly one item of a labelled file (a sign of vocabulary copied from that
item) and the items whose judgement depends on them.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.cli._common import cli_taxonomy, open_input, read_jsonl
from bot.domain.errors import ConfigError
from bot.domain.metrics import classification_report, clustering_report


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="score the classifier or the story grouping on labelled JSON Lines files",
        description="Score the classifier (fields relevant/topics) or the story grouping "
        "(field story) on labelled JSON Lines files, side by side; or audit which taxonomy "
        "phrases only one labelled item uses.",
    )
    sub = parser.add_subparsers(dest="target", metavar="TARGET", required=True)
    cls = sub.add_parser(
        "classify",
        help="relevance and topic precision/recall/F1, one column per file",
        description="Relevance P/R/F1, topic micro- and macro-F1 and per-topic F1 of each "
        "labelled file, side by side.",
    )
    cls.add_argument("files", nargs="+", metavar="FILE.jsonl")
    _taxonomy_option(cls)
    _common_options(cls)
    cls.set_defaults(handler=run_classify)
    st = sub.add_parser(
        "stories",
        help="pairwise and B-cubed scores of story grouping, one column per file",
        description="Pairwise and B-cubed precision/recall/F1 of each labelled file, side by side.",
    )
    st.add_argument("files", nargs="+", metavar="FILE.jsonl")
    _common_options(st)
    st.set_defaults(handler=run_stories)
    ph = sub.add_parser(
        "phrases",
        help="taxonomy phrases that match exactly one item of a labelled file",
        description="List the taxonomy phrases of at least --min-words words found in exactly "
        "one item, and the items whose judgement changes without the phrases found only in "
        "them (the items a development score depends on).",
    )
    ph.add_argument("file", metavar="FILE.jsonl")
    _taxonomy_option(ph)
    ph.add_argument(
        "--min-words", type=int, default=2, metavar="N", help="shortest phrase listed (default 2)"
    )
    ph.add_argument(
        "--max-dependent",
        type=int,
        metavar="N",
        help="exit with status 1 when more than N items depend on single-item phrases",
    )
    ph.add_argument("--json", action="store_true", help="print the audit as JSON")
    ph.set_defaults(handler=run_phrases)


def _taxonomy_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--taxonomy", metavar="PATH", help="taxonomy YAML (default: the config's, else packaged)"
    )


def _common_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--names",
        metavar="A,B",
        help="column names, comma-separated, one per file (default: the file names)",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def _rows(path: str, *, name_file: bool = False) -> list[dict[str, Any]]:
    """The rows of a JSON Lines file; with ``name_file`` (several files) errors name it."""

    stream = open_input(path)
    try:
        return list(read_jsonl(stream))
    except ConfigError as exc:
        if not name_file:
            raise
        # from None: the cause is this same message without the file name
        raise ConfigError(f"{path}: {exc}") from None
    finally:
        if path != "-":
            stream.close()


def _labelled(path: str, field: str, *, name_file: bool = False) -> list[dict[str, Any]]:
    rows = _rows(path, name_file=name_file)
    for number, row in enumerate(rows, start=1):
        if field not in row:
            raise ConfigError(f"{path}: item {number} has no {field!r} label")
    if not rows:
        raise ConfigError(f"{path}: no items")
    return rows


def column_names(paths: Sequence[str], names: str | None) -> list[str]:
    """One column name per file: ``--names`` when given, else the file names (with their
    folder when two files share a name)."""

    if names:
        given = [n.strip() for n in names.split(",")]
        if len(given) != len(paths) or not all(given):
            raise ConfigError(f"--names needs {len(paths)} non-empty names, got {names!r}")
        return given
    stems = [Path(p).stem if p != "-" else "stdin" for p in paths]
    return [
        f"{Path(p).parent.name}/{stem}" if stems.count(stem) > 1 else stem
        for p, stem in zip(paths, stems, strict=True)
    ]


def table(names: Sequence[str], rows: Sequence[tuple[str, Sequence[str]]]) -> str:
    """A plain-text table: a label column, then one right-aligned column per file."""
    label_width = max([len(label) for label, _ in rows] + [len("measure")])
    widths = [max([len(n)] + [len(cells[i]) for _, cells in rows]) for i, n in enumerate(names)]
    head = "measure".ljust(label_width) + "".join(
        f"  {n:>{w}}" for n, w in zip(names, widths, strict=True)
    )
    lines = [head, "-" * len(head)]
    for label, cells in rows:
        lines.append(
            label.ljust(label_width)
            + "".join(f"  {c:>{w}}" for c, w in zip(cells, widths, strict=True))
        )
    return "\n".join(lines)


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def classification_table(names: Sequence[str], reports: Sequence[dict[str, Any]]) -> str:
    """Relevance P/R/F1, topic micro/macro-F1 and per-topic F1 (with gold counts)."""
    rows: list[tuple[str, list[str]]] = [("items", [str(r["items"]) for r in reports])]
    for key, label in (("precision", "P"), ("recall", "R"), ("f1", "F1")):
        rows.append((f"relevance {label}", [_fmt(r["relevance"][key]) for r in reports]))
    rows.append(("topic micro-F1", [_fmt(r["micro_f1"]) for r in reports]))
    rows.append(("topic macro-F1", [_fmt(r["macro_f1"]) for r in reports]))
    topics = sorted({t for r in reports for t in r["topics"]})
    for topic in topics:
        cells = []
        for r in reports:
            m = r["topics"].get(topic)
            if m is None:
                cells.append("—")
            else:
                cells.append(f"{m['f1']:.3f} ({m['tp'] + m['fn']})")
        rows.append((f"  {topic} F1 (gold)", cells))
    return table(names, rows)


def run_classify(args: argparse.Namespace) -> int:
    from bot.domain.classify import Classifier  # heavy: ahocorasick

    names = column_names(args.files, args.names)
    several = len(args.files) > 1
    datasets = [_labelled(path, "relevant", name_file=several) for path in args.files]
    classifier = Classifier(cli_taxonomy(args.taxonomy))
    reports = []
    for rows in datasets:
        results = classifier.classify_many(rows)
        preds = [{"relevant": r.relevant, "topics": list(r.topics)} for r in results]
        reports.append(classification_report(rows, preds))
    if args.json:
        body: Any = reports[0] if len(reports) == 1 else dict(zip(names, reports, strict=True))
        print(json.dumps(body, indent=2))
        return 0
    print(classification_table(names, reports))
    return 0


def stories_table(names: Sequence[str], reports: Sequence[dict[str, Any]]) -> str:
    """Items, gold and predicted stories, pairwise and B-cubed P/R/F1."""
    rows: list[tuple[str, list[str]]] = [
        ("items", [str(r["items"]) for r in reports]),
        ("gold stories", [str(r["gold_clusters"]) for r in reports]),
        ("predicted stories", [str(r["pred_clusters"]) for r in reports]),
    ]
    for part, title in (("pairwise", "pairwise"), ("bcubed", "B-cubed")):
        for key, label in (("precision", "P"), ("recall", "R"), ("f1", "F1")):
            rows.append((f"{title} {label}", [_fmt(r[part][key]) for r in reports]))
    return table(names, rows)


def run_stories(args: argparse.Namespace) -> int:
    from bot.domain.stories import group_rows  # heavy: story scoring

    names = column_names(args.files, args.names)
    reports = []
    for path in args.files:
        rows = _labelled(path, "story", name_file=len(args.files) > 1)
        predicted = group_rows(rows)
        reports.append(
            clustering_report([str(r["story"]) for r in rows], [str(p) for p in predicted])
        )
    if args.json:
        body: Any = reports[0] if len(reports) == 1 else dict(zip(names, reports, strict=True))
        print(json.dumps(body, indent=2))
        return 0
    print(stories_table(names, reports))
    return 0


def run_phrases(args: argparse.Namespace) -> int:
    from bot.domain.phrase_audit import dependent_items, single_item_phrases  # heavy: ahocorasick

    if args.min_words < 1:
        raise ConfigError(f"--min-words must be at least 1, got {args.min_words}")
    rows = _rows(args.file)
    taxonomy = cli_taxonomy(args.taxonomy)
    listed = single_item_phrases(taxonomy, rows, min_words=args.min_words)
    dependent = dependent_items(taxonomy, rows, single_item_phrases(taxonomy, rows, min_words=1))
    if args.json:
        report = {
            "items": len(rows),
            "min_words": args.min_words,
            "single_item_phrases": [
                {"phrase": u.phrase, "where": u.where, "item": u.items[0]} for u in listed
            ],
            "dependent_items": {
                item: sorted({u.phrase for u in uses}) for item, uses in dependent.items()
            },
        }
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        print(
            f"{len(listed)} taxonomy phrases of {args.min_words}+ words match exactly one of "
            f"{len(rows)} items in {args.file}:"
        )
        for use in listed:
            print(f"  {use.items[0]:<10} {use.where:<44} {use.phrase}")
        print(
            f"{len(dependent)} items are judged differently without the phrases found only in them:"
        )
        for item, uses in dependent.items():
            print(f"  {item:<10} {', '.join(sorted({u.phrase for u in uses}))}")
    if args.max_dependent is not None and len(dependent) > args.max_dependent:
        print(f"more than {args.max_dependent} dependent items")
        return 1
    return 0
