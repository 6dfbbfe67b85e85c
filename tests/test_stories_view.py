"""summarise_story: headline, outlets, topics and official flag of a story."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.domain.models import Classification, Item
from bot.domain.story_view import summarise_story

T0 = datetime(2024, 11, 16, 12, 0, tzinfo=UTC)


def _item(
    key: str, hour: int, source: str, url: str, topics: tuple[str, ...], **kw: object
) -> Item:
    published = T0.replace(hour=hour)
    return Item(
        key=key,
        source_id=1,
        url=url,
        title=f"headline {key}",
        summary="",
        published=published,
        first_seen=published,
        source_name=source,
        classification=Classification(relevant=True, topics=topics),
        **kw,  # type: ignore[arg-type]
    )


def test_summary_takes_first_item_and_unions_the_rest() -> None:
    items = [
        _item("b", 14, "Paper B", "https://b.example/x", ("trade",), id=2),
        _item("a", 12, "Wire A", "https://a.example/x", ("diplomacy",), id=1, story_key="st-1"),
        _item("c", 15, "Wire A", "https://c.example/x", ("diplomacy", "fentanyl"), id=3),
    ]
    story = summarise_story(items)
    assert story.key == "st-1"
    assert (story.title, story.url, story.first_item_id) == ("headline a", "https://a.example/x", 1)
    assert story.first_seen == T0 and story.last_seen == T0.replace(hour=15)
    assert story.topics == ("diplomacy", "trade", "fentanyl")
    assert story.outlets == ("Wire A", "Paper B")
    assert story.item_count == 3
    assert not story.official


def test_official_item_wins_a_tie_for_first() -> None:
    items = [
        _item("m", 12, "Media", "https://media.example/x", ("diplomacy",)),
        _item("o", 12, "White House", "https://www.whitehouse.gov/readout", ("diplomacy",)),
    ]
    story = summarise_story(items)
    assert story.official
    assert story.url == "https://www.whitehouse.gov/readout"
    assert story.key.startswith("st-")


def test_empty_story_is_refused() -> None:
    with pytest.raises(ValueError):
        summarise_story([])
