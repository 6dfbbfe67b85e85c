"""OPML import/export: nesting, attributes, round trip, hostile XML."""

from __future__ import annotations

import pytest

from bot.domain.errors import ParseError
from bot.domain.models import SourceSpec
from bot.domain.opml import parse_opml, to_opml

NESTED = b"""<?xml version="1.0"?>
<opml version="1.0"><head><title>Mine</title></head><body>
  <outline text="Government">
    <outline text="State" title="State Dept" type="rss" xmlUrl="https://state.example/rss.xml"
             htmlUrl="https://state.example/"/>
    <outline text="Folder"><outline text="MFA" xmlurl="https://mfa.example/rss"/></outline>
  </outline>
  <outline text="Dup" xmlUrl="https://state.example/rss.xml"/>
  <outline text="Local file" xmlUrl="file:///etc/passwd"/>
  <outline text="No feed" htmlUrl="https://blog.example/"/>
</body></opml>"""


def test_nested_outlines_are_flattened() -> None:
    specs = parse_opml(NESTED)
    assert [(s.name, s.url) for s in specs] == [
        ("State Dept", "https://state.example/rss.xml"),
        ("MFA", "https://mfa.example/rss"),
    ]
    assert all(s.type == "auto" and s.interval_s == 900 for s in specs)


def test_round_trip_keeps_settings() -> None:
    specs = [
        SourceSpec(name="A & B <news>", url="https://a.example/feed?x=1&y=2", interval_s=600),
        SourceSpec(
            name="Press",
            url="https://gov.example/press/",
            type="html",
            selector="ul.list li > a",
            official=True,
            enabled=False,
        ),
    ]
    text = to_opml(specs)
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    assert parse_opml(text.encode()) == specs


def test_billion_laughs_is_not_expanded() -> None:
    body = (
        b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">'
        b'<!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>'
        b'<opml version="2.0"><body><outline text="&d;" xmlUrl="https://e.example/f"/></body></opml>'
    )
    with pytest.raises(ParseError, match="declares XML entities"):
        parse_opml(body)


def test_external_entities_are_not_read() -> None:
    body = (
        b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<opml version="2.0"><body><outline text="&x;" xmlUrl="https://e.example/f"/></body></opml>'
    )
    with pytest.raises(ParseError, match="declares XML entities"):
        parse_opml(body)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "the OPML file is empty"),
        (b"<opml><body>", "the file is not valid OPML/XML"),
        (b"<rss><channel/></rss>", "the file is not OPML"),
    ],
)
def test_invalid_documents_raise_readable_errors(body: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_opml(body)
