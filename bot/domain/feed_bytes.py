"""Feed bytes -> UTF-8 bytes a strict XML reader can take (pure).

Encoding precedence (first that applies and decodes without error wins):
1. a byte-order mark (UTF-8, UTF-16 LE/BE, UTF-32 LE/BE);
2. the ``charset`` parameter of the HTTP Content-Type (RFC 7303: it overrides the document);
3. the ``encoding`` of the XML declaration;
4. UTF-16/UTF-32 sniffed from the zero-byte pattern of a leading ``<`` / ``{`` (no BOM);
5. UTF-8; 6. windows-1252; 7. ISO-8859-1 (never fails).

Charset labels are widened to the supersets browsers use (GB2312/GBK -> GB18030, Big5 ->
Big5-HKSCS, Shift_JIS -> cp932, EUC-KR -> cp949, ISO-8859-1/ASCII -> windows-1252). A
Latin-1-family label (2 or 3) yields to UTF-8 when the bytes hold valid non-ASCII UTF-8: a
server default or copied declaration is far likelier than Latin-1 text that happens to form
UTF-8 sequences. UTF-8 that is mostly valid keeps UTF-8 with U+FFFD for the stray bytes.

Invariants: ``to_utf8`` never raises for any bytes; its output is valid UTF-8 without BOM.
"""

from __future__ import annotations

import codecs
import html.entities
import re
from dataclasses import dataclass
from functools import lru_cache

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_CHARSET = re.compile(rb"charset\s*=\s*[\"']?([\w.:-]+)", re.IGNORECASE)
_XML_DECL_ENCODING = re.compile(
    rb"^\s*<\?xml\s[^>]*?encoding\s*=\s*[\"']([A-Za-z][\w.:-]*)[\"']", re.IGNORECASE
)
_SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "big5": "big5hkscs",
    "shift_jis": "cp932",
    "euc_kr": "cp949",
    "ascii": "cp1252",
    "latin_1": "cp1252",
    "iso8859-1": "cp1252",
}
_ALIASES = {
    "x-sjis": "shift_jis",
    "x-gbk": "gbk",
    "x-euc-jp": "euc_jp",
    "iso-10646-ucs-2": "utf-16",
    "ucs-2": "utf-16",
    "csunicode": "utf-16",
    "iso-10646-ucs-4": "utf-32",
    "ucs-4": "utf-32",
}
_LATIN_FAMILY = frozenset({"cp1252", "latin_1", "iso8859-1", "ascii"})
_WIDE = frozenset({"utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"})


@dataclass(frozen=True)
class Decoded:
    """A document as UTF-8 ``data`` (no BOM), with the ``encoding`` it was read in."""

    data: bytes
    encoding: str


@lru_cache(maxsize=256)
def _codec(label: str | bytes | None) -> str | None:
    """Python's canonical codec name for a charset label, widened; None if unknown."""
    if not label:
        return None
    name = label.decode("ascii", "ignore") if isinstance(label, bytes) else label
    name = name.strip().lower()
    try:
        info = codecs.lookup(_ALIASES.get(name, name))
    except LookupError:
        return None
    if not getattr(info, "_is_text_encoding", True):
        return None  # base64, zlib, rot13 ... are not charsets
    return _SUPERSETS.get(info.name, info.name)


def http_charset(content_type: str | None) -> str | None:
    """The codec named by a Content-Type's ``charset`` parameter, or None."""
    if not content_type:
        return None
    match = _CHARSET.search(content_type.encode("latin-1", "ignore"))
    return _codec(match.group(1)) if match else None


def _bom(body: bytes) -> tuple[str, int] | None:
    for mark, name in _BOMS:
        if body.startswith(mark):
            return name, len(mark)
    return None


def sniff_wide(head: bytes) -> str | None:
    """UTF-16/32 without a BOM, recognised by the zero bytes around a leading ASCII char."""
    if len(head) < 4 or b"\x00" not in head[:4]:
        return None
    if head[1:4] == b"\x00\x00\x00":
        name = "utf-32-le"
    elif head[:3] == b"\x00\x00\x00":
        name = "utf-32-be"
    elif head[0] and not head[1] and not head[3]:
        name = "utf-16-le"
    elif not head[0] and head[1] and not head[2]:
        name = "utf-16-be"
    else:
        return None
    start = head[:64].decode(name, "ignore").lstrip()
    return name if start[:1] in ("<", "{", "[") else None


def _declared(body: bytes, wide: str | None) -> str | None:
    """The XML declaration's encoding, read in the sniffed width (ASCII-compatible if none)."""
    head = body[:512] if wide is None else body[:2048].decode(wide, "ignore").encode()
    match = _XML_DECL_ENCODING.match(head)
    return _codec(match.group(1)) if match else None


def _fit_width(name: str | None, wide: str | None) -> str | None:
    """A UTF-16/32 label agrees with the sniffed byte layout or is dropped (a document whose
    first bytes are ASCII cannot be UTF-16); a label without byte order takes the sniffed one.
    """
    if name not in _WIDE:
        return name
    if wide is None or not wide.startswith(name[:6]):
        return None
    return wide


def _mostly_utf8(body: bytes) -> str | None:
    """Text when ``body`` is UTF-8 with a few stray bytes (replaced), else None."""
    text = body.decode("utf-8", "replace")
    bad = text.count("\ufffd")
    non_ascii = len(text) - len(text.encode("ascii", "ignore"))
    return text if non_ascii - bad > bad else None


@lru_cache(maxsize=64)
def _ascii_compatible(name: str) -> bool:
    try:
        return bytes(range(128)).decode(name) == bytes(range(128)).decode("ascii")
    except (UnicodeDecodeError, LookupError):
        return False


def to_utf8(body: bytes, content_type: str | None = None) -> Decoded:
    """``body`` re-encoded as UTF-8 following the precedence in the module docstring."""
    bom = _bom(body)
    if bom is not None:
        name, size = bom
        rest = body[size:]
        if name == "utf-8":
            return _utf8(rest) or Decoded(rest.decode(name, "replace").encode(), name)
        return Decoded(rest.decode(name, "replace").encode(), name)
    wide = sniff_wide(body[:64])
    labels = (http_charset(content_type), _declared(body, wide))
    candidates = (*(_fit_width(label, wide) for label in labels), wide, "utf-8", "cp1252")
    tried: set[str] = set()
    for candidate in candidates:
        if candidate is None or candidate in tried:
            continue
        tried.add(candidate)
        decoded = _try(body, candidate)
        if decoded is not None:
            return decoded
    return Decoded(body.decode("latin-1").encode(), "iso8859-1")


def _try(body: bytes, name: str) -> Decoded | None:
    """``body`` read as ``name``; None when it is not valid in that encoding."""
    if body.isascii() and _ascii_compatible(name):
        return Decoded(body, name)
    if name == "utf-8":
        return _utf8(body)
    if name in _LATIN_FAMILY:
        try:
            body.decode("utf-8")
            return Decoded(body, "utf-8")
        except UnicodeDecodeError:
            pass
    try:
        return Decoded(body.decode(name).encode(), name)
    except (UnicodeDecodeError, LookupError):
        return None


def _utf8(body: bytes) -> Decoded | None:
    try:
        body.decode("utf-8")
        return Decoded(body, "utf-8")
    except UnicodeDecodeError:
        text = _mostly_utf8(body)
        return Decoded(text.encode(), "utf-8") if text is not None else None


# --------------------------------------------------------------------------- markup repair

# Two searches with literal prefixes are ~20x faster than one alternation of them.
_SUSPECT_AMP = re.compile(rb"&(?!(?:amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);)")
_BROKEN_CDATA = re.compile(rb"<!\[(?!CDATA\[)")
_CDATA = re.compile(rb"(<!\[CDATA\[.*?\]\]>)", re.DOTALL)
_AMP_OR_JUNK = re.compile(
    rb"&(?:([A-Za-z][A-Za-z0-9]{0,31});|(#[0-9]+;|#x[0-9a-fA-F]+;))?|<!\[(?!CDATA\[)[A-Z]*\[?"
)
_XML_NAMED = frozenset({b"amp", b"lt", b"gt", b"quot", b"apos"})


def repair_markup(data: bytes, *, force: bool = False) -> bytes:
    """UTF-8 XML with text-eating mistakes fixed, outside CDATA sections.

    A bare ``&`` (not starting an entity or character reference) becomes ``&amp;``; an
    HTML named entity (``&nbsp;``, ``&rsquo;``) becomes its character reference, since XML
    does not define it; an unknown named reference is left as is (entities are never
    expanded); a broken ``<![CD`` opener is dropped; a character reference to a character
    XML forbids becomes U+FFFD (a control character is dropped). Input with nothing to fix
    is returned unchanged without ``force``, which makes every reference be checked (the
    quick scan does not look at character references)."""
    if not force and not _needs_repair(data):
        return data
    parts = _CDATA.split(data)
    for index in range(0, len(parts), 2):
        parts[index] = _AMP_OR_JUNK.sub(_fix, parts[index])
    return b"".join(parts)


def _needs_repair(data: bytes) -> bool:
    if _SUSPECT_AMP.search(data) is not None:
        return True
    return b"<![" in data and _BROKEN_CDATA.search(data) is not None


def _fix(match: re.Match[bytes]) -> bytes:
    whole = match.group(0)
    if whole[:1] == b"<":
        return b""
    name, charref = match.group(1), match.group(2)
    if charref:
        return _checked_charref(charref, whole)
    if name is None:
        return b"&amp;"
    if name in _XML_NAMED:
        return whole
    text = html.entities.html5.get(name.decode() + ";")
    if text is None:
        return whole
    return "".join(f"&#{ord(ch)};" for ch in text).encode()


def _checked_charref(ref: bytes, whole: bytes) -> bytes:
    """``whole`` when ``ref`` (``#65;``, ``#x41;``) names a character XML allows."""
    try:
        code = int(ref[2:-1], 16) if ref[1:2] == b"x" else int(ref[1:-1])
    except ValueError:
        return b"&#xFFFD;"
    if code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD:
        return whole
    if 0x10000 <= code <= 0x10FFFF:
        return whole
    return b"" if code < 0x20 else b"&#xFFFD;"
