"""Keeping a ``Story`` up to date as items join it (pure).

A story's ``first_seen``/``last_seen`` are the earliest and latest publication times of its
items (publication falls back to first-seen time when a feed gives none), so digests and the
status board place a story when it happened, not when it was fetched.
"""

from __future__ import annotations

from dataclasses import replace

from bot.domain.models import Item, Story


def open_story(key: str, item: Item) -> Story:
    """A new story whose first item is ``item``."""
    return Story(
        key=key,
        title=item.title,
        url=item.url,
        first_seen=item.published,
        last_seen=item.published,
        topics=item.topics,
        outlets=(item.source_name,) if item.source_name else (),
        official=item.official,
        item_count=1,
        first_item_id=item.id,
    )


def extend_story(story: Story, item: Item) -> Story:
    """``story`` with ``item`` added: outlets in order of first report, topics united.

    The headline stays the first item's, except that an official source's headline replaces
    a media one (official accounts are the reference for an event).
    """
    outlets = story.outlets
    if item.source_name and item.source_name not in outlets:
        outlets = (*outlets, item.source_name)
    topics = tuple(dict.fromkeys((*story.topics, *item.topics)))
    title, url = story.title, story.url
    if item.official and not story.official:
        title, url = item.title, item.url
    return replace(
        story,
        title=title,
        url=url,
        first_seen=min(story.first_seen, item.published),
        last_seen=max(story.last_seen, item.published),
        topics=topics,
        outlets=outlets,
        official=story.official or item.official,
        item_count=story.item_count + 1,
    )
