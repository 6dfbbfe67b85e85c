"""A story's summary from its items (what alerts, digests and the status board show).

Pure. ``first_seen``/``last_seen`` are the earliest and latest publication times of the items;
the headline and link are those of the earliest item, an official item winning a tie.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain.models import Item, Story, ensure_utc
from bot.domain.official import is_official
from bot.domain.stories import story_key


def _is_official(item: Item) -> bool:
    return item.official or is_official(item.url, item.source_name)


def _outlet(item: Item) -> str:
    return item.source_name or f"source {item.source_id}"


def summarise_story(items: Sequence[Item]) -> Story:
    """Summarise the items of one story (at least one item; order does not matter)."""
    if not items:
        raise ValueError("a story needs at least one item")
    ordered = sorted(
        items, key=lambda i: (ensure_utc(i.published), not _is_official(i), i.first_seen, i.key)
    )
    first = ordered[0]
    topics: list[str] = []
    outlets: list[str] = []
    for item in ordered:
        topics.extend(t for t in item.topics if t not in topics)
        if _outlet(item) not in outlets:
            outlets.append(_outlet(item))
    key = next((i.story_key for i in ordered if i.story_key), None)
    return Story(
        key=key or story_key(first.url or first.key),
        title=first.title,
        url=first.url,
        first_seen=ensure_utc(first.published),
        last_seen=max(ensure_utc(i.published) for i in ordered),
        topics=tuple(topics),
        outlets=tuple(outlets),
        official=any(_is_official(i) for i in ordered),
        item_count=len(ordered),
        first_item_id=first.id,
    )
