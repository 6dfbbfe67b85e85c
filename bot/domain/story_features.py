"""What one news item says about its event: the :class:`Fingerprint` and its extraction.

Pure: no I/O, no clock reads. :func:`fingerprint` turns one item (title, summary, published,
url, source) into a frozen :class:`Fingerprint`: rarity-free word tokens (title weighted
double), named entities, numbers with units, event-kind cues, the headline's actions and
place, the side a measure targets, a preview (future tense) flag with the earliest day a
previewed event can be, and the dates the text mentions, resolved against the publication
date when it is known ("on Friday" -> that day). :meth:`Fingerprint.to_json` /
:meth:`Fingerprint.from_json` are the persisted form (short keys; rows written before a
field existed load with that field empty).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import ahocorasick

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

# (a literal every match contains, lower case; the pattern; its replacement)
_PHRASES = (
    ("united states", re.compile(r"\bunited states\b", re.I), " US "),
    ("u.s.", re.compile(r"\bU\.S\.A?\.?", re.I), " US "),
    ("s republic of china", re.compile(r"\bpeople'?s republic of china\b", re.I), " China "),
    ("house of representatives", re.compile(r"\bhouse of representatives\b", re.I), " House "),
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
    ascii = text.isascii()  # then ignoring case is lower-casing: a literal test rules out
    lower = text.lower() if ascii else ""
    for literal, pattern, repl in _PHRASES:
        if ascii and literal not in lower:
            continue
        text = pattern.sub(repl, text)
        lower = text.lower() if ascii else ""
    return text


# --------------------------------------------------------------------------- anchored scans
#
# Python's ``re`` tries an unanchored pattern that starts with ``\b`` (or ignores case) at
# every offset of the text. Where a pattern's matches can only start at a few literal words,
# ``str.find`` lists those offsets and the pattern is tried there only: same matches, in the
# same order, as ``finditer``/``search`` (none of these patterns matches the empty string).


def _find_all(text: str, word: str) -> Iterator[int]:
    at = text.find(word)
    while at >= 0:
        yield at
        at = text.find(word, at + 1)


def _anchored(
    pattern: re.Pattern[str], text: str, starts: Iterable[int]
) -> Iterator[re.Match[str]]:
    """``pattern.finditer(text)`` when every match starts at one of ``starts``."""
    free = 0
    for start in sorted(starts):
        if start < free:
            continue
        m = pattern.match(text, start)
        if m:
            free = m.end()
            yield m


def _is_word_char(char: str) -> bool:
    return char.isalnum() or char == "_"


def _word_scanner(owners: Mapping[str, Iterable[int]]) -> Any:
    """An Aho-Corasick automaton: word -> (its length - 1, the sorted tags that own it)."""
    automaton = ahocorasick.Automaton()
    for word, tags in owners.items():
        automaton.add_word(word, (len(word) - 1, tuple(sorted(set(tags)))))
    automaton.make_automaton()
    return automaton


def _word_starts(scanner: Any, lower: str) -> dict[int, list[int]]:
    """Per tag, the offsets (in text order of their ends) where one of its words starts at a
    word boundary (all the words start with a word character)."""
    found: dict[int, list[int]] = {}
    for end, (back, tags) in scanner.iter(lower):
        start = end - back
        if start and _is_word_char(lower[start - 1]):
            continue
        for tag in tags:
            at = found.get(tag)
            if at is None:
                found[tag] = [start]
            else:
                at.append(start)
    return found


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


_DASH_OR_SPACE = re.compile(r"[- ]")
_YEAR = re.compile(r"(19|20)\d\d")


def _number_starts(text: str) -> list[int]:
    """Where a ``_NUMBER`` match can start in ASCII text: a "$", or a digit after a non-digit
    (a match starting at a later digit of a run would also match from the run's first)."""
    starts = list(_find_all(text, "$"))
    for digit in "0123456789":
        starts += [at for at in _find_all(text, digit) if at == 0 or not text[at - 1].isdigit()]
    return starts


def _numbers(text: str) -> list[str]:
    found: list[str] = []
    if text.isascii():
        raws = [m.group(1) for m in _anchored(_NUMBER, text, _number_starts(text))]
    else:
        raws = _NUMBER.findall(text)
    for raw in raws:
        value = raw.lower().replace(",", "").replace(" ", "")
        value = value.replace("percent", "%").replace("percent", "%").replace("per cent", "%")
        value = _DASH_OR_SPACE.sub("", value)
        if _YEAR.fullmatch(value) or value in found:
            continue  # bare years are dates, not quantities
        found.append(value)
    return found


# --------------------------------------------------------------------------- event kinds

_KIND_CUES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern))  # matched against lower-cased text
    for kind, pattern in (
        (
            "call",
            r"\b(phone|telephone|video[- ]?call|virtual|in an? call)\b"
            r"|\bcalls?\b(?! (?:for|on|it|them)\b)"
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


_ROLE_WORDS = _wordset(
    "President Secretary Minister Director Admiral General Commander Adviser Advisor Envoy "
    "Premier Speaker Chairman Chairwoman Councilor Councillor Chief Ambassador Leader Senator "
    "Governor Representative Spokesperson Spokesman Spokeswoman CEO"
)  # the role words of ``_PERSON``
_PERSON_SCANNER = _word_scanner(dict.fromkeys(sorted(_ROLE_WORDS), (0,)))


def _persons(text: str) -> list[str]:
    """Names that follow a role word ("Foreign Minister Wang Yi" -> "wang yi"), lower-cased.
    ``_PERSON`` (``\\b`` and a role word first, case kept) is tried only where a role word
    starts a word."""
    names: list[str] = []
    starts = _word_starts(_PERSON_SCANNER, text).get(0, ())
    for match in _anchored(_PERSON, text, starts):
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


# For each kind, the words (lower case) every match of its cue starts with: the cue is only
# tried where one of them occurs (same result, far fewer regex scans).
_KIND_STARTS: dict[str, tuple[str, ...]] = {
    "call": ("phone", "telephone", "video", "virtual", "in a", "call", "spoke", "speak"),
    "meeting": ("met", "meet", "in-person", "in person", "face", "sat down", "summit"),
    "visit": ("visit", "trip", "land", "arriv", "travel", "delegation"),
    "talks": ("talks", "dialogue", "negotiat", "working group", "framework"),
    "sanctions": ("sanction", "entity list", "blacklist", "export control", "curb"),
    "tariffs": ("tariff", "levies", "levy", "duties"),
    "retaliation": ("retaliat", "hit", "strike", "counter", "in response", "respond", "answer"),
    "drills": ("drill", "exercise", "war"),
    "incident": ("collid", "intercept", "unsafe", "shot", "shoot", "downed", "balloon"),
    "ruling": ("court", "ruling", "upheld", "uphold", "justices"),
    "order": ("executive order", "sign", "order signed"),
    "hearing": ("testif", "hearing", "told congress", "house", "senate", "congressional"),
    "speech": ("speech", "remarks at", "address", "lecture"),
    "disaster": ("earthquake", "hurricane", "typhoon", "flood", "collapse", "magnitude"),
    "ban": ("ban", "barred", "bars", "prohibit"),
}
_KIND_SCAN = tuple((kind, _KIND_STARTS[kind], pattern) for kind, pattern in _KIND_CUES)
_TARGET_MEASURES = (
    "tariff", "levies", "levy", "duties", "sanctions", "curbs", "controls", "taxes", "ban",
    "restrictions", "probe",
)  # fmt: skip


def _has_any(text: str, literals: Iterable[str]) -> bool:
    return any(map(text.__contains__, literals))


_TARGET_TAG = len(_KIND_SCAN)  # tags of the text scanner: kinds first, then these three
_MONTH_TAG = _TARGET_TAG + 1
_DIGIT_TAG = _TARGET_TAG + 2


def _text_scanner() -> Any:
    owners: dict[str, list[int]] = {}
    for tag, (_, words, _) in enumerate(_KIND_SCAN):
        for word in words:
            owners.setdefault(word, []).append(tag)
    for tag, words in (
        (_TARGET_TAG, _TARGET_MEASURES),
        (
            _MONTH_TAG,
            ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
        ),
        (_DIGIT_TAG, tuple("0123456789")),
    ):
        for word in words:
            owners.setdefault(word, []).append(tag)
    return _word_scanner(owners)


_TEXT_SCANNER = _text_scanner()


def _kinds(text: str, starts: dict[int, list[int]] | None = None) -> list[str]:
    """The kinds whose cue occurs in ``text``: each cue (every one starts with ``\\b`` and one
    of its ``_KIND_STARTS``) is tried only where one of its words starts a word. ``starts``:
    the text scanner's word starts in ``text.lower()`` when already known."""
    lowered = text.lower()
    if starts is None:
        starts = _word_starts(_TEXT_SCANNER, lowered)
    found = []
    for tag, offsets in sorted(starts.items()):
        if tag >= _TARGET_TAG:
            break
        kind, _, pattern = _KIND_SCAN[tag]
        match = pattern.match
        if any(match(lowered, at) for at in offsets):
            found.append(kind)
    return found


def _may_match_ignoring_case(text: str, literals: Iterable[str]) -> bool:
    """False only when no case-insensitive regex needing one of ``literals`` can match.

    Only ASCII text is ruled out: a few non-ASCII letters match ASCII ones under
    ``re.IGNORECASE`` (e.g. the long s), which a lower-cased substring test would miss.
    """
    return not text.isascii() or _has_any(text.lower(), literals)


def _targets(text: str, starts: dict[int, list[int]] | None = None) -> list[str]:
    """Sides a measure targets. In ASCII text ``_TARGET`` (``\\b`` and a measure word first,
    ignoring case) is tried only where the text scanner found a measure word (``starts``:
    its word starts in ``text.lower()`` when already known)."""
    if not text.isascii():
        matches: Iterable[re.Match[str]] = _TARGET.finditer(text)
    else:
        if starts is None:
            starts = _word_starts(_TEXT_SCANNER, text.lower())
        matches = _anchored(_TARGET, text, starts.get(_TARGET_TAG, ()))
    sides: list[str] = []
    for match in matches:
        word = match.group(1).lower()
        side = "cn" if word in {"china", "chinese", "beijing", "mainland"} else "us"
        if side not in sides:
            sides.append(side)
    return sides


# Every ``_FUTURE`` (``_PAST``) match starts with one of these words (lower case).
_PAST_STARTS = (
    "held", "met", "meets", "spoke", "signed", "imposed", "announced", "agreed", "ended", "wrap",
    "launched", "unveiled", "shot", "hit", "struck", "upheld", "raised", "lifted", "warn",
    "hold", "talks",
)  # fmt: skip
_MODALS = ("will", "may", "might", "could", "would", "to", "also")


def _ends_with_modal(text: str) -> bool:
    """``text`` (ASCII) ends with a modal word that starts at a word boundary."""
    tail = text[-5:].lower()
    for modal in _MODALS:
        if tail.endswith(modal):
            start = len(text) - len(modal)
            if start == 0 or not _is_word_char(text[start - 1]):
                return True
    return False


def _modal_before(prefix: str) -> bool:
    """``_MODAL_BEFORE.search(prefix)``: a modal, whitespace, at most one more word and
    whitespace end the text. For ASCII text (ignoring case is lower-casing) read from the end
    instead of scanning every offset."""
    if not prefix.isascii():
        return bool(_MODAL_BEFORE.search(prefix))
    body = prefix.rstrip()
    if len(body) == len(prefix):
        return False
    if _ends_with_modal(body):
        return True
    word = len(body)
    while word > 0 and _is_word_char(body[word - 1]):
        word -= 1
    if word == len(body):
        return False
    before = body[:word].rstrip()
    return len(before) < word and _ends_with_modal(before)


_FUTURE_STARTS = (
    "will", "to", "set", "expected", "poised", "plan", "is", "are", "due", "scheduled",
    "preparing", "agree", "next", "ahead",
)  # fmt: skip
_TENSE_SCANNER = _word_scanner(
    {word: [0] for word in _FUTURE_STARTS}
    | {word: [1] for word in _PAST_STARTS}
    | {word: [0, 1] for word in set(_FUTURE_STARTS) & set(_PAST_STARTS)}
)


def _future_and_past(text: str) -> tuple[bool, bool]:
    """Whether ``text`` has a future cue, and a past cue not governed by a modal before it.

    In ASCII text both patterns (which start with ``\\b`` and a word of ``_FUTURE_STARTS`` /
    ``_PAST_STARTS``, ignoring case) are tried only where one of those words starts a word."""
    if text.isascii():
        starts = _word_starts(_TENSE_SCANNER, text.lower())
        match = _FUTURE.match
        future = any(match(text, at) for at in starts.get(0, ()))
        pasts: Iterable[re.Match[str]] = _anchored(_PAST, text, starts.get(1, ()))
    else:
        future = bool(_FUTURE.search(text))
        pasts = _PAST.finditer(text)
    return future, any(not _modal_before(text[: m.start()]) for m in pasts)


def _is_preview(title: str, summary: str) -> bool:
    """True when the headline (or, failing a cue there, the lead) looks ahead to the event."""
    for text in (title, summary.split(". ")[0]):
        future, past = _future_and_past(text)
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
WEEKDAYS = _WEEKDAYS
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


def _explicit_dates(
    text: str, published: date | None, starts: dict[int, list[int]] | None = None
) -> tuple[list[str], list[str]]:
    """Resolved ISO dates (with a year) and unresolved ``MM-DD`` mentions found in ``text``.

    In ASCII text the three patterns (each starts with ``\\b`` and a month name or a digit)
    are tried only where the text scanner found a month stem or a digit starting a word
    (``starts``: its word starts in ``text.lower()`` when already known)."""
    resolved: list[str] = []
    partial: list[str] = []
    spans: list[tuple[int, int, int | None, int | None]] = []
    if text.isascii():
        if starts is None:
            starts = _word_starts(_TEXT_SCANNER, text.lower())
        digits = starts.get(_DIGIT_TAG, ())
        month_day = _anchored(_MONTH_DAY, text, starts.get(_MONTH_TAG, ()))
        day_month = _anchored(_DAY_MONTH, text, digits)
        iso = _anchored(_ISO_DATE, text, digits)
    else:
        month_day, day_month, iso = (p.finditer(text) for p in (_MONTH_DAY, _DAY_MONTH, _ISO_DATE))
    for m in month_day:
        end = int(m.group(3)) if m.group(3) else None
        spans.append((_MONTHS[m.group(1).lower()], int(m.group(2)), end, _int(m.group(4))))
    for m in day_month:
        end = int(m.group(2)) if m.group(2) else None
        spans.append((_MONTHS[m.group(3).lower()], int(m.group(1)), end, _int(m.group(4))))
    for m in iso:
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
        if text.isascii() and "day" not in text.lower():  # every weekday word ends in "day"
            continue
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


# --------------------------------------------------------------------------- actions, places

_PLACE = re.compile(
    r"\b(?:(?i:in|at)|(?i:visit(?:s|ed|ing)?|trip to|travel(?:s|led|ling)? to|arriv(?:es|ed|ing)"
    r" in|lands? in|heads? to|flies to))\s+(?:the\s+)?"
    r"([A-Z][A-Za-z\-]+(?:\s+[A-Z][A-Za-z\-]+){0,2})(?:'s\s+([A-Z][A-Za-z\-]+))?"
)
_NOT_PLACE = _wordset(
    """
    january february march april may june july august september october november december
    monday tuesday wednesday thursday friday saturday sunday the a an this that his her their
    its least last first talks key odds risk stake times time office power home
    """
)


def _lead(summary: str) -> str:
    return summary.split(". ")[0]


_QUOTED = re.compile(r'"[^"]*"')


def _actions(title: str, summary: str) -> list[str]:
    """Event kinds the headline names (the lead sentence's when the headline names none);
    words in double quotes are names or quotations, not the action ("Volt Typhoon")."""
    return _kinds(_QUOTED.sub(" ", title)) or _kinds(_QUOTED.sub(" ", _lead(summary)))


def _place_name(span: str) -> str | None:
    words = span.split()
    while words and words[0].lower() in _NOT_PLACE:
        words = words[1:]
    if not words:
        return None
    if len(words) == 1:
        return _token(words[0])
    return " ".join(w.lower() for w in words)


def _places(title: str, summary: str) -> list[str]:
    """Where the headline's event happens ("talks in Geneva" -> ``geneva``): at most two
    places, from the headline, else from the lead sentence. In a headline in title case, whose
    capitals say nothing, a place counts only when the summary spells it capitalised too.
    "South Korea's Busan" names both; Beijing/Washington fold into ``china``/``us``."""
    title_case = _is_title_case(title)
    for text in (title, _lead(summary)) if title_case else (title,):
        found: list[str] = []
        for match in _PLACE.finditer(text):
            for span in match.groups():
                if not span or (text is title and title_case and span not in summary):
                    continue
                place = _place_name(span)
                if place:
                    _add(found, place)
        if found:
            return found[:2]
    return []


_ROUNDUP = re.compile(
    r"\b(?:round-?up|week in review|week ahead|this week in|news wrap|(?:daily|morning|evening)"
    r" briefing|in brief|what happened this week)\b",
    re.I,
)


def _is_roundup(title: str) -> bool:
    """A headline announcing a digest of several events rather than a report of one."""
    if not _may_match_ignoring_case(title, ("round", "week", "wrap", "brief")):
        return False
    return bool(_ROUNDUP.search(title))


_RELATIVE_AHEAD = re.compile(
    r"\b(next week|next month|next year|in the coming (?:weeks|months)|later this year)\b", re.I
)


def _ahead_of(title: str, summary: str, published: date | None) -> str | None:
    """For a preview, the earliest day its event can be when the headline or lead says only
    "next week", "next month", "in the coming weeks"... (ISO); otherwise None."""
    if published is None:
        return None
    match = _RELATIVE_AHEAD.search(f"{title}. {_lead(summary)}")
    if match is None:
        return None
    phrase = match.group(1).lower()
    if phrase == "next week":
        return (published + timedelta(days=7 - published.weekday())).isoformat()
    if phrase == "next month":
        first = published.replace(day=1) + timedelta(days=32)
        return first.replace(day=1).isoformat()
    if phrase == "next year":
        return date(published.year + 1, 1, 1).isoformat()
    if phrase.startswith("in the coming"):
        return (published + timedelta(days=7)).isoformat()
    return (published + timedelta(days=14)).isoformat()


# --------------------------------------------------------------------------- fingerprint


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """The features of one item that story grouping compares (immutable; see module doc).

    Days are ISO strings (``YYYY-MM-DD``); ``month_days`` are ``MM-DD`` mentions left
    unresolved because the item has no publication day; ``weekday`` is a weekday name
    ("+friday" when it looks ahead) left unresolved for the same reason.
    """

    identity: str
    source: str
    published: str | None  # publication day (else a full date in the URL)
    url_month: str | None  # ``YYYY-MM`` when the URL names a month but no day
    tokens: Mapping[str, float]  # content token -> 2.0 in the title, 1.0 in the summary only
    entities: tuple[str, ...]  # capitalised spans, lower-cased
    numbers: tuple[str, ...]  # quantities with units ("125%", "$10billion", "90day")
    kinds: tuple[str, ...]  # event kinds cued anywhere in the text
    actions: tuple[str, ...]  # event kinds the headline (or lead) names
    places: tuple[str, ...]  # where the headline's event happens
    targets: tuple[str, ...]  # side a measure targets: "us" / "cn"
    people: tuple[str, ...]  # officials named after a role word, lower-cased
    preview: bool  # looks ahead to the event
    roundup: bool  # a digest of several events ("week in review", "what to know")
    ahead: str | None  # earliest day of a previewed event named only relatively
    dates: tuple[str, ...]  # event days the text names, resolved
    month_days: tuple[str, ...]
    weekday: str | None

    def event_days(self) -> tuple[str, ...]:
        """Days the item's event may be on: the days its text names, and its publication."""
        return self.dates + ((self.published,) if self.published else ())

    def to_json(self) -> dict[str, Any]:
        """The persisted form: a plain dict with short keys (read back by :meth:`from_json`)."""
        return {
            "id": self.identity,
            "src": self.source,
            "pub": self.published,
            "month": self.url_month,
            "tok": dict(self.tokens),
            "ent": list(self.entities),
            "num": list(self.numbers),
            "kind": list(self.kinds),
            "act": list(self.actions),
            "where": list(self.places),
            "tgt": list(self.targets),
            "who": list(self.people),
            "fut": self.preview,
            "roundup": self.roundup,
            "ahead": self.ahead,
            "dates": list(self.dates),
            "md": list(self.month_days),
            "wd": self.weekday,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Fingerprint:
        """Inverse of :meth:`to_json`. Keys a row written before them lacks (``act``,
        ``where``, ``ahead``, ``roundup``) load empty, which the grouping reads as "no evidence"."""

        def strings(key: str) -> tuple[str, ...]:
            return tuple(str(v) for v in data.get(key) or ())

        def optional(key: str) -> str | None:
            value = data.get(key)
            return str(value) if value else None

        return cls(
            identity=str(data.get("id") or ""),
            source=str(data.get("src") or ""),
            published=optional("pub"),
            url_month=optional("month"),
            tokens={str(t): float(w) for t, w in (data.get("tok") or {}).items()},
            entities=strings("ent"),
            numbers=strings("num"),
            kinds=strings("kind"),
            actions=strings("act"),
            places=strings("where"),
            targets=strings("tgt"),
            people=strings("who"),
            preview=bool(data.get("fut")),
            roundup=bool(data.get("roundup")),
            ahead=optional("ahead"),
            dates=strings("dates"),
            month_days=strings("md"),
            weekday=optional("wd"),
        )


def fingerprint(
    title: str,
    summary: str = "",
    published: datetime | date | str | None = None,
    url: str = "",
    source: str = "",
    identity: str = "",
) -> Fingerprint:
    """The :class:`Fingerprint` of one item; deterministic for equal inputs.

    ``published`` is the publication day (else a full date in the URL); ``dates`` the days the
    text names (resolved when the publication day is known), ``month_days``/``weekday`` the
    month-days and weekday left unresolved when it is not.
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
    lowered = text.lower()
    starts = _word_starts(_TEXT_SCANNER, lowered)
    ascii_starts = starts if text.isascii() else None
    dates, partial = _explicit_dates(text, pub, ascii_starts)
    weekday = _weekday_mention(title, summary)
    if weekday and pub is not None:
        _add(dates, _resolve_weekday(weekday, pub).isoformat())
        weekday = None
    preview = _is_preview(title, summary)
    return Fingerprint(
        identity=identity or url or title,
        source=source,
        published=pub.isoformat() if pub else None,
        url_month=url_day.isoformat()[:7] if url_day and not exact else None,
        tokens=weights,
        entities=tuple(_entities(named)),
        numbers=tuple(_numbers(text)),
        kinds=tuple(_kinds(text, starts)),
        actions=tuple(_actions(title, summary)),
        places=tuple(_places(title, summary)),
        targets=tuple(_targets(text, ascii_starts)),
        people=tuple(_persons(named)),
        preview=preview,
        roundup=_is_roundup(title),
        ahead=_ahead_of(title, summary, pub) if preview else None,
        dates=tuple(dates),
        month_days=tuple(partial),
        weekday=weekday,
    )
