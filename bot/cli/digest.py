"""``uschina-bot digest --channel NAME [--since 24h] [--now ISO] [--format text|slack|teams]``.

Renders the digest a channel would get, without posting anything.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from bot.cli._common import add_now, with_app
from bot.domain.errors import ConfigError
from bot.domain.textout import to_text

if TYPE_CHECKING:
    from bot.app import App


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "digest",
        help="render the digest a channel would get (nothing is posted)",
        description=(
            "Render the digest CHANNEL would get now: its topics, the period since its previous "
            "digest slot (24h without a schedule, 7 days for a weekly one) or --since, and the "
            "upcoming countdowns. slack/teams print the JSON payload."
        ),
    )
    p.add_argument("--channel", required=True, metavar="NAME", help="channel name (config)")
    p.add_argument("--since", metavar="DURATION", help="period length, e.g. 24h, 7d")
    p.add_argument("--format", choices=("text", "slack", "teams"), default="text")
    add_now(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from bot.domain.schedule import parse_duration  # heavy: zoneinfo

    since = None
    if args.since:
        try:
            since = parse_duration(args.since)
        except ValueError as exc:
            # from None: the cause is our own error, whose text the message repeats
            raise ConfigError(f"--since: {exc}") from None

    async def body(app: App) -> int:
        from jobs.queries import digest_message  # heavy: sqlalchemy

        channel = await app.store.channels.by_name(args.channel)
        if channel is None:
            names = ", ".join(c.name for c in await app.store.channels.all()) or "none"
            raise ConfigError(f"no channel named '{args.channel}' (known: {names})")
        message = await digest_message(app.query_ports(), channel, app.now(), since)
        if args.format == "slack":
            from bot.chat.slack.blocks import to_slack  # heavy: slack_sdk

            print(json.dumps(to_slack(message), ensure_ascii=False, indent=2))
        elif args.format == "teams":
            from bot.chat.teams.cards import to_teams  # heavy: for --format teams only

            print(json.dumps(to_teams(message), ensure_ascii=False, indent=2))
        else:
            print(to_text(message))
        return 0

    return with_app(args, body)
