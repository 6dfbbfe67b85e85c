"""Neutral ``Message`` -> Teams Workflows envelopes with an Adaptive Card 1.5 (pure).

Invariants:
- untrusted text is markdown-escaped (backslash before ``\\ ` * _ [ ] ( ) < > # ~ { } & |``,
  and before list markers at a line start), so it can neither format nor spoof a link;
- links are ``[label](url)`` only for http(s) URLs, with characters that could end or break
  the destination percent-encoded; any other link becomes its plain label;
- ``Action.Submit``-style buttons mean nothing in a Workflows post: they are dropped (a
  "subscribe" button becomes a hint naming the command); url buttons become ``Action.OpenUrl``;
- every envelope, serialised compactly as UTF-8 JSON, is below ``ENVELOPE_LIMIT`` bytes: long
  messages are split over several envelopes (at most ``MAX_ENVELOPES``) and the rest is counted
  in a final "…and N more" line.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

from bot.domain.models import (
    Actions,
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

ENVELOPE_LIMIT = 25_000
_BUDGET = ENVELOPE_LIMIT - 600  # room for the continuation line and the "…and N more" line
MAX_ENVELOPES = 5
TEXT_LIMIT = 4000  # characters per TextBlock
FACT_LIMIT = 1000
ACTION_TITLE_LIMIT = 75
URL_LIMIT = 2048
CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
ELLIPSIS = "…"

_MD_SPECIAL = frozenset("\\`*_[]()<>#~{}&|")
_WS = re.compile(r"[^\S\n]+")
_LIST_MARKER = re.compile(r"^(\s*)([-+=])")
_ORDERED_MARKER = re.compile(r"^(\s*\d+)([.)])")
_URL_SAFE = "-._~:/?#@!$&+,;=%"


# --------------------------------------------------------------------------- text primitives


def md_escape(text: str) -> str:
    """Backslash-escape Teams markdown in ``text`` (whitespace runs collapse to one space)."""
    flat = _WS.sub(" ", "".join(c if c.isprintable() or c == "\n" else " " for c in text))
    return "".join("\\" + c if c in _MD_SPECIAL else c for c in flat)


def md_inline(text: str) -> str:
    """Untrusted text as one escaped markdown line (safe even at the start of a line)."""
    return _escape_line_start(_one_line(md_escape(text)))


def _escape_line_start(line: str) -> str:
    line = _LIST_MARKER.sub(r"\1\\\2", line, count=1)
    return _ORDERED_MARKER.sub(r"\1\\\2", line, count=1)


_PNG_DATA = re.compile(r"^data:image/png;base64,[A-Za-z0-9+/]+={0,2}$")
DATA_IMAGE_LIMIT = 12_000


def image_url(url: str) -> str | None:
    """An Image URL: http(s), or a small inline PNG (charts) within the size budget."""
    if url.startswith("data:"):
        return url if len(url) <= DATA_IMAGE_LIMIT and _PNG_DATA.match(url) else None
    return safe_url(url)


def safe_url(url: str) -> str | None:
    """An http(s) URL made safe inside ``(...)`` of a markdown link, else ``None``."""
    url = url.strip()
    if len(url) > URL_LIMIT or any(not c.isprintable() or c.isspace() for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return quote(url, safe=_URL_SAFE)


def _iso(at: datetime) -> str:
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _when_card(span: When) -> str:
    iso = _iso(span.at)
    if span.style == "date":
        return f"{{{{DATE({iso}, SHORT)}}}}"
    return f"{{{{DATE({iso}, SHORT)}}}} {{{{TIME({iso})}}}}"


def _when_plain(span: When) -> str:
    at = span.at if span.at.tzinfo else span.at.replace(tzinfo=UTC)
    fmt = "%Y-%m-%d" if span.style == "date" else "%Y-%m-%d %H:%M UTC"
    return at.astimezone(UTC).strftime(fmt)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _span_md(span: Span, in_card: bool) -> str:
    if isinstance(span, Text):
        return md_escape(span.text)
    if isinstance(span, Strong):
        core = _one_line(span.text)
        return f"**{md_escape(core)}**" if core else ""
    if isinstance(span, Link):
        label = md_escape(_one_line(span.label))
        url = safe_url(span.url)
        if url is None:
            return label
        return f"[{label or md_escape(url)}]({url})"
    if isinstance(span, When):
        return _when_card(span) if in_card else _when_plain(span)
    raise TypeError(f"unknown span: {type(span).__name__}")


def spans_lines(spans: tuple[Span, ...], in_card: bool = True) -> list[str]:
    """Spans as markdown lines (``\\n`` inside ``Text`` spans separates lines)."""
    text = "".join(_span_md(s, in_card) for s in spans)
    lines = [_escape_line_start(line.rstrip()) for line in text.split("\n")]
    return [_clip(line, TEXT_LIMIT) for line in lines if line.strip()]


def _clip(text: str, limit: int) -> str:
    """Cut markdown to ``limit`` characters without leaving a dangling escape or link."""
    if len(text) <= limit:
        return text
    cut = text[: limit - len(ELLIPSIS)]
    open_link = cut.rfind("[")
    if (
        open_link != -1
        and (open_link == 0 or cut[open_link - 1] != "\\")
        and ")" not in cut[open_link:]
    ):
        cut = cut[:open_link]
    trailing = len(cut) - len(cut.rstrip("\\"))
    if trailing % 2:
        cut = cut[:-1]
    return cut + ELLIPSIS


# --------------------------------------------------------------------------- card elements


def _text_block(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


@dataclass
class _Piece:
    """A body element or a card action, in message order."""

    element: dict[str, Any] | None = None
    action: dict[str, Any] | None = None
    size: int = 0

    def __post_init__(self) -> None:
        self.size = len(_dumps(self.element if self.element is not None else self.action)) + 1


def _paragraph(block: Paragraph) -> list[dict[str, Any]]:
    lines = spans_lines(block.spans)
    return [
        _text_block(line, **({} if i == 0 else {"spacing": "None"})) for i, line in enumerate(lines)
    ]


def _facts(block: Fields) -> list[dict[str, Any]]:
    facts = []
    for name, spans in block.pairs:
        value = " ".join(spans_lines(spans))
        facts.append({"title": md_inline(name), "value": _clip(value, FACT_LIMIT)})
    return [{"type": "FactSet", "facts": facts}] if facts else []


def _button_hint(button: Button) -> str | None:
    if button.action_id == "subscribe_topic" and button.value:
        return f"To subscribe this channel, send: @uschina subscribe {md_escape(button.value)}"
    return None


def _open_url(button: Button) -> dict[str, Any] | None:
    url = safe_url(button.url) if button.url else None
    if url is None:
        return None
    title = _one_line(button.label)[:ACTION_TITLE_LIMIT] or "Open"
    return {"type": "Action.OpenUrl", "title": title, "url": url}


_Rendered = tuple[list[dict[str, Any]], list[_Piece]] | None
"""A block's card body elements and card actions; None for a divider (a separator)."""


class _CardPieces:
    """Each neutral block kind as Adaptive Card body elements and actions."""

    def header(self, block: Header) -> _Rendered:
        text = md_inline(block.text)
        if not text:
            return [], []
        return [_text_block(_clip(text, 300), weight="Bolder", size="Medium")], []

    def paragraph(self, block: Paragraph) -> _Rendered:
        return list(_paragraph(block)), []

    def context(self, block: Context) -> _Rendered:
        text = " ".join(spans_lines(block.spans))
        return ([_text_block(text, isSubtle=True, size="Small")] if text else []), []

    def fields(self, block: Fields) -> _Rendered:
        return list(_facts(block)), []

    def divider(self, block: Divider) -> _Rendered:
        return None

    def image(self, block: Image) -> _Rendered:
        url = image_url(block.url)
        if not url:
            return [], []
        return [{"type": "Image", "url": url, "altText": _one_line(block.alt)}], []

    def actions(self, block: Actions) -> _Rendered:
        elements: list[dict[str, Any]] = []
        actions: list[_Piece] = []
        for button in block.buttons:
            action = _open_url(button)
            hint = _button_hint(button)
            if action is not None:
                actions.append(_Piece(action=action))
            elif hint is not None:
                elements.append(_text_block(hint, isSubtle=True, size="Small"))
        return elements, actions


_CARD = _CardPieces()


def _pieces(message: Message) -> list[_Piece]:
    pieces: list[_Piece] = []
    separator = False
    for block in message.blocks:
        rendered = render_block(block, _CARD)
        if rendered is None:
            separator = True
            continue
        elements, actions = rendered
        pieces.extend(actions)
        if elements and separator:
            elements[0] = {**elements[0], "separator": True, "spacing": "Medium"}
            separator = False
        pieces.extend(_Piece(element=e) for e in elements)
    return pieces


# --------------------------------------------------------------------------- envelopes


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _card(body: list[dict[str, Any]], actions: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "type": "AdaptiveCard",
        "$schema": CARD_SCHEMA,
        "version": "1.5",
        "body": body,
        "actions": actions,
        "msteams": {"width": "Full"},
    }


def envelope(card: dict[str, Any]) -> dict[str, Any]:
    """Wrap an Adaptive Card in the message envelope a Workflows webhook accepts."""
    return {
        "type": "message",
        "attachments": [{"contentType": CARD_CONTENT_TYPE, "contentUrl": None, "content": card}],
    }


_EMPTY_SIZE = len(_dumps(envelope(_card([], []))))


@dataclass
class _Bucket:
    body: list[dict[str, Any]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    size: int = _EMPTY_SIZE


def _pack(pieces: list[_Piece]) -> list[_Bucket]:
    buckets = [_Bucket()]
    for piece in pieces:
        bucket = buckets[-1]
        if bucket.size + piece.size > _BUDGET and bucket.body:
            bucket = _Bucket()
            buckets.append(bucket)
        if piece.element is not None:
            bucket.body.append(piece.element)
        elif piece.action is not None:
            bucket.actions.append(piece.action)
        bucket.size += piece.size
    return buckets


def _fallback_card(message: Message) -> list[dict[str, Any]]:
    text = _clip(md_inline(message.fallback), TEXT_LIMIT) or ELLIPSIS
    return [_text_block(text)]


def to_teams(message: Message) -> list[dict[str, Any]]:
    """One or more Workflows envelopes for ``message``; each < ``ENVELOPE_LIMIT`` bytes."""
    pieces = [p for p in _pieces(message) if p.size < _BUDGET - _EMPTY_SIZE]
    buckets = _pack(pieces) if pieces else []
    if not buckets or not any(b.body for b in buckets):
        buckets = [
            _Bucket(body=_fallback_card(message), actions=buckets[0].actions if buckets else [])
        ]
    kept = buckets[:MAX_ENVELOPES]
    dropped = sum(len(b.body) for b in buckets[MAX_ENVELOPES:])
    if dropped:
        kept[-1].body.append(_text_block(f"{ELLIPSIS}and {dropped} more", isSubtle=True))
    envelopes = []
    for index, bucket in enumerate(kept):
        body = bucket.body
        if index:
            note = _text_block(f"Continued, part {index + 1} of {len(kept)}", isSubtle=True)
            body = [{**note, "size": "Small"}, *body]
        envelopes.append(envelope(_card(body, bucket.actions)))
    return envelopes


def split_envelope(value: dict[str, Any]) -> list[dict[str, Any]]:
    """Halve an envelope the webhook refused as too large: the card's body elements are split
    over two cards (the actions stay with the second). ``[]`` when there is nothing to split
    (a single element); the caller then falls back to plain text."""
    try:
        card = value["attachments"][0]["content"]
        body = list(card.get("body") or [])
    except (KeyError, IndexError, TypeError, AttributeError):
        return []
    if len(body) < 2:
        return []
    half = len(body) // 2
    first = {**card, "body": body[:half], "actions": []}
    second = {**card, "body": body[half:]}
    return [envelope(first), envelope(second)]


# --------------------------------------------------------------------------- outgoing webhook


class _ReplyLines:
    """Each neutral block kind as markdown lines of an outgoing-webhook reply."""

    def header(self, block: Header) -> list[str]:
        return [f"**{md_inline(block.text)}**"]

    def paragraph(self, block: Paragraph) -> list[str]:
        return list(spans_lines(block.spans, in_card=False))

    def context(self, block: Context) -> list[str]:
        return list(spans_lines(block.spans, in_card=False))

    def fields(self, block: Fields) -> list[str]:
        return [
            f"**{md_inline(name)}**: {' '.join(spans_lines(spans, in_card=False))}"
            for name, spans in block.pairs
        ]

    def divider(self, block: Divider) -> list[str]:
        return []

    def actions(self, block: Actions) -> list[str]:
        links = [
            f"[{md_inline(b.label)}]({u})"
            for b in block.buttons
            if b.url and (u := safe_url(b.url))
        ]
        return [" · ".join(links)] if links else []

    def image(self, block: Image) -> list[str]:
        return []


_REPLY = _ReplyLines()


def to_teams_reply(message: Message) -> dict[str, Any]:
    """The message activity answering an outgoing-webhook call (markdown text, < the cap)."""
    lines = [line for block in message.blocks for line in render_block(block, _REPLY)]
    if not lines:
        lines = [md_inline(message.fallback) or ELLIPSIS]
    return {"type": "message", "textFormat": "markdown", "text": _fit_text(lines)}


def _fit_text(lines: list[str]) -> str:
    """Join lines as paragraphs, dropping trailing ones (counted) to stay under the cap."""
    budget = _BUDGET - 200
    kept: list[str] = []
    used = 0
    for line in lines:
        cost = len(_dumps(line)) + 4
        if used + cost > budget:
            break
        kept.append(line)
        used += cost
    dropped = len(lines) - len(kept)
    if dropped:
        kept.append(f"{ELLIPSIS}and {dropped} more")
    return "\n\n".join(kept)
