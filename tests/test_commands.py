"""The chat command grammar: every verb, every error, Slack/Teams text quirks, fuzzing."""

from __future__ import annotations

import difflib
from datetime import date
from typing import ClassVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.commands import (
    GENERAL_USAGE,
    HELP_LINES,
    LATEST_DEFAULT,
    LATEST_MAX,
    USAGE,
    VERBS,
    Command,
    CountdownAdd,
    CountdownList,
    CountdownRemove,
    DigestDaily,
    DigestNow,
    DigestOff,
    DigestWeekly,
    Help,
    Latest,
    Search,
    SourcesAdd,
    SourcesList,
    SourcesRemove,
    Status,
    Subscribe,
    Subscriptions,
    Topics,
    Unsubscribe,
    as_topic_resolver,
    changes_state,
    command_name,
    is_admin_command,
    normalize_text,
    parse_command,
)
from bot.domain.errors import CommandError


class FakeTopics:
    """A tiny stand-in for the taxonomy: ids, labels and aliases, lower-case."""

    NAMES: ClassVar[dict[str, str]] = {
        "diplomacy": "diplomacy",
        "climate": "climate",
        "climate change": "climate",
        "military": "military",
        "ai": "ai",
        "artificial intelligence": "ai",
        "taiwan": "taiwan",
        "taiwan strait": "taiwan",
        "fentanyl": "fentanyl",
        "south_china_sea": "south_china_sea",
        "south china sea": "south_china_sea",
        "scs": "south_china_sea",
        "sanctions": "sanctions",
        "export controls": "sanctions",
        "trade": "trade",
        "tariffs": "trade",
        "tech": "tech",
        "5g": "tech",
        "human_rights": "human_rights",
        "human rights": "human_rights",
        "people": "people",
        "security": "security",
        "health": "health",
    }

    def resolve(self, name: str) -> str | None:
        return self.NAMES.get(name.lower())

    def suggest(self, name: str) -> str | None:
        close = difflib.get_close_matches(name.lower(), list(self.NAMES), n=1, cutoff=0.75)
        return self.NAMES[close[0]] if close else None

    def ids(self) -> tuple[str, ...]:
        return tuple(sorted(set(self.NAMES.values())))


TOPICS = FakeTopics()


def parse(text: str) -> Command:
    return parse_command(text, TOPICS)


def error_of(text: str) -> CommandError:
    with pytest.raises(CommandError) as caught:
        parse(text)
    return caught.value


# --------------------------------------------------------------------------- verbs


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", Help()),
        ("   ", Help()),
        ("help", Help()),
        ("HELP", Help()),
        ("?", Help()),
        ("help subscribe", Help("subscribe")),
        ("help sub", Help("subscribe")),
        ("help south china sea", Help("south_china_sea")),
        ("topics", Topics()),
        ("Topics list", Topics()),
        ("subscriptions", Subscriptions()),
        ("subs", Subscriptions()),
    ],
)
def test_simple_verbs(text: str, expected: Command) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("latest", Latest(None, LATEST_DEFAULT)),
        ("latest taiwan", Latest("taiwan", LATEST_DEFAULT)),
        ("latest Taiwan 3", Latest("taiwan", 3)),
        ("latest 3 taiwan", Latest("taiwan", 3)),
        ("latest 10", Latest(None, 10)),
        ("latest south china sea 2", Latest("south_china_sea", 2)),
        ("latest export controls", Latest("sanctions", LATEST_DEFAULT)),
        ("latest taiwan 500", Latest("taiwan", LATEST_MAX)),
        ("latest 5g", Latest("tech", LATEST_DEFAULT)),
        ("LATEST TAIWAN", Latest("taiwan", LATEST_DEFAULT)),
        ("status", Status(None)),
        ("status military", Status("military")),
        ("status all", Status(None)),
        ("latest all 3", Latest(None, 3)),
        ("status human rights", Status("human_rights")),
    ],
)
def test_latest_and_status(text: str, expected: Command) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("latest taiwan 5x", "N must be a whole number from 1 to 20, not '5x'"),
        ("latest 3.5", "N must be a whole number"),
        ("latest 0", "N must be from 1 to 20"),
        ("latest -2", "N must be from 1 to 20"),
        ("latest 3 4", "Give N once"),
        ("latest taiwan trade", "'latest' takes one topic"),
        ("status taiwan trade", "'status' takes one topic"),
        ("status taiwn", "Unknown topic 'taiwn'. Did you mean 'taiwan'?"),
    ],
)
def test_latest_and_status_errors(text: str, message: str) -> None:
    error = error_of(text)
    assert message in str(error)
    assert error.usage == USAGE[text.split()[0]]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("subscribe taiwan", Subscribe(("taiwan",), "realtime", False)),
        ("subscribe taiwan military", Subscribe(("taiwan", "military"), "realtime", False)),
        ("subscribe taiwan, military,trade", Subscribe(("taiwan", "military", "trade"))),
        ("subscribe taiwan and trade", Subscribe(("taiwan", "trade"))),
        ("subscribe south china sea digest", Subscribe(("south_china_sea",), "digest")),
        ("subscribe export controls, ai realtime", Subscribe(("sanctions", "ai"), "realtime")),
        ('subscribe "south china sea" taiwan', Subscribe(("south_china_sea", "taiwan"))),
        ("subscribe taiwan taiwan strait", Subscribe(("taiwan",))),
        ("subscribe me taiwan", Subscribe(("taiwan",), "realtime", True)),
        ("Subscribe ME fentanyl digest", Subscribe(("fentanyl",), "digest", True)),
        ("subscribe all", Subscribe(("*",))),
        ("subscribe * digest", Subscribe(("*",), "digest")),
        ("subscribe taiwan realtime digest", Subscribe(("taiwan",), "both")),
        ("sub trade", Subscribe(("trade",))),
        ("subscribe south-china-sea", Subscribe(("south_china_sea",))),
    ],
)
def test_subscribe(text: str, expected: Command) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("unsubscribe taiwan", Unsubscribe(("taiwan",), all=False, me=False)),
        ("unsubscribe taiwan, trade", Unsubscribe(("taiwan", "trade"))),
        ("unsubscribe all", Unsubscribe((), all=True)),
        ("unsubscribe ALL", Unsubscribe((), all=True)),
        ("unsubscribe me all", Unsubscribe((), all=True, me=True)),
        ("unsubscribe me south china sea", Unsubscribe(("south_china_sea",), me=True)),
        ("unsub ai", Unsubscribe(("ai",))),
    ],
)
def test_unsubscribe(text: str, expected: Command) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("text", "message", "verb"),
    [
        ("subscribe", "Name at least one topic", "subscribe"),
        ("subscribe digest", "Name at least one topic", "subscribe"),
        ("subscribe taiwn", "Unknown topic 'taiwn'. Did you mean 'taiwan'?", "subscribe"),
        (
            "subscribe taiwan xyzzy",
            "Unknown topic 'xyzzy'. Send 'topics' for the list.",
            "subscribe",
        ),
        ("subscribe south chna sea", "Did you mean 'south_china_sea'?", "subscribe"),
        ("unsubscribe", "Name the topics to unsubscribe from, or 'all'.", "unsubscribe"),
        ("unsubscribe fentanil", "Did you mean 'fentanyl'?", "unsubscribe"),
    ],
)
def test_subscribe_errors(text: str, message: str, verb: str) -> None:
    error = error_of(text)
    assert message in str(error)
    assert error.usage == USAGE[verb]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("countdown", CountdownList()),
        ("countdown list", CountdownList()),
        ("countdowns", CountdownList()),
        (
            "countdown add COP29 2024-11-11",
            CountdownAdd("COP29", date(2024, 11, 11), date(2024, 11, 11), False),
        ),
        (
            'countdown add "Biden-Xi call" 2024-09-01..2024-10-31',
            CountdownAdd("Biden-Xi call", date(2024, 9, 1), date(2024, 10, 31), True),
        ),
        (
            "countdown add “Biden–Xi call” 2024-10-01 tentative",
            CountdownAdd("Biden–Xi call", date(2024, 10, 1), date(2024, 10, 1), True),
        ),
        (
            "countdown add US election day 2024-11-05",
            CountdownAdd("US election day", date(2024, 11, 5), date(2024, 11, 5), False),
        ),
        (
            "countdown add Envoy visit 2024-09-01 .. 2024-10-31",
            CountdownAdd("Envoy visit", date(2024, 9, 1), date(2024, 10, 31), True),
        ),
        (
            "countdown add Envoy visit 2024-09-01 to 2024-10-31",
            CountdownAdd("Envoy visit", date(2024, 9, 1), date(2024, 10, 31), True),
        ),
        (
            "countdown COP29 2024-11-11",
            CountdownAdd("COP29", date(2024, 11, 11), date(2024, 11, 11), False),
        ),
        (
            'countdown add "2024 summit" 2024-11-15',
            CountdownAdd("2024 summit", date(2024, 11, 15), date(2024, 11, 15)),
        ),
        ("countdown remove 3", CountdownRemove(3)),
        ("countdown remove #12", CountdownRemove(12)),
        ("Countdown RM 4", CountdownRemove(4)),
    ],
)
def test_countdown(text: str, expected: Command) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("countdown add COP29", "Missing DATE"),
        ("countdown add 2024-11-11", "Give the countdown a name before the date."),
        ("countdown add COP29 2024-13-01", "Bad date"),
        ("countdown add COP29 2024-02-30", "not a real date"),
        ("countdown add COP29 2024-1111", "Bad date"),
        ("countdown add COP29 2024-10-31..2024-09-01", "ends before it starts"),
        ("countdown add COP29 2024-11-11 in Baku", "Unexpected 'in' after the date."),
        ("countdown remove", "Give one ID"),
        ("countdown remove three", "ID must be a number, not 'three'."),
        ("countdown remove 0", "ID must be a number"),
        ("countdown frobnicate", "Unknown countdown action 'frobnicate'"),
        ("countdown add " + "x" * 130 + " 2024-11-11", "The name is too long"),
    ],
)
def test_countdown_errors(text: str, message: str) -> None:
    error = error_of(text)
    assert message in str(error)
    assert error.usage == USAGE["countdown"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("digest", DigestNow()),
        ("digest now", DigestNow()),
        ("digest off", DigestOff()),
        ("Digest OFF", DigestOff()),
        ("digest daily 08:00", DigestDaily(8, 0)),
        ("digest daily 8:30", DigestDaily(8, 30)),
        ("digest daily 17", DigestDaily(17, 0)),
        ("digest daily 0830", DigestDaily(8, 30)),
        ("digest daily 7am", DigestDaily(7, 0)),
        ("digest daily 7:15 pm", DigestDaily(19, 15)),
        ("digest daily 12am", DigestDaily(0, 0)),
        ("digest daily 23:59", DigestDaily(23, 59)),
        ("digest 09:00", DigestDaily(9, 0)),
        ("digest weekly mon 08:00", DigestWeekly("mon", 8, 0)),
        ("digest weekly Sunday 18:00", DigestWeekly("sun", 18, 0)),
        ("digest weekly fridays 16:30", DigestWeekly("fri", 16, 30)),
        ("digest tue 07:00", DigestWeekly("tue", 7, 0)),
    ],
)
def test_digest(text: str, expected: Command) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("digest daily", "Missing time"),
        ("digest daily 25:00", "Bad time '25:00'"),
        ("digest daily 08:60", "Bad time '08:60'"),
        ("digest daily 13pm", "Bad time '13pm'"),
        ("digest daily noonish", "Bad time 'noonish'"),
        ("digest weekly", "Say which day"),
        ("digest weekly funday 08:00", "Bad day 'funday'"),
        ("digest weekly mon", "Missing time"),
        ("digest sometimes", "Unknown digest option 'sometimes'"),
        ("digest now please", "Unknown digest option"),
    ],
)
def test_digest_errors(text: str, message: str) -> None:
    error = error_of(text)
    assert message in str(error)
    assert error.usage == USAGE["digest"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sources", SourcesList()),
        ("sources list", SourcesList()),
        ("sources add https://www.state.gov/feed/", SourcesAdd("https://www.state.gov/feed/")),
        ("sources add <https://example.org/rss.xml>", SourcesAdd("https://example.org/rss.xml")),
        (
            "sources add <https://example.org/rss?a=1&amp;b=2|example.org/rss>",
            SourcesAdd("https://example.org/rss?a=1&b=2"),
        ),
        ("sources add example.org/feed", SourcesAdd("https://example.org/feed")),
        ("sources remove 7", SourcesRemove(7)),
        ("source rm 7", SourcesRemove(7)),
    ],
)
def test_sources(text: str, expected: Command) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sources add", "Give one URL"),
        ("sources add https://a.example https://b.example", "Give one URL"),
        ("sources add ftp://example.org/feed", "is not a web address"),
        ("sources add javascript:alert(1)", "is not a web address"),
        ("sources add http://[::1", "is not a web address"),
        ("sources remove x", "ID must be a number"),
        ("sources purge", "Unknown sources action 'purge'"),
    ],
)
def test_sources_errors(text: str, message: str) -> None:
    error = error_of(text)
    assert message in str(error)
    assert error.usage == USAGE["sources"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("search tariffs", Search("tariffs", None)),
        ("search tariffs in:trade", Search("tariffs", "trade")),
        ("search chip export rules topic:tech", Search("chip export rules", "tech")),
        ("search IN:south_china_sea shoal", Search("shoal", "south_china_sea")),
        ("search in:south china sea shoal", Search("shoal", "south_china_sea")),
        ('search in:"south china sea" shoal', Search("shoal", "south_china_sea")),
        ("search shoal in:scs", Search("shoal", "south_china_sea")),
        ('search "second thomas shoal"', Search('"second thomas shoal"', None)),
        ("find Blinken visit", Search("Blinken visit", None)),
        ("search AT&amp;T", Search("AT&T", None)),
    ],
)
def test_search(text: str, expected: Command) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("search", "Search for what?"),
        ("search in:trade", "Search for what?"),
        ("search tariffs in:trad", "Unknown topic 'trad'. Did you mean 'trade'?"),
        ("search x in:trade in:tech", "at most one in:TOPIC"),
        ("search x in:", "Say which topic"),
        ("search " + "word " * 60, "too long"),
    ],
)
def test_search_errors(text: str, message: str) -> None:
    error = error_of(text)
    assert message in str(error)
    assert error.usage == USAGE["search"]


# --------------------------------------------------------------------------- general errors


def test_unknown_verb_suggests_nearest() -> None:
    error = error_of("lates taiwan")
    assert str(error) == "Unknown command 'lates'. Did you mean 'latest'?"
    assert error.usage == USAGE["latest"]
    assert "Did you mean 'subscribe'?" in str(error_of("subscibe taiwan"))


def test_unknown_verb_without_a_near_miss_gets_general_usage() -> None:
    error = error_of("frobnicate now")
    assert str(error) == "Unknown command 'frobnicate'."
    assert error.usage == GENERAL_USAGE


def test_bare_topic_suggests_latest() -> None:
    assert "Did you mean 'latest taiwan'?" in str(error_of("taiwan"))


def test_no_argument_verbs_reject_extras() -> None:
    error = error_of("topics taiwan")
    assert "'topics' takes nothing after it" in str(error)
    assert error.usage == USAGE["topics"]


def test_help_on_unknown_thing() -> None:
    assert "Did you mean 'subscribe'?" in str(error_of("help subscrbe"))
    assert "Unknown topic 'zzzz'" in str(error_of("help zzzz"))


def test_error_messages_are_one_bounded_line() -> None:
    error = error_of("subscribe " + "q" * 300)
    assert "\n" not in str(error)
    assert len(str(error)) < 160


def test_too_long_input() -> None:
    assert "too long" in str(error_of("search " + "a" * 5000))


# --------------------------------------------------------------------------- platform quirks


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<at>uschina</at> latest taiwan", Latest("taiwan", LATEST_DEFAULT)),
        ("<at>US China Bot</at>&nbsp;status", Status(None)),
        ("<at>uschina</at> <at>other</at> topics", Topics()),
        ("<at>uschina</at>", Help()),
        ("<p><at>uschina</at> subscribe taiwan</p>", Subscribe(("taiwan",))),
        ("latest\u00a0taiwan\u00a03", Latest("taiwan", 3)),
        ("latest\u200btaiwan", Latest("taiwan", LATEST_DEFAULT)),
        ("  SUBSCRIBE   Taiwan \n Military ", Subscribe(("taiwan", "military"))),
        ("/uschina latest", Latest(None, LATEST_DEFAULT)),
        ("@uschina topics", Topics()),
        ("search &lt;tariffs&gt;", Search("<tariffs>", None)),
        (
            "countdown add ‘COP29’ 2024-11-11",
            CountdownAdd("'COP29'", date(2024, 11, 11), date(2024, 11, 11)),
        ),
    ],
)
def test_platform_text_quirks(text: str, expected: Command) -> None:
    assert parse(text) == expected


def test_normalize_text_unwraps_slack_markup() -> None:
    assert normalize_text("see <https://x.example/a?b=1&amp;c=2|x.example> now") == (
        "see https://x.example/a?b=1&c=2 now"
    )
    assert normalize_text("hi <@U123|bob> and <!here> in <#C1|desk>") == "hi @bob and in #desk"
    assert normalize_text("“smart” ‘quotes’") == "\"smart\" 'quotes'"


class TaxonomyShaped:
    """The taxonomy's method names (resolve_topic, suggest_topic, topic_ids)."""

    def resolve_topic(self, name: str) -> str | None:
        return TOPICS.resolve(name)

    def suggest_topic(self, name: str) -> str | None:
        return TOPICS.suggest(name)

    @property
    def topic_ids(self) -> tuple[str, ...]:
        return TOPICS.ids()


def test_taxonomy_shaped_resolver_is_accepted() -> None:
    taxonomy = TaxonomyShaped()
    assert parse_command("subscribe south china sea", taxonomy) == Subscribe(("south_china_sea",))
    with pytest.raises(CommandError, match="Did you mean 'taiwan'"):
        parse_command("latest taiwn", taxonomy)
    assert as_topic_resolver(taxonomy).ids() == TOPICS.ids()
    assert as_topic_resolver(TOPICS) is TOPICS


# --------------------------------------------------------------------------- classification


def test_admin_and_state_flags() -> None:
    assert is_admin_command(SourcesAdd("https://x.example"))
    assert is_admin_command(SourcesRemove(1))
    assert not is_admin_command(SourcesList())
    assert not is_admin_command(Subscribe(("taiwan",)))
    changing: list[Command] = [
        Subscribe(("taiwan",)),
        Unsubscribe((), all=True),
        CountdownAdd("x", date(2024, 1, 1), date(2024, 1, 1)),
        CountdownRemove(1),
        DigestDaily(8, 0),
        DigestWeekly("mon", 8, 0),
        DigestOff(),
        SourcesAdd("https://x.example"),
        SourcesRemove(1),
    ]
    reading: list[Command] = [Help(), Topics(), Latest(), Status(), Subscriptions()]
    reading += [CountdownList(), DigestNow(), SourcesList(), Search("x")]
    assert all(changes_state(c) for c in changing)
    assert not any(changes_state(c) for c in reading)
    assert command_name(CountdownAdd("x", date(2024, 1, 1), date(2024, 1, 1))) == "countdown add"


def test_usage_and_help_cover_every_verb() -> None:
    assert set(USAGE) == set(VERBS)
    assert VERBS == (
        "help", "topics", "latest", "status", "subscribe", "unsubscribe", "subscriptions",
        "countdown", "digest", "sources", "search",
    )  # fmt: skip
    for verb in VERBS:
        assert any(line.startswith(verb) for line in HELP_LINES), verb
        assert USAGE[verb].startswith(verb)


# --------------------------------------------------------------------------- fuzzing

_ALPHABET = st.sampled_from(
    [
        *'abcdefghijklmnopqrstuvwxyz0123456789 :.-,#*"“”‘’<>|&;@/?\u00a0\u200b',
        *("<at>", "</at>", "&amp;", "&lt;", "..", "in:", "am", "pm"),
    ]
)
_VERB_WORDS = st.sampled_from([*VERBS, "add", "remove", "daily", "weekly", "me", "all", ""])


@settings(max_examples=400, deadline=None)
@given(st.text())
def test_fuzz_any_unicode_only_raises_command_error(text: str) -> None:
    try:
        parse(text)
    except CommandError as error:
        assert "\n" not in str(error)
        assert error.usage


@settings(max_examples=600, deadline=None)
@given(_VERB_WORDS, _VERB_WORDS, st.lists(_ALPHABET, max_size=30).map("".join))
def test_fuzz_grammar_shaped_input_only_raises_command_error(
    verb: str, sub: str, rest: str
) -> None:
    try:
        parse(f"{verb} {sub} {rest}")
    except CommandError as error:
        assert str(error)
        assert error.usage
