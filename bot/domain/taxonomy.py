"""The taxonomy: topics, actors, side words and cues, validated from plain data.

Pure: ``load_taxonomy`` takes the already-parsed mapping (the shell reads the YAML file, see
``bot.taxonomy_file``) and returns an immutable :class:`Taxonomy` or raises
:class:`TaxonomyError` (a ``ConfigError``) naming the dotted key at fault.

Phrase conventions (shared with the classifier through :func:`phrase_key`):
- matching ignores case and punctuation ("U.S.-China" reads as "u s china");
- a single all-capital word (``US``, ``AI``, ``PLA``) matches only in capitals;
- a trailing ``*`` matches any word ending ("sanction*" -> sanctions, sanctioned).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bot.domain.errors import ConfigError

TOPIC_IDS: tuple[str, ...] = (
    "diplomacy",
    "climate",
    "military",
    "ai",
    "taiwan",
    "fentanyl",
    "south_china_sea",
    "sanctions",
    "trade",
    "tech",
    "human_rights",
    "people",
    "security",
    "health",
)
SIDES: tuple[str, ...] = ("us", "cn")
RANKS: tuple[str, ...] = (
    "leader",
    "minister",
    "deputy",
    "envoy",
    "military",
    "official",
    "legislator",
    "office",
    "institution",
)
TOP_KEYS = frozenset(
    {
        "version",
        "topics",
        "actors",
        "countries",
        "issue_places",
        "places",
        "companies",
        "bilateral_issues",
        "near_misses",
        "third_parties",
        "interactions",
        "multilateral",
        "participation",
        "presence_cues",
        "events",
    }
)
TOPIC_KEYS = frozenset(
    {
        "label",
        "description",
        "aliases",
        "phrases",
        "support",
        "exclusions",
        "implies_side",
        "yields_to",
    }
)
ACTOR_KEYS = frozenset({"title", "rank", "match"})
EVENT_KEYS = frozenset({"name", "match", "kind", "start", "end", "where"})
_TOPIC_ID = re.compile(r"^[a-z][a-z0-9_]*$")

# Anything that is not a letter or digit separates words (one 64K-entry table, one C pass).
_WORD_TABLE = "".join(chr(i) if chr(i).isalnum() else " " for i in range(0x10000))
# The same for ASCII text, as a byte table: ``bytes.translate`` indexes the table directly,
# where ``str.translate`` looks every character up through the mapping protocol.
_ASCII_WORD_TABLE = bytes(c if c < 0x80 and chr(c).isalnum() else 0x20 for c in range(0x100))


class TaxonomyError(ConfigError):
    """A taxonomy problem; ``detail`` is the message without the location prefix."""

    def __init__(self, detail: str, *, key: str | None = None, line: int | None = None) -> None:
        self.detail = detail
        super().__init__(detail, key=key, line=line)


def normalize_text(text: str) -> str:
    """Punctuation and whitespace runs become one space; case is kept.

    ASCII text (most news) is translated as bytes, with the same result: after either table
    only letters, digits and spaces are left, which ``bytes.split`` splits as ``str.split``
    does.
    """
    if text.isascii():
        return b" ".join(text.encode().translate(_ASCII_WORD_TABLE).split()).decode()
    return " ".join(text.translate(_WORD_TABLE).split())


@dataclass(frozen=True)
class PhraseKey:
    """How a phrase is looked up: ``key`` is padded with spaces so matches are whole words."""

    key: str
    case_sensitive: bool
    prefix: bool


def phrase_key(phrase: str) -> PhraseKey | None:
    """The lookup key of a taxonomy phrase, or None when it has no letters or digits."""
    prefix = phrase.rstrip().endswith("*")
    body = normalize_text(phrase.rstrip().rstrip("*"))
    if not body:
        return None
    letters = [c for c in body if c.isalpha()]
    case_sensitive = " " not in body and len(letters) >= 2 and all(c.isupper() for c in letters)
    if not case_sensitive:
        body = body.lower()
    key = f" {body}" if prefix else f" {body} "
    return PhraseKey(key=key, case_sensitive=case_sensitive, prefix=prefix)


def fold_name(name: str) -> str:
    """Fold a topic name for lookups: case, spaces, hyphens and underscores ignored."""
    return re.sub(r"[\s_\-]+", "", name.strip().lower())


@dataclass(frozen=True)
class Topic:
    id: str
    label: str
    description: str = ""
    aliases: tuple[str, ...] = ()
    phrases: tuple[tuple[str, float], ...] = ()
    support: tuple[tuple[str, float], ...] = ()
    exclusions: tuple[str, ...] = ()
    implies_side: str | None = None
    yields_to: tuple[str, ...] = ()


@dataclass(frozen=True)
class Actor:
    name: str
    side: str
    rank: str
    title: str = ""
    match: tuple[str, ...] = ()

    @property
    def phrases(self) -> tuple[str, ...]:
        return (self.name, *self.match)


@dataclass(frozen=True)
class KnownEvent:
    """A well-known dated event (a COP, an election) the engagement extractor can name."""

    name: str
    kind: str
    start: date
    end: date
    match: tuple[str, ...] = ()
    where: str | None = None


@dataclass(frozen=True)
class Taxonomy:
    """Everything the classifier and the engagement extractor know about the domain.

    ``issue_places`` (Taiwan, Hong Kong) stand for the China side as issues between the two;
    ``places`` (Hawaii, Shanghai) and ``companies`` stand for a side only beside an interaction
    cue. ``bilateral_issues`` are topics that are matters between the two sides even when a
    third country is involved (Taiwan, the South China Sea).
    ``multilateral`` names gatherings of many countries (G20, APEC); ``participation`` words
    list attendees ("including", "among"); ``presence_cues`` are interaction cues that only show
    both sides attended the same event (summit, pledge). An item that lists both sides among
    the participants of a multilateral event, with no other cue, is not about their dealings.
    """

    topics: tuple[Topic, ...]
    actors: tuple[Actor, ...] = ()
    countries: tuple[tuple[str, tuple[str, ...]], ...] = ()
    issue_places: tuple[str, ...] = ()
    places: tuple[tuple[str, tuple[str, ...]], ...] = ()
    companies: tuple[tuple[str, tuple[str, ...]], ...] = ()
    bilateral_issues: tuple[str, ...] = ()
    near_misses: tuple[str, ...] = ()
    third_parties: tuple[str, ...] = ()
    interactions: tuple[str, ...] = ()
    multilateral: tuple[str, ...] = ()
    participation: tuple[str, ...] = ()
    presence_cues: tuple[str, ...] = ()
    events: tuple[KnownEvent, ...] = ()
    _names: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        names: dict[str, str] = {}
        for topic in self.topics:
            for name in (topic.id, topic.label, *topic.aliases):
                names.setdefault(fold_name(name), topic.id)
        for topic in self.topics:  # ids and labels win over aliases
            names[fold_name(topic.id)] = topic.id
        self._names.update(names)

    @property
    def topic_ids(self) -> tuple[str, ...]:
        return tuple(t.id for t in self.topics)

    def topic(self, topic_id: str) -> Topic:
        for topic in self.topics:
            if topic.id == topic_id:
                return topic
        raise KeyError(topic_id)

    def label(self, topic_id: str) -> str:
        """Human label of a topic id (the id itself when unknown)."""
        try:
            return self.topic(topic_id).label
        except KeyError:
            return topic_id

    def resolve_topic(self, name: str) -> str | None:
        """Topic id for an id, label or alias, ignoring case, spaces and underscores."""
        return self._names.get(fold_name(name)) if name.strip() else None

    def suggest_topic(self, name: str) -> str | None:
        """The topic id whose id, label or alias is closest to ``name`` (a typo), or None."""
        folded = fold_name(name)
        if not folded:
            return None
        close = difflib.get_close_matches(folded, list(self._names), n=1, cutoff=0.6)
        return self._names[close[0]] if close else None


# --------------------------------------------------------------------------- validation


def _fail(key: str, message: str) -> TaxonomyError:
    return TaxonomyError(message, key=key)


def _mapping(value: Any, key: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(key, f"expected a mapping, got {type(value).__name__}")
    for k in value:
        if not isinstance(k, str):
            raise _fail(key, f"keys must be text, got {k!r}")
    return value


def _text(value: Any, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail(key, f"expected non-empty text, got {value!r}")
    return value.strip()


def _phrase(value: Any, key: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _fail(key, f"expected a phrase, got {type(value).__name__}")
    text = str(value).strip()
    if phrase_key(text) is None:
        raise _fail(key, f"phrase {text!r} has no letters or digits")
    return text


def _phrase_list(value: Any, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise _fail(key, f"expected a list of phrases, got {type(value).__name__}")
    return tuple(_phrase(item, f"{key}[{i}]") for i, item in enumerate(value))


def _weights(value: Any, key: str) -> tuple[tuple[str, float], ...]:
    if value is None:
        return ()
    out = []
    for phrase, weight in _mapping(value, key).items():
        where = f"{key}.{phrase}"
        _phrase(phrase, where)
        if isinstance(weight, bool) or not isinstance(weight, int | float):
            raise _fail(where, f"weight must be a number, got {weight!r}")
        if not 0 < float(weight) <= 5:
            raise _fail(where, f"weight must be above 0 and at most 5, got {weight}")
        out.append((phrase, float(weight)))
    return tuple(out)


def _unknown(keys: Any, allowed: frozenset[str], key: str) -> None:
    extra = sorted(set(keys) - allowed)
    if extra:
        where = f"{key}.{extra[0]}" if key else extra[0]
        raise _fail(where, f"unknown key (expected one of: {', '.join(sorted(allowed))})")


def _side(value: Any, key: str) -> str:
    if value not in SIDES:
        raise _fail(key, f"expected one of {', '.join(SIDES)}, got {value!r}")
    return str(value)


def _topic(topic_id: str, value: Any) -> Topic:
    key = f"topics.{topic_id}"
    if not _TOPIC_ID.match(topic_id):
        raise _fail(key, "topic ids are lower-case letters, digits and underscores")
    body = _mapping(value, key)
    _unknown(body, TOPIC_KEYS, key)
    if "label" not in body:
        raise _fail(f"{key}.label", "missing (every topic needs a label)")
    phrases = _weights(body.get("phrases"), f"{key}.phrases")
    if not phrases:
        raise _fail(f"{key}.phrases", "a topic needs at least one weighted phrase")
    implies = body.get("implies_side")
    return Topic(
        id=topic_id,
        label=_text(body["label"], f"{key}.label"),
        description=str(body.get("description") or "").strip(),
        aliases=_phrase_list(body.get("aliases"), f"{key}.aliases"),
        phrases=phrases,
        support=_weights(body.get("support"), f"{key}.support"),
        exclusions=_phrase_list(body.get("exclusions"), f"{key}.exclusions"),
        implies_side=None if implies is None else _side(implies, f"{key}.implies_side"),
        yields_to=_phrase_list(body.get("yields_to"), f"{key}.yields_to"),
    )


def _actors(value: Any) -> tuple[Actor, ...]:
    if value is None:
        return ()
    body = _mapping(value, "actors")
    out: list[Actor] = []
    for side, people in body.items():
        _side(side, f"actors.{side}")
        for name, spec in _mapping(people or {}, f"actors.{side}").items():
            key = f"actors.{side}.{name}"
            _phrase(name, key)
            spec = _mapping(spec or {}, key)
            _unknown(spec, ACTOR_KEYS, key)
            rank = spec.get("rank", "official")
            if rank not in RANKS:
                raise _fail(f"{key}.rank", f"expected one of {', '.join(RANKS)}, got {rank!r}")
            title = spec.get("title") or ""
            if not isinstance(title, str):
                raise _fail(f"{key}.title", f"expected text, got {type(title).__name__}")
            match = _phrase_list(spec.get("match"), f"{key}.match")
            out.append(Actor(name=name, side=side, rank=rank, title=title, match=match))
    return tuple(out)


def _sided(value: Any, key: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if value is None:
        return ()
    body = _mapping(value, key)
    out = []
    for side, phrases in body.items():
        _side(side, f"{key}.{side}")
        out.append((side, _phrase_list(phrases, f"{key}.{side}")))
    return tuple(out)


def _date(value: Any, key: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise _fail(key, f"expected a date YYYY-MM-DD, got {value!r}") from exc


def _events(value: Any) -> tuple[KnownEvent, ...]:
    if value is None:
        return ()
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise _fail("events", f"expected a list, got {type(value).__name__}")
    out = []
    for i, raw in enumerate(value):
        key = f"events[{i}]"
        body = _mapping(raw, key)
        _unknown(body, EVENT_KEYS, key)
        for required in ("name", "start"):
            if required not in body:
                raise _fail(f"{key}.{required}", "missing")
        name = _text(body["name"], f"{key}.name")
        start = _date(body["start"], f"{key}.start")
        end = _date(body.get("end", start), f"{key}.end")
        if end < start:
            raise _fail(f"{key}.end", "ends before it starts")
        where = body.get("where")
        out.append(
            KnownEvent(
                name=name,
                kind=_text(body.get("kind", "conference"), f"{key}.kind"),
                start=start,
                end=end,
                match=_phrase_list(body.get("match"), f"{key}.match") or (name,),
                where=None if where is None else str(where),
            )
        )
    return tuple(out)


def load_taxonomy(data: Mapping[str, Any]) -> Taxonomy:
    """Validate parsed taxonomy data; raise :class:`TaxonomyError` naming the bad key."""
    body = _mapping(data, "(top level)")
    _unknown(body, TOP_KEYS, "")
    version = body.get("version", 1)
    if version != 1:
        raise _fail("version", f"unsupported version {version!r} (expected 1)")
    if "topics" not in body:
        raise _fail("topics", "missing (the taxonomy needs its topics)")
    topics_raw = _mapping(body["topics"], "topics")
    missing = [t for t in TOPIC_IDS if t not in topics_raw]
    if missing:
        raise _fail(f"topics.{missing[0]}", "missing (the 14 topic ids are fixed)")
    topics = tuple(_topic(tid, spec) for tid, spec in topics_raw.items())
    for topic in topics:
        for i, other in enumerate(topic.yields_to):
            if other not in topics_raw:
                raise _fail(f"topics.{topic.id}.yields_to[{i}]", f"unknown topic {other!r}")
    bilateral = _phrase_list(body.get("bilateral_issues"), "bilateral_issues")
    for i, other in enumerate(bilateral):
        if other not in topics_raw:
            raise _fail(f"bilateral_issues[{i}]", f"unknown topic {other!r}")
    return Taxonomy(
        topics=topics,
        actors=_actors(body.get("actors")),
        countries=_sided(body.get("countries"), "countries"),
        issue_places=_phrase_list(body.get("issue_places"), "issue_places"),
        places=_sided(body.get("places"), "places"),
        companies=_sided(body.get("companies"), "companies"),
        bilateral_issues=bilateral,
        near_misses=_phrase_list(body.get("near_misses"), "near_misses"),
        third_parties=_phrase_list(body.get("third_parties"), "third_parties"),
        interactions=_phrase_list(body.get("interactions"), "interactions"),
        multilateral=_phrase_list(body.get("multilateral"), "multilateral"),
        participation=_phrase_list(body.get("participation"), "participation"),
        presence_cues=_phrase_list(body.get("presence_cues"), "presence_cues"),
        events=_events(body.get("events")),
    )
