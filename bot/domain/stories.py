"""Same-event grouping: news items that report one real-world event share a story key.

Pure: no I/O, no clock reads. Three layers:

- :func:`fingerprint` turns one item (title, summary, published, url, source) into a compact,
  JSON-serialisable dict: weighted word tokens, named entities, numbers with units, event-kind
  cues, the side a measure targets, a preview (future tense) flag, and the dates the text
  mentions, resolved against the publication date when it is known ("on Friday" -> that day).
- :func:`pair_score` compares two fingerprints. Word overlap (IDF-weighted cosine) is only the
  starting point; dates, event kinds, targets, numbers and entities add or veto. Two leader
  calls months apart, a preview published days before the event, or a retaliation against the
  original measure stay apart even when their words overlap.
- :class:`StoryIndex` assigns fingerprints to stories incrementally, retrieving candidates
  through an inverted index of rare tokens (no all-pairs comparison) and keeping only stories
  inside a time window. The shell persists the window with :meth:`StoryIndex.to_json` and
  restores it with :meth:`StoryIndex.from_json` between polls (re-feeding items also works, but
  persisting keeps keys stable and costs nothing).

:func:`group_rows` is the batch form used by the CLI and the evaluator.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

Fingerprint = dict[str, Any]

# --------------------------------------------------------------------------- vocabulary


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


_STOPWORDS = _wordset(
    """
    a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my no nor not now of off on once only or other our ours out over
    own same she should so some such than that the their theirs them then there these they this
    those through to too under until up very was we were what when where which while who whom
    why will with would you your yours one two its it's amid among via per according
    said say says saying told tell report reports reported reportedly news new week weeks day
    days year years time today yesterday tonight morning afternoon evening night late early
    monday tuesday wednesday thursday friday saturday sunday mr ms mrs
    january february march april may june july august september october november december
    jan feb mar apr jun jul aug sep sept oct nov dec
    """
)

# Generic spellings folded into one token so that outlets' wording differences do not matter.
_SYNONYMS = {
    "u.s.": "us",
    "u.s": "us",
    "usa": "us",
    "america": "us",
    "american": "us",
    "americans": "us",
    "washington": "us",
    "chinese": "china",
    "beijing": "china",
    "prc": "china",
    "levy": "tariff",
    "levies": "tariff",
    "duty": "tariff",
    "duties": "tariff",
    "tariffs": "tariff",
    "telephone": "phone",
    "talked": "talk",
    "spoke": "speak",
    "met": "meet",
    "meets": "meet",
    "meeting": "meet",
    "defence": "defense",
    "curbs": "curb",
    "blacklist": "entity",
    "blacklisted": "entity",
}

_PHRASES = (
    (re.compile(r"\bunited states\b", re.I), " US "),
    (re.compile(r"\bU\.S\.A?\.?", re.I), " US "),
    (re.compile(r"\bpeople'?s republic of china\b", re.I), " China "),
    (re.compile(r"\bhouse of representatives\b", re.I), " House "),
)

_WORD = re.compile(r"\$?\d+(?:[.,]\d+)*(?:%|-\w+)?|[A-Za-z][A-Za-z'’\-]*[A-Za-z]|[A-Za-z]")


def _stem(word: str) -> str:
    """A deliberately crude suffix stripper: enough to join 'tariffs'/'tariff', 'meets'/'meet'."""
    for suffix, keep in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)] + keep
    return word


def _normalise(text: str) -> str:
    text = text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    for pattern, repl in _PHRASES:
        text = pattern.sub(repl, text)
    return text


@functools.lru_cache(maxsize=65536)
def _token(raw: str) -> str | None:
    """The normalised token for one word, or None for a stopword."""
    word = raw.lower().strip("'-")
    if word.endswith("'s"):
        word = word[:-2]
    word = _SYNONYMS.get(word, word)
    if not word or word in _STOPWORDS or (len(word) < 2 and not word[0].isdigit()):
        return None
    if word[0].isalpha():
        stem = _stem(word)
        word = _SYNONYMS.get(stem, stem)
    return word


def _tokens(text: str) -> list[str]:
    """Normalised content tokens of ``text`` (stopwords dropped, synonyms folded, stemmed)."""
    return [t for t in map(_token, _WORD.findall(text)) if t is not None]


# --------------------------------------------------------------------------- entities, numbers

_ENTITY = re.compile(r"\b(?:[A-Z][\w'\-]*[A-Za-z0-9](?:\s+(?:of|the|de|al)?\s*[A-Z][\w'\-]*)*)")
_ENTITY_SKIP = _wordset(
    "the a an in on at for to by with from as and but after before while during with this that "
    "us china chinese american president secretary minister state news he she it they"
)
_NUMBER = re.compile(
    r"(\$\s?\d[\d,.]*\s*(?:billion|million|trillion|bn|m)?|\d[\d,.]*\s?(?:%|percent\b|per cent\b)"
    r"|\b\d[\d,.]*[- ](?:day|hour|month|year|magnitude|mph)\b|\b\d{2,}(?:\.\d+)?\b)",
    re.I,
)


def _entities(text: str) -> list[str]:
    """Capitalised spans that are not just a sentence's first common word (lower-cased)."""
    found: list[str] = []
    for match in _ENTITY.finditer(text):
        span = match.group(0).strip()
        words = span.split()
        while words and words[0].lower() in _ENTITY_SKIP:
            words = words[1:]
        if not words:
            continue
        span = " ".join(words).lower()
        if len(span) > 2 and span not in found:
            found.append(span)
    return found


def _numbers(text: str) -> list[str]:
    found: list[str] = []
    for raw in _NUMBER.findall(text):
        value = raw.lower().replace(",", "").replace(" ", "")
        value = value.replace("percent", "%").replace("percent", "%").replace("per cent", "%")
        value = re.sub(r"[- ]", "", value)
        if re.fullmatch(r"(19|20)\d\d", value) or value in found:
            continue  # bare years are dates, not quantities
        found.append(value)
    return found


# --------------------------------------------------------------------------- event kinds

_KIND_CUES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern))  # matched against lower-cased text
    for kind, pattern in (
        (
            "call",
            r"\b(phone|telephone|video[- ]?call|virtual)\b|\bcalls?\b(?! (?:for|on|it|them)\b)"
            r"|\bspoke\b|\bspeaks? (?:with|to|by)\b",
        ),
        ("meeting", r"\b(met|meets?|meeting|in[- ]person|face[- ]to[- ]face|sat down|summit)\b"),
        ("visit", r"\b(visit(?:s|ing)?|trip|lands?|arriv(?:es|ed)|travels?|delegation)\b"),
        ("talks", r"\b(talks|dialogue|negotiat\w*|working group|framework)\b"),
        ("sanctions", r"\b(sanction\w*|entity list|blacklist\w*|export control\w*|curbs?)\b"),
        ("tariffs", r"\b(tariffs?|levies|levy|duties)\b"),
        (
            "retaliation",
            r"\b(retaliat\w*|hits? back|strikes? back|counter[- ]?measures?|counter[- ]?sanction\w*"
            r"|in response|respond\w*|answer(?:s|ed)? (?:[\w'%-]+ ){0,5}with)\b",
        ),
        ("drills", r"\b(drills?|exercises?|war ?games?)\b"),
        ("incident", r"\b(collid\w*|intercept\w*|unsafe|shot down|shoots? down|downed|balloon)\b"),
        ("ruling", r"\b(court|ruling|upheld|upholds?|justices)\b"),
        ("order", r"\b(executive order|signs? (?:an )?order|order signed)\b"),
        (
            "hearing",
            r"\b(testif\w*|hearing|told congress|(?:house|senate|congressional) \w* ?committee)\b",
        ),
        ("speech", r"\b(speech|remarks at|address(?:ed)? (?:at|to)|lecture)\b"),
        ("disaster", r"\b(earthquake|hurricane|typhoon|flood\w*|collapse\w*|magnitude)\b"),
        ("ban", r"\b(ban(?:s|ned)?|barred|bars|prohibit\w*)\b"),
    )
)
# Each names a different kind of encounter: an item that is only a call is not a meeting.
_EXCLUSIVE_KINDS = frozenset({"call", "meeting", "hearing", "speech"})
# Kinds specific enough that sharing one is evidence of the same event.
_SPECIFIC_KINDS = frozenset(
    {
        "call",
        "meeting",
        "retaliation",
        "drills",
        "incident",
        "ruling",
        "order",
        "hearing",
        "speech",
        "disaster",
        "ban",
    }
)

_FUTURE = re.compile(
    r"\b(?:will|to|set to|expected to|poised to|plans? to|is to|are to|due to|scheduled to"
    r"|preparing to|agrees? to)\s+(?:\w+\s+)?(?:hold|meet|visit|travel|speak|talk|call|attend"
    r"|face|pay|host|sit down|head)\b|\bset for\b|\bnext week\b|\bahead of (?:the|their|a)"
    r" (?:meeting|call|talks|summit|visit)\b",
    re.I,
)
_PAST = re.compile(
    r"\b(held|met|spoke|signed|imposed|announced|agreed|ended|wraps? up|launched|unveiled"
    r"|shot|hit|struck|upheld|raised|lifted|warns?|warned|holds?|meets|talks with)\b",
    re.I,
)

# Role words that introduce a person's name: "Defense Secretary Lloyd Austin".
_PERSON = re.compile(
    r"\b(?:President|Secretary|Minister|Director|Admiral|General|Commander|Adviser|Advisor|Envoy"
    r"|Premier|Speaker|Chairman|Chairwoman|Councilor|Councillor|Chief|Ambassador|Leader|Senator"
    r"|Governor|Representative|Spokesperson|Spokesman|Spokeswoman|CEO)"
    r"(?:\s+(?:of|for)\s+(?:the\s+)?(?:[A-Z][a-z]+\s+){0,3}?(?:[A-Z][a-z]+))?"
    r"((?:\s+[A-Z][a-z'\-]+){1,3})"
)
_NOT_NAME = _wordset(
    "of the and a an in on at to for with from by as says said has have had is was who who's "
    "meeting meets holds held talks told warns also "
    "state defense defence national foreign affairs security treasury commerce war "
    "special presidential climate homeland trade central military commission office"
)


def _is_title_case(text: str) -> bool:
    """True for headlines Capitalised Like This (their capitals say nothing about names)."""
    words = [w for w in re.findall(r"[A-Za-z][\w'\-]*", text) if w.lower() not in _STOPWORDS]
    return len(words) >= 3 and sum(w[0].isupper() for w in words) >= 0.8 * len(words)


def _persons(text: str) -> list[str]:
    """Names that follow a role word ("Foreign Minister Wang Yi" -> "wang yi"), lower-cased."""
    names: list[str] = []
    for match in _PERSON.finditer(text):
        words = []
        for word in match.group(1).split():
            word = word.lower().strip("'-")
            if word.endswith("'s"):
                word = word[:-2]
            if word not in _NOT_NAME and len(word) > 1:
                words.append(word)
        if words:
            _add(names, " ".join(words))
    return names


_MODAL_BEFORE = re.compile(r"\b(?:will|may|might|could|would|to|also)\s+(?:\w+\s+)?$", re.I)

_TARGET = re.compile(
    r"\b(?:tariffs?|levies|levy|duties|sanctions|curbs|controls|taxes|ban|restrictions|probe)"
    r"\s+(?:\w+\s+){0,3}?(?:on|against|targeting|into)\s+(?:all\s+|the\s+|selected\s+)?"
    r"(US|U\.S\.|American|United States|China|Chinese|Beijing|Washington|mainland)",
    re.I,
)


# For each kind, literal pieces of which every match of its cue contains at least one: a cue
# is only searched for when one of them is in the text (same result, far fewer regex scans).
_KIND_LITERALS: dict[str, tuple[str, ...]] = {
    "call": ("phone", "video", "virtual", "call", "spoke", "speak"),
    "meeting": ("met", "meet", "person", "face", "sat down", "summit"),
    "visit": ("visit", "trip", "land", "arriv", "travel", "delegation"),
    "talks": ("talks", "dialogue", "negotiat", "working group", "framework"),
    "sanctions": ("sanction", "entity list", "blacklist", "export control", "curb"),
    "tariffs": ("tariff", "levies", "levy", "duties"),
    "retaliation": ("retaliat", "back", "counter", "in response", "respond", "answer"),
    "drills": ("drill", "exercise", "war"),
    "incident": ("collid", "intercept", "unsafe", "down", "balloon"),
    "ruling": ("court", "ruling", "upheld", "uphold", "justices"),
    "order": ("order",),
    "hearing": ("testif", "hearing", "told congress", "committee"),
    "speech": ("speech", "remarks at", "address", "lecture"),
    "disaster": ("earthquake", "hurricane", "typhoon", "flood", "collapse", "magnitude"),
    "ban": ("ban", "barred", "bars", "prohibit"),
}
_KIND_SCAN = tuple((kind, _KIND_LITERALS[kind], pattern) for kind, pattern in _KIND_CUES)
# Every month name starts with one of these stems. In lower-cased ASCII text, a month-day
# date ("May 5", "5th-7th May") needs a stem, optional letters and dot, spacing and a digit,
# or a digit (or ordinal suffix) and spacing before a stem: the cheap test below.
_STEMS = "(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)"
_MAY_HAVE_MONTH_DAY = re.compile(rf"{_STEMS}[a-z]*\.?\s+\d|[0-9tdh]\s+{_STEMS}")
_TARGET_MEASURES = (
    "tariff", "levies", "levy", "duties", "sanctions", "curbs", "controls", "taxes", "ban",
    "restrictions", "probe",
)  # fmt: skip


def _has_any(text: str, literals: Iterable[str]) -> bool:
    return any(map(text.__contains__, literals))


def _kinds(text: str) -> list[str]:
    lowered = text.lower()
    return [
        kind
        for kind, literals, pattern in _KIND_SCAN
        if _has_any(lowered, literals) and pattern.search(lowered)
    ]


def _may_match_ignoring_case(text: str, literals: Iterable[str]) -> bool:
    """False only when no case-insensitive regex needing one of ``literals`` can match.

    Only ASCII text is ruled out: a few non-ASCII letters match ASCII ones under
    ``re.IGNORECASE`` (e.g. the long s), which a lower-cased substring test would miss.
    """
    return not text.isascii() or _has_any(text.lower(), literals)


def _targets(text: str) -> list[str]:
    if not _may_match_ignoring_case(text, _TARGET_MEASURES):
        return []
    sides: list[str] = []
    for match in _TARGET.finditer(text):
        word = match.group(1).lower()
        side = "cn" if word in {"china", "chinese", "beijing", "mainland"} else "us"
        if side not in sides:
            sides.append(side)
    return sides


def _is_preview(title: str, summary: str) -> bool:
    """True when the headline (or, failing a cue there, the lead) looks ahead to the event."""
    for text in (title, summary.split(". ")[0]):
        future = bool(_FUTURE.search(text))
        past = any(not _MODAL_BEFORE.search(text[: m.start()]) for m in _PAST.finditer(text))
        if future or past:
            return future and not past
    return False


# --------------------------------------------------------------------------- dates

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sept", "sep"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}
_MONTH_RE = "(" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_DAY_RE = r"(\d{1,2})(?:st|nd|rd|th)?"
_RANGE_RE = r"(?:\s*(?:-|–|to|and)\s*(\d{1,2})(?:st|nd|rd|th)?)?"
_YEAR_RE = r"(?:,?\s+((?:19|20)\d\d))?"
_MONTH_DAY = re.compile(rf"\b{_MONTH_RE}\s+{_DAY_RE}{_RANGE_RE}{_YEAR_RE}\b", re.I)
_DAY_MONTH = re.compile(rf"\b{_DAY_RE}{_RANGE_RE}\s+{_MONTH_RE}{_YEAR_RE}\b", re.I)
_ISO_DATE = re.compile(r"\b((?:19|20)\d\d)-(\d\d)-(\d\d)\b")
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAY = re.compile(r"\b(" + "|".join(_WEEKDAYS) + r"|yesterday|today)\b", re.I)
_URL_DATE = re.compile(r"/((?:19|20)\d\d)[/-]?(0[1-9]|1[0-2])(?:[/-]?([0-3]\d))?(?=[/\-_.]|\d{3,})")


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _nearest_year(month: int, day: int, published: date) -> date | None:
    """The month/day nearest ``published``, preferring the past (news reports what happened)."""
    options = [_safe_date(published.year + k, month, day) for k in (-1, 0, 1)]
    valid = [d for d in options if d is not None and (d - published).days <= 30]
    return min(valid, key=lambda d: abs((d - published).days), default=None)


def _explicit_dates(text: str, published: date | None) -> tuple[list[str], list[str]]:
    """Resolved ISO dates (with a year) and unresolved ``MM-DD`` mentions found in ``text``."""
    resolved: list[str] = []
    partial: list[str] = []
    spans: list[tuple[int, int, int | None, int | None]] = []
    if not text.isascii() or _MAY_HAVE_MONTH_DAY.search(text.lower()):
        for m in _MONTH_DAY.finditer(text):
            end = int(m.group(3)) if m.group(3) else None
            spans.append((_MONTHS[m.group(1).lower()], int(m.group(2)), end, _int(m.group(4))))
        for m in _DAY_MONTH.finditer(text):
            end = int(m.group(2)) if m.group(2) else None
            spans.append((_MONTHS[m.group(3).lower()], int(m.group(1)), end, _int(m.group(4))))
    for m in _ISO_DATE.finditer(text):
        spans.append((int(m.group(2)), int(m.group(3)), None, int(m.group(1))))
    for month, day, end, year in spans:
        last = end if end and day < end <= 31 and end - day <= 6 else day
        for d in range(day, last + 1):
            if not 1 <= d <= 31:
                continue
            found = _resolve_day(month, d, year, published)
            if found is not None:
                _add(resolved, found.isoformat())
            elif _safe_date(2024, month, d) is not None:
                _add(partial, f"{month:02d}-{d:02d}")
    return resolved, partial


def _resolve_day(month: int, day: int, year: int | None, published: date | None) -> date | None:
    if year is not None:
        return _safe_date(year, month, day)
    if published is not None:
        return _nearest_year(month, day, published)
    return None


def _int(text: str | None) -> int | None:
    return int(text) if text else None


def _add(values: list[str], value: str) -> None:
    if value not in values:
        values.append(value)


_AHEAD = re.compile(
    r"(?:effective|from|starting|start|begin\w*|until|by|next|coming|will\s+(?:\w+\s+){0,4}"
    r"(?:on)?|as soon as)\s*$",
    re.I,
)


def _weekday_mention(title: str, summary: str) -> str | None:
    """The first weekday the headline or lead names (the day the event happened, usually).

    A weekday that looks ahead ("effective Saturday", "will ... on Sunday") is prefixed "+".
    """
    for text in (title, summary):
        match = _WEEKDAY.search(text)
        if match:
            ahead = _AHEAD.search(text[max(0, match.start() - 40) : match.start()])
            return ("+" if ahead else "") + match.group(1).lower()
    return None


def _resolve_weekday(word: str, published: date) -> date:
    if word.endswith("today"):
        return published
    if word.endswith("yesterday"):
        return published - timedelta(days=1)
    target = _WEEKDAYS.index(word.lstrip("+"))
    if word.startswith("+"):
        return published + timedelta(days=(target - published.weekday()) % 7)
    return published - timedelta(days=(published.weekday() - target) % 7)


def _url_date(url: str) -> tuple[date | None, bool]:
    """A publication date found in a URL path; the flag says whether the day was present."""
    match = _URL_DATE.search(url or "")
    if not match:
        return None, False
    year, month = int(match.group(1)), int(match.group(2))
    day = int(match.group(3)) if match.group(3) else None
    found = _safe_date(year, month, day or 15)
    return found, bool(day and found)


def _as_date(value: datetime | date | str | None) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).date()
    except ValueError:
        return None


# --------------------------------------------------------------------------- fingerprint


def fingerprint(
    title: str,
    summary: str = "",
    published: datetime | date | str | None = None,
    url: str = "",
    source: str = "",
    identity: str = "",
) -> Fingerprint:
    """Compact, JSON-serialisable features of one item; deterministic for equal inputs.

    ``pub`` is the publication day (from ``published``, else a full date in the URL), ``dates``
    the days the text names (resolved when ``pub`` is known), ``md``/``wd`` the month-days and
    weekday left unresolved when it is not.
    """
    title = _normalise(title or "")
    summary = _normalise(summary or "")
    pub = _as_date(published)
    url_day, exact = _url_date(url)
    if pub is None and url_day is not None and exact:
        pub = url_day
    text = f"{title}. {summary}"
    named = summary if _is_title_case(title) else text
    weights: dict[str, float] = {}
    for token in _tokens(summary):
        weights[token] = 1.0
    for token in _tokens(title):
        weights[token] = 2.0
    dates, partial = _explicit_dates(text, pub)
    weekday = _weekday_mention(title, summary)
    if weekday and pub is not None:
        _add(dates, _resolve_weekday(weekday, pub).isoformat())
        weekday = None
    return {
        "id": identity or url or title,
        "src": source,
        "pub": pub.isoformat() if pub else None,
        "month": url_day.isoformat()[:7] if url_day and not exact else None,
        "tok": weights,
        "ent": _entities(named),
        "num": _numbers(text),
        "kind": _kinds(text),
        "tgt": _targets(text),
        "who": _persons(named),
        "fut": _is_preview(title, summary),
        "dates": dates,
        "md": partial,
        "wd": weekday,
    }


# --------------------------------------------------------------------------- similarity


_MAX_PUB_GAP = 4  # days between publications beyond which two items are different events
_VETO = -1.0  # pair_score of two items that cannot be one event


@dataclass
class DocFreq:
    """Document frequencies of tokens over the items seen (bounded by halving when large)."""

    counts: dict[str, int] = field(default_factory=dict)
    docs: int = 0
    limit: int = 200_000

    def add(self, tokens: Iterable[str]) -> None:
        self.docs += 1
        for token in set(tokens):
            self.counts[token] = self.counts.get(token, 0) + 1
        if len(self.counts) > self.limit:
            self.counts = {t: c // 2 for t, c in self.counts.items() if c > 1}
            self.docs = max(1, self.docs // 2)

    def idf(self, token: str) -> float:
        return math.log((self.docs + 2) / (self.counts.get(token, 0) + 1)) + 0.5

    def is_common(self, token: str) -> bool:
        """Too frequent to help find candidates (e.g. "china" in a US–China feed)."""
        return self.docs >= 50 and self.counts.get(token, 0) > 0.2 * self.docs


@dataclass(frozen=True)
class _Weighted:
    """An item's tokens weighted by rarity, with the sums the similarity needs cached."""

    vec: dict[str, float]
    norm: float
    mass: float


def _weigh(tokens: Mapping[str, float], df: DocFreq) -> _Weighted:
    vec = {t: w * df.idf(t) for t, w in tokens.items()}
    return _Weighted(vec, math.sqrt(sum(v * v for v in vec.values())), sum(vec.values()))


def _text_similarity(a: _Weighted, b: _Weighted) -> float:
    """Mean of the cosine and of the overlap coefficient (shared rarity over the smaller item,
    so that a headline-only item is not penalised against a long one)."""
    small, large = (a, b) if len(a.vec) <= len(b.vec) else (b, a)
    dot = shared = 0.0
    lookup = large.vec.get
    for token, weight in small.vec.items():
        other = lookup(token)
        if other:
            dot += weight * other
            shared += weight if weight <= other else other  # min(), without the call
    if dot == 0.0:
        return 0.0
    return 0.5 * dot / (a.norm * b.norm) + 0.5 * shared / min(a.mass, b.mass)


def _days(a: str, b: str) -> int:
    return abs((date.fromisoformat(a) - date.fromisoformat(b)).days)


def _min_gap(xs: Sequence[str], ys: Sequence[str]) -> int | None:
    if not xs or not ys:
        return None
    return min(_days(x, y) for x in xs for y in ys)


def _event_days(fp: Fingerprint) -> list[str]:
    return list(fp["dates"]) + ([fp["pub"]] if fp["pub"] else [])


def _weekday_of(fp: Fingerprint) -> int | None:
    if fp["wd"] in _WEEKDAYS:
        return _WEEKDAYS.index(fp["wd"])
    days = fp["dates"]
    return date.fromisoformat(days[0]).weekday() if days else None


def _month_day_gap(xs: Iterable[str], ys: Iterable[str]) -> int | None:
    """Smallest distance in days between ``MM-DD`` values, ignoring the year."""

    def ordinal(md: str) -> int:
        return date(2000, int(md[:2]), int(md[3:5])).timetuple().tm_yday

    gaps = [abs(ordinal(x) - ordinal(y)) for x in xs for y in ys]
    return min((min(g, 366 - g) for g in gaps), default=None)


def _preview_before(preview: Fingerprint, other: Fingerprint) -> bool:
    """A preview published on a day before the other item's event is a story of its own."""
    if not preview["fut"] or other["fut"] or not preview["pub"]:
        return False
    if other["dates"]:
        return preview["pub"] < min(other["dates"])
    return bool(other["pub"]) and _days(preview["pub"], other["pub"]) >= 2


def _date_evidence(a: Fingerprint, b: Fingerprint) -> float | None:
    """Score adjustment from dates; None means the dates rule the pair out."""
    score = 0.0
    if a["pub"] and b["pub"]:
        gap = _days(a["pub"], b["pub"])
        if gap > _MAX_PUB_GAP:
            return None
        score += 0.1 if gap <= 1 else -0.05 * gap
    if _preview_before(a, b) or _preview_before(b, a):
        return None
    if a["dates"] or b["dates"]:
        days = _min_gap(_event_days(a), _event_days(b))
        if days is not None:
            score += 0.15 if days <= 1 else max(-0.1 * (days - 1), -0.3)
    if a["md"] or b["md"]:
        md_a = set(a["md"]) | {d[5:] for d in _event_days(a)}
        md_b = set(b["md"]) | {d[5:] for d in _event_days(b)}
        apart = _month_day_gap(md_a, md_b)
        if apart is not None:
            score += 0.15 if apart <= 1 else (-0.05 * apart if apart <= 6 else -0.4)
    wa, wb = _weekday_of(a), _weekday_of(b)
    if wa is not None and wb is not None and (a["wd"] or b["wd"]):
        diff = min((wa - wb) % 7, (wb - wa) % 7)
        score += 0.08 if diff == 0 else (-0.05 if diff == 1 else -0.2)
    return score


def _kind_evidence(a: Fingerprint, b: Fingerprint) -> float:
    ka, kb = set(a["kind"]), set(b["kind"])
    score = 0.0
    ea, eb = ka & _EXCLUSIVE_KINDS, kb & _EXCLUSIVE_KINDS
    if ea and eb and not ea & eb and len(ea) == 1 and len(eb) == 1:
        score -= 0.15
    if ("retaliation" in ka) != ("retaliation" in kb):
        score -= 0.08
    score += 0.04 * min(len(ka & kb & _SPECIFIC_KINDS), 2)
    score += _people_evidence(a["who"], b["who"])
    if a["tgt"] and b["tgt"] and not set(a["tgt"]) & set(b["tgt"]):
        score -= 0.25
    if a["fut"] != b["fut"] and not (a["pub"] and a["pub"] == b["pub"]):
        score -= 0.12
    return score


def _same_person(x: str, y: str) -> bool:
    return bool(set(x.split()) & set(y.split()))


def _people_evidence(a: Sequence[str], b: Sequence[str]) -> float:
    """Named officials: sharing them supports; each side naming someone the other does not
    (two different pairs of officials) contradicts."""
    if not a or not b:
        return 0.0
    only_a = [x for x in a if not any(_same_person(x, y) for y in b)]
    only_b = [y for y in b if not any(_same_person(x, y) for x in a)]
    if len(only_a) == len(a) and len(only_b) == len(b):
        return -0.2 if min(len(a), len(b)) >= 2 else 0.0
    if only_a and only_b and min(len(a), len(b)) >= 2:
        return -0.1
    return 0.05


def _shared_specifics(a: Fingerprint, b: Fingerprint) -> float:
    """Bonus for shared quantities ("125%", "$10bn") and rare multi-word names."""
    nums = set(a["num"]) & set(b["num"])
    bonus = 0.05 * min(len(nums), 2)
    ents = {e for e in set(a["ent"]) & set(b["ent"]) if " " in e}
    return bonus + 0.04 * min(len(ents), 3)


def pair_score(a: Fingerprint, b: Fingerprint, df: DocFreq) -> float:
    """How strongly two items look like one event; ``-1`` when dates rule it out."""
    return _pair_score(a, _weigh(a["tok"], df), b, _weigh(b["tok"], df))


def _pair_score(a: Fingerprint, wa: _Weighted, b: Fingerprint, wb: _Weighted) -> float:
    dates = _date_evidence(a, b)
    if dates is None:
        return _VETO
    text = _text_similarity(wa, wb)
    kind, specifics = _kind_evidence(a, b), _shared_specifics(a, b)
    if text < _MIN_TEXT_FOR_DATES and kind <= 0 and specifics <= 0:
        return text  # same day, nothing else in common: a date alone joins no stories
    return text + dates + kind + specifics


# --------------------------------------------------------------------------- index

DEFAULT_THRESHOLD = 0.33
_MIN_TEXT_FOR_DATES = 0.15
_MAX_MEMBERS = 6
_PROBE_TOKENS = 16  # rarest shared tokens of an item used to look up candidate stories
_MAX_CANDIDATES = 10  # stories scored per item at most


@dataclass
class _Story:
    key: str
    members: list[Fingerprint]
    weights: list[_Weighted]
    first: str | None  # earliest publication day, ISO
    last: str | None  # latest publication day, ISO
    seq: int  # order of last update, for eviction when dates are unknown
    tokens: set[str] = field(default_factory=set)  # every posting that names this story

    def add(self, fp: Fingerprint, weighted: _Weighted, seq: int) -> None:
        if len(self.members) >= _MAX_MEMBERS:
            del self.members[_MAX_MEMBERS // 3]  # keep the first few and the most recent
            del self.weights[_MAX_MEMBERS // 3]
        self.members.append(fp)
        self.weights.append(weighted)
        self.tokens.update(_index_tokens(fp))
        self.seq = seq
        day = fp["pub"]
        if day:
            self.first = min(self.first or day, day)
            self.last = max(self.last or day, day)


def story_key(identity: str) -> str:
    """Stable story key derived from the identity of the story's first item."""
    return "st-" + hashlib.sha1(identity.encode("utf-8")).hexdigest()[:12]


def _index_tokens(fp: Fingerprint) -> list[str]:
    return list(fp["tok"]) + [f"#{n}" for n in fp["num"]]


class StoryIndex:
    """Recent stories and their members' fingerprints, for incremental assignment.

    Invariants: at most ``max_stories`` stories are active; a story whose latest publication
    day is more than ``window_days`` before the newest day seen is retired. Retired stories are
    forgotten, unless ``archive`` is set (batch use): then items without any date can still
    join them. Persist the active window with :meth:`to_json` / :meth:`from_json`; restored
    stories keep their keys. Token rarity is learnt from every assigned item unless a fixed
    ``doc_freq`` is given with ``learn_doc_freq=False``.
    """

    def __init__(
        self,
        window_days: int = 4,
        max_stories: int = 5000,
        threshold: float = DEFAULT_THRESHOLD,
        doc_freq: DocFreq | None = None,
        learn_doc_freq: bool = True,
        archive: bool = False,
    ) -> None:
        self.window_days = window_days
        self.max_stories = max_stories
        self.threshold = threshold
        self.df = doc_freq or DocFreq()
        self.learn_doc_freq = learn_doc_freq
        self.archive = archive
        self._stories: dict[str, _Story] = {}
        self._postings: dict[str, set[str]] = {}
        self._retired: dict[str, _Story] = {}
        self._retired_postings: dict[str, set[str]] = {}
        self._newest: str | None = None
        self._seq = 0

    def __len__(self) -> int:
        return len(self._stories)

    def assign(self, fp: Fingerprint) -> tuple[str, bool]:
        """Put ``fp`` into the best matching story, or open a new one: (key, is_new_story)."""
        if self.learn_doc_freq:
            self.df.add(fp["tok"])
        self._seq += 1
        if fp["pub"] and (self._newest is None or fp["pub"] > self._newest):
            self._newest = fp["pub"]
            self._retire_old()
        weighted = _weigh(fp["tok"], self.df)
        best, best_score = None, self.threshold
        for story in self._candidates(fp):
            score = self._story_score(story, fp, weighted)
            if score >= best_score:
                best, best_score = story, score
        is_new = best is None
        if best is None:
            key = story_key(str(fp["id"]))
            while key in self._stories or key in self._retired:
                key = story_key(key)
            best = _Story(key, [], [], None, None, self._seq)
            self._stories[key] = best
        best.add(fp, weighted, self._seq)
        postings = self._retired_postings if best.key in self._retired else self._postings
        for token in _index_tokens(fp):
            postings.setdefault(token, set()).add(best.key)
        if best.key in self._stories:  # keep ``_stories`` ordered by last update
            self._stories[best.key] = self._stories.pop(best.key)
        self._retire_surplus()
        return best.key, is_new

    def _candidates(self, fp: Fingerprint) -> list[_Story]:
        """Up to ``_MAX_CANDIDATES`` stories sharing the most of the item's rarest tokens
        (blocking through postings, never a scan of all stories)."""
        seen = [t for t in fp["tok"] if self.df.counts.get(t, 0) >= 2]
        probes = sorted(seen, key=lambda t: (-self.df.idf(t), t))[:_PROBE_TOKENS]
        probes = [t for t in probes if not self.df.is_common(t)]
        sources = [(self._postings, self._stories)]
        if fp["pub"] is None and self.archive:
            sources.append((self._retired_postings, self._retired))
        found: list[_Story] = []
        for postings, stories in sources:
            weight: dict[str, float] = {}
            for token in probes:
                idf = self.df.idf(token)
                for key in postings.get(token, ()):
                    weight[key] = weight.get(key, 0.0) + idf
            for number in fp["num"]:
                for key in postings.get(f"#{number}", ()):
                    weight[key] = weight.get(key, 0.0) + 1.0
            ranked = sorted(weight, key=lambda k: (-weight[k], k))
            in_window = (stories[k] for k in ranked if self._in_window(stories[k], fp["pub"]))
            found.extend(itertools.islice(in_window, _MAX_CANDIDATES))
        return found

    @staticmethod
    def _in_window(story: _Story, day: str | None) -> bool:
        if not day or not story.first or not story.last:
            return True
        return _days(day, story.first) <= _MAX_PUB_GAP or _days(day, story.last) <= _MAX_PUB_GAP

    @staticmethod
    def _story_score(story: _Story, fp: Fingerprint, weighted: _Weighted) -> float:
        """Mostly the best link to a member; vetoed when any member's dates rule it out."""
        pairs = zip(story.members, story.weights, strict=True)
        scores = [_pair_score(fp, weighted, member, w) for member, w in pairs]
        if min(scores) <= _VETO:
            return _VETO
        scores.sort(reverse=True)
        return scores[0] if len(scores) == 1 else 0.75 * scores[0] + 0.25 * scores[1]

    def _retire_old(self) -> None:
        if self._newest is None:
            return
        cutoff = (date.fromisoformat(self._newest) - timedelta(days=self.window_days)).isoformat()
        for key in [k for k, s in self._stories.items() if s.last and s.last < cutoff]:
            self._retire(key)

    def _retire_surplus(self) -> None:
        while len(self._stories) > self.max_stories:
            self._retire(next(iter(self._stories)))  # least recently updated

    def _retire(self, key: str) -> None:
        story = self._stories.pop(key)
        for token in story.tokens:
            holders = self._postings.get(token)
            if holders is not None:
                holders.discard(key)
                if not holders:
                    del self._postings[token]
            if self.archive:
                self._retired_postings.setdefault(token, set()).add(key)
        if self.archive:
            self._retired[key] = story

    def story_state(self, key: str) -> dict[str, Any]:
        """JSON-serialisable state of one story (for storing beside the story); ``{}`` when
        the story is not held. :meth:`restore` rebuilds an index from such states."""
        story = self._stories.get(key) or self._retired.get(key)
        if story is None:
            return {}
        return {"first": story.first, "last": story.last, "members": list(story.members)}

    @classmethod
    def restore(cls, states: Iterable[tuple[str, Mapping[str, Any]]], **options: Any) -> StoryIndex:
        """Rebuild an index from ``(key, story_state(key))`` pairs, oldest story first.

        Token rarity is re-learnt from the restored members; ``options`` go to the constructor.
        """
        index = cls(**options)
        loaded = [(key, [dict(m) for m in state.get("members", ())]) for key, state in states]
        for _, members in loaded:
            for fp in members:
                index.df.add(fp["tok"])
        for key, members in loaded:
            if members:
                index._load_story(key, members)
        return index

    def _load_story(self, key: str, members: list[Fingerprint]) -> None:
        self._seq += 1
        story = _Story(key, [], [], None, None, self._seq)
        for fp in members:
            story.add(fp, _weigh(fp["tok"], self.df), self._seq)
            if fp["pub"] and (self._newest is None or fp["pub"] > self._newest):
                self._newest = fp["pub"]
        self._stories[key] = story
        for token in story.tokens:
            self._postings.setdefault(token, set()).add(key)

    def to_json(self) -> dict[str, Any]:
        """Plain data for persistence of the active window (retired stories are left out)."""
        return {
            "version": 1,
            "window_days": self.window_days,
            "max_stories": self.max_stories,
            "threshold": self.threshold,
            "newest": self._newest,
            "seq": self._seq,
            "df": {"docs": self.df.docs, "counts": dict(self.df.counts)},
            "stories": [
                {"key": s.key, "first": s.first, "last": s.last, "seq": s.seq, "members": s.members}
                for s in self._stories.values()
            ],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StoryIndex:
        """Rebuild an index from :meth:`to_json` output."""
        df = DocFreq(counts=dict(data["df"]["counts"]), docs=int(data["df"]["docs"]))
        index = cls(
            window_days=int(data["window_days"]),
            max_stories=int(data["max_stories"]),
            threshold=float(data["threshold"]),
            doc_freq=df,
        )
        index._newest = data.get("newest")
        index._seq = int(data.get("seq", 0))
        for raw in data["stories"]:
            members = [dict(m) for m in raw["members"]]
            weights = [_weigh(m["tok"], df) for m in members]
            story = _Story(raw["key"], members, weights, raw["first"], raw["last"], raw["seq"])
            index._stories[story.key] = story
            for fp in members:
                story.tokens.update(_index_tokens(fp))
            for token in story.tokens:
                index._postings.setdefault(token, set()).add(story.key)
        return index


# --------------------------------------------------------------------------- batch


def row_fingerprint(row: Mapping[str, Any]) -> Fingerprint:
    """Fingerprint of a JSON row (``id``, ``title``, ``summary``; optional ``published`` or
    ``date``, ``url``, ``source`` or ``outlet``)."""
    return fingerprint(
        title=str(row.get("title") or ""),
        summary=str(row.get("summary") or ""),
        published=row.get("published") or row.get("date"),
        url=str(row.get("url") or ""),
        source=str(row.get("source") or row.get("outlet") or ""),
        identity=str(row.get("url") or row.get("id") or row.get("title") or ""),
    )


def _order_key(position: int, fp: Fingerprint) -> tuple[int, str, str, int]:
    """Dated items first in publication order, then items dated only by their text, then the
    rest; ties are broken by content, so the input order does not change the grouping."""
    content = hashlib.sha1(repr(sorted(fp["tok"].items())).encode("utf-8")).hexdigest()
    if fp["pub"]:
        return (0, fp["pub"], content, position)
    if fp["dates"]:
        return (1, min(fp["dates"]), content, position)
    return (2, "", content, position)


def group_rows(
    rows: Sequence[Mapping[str, Any]], threshold: float = DEFAULT_THRESHOLD
) -> list[str]:
    """A story key per row, same order. Rows are processed in publication order (undated rows
    last), and token rarity is learnt from the whole batch first, so the result does not
    depend on the order of the input lines."""
    fps = [row_fingerprint(row) for row in rows]
    df = DocFreq()
    for fp in fps:
        df.add(fp["tok"])
    index = StoryIndex(threshold=threshold, doc_freq=df, learn_doc_freq=False, archive=True)
    keys = [""] * len(fps)
    for position in sorted(range(len(fps)), key=lambda i: _order_key(i, fps[i])):
        keys[position], _ = index.assign(fps[position])
    return keys
