"""The outbox delivery worker run alone: ``python -m bot.cli.deliver [--once] ...``.

An entry point (it builds the ``App``), so it lives beside the command line; the worker
itself is ``jobs.deliver.DeliveryWorker``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from datetime import timedelta
from typing import Any

from bot.app import build_app
from bot.config import load_settings
from bot.domain.ports import Paced
from jobs.deliver import DeliveryPolicy, DeliveryWorker


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bot.cli.deliver", description="Run the outbox delivery worker alone."
    )
    parser.add_argument("--database-url", help="overrides DATABASE_URL")
    parser.add_argument("--once", action="store_true", help="one pass, then exit")
    parser.add_argument("--lease-seconds", type=float, default=60.0)
    parser.add_argument("--min-interval", type=float, help="override the per-channel pacing")
    parser.add_argument("--instance-id", help="worker name used for claims")
    parser.add_argument(
        "--no-upgrade",
        action="store_true",
        help="do not run database migrations at start (the database is already at head)",
    )
    return parser.parse_args(argv)


async def _main(args: argparse.Namespace) -> int:
    env: dict[str, Any] = dict(os.environ)
    if args.database_url:
        env["DATABASE_URL"] = args.database_url
    app = await build_app(load_settings(env), sync_config=False, upgrade=not args.no_upgrade)
    if args.instance_id:
        app.instance_id = args.instance_id
    if args.min_interval is not None:
        for notifier in app.notifiers.values():
            if isinstance(notifier, Paced):
                notifier.min_interval_s = args.min_interval
    policy = DeliveryPolicy(lease=timedelta(seconds=args.lease_seconds))
    worker = DeliveryWorker(app.delivery_ports(), policy=policy)
    try:
        if args.once:
            print(await worker.run_once())
            return 0
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        await worker.run_forever(stop)
        return 0
    finally:
        await app.close()


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    return asyncio.run(_main(_parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
