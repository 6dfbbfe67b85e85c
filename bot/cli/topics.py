"""``uschina-bot topics``: the issue topics with their ids, labels and aliases."""

from __future__ import annotations

import argparse

from bot.cli._common import cli_taxonomy


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "topics",
        help="list the issue topics (ids, labels, aliases) used by status, digests and commands",
        description="List the topics of the taxonomy: id, label and the aliases commands accept.",
    )
    p.add_argument(
        "--taxonomy",
        metavar="PATH",
        help="a taxonomy file (default: the config file's taxonomy, else the built-in one)",
    )
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    taxonomy = cli_taxonomy(args.taxonomy)
    for topic_id in taxonomy.topic_ids:
        topic = taxonomy.topic(topic_id)
        aliases = ", ".join(getattr(topic, "aliases", ()) or ())
        print(
            f"{topic_id:<16} {taxonomy.label(topic_id)}"
            + (f"  (also: {aliases})" if aliases else "")
        )
    return 0
