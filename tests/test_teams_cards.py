"""Neutral message -> Teams Workflows envelopes: golden files, escaping and the size cap."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from render_samples import (
    HOSTILE_TITLES,
    NOW,
    SAMPLES,
    alert_view,
    check_golden,
    digest_view,
    item,
    story,
)

from bot.chat.teams.cards import (
    ENVELOPE_LIMIT,
    md_escape,
    safe_url,
    to_teams,
    to_teams_reply,
)
from bot.domain import render
from bot.domain.models import Actions, Button, Fields, Header, Link, Message, Paragraph, Text


def envelope_size(value: dict[str, Any]) -> int:
    """Bytes of ``value`` as notifiers send it (compact UTF-8 JSON)."""
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


LINK = re.compile(r"\[((?:\\.|[^\\\]])*)\]\(([^)\s]*)\)")
TIME_TOKEN = re.compile(r"\{\{(?:DATE|TIME)\(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ(?:, SHORT)?\)\}\}")


def card(envelope: dict[str, Any]) -> dict[str, Any]:
    assert envelope["type"] == "message"
    (attachment,) = envelope["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert attachment["contentUrl"] is None
    content = attachment["content"]
    assert content["type"] == "AdaptiveCard" and content["version"] == "1.5"
    assert content["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    return content


def texts(content: dict[str, Any]) -> Iterator[str]:
    for element in content["body"]:
        if element["type"] == "TextBlock":
            assert element["wrap"] is True
            yield element["text"]
        elif element["type"] == "FactSet":
            for fact in element["facts"]:
                yield fact["title"]
                yield fact["value"]


def unescaped(text: str) -> str:
    """``text`` with every backslash escape removed (what markdown treats as markup)."""
    return re.sub(r"\\.", "", text)


def assert_safe_markdown(text: str) -> None:
    """Only our links are markup; no raw list markers at line starts; no raw < > { }."""
    for label, url in LINK.findall(text):
        assert url.startswith(("https://", "http://")), url
        assert "evil" not in url and "javascript" not in url
        assert not set(unescaped(label)) & set("[]()*_`<>"), label
    rest = unescaped(LINK.sub("", TIME_TOKEN.sub("", text)))
    assert not set(rest) & set("[]()<>`_~#{}"), text
    assert not re.match(r"^\s*([-+]|\d+[.)])\s", text), text


def assert_envelopes_ok(envelopes: list[dict[str, Any]]) -> None:
    assert envelopes
    for envelope in envelopes:
        size = len(json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode())
        assert size == envelope_size(envelope)
        assert size < ENVELOPE_LIMIT
        content = card(envelope)
        assert content["body"]
        for action in content["actions"]:
            assert action["type"] == "Action.OpenUrl"
            assert action["url"].startswith(("https://", "http://"))
        for text in texts(content):
            assert_safe_markdown(text)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_golden_teams(name: str) -> None:
    envelopes = to_teams(SAMPLES[name]())
    assert_envelopes_ok(envelopes)
    check_golden(f"{name}.teams", envelopes)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_reply_fits_and_is_markdown(name: str) -> None:
    reply = to_teams_reply(SAMPLES[name]())
    assert reply["type"] == "message" and reply["text"]
    assert envelope_size(reply) < ENVELOPE_LIMIT
    for line in reply["text"].split("\n\n"):
        assert_safe_markdown(line)


def test_alert_card_shape() -> None:
    content = card(to_teams(SAMPLES["alert"]())[0])
    first = content["body"][0]["text"]
    assert first == "[Biden and Xi to speak in coming weeks](https://news.example/biden-xi-call)"
    assert content["actions"] == [
        {"type": "Action.OpenUrl", "title": "Open", "url": "https://news.example/biden-xi-call"}
    ]
    all_text = " ".join(texts(content))
    assert "{{DATE(2024-09-10T13:30:00Z, SHORT)}}" in all_text
    assert "@uschina subscribe diplomacy" in all_text
    assert "Mute" not in all_text  # a Submit-only button has no Workflows equivalent


def test_status_detail_uses_factset() -> None:
    content = card(to_teams(SAMPLES["status_detail"]())[0])
    facts = [e for e in content["body"] if e["type"] == "FactSet"]
    assert facts and facts[0]["facts"][0]["title"] == "US — State Department"


@pytest.mark.parametrize("title", HOSTILE_TITLES)
def test_hostile_titles_cannot_spoof(title: str) -> None:
    for message in (
        render.render_alert(alert_view(item=item(title=title, source_name=title))),
        render.render_digest(digest_view(hostile=True), NOW),
        render.render_search(title, (story(1, title=title),), NOW),
    ):
        assert_envelopes_ok(to_teams(message))
        for line in to_teams_reply(message)["text"].split("\n\n"):
            assert_safe_markdown(line)


def test_markdown_link_in_title_is_inert() -> None:
    escaped = md_escape("[x](javascript:alert(1))")
    assert escaped == "\\[x\\]\\(javascript:alert\\(1\\)\\)"
    assert LINK.findall(escaped) == []


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://a.example/x(1)", "https://a.example/x%281%29"),
        ("https://a.example/?q=a b", None),
        ("javascript:alert(1)", None),
        ("https://a.example/[x]*y", "https://a.example/%5Bx%5D%2Ay"),
        ("http://a.example/ok?a=1&b=2", "http://a.example/ok?a=1&b=2"),
        ("https:///nohost", None),
    ],
)
def test_safe_url(url: str, expected: str | None) -> None:
    assert safe_url(url) == expected


def test_bad_link_becomes_label() -> None:
    message = Message("x", (Paragraph((Link("javascript:alert(1)", "click"),)),))
    assert card(to_teams(message)[0])["body"][0]["text"] == "click"


def test_digest_with_200_stories_fits() -> None:
    message = render.render_digest(digest_view(stories_per_topic=200, hostile=True), NOW, 200)
    envelopes = to_teams(message)
    assert_envelopes_ok(envelopes)
    assert 1 < len(envelopes) <= 5


def test_huge_message_is_split_then_counted() -> None:
    lines = tuple(
        Paragraph((Text(f"line {i} "), Link(f"https://a.example/{i}", "t" * 300)))
        for i in range(1000)
    )
    envelopes = to_teams(Message("x", (Header("Big"), *lines)))
    assert_envelopes_ok(envelopes)
    assert len(envelopes) == 5
    last = card(envelopes[-1])["body"][-1]["text"]
    assert re.fullmatch(r"…and \d+ more", last)
    assert card(envelopes[1])["body"][0]["text"] == "Continued, part 2 of 5"


def test_oversized_pieces_are_clipped() -> None:
    message = Message(
        "x",
        (
            Header("é" * 10_000),
            Paragraph((Text("中" * 20_000),)),
            Fields(tuple((f"k{i}", (Text("v" * 5000),)) for i in range(5))),
            Actions((Button("Open", "open", url="https://a.example/" + "p" * 5000),)),
        ),
    )
    envelopes = to_teams(message)
    assert_envelopes_ok(envelopes)


def test_empty_message_uses_fallback() -> None:
    content = card(to_teams(Message("Only <fallback>"))[0])
    assert content["body"][0]["text"] == "Only \\<fallback\\>"


def test_reply_is_capped() -> None:
    lines = tuple(Paragraph((Text("z" * 900),)) for _ in range(100))
    reply = to_teams_reply(Message("x", lines))
    assert envelope_size(reply) < ENVELOPE_LIMIT
    assert reply["text"].endswith("more")


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=400))
def test_any_text_is_safe(title: str) -> None:
    message = Message(
        title,
        (
            Header(title),
            Paragraph((Text(title), Text("\n"), Link("https://x.example/", title))),
            Fields(((title, (Text(title),)),)),
        ),
    )
    assert_envelopes_ok(to_teams(message))


def test_at_mentions_and_formatting_in_titles_are_inert() -> None:
    title = "<at>General</at> *urgent* _now_ ~x~ [click](https://evil.example) <!channel>"
    message = render.render_alert(alert_view(item=item(title=title, source_name=title)))
    reply = to_teams_reply(message)["text"]
    body = json.dumps(to_teams(message))
    for text in (reply, body):
        assert "<at>" not in text and "<!channel>" not in text
        assert "](https://evil.example)" not in text
    assert "\\<at\\>General\\</at\\> \\*urgent\\* \\_now\\_ \\~x\\~" in reply


@pytest.mark.parametrize("url", ["javascript:alert(1)", "mailto:a@b.example", "data:text/html,x"])
def test_only_http_links_are_rendered_in_reply_and_card(url: str) -> None:
    message = Message(
        "fallback",
        (
            Paragraph((Link(url, "label"),)),
            Actions((Button("Open", url=url, action_id="open_story"),)),
        ),
    )
    assert url not in to_teams_reply(message)["text"]
    assert url not in json.dumps(to_teams(message))
