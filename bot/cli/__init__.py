"""The ``uschina-bot`` command line (SPEC §4).

Each command group lives in its own module exposing ``register(subparsers)``; this module only
assembles them and turns deliberate errors into one readable line and a non-zero exit code.
Heavy imports happen inside handlers so that ``--help`` stays instant.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import os
import sys
from collections.abc import Sequence

from bot.domain.errors import BotError

COMMAND_MODULES = (
    "run",
    "demo",
    "poll",
    "classify",
    "stories",
    "evaluate",
    "digest",
    "status",
    "topics",
    "sources",
    "countdown",
    "db",
    "manifest",
    "reclassify",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="uschina-bot",
        description=(
            "Watches US–China news, classifies it by issue and posts alerts, digests and "
            "countdowns to Slack and Microsoft Teams."
        ),
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"bot.cli.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 0
    try:
        return int(handler(args) or 0)
    except BotError as exc:
        print(f"uschina-bot: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into `head` and closed early: not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            raise
        _quiet_stdout()
        print("uschina-bot: error: no space left on the device (disk full)", file=sys.stderr)
        return 2


def _quiet_stdout() -> None:
    """Send what is still buffered for stdout nowhere (it cannot be written)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
