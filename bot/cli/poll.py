"""``uschina-bot poll --once``: one full cycle, then a summary."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from bot.cli._common import add_now, is_tty, with_app

if TYPE_CHECKING:
    from bot.app import App
    from jobs.poll import SourceResult


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "poll",
        help="fetch every enabled source once, store, classify and deliver",
        description=(
            "One full cycle: fetch every enabled source, parse, dedupe, classify, store and "
            "deliver what subscriptions ask for. Exits 0 even when some sources fail."
        ),
    )
    p.add_argument("--once", action="store_true", required=True, help="run one cycle and exit")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--no-deliver", action="store_true", help="queue deliveries without sending")
    p.add_argument(
        "--deliver-timeout",
        type=float,
        default=20.0,
        metavar="SECONDS",
        help="how long to keep delivering before leaving the rest queued (default 20)",
    )
    add_now(p)
    p.set_defaults(handler=handle)


def progress_printer(total_width: int = 40) -> object:
    tty = is_tty(sys.stderr)

    def show(done: int, total: int, result: SourceResult) -> None:
        mark = {"ok": "ok", "not_modified": "unchanged", "failed": "FAILED"}[result.status]
        detail = f" — {result.error}" if result.error else f" (+{result.new_items} new)"
        if tty:
            bar = "#" * int(total_width * done / total)
            sys.stderr.write(f"\r[{bar:<{total_width}}] {done}/{total} sources")
            if done == total:
                sys.stderr.write("\n")
            if result.status == "failed":
                sys.stderr.write(f"\r\x1b[K  {result.name}: {mark}{detail}\n")
        else:
            sys.stderr.write(f"[{done}/{total}] {result.name}: {mark}{detail}\n")
        sys.stderr.flush()

    return show


def handle(args: argparse.Namespace) -> int:
    async def body(app: App) -> int:
        from jobs.deliver import DeliveryWorker
        from jobs.poll import poll_due, summary_json

        summary = await poll_due(app, all_sources=True, progress=progress_printer())  # type: ignore[arg-type]
        sent = 0
        if not args.no_deliver:
            sent = await DeliveryWorker(app).drain(timeout_s=args.deliver_timeout)
        waiting = (await app.store.deliveries.counts()).get("pending", 0)
        if args.json:
            print(json.dumps(summary_json(summary) | {"delivered": sent, "pending": waiting}))
        else:
            print(summary.line() + f"; delivered: {sent}")
            if waiting:
                print(
                    f"  {waiting} deliveries still pending (retried by `uschina-bot run`; "
                    "see `uschina-bot run` logs for why)"
                )
            for r in summary.results:
                if r.status == "failed":
                    print(f"  failed: {r.name} — {r.error}")
        return 0

    return with_app(args, body)
