"""Bytes of a feed or page -> ``ParsedFeed`` (pure).

Fast path: lxml for RSS 0.9x/1.0 (RDF)/2.0 and Atom, ``json`` for JSON Feed 1.0/1.1, and
lxml.html + a CSS selector for HTML listing pages. feedparser (given bytes only, never a URL
or path) is the fallback for XML the fast path cannot read. Bytes are re-encoded to UTF-8
and repaired first (``feed_bytes``); RSS/Atom trees are read by ``feed_xml``.

Invariants:
- the XML parser never loads DTDs, never expands entities, never touches the network and
  refuses huge trees, so XXE and billion-laughs payloads stay inert;
- a readable-but-malformed document parses as far as possible and says so in ``warnings``;
- anything that is not a feed raises ``ParseError`` with a message for a person;
- ``ParsedEntry`` text is raw (may hold HTML); ``normalize`` cleans it. Links are made
  absolute against the document URL.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

from lxml import etree
from lxml import html as lxml_html

from bot.domain.errors import ParseError
from bot.domain.feed_bytes import http_charset, repair_markup, to_utf8
from bot.domain.feed_entries import (
    MAX_ENTRIES,
    finish_feed,
    join_url,
    make_entry,
    with_warnings,
)
from bot.domain.feed_xml import READERS
from bot.domain.models import ParsedEntry, ParsedFeed
from bot.domain.normalize import parse_date
from bot.domain.source_input import selector_length_problem

__all__ = ["MAX_ENTRIES", "NOT_A_FEED_HTML", "check_selector", "join_url", "parse_feed"]

NOT_A_FEED_HTML = "the page is HTML, not a feed; set type: html and a selector"

_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.IGNORECASE)


def _xml_parser() -> etree.XMLParser:
    """The strict-but-recovering reader for documents already re-encoded as UTF-8."""
    return etree.XMLParser(
        encoding="utf-8",
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        dtd_validation=False,
        recover=True,
        remove_comments=True,
        remove_pis=True,
        strip_cdata=True,
    )


# --------------------------------------------------------------------------- entry point


def parse_feed(
    body: bytes,
    *,
    url: str,
    content_type: str | None = None,
    source_type: str = "auto",
    selector: str | None = None,
) -> ParsedFeed:
    """Read a feed (RSS, Atom, RDF, JSON Feed) or an HTML listing page (with ``selector``).

    ``content_type`` is the HTTP header: its charset decides the encoding (see
    ``feed_bytes``)."""
    if not body.lstrip(b"\xef\xbb\xbf \t\r\n"):
        raise ParseError("the response is empty")
    data = to_utf8(body, content_type).data
    head = data[:2048].lstrip(b" \t\r\n")
    if not head:
        raise ParseError("the response is empty")
    if b"\x00" in head:
        raise ParseError("the response is binary data, not a feed")
    kind = _sniff(head, content_type, source_type)
    if kind == "json":
        return parse_json_feed(data, url=url)
    if kind == "html":
        if not selector:
            raise ParseError(_html_not_feed_message(body, url, content_type))
        return parse_html_page(body, url=url, selector=selector, content_type=content_type)
    return _parse_xml_feed(data, url=url)


def _sniff(head: bytes, content_type: str | None, source_type: str) -> str:
    """The reader to use ("json", "html" or "xml"): declared type, first bytes, header."""
    if source_type == "json":
        return "json"
    if source_type == "html":
        return "html"
    if head[:1] in (b"{", b"["):
        return "json"
    lowered = head[:1024].lower()
    if lowered.startswith((b"<!doctype html", b"<html")) or (
        b"<html" in lowered
        and b"<rss" not in lowered
        and b"<feed" not in lowered
        and b"<rdf" not in lowered
    ):
        return "html"
    ctype = (content_type or "").lower()
    if "json" in ctype and head[:1] != b"<":
        return "json"
    return "xml"


def _html_not_feed_message(body: bytes, url: str, content_type: str | None) -> str:
    """The not-a-feed error, pointing at the page's advertised feed when it has one."""
    try:
        doc = _html_document(body, content_type)
    except (etree.ParserError, ValueError):
        return NOT_A_FEED_HTML
    for link in doc.iter("link"):
        kind = (link.get("type") or "").lower()
        rel = (link.get("rel") or "").lower()
        if "alternate" in rel and ("rss" in kind or "atom" in kind or "feed+json" in kind):
            href = link.get("href")
            if href:
                return f"{NOT_A_FEED_HTML} (the page advertises a feed at {urljoin(url, href)})"
    return NOT_A_FEED_HTML


# --------------------------------------------------------------------------- XML feeds


def _parse_xml_feed(data: bytes, *, url: str) -> ParsedFeed:
    """``data`` (the document re-encoded as UTF-8) read by the fast path, or by feedparser
    when the fast path finds no feed in it."""
    try:
        return _read_xml(repair_markup(data), url=url)
    except UnicodeDecodeError:  # a reference to a surrogate made it into the tree
        return _read_xml(repair_markup(data, force=True), url=url)


def _read_xml(data: bytes, *, url: str) -> ParsedFeed:
    parser = _xml_parser()
    try:
        root = etree.fromstring(data, parser=parser, base_url=None)
    except (etree.XMLSyntaxError, ValueError):
        root = None
    warnings: list[str] = []
    errors = [e for e in parser.error_log if e.level >= etree.ErrorLevels.ERROR]
    if errors:
        first = errors[0]
        warnings.append(
            f"the XML is malformed (line {first.line}: {first.message.strip()}); "
            "read as much as possible"
        )
    if root is not None and isinstance(root.tag, str):
        reader = READERS.get(root.tag.rpartition("}")[2].lower())
        if reader is not None:
            feed = reader(root, url)
            if feed.entries or not errors:
                return with_warnings(feed, warnings)
    return _parse_with_feedparser(data, url=url, warnings=warnings)


# --------------------------------------------------------------------------- JSON Feed


def parse_json_feed(body: bytes, *, url: str) -> ParsedFeed:
    """JSON Feed 1.0/1.1 -> ``ParsedFeed``; raises ``ParseError`` for other JSON."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ParseError(f"the response is not valid JSON ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        raise ParseError("the JSON is not a JSON Feed (no 'items' list)")
    warnings: list[str] = []
    if "jsonfeed.org/version" not in str(data.get("version", "")):
        warnings.append("the JSON has no JSON Feed version; read it as one anyway")
    language = _str_or_none(data.get("language"))
    base = _str_or_none(data.get("home_page_url")) or url
    entries: list[ParsedEntry] = []
    skipped = 0
    for raw in data["items"]:
        entry = _json_item(raw, base, language) if isinstance(raw, dict) else None
        if entry is None:
            skipped += 1
        else:
            entries.append(entry)
    feed = finish_feed(_str_or_none(data.get("title")), entries, "json", language, skipped)
    return with_warnings(feed, warnings)


def _str_or_none(value: Any) -> str | None:
    """``value`` when it is a string: other JSON types count as missing."""
    return value if isinstance(value, str) else None


def _json_id(value: Any) -> str | None:
    """A JSON Feed id: a string, or a number coerced to one (as the spec asks of readers)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return _str_or_none(value)


def _json_item(raw: dict[str, Any], base: str, language: str | None) -> ParsedEntry | None:
    authors = raw.get("authors")
    if not isinstance(authors, list):
        authors = [raw.get("author")]
    names = (_str_or_none(a.get("name")) for a in authors if isinstance(a, dict))
    author = next((name for name in names if name), None)
    summary = (
        _str_or_none(raw.get("summary"))
        or _str_or_none(raw.get("content_html"))
        or _str_or_none(raw.get("content_text"))
        or ""
    )
    published = parse_date(_str_or_none(raw.get("date_published"))) or parse_date(
        _str_or_none(raw.get("date_modified"))
    )
    return make_entry(
        _json_id(raw.get("id")),
        _str_or_none(raw.get("url")) or _str_or_none(raw.get("external_url")),
        _str_or_none(raw.get("title")) or "",
        summary,
        published,
        _str_or_none(raw.get("language")) or language,
        author,
        base,
    )


# --------------------------------------------------------------------------- HTML pages


def _html_document(body: bytes, content_type: str | None) -> lxml_html.HtmlElement:
    """An HTML page as a tree. With an HTTP charset, the bytes are decoded here (labels
    widened as for feeds); without one, lxml follows the page's own ``<meta charset>``."""
    if http_charset(content_type) is not None:
        body, content_type = to_utf8(body, content_type).data, "text/html; charset=utf-8"
    return lxml_html.document_fromstring(body, parser=_html_parser(content_type))


def _html_parser(content_type: str | None) -> lxml_html.HTMLParser:
    match = _CHARSET.search(content_type or "")
    return lxml_html.HTMLParser(
        encoding=match.group(1) if match else None,
        no_network=True,
        remove_comments=True,
        remove_pis=True,
        huge_tree=False,
    )


def parse_html_page(
    body: bytes, *, url: str, selector: str, content_type: str | None = None
) -> ParsedFeed:
    """Entries from the links an HTML page's CSS ``selector`` matches (e.g. a press-release
    list). A matched element that is not a link contributes its first link. A ``<time>`` near
    the link gives the date."""
    try:
        doc = _html_document(body, content_type)
    except (etree.ParserError, ValueError) as exc:
        raise ParseError(f"the page could not be read as HTML ({exc})") from exc
    base = url
    for element in doc.iter("base"):
        if element.get("href"):
            base = urljoin(url, element.get("href", ""))
            break
    problem = check_selector(selector)
    if problem:
        raise ParseError(f"the selector {selector[:80]!r} is not valid CSS ({problem})")
    try:
        matched = doc.cssselect(selector)
    except Exception as exc:  # cssselect raises its own SelectorError subclasses
        raise ParseError(f"the selector {selector[:80]!r} is not valid CSS ({exc})") from exc
    entries: list[ParsedEntry] = []
    seen: set[str] = set()
    for element in matched:
        anchor = element if element.tag == "a" else next(element.iter("a"), None)
        if anchor is None or not anchor.get("href"):
            continue
        href = anchor.get("href", "").strip()
        if href.lower().startswith(("javascript:", "mailto:", "#")):
            continue
        link = join_url(base, href)
        if link in seen:
            continue
        seen.add(link)
        title = "".join(anchor.itertext()) or anchor.get("title") or ""
        container = _container(element)
        summary = _summary_near(container, title) if container is not None else ""
        published = _time_near(container if container is not None else element)
        entry = make_entry(None, link, title, summary, parse_date(published), None, None, base)
        if entry is not None:
            entries.append(entry)
    title = doc.findtext(".//title")
    language = doc.get("lang")
    feed = finish_feed(title, entries, "html", language, 0)
    if not matched:
        return with_warnings(feed, [f"the selector {selector!r} matched nothing on the page"])
    return feed


_CONTAINERS = frozenset({"li", "article", "tr", "section", "div", "dd", "p"})


def _container(element: etree._Element) -> etree._Element | None:
    """The nearest list item / article / row around a matched link (at most 4 levels up)."""
    current: etree._Element | None = element
    for _ in range(4):
        if current is None:
            return None
        if current.tag in _CONTAINERS and current.tag != "a":
            return current
        current = current.getparent()
    return None


def _summary_near(container: etree._Element, title: str) -> str:
    text = " ".join("".join(container.itertext()).split())
    title_clean = " ".join(title.split())
    if not text or text == title_clean or len(text) > 2000:
        return ""
    rest = text.replace(title_clean, "", 1).strip(" -–—|:")
    return "" if parse_date(rest) is not None else rest


def _time_near(element: etree._Element) -> str | None:
    for node in element.iter("time"):
        value = node.get("datetime") or "".join(node.itertext())
        if value and value.strip():
            return value.strip()
    return None


# --------------------------------------------------------------------------- fallback


def _parse_with_feedparser(data: bytes, *, url: str, warnings: list[str]) -> ParsedFeed:
    """feedparser on UTF-8 BYTES (never a URL or a path: it would open files and fetch).
    The encoding was already decided, so feedparser is told the bytes are UTF-8."""
    import feedparser  # lazy: only for what the fast path cannot read

    headers = {"content-type": "application/xml; charset=utf-8"}
    try:
        result = feedparser.parse(
            bytes(data), response_headers=headers, resolve_relative_uris=False, sanitize_html=False
        )
    except Exception as exc:  # its loose parser has failure modes of its own on hostile input
        raise ParseError(
            f"the response could not be read as a feed ({exc.__class__.__name__})"
        ) from exc
    feed_info = result.get("feed", {})
    raw_entries = result.get("entries", [])
    if not raw_entries and not feed_info.get("title"):
        raise ParseError("the response is not a feed: no RSS, Atom or JSON Feed found")
    entries: list[ParsedEntry] = []
    skipped = 0
    for raw in raw_entries:
        entry = make_entry(
            raw.get("id"),
            raw.get("link"),
            raw.get("title", ""),
            raw.get("summary", ""),
            _struct_time(raw.get("published_parsed") or raw.get("updated_parsed")),
            raw.get("language"),
            raw.get("author"),
            url,
        )
        if entry is None:
            skipped += 1
            continue
        entries.append(entry)
    version = str(result.get("version", "") or "")
    fmt = (
        "atom" if version.startswith("atom") else "rdf" if version in ("rss090", "rss10") else "rss"
    )
    feed = finish_feed(feed_info.get("title"), entries, fmt, feed_info.get("language"), skipped)
    extra = list(warnings)
    if result.get("bozo") and not extra:
        extra.append(
            f"the feed is malformed ({result.get('bozo_exception')}); read as much as possible"
        )
    return with_warnings(feed, extra)


def _struct_time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        year, month, day, hour, minute, second = (int(v) for v in value[:6])
        return datetime(year, month, day, hour, minute, min(second, 59), tzinfo=UTC)
    except (TypeError, ValueError):
        return None


def check_selector(selector: str) -> str | None:
    """Why ``selector`` is not a usable CSS selector, or None when it is."""
    from cssselect import GenericTranslator, SelectorError

    too_long = selector_length_problem(selector)
    if too_long:
        return too_long
    try:
        GenericTranslator().css_to_xpath(selector)
    except SelectorError as exc:
        return str(exc) or "invalid selector"
    except RecursionError:
        return "too deeply nested"
    return None
