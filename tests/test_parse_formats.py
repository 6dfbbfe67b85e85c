"""Each feed format reads into ParsedFeed entries with guids, links, titles and UTC dates."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import feedserver as fs
import pytest

from bot.domain.parse import parse_feed

URL = "https://news.example.com/feed"


@pytest.mark.parametrize(
    ("fmt", "expected_format"),
    [("rss2", "rss"), ("rss1", "rdf"), ("atom", "atom"), ("json", "json")],
)
def test_generated_feeds_read_completely(fmt: str, expected_format: str) -> None:
    body, articles = fs.render_feed(3, fmt, 7, 20)
    feed = parse_feed(body, url=URL)
    assert feed.format == expected_format
    assert feed.title == f"Feed 3 ({fmt})"
    assert feed.warnings == ()
    assert [e.guid for e in feed.entries] == [a.guid for a in articles]
    assert [e.link for e in feed.entries] == [a.link for a in articles]
    assert [e.title for e in feed.entries] == [a.title for a in articles]
    assert [e.published for e in feed.entries] == [a.published for a in articles]
    assert all(a.summary in e.summary for a, e in zip(articles, feed.entries, strict=True))


def test_html_page_with_selector_reads_links_and_dates() -> None:
    body, articles = fs.render_feed(4, "html", 5, 20)
    feed = parse_feed(body, url="https://www.state.gov/press/", selector=fs.HTML_SELECTOR)
    assert feed.format == "html"
    assert feed.title == "Feed 4 (html)"
    assert [e.link for e in feed.entries] == [
        "https://www.state.gov/feed4/story-" + a.link.rsplit("-", 1)[1] for a in articles
    ]
    assert [e.title for e in feed.entries] == [a.title for a in articles]
    assert [e.published for e in feed.entries] == [a.published for a in articles]
    assert all(e.guid is None and e.summary == "" for e in feed.entries)


def test_html_selector_matching_containers_uses_their_first_link() -> None:
    page = b"""<html><head><base href="https://gov.example/news/"></head><body>
    <div class="item"><h3><a href="a.html">Readout of the call</a></h3><p>Summary A</p></div>
    <div class="item"><h3><a href="a.html">Readout of the call</a></h3></div>
    <div class="item"><span>no link</span></div>
    <div class="item"><a href="javascript:void(0)">Script</a></div>
    </body></html>"""
    feed = parse_feed(page, url="https://gov.example/", source_type="html", selector="div.item")
    assert [(e.link, e.title) for e in feed.entries] == [
        ("https://gov.example/news/a.html", "Readout of the call")
    ]
    assert feed.entries[0].summary == "Summary A"


def test_html_selector_matching_nothing_warns() -> None:
    feed = parse_feed(b"<html><body><p>hi</p></body></html>", url=URL, selector="li.none a")
    assert feed.entries == ()
    assert "the selector 'li.none a' matched nothing on the page" in feed.warnings


def test_rss_091_with_doctype_and_permalink_guid() -> None:
    body = b"""<?xml version="1.0"?>
    <!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN"
      "http://my.netscape.com/publish/formats/rss-0.91.dtd">
    <rss version="0.91"><channel><title>Old</title><language>en</language>
    <item><title>One</title><guid>https://e.example/1</guid><description>d</description>
    <pubDate>Sun, 1 Sep 2024 08:00:00 EDT</pubDate></item>
    <item><title><![CDATA[Two & <b>bold</b>]]></title><link>/2</link></item>
    </channel></rss>"""
    feed = parse_feed(body, url="https://e.example/rss")
    assert feed.language == "en"
    one, two = feed.entries
    assert one.link == "https://e.example/1" and one.guid == "https://e.example/1"
    assert one.published == datetime(2024, 9, 1, 12, 0, tzinfo=UTC)
    assert two.title == "Two & <b>bold</b>"
    assert two.link == "https://e.example/2"


def test_atom_with_xhtml_content_base_and_updated_only() -> None:
    body = b"""<?xml version="1.0" encoding="utf-8"?>
    <feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://a.example/blog/">
      <title type="text">Blog</title>
      <entry><id>tag:a.example,2024:1</id><title type="html">A &amp;lt;em&amp;gt;x</title>
        <link rel="self" href="https://a.example/self"/>
        <link href="post-1"/>
        <updated>2024-09-01T10:00:00+02:00</updated>
        <content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>Hello <b>you</b></p>
        </div></content>
        <author><name>Ann</name></author></entry>
    </feed>"""
    feed = parse_feed(body, url="https://a.example/feed")
    (entry,) = feed.entries
    assert entry.guid == "tag:a.example,2024:1"
    assert entry.link == "https://a.example/blog/post-1"
    assert entry.published == datetime(2024, 9, 1, 8, 0, tzinfo=UTC)
    assert "Hello you" in entry.summary
    assert entry.author == "Ann"


def test_json_feed_1_0_with_author_and_external_url() -> None:
    body = json.dumps(
        {
            "version": "https://jsonfeed.org/version/1",
            "title": "J",
            "items": [
                {
                    "id": 42,
                    "external_url": "https://x.example/42",
                    "content_text": "plain",
                    "title": "T",
                    "date_modified": "2024-09-01T00:00:00Z",
                    "author": {"name": "Bo"},
                },
                "not an object",
                {"id": "empty"},
            ],
        }
    ).encode()
    feed = parse_feed(body, url=URL, content_type="application/feed+json")
    (entry,) = feed.entries
    assert (entry.guid, entry.link, entry.summary, entry.author) == (
        "42",
        "https://x.example/42",
        "plain",
        "Bo",
    )
    assert entry.published == datetime(2024, 9, 1, tzinfo=UTC)
    assert "2 entries without a title or link were skipped" in feed.warnings


def test_entries_without_title_or_link_are_skipped_with_warning() -> None:
    body = b"<rss><channel><item><description>only text</description></item></channel></rss>"
    feed = parse_feed(body, url=URL)
    assert feed.entries == ()
    assert "1 entries without a title or link were skipped" in feed.warnings


def test_feedparser_fallback_reads_what_lxml_cannot() -> None:
    body = (
        b"junk before the document <rss version='2.0'><channel><title>T</title>"
        b"<item><title>A</title><link>http://e.example/a</link>"
        b"<pubDate>Sun, 01 Sep 2024 12:00:00 GMT</pubDate></item></channel></rss>"
    )
    feed = parse_feed(body, url=URL)
    (entry,) = feed.entries
    assert (entry.title, entry.link) == ("A", "http://e.example/a")
    assert entry.published == datetime(2024, 9, 1, 12, 0, tzinfo=UTC)
    assert feed.warnings and "malformed" in feed.warnings[0]


def test_latin1_declared_encoding_is_honoured() -> None:
    body = (
        "<?xml version='1.0' encoding='iso-8859-1'?><rss><channel><title>Caf\xe9</title>"
        "<item><title>Caf\xe9 news</title><link>http://e.example/c</link></item></channel></rss>"
    ).encode("latin-1")
    feed = parse_feed(body, url=URL)
    assert feed.title == "Café"
    assert feed.entries[0].title == "Café news"


def test_utf8_bom_and_leading_whitespace_are_fine() -> None:
    body, _ = fs.render_feed(0, "rss2", 2, 5)
    feed = parse_feed(b"\xef\xbb\xbf\n  " + body.split(b"\n", 1)[1], url=URL)
    assert len(feed.entries) == 2


def test_html_page_in_gbk_is_read_with_the_http_charset() -> None:
    page = (
        "<html><head><title>外交部</title></head><body><ul class='releases'>"
        "<li><a href='/a.html'>王毅同美国国务卿通电话</a></li>"
        "<li><a href='/b.html'>朱镕基会见美国客人</a></li></ul></body></html>"
    ).encode("gbk")
    feed = parse_feed(
        page,
        url="https://fmprc.example/",
        content_type="text/html; charset=gb2312",  # GBK bytes under the old label
        source_type="html",
        selector="ul.releases li a",
    )
    assert [e.title for e in feed.entries] == ["王毅同美国国务卿通电话", "朱镕基会见美国客人"]
    assert feed.title == "外交部"
