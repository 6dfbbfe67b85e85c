"""Digest assembly: stories of a period -> a :class:`DigestView`, plus the weekly chart. Pure.

Invariants:
- a story appears in at most one section: under the first of its topics (classification
  order, primary first) that the channel follows;
- sections are ordered busiest first (ties: taxonomy order); stories within a section by rank:
  more outlets first, then official sources, then the most recent;
- ``count`` and ``previous_count`` use the same one-section-per-story rule, so the change
  marker compares like with like; no sections means a quiet period;
- a scheduled digest covers ``[previous slot, slot)``: consecutive digests neither overlap nor
  leave gaps, whatever time the job actually ran; a weekly cron covers exactly 7 days.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.models import Countdown, Story
from bot.domain.schedule import CronSpec, countdown_phrase, days_until, is_past
from bot.domain.views import CountdownLine, DigestSection, DigestView

ALL_TOPICS = "*"
DEFAULT_PERIOD = timedelta(hours=24)
WEEK = timedelta(days=7)
MAX_PERIOD = timedelta(days=7)
DIGEST_COUNTDOWNS = 5


# --------------------------------------------------------------------------- periods


def is_weekly(spec: CronSpec) -> bool:
    """True when the cron fires once a week (one weekday, one time, any day of the month)."""
    return (
        spec.day_star
        and len(spec.weekdays) == 1
        and len(spec.months) == 12
        and len(spec.hours) * len(spec.minutes) == 1
    )


def digest_period(
    spec: CronSpec | None,
    tz: str,
    end: datetime,
    *,
    since: timedelta | None = None,
    at_slot: bool = True,
) -> tuple[datetime, datetime, bool]:
    """``(start, end, weekly)`` of the digest ending at ``end``.

    ``since`` wins when given. Without a cron the period is 24 h; a weekly cron gets 7 days;
    otherwise the period starts at the previous slot (at most 7 days back). A digest asked
    for between slots (``at_slot=False``) covers at least 24 h, not the few minutes since the
    last slot.
    """
    if since is not None:
        return end - since, end, since >= timedelta(days=6)
    if spec is None:
        return end - DEFAULT_PERIOD, end, False
    if is_weekly(spec):
        return end - WEEK, end, True
    start = spec.previous_fire(end - timedelta(seconds=1), tz)
    if not at_slot:
        start = min(start, end - DEFAULT_PERIOD)
    return max(start, end - MAX_PERIOD), end, False


# --------------------------------------------------------------------------- ranking


def outlet_count(story: Story) -> int:
    """Distinct outlets that reported ``story`` (at least 1)."""
    return max(len(set(story.outlets)), 1)


def rank_key(story: Story) -> tuple[int, int, float, str]:
    """Sort key, best first: more outlets, official sources, most recent, then key (stable)."""
    return (-outlet_count(story), -int(story.official), -story.last_seen.timestamp(), story.key)


def primary_topic(story: Story, followed: Iterable[str]) -> str | None:
    """The first of the story's topics the channel follows (``"*"`` follows every topic)."""
    return _first_followed(story.topics, followed)


def _first_followed(topics: Iterable[str], followed: Iterable[str]) -> str | None:
    wanted = set(followed)
    return next((t for t in topics if ALL_TOPICS in wanted or t in wanted), None)


def group_by_topic(
    stories: Iterable[Story], followed: Iterable[str], known: Iterable[str] | None = None
) -> dict[str, list[Story]]:
    """Stories per primary topic (topics outside ``known`` are ignored when it is given)."""
    known_set = set(known) if known is not None else None
    followed_list = list(followed)
    groups: dict[str, list[Story]] = {}
    seen: set[str] = set()
    for story in stories:
        if story.key in seen:
            continue
        seen.add(story.key)
        topics = [t for t in story.topics if known_set is None or t in known_set]
        topic = _first_followed(topics, followed_list)
        if topic is not None:
            groups.setdefault(topic, []).append(story)
    return groups


# --------------------------------------------------------------------------- assembly


def countdown_line(countdown: Countdown, now: datetime) -> CountdownLine:
    """A countdown with its day count (``None`` for a tentative window) and its phrase."""
    days = None if countdown.tentative else days_until(countdown, now)
    return CountdownLine(countdown=countdown, days=days, phrase=countdown_phrase(countdown, now))


def upcoming_lines(
    countdowns: Iterable[Countdown], now: datetime, limit: int | None = None
) -> tuple[CountdownLine, ...]:
    """Active countdowns that are not over yet, soonest first."""
    active = [c for c in countdowns if c.status == "active" and not is_past(c, now)]
    active.sort(key=lambda c: (c.start, c.end, c.id))
    lines = tuple(countdown_line(c, now) for c in active)
    return lines[:limit] if limit is not None else lines


def build_digest(
    *,
    channel_name: str,
    timezone: str,
    period_start: datetime,
    period_end: datetime,
    stories: Sequence[Story],
    previous_stories: Sequence[Story],
    topics: Sequence[str],
    labels: Mapping[str, str],
    countdowns: Sequence[CountdownLine] = (),
    top: int = 5,
    weekly: bool = False,
    chart_url: str | None = None,
) -> DigestView:
    """The digest of one channel. ``topics`` are the channel's (``"*"`` = all of ``labels``);
    ``labels`` maps topic id -> label in taxonomy order. Stories outside the period are
    ignored, so callers may pass a superset."""
    order = {topic: index for index, topic in enumerate(labels)}
    current = [s for s in stories if period_start <= s.first_seen < period_end]
    groups = group_by_topic(current, topics, labels)
    previous = group_by_topic(previous_stories, topics, labels)
    sections = []
    for topic, members in groups.items():
        ranked = sorted(members, key=rank_key)
        shown = tuple(ranked[: max(top, 0)])
        sections.append(
            DigestSection(
                topic=topic,
                label=labels.get(topic, topic),
                stories=shown,
                more=len(ranked) - len(shown),
                count=len(ranked),
                previous_count=len(previous.get(topic, ())),
            )
        )
    sections.sort(key=lambda s: (-s.count, order.get(s.topic, len(order)), s.topic))
    return DigestView(
        channel_name=channel_name,
        period_start=period_start,
        period_end=period_end,
        timezone=timezone,
        sections=tuple(sections),
        countdowns=tuple(countdowns),
        weekly=weekly,
        chart_url=chart_url,
    )


# --------------------------------------------------------------------------- weekly chart


@dataclass(frozen=True)
class ChartSeries:
    """Stories per week of one topic, oldest week first."""

    topic: str
    label: str
    counts: tuple[int, ...]


def weekly_series(
    stories: Iterable[tuple[datetime, Sequence[str]]],
    *,
    end: datetime,
    topics: Sequence[str],
    labels: Mapping[str, str],
    weeks: int = 8,
    max_topics: int = 10,
) -> tuple[tuple[ChartSeries, ...], tuple[datetime, ...]]:
    """Count ``(first_seen, topics)`` pairs per primary topic per week ending at ``end``.

    Returns the busiest ``max_topics`` series (topics with no story left out) and the start
    of each week.
    """
    starts = tuple(end - WEEK * (weeks - i) for i in range(weeks))
    counts: dict[str, list[int]] = {}
    followed = list(topics)
    for first_seen, story_topics in stories:
        if not starts[0] <= first_seen < end:
            continue
        topic = _first_followed([t for t in story_topics if t in labels], followed)
        if topic is None:
            continue
        week = min(int((first_seen - starts[0]) / WEEK), weeks - 1)
        counts.setdefault(topic, [0] * weeks)[week] += 1
    order = {topic: index for index, topic in enumerate(labels)}
    busiest = sorted(counts, key=lambda t: (-sum(counts[t]), order.get(t, len(order))))
    series = tuple(
        ChartSeries(topic=t, label=labels.get(t, t), counts=tuple(counts[t]))
        for t in busiest[:max_topics]
    )
    return series, starts


# A 5x7 bitmap font for chart labels (uppercase; unknown characters draw as blanks).
_FONT_ROWS = {
    "A": ".###. #...# #...# ##### #...# #...# #...#",
    "B": "####. #...# #...# ####. #...# #...# ####.",
    "C": ".###. #...# #.... #.... #.... #...# .###.",
    "D": "####. #...# #...# #...# #...# #...# ####.",
    "E": "##### #.... #.... ####. #.... #.... #####",
    "F": "##### #.... #.... ####. #.... #.... #....",
    "G": ".###. #...# #.... #.### #...# #...# .####",
    "H": "#...# #...# #...# ##### #...# #...# #...#",
    "I": ".###. ..#.. ..#.. ..#.. ..#.. ..#.. .###.",
    "J": "..### ...#. ...#. ...#. ...#. #..#. .##..",
    "K": "#...# #..#. #.#.. ##... #.#.. #..#. #...#",
    "L": "#.... #.... #.... #.... #.... #.... #####",
    "M": "#...# ##.## #.#.# #.#.# #...# #...# #...#",
    "N": "#...# #...# ##..# #.#.# #..## #...# #...#",
    "O": ".###. #...# #...# #...# #...# #...# .###.",
    "P": "####. #...# #...# ####. #.... #.... #....",
    "Q": ".###. #...# #...# #...# #.#.# #..#. .##.#",
    "R": "####. #...# #...# ####. #.#.. #..#. #...#",
    "S": ".#### #.... #.... .###. ....# ....# ####.",
    "T": "##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..",
    "U": "#...# #...# #...# #...# #...# #...# .###.",
    "V": "#...# #...# #...# #...# #...# .#.#. ..#..",
    "W": "#...# #...# #...# #.#.# #.#.# #.#.# .#.#.",
    "X": "#...# #...# .#.#. ..#.. .#.#. #...# #...#",
    "Y": "#...# #...# .#.#. ..#.. ..#.. ..#.. ..#..",
    "Z": "##### ....# ...#. ..#.. .#... #.... #####",
    "0": ".###. #...# #..## #.#.# ##..# #...# .###.",
    "1": "..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.",
    "2": ".###. #...# ....# ...#. ..#.. .#... #####",
    "3": "##### ...#. ..#.. ...#. ....# #...# .###.",
    "4": "...#. ..##. .#.#. #..#. ##### ...#. ...#.",
    "5": "##### #.... ####. ....# ....# #...# .###.",
    "6": "..##. .#... #.... ####. #...# #...# .###.",
    "7": "##### ....# ...#. ..#.. .#... .#... .#...",
    "8": ".###. #...# #...# .###. #...# #...# .###.",
    "9": ".###. #...# #...# .#### ....# ...#. .##..",
    "-": "..... ..... ..... ##### ..... ..... .....",
    ".": "..... ..... ..... ..... ..... .##.. .##..",
    ",": "..... ..... ..... ..... .##.. ..#.. .#...",
    ":": "..... .##.. .##.. ..... .##.. .##.. .....",
    "(": "...#. ..#.. .#... .#... .#... ..#.. ...#.",
    ")": ".#... ..#.. ...#. ...#. ...#. ..#.. .#...",
    "/": "..... ....# ...#. ..#.. .#... #.... .....",
    "&": ".##.. #..#. #.#.. .#... #.#.# #..#. .##.#",
    "+": "..... ..#.. ..#.. ##### ..#.. ..#.. .....",
    "'": "..#.. ..#.. .#... ..... ..... ..... .....",
}
_GLYPHS = {ch: tuple(rows.split()) for ch, rows in _FONT_ROWS.items()}
_WHITE = (255, 255, 255)
_INK = (33, 37, 41)
_GRID = (222, 226, 230)
_BAR = (96, 148, 214)
_BAR_LAST = (29, 78, 156)


class _Canvas:
    """An RGB pixel buffer with just enough drawing for a bar chart."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.pixels = bytearray(bytes(_WHITE) * (width * height))

    def rect(self, x: int, y: int, w: int, h: int, color: tuple[int, int, int]) -> None:
        x0, y0 = max(x, 0), max(y, 0)
        x1, y1 = min(x + w, self.width), min(y + h, self.height)
        if x1 <= x0 or y1 <= y0:
            return
        run = bytes(color) * (x1 - x0)
        for row in range(y0, y1):
            start = (row * self.width + x0) * 3
            self.pixels[start : start + len(run)] = run

    def text(self, x: int, y: int, text: str, scale: int = 1, color: tuple[int, ...] = _INK) -> int:
        """Draw ``text`` (uppercased) with its top-left at (x, y); returns the end x."""
        rgb = (color[0], color[1], color[2])
        for ch in text.upper():
            for r, row in enumerate(_GLYPHS.get(ch, ())):
                for c, bit in enumerate(row):
                    if bit == "#":
                        self.rect(x + c * scale, y + r * scale, scale, scale, rgb)
            x += 6 * scale
        return x

    def png(self) -> bytes:
        raw = bytearray()
        stride = self.width * 3
        for row in range(self.height):
            raw.append(0)  # filter: none
            raw += self.pixels[row * stride : (row + 1) * stride]
        return encode_png(self.width, self.height, bytes(raw))


def encode_png(width: int, height: int, filtered_rgb: bytes) -> bytes:
    """A PNG file (8-bit RGB) from scanlines that already carry their filter byte."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(filtered_rgb, 9))
        + chunk(b"IEND", b"")
    )


def chart_png(
    series: Sequence[ChartSeries], week_starts: Sequence[datetime], title: str = ""
) -> bytes:
    """A small-multiples bar chart: one row per topic, one bar per week, last week darker."""
    weeks = len(week_starts)
    label_w, col_w, bar_w, row_h, top, bottom = 204, 44, 30, 26, 40, 24
    width = label_w + col_w * weeks + 56
    height = top + row_h * max(len(series), 1) + bottom
    canvas = _Canvas(width, height)
    canvas.text(8, 10, title or f"Stories per issue, last {weeks} weeks", scale=2)
    peak = max((max(s.counts) for s in series if s.counts), default=0) or 1
    for index, item in enumerate(series):
        y = top + index * row_h
        canvas.rect(8, y + row_h - 1, width - 16, 1, _GRID)
        canvas.text(8, y + 6, item.label[:16], scale=2)
        for week, count in enumerate(item.counts):
            h = round((row_h - 6) * count / peak)
            x = label_w + week * col_w + (col_w - bar_w) // 2
            color = _BAR_LAST if week == weeks - 1 else _BAR
            canvas.rect(x, y + row_h - 2 - h, bar_w, h, color)
        canvas.text(label_w + weeks * col_w + 6, y + 6, str(sum(item.counts)), scale=2)
    if not series:
        canvas.text(label_w, top + 8, "No stories", scale=2)
    axis_y = top + row_h * max(len(series), 1) + 8
    for week, start in enumerate(week_starts):
        canvas.text(label_w + week * col_w + 7, axis_y, start.strftime("%m-%d"))
    return canvas.png()


__all__ = [
    "ALL_TOPICS",
    "ChartSeries",
    "build_digest",
    "chart_png",
    "countdown_line",
    "digest_period",
    "encode_png",
    "group_by_topic",
    "is_weekly",
    "outlet_count",
    "primary_topic",
    "rank_key",
    "upcoming_lines",
    "weekly_series",
]
