"""Pure digest assembly: grouping, ranking, counts, periods and the weekly chart."""

from __future__ import annotations

import struct
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.domain.digest import (
    build_digest,
    chart_png,
    digest_period,
    is_weekly,
    rank_key,
    weekly_series,
)
from bot.domain.models import Story
from bot.domain.schedule import parse_cron
from bot.domain.views import DigestView

END = datetime(2024, 9, 10, 8, 0, tzinfo=UTC)
LABELS = {"diplomacy": "Diplomacy", "taiwan": "Taiwan", "trade": "Trade", "ai": "AI"}


def story(
    key: str,
    topics: tuple[str, ...],
    hours_ago: float,
    outlets: tuple[str, ...] = ("Reuters",),
    official: bool = False,
) -> Story:
    at = END - timedelta(hours=hours_ago)
    return Story(
        key=key,
        title=f"Story {key}",
        url=f"https://news.example/{key}",
        first_seen=at,
        last_seen=at,
        topics=topics,
        outlets=outlets,
        official=official,
        item_count=len(outlets),
    )


def digest(stories: list[Story], previous: list[Story] | None = None, **kw: Any) -> DigestView:
    args: dict[str, Any] = {
        "channel_name": "china-desk",
        "timezone": "UTC",
        "period_start": END - timedelta(hours=24),
        "period_end": END,
        "stories": stories,
        "previous_stories": previous or [],
        "topics": ["*"],
        "labels": LABELS,
        "top": 2,
    }
    args.update(kw)
    return build_digest(**args)


def test_each_story_appears_once_under_its_first_followed_topic() -> None:
    view = digest([story("a", ("diplomacy", "taiwan"), 2), story("b", ("taiwan",), 3)])
    by_topic = {s.topic: [x.key for x in s.stories] for s in view.sections}
    assert by_topic == {"diplomacy": ["a"], "taiwan": ["b"]}
    only_taiwan = digest([story("a", ("diplomacy", "taiwan"), 2)], topics=["taiwan"])
    assert [(s.topic, s.stories[0].key) for s in only_taiwan.sections] == [("taiwan", "a")]


def test_ranking_outlets_then_official_then_recency() -> None:
    stories = [
        story("recent", ("taiwan",), 1),
        story("official", ("taiwan",), 5, official=True),
        story("wide", ("taiwan",), 9, outlets=("Reuters", "AP", "SCMP")),
        story("old", ("taiwan",), 20),
    ]
    assert [s.key for s in sorted(stories, key=rank_key)] == ["wide", "official", "recent", "old"]
    section = digest(stories, top=2).sections[0]
    assert [s.key for s in section.stories] == ["wide", "official"]
    assert (section.count, section.more) == (4, 2)


def test_counts_compare_with_previous_period_and_busiest_first() -> None:
    now_stories = [story(f"t{i}", ("taiwan",), i + 1) for i in range(3)]
    now_stories.append(story("d1", ("diplomacy",), 1))
    before = [story(f"p{i}", ("diplomacy",), 30 + i) for i in range(5)]
    view = digest(now_stories, before)
    assert [(s.topic, s.count, s.previous_count) for s in view.sections] == [
        ("taiwan", 3, 0),
        ("diplomacy", 1, 5),
    ]


def test_quiet_period_has_no_sections_and_out_of_period_stories_are_ignored() -> None:
    view = digest([story("late", ("taiwan",), -1), story("early", ("taiwan",), 30)])
    assert view.sections == ()
    assert digest([story("x", ("unknown_topic",), 2)]).sections == ()


def test_periods() -> None:
    daily = parse_cron("0 8 * * *")
    start, end, weekly = digest_period(daily, "UTC", END)
    assert (END - start, end, weekly) == (timedelta(hours=24), END, False)
    monday = datetime(2024, 9, 9, 8, 0, tzinfo=UTC)
    start, _, _ = digest_period(parse_cron("0 8 * * 1-5"), "UTC", monday)
    assert start == datetime(2024, 9, 6, 8, 0, tzinfo=UTC)  # Friday's slot: weekend included
    weekly_spec = parse_cron("0 9 * * mon")
    assert is_weekly(weekly_spec) and not is_weekly(daily)
    start, _, weekly = digest_period(weekly_spec, "UTC", END)
    assert (END - start, weekly) == (timedelta(days=7), True)
    assert digest_period(None, "UTC", END)[0] == END - timedelta(hours=24)
    asked = END + timedelta(minutes=10)
    start, _, _ = digest_period(daily, "UTC", asked, at_slot=False)
    assert asked - start == timedelta(hours=24)  # not 10 minutes
    start, _, weekly = digest_period(daily, "UTC", END, since=timedelta(days=7))
    assert (start, weekly) == (END - timedelta(days=7), True)


def _png_size(png: bytes) -> tuple[int, int, bytes]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    position, data = 8, b""
    while position < len(png):
        (length,) = struct.unpack(">I", png[position : position + 4])
        kind = png[position + 4 : position + 8]
        body = png[position + 8 : position + 8 + length]
        (crc,) = struct.unpack(">I", png[position + 8 + length : position + 12 + length])
        assert zlib.crc32(kind + body) == crc
        if kind == b"IDAT":
            data += body
        position += 12 + length
    return width, height, zlib.decompress(data)


def test_weekly_series_and_chart_png() -> None:
    rows = [
        (END - timedelta(days=1), ["taiwan"]),
        (END - timedelta(days=2), ["taiwan", "diplomacy"]),
        (END - timedelta(days=8), ["diplomacy"]),
        (END - timedelta(days=80), ["taiwan"]),  # before the 8 weeks
    ]
    series, starts = weekly_series(rows, end=END, topics=["*"], labels=LABELS, weeks=8)
    assert [(s.topic, s.counts) for s in series] == [
        ("taiwan", (0, 0, 0, 0, 0, 0, 0, 2)),
        ("diplomacy", (0, 0, 0, 0, 0, 0, 1, 0)),
    ]
    assert starts[0] == END - timedelta(weeks=8) and len(starts) == 8
    png = chart_png(series, starts)
    width, height, raw = _png_size(png)
    assert len(raw) == height * (1 + 3 * width)
    assert len(png) < 9000  # small enough for a Teams data: URI
    empty = chart_png((), starts)
    assert empty != png and _png_size(empty)[0] == width
