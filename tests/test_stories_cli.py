"""``uschina-bot stories --jsonl``: one output line per input line, same order."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main

ROWS = [
    {
        "id": "x1",
        "title": "Austin and Dong Jun hold video call on military communication",
        "summary": "US Defense Secretary Lloyd Austin held a video call with Chinese Defense "
        "Minister Dong Jun on Tuesday, the Pentagon said.",
        "published": "2024-04-16T18:00:00Z",
        "url": "https://a.example.com/austin-dong-call",
        "source": "A",
    },
    {
        "id": "x2",
        "title": "Dong Jun tells Austin in video call that Taiwan is a red line",
        "summary": "Chinese Defense Minister Dong Jun told US Defense Secretary Lloyd Austin in "
        "a video call on Tuesday that Taiwan is a red line.",
        "published": "2024-04-16T21:00:00Z",
        "source": "B",
        "extra": "ignored",
    },
    {"id": 3, "title": "Hurricane makes landfall in Florida", "summary": "A storm came ashore."},
]


def _run(path: str, capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    assert main(["stories", "--jsonl", path]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_stories_cli_writes_one_line_per_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "items.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in ROWS) + "\n\n", encoding="utf-8")
    out = _run(str(path), capsys)
    assert [row["id"] for row in out] == ["x1", "x2", 3]
    assert set(out[0]) == {"id", "story"}
    assert out[0]["story"] == out[1]["story"] != out[2]["story"]


def test_stories_cli_reads_standard_input(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(ROWS[0]) + "\n"))
    out = _run("-", capsys)
    assert len(out) == 1 and str(out[0]["story"]).startswith("st-")


def test_stories_cli_reports_bad_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": 1}\nnot json\n', encoding="utf-8")
    assert main(["stories", "--jsonl", str(path)]) == 2
    assert "line 2" in capsys.readouterr().err
