"""``uschina-bot stories --jsonl PATH|-``: group JSON Lines items into same-event stories.

Input lines: ``{"id", "title", "summary"}`` with optional ``published`` (or ``date``), ``url``
and ``source`` (or ``outlet``); other keys are ignored. Output: one line per input, same order,
``{"id": ..., "story": KEY}``; items reporting the same event share a KEY.
"""

from __future__ import annotations

import argparse
from typing import Any

from bot.cli._common import open_input, read_jsonl, write_jsonl


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "stories",
        help="group news items that report the same event into stories",
        description=(
            "Read JSON Lines items and print, for each, the key of the story it belongs to. "
            "Items from different outlets that report one event share a key."
        ),
    )
    parser.add_argument(
        "--jsonl",
        metavar="PATH",
        required=True,
        help='JSON Lines file of {"id", "title", "summary"[, "published", "url", "source"]} '
        "objects, or - for standard input",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import sys

    from bot.domain.stories import group_rows  # heavy: story scoring

    stream = open_input(args.jsonl)
    try:
        rows = list(read_jsonl(stream))
    finally:
        if args.jsonl != "-":
            stream.close()
    keys = group_rows(rows)
    lines = ({"id": row.get("id"), "story": key} for row, key in zip(rows, keys, strict=True))
    write_jsonl(lines, sys.stdout)
    return 0
