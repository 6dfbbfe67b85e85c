"""Mistakes a new user makes get one clear line and change nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import parse_config_text
from bot.domain.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    config = tmp_path / "uschina-bot.yaml"
    config.write_text(
        "sources: []\ncountdowns:\n  - {name: COP29, date: 2024-11-11, where: Baku}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("USCHINA_BOT_CONFIG", str(config))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'bot.db'}")
    return tmp_path


def test_impossible_date_in_config_names_its_line() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config_text("countdowns:\n  - {name: X, date: 2024-13-45}\n")
    assert err.value.line == 2 and "date" in str(err.value)


def test_bad_digest_cron_stops_start_up() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config_text(
            "channels:\n  - name: a\n    console: true\n    mode: digest\n"
            "    digest: {cron: '99 * * *'}\n"
        )
    assert err.value.key == "channels.0.digest.cron" and err.value.line == 5


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["sources", "add", "https://"], "no host name"),
        (["sources", "add", "ftp://x.example/feed"], "http"),
        (["sources", "add", "https://x.example/", "--type", "html", "--selector", "ul[[["], "CSS"),
        (["sources", "add", "https://x.example/", "--selector", "ul li a"], "html"),
        (["sources", "remove", "99"], "no source"),
        (["countdown", "add", "X", "2024-02-30"], "date"),
        (["status", "nonsense"], "topic"),
    ],
)
def test_one_line_errors(
    env: Path, argv: list[str], words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert words.lower() in err.lower() and "Traceback" not in err
    assert main(["sources", "list"]) == 0
    assert "No sources" in capsys.readouterr().out


def test_removing_a_config_countdown_sticks(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["countdown", "list", "--now", "2024-09-01"]) == 0
    assert "COP29" in capsys.readouterr().out
    assert main(["countdown", "remove", "1"]) == 0
    capsys.readouterr()
    assert main(["countdown", "list", "--now", "2024-09-01"]) == 0
    assert "COP29" not in capsys.readouterr().out


def test_source_credentials_are_masked_in_listings(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sources", "add", "https://user:pw@feeds.example/rss?token=SECRET"]) == 0
    assert main(["sources", "list"]) == 0
    out = capsys.readouterr().out
    assert "SECRET" not in out and "pw@" not in out and "feeds.example/rss" in out


def test_output_into_a_closed_pipe_is_not_an_error(env: Path) -> None:
    shell = f"{sys.executable} -m bot demo | head -n 3"
    result = subprocess.run(shell, shell=True, capture_output=True, text=True, cwd=ROOT)
    assert result.stdout.strip()  # the first line came through
    assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr
