"""Identity keys of items, for deduplication (pure).

Every item has one or more identity keys:

- ``g:<hash>`` of its guid, when the feed gives one;
- ``u:<hash>`` of its canonical URL, when it has a link;
- ``t:<hash>`` of its normalised title plus link (always present).

The first key is the primary key (guid, else URL, else title) and is stored as ``Item.key``.

Invariant (what the poller relies on): an item is NEW for a source only if NONE of its
identity keys is already known for that source. Therefore a publisher that regenerates guids
(or dates) on every fetch produces no repeats as long as the link or the title+link stays the
same, and a publisher that changes links but keeps guids produces no repeats either.
Known limit: items of one source that share a link (e.g. every entry pointing at a homepage)
are treated as one item after the first.
"""

from __future__ import annotations

import hashlib
import string
from collections.abc import Collection, Iterable, Sequence
from typing import Protocol, TypeVar

_DIGEST_SIZE = 12
_PUNCTUATION_CHARS = string.punctuation + "\u2018\u2019\u201c\u201d\u2013\u2014\u2026\u00a0"
_PUNCTUATION = str.maketrans(dict.fromkeys(_PUNCTUATION_CHARS, " "))


def stable_hash(text: str) -> str:
    """A short, stable hex digest (blake2b, 12 bytes) of ``text``."""
    return hashlib.blake2b(
        text.encode("utf-8", "surrogatepass"), digest_size=_DIGEST_SIZE
    ).hexdigest()


def normalise_title(title: str) -> str:
    """Lower-case words separated by single spaces: punctuation and spacing do not matter."""
    return " ".join(title.casefold().translate(_PUNCTUATION).split())


def item_identities(guid: str | None, canonical_link: str | None, title: str) -> tuple[str, ...]:
    """All identity keys of an item, primary first (guid, else URL, else title+link)."""
    keys: list[str] = []
    guid = guid.strip() if guid else ""
    if guid:
        keys.append("g:" + stable_hash(guid))
    if canonical_link:
        keys.append("u:" + stable_hash(canonical_link))
    keys.append("t:" + stable_hash(normalise_title(title) + "\n" + (canonical_link or "")))
    return tuple(keys)


def content_hash(title: str, summary: str) -> str:
    """Digest of the visible (already cleaned) content, to notice an item being edited."""
    return stable_hash(title.casefold() + "\n" + summary.casefold())


class HasIdentity(Protocol):
    @property
    def guid(self) -> str | None: ...
    @property
    def url(self) -> str: ...
    @property
    def title(self) -> str: ...


T = TypeVar("T", bound=HasIdentity)


def identities_of(item: HasIdentity) -> tuple[str, ...]:
    """``item_identities`` of a normalised item (``Item`` or anything with guid/url/title)."""
    return item_identities(item.guid, item.url or None, item.title)


def is_new(identities: Iterable[str], known: Collection[str]) -> bool:
    """True when none of ``identities`` is in ``known`` (the source's known keys)."""
    return not any(key in known for key in identities)


def dedupe_batch(items: Sequence[T]) -> list[T]:
    """``items`` without repeats: an item sharing any identity key with an earlier one is
    dropped (first occurrence wins; order is kept)."""
    seen: set[str] = set()
    kept: list[T] = []
    for item in items:
        keys = identities_of(item)
        if any(key in seen for key in keys):
            continue
        seen.update(keys)
        kept.append(item)
    return kept


def new_items(items: Sequence[T], known: Collection[str]) -> list[T]:
    """Deduplicated ``items`` none of whose identity keys is in ``known``."""
    return [item for item in dedupe_batch(items) if is_new(identities_of(item), known)]
