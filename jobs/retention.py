"""Retention: keep the database to a bounded size without forgetting what was seen.

Policy (``retention_days`` = R from the config file, default 365):
- items first seen more than R days ago are *tombstoned*: title, summary, topics,
  engagements and story link are emptied and they leave every listing and search, but the row
  stays, and with it the item's identity keys, so a feed still carrying an old entry cannot
  make it look new and alert again;
- tombstones older than 2×R are deleted (their identities go with them): no feed keeps an
  entry that long;
- stories last seen more than R days ago are deleted;
- replay-guard keys (processed requests) older than 1 day are deleted;
- finished deliveries (sent, failed, dropped) older than 30 days are deleted, except the
  posts of countdowns still active, which anchor their threads.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.ports import PruningStore, RequestKeyStore

log = logging.getLogger(__name__)

REQUEST_KEYS_KEPT = timedelta(days=1)
DELIVERIES_KEPT = timedelta(days=30)


@dataclass(frozen=True)
class RetentionPorts:
    """What retention needs, as the composition root wires it (``App.retention_ports``)."""

    pruning: PruningStore
    request_keys: RequestKeyStore
    retention_days: int


async def run_retention(ports: RetentionPorts, now: datetime) -> int:
    """Apply the retention policy once; returns the number of rows removed or emptied."""
    repo = ports.pruning
    window = timedelta(days=ports.retention_days)
    counts = {
        "items_deleted": await repo.delete_items(now - 2 * window),
        "items_tombstoned": await repo.tombstone_items(now - window),
        "stories": await repo.delete_stories(now - window),
        "request_keys": await ports.request_keys.forget_before(now - REQUEST_KEYS_KEPT),
        "deliveries": await repo.delete_finished_deliveries(now - DELIVERIES_KEPT),
    }
    total = sum(counts.values())
    if total:
        log.info("retention: %s", ", ".join(f"{k}={v}" for k, v in counts.items() if v))
    return total
