"""The one registry of source types: what a source's ``type`` may be and how its bytes are read.

Config files, the CLI, OPML import and ingest all ask this module; none keeps its own list.
Adding a source type = one module defining a reader and one ``register(SourceKind(...))`` call
in that same module, imported before sources are read. Parsing worker processes start from a
fresh interpreter and import the modules of the registered readers (``reader_modules``), which
registers them there too. A reader is pure: bytes in, ``ParsedFeed`` out, ``ParseError`` for
bytes it cannot read.

Invariant: names are lower-case and unique; ``auto`` is always registered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.domain.errors import ConfigError
from bot.domain.models import ParsedFeed
from bot.domain.parse import parse_feed

Reader = Callable[[bytes, str, "str | None", "str | None"], ParsedFeed]
"""``(body, url, content_type, selector) -> ParsedFeed``; raises ``ParseError``."""


@dataclass(frozen=True)
class SourceKind:
    """One kind of source: its ``name`` (as written in config), reader and needs."""

    name: str
    description: str
    read: Reader
    needs_selector: bool = False


_REGISTRY: dict[str, SourceKind] = {}


def register(kind: SourceKind) -> SourceKind:
    """Add ``kind`` (a name registered twice must be the same object)."""
    if kind.name != kind.name.lower() or not kind.name:
        raise ValueError(f"source type names are lower-case words: {kind.name!r}")
    known = _REGISTRY.get(kind.name)
    if known is not None and known is not kind:
        raise ValueError(f"source type {kind.name!r} is already registered")
    _REGISTRY[kind.name] = kind
    return kind


def names() -> tuple[str, ...]:
    """Registered type names, ``auto`` first, in registration order."""
    return tuple(_REGISTRY)


def get(name: str) -> SourceKind:
    """The registered type ``name``; ``ConfigError`` naming the known ones otherwise."""
    kind = _REGISTRY.get(name)
    if kind is None:
        raise ConfigError(f"unknown source type {name!r} (known: {', '.join(_REGISTRY)})")
    return kind


def reader_modules() -> tuple[str, ...]:
    """The modules defining the registered readers, other than the built-ins' (importing one
    registers its type, as its module registers it next to the reader)."""
    return tuple(sorted({k.read.__module__ for k in _REGISTRY.values()} - _BUILT_IN_MODULES))


def selector_types() -> tuple[str, ...]:
    """Names of the types whose sources need a CSS selector."""
    return tuple(k.name for k in _REGISTRY.values() if k.needs_selector)


def read(
    name: str, body: bytes, *, url: str, content_type: str | None, selector: str | None
) -> ParsedFeed:
    """Read ``body`` the way source type ``name`` says."""
    return get(name).read(body, url, content_type, selector)


def _sniffing(declared: str) -> Reader:
    def read_declared(
        body: bytes, url: str, content_type: str | None, selector: str | None
    ) -> ParsedFeed:
        return parse_feed(
            body, url=url, content_type=content_type, source_type=declared, selector=selector
        )

    return read_declared


register(SourceKind("auto", "any feed format, recognised from the bytes", _sniffing("auto")))
register(SourceKind("rss", "an RSS (or RDF) feed", _sniffing("rss")))
register(SourceKind("atom", "an Atom feed", _sniffing("atom")))
register(SourceKind("json", "a JSON Feed", _sniffing("json")))
register(
    SourceKind(
        "html",
        "a web page: item links picked by a CSS selector",
        _sniffing("html"),
        needs_selector=True,
    )
)
register(SourceKind("search", "a search-results feed (read like auto)", _sniffing("search")))

_BUILT_IN_MODULES = frozenset(k.read.__module__ for k in _REGISTRY.values())
