"""Neutral ``Message`` <-> JSON-safe dict (the outbox stores messages as JSON).

Invariants:
- ``message_from_dict(message_to_dict(m)) == m`` for every message;
- the dict holds only str, int, bool, None, list and dict (datetimes as ISO 8601 strings);
- unknown block or span types raise ``ValueError`` instead of being silently dropped.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

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
    Span,
    Strong,
    Text,
    When,
    render_block,
)

CODEC_VERSION = 1


# --------------------------------------------------------------------------- encode


def _span_to_dict(span: Span) -> dict[str, Any]:
    if isinstance(span, Text):
        return {"t": "text", "text": span.text}
    if isinstance(span, Strong):
        return {"t": "strong", "text": span.text}
    if isinstance(span, Link):
        return {"t": "link", "url": span.url, "label": span.label}
    if isinstance(span, When):
        return {"t": "when", "at": span.at.isoformat(), "style": span.style}
    raise ValueError(f"unknown span: {type(span).__name__}")


def _spans(spans: tuple[Span, ...]) -> list[dict[str, Any]]:
    return [_span_to_dict(s) for s in spans]


def _button_to_dict(button: Button) -> dict[str, Any]:
    return {
        "label": button.label,
        "action_id": button.action_id,
        "value": button.value,
        "url": button.url,
        "style": button.style,
    }


class _BlockToDict:
    """Each block kind as its JSON-safe dict."""

    def header(self, block: Header) -> dict[str, Any]:
        return {"type": "header", "text": block.text}

    def paragraph(self, block: Paragraph) -> dict[str, Any]:
        return {"type": "paragraph", "spans": _spans(block.spans)}

    def fields(self, block: Fields) -> dict[str, Any]:
        return {"type": "fields", "pairs": [[k, _spans(v)] for k, v in block.pairs]}

    def context(self, block: Context) -> dict[str, Any]:
        return {"type": "context", "spans": _spans(block.spans)}

    def divider(self, block: Divider) -> dict[str, Any]:
        return {"type": "divider"}

    def actions(self, block: Actions) -> dict[str, Any]:
        return {"type": "actions", "buttons": [_button_to_dict(b) for b in block.buttons]}

    def image(self, block: Image) -> dict[str, Any]:
        return {"type": "image", "url": block.url, "alt": block.alt}


_TO_DICT = _BlockToDict()


def _block_to_dict(block: Block) -> dict[str, Any]:
    try:
        return render_block(block, _TO_DICT)
    except TypeError as exc:
        raise ValueError(f"unknown block: {type(block).__name__}") from exc


def message_to_dict(message: Message) -> dict[str, Any]:
    """Encode ``message`` as a JSON-safe dict."""
    return {
        "v": CODEC_VERSION,
        "kind": message.kind,
        "fallback": message.fallback,
        "blocks": [_block_to_dict(b) for b in message.blocks],
    }


# --------------------------------------------------------------------------- decode


def _str(d: dict[str, Any], key: str) -> str:
    value = d.get(key)
    if not isinstance(value, str):
        raise ValueError(f"{key!r} must be a string")
    return value


def _span_from_dict(d: dict[str, Any]) -> Span:
    kind = d.get("t")
    if kind == "text":
        return Text(_str(d, "text"))
    if kind == "strong":
        return Strong(_str(d, "text"))
    if kind == "link":
        return Link(url=_str(d, "url"), label=_str(d, "label"))
    if kind == "when":
        style = _str(d, "style")
        if style not in ("date", "datetime", "ago"):
            raise ValueError(f"unknown time style: {style!r}")
        return When(datetime.fromisoformat(_str(d, "at")), cast(Any, style))
    raise ValueError(f"unknown span type: {kind!r}")


def _spans_from(items: Any) -> tuple[Span, ...]:
    if not isinstance(items, list):
        raise ValueError("spans must be a list")
    return tuple(_span_from_dict(s) for s in items)


def _button_from_dict(d: dict[str, Any]) -> Button:
    style = d.get("style")
    if style not in (None, "primary", "danger"):
        raise ValueError(f"unknown button style: {style!r}")
    url = d.get("url")
    if url is not None and not isinstance(url, str):
        raise ValueError("'url' must be a string or null")
    return Button(
        label=_str(d, "label"),
        action_id=_str(d, "action_id"),
        value=_str(d, "value"),
        url=url,
        style=style,
    )


def _block_from_dict(d: dict[str, Any]) -> Block:
    kind = d.get("type")
    if kind == "header":
        return Header(_str(d, "text"))
    if kind == "paragraph":
        return Paragraph(_spans_from(d.get("spans")))
    if kind == "fields":
        return Fields(tuple((str(k), _spans_from(v)) for k, v in d.get("pairs") or []))
    if kind == "context":
        return Context(_spans_from(d.get("spans")))
    if kind == "divider":
        return Divider()
    if kind == "actions":
        return Actions(tuple(_button_from_dict(b) for b in d.get("buttons") or []))
    if kind == "image":
        return Image(url=_str(d, "url"), alt=_str(d, "alt"))
    raise ValueError(f"unknown block type: {kind!r}")


def message_from_dict(d: dict[str, Any]) -> Message:
    """Decode a dict made by :func:`message_to_dict`; raises ``ValueError`` when malformed."""
    if not isinstance(d, dict):
        raise ValueError("message must be a dict")
    version = d.get("v", CODEC_VERSION)
    if version != CODEC_VERSION:
        raise ValueError(f"unsupported message version: {version!r}")
    blocks = d.get("blocks") or []
    if not isinstance(blocks, list):
        raise ValueError("blocks must be a list")
    return Message(
        fallback=_str(d, "fallback"),
        blocks=tuple(_block_from_dict(b) for b in blocks),
        kind=_str(d, "kind"),
    )
