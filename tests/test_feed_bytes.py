"""Encoding precedence and markup repair of feed bytes, before any XML parser sees them."""

from __future__ import annotations

import codecs

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.feed_bytes import http_charset, repair_markup, sniff_wide, to_utf8

ZH = "中美经贸磋商"
DOC = f'<?xml version="1.0"?><rss><title>{ZH}</title></rss>'


def declared(encoding: str, text: str = ZH) -> str:
    return f'<?xml version="1.0" encoding="{encoding}"?><rss><title>{text}</title></rss>'


@pytest.mark.parametrize(
    ("body", "content_type", "encoding"),
    [
        # 1. a byte-order mark beats everything
        (codecs.BOM_UTF8 + DOC.encode(), "text/xml; charset=gbk", "utf-8"),
        (codecs.BOM_UTF16_LE + DOC.encode("utf-16-le"), "text/xml; charset=utf-8", "utf-16-le"),
        (codecs.BOM_UTF32_BE + DOC.encode("utf-32-be"), None, "utf-32-be"),
        # 2. the HTTP charset beats the declaration, for text/xml and application/*+xml alike
        (declared("utf-8").encode("gbk"), "text/xml; charset=gbk", "gb18030"),
        (declared("big5").encode("gbk"), "application/rss+xml;charset=GBK", "gb18030"),
        # 3. the declaration when the header has no charset (or an unknown one)
        (declared("gb2312").encode("gbk"), "application/xml", "gb18030"),
        (declared("euc-jp", "日本").encode("euc-jp"), "text/xml; charset=x-unknown", "euc_jp"),
        # 4. UTF-16/32 without a BOM, from the zero bytes around '<'
        (DOC.encode("utf-16-be"), None, "utf-16-be"),
        (DOC.encode("utf-32-le"), "application/xml", "utf-32-le"),
        # 5./6. UTF-8, then windows-1252
        (DOC.encode(), None, "utf-8"),
        ("<rss>“café”</rss>".encode("cp1252"), None, "cp1252"),
        # a Latin-1 label yields to valid UTF-8; a UTF-16 label cannot describe ASCII bytes
        (declared("iso-8859-1").encode(), "text/xml; charset=iso-8859-1", "utf-8"),
        (declared("utf-16").encode(), "text/xml; charset=utf-16", "utf-8"),
    ],
)
def test_encoding_precedence(body: bytes, content_type: str | None, encoding: str) -> None:
    decoded = to_utf8(body, content_type)
    assert decoded.encoding == encoding
    assert decoded.data.decode("utf-8").lstrip("\ufeff") == decoded.data.decode("utf-8")


@pytest.mark.parametrize(
    ("label", "codec"),
    [("gb2312", "gb18030"), ("GBK", "gb18030"), ("big5", "big5hkscs"), ("Shift_JIS", "cp932")],
)
def test_charset_labels_widen_to_their_supersets(label: str, codec: str) -> None:
    assert http_charset(f"text/xml; charset={label}") == codec


def test_bytes_codecs_are_not_charsets() -> None:
    assert http_charset("text/xml; charset=base64") is None
    assert http_charset("text/xml") is None


def test_ascii_with_leading_whitespace_is_not_sniffed_as_utf16() -> None:
    assert sniff_wide(b"  \n<rss/>") is None
    assert sniff_wide(" <rss/>".encode("utf-16-le")) == "utf-16-le"


@given(
    st.binary(max_size=300), st.sampled_from([None, "text/xml; charset=gbk", "x; charset=utf-16"])
)
def test_any_bytes_become_valid_utf8(body: bytes, content_type: str | None) -> None:
    to_utf8(body, content_type).data.decode("utf-8")


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (b"<t>AT&T</t>", b"<t>AT&amp;T</t>"),
        (b'<l href="?a=1&b=2&c"/>', b'<l href="?a=1&amp;b=2&amp;c"/>'),
        (b"<t>a&nbsp;b&rsquo;</t>", b"<t>a&#160;b&#8217;</t>"),
        (b"<t>&amp; &lt; &#38; &#x26; &custom;</t>", b"<t>&amp; &lt; &#38; &#x26; &custom;</t>"),
        (b"<t><![CDATA[A & B]]> & C</t>", b"<t><![CDATA[A & B]]> &amp; C</t>"),
        (b"<t><![CD</t>", b"<t></t>"),
    ],
)
def test_markup_repair(before: bytes, after: bytes) -> None:
    assert repair_markup(before) == after


def test_forced_repair_replaces_references_to_forbidden_characters() -> None:
    assert repair_markup(b"<t>&#xD800;&#8;&#65;</t>", force=True) == b"<t>&#xFFFD;&#65;</t>"


@given(
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="&<"),
        max_size=200,
    )
)
def test_repair_leaves_text_without_ampersands_alone(text: str) -> None:
    data = f"<t>{text}</t>".encode()
    assert repair_markup(data) is data
