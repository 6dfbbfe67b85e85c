"""Canonical URLs, plain text, dates, and raw entries -> ``Item`` (pure).

Invariants:
- ``canonical_url`` is idempotent: ``canonical_url(canonical_url(u)) == canonical_url(u)``;
- ``clean_text`` returns single-spaced plain text no longer than ``max_len`` characters;
- ``parse_date`` returns an aware UTC datetime or None, never raises;
- ``normalize_entry`` never reads the clock: ``now`` is the first-seen time and the fallback
  publication time; publication times in the future (beyond a few minutes of clock skew) or
  before 1995 are replaced by ``now``.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from functools import lru_cache
from urllib.parse import urljoin, urlsplit, urlunsplit

from bot.domain.identity import content_hash, item_identities
from bot.domain.models import Item, ParsedEntry, Source, ensure_utc

TITLE_MAX = 300
SUMMARY_MAX = 1000
FUTURE_TOLERANCE = timedelta(minutes=10)
EARLIEST_PLAUSIBLE = datetime(1995, 1, 1, tzinfo=UTC)

# --------------------------------------------------------------------------- URLs

TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "gclsrc",
        "dclid",
        "msclkid",
        "yclid",
        "twclid",
        "igshid",
        "igsh",
        "mc_cid",
        "mc_eid",
        "ref_src",
        "ref_url",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "oly_anon_id",
        "oly_enc_id",
        "wt.mc_id",
        "cmpid",
        "s_cid",
        "spm",
        "ncid",
        "sr_share",
    }
)
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_")
DEFAULT_PORTS = {"http": 80, "https": 443}


def _is_tracking(token: str) -> bool:
    key = token.split("=", 1)[0].lower()
    return key in TRACKING_PARAMS or key.startswith(TRACKING_PREFIXES)


@lru_cache(maxsize=65536)
def canonical_url(url: str, base: str | None = None) -> str:
    """A stable form of ``url`` for identity and display.

    Lower-cases scheme and host, drops default ports, the fragment and tracking parameters
    (utm_*, fbclid, gclid, mc_cid, ...), sorts the remaining query parameters (keeping their
    original encoding), and resolves relative links against ``base``. Non-http(s) URLs are
    returned stripped but otherwise unchanged.
    """
    url = url.strip()
    if base and not url.startswith(("http://", "https://")):
        url = urljoin(base, url)
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        return url
    netloc = parts.netloc
    userinfo, _, hostport = netloc.rpartition("@")
    host, port = hostport, ""
    if hostport.startswith("["):
        end = hostport.find("]")
        host, port = hostport[: end + 1], hostport[end + 2 :]
    elif ":" in hostport:
        host, port = hostport.rsplit(":", 1)
    host = host.lower().rstrip(".")
    if port and (not port.isdigit() or int(port) == DEFAULT_PORTS[scheme]):
        port = "" if port.isdigit() else port
    netloc = (userinfo + "@" if userinfo else "") + host + (":" + port if port else "")
    query = ""
    if parts.query:
        tokens = [t for t in parts.query.split("&") if t and not _is_tracking(t)]
        query = "&".join(sorted(tokens))
    return urlunsplit((scheme, netloc, parts.path or "/", query, ""))


# --------------------------------------------------------------------------- text

_DROP_BLOCKS = re.compile(
    r"<(script|style|noscript|template)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL
)
_COMMENTS = re.compile(r"<!--.*?-->|<!\[CDATA\[|\]\]>", re.DOTALL)
_TAGS = re.compile(r"<[A-Za-z/!?][^>]*>")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u2028\u2029\ufeff]")


def clean_text(html_or_text: str | None, max_len: int) -> str:
    """Plain text from an HTML fragment or text: tags stripped, entities decoded, whitespace
    collapsed, capped at ``max_len`` characters at a word boundary with "…"."""
    if not html_or_text:
        return ""
    text = html_or_text
    if "<" in text:
        if "<!" in text:
            text = _COMMENTS.sub(" ", text)
        text = _DROP_BLOCKS.sub(" ", text)
        text = _TAGS.sub(" ", text)
    if "&" in text:
        text = html.unescape(text)
        if "<" in text and _TAGS.search(text):  # double-escaped markup
            text = _TAGS.sub(" ", text)
    if "  " in text or not text.isprintable():
        text = " ".join(text.split())
        if not text.isprintable():
            text = " ".join(_CONTROL.sub("", text).split())
    else:
        text = text.strip()
    return truncate(text, max_len)


def truncate(text: str, max_len: int) -> str:
    """``text`` cut to at most ``max_len`` characters, at a word boundary when one is near."""
    if len(text) <= max_len:
        return text
    if max_len <= 1:
        return "…"[:max_len]
    cut = text[: max_len - 1]
    space = cut.rfind(" ")
    if space >= max_len * 0.6:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-–—") + "…"


# --------------------------------------------------------------------------- dates

_MONTHS = {
    m: i
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
_ZONES = {
    "GMT": 0,
    "UT": 0,
    "UTC": 0,
    "Z": 0,
    "EST": -5,
    "EDT": -4,
    "CST": -6,
    "CDT": -5,
    "MST": -7,
    "MDT": -6,
    "PST": -8,
    "PDT": -7,
    "BST": 1,
    "CET": 1,
    "CEST": 2,
    "JST": 9,
    "KST": 9,
    "HKT": 8,
    "SGT": 8,
    "IST": 5.5,
}
_RFC822 = re.compile(
    r"^(?:[A-Za-z]{2,}\.?,?\s*)?(\d{1,2})[\s-]+([A-Za-z]{3,})\.?[\s-]+(\d{2,4})"
    r"(?:\s+|T)(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?\s*"
    r"([+-]\d{2}:?\d{2}|(?:GMT|UTC)[+-]\d{1,2}(?::?\d{2})?|[A-Za-z]{1,5})?\s*$"
)
_EXTRA_FORMATS = (
    "%Y-%m-%d %H:%M:%S %z",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
    "%B %d, %Y",
    "%b %d, %Y",
    "%b. %d, %Y",
    "%B %d, %Y %I:%M %p",
    "%d %B %Y",
    "%d %b %Y",
    "%m/%d/%Y",
    "%a, %d %b %Y",
    "%Y年%m月%d日",
    "%Y年%m月%d日 %H:%M",
    "%Y年%m月%d日 %H:%M:%S",
    "%Y-%m",
)


def _zone_offset(zone: str | None) -> timezone:
    if not zone:
        return UTC
    if zone[:3].upper() in ("GMT", "UTC") and zone[3:4] in ("+", "-"):
        return _named_offset(zone)
    if zone[0] in "+-":
        digits = zone[1:].replace(":", "")
        minutes = int(digits[:2]) * 60 + int(digits[2:4])
        return timezone(timedelta(minutes=minutes if zone[0] == "+" else -minutes))
    hours = _ZONES.get(zone.upper(), 0)
    return timezone(timedelta(hours=hours))


def _named_offset(zone: str) -> timezone:
    """``GMT+8``, ``UTC-05:30``, ``GMT+0530`` -> the offset."""
    hh, _, mm = zone[4:].partition(":")
    if not mm and len(hh) > 2:
        hh, mm = hh[:-2], hh[-2:]
    offset = timedelta(hours=int(hh), minutes=int(mm or 0))
    return timezone(offset if zone[3] == "+" else -offset)


def _rfc822(text: str) -> datetime | None:
    match = _RFC822.match(text)
    if not match:
        return None
    day, month_name, year, hour, minute, second, zone = match.groups()
    month = _MONTHS.get(month_name[:3].lower())
    if month is None:
        return None
    y = int(year)
    if y < 100:
        y += 2000 if y < 50 else 1900
    h = int(hour)
    extra = timedelta(days=1) if h == 24 else timedelta(0)
    stamp = datetime(y, month, int(day), h % 24, int(minute), int(second or 0))
    return stamp.replace(tzinfo=_zone_offset(zone)) + extra


@lru_cache(maxsize=8192)
def parse_date(text: str | None) -> datetime | None:
    """RFC 822, ISO 8601 and common variants -> aware UTC datetime; None when unreadable.

    A date with no zone is taken to be UTC.
    """
    if not text:
        return None
    text = text.strip()
    if not text or len(text) > 80:
        return None
    value: datetime | None = None
    try:
        if text[0].isdigit() and len(text) >= 8 and text[4] in "-0123" and "," not in text:
            value = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        value = None
    try:
        if value is None:
            value = _rfc822(text)
        if value is None:
            value = _fallback_date(text)
    except (ValueError, OverflowError):
        return None
    if value is None:
        return None
    return ensure_utc(value)


def _fallback_date(text: str) -> datetime | None:
    try:
        value = parsedate_to_datetime(text)
        if value is not None:
            return value
    except (TypeError, ValueError, IndexError):
        pass
    cleaned = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", text)
    cleaned = re.sub(r"\s+(UTC|GMT|Z)$", " +0000", cleaned)
    for fmt in _EXTRA_FORMATS:
        try:
            return datetime.strptime(cleaned, fmt)
        except ValueError:
            continue
    return None


# --------------------------------------------------------------------------- entries


def _http_url(value: str | None, base: str) -> str:
    if not value:
        return ""
    url = canonical_url(value, base)
    return url if url.startswith(("http://", "https://")) else ""


def plausible_published(published: datetime | None, now: datetime) -> datetime:
    """``published`` in UTC, or ``now`` when missing, in the future or implausibly old."""
    if published is None:
        return now
    published = ensure_utc(published)
    if published > now + FUTURE_TOLERANCE or published < EARLIEST_PLAUSIBLE:
        return now
    return published


def normalize_entry(
    entry: ParsedEntry, *, source: Source, feed_language: str | None, now: datetime
) -> Item:
    """A raw entry as an ``Item``: canonical link, plain capped text, UTC dates, identity key.

    The link is the entry's link, else its guid when that is an http(s) URL, else "".
    ``key`` is the primary identity from ``identity.item_identities``.
    """
    now = ensure_utc(now)
    url = _http_url(entry.link, source.url) or _http_url(entry.guid, source.url)
    summary = clean_text(entry.summary, SUMMARY_MAX)
    title = clean_text(entry.title, TITLE_MAX) or truncate(summary, 120) or url or "(untitled)"
    guid = entry.guid.strip() if entry.guid and entry.guid.strip() else None
    identities = item_identities(guid, url or None, title)
    return Item(
        key=identities[0],
        source_id=source.id,
        url=url,
        title=title,
        summary=summary,
        published=plausible_published(entry.published, now),
        first_seen=now,
        source_name=source.name,
        official=source.spec.official,
        language=entry.language or feed_language,
        guid=guid,
        content_hash=content_hash(title, summary),
    )
