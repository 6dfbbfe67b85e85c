"""`uschina-bot classify` and `uschina-bot evaluate` through bot.cli.main."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main

ROWS: list[dict[str, Any]] = [
    {
        "id": "a1",
        "title": "Biden and Xi hold phone call",
        "summary": "They discussed Taiwan.",
        "url": "https://example.test/1",
    },
    {"id": 7, "title": "Chinatown street fair draws crowds", "summary": "Dragons and food."},
    {
        "id": "a3",
        "title": "US slaps sanctions on Chinese firms over fentanyl",
        "summary": "Treasury named 12 companies.",
    },
]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def test_jsonl_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "in.jsonl"
    write_jsonl(source, ROWS)
    assert main(["classify", "--jsonl", str(source)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["id"] for line in lines] == ["a1", 7, "a3"]
    for line in lines:
        assert set(line) == {"id", "relevant", "topics", "scores", "why"}
    assert lines[0]["relevant"] and {"diplomacy", "taiwan"} <= set(lines[0]["topics"])
    assert lines[1]["relevant"] is False and lines[1]["topics"] == []
    assert {"sanctions", "fentanyl"} <= set(lines[2]["topics"])
    assert "Taiwan" in lines[0]["why"]["taiwan"]


def test_text_explanation_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["classify", "US destroyer transits Taiwan Strait\nChina protested."]) == 0
    out = capsys.readouterr().out
    assert "relevant: yes" in out and "taiwan (Taiwan)" in out
    assert main(["classify", "--json", "China's GDP grows 5%"]) == 0
    line = json.loads(capsys.readouterr().out)
    assert line["relevant"] is False and line["topics"] == []


def test_classify_without_input_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["classify"]) == 2
    assert "--jsonl" in capsys.readouterr().err


def test_bad_taxonomy_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "taxonomy.yaml"
    broken.write_text("topics: [\n", encoding="utf-8")
    assert main(["classify", "--taxonomy", str(broken), "Xi meets Biden"]) == 2
    assert "line" in capsys.readouterr().err


def test_evaluate_classify(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    labelled = tmp_path / "gold.jsonl"
    write_jsonl(
        labelled,
        [
            {**ROWS[0], "relevant": True, "topics": ["diplomacy", "taiwan"]},
            {**ROWS[1], "relevant": False, "topics": []},
        ],
    )
    assert main(["evaluate", "classify", str(labelled), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["relevance"]["f1"] == 1.0 and report["items"] == 2
    assert main(["evaluate", "classify", str(labelled)]) == 0
    assert "relevance  P 1.000" in capsys.readouterr().out


def test_evaluate_stories(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.domain.stories as stories

    monkeypatch.setattr(stories, "group_rows", lambda rows: ["k1", "k1", "k2"])
    labelled = tmp_path / "stories.jsonl"
    write_jsonl(
        labelled, [{**row, "story": s} for row, s in zip(ROWS, ["s1", "s1", "s2"], strict=True)]
    )
    assert main(["evaluate", "stories", str(labelled), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["pairwise"]["f1"] == 1.0 and report["bcubed"]["f1"] == 1.0
