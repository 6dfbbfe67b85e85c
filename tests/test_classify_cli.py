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
    out = capsys.readouterr().out
    assert "gold" in out.splitlines()[0]
    assert any(line.split() == ["relevance", "P", "1.000"] for line in out.splitlines())


def test_evaluate_classify_prints_files_side_by_side(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dev, held = tmp_path / "dev.jsonl", tmp_path / "held.jsonl"
    write_jsonl(dev, [{**ROWS[0], "relevant": True, "topics": ["diplomacy", "taiwan"]}])
    write_jsonl(
        held,
        [
            {**ROWS[0], "relevant": True, "topics": ["taiwan"]},
            {**ROWS[2], "relevant": False, "topics": []},
        ],
    )
    assert main(["evaluate", "classify", str(dev), str(held), "--names", "dev,held-out"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["measure", "dev", "held-out"]
    rows = {line.rsplit(None, 2)[0].strip(): line.split()[-2:] for line in lines[2:]}
    assert rows["items"] == ["1", "2"]
    assert rows["relevance P"] == ["1.000", "0.500"]
    assert "topic micro-F1" in rows and "topic macro-F1" in rows
    assert any(line.strip().startswith("diplomacy F1") for line in lines)
    assert main(["evaluate", "classify", str(dev), str(held), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report) == {"dev", "held"} and report["held"]["items"] == 2
    assert main(["evaluate", "classify", str(dev), str(held), "--names", "only-one"]) == 2
    assert "--names" in capsys.readouterr().err


def test_classify_and_topics_use_the_config_taxonomy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import yaml

    from bot.taxonomy_file import PACKAGED

    packaged = Path(__file__).resolve().parents[1] / "bot" / "data" / PACKAGED
    data = yaml.safe_load(packaged.read_text(encoding="utf-8"))
    data["topics"]["health"]["aliases"].append("epidemiology")
    data["topics"]["health"]["phrases"]["sanitary inspection"] = 1.0
    custom = tmp_path / "taxonomy.yaml"
    custom.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    config = tmp_path / "uschina-bot.yaml"
    config.write_text(f"sources: []\ntaxonomy: {custom}\n", encoding="utf-8")
    monkeypatch.setenv("USCHINA_BOT_CONFIG", str(config))
    item = "US and China agree on sanitary inspection rules"

    assert main(["topics"]) == 0
    assert "epidemiology" in capsys.readouterr().out
    assert main(["classify", "--json", item]) == 0
    assert "health" in json.loads(capsys.readouterr().out)["topics"]
    packaged_only = tmp_path / "packaged.yaml"
    packaged_only.write_text(packaged.read_text(encoding="utf-8"), encoding="utf-8")
    assert main(["classify", "--json", "--taxonomy", str(packaged_only), item]) == 0
    assert "health" not in json.loads(capsys.readouterr().out)["topics"]
    monkeypatch.delenv("USCHINA_BOT_CONFIG")
    monkeypatch.chdir(tmp_path / "..")
    assert main(["topics"]) == 0
    assert "epidemiology" not in capsys.readouterr().out


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
    assert main(["evaluate", "stories", str(labelled), str(labelled), "--names", "dev,held"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["measure", "dev", "held"]
    for measure in ("pairwise P", "pairwise R", "pairwise F1", "B-cubed P", "B-cubed R"):
        assert any(line.startswith(measure) for line in lines), measure
    assert any(line.split() == ["B-cubed", "F1", "1.000", "1.000"] for line in lines)
