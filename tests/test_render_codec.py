"""Neutral message <-> JSON round trip (the outbox format)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from render_samples import SAMPLES

from bot.domain.codec import message_from_dict, message_to_dict
from bot.domain.models import (
    Actions,
    Block,
    Button,
    Context,
    Divider,
    Fields,
    Header,
    Image,
    Link,
    Message,
    Paragraph,
    Strong,
    Text,
    When,
)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_samples_round_trip_through_json(name: str) -> None:
    message = SAMPLES[name]()
    encoded = json.dumps(message_to_dict(message))
    assert message_from_dict(json.loads(encoded)) == message


def test_datetimes_are_iso_strings() -> None:
    at = datetime(2024, 9, 10, 14, 0, 5, 123456, tzinfo=UTC)
    data = message_to_dict(Message("x", (Paragraph((When(at, "ago"),)),)))
    assert data["blocks"][0]["spans"][0]["at"] == "2024-09-10T14:00:05.123456+00:00"


@pytest.mark.parametrize(
    "bad",
    [
        {"fallback": "x", "kind": "k", "blocks": [{"type": "nope"}]},
        {"fallback": "x", "kind": "k", "blocks": [{"type": "paragraph", "spans": [{"t": "?"}]}]},
        {"fallback": 3, "kind": "k", "blocks": []},
        {"v": 99, "fallback": "x", "kind": "k", "blocks": []},
    ],
)
def test_malformed_dicts_are_rejected(bad: dict) -> None:
    with pytest.raises(ValueError):
        message_from_dict(bad)


texts = st.text(max_size=40)
times = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
spans = st.one_of(
    st.builds(Text, texts),
    st.builds(Strong, texts),
    st.builds(Link, texts, texts),
    st.builds(When, times, st.sampled_from(["date", "datetime", "ago"])),
)
span_tuples = st.lists(spans, max_size=5).map(tuple)
buttons = st.builds(
    Button,
    texts,
    texts,
    texts,
    st.none() | texts,
    st.sampled_from([None, "primary", "danger"]),
)
blocks: st.SearchStrategy[Block] = st.one_of(
    st.builds(Header, texts),
    st.builds(Paragraph, span_tuples),
    st.builds(Fields, st.lists(st.tuples(texts, span_tuples), max_size=3).map(tuple)),
    st.builds(Context, span_tuples),
    st.just(Divider()),
    st.builds(Actions, st.lists(buttons, max_size=3).map(tuple)),
    st.builds(Image, texts, texts),
)
messages = st.builds(Message, texts, st.lists(blocks, max_size=6).map(tuple), texts)


@settings(max_examples=150, deadline=None)
@given(messages)
def test_any_message_round_trips(message: Message) -> None:
    assert message_from_dict(json.loads(json.dumps(message_to_dict(message)))) == message
