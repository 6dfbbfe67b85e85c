"""Domain views -> neutral messages: content, kinds and fallbacks."""

from __future__ import annotations

from datetime import timedelta

import pytest
from render_samples import (
    HOSTILE_TITLES,
    NOW,
    SAMPLES,
    alert_view,
    countdown_line,
    digest_view,
    item,
    story,
)

from bot.domain import render
from bot.domain.models import (
    Actions,
    Button,
    Context,
    Header,
    Link,
    Message,
    Paragraph,
    Span,
    Strong,
    Text,
    When,
)


def all_spans(message: Message) -> list[Span]:
    spans: list[Span] = []
    for block in message.blocks:
        if isinstance(block, Paragraph | Context):
            spans.extend(block.spans)
    return spans


def plain(message: Message) -> str:
    parts = []
    for span in all_spans(message):
        if isinstance(span, Text | Strong):
            parts.append(span.text)
        elif isinstance(span, Link):
            parts.append(span.label)
    return "".join(parts)


def buttons(message: Message) -> list[Button]:
    return [b for block in message.blocks if isinstance(block, Actions) for b in block.buttons]


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_every_message_has_kind_and_fallback(name: str) -> None:
    message = SAMPLES[name]()
    assert message.kind and message.kind != "info"
    assert message.fallback.strip()
    assert len(message.fallback) <= render.FALLBACK_LIMIT
    assert message.blocks


def test_alert_content() -> None:
    message = render.render_alert(alert_view())
    assert message.kind == "alert"
    links = [s for s in all_spans(message) if isinstance(s, Link)]
    assert links[0] == Link(
        "https://news.example/biden-xi-call", "Biden and Xi to speak in coming weeks"
    )
    assert any(isinstance(s, When) and s.at == item().published for s in all_spans(message))
    text = plain(message)
    assert "Reuters" in text and "Diplomacy, Climate" in text
    assert "Official source" in text
    assert "+2 outlets" in text
    ids = [(b.action_id, b.value, b.url) for b in buttons(message)]
    assert ("subscribe_topic", "diplomacy", None) in ids
    assert ("mute_topic", "diplomacy", None) in ids
    assert any(b.url == "https://news.example/biden-xi-call" for b in buttons(message))
    assert "Biden and Xi" in message.fallback and "Official source" in message.fallback


def test_alert_single_outlet_unofficial_has_no_markers() -> None:
    message = render.render_alert(alert_view(story=story(1), outlet_count=1))
    text = plain(message)
    assert "Official source" not in text
    assert "outlet" not in text


def test_alert_buttons_default_to_first_topic() -> None:
    message = render.render_alert(alert_view(subscribe_topic=None))
    assert buttons(message)[0].value == "climate"


def test_followup_is_compact() -> None:
    message = render.render_alert(alert_view(followup=True, item=item(source_name="AP")))
    assert message.kind == "followup"
    assert len(message.blocks) == 1
    assert plain(message).startswith("Also reported by AP")
    assert not buttons(message)


def test_digest_groups_topics_with_change_and_more() -> None:
    message = render.render_digest(digest_view(), NOW)
    assert message.kind == "digest"
    text = plain(message)
    assert "*Climate*" not in text  # neutral text has no platform markup
    assert "Climate" in text and "Taiwan" in text
    assert "(▲4)" in text and "(▲3)" in text
    assert text.count("…and 2 more") == 2
    assert text.index("Countdowns") > text.index("Taiwan")
    assert "in 62 days" in text and "Baku" in text
    assert isinstance(message.blocks[0], Header)


def test_digest_caps_stories_per_topic() -> None:
    message = render.render_digest(digest_view(stories_per_topic=200), NOW)
    links = [s for s in all_spans(message) if isinstance(s, Link)]
    assert len(links) == 2 * render.DIGEST_MAX_PER_TOPIC
    assert "…and 194 more" in plain(message)  # 200 - 8 shown + 2 already left out


def test_digest_change_markers() -> None:
    assert render.change_marker(5, 2) == "▲3"
    assert render.change_marker(1, 3) == "▼2"
    assert render.change_marker(4, 4) == "="


def test_quiet_digest_is_short() -> None:
    message = render.render_digest(digest_view(sections=(), countdowns=()), NOW)
    assert "Quiet period" in plain(message)
    assert len(message.blocks) <= 3
    assert "Quiet period" in message.fallback


def test_countdown_posts() -> None:
    single = render.render_countdown(countdown_line(1))
    assert single.kind == "countdown" and "COP29" in single.fallback
    listing = render.render_countdown_list((countdown_line(1), countdown_line(2, True)))
    assert "#1" in plain(listing) and "#2" in plain(listing) and "tentative" in plain(listing)
    assert "No countdowns" in render.render_countdown_list(()).fallback


def test_status_board_rows() -> None:
    message = SAMPLES["status"]()
    text = plain(message)
    assert "Diplomacy" in text and "(▲2)" in text and "(▼2)" in text and "(=)" in text
    assert "No stories yet" in text
    assert "Blinken–Wang meeting" in text


def test_status_detail_side_by_side() -> None:
    message = SAMPLES["status_detail"]()
    assert "Side by side" in plain(message)
    assert "PRC — Xinhua" in message.fallback


def test_latest_and_search_handle_items_and_empty() -> None:
    latest = render.render_latest((story(1), item()), "Climate", NOW)
    assert "Latest: Climate" in latest.fallback
    assert "30m ago" in plain(latest)
    assert "Nothing yet" in render.render_latest((), "Taiwan", NOW).fallback
    assert "No stories match" in render.render_search("<!channel>", (), NOW).fallback


def test_lists_are_capped() -> None:
    many = tuple(story(i) for i in range(60))
    message = render.render_latest(many, None, NOW)
    assert "…and 35 more" in plain(message)


def test_error_and_ok() -> None:
    error = render.render_error("Unknown topic 'x'.", "subscribe TOPIC...")
    assert error.kind == "error" and "Usage: subscribe TOPIC..." in error.fallback
    assert render.render_ok("Done.").kind == "ok"


def test_proposal_buttons_carry_id() -> None:
    message = SAMPLES["proposal"]()
    assert [b.value for b in buttons(message)] == ["42", "42"]
    assert buttons(message)[0].action_id == "track_proposal"


@pytest.mark.parametrize("title", HOSTILE_TITLES)
def test_untrusted_text_is_flattened(title: str) -> None:
    message = render.render_alert(alert_view(item=item(title=title + "\n\nmore")))
    link = next(s for s in all_spans(message) if isinstance(s, Link))
    assert "\n" not in link.label


def test_long_title_is_cut() -> None:
    message = render.render_alert(alert_view(item=item(title="x" * 5000)))
    link = next(s for s in all_spans(message) if isinstance(s, Link))
    assert len(link.label) == render.TITLE_LIMIT and link.label.endswith("…")


def test_age_phrase() -> None:
    assert render.age_phrase(NOW, NOW) == "just now"
    assert render.age_phrase(NOW - timedelta(minutes=5), NOW) == "5m ago"
    assert render.age_phrase(NOW - timedelta(hours=3), NOW) == "3h ago"
    assert render.age_phrase(NOW - timedelta(days=2), NOW) == "2d ago"
