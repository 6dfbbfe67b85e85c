"""Broken, hostile and non-feed input: readable errors, inert entities, partial reads."""

from __future__ import annotations

import feedserver as fs
import pytest

from bot.domain.errors import ParseError
from bot.domain.parse import NOT_A_FEED_HTML, parse_feed

URL = "https://news.example.com/feed"


def test_malformed_xml_reads_what_it_can_and_warns() -> None:
    feed = parse_feed(fs.MALFORMED_XML, url=URL)
    assert feed.entries[0].guid == "broken-1"
    assert "survives" in feed.entries[0].title
    assert feed.warnings[0].startswith("the XML is malformed (line 1:")


def test_xxe_external_entity_is_not_resolved() -> None:
    feed = parse_feed(fs.XXE, url=URL)
    text = " ".join(e.title + e.summary for e in feed.entries)
    assert "root:" not in text
    assert feed.entries[0].link == "https://example.com/x"


def test_billion_laughs_does_not_expand() -> None:
    feed = parse_feed(fs.BILLION_LAUGHS, url=URL)
    assert all(len(e.title) < 1000 for e in feed.entries)
    assert "lollollol" not in "".join(e.title for e in feed.entries)


def test_external_dtd_is_not_fetched_or_loaded() -> None:
    body = (
        b'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "http://127.0.0.1:9/evil.dtd">'
        b"<rss><channel><title>&ext;</title><item><title>A</title>"
        b"<link>https://e.example/a</link></item></channel></rss>"
    )
    feed = parse_feed(body, url=URL)
    assert feed.entries[0].title == "A"


def test_non_feed_html_explains_what_to_do_and_points_at_the_feed() -> None:
    with pytest.raises(ParseError) as info:
        parse_feed(fs.NON_FEED_HTML, url="https://ministry.example/news/", content_type="text/html")
    message = str(info.value)
    assert message.startswith(NOT_A_FEED_HTML)
    assert "https://ministry.example/rss.xml" in message


def test_plain_html_without_selector_gives_the_exact_message() -> None:
    with pytest.raises(ParseError, match=r"^the page is HTML, not a feed; set type: html"):
        parse_feed(b"<!doctype html><html><body>hi</body></html>", url=URL)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "the response is empty"),
        (b"   \n\t ", "the response is empty"),
        (fs.GARBAGE, "the response is binary data, not a feed"),
        (b"hello world, this is text", "the response is not a feed: no RSS, Atom or JSON Feed"),
        (b"{not json", "the response is not valid JSON"),
        (b'{"a": 1}', "the JSON is not a JSON Feed (no 'items' list)"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "the response is not a feed"),
    ],
)
def test_garbage_raises_readable_parse_error(body: bytes, message: str) -> None:
    with pytest.raises(ParseError) as info:
        parse_feed(body, url=URL)
    assert str(info.value).startswith(message)


def test_invalid_css_selector_is_a_readable_error() -> None:
    with pytest.raises(ParseError, match="is not valid CSS"):
        parse_feed(b"<html><body></body></html>", url=URL, selector="li[[")


def test_feed_with_no_items_parses_with_warning() -> None:
    feed = parse_feed(b"<rss><channel><title>Empty</title></channel></rss>", url=URL)
    assert feed.entries == ()
    assert feed.title == "Empty"
    assert "the feed has no entries" in feed.warnings


@pytest.mark.parametrize(
    ("ref", "title"),
    [
        ("&#xD800;", "A\ufffdB"),
        ("&#xDFFF; &amp; &#x1F600;", "A\ufffd & \U0001f600B"),
        ("&#1114112;", "A\ufffdB"),
        ("&#0;", "AB"),
    ],
)
def test_references_to_forbidden_characters_do_not_crash(ref: str, title: str) -> None:
    body = (
        f"<rss><channel><item><title>A{ref}B</title><link>https://e.example/a</link></item>"
        "<item><title>Next</title><link>https://e.example/b</link></item></channel></rss>"
    ).encode()
    feed = parse_feed(body, url=URL)
    assert [e.title for e in feed.entries] == [title, "Next"]
