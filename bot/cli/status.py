"""``uschina-bot status [TOPIC] [--now ISO]``: the status board in the terminal."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from bot.cli._common import add_now, with_app
from bot.domain.textout import to_text

if TYPE_CHECKING:
    from bot.app import App


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "status",
        help="the status board: each issue's latest development and trend",
        description=(
            "Per issue: the latest development, stories in the last 7 days against the 7 "
            "before, and days since the last direct engagement. With TOPIC: that issue's last "
            "stories, upcoming countdowns and both governments' accounts side by side."
        ),
    )
    p.add_argument("topic", nargs="?", metavar="TOPIC", help="topic id, label or alias")
    add_now(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    async def body(app: App) -> int:
        from jobs.queries import status_message  # heavy: sqlalchemy

        print(to_text(await status_message(app.query_ports(), args.topic, app.now())))
        return 0

    return with_app(args, body)
