"""A newcomer's first mistakes (odd DATABASE_URLs, a full disk, a file that is not UTF-8) get
one clear line and a non-zero exit, or simply work; never a traceback."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from bot.cli import main

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*argv: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """The installed CLI in a fresh process, as a newcomer runs it."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *argv],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), **env},
        timeout=120,
    )


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///", "sqlite:///:memory:"])
def test_in_memory_database_is_migrated_and_works(url: str, tmp_path: Path) -> None:
    for argv in (["countdown", "list"], ["status"], ["sources", "list"]):
        result = run_cli(*argv, env={"DATABASE_URL": url}, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr and "no such table" not in result.stderr


def test_missing_database_directory_is_one_line(tmp_path: Path) -> None:
    for argv in (["countdown", "list"], ["status"], ["poll", "--once"]):
        result = run_cli(
            *argv, env={"DATABASE_URL": "sqlite:////nonexistent/dir/x.db"}, cwd=tmp_path
        )
        assert result.returncode == 2
        assert result.stderr.strip().splitlines() == [
            "uschina-bot: error: DATABASE_URL: the directory /nonexistent/dir does not exist; "
            "create it or point DATABASE_URL at an existing one"
        ]


@pytest.mark.parametrize(
    "argv",
    [
        ["classify", "--jsonl", "{path}"],
        ["stories", "--jsonl", "{path}"],
        ["evaluate", "classify", "{path}"],
        ["evaluate", "stories", "{path}"],
    ],
)
def test_jsonl_that_is_not_utf8_names_its_line(argv: list[str], tmp_path: Path) -> None:
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(b'{"id": 1, "title": "ok"}\n{"id": 2, "title": "caf\xe9"}\n')
    result = run_cli(*(a.format(path=path) for a in argv), env={}, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "uschina-bot: error: line 2 is not UTF-8 text (byte 0xe9 at column 24); "
        "save the file as UTF-8"
    )


def test_jsonl_from_stdin_that_is_not_utf8(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "classify", "--jsonl", "-"],
        input=b'\xff{"id": 1}\n',
        capture_output=True,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
        timeout=120,
    )
    assert result.returncode == 2 and b"line 1 is not UTF-8" in result.stderr


@contextmanager
def full_disk_cap() -> Iterator[None]:
    """Every new SQLite connection may not grow its file: writes fail with 'disk is full'."""

    def cap(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA page_count")
        pages = cursor.fetchone()[0]
        cursor.execute(f"PRAGMA max_page_count = {max(int(pages), 1)}")
        cursor.close()

    event.listen(Engine, "connect", cap)
    try:
        yield
    finally:
        event.remove(Engine, "connect", cap)


def test_full_disk_is_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'bot.db'}")
    config = tmp_path / "uschina-bot.yaml"
    config.write_text("sources: []\n", encoding="utf-8")
    monkeypatch.setenv("USCHINA_BOT_CONFIG", str(config))
    assert main(["sources", "list"]) == 0  # creates and migrates the database
    opml = tmp_path / "many.opml"
    outlines = "".join(
        f'<outline text="{"x" * 200}" xmlUrl="https://93.184.{n // 250}.{n % 250 + 1}/rss"/>'
        for n in range(400)
    )
    opml.write_text(f'<opml version="2.0"><body>{outlines}</body></opml>', encoding="utf-8")
    capsys.readouterr()
    with full_disk_cap():
        code = main(["sources", "import", str(opml)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("uschina-bot: error: the database is full") and "free disk space" in err
    assert len(err.strip().splitlines()) == 1
