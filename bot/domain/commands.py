"""The chat command grammar shared by Slack ``/uschina ...`` and Teams ``@uschina ...``.

``parse_command(text, topics)`` turns one line a person typed into a frozen ``Command``.

Invariants:
- pure: no I/O; topic names are resolved through the ``TopicResolver`` passed in;
- for ANY input string the only exception raised is ``CommandError`` (one line saying what
  was wrong, plus the usage line of the verb), so a caller can show it and change nothing;
- parsing is forgiving: case-insensitive verbs and keywords, topics by id, label or alias
  (multi-word too), commas between topics, Slack link markup and entities, Teams ``<at>``
  mentions, non-breaking spaces and smart quotes are all understood.
"""

from __future__ import annotations

import difflib
import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple, Protocol, runtime_checkable

from bot.domain.errors import CommandError, ConfigError
from bot.domain.models import Mode
from bot.domain.schedule import parse_date_or_window, weekday_name
from bot.domain.source_input import MAX_URL_LENGTH, clean_source_url, shown_url

__all__ = [
    "GENERAL_USAGE",
    "HELP_LINES",
    "LATEST_DEFAULT",
    "LATEST_MAX",
    "USAGE",
    "VERBS",
    "Command",
    "CountdownAdd",
    "CountdownConfirm",
    "CountdownDismiss",
    "CountdownList",
    "CountdownRemove",
    "DigestDaily",
    "DigestNow",
    "DigestOff",
    "DigestWeekly",
    "Help",
    "Latest",
    "Search",
    "SourcesAdd",
    "SourcesList",
    "SourcesRemove",
    "Status",
    "Subscribe",
    "Subscriptions",
    "TaxonomyLike",
    "TopicResolver",
    "Topics",
    "Unsubscribe",
    "as_topic_resolver",
    "changes_state",
    "command_name",
    "is_admin_command",
    "normalize_text",
    "parse_command",
]

LATEST_DEFAULT = 5
LATEST_MAX = 20
MAX_TEXT = 4000
MAX_NAME = 120


@runtime_checkable
class TopicResolver(Protocol):
    """What the parser needs from the taxonomy."""

    def resolve(self, name: str) -> str | None:
        """Topic id for an id, label or alias; None if unknown."""

    def suggest(self, name: str) -> str | None:
        """The topic id nearest to a misspelt ``name``; None if nothing is close."""

    def ids(self) -> tuple[str, ...]:
        """Every topic id."""


class TaxonomyLike(Protocol):
    """The taxonomy's own method names; accepted by ``parse_command`` as well."""

    def resolve_topic(self, name: str) -> str | None: ...

    def suggest_topic(self, name: str) -> str | None: ...

    @property
    def topic_ids(self) -> tuple[str, ...]: ...


@dataclass(frozen=True)
class _TaxonomyResolver:
    taxonomy: TaxonomyLike

    def resolve(self, name: str) -> str | None:
        return self.taxonomy.resolve_topic(name)

    def suggest(self, name: str) -> str | None:
        return self.taxonomy.suggest_topic(name)

    def ids(self) -> tuple[str, ...]:
        return tuple(self.taxonomy.topic_ids)


def as_topic_resolver(topics: TopicResolver | TaxonomyLike) -> TopicResolver:
    """A ``TopicResolver`` from either shape (resolve/suggest/ids or the taxonomy's names)."""
    if isinstance(topics, TopicResolver):
        return topics
    return _TaxonomyResolver(topics)


# --------------------------------------------------------------------------- commands


@dataclass(frozen=True)
class Help:
    topic: str | None = None  # a verb ("subscribe") or a topic id ("taiwan")


@dataclass(frozen=True)
class Topics:
    pass


@dataclass(frozen=True)
class Latest:
    topic: str | None = None
    n: int = LATEST_DEFAULT


@dataclass(frozen=True)
class Status:
    topic: str | None = None


@dataclass(frozen=True)
class Subscribe:
    topics: tuple[str, ...]  # topic ids, or ("*",) for every topic
    mode: Mode = "realtime"
    me: bool = False  # subscribe the person (direct messages), not the channel


@dataclass(frozen=True)
class Unsubscribe:
    topics: tuple[str, ...] = ()
    all: bool = False
    me: bool = False


@dataclass(frozen=True)
class Subscriptions:
    pass


@dataclass(frozen=True)
class CountdownList:
    pass


@dataclass(frozen=True)
class CountdownAdd:
    name: str
    start: date
    end: date  # == start unless a window
    tentative: bool = False


@dataclass(frozen=True)
class CountdownRemove:
    id: int


@dataclass(frozen=True)
class CountdownConfirm:
    """Apply a change the news proposed for a countdown (``id`` of the proposed change)."""

    id: int


@dataclass(frozen=True)
class CountdownDismiss:
    """Discard a change the news proposed for a countdown (``id`` of the proposed change)."""

    id: int


@dataclass(frozen=True)
class DigestNow:
    pass


@dataclass(frozen=True)
class DigestDaily:
    hour: int
    minute: int


@dataclass(frozen=True)
class DigestWeekly:
    weekday: str  # three-letter name: mon, tue, ... sun (never a number)
    hour: int
    minute: int


@dataclass(frozen=True)
class DigestOff:
    pass


@dataclass(frozen=True)
class SourcesList:
    pass


@dataclass(frozen=True)
class SourcesAdd:
    url: str


@dataclass(frozen=True)
class SourcesRemove:
    id: int


@dataclass(frozen=True)
class Search:
    words: str
    topic: str | None = None


Command = (
    Help
    | Topics
    | Latest
    | Status
    | Subscribe
    | Unsubscribe
    | Subscriptions
    | CountdownList
    | CountdownAdd
    | CountdownRemove
    | CountdownConfirm
    | CountdownDismiss
    | DigestNow
    | DigestDaily
    | DigestWeekly
    | DigestOff
    | SourcesList
    | SourcesAdd
    | SourcesRemove
    | Search
)

_STATE_CHANGING = (
    Subscribe,
    Unsubscribe,
    CountdownAdd,
    CountdownRemove,
    CountdownConfirm,
    CountdownDismiss,
    DigestDaily,
    DigestWeekly,
    DigestOff,
    SourcesAdd,
    SourcesRemove,
)


def is_admin_command(cmd: Command) -> bool:
    """True for commands only workspace admins may run (adding or removing sources)."""
    return isinstance(cmd, SourcesAdd | SourcesRemove)


def changes_state(cmd: Command) -> bool:
    """True when running ``cmd`` writes something (subscriptions, countdowns, digest, sources)."""
    return isinstance(cmd, _STATE_CHANGING)


_NAMES: dict[type, str] = {
    Help: "help",
    Topics: "topics",
    Latest: "latest",
    Status: "status",
    Subscribe: "subscribe",
    Unsubscribe: "unsubscribe",
    Subscriptions: "subscriptions",
    CountdownList: "countdown list",
    CountdownAdd: "countdown add",
    CountdownRemove: "countdown remove",
    CountdownConfirm: "countdown confirm",
    CountdownDismiss: "countdown dismiss",
    DigestNow: "digest now",
    DigestDaily: "digest daily",
    DigestWeekly: "digest weekly",
    DigestOff: "digest off",
    SourcesList: "sources list",
    SourcesAdd: "sources add",
    SourcesRemove: "sources remove",
    Search: "search",
}


def command_name(cmd: Command) -> str:
    """A short stable name for logs and metrics: 'latest', 'countdown add', ..."""
    return _NAMES[type(cmd)]


# --------------------------------------------------------------------------- usage and help

USAGE: dict[str, str] = {
    "help": "help [COMMAND|TOPIC]",
    "topics": "topics",
    "latest": "latest [TOPIC] [N]",
    "status": "status [TOPIC]",
    "subscribe": "subscribe TOPIC... [realtime|digest]  ·  subscribe me TOPIC...",
    "unsubscribe": "unsubscribe TOPIC...|all",
    "subscriptions": "subscriptions",
    "countdown": "countdown [add NAME DATE [tentative] | remove ID | confirm ID | dismiss ID]",
    "digest": "digest now | digest daily HH:MM | digest weekly DAY HH:MM | digest off",
    "sources": "sources [add URL | remove ID]",
    "search": "search WORDS [in:TOPIC]",
}
VERBS: tuple[str, ...] = tuple(USAGE)
GENERAL_USAGE = "Commands: " + ", ".join(VERBS) + ". Send 'help COMMAND' for details."

HELP_LINES: tuple[str, ...] = (
    "help [COMMAND|TOPIC] — this list, or details on one command or topic",
    "topics — the issues the bot follows, with their ids",
    f"latest [TOPIC] [N] — the newest stories, for one topic if given "
    f"(N from 1 to {LATEST_MAX}, default {LATEST_DEFAULT})",
    "status [TOPIC] — the status board: where each issue stands",
    "subscribe TOPIC... [realtime|digest] — this channel gets alerts (or digests) on topics",
    "subscribe me TOPIC... — you get them as direct messages",
    "unsubscribe TOPIC...|all — stop topics, or everything",
    "subscriptions — what this channel is subscribed to",
    "countdown — upcoming dated events; countdown add NAME YYYY-MM-DD [tentative], "
    "a window YYYY-MM-DD..YYYY-MM-DD, countdown remove ID; "
    "countdown confirm ID | dismiss ID — accept or discard a change the news proposed",
    "digest now | daily HH:MM | weekly DAY HH:MM | off — this channel's digest",
    "sources [add URL | remove ID] — the news sources watched (add/remove: admins)",
    "search WORDS [in:TOPIC] — search stored stories",
)

_VERB_ALIASES: dict[str, str] = {
    "?": "help",
    "topic": "topics",
    "news": "latest",
    "sub": "subscribe",
    "unsub": "unsubscribe",
    "subs": "subscriptions",
    "countdowns": "countdown",
    "source": "sources",
    "find": "search",
}


def _fail(message: str, verb: str | None = None) -> CommandError:
    return CommandError(message, USAGE.get(verb or "", GENERAL_USAGE))


def _shown(text: str, limit: int = 40) -> str:
    """User text quoted in an error message: one line, bounded."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --------------------------------------------------------------------------- normalisation

_BLANKS = dict.fromkeys(
    map(
        ord,
        "\t\n\r\v\f\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
        "\u2008\u2009\u200a\u200b\u2028\u2029\u202f\u205f\u3000",
    ),
    " ",
)
_INVISIBLE = dict.fromkeys(map(ord, "\u200c\u200d\u2060\ufeff\u00ad"), None)
_QUOTES = str.maketrans(
    {
        "“": '"',
        "”": '"',
        "„": '"',
        "‟": '"',
        "«": '"',
        "»": '"',
        "″": '"',
        "‘": "'",
        "’": "'",
        "‚": "'",
        "‛": "'",
    }
)
_MENTIONS = re.compile(r"^\s*(?:<at\b[^>]*>.*?</at>\s*[:,]?\s*)+", re.IGNORECASE | re.DOTALL)
_HTML_TAGS = re.compile(r"</?(?:p|div|span|br|b|i|em|strong)\b[^<>]*>", re.IGNORECASE)
_AT_TAGS = re.compile(r"</?at\b[^<>]*>", re.IGNORECASE)
_SLACK_MARKUP = re.compile(r"<([^<>]*)>")
_SELF_PREFIX = re.compile(r"^(?:[/@]uschina\b[\s:,]*)+", re.IGNORECASE)


def normalize_text(text: str) -> str:
    """Chat text -> plain single-spaced text (mentions, markup, entities, odd spaces gone)."""
    text = _HTML_TAGS.sub(" ", text)
    text = _MENTIONS.sub("", text)
    text = _AT_TAGS.sub("", text)
    text = _SLACK_MARKUP.sub(_unwrap_slack, text)
    text = html.unescape(text)
    text = text.translate(_BLANKS).translate(_INVISIBLE).translate(_QUOTES)
    text = " ".join(text.split())
    return _SELF_PREFIX.sub("", text).strip()


def _unwrap_slack(match: re.Match[str]) -> str:
    """``<https://x|label>`` -> URL; ``<@U1|bob>`` -> @bob; ``<!here>`` -> ''."""
    target, _, label = match.group(1).partition("|")
    if target.startswith("!"):
        return ""
    if target[:1] in ("@", "#"):
        return target[0] + label if label else target
    if target.lower().startswith("mailto:"):
        return label or target[len("mailto:") :]
    return target


class _Token(NamedTuple):
    text: str
    quoted: bool


def _tokenize(text: str) -> list[_Token]:
    """Split on spaces; "double quotes" group words into one token."""
    tokens: list[_Token] = []
    chars: list[str] = []
    in_quote = quoted = False
    for char in text:
        if char == '"':
            in_quote, quoted = not in_quote, True
        elif char == " " and not in_quote:
            if chars or quoted:
                tokens.append(_Token("".join(chars).strip(), quoted))
            chars, quoted = [], False
        else:
            chars.append(char)
    if chars or quoted:
        tokens.append(_Token("".join(chars).strip(), quoted))
    return tokens


def _joined(tokens: Sequence[_Token]) -> str:
    return " ".join(f'"{t.text}"' if t.quoted else t.text for t in tokens)


def _is_word(token: _Token, *words: str) -> bool:
    return not token.quoted and token.text.casefold() in words


# --------------------------------------------------------------------------- entry point


def parse_command(text: str, topics: TopicResolver | TaxonomyLike) -> Command:
    """Parse one command line. Empty text means ``help``. Raises only ``CommandError``.

    ``topics`` is a ``TopicResolver`` or the taxonomy itself (see ``as_topic_resolver``).
    """
    resolver = as_topic_resolver(topics)
    raw = text if isinstance(text, str) else ""
    if len(raw) > MAX_TEXT:
        raise _fail(f"That command is too long ({len(raw)} characters).")
    tokens = _tokenize(normalize_text(raw))
    if not tokens:
        return Help()
    head, args = tokens[0], tokens[1:]
    word = head.text.casefold().rstrip(":,.!")
    verb = _VERB_ALIASES.get(word, word)
    parser = _PARSERS.get(verb)
    if parser is None or head.quoted:
        raise _unknown_verb(head.text, args, resolver)
    return parser(args, resolver)


def _unknown_verb(word: str, args: Sequence[_Token], topics: TopicResolver) -> CommandError:
    if _resolve(word, topics) and not args:
        return _fail(f"Unknown command '{_shown(word)}'. Did you mean 'latest {word}'?")
    candidates = list(VERBS) + list(_VERB_ALIASES)
    close = difflib.get_close_matches(word.casefold(), candidates, n=1, cutoff=0.6)
    if close:
        verb = _VERB_ALIASES.get(close[0], close[0])
        return _fail(f"Unknown command '{_shown(word)}'. Did you mean '{verb}'?", verb)
    return _fail(f"Unknown command '{_shown(word)}'.")


# --------------------------------------------------------------------------- topics


def _resolve(name: str, topics: TopicResolver) -> str | None:
    folded = name.casefold()
    for candidate in dict.fromkeys((name, folded, re.sub(r"[\s-]+", "_", folded))):
        if candidate:
            found = topics.resolve(candidate)
            if found:
                return found
    return None


def _unknown_topic(words: Sequence[str], topics: TopicResolver, verb: str) -> CommandError:
    for size in range(min(4, len(words)), 0, -1):
        phrase = " ".join(words[:size])
        suggestion = topics.suggest(phrase.casefold())
        if suggestion:
            return _fail(f"Unknown topic '{_shown(phrase)}'. Did you mean '{suggestion}'?", verb)
    return _fail(f"Unknown topic '{_shown(words[0])}'. Send 'topics' for the list.", verb)


_FILLERS = frozenset({"and", "&", "+", "or"})


def _topic_words(tokens: Sequence[_Token]) -> list[str]:
    """Topic phrases typed: commas separate, quoted phrases stay whole, fillers drop."""
    words: list[str] = []
    for token in tokens:
        if token.quoted:
            words.append(token.text)
            continue
        words.extend(w for w in token.text.split(",") if w and w.casefold() not in _FILLERS)
    return [w for w in words if w.strip()]


def _resolve_topics(words: Sequence[str], topics: TopicResolver, verb: str) -> list[str]:
    """Greedy longest-match of words to topic ids ("south china sea" is one topic)."""
    found: list[str] = []
    i = 0
    while i < len(words):
        for size in range(min(4, len(words) - i), 0, -1):
            topic = _resolve(" ".join(words[i : i + size]), topics)
            if topic:
                found.append(topic)
                i += size
                break
        else:
            raise _unknown_topic(words[i:], topics, verb)
    return list(dict.fromkeys(found))


def _one_topic(words: Sequence[str], topics: TopicResolver, verb: str) -> str | None:
    if not words:
        return None
    found = _resolve_topics(words, topics, verb)
    if len(found) > 1:
        raise _fail(f"'{verb}' takes one topic, got {len(found)}: {', '.join(found)}.", verb)
    return found[0]


# --------------------------------------------------------------------------- verbs

_Parser = Callable[[Sequence[_Token], TopicResolver], Command]


def _no_args(verb: str, command: Command) -> _Parser:
    def parse(args: Sequence[_Token], topics: TopicResolver) -> Command:
        if args and not (len(args) == 1 and _is_word(args[0], "list", "ls")):
            raise _fail(f"'{verb}' takes nothing after it, got '{_shown(_joined(args))}'.", verb)
        return command

    return parse


def _parse_help(args: Sequence[_Token], topics: TopicResolver) -> Command:
    if not args:
        return Help()
    word = args[0].text.casefold()
    verb = _VERB_ALIASES.get(word, word)
    if verb in USAGE and len(args) == 1:
        return Help(verb)
    words = _topic_words(args)
    topic = _resolve(" ".join(words), topics) if words else None
    if topic:
        return Help(topic)
    close = difflib.get_close_matches(word, list(VERBS), n=1, cutoff=0.6)
    if close:
        raise _fail(f"No help on '{_shown(_joined(args))}'. Did you mean '{close[0]}'?", "help")
    raise _unknown_topic(words or [args[0].text], topics, "help")


_INT = re.compile(r"[+-]?[0-9]+", re.ASCII)


def _parse_latest(args: Sequence[_Token], topics: TopicResolver) -> Command:
    args = [t for t in args if not _is_word(t, *_ALL_WORDS)]
    numbers = [t.text for t in args if not t.quoted and _INT.fullmatch(t.text)]
    words = _topic_words([t for t in args if t.quoted or not _INT.fullmatch(t.text)])
    if len(numbers) > 1:
        raise _fail(f"Give N once, got {', '.join(numbers)}.", "latest")
    try:
        topic = _one_topic(words, topics, "latest")
    except CommandError:
        bad = next((w for w in words if re.match(r"[+-]?[0-9]", w, re.ASCII)), None)
        if bad is not None and not _resolve(bad, topics):
            # from None: this message replaces the topic lookup's
            raise _fail(
                f"N must be a whole number from 1 to {LATEST_MAX}, not '{_shown(bad)}'.", "latest"
            ) from None
        raise
    n = LATEST_DEFAULT
    if numbers:
        n = int(numbers[0][:12])
        if n < 1:
            raise _fail(f"N must be from 1 to {LATEST_MAX}, not {_shown(numbers[0])}.", "latest")
        n = min(n, LATEST_MAX)
    return Latest(topic, n)


def _parse_status(args: Sequence[_Token], topics: TopicResolver) -> Command:
    if len(args) == 1 and _is_word(args[0], *_ALL_WORDS):
        return Status(None)
    return Status(_one_topic(_topic_words(args), topics, "status"))


_MODE_WORDS: dict[str, Mode] = {
    "realtime": "realtime",
    "real-time": "realtime",
    "live": "realtime",
    "digest": "digest",
    "digests": "digest",
    "both": "both",
}
_ALL_WORDS = ("all", "*", "everything")


def _parse_subscribe(args: Sequence[_Token], topics: TopicResolver) -> Command:
    modes: set[Mode] = set()
    me = every = False
    rest: list[_Token] = []
    for token in args:
        word = token.text.casefold()
        if token.quoted:
            rest.append(token)
        elif word in _MODE_WORDS:
            modes.add(_MODE_WORDS[word])
        elif word == "me":
            me = True
        elif word in _ALL_WORDS:
            every = True
        else:
            rest.append(token)
    mode: Mode = "realtime"
    if modes:
        mode = "both" if len(modes) > 1 else modes.pop()
    chosen = _resolve_topics(_topic_words(rest), topics, "subscribe")
    if every:
        return Subscribe(("*",), mode, me)
    if not chosen:
        raise _fail(
            "Name at least one topic to subscribe to (send 'topics' for the list).", "subscribe"
        )
    return Subscribe(tuple(chosen), mode, me)


def _parse_unsubscribe(args: Sequence[_Token], topics: TopicResolver) -> Command:
    me = _any_word(args, "me")
    every = _any_word(args, *_ALL_WORDS)
    rest = [t for t in args if not _is_word(t, "me", *_ALL_WORDS)]
    chosen = _resolve_topics(_topic_words(rest), topics, "unsubscribe")
    if every:
        return Unsubscribe((), all=True, me=me)
    if not chosen:
        raise _fail("Name the topics to unsubscribe from, or 'all'.", "unsubscribe")
    return Unsubscribe(tuple(chosen), all=False, me=me)


def _any_word(tokens: Sequence[_Token], *words: str) -> bool:
    return any(_is_word(t, *words) for t in tokens)


# ---- countdown

_DATE_START = re.compile(r"[0-9]{4}-", re.ASCII)
_WINDOW_JOINERS = ("..", "…", "to", "-", "–", "—", "until")
_TENTATIVE_WORDS = ("tentative", "--tentative", "(tentative)", "maybe", "tbc", "tbd")


def _parse_countdown(args: Sequence[_Token], topics: TopicResolver) -> Command:
    if not args or (len(args) == 1 and _is_word(args[0], "list", "ls")):
        return CountdownList()
    action = args[0].text.casefold()
    if not args[0].quoted and action in ("add", "new", "create"):
        return _countdown_add(args[1:])
    if not args[0].quoted and action in ("remove", "rm", "delete", "del", "cancel"):
        return CountdownRemove(_one_id(args[1:], "countdown"))
    if not args[0].quoted and action in ("confirm", "accept", "apply"):
        return CountdownConfirm(_one_id(args[1:], "countdown"))
    if not args[0].quoted and action in ("dismiss", "reject", "discard"):
        return CountdownDismiss(_one_id(args[1:], "countdown"))
    if any(_DATE_START.match(t.text) and not t.quoted for t in args[1:]):
        return _countdown_add(args)  # "countdown COP29 2024-11-11": 'add' left out
    raise _fail(
        f"Unknown countdown action '{_shown(args[0].text)}': use add, remove, confirm or dismiss.",
        "countdown",
    )


def _countdown_add(args: Sequence[_Token]) -> Command:
    at = next((i for i, t in enumerate(args) if not t.quoted and _DATE_START.match(t.text)), None)
    if at is None:
        raise _fail(
            "Missing DATE: give YYYY-MM-DD, or a window YYYY-MM-DD..YYYY-MM-DD.", "countdown"
        )
    name = " ".join(t.text for t in args[:at]).strip()
    if not name:
        raise _fail("Give the countdown a name before the date.", "countdown")
    if len(name) > MAX_NAME:
        raise _fail(
            f"The name is too long ({len(name)} characters, at most {MAX_NAME}).", "countdown"
        )
    date_text, rest = _date_text(args[at:])
    tentative = False
    for token in rest:
        if not _is_word(token, *_TENTATIVE_WORDS):
            raise _fail(f"Unexpected '{_shown(token.text)}' after the date.", "countdown")
        tentative = True
    try:
        start, end, window = parse_date_or_window(date_text)
    except ValueError as exc:
        # from None: the cause is our own error, whose text the message repeats
        raise _fail(f"Bad date: {_shown(str(exc), 120)}", "countdown") from None
    return CountdownAdd(name, start, end, tentative or window)


def _date_text(tokens: Sequence[_Token]) -> tuple[str, Sequence[_Token]]:
    """The DATE (joining '2024-09-01 .. 2024-10-31' typed with spaces) and what follows."""
    first = tokens[0].text
    if first.endswith(("..", "…")) and len(tokens) > 1:
        return first.rstrip(".…") + ".." + tokens[1].text, tokens[2:]
    if len(tokens) > 1 and tokens[1].text.startswith(("..", "…")) and len(tokens[1].text) > 2:
        return first + ".." + tokens[1].text.lstrip(".…"), tokens[2:]
    if len(tokens) > 2 and _is_word(tokens[1], *_WINDOW_JOINERS):
        return first + ".." + tokens[2].text, tokens[3:]
    return first, tokens[1:]


def _one_id(args: Sequence[_Token], verb: str) -> int:
    if len(args) != 1:
        raise _fail(f"Give one ID (send '{verb}' to see them).", verb)
    text = args[0].text.lstrip("#")
    if not re.fullmatch(r"[0-9]{1,9}", text, re.ASCII) or int(text) < 1:
        raise _fail(f"ID must be a number, not '{_shown(args[0].text)}'.", verb)
    return int(text)


# ---- digest

_TIME = re.compile(
    r"([0-9]{1,2})(?:[:.h]?([0-9]{2}))?\s*(am|pm|a\.m\.|p\.m\.)?", re.ASCII | re.IGNORECASE
)


def _parse_digest(args: Sequence[_Token], topics: TopicResolver) -> Command:
    if not args:
        return DigestNow()
    action = args[0].text.casefold()
    if action == "now" and len(args) == 1:
        return DigestNow()
    if action in ("off", "stop", "disable", "none") and len(args) == 1:
        return DigestOff()
    if action == "daily":
        hour, minute = _time_of_day(args[1:])
        return DigestDaily(hour, minute)
    if action == "weekly":
        if len(args) < 2:
            raise _fail("Say which day, e.g. 'digest weekly mon 08:00'.", "digest")
        hour, minute = _time_of_day(args[2:])
        return DigestWeekly(_weekday(args[1].text), hour, minute)
    if _TIME.fullmatch(" ".join(t.text for t in args)):
        return DigestDaily(*_time_of_day(args))
    if _looks_like_weekday(action):
        return DigestWeekly(_weekday(args[0].text), *_time_of_day(args[1:]))
    raise _fail(f"Unknown digest option '{_shown(_joined(args))}'.", "digest")


def _time_of_day(args: Sequence[_Token]) -> tuple[int, int]:
    text = " ".join(t.text for t in args)
    example = "use HH:MM on a 24-hour clock, e.g. 08:00"
    if not text:
        raise _fail(f"Missing time: {example}.", "digest")
    match = _TIME.fullmatch(text)
    if not match:
        raise _fail(f"Bad time '{_shown(text)}': {example}.", "digest")
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    half = (match.group(3) or "").lower().replace(".", "")
    if half:
        if not 1 <= hour <= 12:
            raise _fail(f"Bad time '{_shown(text)}': {example}.", "digest")
        hour = hour % 12 + (12 if half == "pm" else 0)
    if hour > 23 or minute > 59:
        raise _fail(f"Bad time '{_shown(text)}': {example}.", "digest")
    return hour, minute


def _looks_like_weekday(word: str) -> bool:
    try:
        weekday_name(word)
    except ValueError:
        return False
    return len(word) >= 3


def _weekday(text: str) -> str:
    if len(text) >= 2:
        try:
            return weekday_name(text.rstrip("s") if text.lower().endswith("days") else text)
        except ValueError:
            pass
    raise _fail(f"Bad day '{_shown(text)}': use mon, tue, wed, thu, fri, sat or sun.", "digest")


# ---- sources


def _parse_sources(args: Sequence[_Token], topics: TopicResolver) -> Command:
    if not args or (len(args) == 1 and _is_word(args[0], "list", "ls")):
        return SourcesList()
    action = args[0].text.casefold()
    if action == "add":
        if len(args) != 2:
            raise _fail("Give one URL, e.g. 'sources add https://example.org/feed.xml'.", "sources")
        return SourcesAdd(_url(args[1].text))
    if action in ("remove", "rm", "delete", "del"):
        return SourcesRemove(_one_id(args[1:], "sources"))
    raise _fail(f"Unknown sources action '{_shown(args[0].text)}': use add or remove.", "sources")


def _url(text: str) -> str:
    url = text.strip("<>'\"")
    if "://" not in url and re.fullmatch(r"[\w.-]+\.[a-z]{2,}(?:[/?#]\S*)?", url, re.IGNORECASE):
        url = "https://" + url
    try:
        return clean_source_url(url)
    except ConfigError as exc:
        shown = _shown(shown_url(url[:MAX_URL_LENGTH]), 80)
        # from None: the cause is our own error, whose text the message repeats
        raise _fail(f"'{shown}' is not a web address you can add: {exc}.", "sources") from None


# ---- search

_FILTER = re.compile(r"(?:in|topic):(.*)", re.IGNORECASE | re.DOTALL)
MAX_SEARCH = 200


def _parse_search(args: Sequence[_Token], topics: TopicResolver) -> Command:
    words: list[_Token] = []
    topic: str | None = None
    filters = 0
    i = 0
    while i < len(args):
        match = _FILTER.fullmatch(args[i].text)
        if not match:
            words.append(args[i])
            i += 1
            continue
        filters += 1
        if filters > 1:
            raise _fail("Give at most one in:TOPIC.", "search")
        if not match.group(1).strip():
            raise _fail("Say which topic after 'in:', e.g. in:trade.", "search")
        topic, used = _filter_topic(match.group(1), args[i + 1 :], topics)
        i += 1 + used
    text = _joined(words).strip()
    if not text.strip('" '):
        raise _fail("Search for what? e.g. 'search tariffs in:trade'.", "search")
    if len(text) > MAX_SEARCH:
        raise _fail(f"Search words are too long ({len(text)} characters).", "search")
    return Search(text, topic)


def _filter_topic(
    first: str, following: Sequence[_Token], topics: TopicResolver
) -> tuple[str, int]:
    """The topic of ``in:X``; a multi-word name may run on ("in:south china sea")."""
    for extra in range(min(3, len(following)), 0, -1):
        tail = following[:extra]
        if any(t.quoted for t in tail):
            continue
        found = _resolve(" ".join([first, *(t.text for t in tail)]), topics)
        if found:
            return found, extra
    found = _one_topic([first], topics, "search")
    assert found is not None
    return found, 0


_PARSERS: dict[str, _Parser] = {
    "help": _parse_help,
    "topics": _no_args("topics", Topics()),
    "latest": _parse_latest,
    "status": _parse_status,
    "subscribe": _parse_subscribe,
    "unsubscribe": _parse_unsubscribe,
    "subscriptions": _no_args("subscriptions", Subscriptions()),
    "countdown": _parse_countdown,
    "digest": _parse_digest,
    "sources": _parse_sources,
    "search": _parse_search,
}
