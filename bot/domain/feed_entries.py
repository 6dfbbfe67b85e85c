"""Building blocks shared by the feed readers: absolute links, entries and feed results (pure).

Invariants: an entry has a title or a link (else it is not built); links are absolute when
the base is; a feed holds at most ``MAX_ENTRIES`` entries and says so in its warnings.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urljoin

from bot.domain.models import ParsedEntry, ParsedFeed

MAX_ENTRIES = 5000


def join_url(base: str, href: str) -> str:
    """``urljoin`` with a fast path for absolute and root-relative links (the common cases)."""
    if href.startswith(("http://", "https://")):
        return href
    if href[:1] == "/" and href[1:2] != "/" and "/." not in href:
        scheme, sep, rest = base.partition("://")
        if sep and scheme in ("http", "https"):
            return f"{scheme}://{rest.split('/', 1)[0].split('?', 1)[0].split('#', 1)[0]}{href}"
    return urljoin(base, href)


def make_entry(
    guid: str | None,
    link: str | None,
    title: str,
    summary: str,
    published: datetime | None,
    language: str | None,
    author: str | None,
    base: str,
) -> ParsedEntry | None:
    """A ``ParsedEntry`` with stripped fields and ``link`` made absolute against ``base``;
    None when it has neither a title nor a link."""
    link = link.strip() if link else None
    if link:
        link = join_url(base, link)
    guid = guid.strip() if guid else None
    title = title.strip()
    if not title and not link:
        return None
    return ParsedEntry(
        guid=guid or None,
        link=link or None,
        title=title,
        summary=summary,
        published=published,
        language=language,
        author=author.strip() if author else None,
    )


def finish_feed(
    title: str | None,
    entries: list[ParsedEntry],
    fmt: str,
    language: str | None,
    skipped: int,
) -> ParsedFeed:
    """The ``ParsedFeed`` of a reader's results, with warnings for skipped/missing entries."""
    warnings: list[str] = []
    if skipped:
        warnings.append(f"{skipped} entries without a title or link were skipped")
    if len(entries) > MAX_ENTRIES:
        warnings.append(f"only the first {MAX_ENTRIES} of {len(entries)} entries were read")
        entries = entries[:MAX_ENTRIES]
    if not entries:
        warnings.append("the feed has no entries")
    return ParsedFeed(
        title=(title or "").strip() or None,
        entries=tuple(entries),
        format=fmt,
        warnings=tuple(warnings),
        language=(language or "").strip() or None,
    )


def with_warnings(feed: ParsedFeed, warnings: list[str]) -> ParsedFeed:
    """``feed`` with ``warnings`` put before its own."""
    if not warnings:
        return feed
    return ParsedFeed(
        title=feed.title,
        entries=feed.entries,
        format=feed.format,
        warnings=(*warnings, *feed.warnings),
        language=feed.language,
    )
