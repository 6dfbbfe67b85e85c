"""``uschina-bot db upgrade``: apply the migrations."""

from __future__ import annotations

import argparse

from bot.domain.errors import StorageError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("db", help="database maintenance", description="Database maintenance.")
    verbs = p.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    up = verbs.add_parser("upgrade", help="apply migrations up to the latest schema")
    up.set_defaults(handler=upgrade)


def upgrade(args: argparse.Namespace) -> int:
    from bot.config import load_settings  # heavy: pydantic
    from storage.db import safe_url, upgrade_to_head  # heavy: sqlalchemy

    settings = load_settings()
    try:
        upgrade_to_head(settings.database_url)
    except Exception as exc:
        raise StorageError(f"cannot migrate {safe_url(settings.database_url)}: {exc}") from exc
    print(f"database {safe_url(settings.database_url)} is at the latest schema")
    return 0
