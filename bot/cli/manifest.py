"""``uschina-bot manifest [--socket-mode] [--url https://host]``: print the Slack app manifest."""

from __future__ import annotations

import argparse
import re

from bot.domain.errors import ConfigError

_URL = re.compile(
    r"^https://[^\s/?#]+(?:/[^\s?#]*)?$|^http://(?:localhost|127\.0\.0\.1)(?::\d+)?/?$"
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "manifest",
        help="print the Slack app manifest (YAML) to create the app from",
        description=(
            "Print a complete Slack app manifest. Paste it at api.slack.com/apps -> Create New "
            "App -> From a manifest. HTTP mode needs --url (the public https address of "
            "`uschina-bot run`); Socket Mode needs no public URL."
        ),
    )
    p.add_argument(
        "--socket-mode", action="store_true", help="Socket Mode (set SLACK_APP_TOKEN when running)"
    )
    p.add_argument("--url", metavar="https://host", help="public base URL of the bot (HTTP mode)")
    p.set_defaults(handler=print_manifest)


def print_manifest(args: argparse.Namespace) -> int:
    from bot.chat.slack.manifest import manifest_yaml  # heavy: yaml

    if args.url and not _URL.match(args.url):
        raise ConfigError(f"--url must be an https:// base URL, got {args.url!r}")
    print(manifest_yaml(socket_mode=args.socket_mode, url=args.url), end="")
    return 0
