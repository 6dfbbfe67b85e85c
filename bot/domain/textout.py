"""Neutral ``Message`` -> plain terminal text (console channel, CLI previews). Pure."""

from __future__ import annotations

from bot.domain.models import (
    Actions,
    Block,
    Context,
    Divider,
    Fields,
    Header,
    Image,
    Link,
    Message,
    Paragraph,
    Span,
    Strong,
    Text,
    When,
    render_block,
)


def span_text(span: Span) -> str:
    if isinstance(span, Text | Strong):
        return span.text
    if isinstance(span, Link):
        safe = span.url.startswith(("http://", "https://"))
        return f"{span.label} <{span.url}>" if safe else span.label
    assert isinstance(span, When)
    if span.style == "date":
        return span.at.strftime("%Y-%m-%d")
    return span.at.strftime("%Y-%m-%d %H:%M UTC")


def spans_text(spans: tuple[Span, ...]) -> str:
    return "".join(span_text(s) for s in spans)


class _PlainText:
    """Each block kind as terminal text."""

    def header(self, block: Header) -> str:
        return block.text.upper()

    def paragraph(self, block: Paragraph) -> str:
        return spans_text(block.spans)

    def context(self, block: Context) -> str:
        return "  " + spans_text(block.spans)

    def fields(self, block: Fields) -> str:
        return "\n".join(f"{k}: {spans_text(v)}" for k, v in block.pairs)

    def divider(self, block: Divider) -> str:
        return "-" * 40

    def actions(self, block: Actions) -> str:
        links = [f"[{b.label}] {b.url}" for b in block.buttons if b.url]
        return "  " + "  ".join(links) if links else ""

    def image(self, block: Image) -> str:
        return f"(image: {block.alt})"


_PLAIN = _PlainText()


def block_text(block: Block) -> str:
    return render_block(block, _PLAIN)


def to_text(message: Message) -> str:
    """All blocks as lines, or the fallback when there are no blocks."""
    if not message.blocks:
        return message.fallback
    lines = [block_text(b) for b in message.blocks]
    return "\n".join(line for line in lines if line)
