"""One source's items are grouped into the same stories whatever order its feed lists them."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from test_stories_lookalikes import ITEMS

from bot.domain.ingest import Judged, OpenStories, Prepared, Routes, decide, item_fingerprint
from bot.domain.models import Classification, FetchOutcome, Item, Source, SourceSpec
from bot.domain.stories import StoryIndex

SOURCE = Source(id=3, spec=SourceSpec(name="Mixed wire", url="https://wire.example/feed"))
NOW = datetime(2026, 10, 11, tzinfo=UTC)


def _judged(row: dict[str, str]) -> Judged:
    published = datetime.fromisoformat(row["published"].replace("Z", "+00:00"))
    item = Item(
        key=row["id"],
        source_id=SOURCE.id,
        url=row["url"],
        title=row["title"],
        summary=row["summary"],
        published=published,
        first_seen=NOW,
        source_name=row["source"],
        classification=Classification(relevant=True, topics=("diplomacy",)),
    )
    return Judged(item, (row["id"],), item_fingerprint(item))


def _stories_by_item(judged: list[Judged]) -> dict[str, str | None]:
    batch = decide(
        SOURCE,
        FetchOutcome(url=SOURCE.url, ok=True, status=200),
        Prepared(tuple(judged), None, len(judged)),
        OpenStories(StoryIndex(), {}),
        Routes(channels=(), subscriptions=(), burst_limit=5),
        NOW,
        labels=str,
        jitter=0.0,
    )
    assert [item.key for item, _ in batch.items] == [j.item.key for j in judged]
    return {item.key: item.story_key for item, _ in batch.items}


def test_feed_order_does_not_change_the_stories() -> None:
    judged = [_judged(row) for row in ITEMS.values()]
    expected = _stories_by_item(judged)
    assert 1 < len(set(expected.values())) < len(judged)
    for seed in range(8):
        shuffled = judged[:]
        random.Random(seed).shuffle(shuffled)
        assert _stories_by_item(shuffled) == expected
