"""Hostile or careless source input, through the CLI and the signed Slack endpoint: refused
with one clear line, nothing stored; credentials never shown; bounds on every number."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from slack_http_support import SlackEnv, slack_env

from bot.cli import main
from bot.config import parse_config_text
from bot.domain.errors import ConfigError
from bot.domain.models import SourceSpec
from bot.domain.polling import next_poll_at
from bot.domain.source_input import MAX_INTERVAL_S, shown_url
from storage.store import Store

SECRET_URL = "http://user:secret@93.184.216.34/feed.xml?api_key=XYZ"


# --------------------------------------------------------------------------- CLI


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    config = tmp_path / "uschina-bot.yaml"
    config.write_text("sources: []\n", encoding="utf-8")
    monkeypatch.setenv("USCHINA_BOT_CONFIG", str(config))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'bot.db'}")
    monkeypatch.delenv("USCHINA_BOT_ALLOW_PRIVATE_NETWORKS", raising=False)
    return tmp_path


def listing(capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    assert main(["sources", "list"]) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://169.254.169.254/latest/meta-data/", "private or local network"),
        ("http://127.0.0.1:8080/feed", "private or local network"),
        ("http://[::ffff:10.0.0.1]/feed", "private or local network"),
        ("https://example.org/\u202egnp.xml", "U+202E"),
        ("https://example.org/fe\x07ed", "control"),
        ("https://example.org/feed\x00.xml", "U+0000"),
        ("https://example.org/" + "a" * 10_000, "too long"),
        ("javascript:alert(1)", "javascript: URLs are not allowed"),
        ("file:///etc/passwd", "file: URLs are not allowed"),
        ("data:text/html,<b>x</b>", "data: URLs are not allowed"),
    ],
)
def test_cli_sources_add_refuses_hostile_urls(
    env: Path, url: str, words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sources", "add", url]) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert "No sources" in listing(capsys)


def test_cli_private_address_is_allowed_when_the_operator_says_so(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("USCHINA_BOT_ALLOW_PRIVATE_NETWORKS", "1")
    assert main(["sources", "add", "http://127.0.0.1:8080/feed"]) == 0
    assert "127.0.0.1:8080/feed" in listing(capsys)


def test_cli_idn_host_is_shown_in_punycode(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Cyrillic "а" and "р" in a look-alike of "paypal"
    assert main(["sources", "add", "https://\u0440\u0430ypal.example/feed"]) == 0
    out = listing(capsys)
    assert "xn--" in out and "\u0440" not in out


def test_cli_masks_credentials_and_metacharacters_stay_inert(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sources", "add", SECRET_URL]) == 0
    tricky = "https://93.184.216.34/f?q=1';DROP%20TABLE%20source;--&x=$(rm%20-rf%20~)`id`"
    assert main(["sources", "add", tricky]) == 0
    out = listing(capsys)
    assert "secret" not in out and "XYZ" not in out and "DROP" not in out
    assert "93.184.216.34/feed.xml?api_key=***" in out
    assert out.count("93.184.216.34/f") == 2  # the table survived, both are stored
    assert main(["sources", "add", SECRET_URL]) == 2  # already there: masked in the error
    assert "secret" not in capsys.readouterr().err


@pytest.mark.parametrize(
    ("interval", "words"),
    [("99999999999d", "between 1m and 7d"), ("1s", "between 1m and 7d"), ("8d", "7d")],
)
def test_cli_interval_out_of_bounds_is_refused(
    env: Path, interval: str, words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sources", "add", "https://93.184.216.34/f", f"--interval={interval}"]) == 2
    err = capsys.readouterr().err
    assert words in err and "--interval" in err and "Traceback" not in err
    assert "No sources" in listing(capsys)


@pytest.mark.parametrize(
    ("name", "words"), [("Evil\u202eFeed", "U+202E"), ("x" * 300, "too long"), ("  ", "empty")]
)
def test_cli_source_name_is_checked(
    env: Path, name: str, words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sources", "add", "https://93.184.216.34/f", "--name", name]) == 2
    err = capsys.readouterr().err
    assert "--name" in err and words in err
    assert "No sources" in listing(capsys)


def test_cli_huge_selector_is_a_clear_error(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    selector = " > ".join(["div"] * 5000)
    argv = ["sources", "add", "https://93.184.216.34/", "--type", "html", "--selector", selector]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "too long" in err and "Traceback" not in err and len(err) < 400


def test_opml_import_reports_what_it_skipped(
    env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    opml = tmp_path / "feeds.opml"
    opml.write_text(
        '<opml version="2.0"><body>'
        '<outline text="ok" xmlUrl="https://93.184.216.34/rss" interval="999999999999"/>'
        '<outline text="bad" xmlUrl="javascript:alert(1)"/>'
        "</body></opml>",
        encoding="utf-8",
    )
    assert main(["sources", "import", str(opml)]) == 0
    out = capsys.readouterr().out
    assert "imported 1 of 2" in out and "skipped 1: javascript: URLs are not allowed" in out
    assert main(["sources", "export"]) == 0
    assert f'interval="{MAX_INTERVAL_S}"' in capsys.readouterr().out


# --------------------------------------------------------------------------- config


@pytest.mark.parametrize(
    ("text", "key", "line", "words"),
    [
        ("poll: {deadline: 0}\n", "poll.deadline", 1, "between 1s and 10m"),
        ("poll:\n  deadline: -5\n", "poll.deadline", 2, "got -5"),
        ("poll:\n  max_bytes: 99999999999999\n", "poll.max_bytes", 2, "less than"),
        ("digest_grace: 99999d\n", "digest_grace", 1, "between"),
        ("retention_days: 0\n", "retention_days", 1, "greater than"),
        ("milestones: [7, -1]\n", "milestones", 1, "0 to 3650"),
        (
            "sources:\n  - {name: a, url: 'https://x.example/', interval: 99999999999d}\n",
            "sources.0.interval",
            2,
            "between 1m and 7d",
        ),
        (
            "sources:\n  - {name: a, url: 'https://x.example/', interval: .inf}\n",
            "sources.0.interval",
            2,
            "duration",
        ),
        (
            "sources:\n  - {name: \"a\\u202eb\", url: 'http://x.example/'}\n",
            "sources.0.name",
            2,
            "U+202E",
        ),
        (
            "sources:\n  - {name: a, url: 'http://x.example/\u202e'}\n",
            "sources.0.url",
            2,
            "U+202E",
        ),
        (
            "sources:\n  - name: a\n    url: https://x.example/\n    type: html\n"
            f"    selector: '{' '.join(['a'] * 3000)}'\n",
            "sources.0.selector",
            5,
            "too long",
        ),
        (
            "channels:\n  - {name: desk, console: true}\n  - {name: other, console: true}\n"
            "  - {name: desk, console: true}\n",
            "channels.2.name",
            4,
            "lines 2 and 4",
        ),
    ],
)
def test_config_numbers_urls_and_names_are_validated(
    text: str, key: str, line: int, words: str
) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config_text(text)
    assert err.value.key == key and err.value.line == line
    assert words in str(err.value)


def test_poll_schedule_saturates_for_any_stored_interval() -> None:
    now = datetime(2026, 12, 4, tzinfo=UTC)
    for interval in (99999999999 * 86400, 10**400, float("nan"), float("inf"), -5):
        for failures in (0, 1, 60):
            later = next_poll_at(now, interval, failures=failures, jitter=0.99)
            assert now < later <= now.replace(day=20)


def test_shown_url_masks_every_secret_part() -> None:
    assert shown_url(SECRET_URL) == "http://***@93.184.216.34/feed.xml?api_key=***"
    assert shown_url("https://h.example/f?tok#frag") == "https://h.example/f?***"


# --------------------------------------------------------------------------- Slack


@pytest.fixture
async def slack(sqlite_store: Store) -> AsyncIterator[SlackEnv]:
    async with slack_env(sqlite_store, admins=["UADMIN"]) as e:
        yield e


async def test_slack_sources_listing_masks_credentials(slack: SlackEnv) -> None:
    await slack.app.store.sources.add(
        SourceSpec(name="Members feed", url=SECRET_URL), origin="user", now=slack.app.now()
    )
    answer = await slack.answer("sources", user="U2")  # not an admin
    assert "Members feed" in answer and "api_key=***" in answer
    assert "secret" not in answer and "XYZ" not in answer


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("sources add http://169.254.169.254/latest/meta-data/", "private or local network"),
        ("sources add javascript:alert(1)", "javascript: URLs are not allowed"),
        ("sources add file:///etc/passwd", "file: URLs are not allowed"),
        ("sources add https://example.org/" + "a" * 3000, "too long"),
    ],
)
async def test_slack_sources_add_refuses_hostile_urls(
    slack: SlackEnv, text: str, words: str
) -> None:
    answer = json.loads(await slack.answer(text, user="UADMIN"))
    assert words in answer["text"] and "Traceback" not in answer["text"]
    assert await slack.app.store.sources.all() == []


async def test_slack_wrapped_url_is_unwrapped(slack: SlackEnv) -> None:
    answer = await slack.answer(
        "sources add <https://93.184.216.34/rss?a=1&amp;b=2|the feed>", user="UADMIN"
    )
    assert "Added source" in answer
    assert await slack.app.store.sources.by_url("https://93.184.216.34/rss?a=1&b=2") is not None


async def test_slack_sources_add_is_rate_limited_per_user_and_capped(slack: SlackEnv) -> None:
    for n in range(5):
        assert "Added source" in await slack.answer(
            f"sources add https://93.184.216.{n + 1}/rss", user="UADMIN"
        )
    # a replay of an accepted add is answered, not counted
    assert "Already watching" in await slack.answer(
        "sources add https://93.184.216.1/rss", user="UADMIN"
    )
    refused = json.loads(await slack.answer("sources add https://93.184.216.9/rss", user="UADMIN"))
    assert "You have added 5 sources" in refused["text"] and "try again in" in refused["text"]
    assert len(await slack.app.store.sources.all()) == 5
    slack.app.source_add_quota.max_total = 5
    slack.fake.admins.add("UWS")
    capped = json.loads(await slack.answer("sources add https://93.184.216.9/rss", user="UWS"))
    assert "at most 5" in capped["text"]
    assert len(await slack.app.store.sources.all()) == 5
