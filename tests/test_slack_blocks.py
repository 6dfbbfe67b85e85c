"""Neutral message -> Slack payload: golden files, escaping and Block Kit limits."""

from __future__ import annotations

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
from slack_sdk.models.blocks import Block as SlackBlock

from bot.chat.slack.blocks import clip, escape, to_slack, to_slack_text
from bot.domain import render
from bot.domain.models import (
    Actions,
    Button,
    Context,
    Fields,
    Header,
    Link,
    Message,
    Paragraph,
    Strong,
    Text,
    When,
)

OUR_TOKEN = re.compile(r"<(?:https?://[^\s|<>]+(?:\|[^<>]*)?|!date\^\d+\^[^|<>]+\|[^<>|]+)>")
ENTITY = re.compile(r"&(?:amp|lt|gt);")


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, inner in value.items():
            if key not in ("url", "image_url", "action_id", "value", "type", "style"):
                yield from strings(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from strings(inner)


def assert_safe(payload: dict[str, Any]) -> None:
    """Every raw < > is one of our tokens; every & starts an entity."""
    for text in strings(payload):
        rest = OUR_TOKEN.sub("", text)
        assert "<" not in rest and ">" not in rest, text
        assert "&" not in ENTITY.sub("", rest), text
        for token in OUR_TOKEN.findall(text):
            assert not token.startswith(("<!channel", "<!here", "<@", "<https://evil")), token


def assert_in_limits(payload: dict[str, Any]) -> None:
    blocks = payload["blocks"]
    assert len(blocks) <= 50
    assert len(payload["text"]) <= 3000
    for block in blocks:
        if block["type"] == "section":
            if "text" in block:
                assert 0 < len(block["text"]["text"]) <= 3000
            assert len(block.get("fields", [])) <= 10
            assert all(len(f["text"]) <= 2000 for f in block.get("fields", []))
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= 150
        if block["type"] == "actions":
            assert len(block["elements"]) <= 25
            assert all(len(e["text"]["text"]) <= 75 for e in block["elements"])
        if block["type"] == "context":
            assert len(block["elements"]) <= 10
        # rebuilding through slack_sdk's classes validates and reproduces the dict
        rebuilt = SlackBlock.parse(block)
        assert rebuilt is not None and rebuilt.to_dict() == block


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_golden_slack(name: str) -> None:
    payload = to_slack(SAMPLES[name]())
    assert_safe(payload)
    assert_in_limits(payload)
    check_golden(f"{name}.slack", payload)


def test_alert_payload_shape() -> None:
    payload = to_slack(SAMPLES["alert"]())
    assert payload["text"].startswith("Biden and Xi")
    section = payload["blocks"][0]["text"]["text"]
    assert section == "<https://news.example/biden-xi-call|Biden and Xi to speak in coming weeks>"
    context = payload["blocks"][2]["elements"][0]["text"]
    assert "<!date^1725975000^{date_short_pretty} {time}|2024-09-10 13:30 UTC>" in context
    actions = payload["blocks"][-1]["elements"]
    assert [a["action_id"] for a in actions] == ["subscribe_topic", "mute_topic", "open_story"]
    assert actions[2]["url"] == "https://news.example/biden-xi-call"


@pytest.mark.parametrize("title", HOSTILE_TITLES)
def test_hostile_titles_are_escaped(title: str) -> None:
    for message in (
        render.render_alert(alert_view(item=item(title=title, source_name=title))),
        render.render_digest(digest_view(hostile=True), NOW),
        render.render_search(title, (story(1, title=title),), NOW),
    ):
        payload = to_slack(message)
        assert_safe(payload)
        assert_in_limits(payload)
        text = str(payload)
        assert "<!channel>" not in text and "<@U123>" not in text
        assert "<https://evil.example" not in text
        assert_safe({"text": to_slack_text(message)})


def test_hostile_title_rendering_is_exact() -> None:
    payload = to_slack(render.render_alert(alert_view(item=item(title="<!channel> & <@U123>"))))
    assert payload["blocks"][0]["text"]["text"] == (
        "<https://news.example/biden-xi-call|&lt;!channel&gt; &amp; &lt;@U123&gt;>"
    )
    assert payload["text"].startswith("&lt;!channel&gt; &amp; &lt;@U123&gt;")


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "https://evil.example|click",
        "https://x.example/<!channel>",
        "ftp://files.example/a",
        "https://x.example/a b",
        "",
    ],
)
def test_bad_link_urls_fall_back_to_label(url: str) -> None:
    message = Message("x", (Paragraph((Link(url, "label <b>"),)),))
    assert to_slack(message)["blocks"][0]["text"]["text"] == "label &lt;b&gt;"


def test_url_ampersand_is_escaped_inside_link() -> None:
    message = Message("x", (Paragraph((Link("https://a.example/?a=1&b=2", "l"),)),))
    assert to_slack(message)["blocks"][0]["text"]["text"] == "<https://a.example/?a=1&amp;b=2|l>"


def test_when_styles() -> None:
    at = NOW
    message = Message("x", (Paragraph((When(at, "date"), Text(" "), When(at, "ago"))),))
    text = to_slack(message)["blocks"][0]["text"]["text"]
    assert text == (
        "<!date^1725976800^{date_short_pretty}|2024-09-10> "
        "<!date^1725976800^{ago}|2024-09-10 14:00 UTC>"
    )


def test_digest_with_200_stories_fits() -> None:
    message = render.render_digest(digest_view(stories_per_topic=200, hostile=True), NOW, 200)
    payload = to_slack(message)
    assert_safe(payload)
    assert_in_limits(payload)


def test_more_than_50_blocks_are_truncated_with_note() -> None:
    message = Message("x", tuple(Paragraph((Text(f"line {i}"),)) for i in range(80)))
    payload = to_slack(message)
    assert len(payload["blocks"]) == 50
    assert payload["blocks"][-1]["elements"][0]["text"] == "…and 31 more"
    assert_in_limits(payload)


def test_long_texts_are_split_or_clipped() -> None:
    huge = "&<>" * 5000
    message = Message(
        huge,
        (
            Header(huge),
            Paragraph((Text(huge),)),
            Paragraph(tuple(Text(f"line {i} " + "w" * 100 + "\n") for i in range(100))),
            Context((Text(huge),)),
            Fields(tuple((f"k{i}", (Text(huge),)) for i in range(23))),
            Actions(tuple(Button(huge, f"a{i}", value="v" * 3000) for i in range(30))),
        ),
    )
    payload = to_slack(message)
    assert_safe(payload)
    assert_in_limits(payload)
    sections = [b for b in payload["blocks"] if b["type"] == "section" and "text" in b]
    assert len(sections) >= 5  # the 100 long lines spread over several sections
    assert sum(len(b.get("fields", [])) for b in payload["blocks"]) == 23


def test_clip_never_splits_entities_or_tokens() -> None:
    assert clip("ab&amp;cd", 5) == "ab…"
    assert clip("x <https://a.example|label> tail", 12) == "x …"
    assert clip("short", 10) == "short"


def test_to_slack_text_contains_links_and_is_capped() -> None:
    text = to_slack_text(SAMPLES["digest"]())
    assert "<https://news.example/article/0?a=1&amp;b=2|" in text
    long = Message("x", tuple(Paragraph((Text("y" * 500),)) for i in range(40)))
    capped = to_slack_text(long)
    assert len(capped) <= 4000 and capped.endswith("more lines")


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=300), st.text(max_size=100))
def test_any_text_is_escaped_and_valid(title: str, url_tail: str) -> None:
    message = Message(
        title,
        (
            Header(title),
            Paragraph((Text(title), Link("https://x.example/" + url_tail, title))),
            Context((Link(url_tail, title),)),
            Actions((Button(title or "b", "a", url="https://x.example/" + url_tail),)),
        ),
    )
    payload = to_slack(message)
    assert_safe(payload)
    assert_in_limits(payload)


def test_escape() -> None:
    assert escape("a & <b> c") == "a &amp; &lt;b&gt; c"


FORMATTING_TITLES = {
    "*Breaking*: _all_ ~cancelled~": "∗Breaking∗: ＿all＿ ∼cancelled∼",
    "Talks on south_china_sea claims": "Talks on south_china_sea claims",
    "Key api_key=*** and 5 * 3 kept": "Key api_key=*** and 5 * 3 kept",
    '"*quoted*" and (_aside_)': '"∗quoted∗" and (＿aside＿)',
    "_<!here>_ *<@U999>*": "＿&lt;!here&gt;＿ ∗&lt;@U999&gt;∗",
}


@pytest.mark.parametrize("title", sorted(FORMATTING_TITLES))
def test_formatting_marks_in_titles_cannot_format(title: str) -> None:
    payload = to_slack(render.render_alert(alert_view(item=item(title=title))))
    expected = FORMATTING_TITLES[title]
    assert payload["blocks"][0]["text"]["text"] == (
        f"<https://news.example/biden-xi-call|{expected}>"
    )
    assert payload["text"].startswith(expected)
    assert expected in to_slack_text(render.render_alert(alert_view(item=item(title=title))))


def test_formatting_marks_in_plain_text_and_strong_cannot_format() -> None:
    message = Message(
        "*x*",
        (Paragraph((Text("_a_ *b* ~c~ "), Strong("*loud*"))), Context((Text("~gone~"),))),
    )
    payload = to_slack(message)
    assert payload["blocks"][0]["text"]["text"] == "＿a＿ ∗b∗ ∼c∼ *∗loud∗*"
    assert payload["blocks"][1]["elements"][0]["text"] == "∼gone∼"
    assert payload["text"] == "∗x∗"


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "slack://open", "mailto:a@b.example", "data:text/html,x"]
)
def test_only_http_links_are_rendered_anywhere(url: str) -> None:
    message = Message(
        "fallback",
        (
            Paragraph((Link(url, "label"),)),
            Actions((Button("Open", url=url, action_id="open_story"),)),
        ),
    )
    payload = to_slack(message)
    assert url not in str(payload)
    assert url not in to_slack_text(message)
