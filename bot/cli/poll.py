"""``uschina-bot poll --once``: one full cycle, then a summary."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
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


@dataclass(frozen=True)
class DeliveryCounts:
    """Deliveries around one ``poll --once``. Invariant: ``pending_before`` = ``queued`` (by this
    poll) + ``queued_earlier``, and = ``posted`` + ``still_pending`` + ``not_posted``."""

    queued: int  # alerts this poll put in the outbox
    pending_before: int  # everything pending when delivery started (this poll's included)
    posted: int  # posted to a channel now
    still_pending: int  # left for the service (paced, retried, or over --deliver-timeout)

    @property
    def queued_earlier(self) -> int:
        return max(self.pending_before - self.queued, 0)

    @property
    def not_posted(self) -> int:
        """Given up or paused (e.g. the channel is gone) during this delivery."""
        return max(self.pending_before - self.posted - self.still_pending, 0)

    def line(self) -> str:
        text = (
            f"deliveries: {self.queued} queued by this poll, {self.queued_earlier} queued "
            f"earlier; posted now: {self.posted}; still pending: {self.still_pending}"
        )
        if self.not_posted:
            text += f"; not posted (failed or paused): {self.not_posted}"
        return text

    def as_json(self) -> dict[str, int]:
        return {
            "queued_earlier": self.queued_earlier,
            "delivered": self.posted,
            "pending": self.still_pending,
            "not_delivered": self.not_posted,
        }


def handle(args: argparse.Namespace) -> int:
    async def body(app: App) -> int:
        from jobs.deliver import DeliveryWorker  # heavy: sqlalchemy
        from jobs.poll import poll_due, summary_json  # heavy: sqlalchemy

        summary = await poll_due(app.poll_ports(), all_sources=True, progress=progress_printer())  # type: ignore[arg-type]
        pending_before = (await app.store.deliveries.counts()).get("pending", 0)
        sent = 0
        if not args.no_deliver:
            sent = await DeliveryWorker(app.delivery_ports()).drain(timeout_s=args.deliver_timeout)
        waiting = (await app.store.deliveries.counts()).get("pending", 0)
        counts = DeliveryCounts(summary.deliveries, pending_before, sent, waiting)
        if args.json:
            print(json.dumps(summary_json(summary) | counts.as_json()))
        else:
            print(summary.line())
            print(counts.line())
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
