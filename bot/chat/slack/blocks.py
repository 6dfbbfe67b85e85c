"""Neutral ``Message`` -> Slack ``chat.postMessage`` payload (pure; builds slack_sdk blocks).

Invariants of every payload returned by :func:`to_slack`:
- ``&``, ``<`` and ``>`` of every untrusted string (text, labels, fallback, alt text) are
  escaped, so feed titles cannot mention (``<!channel>``, ``<@U123>``) or spoof links;
- mrkdwn formatting marks in untrusted text cannot format: a ``*``, ``_`` or ``~`` that could
  open or close bold, italics or strike-through becomes a look-alike (U+2217, U+FF3F,
  U+223C); marks inside a word (``south_china_sea``) or in runs (``***``) are kept, since
  Slack never formats them;
- the only raw ``<...>`` tokens are ours: ``<url|label>`` for http(s) URLs free of ``|<>``
  and whitespace, and ``<!date^...>`` for ``When`` spans;
- Block Kit limits hold: <= 50 blocks (the last one then says "…and N more"), section text
  <= 3000, field text <= 2000, header <= 150, button text <= 75, <= 10 fields per section,
  <= 25 buttons per actions block, one element per context block; fallback ``text`` <= 3000;
- every block is built with slack_sdk's classes and serialised by ``to_dict()``, which validates.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    ImageBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)
from slack_sdk.models.blocks import (
    Block as SlackBlock,
)

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

MAX_BLOCKS = 50
SECTION_LIMIT = 3000
FIELD_LIMIT = 2000
FIELDS_PER_SECTION = 10
HEADER_LIMIT = 150
BUTTON_TEXT_LIMIT = 75
BUTTON_VALUE_LIMIT = 2000
URL_LIMIT = 3000
ACTIONS_LIMIT = 25
ALT_LIMIT = 2000
FALLBACK_LIMIT = 3000
PLAIN_TEXT_LIMIT = 4000
ELLIPSIS = "…"

_WS = re.compile(r"\s+")
_URL_OK = re.compile(r"^https?://[^\s|<>\x00-\x1f\x7f]+$", re.IGNORECASE)
_TIME_TOKENS = {
    "datetime": "{date_short_pretty} {time}",
    "date": "{date_short_pretty}",
    "ago": "{ago}",
}


# --------------------------------------------------------------------------- text primitives


def escape(text: str) -> str:
    """Escape the three characters Slack treats as markup: ``&``, ``<``, ``>``."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_LOOKALIKES = {"*": "\u2217", "_": "\uff3f", "~": "\u223c"}


def _inert_marks(text: str) -> str:
    """Replace each ``* _ ~`` that could open or close Slack formatting by a look-alike.

    A mark opens when it follows the start or a non-alphanumeric character and precedes a
    non-space; it closes when it follows a non-space and precedes the end or a
    non-alphanumeric character (runs of one mark, like ``***``, do neither).
    """
    out: list[str] = []
    for i, ch in enumerate(text):
        look = _LOOKALIKES.get(ch)
        if look is None:
            out.append(ch)
            continue
        before = text[i - 1] if i else ""
        after = text[i + 1] if i + 1 < len(text) else ""
        if ch in (before, after):
            out.append(ch)
            continue
        opens = not before.isalnum() and after != "" and not after.isspace()
        closes = before != "" and not before.isspace() and not after.isalnum()
        out.append(look if opens or closes else ch)
    return "".join(out)


def mrkdwn_text(text: str) -> str:
    """Untrusted text for a mrkdwn field: escaped, and unable to turn on bold, italics or
    strike-through (Slack has no escape for ``* _ ~``, so they are replaced by look-alikes)."""
    return escape(_inert_marks(text))


def _flat(text: str) -> str:
    """Untrusted text on one line (control characters and newlines become spaces)."""
    return _WS.sub(" ", "".join(c if c.isprintable() else " " for c in text))


def clip(text: str, limit: int) -> str:
    """Cut escaped mrkdwn to ``limit`` characters without splitting an entity or a token."""
    if len(text) <= limit:
        return text
    cut = text[: limit - len(ELLIPSIS)]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    lt = cut.rfind("<")
    if lt != -1 and ">" not in cut[lt:]:
        cut = cut[:lt]
    return cut + ELLIPSIS


def safe_url(url: str) -> str | None:
    """``url`` when it is an http(s) URL usable inside ``<url|label>``, else ``None``."""
    url = url.strip()
    if len(url) > URL_LIMIT or not _URL_OK.match(url):
        return None
    return url


def _strong(text: str) -> str:
    flat = _flat(text)
    core = flat.strip()
    if not core:
        return escape(flat)
    lead = flat[: len(flat) - len(flat.lstrip())]
    trail = flat[len(flat.rstrip()) :]
    return f"{lead}*{mrkdwn_text(core)}*{trail}"


def _when(span: When) -> str:
    at = span.at if span.at.tzinfo else span.at.replace(tzinfo=UTC)
    epoch = int(at.timestamp())
    fallback = at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    if span.style == "date":
        fallback = at.astimezone(UTC).strftime("%Y-%m-%d")
    return f"<!date^{epoch}^{_TIME_TOKENS[span.style]}|{fallback}>"


def span_mrkdwn(span: Span) -> str:
    """One span as escaped mrkdwn. Newlines survive only in ``Text`` (renderer layout)."""
    if isinstance(span, Text):
        return mrkdwn_text(span.text)
    if isinstance(span, Strong):
        return _strong(span.text)
    if isinstance(span, Link):
        label = mrkdwn_text(_flat(span.label).strip())
        url = safe_url(span.url)
        if url is None:
            return label
        return f"<{escape(url)}|{label}>" if label else f"<{escape(url)}>"
    if isinstance(span, When):
        return _when(span)
    raise TypeError(f"unknown span: {type(span).__name__}")


def spans_mrkdwn(spans: Iterable[Span]) -> str:
    return "".join(span_mrkdwn(s) for s in spans)


def _pack_lines(text: str, limit: int) -> list[str]:
    """Split text into chunks <= ``limit`` at line boundaries (clipping overlong lines)."""
    chunks: list[str] = []
    current = ""
    for line in text.split("\n"):
        line = clip(line, limit)
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) <= limit:
            current = candidate
            continue
        if current:
            chunks.append(current)
        current = line
    if current.strip():
        chunks.append(current)
    return [c for c in chunks if c.strip()]


# --------------------------------------------------------------------------- blocks


def _header(block: Header) -> list[SlackBlock]:
    text = clip(escape(_flat(block.text).strip()), HEADER_LIMIT)
    return [HeaderBlock(text=PlainTextObject(text=text))] if text else []


def _paragraph(block: Paragraph) -> list[SlackBlock]:
    return [
        SectionBlock(text=MarkdownTextObject(text=chunk))
        for chunk in _pack_lines(spans_mrkdwn(block.spans), SECTION_LIMIT)
    ]


def _fields(block: Fields) -> list[SlackBlock]:
    texts = []
    for name, spans in block.pairs:
        head = _strong(name)
        value = spans_mrkdwn(spans)
        texts.append(clip(f"{head}\n{value}" if value else head, FIELD_LIMIT))
    texts = [t for t in texts if t.strip()]
    return [
        SectionBlock(fields=[MarkdownTextObject(text=t) for t in texts[i : i + FIELDS_PER_SECTION]])
        for i in range(0, len(texts), FIELDS_PER_SECTION)
    ]


def _context(block: Context) -> list[SlackBlock]:
    text = clip(spans_mrkdwn(block.spans).strip(), SECTION_LIMIT)
    return [ContextBlock(elements=[MarkdownTextObject(text=text)])] if text else []


def _button(button: Button) -> ButtonElement | None:
    label = clip(escape(_flat(button.label).strip()), BUTTON_TEXT_LIMIT) or "Open"
    url = safe_url(button.url) if button.url else None
    if button.url and url is None and not button.value:
        return None  # a link button whose link is unusable
    return ButtonElement(
        text=PlainTextObject(text=label),
        action_id=button.action_id[:255] or "button",
        value=button.value[:BUTTON_VALUE_LIMIT] or None,
        url=url,
        style=button.style,
    )


def _actions(block: Actions) -> list[SlackBlock]:
    buttons = [b for b in (_button(x) for x in block.buttons) if b is not None]
    return [ActionsBlock(elements=buttons[:ACTIONS_LIMIT])] if buttons else []


def _image(block: Image) -> list[SlackBlock]:
    url = safe_url(block.url)
    if url is None:
        return []
    alt = clip(escape(_flat(block.alt).strip()), ALT_LIMIT) or "image"
    return [ImageBlock(image_url=url, alt_text=alt)]


class _SlackBlocks:
    """Each neutral block kind as Block Kit blocks."""

    def header(self, block: Header) -> list[SlackBlock]:
        return _header(block)

    def paragraph(self, block: Paragraph) -> list[SlackBlock]:
        return _paragraph(block)

    def fields(self, block: Fields) -> list[SlackBlock]:
        return _fields(block)

    def context(self, block: Context) -> list[SlackBlock]:
        return _context(block)

    def divider(self, block: Divider) -> list[SlackBlock]:
        return [DividerBlock()]

    def actions(self, block: Actions) -> list[SlackBlock]:
        return _actions(block)

    def image(self, block: Image) -> list[SlackBlock]:
        return _image(block)


_BLOCK_KIT = _SlackBlocks()


def _convert(block: Block) -> list[SlackBlock]:
    return render_block(block, _BLOCK_KIT)


def _capped(blocks: list[SlackBlock]) -> list[SlackBlock]:
    if len(blocks) <= MAX_BLOCKS:
        return blocks
    kept = blocks[: MAX_BLOCKS - 1]
    while kept and isinstance(kept[-1], DividerBlock):
        kept.pop()
    dropped = len(blocks) - len(kept)
    note = ContextBlock(elements=[MarkdownTextObject(text=f"{ELLIPSIS}and {dropped} more")])
    return [*kept, note]


def to_slack(message: Message) -> dict[str, Any]:
    """``{"text": fallback, "blocks": [...]}`` for ``chat.postMessage`` / ``respond()``."""
    blocks: list[SlackBlock] = []
    for block in message.blocks:
        blocks.extend(_convert(block))
    while blocks and isinstance(blocks[0], DividerBlock):
        blocks.pop(0)
    return {
        "text": clip(mrkdwn_text(message.fallback), FALLBACK_LIMIT),
        "blocks": [b.to_dict() for b in _capped(blocks)],
    }


# --------------------------------------------------------------------------- plain text


class _SlackText:
    """Each neutral block kind as plain mrkdwn (the fallback when blocks are rejected)."""

    def header(self, block: Header) -> str:
        return _strong(block.text)

    def paragraph(self, block: Paragraph) -> str:
        return spans_mrkdwn(block.spans)

    def context(self, block: Context) -> str:
        return spans_mrkdwn(block.spans)

    def fields(self, block: Fields) -> str:
        return "\n".join(f"{_strong(k)}: {spans_mrkdwn(v)}" for k, v in block.pairs)

    def divider(self, block: Divider) -> str:
        return ""

    def actions(self, block: Actions) -> str:
        links = [
            f"<{escape(u)}|{mrkdwn_text(_flat(b.label).strip())}>"
            for b in block.buttons
            if b.url and (u := safe_url(b.url))
        ]
        return " · ".join(links)

    def image(self, block: Image) -> str:
        url = safe_url(block.url)
        return f"<{escape(url)}|{escape(_flat(block.alt).strip()) or 'image'}>" if url else ""


_MRKDWN = _SlackText()


def _block_text(block: Block) -> str:
    return render_block(block, _MRKDWN)


def to_slack_text(message: Message) -> str:
    """The whole message as plain mrkdwn (for when Slack rejects the blocks), <= 4000 chars."""
    parts = [t for t in (_block_text(b) for b in message.blocks) if t.strip()]
    text = "\n".join(parts) if parts else mrkdwn_text(message.fallback)
    chunks = _pack_lines(text, PLAIN_TEXT_LIMIT)
    if len(chunks) <= 1:
        return chunks[0] if chunks else ""
    lines = text.split("\n")
    kept = _pack_lines(text, PLAIN_TEXT_LIMIT - 40)[0]
    more = len(lines) - len(kept.split("\n"))
    return f"{kept}\n{ELLIPSIS}and {more} more lines"
