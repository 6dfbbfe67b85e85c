"""RSS 0.9x/1.0/2.0 and Atom 0.3/1.0 element trees -> ``ParsedFeed`` (pure).

Fields are matched by (namespace, local name), never by local name alone: an item's own
fields live in the item's namespace (none for RSS 2.0, RSS 1.0's or 0.90's for RDF, the
feed's for Atom), and a fixed list of extension elements (Dublin Core, DC terms,
content:encoded, Atom in RSS) may fill a field, each with a rank. The best-ranked non-empty
value wins; look-alikes (``media:title``, ``itunes:image``, the link module's ``l:link``,
``atom:link rel="self"``) are never read. Dates prefer publication (pubDate, published,
issued, created, dc:date) over modification (modified, updated), taking the best-ranked one
that parses.

Only an Atom link with ``rel="alternate"`` (or no rel) is an entry's link, an HTML-typed one
first. Relative links resolve against ``xml:base`` (inherited) and then the feed URL. Text
constructs honour Atom's ``type="xhtml"`` and Atom 0.3's ``mode="base64"``; script and
style elements inside a title never reach its text.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from datetime import datetime
from functools import cache
from operator import itemgetter
from urllib.parse import urljoin

from lxml import etree

from bot.domain.feed_entries import finish_feed, join_url, make_entry
from bot.domain.models import ParsedEntry, ParsedFeed
from bot.domain.normalize import parse_date

ATOM = "http://www.w3.org/2005/Atom"
ATOM03 = "http://purl.org/atom/ns#"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RSS10 = "http://purl.org/rss/1.0/"
RSS090 = "http://my.netscape.com/rdf/simple/0.9/"
RSS_NAMESPACES = (
    "",
    RSS10,
    RSS090,
    "http://backend.userland.com/rss2",
    "http://backend.userland.com/rss",
    "http://blogs.law.harvard.edu/tech/rss",
)
DC = "http://purl.org/dc/elements/1.1/"
DCTERMS = "http://purl.org/dc/terms/"
CONTENT = "http://purl.org/rss/1.0/modules/content/"
XML_NS = "http://www.w3.org/XML/1998/namespace"
XML_LANG = f"{{{XML_NS}}}lang"
XML_BASE = f"{{{XML_NS}}}base"
IANA_REL = "http://www.iana.org/assignments/relation/"

TITLE, LINK, GUID, SUMMARY, DATE, AUTHOR, LANGUAGE, ATOM_LINK = range(8)
_INVISIBLE = frozenset({"script", "style"})
_HTML_TYPES = frozenset({"", "text/html", "application/xhtml+xml", "html", "xhtml"})

Table = dict[str, tuple[int, int]]


def _q(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}" if ns else name


def _ns(tag: str) -> str:
    return tag[1 : tag.index("}")] if tag[:1] == "{" else ""


def _local(tag: object) -> str:
    if not isinstance(tag, str):
        return ""
    return tag.rpartition("}")[2] if tag[:1] == "{" else tag


_EXTENSIONS: tuple[tuple[str, str, int, int], ...] = (
    (DC, "title", TITLE, 5),
    (ATOM, "title", TITLE, 6),
    (ATOM, "link", ATOM_LINK, 5),
    (ATOM, "id", GUID, 5),
    (DC, "identifier", GUID, 6),
    (CONTENT, "encoded", SUMMARY, 5),
    (DC, "description", SUMMARY, 6),
    (ATOM, "summary", SUMMARY, 7),
    (ATOM, "content", SUMMARY, 8),
    (ATOM, "published", DATE, 1),
    (DCTERMS, "issued", DATE, 2),
    (DCTERMS, "created", DATE, 3),
    (DC, "date", DATE, 4),
    (DCTERMS, "date", DATE, 4),
    (DCTERMS, "modified", DATE, 6),
    (ATOM, "updated", DATE, 7),
    (DC, "creator", AUTHOR, 5),
    (DC, "language", LANGUAGE, 5),
)


@cache
def rss_table(ns: str) -> Table:
    """Clark tag -> (field, rank) for the children of an RSS/RDF item in namespace ``ns``."""
    table: Table = {}
    for core in {"", ns}:
        for name, field in (
            ("title", TITLE),
            ("link", LINK),
            ("guid", GUID),
            ("description", SUMMARY),
            ("pubDate", DATE),
            ("author", AUTHOR),
            ("language", LANGUAGE),
        ):
            table[_q(core, name)] = (field, 0)
    for ext_ns, name, field, rank in _EXTENSIONS:
        table.setdefault(_q(ext_ns, name), (field, rank))
    return table


@cache
def atom_table(ns: str) -> Table:
    """Clark tag -> (field, rank) for the children of an Atom entry in namespace ``ns``."""
    table: Table = {
        _q(ns, "title"): (TITLE, 0),
        _q(ns, "link"): (ATOM_LINK, 0),
        _q(ns, "id"): (GUID, 0),
        _q(ns, "summary"): (SUMMARY, 0),
        _q(ns, "content"): (SUMMARY, 1),
        _q(ns, "published"): (DATE, 0),
        _q(ns, "issued"): (DATE, 1),
        _q(ns, "created"): (DATE, 3),
        _q(ns, "updated"): (DATE, 7),
        _q(ns, "modified"): (DATE, 7),
        _q(ns, "author"): (AUTHOR, 0),
    }
    for ext_ns, name, field, rank in _EXTENSIONS:
        table.setdefault(_q(ext_ns, name), (field, rank))
    return table


# --------------------------------------------------------------------------- text


def flat_text(element: etree._Element) -> str:
    """The text inside ``element`` with child markup flattened; script/style text dropped."""
    if not len(element):
        return element.text or ""
    parts = [element.text or ""]
    for child in element:
        if isinstance(child.tag, str) and _local(child.tag) not in _INVISIBLE:
            parts.append(flat_text(child))
        elif isinstance(child, etree._Entity):
            parts.append(child.text or "")
        parts.append(child.tail or "")
    return "".join(parts)


def atom_text(element: etree._Element) -> str:
    """An Atom text construct: base64 (Atom 0.3 ``mode``) decoded, XHTML flattened."""
    if element.get("mode") == "base64":
        try:
            raw = base64.b64decode("".join((element.text or "").split()), validate=True)
        except (binascii.Error, ValueError):
            return ""
        return raw.decode("utf-8", "replace")
    return flat_text(element)


def _is_alternate(rel: str | None) -> bool:
    if not rel:
        return True
    rel = rel.strip()
    return rel == "alternate" or rel == IANA_REL + "alternate"


def _resolve(href: str, element: etree._Element, url: str) -> str:
    """``href`` made absolute against the element's inherited xml:base, then ``url``."""
    href = href.strip()
    if href.startswith(("http://", "https://")):
        return href
    xml_base = element.base
    return join_url(urljoin(url, xml_base) if xml_base else url, href)


# --------------------------------------------------------------------------- items


_UNSET = 1 << 30


class _Slots:
    """The best-ranked (lowest) value seen so far for each field of one item."""

    __slots__ = ("alt_typed", "dates", "guid_element", "link_element", "ranks", "values")

    def __init__(self) -> None:
        self.ranks: list[int] = [_UNSET] * 7
        self.values: list[str | None] = [None] * 7
        self.dates: list[tuple[int, str]] = []
        self.link_element: etree._Element | None = None
        self.guid_element: etree._Element | None = None
        self.alt_typed = False

    def get(self, field: int) -> str | None:
        return self.values[field]

    def published(self) -> datetime | None:
        """The best-ranked date that parses."""
        dates = self.dates
        if len(dates) == 1:
            return parse_date(dates[0][1])
        for _rank, text in sorted(dates, key=itemgetter(0)):
            value = parse_date(text)
            if value is not None:
                return value
        return None


def _fill(item: etree._Element, table: Table, atom_ns: str | None) -> _Slots:
    """One pass over the children of ``item``; hot: kept flat on purpose."""
    slots = _Slots()
    ranks, values = slots.ranks, slots.values
    for child in item:
        spec = table.get(child.tag)  # comments and entities have non-string tags: no match
        if spec is None:
            continue
        field, rank = spec
        if field == DATE:
            if child.text:
                slots.dates.append((rank, child.text))
            continue
        if field == ATOM_LINK:
            _offer_atom_link(slots, child, rank)
            continue
        if rank >= ranks[field]:
            continue
        value: str | None
        if field in (TITLE, SUMMARY):
            value = atom_text(child) if atom_ns is not None else flat_text(child)
        elif field == LINK:
            value = (child.text or "").strip() or child.get("href")
        elif field == GUID:
            value = child.text
        elif field == AUTHOR and atom_ns is not None and child.tag == _q(atom_ns, "author"):
            value = child.findtext(_q(atom_ns, "name"))
        else:
            value = flat_text(child)
        if value and not value.isspace():
            ranks[field], values[field] = rank, value
            if field == LINK:
                slots.link_element = child
            elif field == GUID:
                slots.guid_element = child
    return slots


def _offer_atom_link(slots: _Slots, link: etree._Element, rank: int) -> None:
    href = link.get("href")
    if not href or not _is_alternate(link.get("rel")):
        return
    typed = (link.get("type") or "").split(";")[0].strip().lower() in _HTML_TYPES
    current = slots.ranks[LINK]
    better_type = typed and not slots.alt_typed and current == rank
    if rank < current or better_type:
        slots.ranks[LINK], slots.values[LINK] = rank, href
        slots.link_element = link
        slots.alt_typed = typed


def _item_link(slots: _Slots, url: str) -> str | None:
    link = slots.get(LINK)
    if link and slots.link_element is not None:
        return _resolve(link, slots.link_element, url)
    guid = slots.get(GUID)
    element = slots.guid_element
    if guid and element is not None and _ns(element.tag) in RSS_NAMESPACES:
        permalink = (element.get("isPermaLink") or "true").strip().lower() == "true"
        if permalink and guid.strip().startswith(("http://", "https://")):
            return guid.strip()
    return None


def _rss_entry(item: etree._Element, url: str, guid: str | None = None) -> ParsedEntry | None:
    slots = _fill(item, rss_table(_ns(item.tag)), None)
    return make_entry(
        slots.get(GUID) or guid,
        _item_link(slots, url),
        slots.get(TITLE) or "",
        slots.get(SUMMARY) or "",
        slots.published(),
        slots.get(LANGUAGE),
        slots.get(AUTHOR),
        url,
    )


def _atom_entry(entry: etree._Element, url: str, language: str | None) -> ParsedEntry | None:
    ns = _ns(entry.tag)
    slots = _fill(entry, atom_table(ns), ns)
    return make_entry(
        slots.get(GUID),
        _item_link(slots, url),
        slots.get(TITLE) or "",
        slots.get(SUMMARY) or "",
        slots.published(),
        entry.get(XML_LANG) or slots.get(LANGUAGE) or language,
        slots.get(AUTHOR),
        url,
    )


# --------------------------------------------------------------------------- feeds


def _channel_info(channel: etree._Element | None) -> tuple[str | None, str | None]:
    """(title, language) of an RSS/RDF channel, read in its own namespace (then DC)."""
    if channel is None:
        return None, None
    table = rss_table(_ns(channel.tag))
    best: dict[int, tuple[int, str]] = {}
    for child in channel:
        field, rank = table.get(child.tag, (-1, 0))
        if field in (TITLE, LANGUAGE) and (field not in best or rank < best[field][0]):
            text = flat_text(child)
            if text.strip():
                best[field] = (rank, text)
    title, language = best.get(TITLE), best.get(LANGUAGE)
    return (title[1] if title else None), (language[1] if language else None)


def _collect(
    items: list[etree._Element], read: Callable[[etree._Element], ParsedEntry | None]
) -> tuple[list[ParsedEntry], int]:
    entries: list[ParsedEntry] = []
    skipped = 0
    for item in items:
        entry = read(item)
        if entry is None:
            skipped += 1
        else:
            entries.append(entry)
    return entries, skipped


def read_rss(root: etree._Element, url: str) -> ParsedFeed:
    """RSS 0.9x/2.0: items in the channel (and stray ones beside it)."""
    channel = next((c for c in root if _local(c.tag) == "channel"), None)
    places = [root] if channel is None else [channel, root]
    item_tags = {_q(_ns(place.tag), "item") for place in places}
    items = [c for place in places for c in place if c.tag in item_tags]
    entries, skipped = _collect(items, lambda item: _rss_entry(item, url))
    title, language = _channel_info(channel)
    return finish_feed(title, entries, "rss", language, skipped)


def read_rdf(root: etree._Element, url: str) -> ParsedFeed:
    """RSS 1.0 and 0.90 (RDF): items beside the channel; ``rdf:about`` is the fallback guid."""
    channel = next((c for c in root if _local(c.tag) == "channel"), None)
    namespaces = {RSS10, RSS090, _ns(channel.tag) if channel is not None else RSS10}
    item_tags = {_q(ns, "item") for ns in namespaces}
    places = [root] if channel is None else [root, channel]
    items = [c for place in places for c in place if c.tag in item_tags]
    about = f"{{{RDF}}}about"
    entries, skipped = _collect(items, lambda item: _rss_entry(item, url, item.get(about)))
    title, language = _channel_info(channel)
    return finish_feed(title, entries, "rdf", language, skipped)


def read_atom(root: etree._Element, url: str) -> ParsedFeed:
    """Atom 1.0 and 0.3 (and a namespace-less ``feed``)."""
    ns = _ns(root.tag)
    language = root.get(XML_LANG)
    entry_tag = _q(ns, "entry")
    items = [c for c in root if c.tag == entry_tag]
    entries, skipped = _collect(items, lambda entry: _atom_entry(entry, url, language))
    title_element = root.find(_q(ns, "title"))
    title = atom_text(title_element) if title_element is not None else None
    return finish_feed(title, entries, "atom", language, skipped)


READERS: dict[str, Callable[[etree._Element, str], ParsedFeed]] = {
    "rss": read_rss,
    "rdf": read_rdf,
    "feed": read_atom,
}
