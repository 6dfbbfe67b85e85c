"""Canonical URLs, text cleanup, date parsing and entry normalisation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.identity import item_identities
from bot.domain.models import ParsedEntry, Source, SourceSpec
from bot.domain.normalize import canonical_url, clean_text, normalize_entry, parse_date

NOW = datetime(2024, 9, 1, 12, 0, tzinfo=UTC)
SOURCE = Source(
    id=7, spec=SourceSpec(name="MFA", url="https://www.mfa.example/eng/", official=True)
)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTPS://WWW.Example.COM:443/a?b=2&a=1#frag", "https://www.example.com/a?a=1&b=2"),
        ("http://example.com:80", "http://example.com/"),
        ("http://example.com:8080/x", "http://example.com:8080/x"),
        (
            "https://e.com/p?utm_source=x&id=5&fbclid=1&gclid=2&mc_cid=3&mc_eid=4&ref_src=t"
            "&igshid=9&UTM_Medium=m",
            "https://e.com/p?id=5",
        ),
        ("https://e.com/p?q=a%20b&x=%2F", "https://e.com/p?q=a%20b&x=%2F"),
        ("  https://e.com/p  ", "https://e.com/p"),
        ("mailto:a@b.example", "mailto:a@b.example"),
        ("https://[2001:DB8::1]:443/x", "https://[2001:db8::1]/x"),
    ],
)
def test_canonical_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected
    assert canonical_url(expected) == expected  # idempotent


def test_canonical_url_resolves_relative_links() -> None:
    assert canonical_url("../b?utm_x=1", "https://e.com/a/c/") == "https://e.com/a/b"
    assert canonical_url("/x", "https://e.com/a/") == "https://e.com/x"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<p>Hello <b>world</b></p>", "Hello world"),
        ("AT&amp;T &lt;script&gt;alert(1)&lt;/script&gt; done", "AT&T alert(1) done"),
        ("a<script>evil()</script>b<style>x{}</style>c", "a b c"),
        ("  lots \n\n of\t space  ", "lots of space"),
        ("zero\u200bwidth\x00ctrl", "zerowidthctrl"),
        ("<!-- hidden --> shown", "shown"),
        ("x < y and y > z", "x < y and y > z"),
        ("", ""),
        (None, ""),
    ],
)
def test_clean_text(text: str | None, expected: str) -> None:
    assert clean_text(text, 1000) == expected


def test_clean_text_caps_at_a_word_boundary() -> None:
    text = "alpha beta gamma delta epsilon " * 10
    capped = clean_text(text, 40)
    assert len(capped) <= 40
    assert capped.endswith("…")
    assert capped[:-1].split()[-1] in {"alpha", "beta", "gamma", "delta", "epsilon"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Sun, 01 Sep 2024 12:00:00 GMT", datetime(2024, 9, 1, 12, 0, tzinfo=UTC)),
        ("Sun, 1 Sep 2024 08:00:00 -0400", datetime(2024, 9, 1, 12, 0, tzinfo=UTC)),
        ("Sun, 01 Sep 2024 08:00 EDT", datetime(2024, 9, 1, 12, 0, tzinfo=UTC)),
        ("01 Sep 24 12:00:00 +0000", datetime(2024, 9, 1, 12, 0, tzinfo=UTC)),
        ("2024-09-01T12:00:00Z", datetime(2024, 9, 1, 12, 0, tzinfo=UTC)),
        ("2024-09-01T20:00:00+08:00", datetime(2024, 9, 1, 12, 0, tzinfo=UTC)),
        ("2024-09-01T12:00:00.123456Z", datetime(2024, 9, 1, 12, 0, 0, 123456, tzinfo=UTC)),
        ("2024-09-01", datetime(2024, 9, 1, tzinfo=UTC)),
        ("2024-09-01 12:00:00", datetime(2024, 9, 1, 12, 0, tzinfo=UTC)),
        ("September 1, 2024", datetime(2024, 9, 1, tzinfo=UTC)),
        ("Sep 1st, 2024", datetime(2024, 9, 1, tzinfo=UTC)),
        ("1 September 2024", datetime(2024, 9, 1, tzinfo=UTC)),
        ("2024年09月01日", datetime(2024, 9, 1, tzinfo=UTC)),
    ],
)
def test_parse_date(text: str, expected: datetime) -> None:
    value = parse_date(text)
    assert value == expected
    assert value is not None and value.tzinfo == UTC


@pytest.mark.parametrize("text", ["", "yesterday", "32 Foo 2024 99:99", "2024-13-45", None])
def test_parse_date_unreadable_is_none(text: str | None) -> None:
    assert parse_date(text) is None


def entry(**kw: object) -> ParsedEntry:
    values: dict[str, object] = {
        "guid": "urn:1",
        "link": "/eng/news/1.html?utm_source=rss",
        "title": "<b>Wang Yi</b> meets US envoy",
        "summary": "<p>The two sides discussed fentanyl &amp; AI.</p>",
        "published": datetime(2024, 9, 1, 8, 0, tzinfo=UTC),
    }
    values.update(kw)
    return ParsedEntry(**values)  # type: ignore[arg-type]


def test_normalize_entry_builds_a_clean_item() -> None:
    item = normalize_entry(entry(), source=SOURCE, feed_language="en", now=NOW)
    assert item.url == "https://www.mfa.example/eng/news/1.html"
    assert item.title == "Wang Yi meets US envoy"
    assert item.summary == "The two sides discussed fentanyl & AI."
    assert item.published == datetime(2024, 9, 1, 8, 0, tzinfo=UTC)
    assert item.first_seen == NOW
    assert (item.source_id, item.source_name, item.official) == (7, "MFA", True)
    assert item.language == "en"
    assert item.guid == "urn:1"
    assert item.key == item_identities("urn:1", item.url, item.title)[0]
    assert item.key.startswith("g:")
    assert item.content_hash


def test_missing_and_future_dates_become_now() -> None:
    missing = normalize_entry(entry(published=None), source=SOURCE, feed_language=None, now=NOW)
    future = normalize_entry(
        entry(published=NOW + timedelta(days=400)), source=SOURCE, feed_language=None, now=NOW
    )
    epoch = normalize_entry(
        entry(published=datetime(1970, 1, 1, tzinfo=UTC)),
        source=SOURCE,
        feed_language=None,
        now=NOW,
    )
    skew = normalize_entry(
        entry(published=NOW + timedelta(minutes=3)), source=SOURCE, feed_language=None, now=NOW
    )
    assert missing.published == future.published == epoch.published == NOW
    assert skew.published == NOW + timedelta(minutes=3)


def test_long_title_and_summary_are_capped() -> None:
    item = normalize_entry(
        entry(title="word " * 200, summary="text " * 1000),
        source=SOURCE,
        feed_language=None,
        now=NOW,
    )
    assert len(item.title) <= 300 and item.title.endswith("…")
    assert len(item.summary) <= 1000 and item.summary.endswith("…")


def test_untitled_entry_uses_summary_and_guid_link_fallback() -> None:
    item = normalize_entry(
        entry(title="", link=None, guid="https://e.example/p/9"),
        source=SOURCE,
        feed_language=None,
        now=NOW,
    )
    assert item.title.startswith("The two sides discussed")
    assert item.url == "https://e.example/p/9"


def test_non_http_link_is_dropped() -> None:
    item = normalize_entry(
        entry(link="javascript:alert(1)", guid=None), source=SOURCE, feed_language=None, now=NOW
    )
    assert item.url == ""
    assert item.key.startswith("t:")
