"""Every neutral block kind goes through the one dispatch (``render_block``) to its method."""

from __future__ import annotations

import typing

import pytest

from bot.domain import models as m
from bot.domain.codec import message_from_dict, message_to_dict
from bot.domain.textout import to_text

SAMPLES: dict[type, m.Block] = {
    m.Header: m.Header("Tariffs"),
    m.Paragraph: m.Paragraph((m.Text("text"),)),
    m.Fields: m.Fields((("Outlet", (m.Text("Wire"),)),)),
    m.Context: m.Context((m.Text("small"),)),
    m.Divider: m.Divider(),
    m.Actions: m.Actions((m.Button("Open", "open", url="https://news.example/a"),)),
    m.Image: m.Image("https://news.example/c.png", "chart"),
}


class Recorder:
    def __getattr__(self, name: str) -> typing.Callable[[m.Block], str]:
        return lambda block: f"{name}:{type(block).__name__}"


def test_each_block_kind_reaches_its_own_method() -> None:
    kinds = typing.get_args(m.Block)
    assert set(kinds) == set(SAMPLES), "a new block kind needs a sample here"
    for kind in kinds:
        got = m.render_block(SAMPLES[kind], Recorder())  # type: ignore[arg-type]
        assert got == f"{kind.__name__.lower()}:{kind.__name__}"


def test_an_unknown_block_is_refused_not_dropped() -> None:
    with pytest.raises(TypeError, match="unknown block: str"):
        m.render_block("not a block", Recorder())  # type: ignore[arg-type]
    message = m.Message(fallback="x", blocks=tuple(SAMPLES.values()))
    assert message_from_dict(message_to_dict(message)) == message
    assert "TARIFFS" in to_text(message) and "(image: chart)" in to_text(message)
