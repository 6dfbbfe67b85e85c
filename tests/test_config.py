"""Settings: environment and YAML validated once, readable errors, secrets masked."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import load_settings, parse_config_text
from bot.domain.errors import ConfigError
from bot.logging_setup import RedactingFilter, redact


def test_defaults_need_nothing() -> None:
    settings = load_settings({})
    assert settings.database_url == "sqlite:///./uschina-bot.db"
    assert not settings.slack_enabled and settings.port == 3000
    assert len(settings.source_specs()) >= 15  # the shipped curated sources
    assert any(s.official for s in settings.source_specs())


@pytest.mark.parametrize(
    ("text", "key", "line", "words"),
    [
        (
            "channels:\n  - name: x\n    slack_channel: C1\n    mode: often\n",
            "channels.0.mode",
            4,
            "realtime",
        ),
        ("sources:\n  - {name: a, url: ftp://x}\n", "sources.0.url", 2, "http"),
        ("timezone: Mars/Base\n", "timezone", 1, "IANA"),
        (
            "channels:\n  - name: x\n    bogus: 1\n    slack_channel: C\n",
            "channels.0.bogus",
            3,
            "unknown key",
        ),
        (
            "countdowns:\n  - {name: COP, after: 2024-10-01, before: 2024-09-01}\n",
            "countdowns.0",
            2,
            "after",
        ),
        (
            "sources:\n  - {name: a, url: 'https://x.example', interval: soon}\n",
            "sources.0.interval",
            2,
            "duration",
        ),
    ],
)
def test_bad_file_names_key_and_line(text: str, key: str, line: int, words: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config_text(text)
    assert err.value.key == key
    assert err.value.line == line
    assert words.lower() in str(err.value).lower()


def test_yaml_syntax_error_has_a_line() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config_text("sources:\n  - [unclosed\n")
    assert err.value.line is not None and "YAML" in str(err.value)


def test_cli_reports_config_errors_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("channels:\n  - name: x\n    mode: often\n    slack_channel: C\n")
    monkeypatch.setenv("USCHINA_BOT_CONFIG", str(path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'db.sqlite'}")
    assert main(["sources", "list"]) == 2
    err = capsys.readouterr().err
    assert "channels.0.mode" in err and "line 3" in err and "Traceback" not in err


def test_secrets_never_in_repr() -> None:
    settings = load_settings(
        {
            "SLACK_BOT_TOKEN": "xoxb-123-secret",
            "SLACK_SIGNING_SECRET": "shh-signing",
            "TEAMS_OUTGOING_SECRET": "c2VjcmV0",
            "DATABASE_URL": "postgresql://bot:pa55word@db/uschina",
        }
    )
    text = repr(settings) + str(settings)
    for secret in ("xoxb-123-secret", "shh-signing", "c2VjcmV0", "pa55word"):
        assert secret not in text


def test_teams_webhook_url_is_masked_in_config_repr() -> None:
    config = parse_config_text(
        "channels:\n  - name: t\n    teams_webhook_url: https://x.example/wf?sig=TOPSECRET\n"
    )
    assert "TOPSECRET" not in repr(config)


def test_bad_port_is_refused() -> None:
    with pytest.raises(ConfigError, match="USCHINA_BOT_PORT"):
        load_settings({"USCHINA_BOT_PORT": "http"})


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET"),
        ({"SLACK_SIGNING_SECRET": "abc"}, "SLACK_BOT_TOKEN"),
        ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "abc"}, None),
        ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"}, None),
    ],
)
def test_incoherent_slack_environment_is_named(env: dict[str, str], problem: str | None) -> None:
    found = load_settings(env).slack_problem()
    assert (found is None) if problem is None else (found is not None and problem in found)


def test_log_redaction() -> None:
    line = (
        "posting with xoxb-1234-abcd to https://x.example/wf?api-version=1&sig=ABCDEF "
        "Authorization: HMAC Zm9vYmFy response_url=https://hooks.slack.com/actions/T1/2/3 "
        "postgresql://bot:pa55word@db/x"
    )
    cleaned = redact(line)
    for secret in ("xoxb-1234-abcd", "ABCDEF", "Zm9vYmFy", "actions/T1/2/3", "pa55word"):
        assert secret not in cleaned
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "token %s", ("xoxb-9-z",), None)
    RedactingFilter().filter(record)
    assert "xoxb-9-z" not in record.getMessage()
