"""``uschina-bot reclassify``: judge every stored item again after a taxonomy change."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from bot.cli._common import is_tty, with_app

if TYPE_CHECKING:
    from bot.app import App

BATCH = 500


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "reclassify",
        help="re-run relevance and topic classification on every stored item",
        description=(
            "Re-run classification on stored items (after editing the taxonomy). Changes the "
            "stored topics only: nothing is re-alerted."
        ),
    )
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    async def body(app: App) -> int:
        ids = await app.store.items.all_ids()
        changed = 0
        tty = is_tty(sys.stderr)
        for start in range(0, len(ids), BATCH):
            items = await app.store.items.many(ids[start : start + BATCH])
            updates = []
            for item in items:
                new = app.classifier.classify(item.title, item.summary)
                old = item.classification
                if old is None or (old.relevant, old.topics) != (new.relevant, new.topics):
                    updates.append((item, new))
            await app.store.items.reclassify(updates)
            changed += len(updates)
            done = min(start + BATCH, len(ids))
            sys.stderr.write(f"\r{done}/{len(ids)} items" if tty else f"{done}/{len(ids)} items\n")
        if tty and ids:
            sys.stderr.write("\n")
        print(f"{len(ids)} items judged again; {changed} changed relevance or topics")
        return 0

    return with_app(args, body)
