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


def block_text(block: Block) -> str:
    if isinstance(block, Header):
        return block.text.upper()
    if isinstance(block, Paragraph):
        return spans_text(block.spans)
    if isinstance(block, Context):
        return "  " + spans_text(block.spans)
    if isinstance(block, Fields):
        return "\n".join(f"{k}: {spans_text(v)}" for k, v in block.pairs)
    if isinstance(block, Divider):
        return "-" * 40
    if isinstance(block, Actions):
        links = [f"[{b.label}] {b.url}" for b in block.buttons if b.url]
        return "  " + "  ".join(links) if links else ""
    assert isinstance(block, Image)
    return f"(image: {block.alt})"


def to_text(message: Message) -> str:
    """All blocks as lines, or the fallback when there are no blocks."""
    if not message.blocks:
        return message.fallback
    lines = [block_text(b) for b in message.blocks]
    return "\n".join(line for line in lines if line)
