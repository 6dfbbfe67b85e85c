"""OPML import and export of sources (pure).

Parsing is hostile-XML safe: no DTD loading, no network, no huge trees, and documents that
declare entities are refused outright (libxml2 expands internal entities in attributes even
with ``resolve_entities=False``).
Only outlines whose ``xmlUrl`` passes ``clean_source_url`` become sources (nested folders are
flattened; ``htmlUrl`` is ignored); the others are reported as skipped with the reason;
duplicates by URL are dropped, first wins; intervals are clamped to the allowed range and
over-long selectors are refused. ``to_opml`` writes the
bot's own source settings as extra outline attributes (``sourceType``, ``interval``,
``selector``, ``official``, ``enabled``) that ``parse_opml`` reads back, so export then import
is lossless.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit
from xml.sax.saxutils import escape, quoteattr

from lxml import etree

from bot.domain import source_types
from bot.domain.errors import ConfigError, ParseError
from bot.domain.models import SourceSpec, SourceType
from bot.domain.source_input import (
    MAX_INTERVAL_S,
    MIN_INTERVAL_S,
    clean_source_name,
    clean_source_url,
    selector_length_problem,
    shown_url,
)

_XML_INVALID = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_TRUE = frozenset({"1", "true", "yes", "on"})


def _safe_parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        dtd_validation=False,
        remove_comments=True,
        remove_pis=True,
        recover=False,
    )


def _attr(element: etree._Element, name: str) -> str | None:
    """Attribute ``name`` looked up case-insensitively (``xmlUrl`` vs ``xmlurl``)."""
    value = element.get(name)
    if isinstance(value, str):
        return value
    lowered = name.lower()
    for key, val in element.attrib.items():
        if isinstance(key, str) and key.lower() == lowered:
            return str(val)
    return None


def _spec_from_outline(outline: etree._Element, url: str) -> SourceSpec:
    try:
        name = clean_source_name((_attr(outline, "title") or _attr(outline, "text") or "")[:200])
    except ConfigError:  # empty, or with control characters: the host stands in
        name = urlsplit(url).hostname or url
    kind = (_attr(outline, "sourceType") or "auto").strip().lower()
    source_type: SourceType = kind if kind in source_types.names() else "auto"
    interval = (_attr(outline, "interval") or "").strip()
    selector = (_attr(outline, "selector") or "").strip() or None
    official = (_attr(outline, "official") or "").strip().lower() in _TRUE
    enabled = (_attr(outline, "enabled") or "true").strip().lower() in _TRUE
    return SourceSpec(
        name=name[:200],
        url=url,
        type=source_type,
        interval_s=_interval(interval),
        selector=selector,
        official=official,
        enabled=enabled,
    )


def _interval(text: str) -> int:
    if not text.isdigit() or len(text) > 12:
        return 900
    return min(max(int(text), MIN_INTERVAL_S), MAX_INTERVAL_S)


@dataclass(frozen=True)
class OpmlImport:
    """What an OPML file holds: the usable sources, and each refused feed with its reason."""

    specs: list[SourceSpec] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (shown URL, reason)

    @property
    def total(self) -> int:
        return len(self.specs) + len(self.skipped)


def parse_opml(data: bytes) -> list[SourceSpec]:
    """The sources listed in an OPML document; raises ``ParseError`` if it is not OPML."""
    return read_opml(data).specs


def read_opml(data: bytes) -> OpmlImport:
    """The sources listed in an OPML document and the feeds refused; ``ParseError`` if the
    document is not OPML."""
    if not data or not data.strip():
        raise ParseError("the OPML file is empty")
    if b"<!ENTITY" in data or "<!ENTITY".encode("utf-16-le") in data:
        raise ParseError("the OPML file declares XML entities, which are not allowed")
    try:
        root = etree.fromstring(data, parser=_safe_parser())
    except etree.XMLSyntaxError as exc:
        raise ParseError(f"the file is not valid OPML/XML: {exc}") from exc
    if root is None or not isinstance(root.tag, str) or etree.QName(root).localname != "opml":
        raise ParseError("the file is not OPML (its root element is not <opml>)")
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):
        raise ParseError("the OPML file declares XML entities, which are not allowed")
    found = OpmlImport()
    seen: set[str] = set()
    for outline in root.iter("{*}outline"):
        raw = (_attr(outline, "xmlUrl") or "").strip()
        if not raw:
            continue  # a folder
        try:
            url = clean_source_url(raw)
        except ConfigError as exc:
            found.skipped.append((shown_url(raw[:200]), str(exc)))
            continue
        if url in seen:
            continue
        seen.add(url)
        spec = _spec_from_outline(outline, url)
        problem = selector_length_problem(spec.selector or "")
        if problem:
            found.skipped.append((shown_url(url), f"selector {problem}"))
            continue
        found.specs.append(spec)
    return found


def to_opml(
    specs: list[SourceSpec] | tuple[SourceSpec, ...], title: str = "uschina-bot sources"
) -> str:
    """An OPML 2.0 document listing ``specs`` (readable by feed readers and ``parse_opml``)."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<opml version="2.0">',
        f"  <head><title>{escape(title)}</title></head>",
        "  <body>",
    ]
    for spec in specs:
        attrs = {
            "type": "rss",
            "text": spec.name,
            "title": spec.name,
            "xmlUrl": spec.url,
            "sourceType": spec.type,
            "interval": str(spec.interval_s),
            "official": "true" if spec.official else "false",
            "enabled": "true" if spec.enabled else "false",
        }
        if spec.selector:
            attrs["selector"] = spec.selector
        rendered = " ".join(
            f"{key}={quoteattr(_XML_INVALID.sub('', value))}" for key, value in attrs.items()
        )
        lines.append(f"    <outline {rendered}/>")
    lines += ["  </body>", "</opml>", ""]
    return "\n".join(lines)
