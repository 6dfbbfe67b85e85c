"""Helpers for the CLI tests of digest, status and countdown: a seeded database + config."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

import pytest
from insights_samples import seed

from storage.db import Database, upgrade_to_head
from storage.store import Store

CONFIG = """\
timezone: UTC
sources: []
channels:
  - name: china-desk
    console: true
    topics: [taiwan, diplomacy]
    mode: both
    digest: {cron: "0 8 * * *"}
countdowns:
  - {name: COP29, date: 2024-11-11, where: Baku}
  - {name: Biden-Xi call, after: 2024-09-01, before: 2024-10-31, tentative: true}
"""


def prepare(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, news: bool = True) -> str:
    """A migrated (and seeded) SQLite database and a config file, wired through the env."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    upgrade_to_head(url)
    if news:

        async def fill() -> None:
            store = Store(Database(url))
            try:
                await seed(store)
            finally:
                await store.close()

        asyncio.run(fill())
    config = tmp_path / "uschina-bot.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("USCHINA_BOT_CONFIG", str(config))
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "TEAMS_OUTGOING_SECRET"):
        monkeypatch.delenv(name, raising=False)
    return url


def run_cli(*argv: str) -> int:
    """Parse with only the insights command modules and run the chosen handler."""
    from bot.cli import countdown, digest, status

    parser = argparse.ArgumentParser(prog="uschina-bot")
    sub = parser.add_subparsers(dest="command")
    for module in (digest, status, countdown):
        module.register(sub)
    args = parser.parse_args(list(argv))
    return int(args.handler(args))
