"""``uschina-bot classify [TEXT] [--jsonl PATH|-] [--taxonomy PATH]`` (SPEC §4)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from bot.cli._common import cli_taxonomy, open_input, read_jsonl, write_jsonl
from bot.domain.errors import ConfigError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "classify",
        help="judge relevance and topics of text or of JSON Lines items",
        description=(
            "Classify news items. With --jsonl, reads {id, title, summary} lines and writes "
            "{id, relevant, topics, scores, why} lines in the same order. With TEXT, explains "
            "the judgement (first line = title, the rest = summary)."
        ),
    )
    parser.add_argument("text", nargs="?", metavar="TEXT", help="headline (and summary) to judge")
    parser.add_argument("--jsonl", metavar="PATH", help="JSON Lines input file, - for stdin")
    parser.add_argument(
        "--taxonomy", metavar="PATH", help="taxonomy YAML (default: the config's, else packaged)"
    )
    parser.add_argument("--json", action="store_true", help="with TEXT: print the JSON line")
    parser.set_defaults(handler=run)


def result_row(row_id: Any, result: Any) -> dict[str, Any]:
    """The output line for one classified item."""
    return {
        "id": row_id,
        "relevant": result.relevant,
        "topics": list(result.topics),
        "scores": dict(result.scores),
        "why": {k: list(v) for k, v in result.why.items()},
    }


def run(args: argparse.Namespace) -> int:
    from bot.domain.classify import Classifier  # heavy: ahocorasick

    taxonomy = cli_taxonomy(args.taxonomy)
    classifier = Classifier(taxonomy)
    if args.jsonl:
        stream = open_input(args.jsonl)
        try:
            rows = (
                result_row(
                    row.get("id"),
                    classifier.classify(str(row.get("title") or ""), str(row.get("summary") or "")),
                )
                for row in read_jsonl(stream)
            )
            write_jsonl(rows, sys.stdout)
        finally:
            if stream is not sys.stdin:
                stream.close()
        return 0
    if args.text is None:
        raise ConfigError("give TEXT to classify, or --jsonl PATH (- for stdin)")
    title, _, summary = args.text.partition("\n")
    result = classifier.classify(title, summary)
    if args.json:
        print(json.dumps(result_row(None, result), ensure_ascii=False))
        return 0
    print(explain(result, taxonomy))
    return 0


def explain(result: Any, taxonomy: Any) -> str:
    """A readable account of one classification."""
    lines = [f"relevant: {'yes' if result.relevant else 'no'}"]
    lines += [f"  {reason}" for reason in result.why.get("relevance", [])]
    for topic in result.topics:
        score = result.scores.get(topic, 0.0)
        words = ", ".join(result.why.get(topic, []))
        lines.append(f"{topic} ({taxonomy.label(topic)}) {score:.2f}: {words}")
    return "\n".join(lines)
