"""Taxonomy loading: the packaged file, lookups, and errors naming key and line."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.domain.errors import ConfigError
from bot.domain.taxonomy import TOPIC_IDS, load_taxonomy, phrase_key
from bot.taxonomy_file import default_taxonomy, load_taxonomy_file, parse_taxonomy_text

PACKAGED = Path(__file__).resolve().parents[1] / "bot" / "data" / "taxonomy.yaml"


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    return yaml.safe_load(PACKAGED.read_text(encoding="utf-8"))


def test_packaged_taxonomy_has_the_fourteen_topics() -> None:
    taxonomy = default_taxonomy()
    assert set(TOPIC_IDS) <= set(taxonomy.topic_ids)
    assert taxonomy.label("south_china_sea") == "South China Sea"
    assert any(a.name == "Xi Jinping" and a.side == "cn" for a in taxonomy.actors)
    assert any(e.name == "COP29" for e in taxonomy.events)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("scs", "south_china_sea"),
        ("South China Sea", "south_china_sea"),
        ("SOUTH_CHINA_SEA", "south_china_sea"),
        ("export controls", "sanctions"),
        ("opioids", "fentanyl"),
        ("mil", "military"),
        ("AI", "ai"),
        ("human rights", "human_rights"),
        ("nonsense", None),
        ("", None),
    ],
)
def test_resolve_topic(name: str, expected: str | None) -> None:
    assert default_taxonomy().resolve_topic(name) == expected


def test_suggest_topic_for_typos() -> None:
    taxonomy = default_taxonomy()
    assert taxonomy.suggest_topic("fentanil") == "fentanyl"
    assert taxonomy.suggest_topic("taiwn") == "taiwan"
    assert taxonomy.suggest_topic("zzzzzz") is None


def test_phrase_keys() -> None:
    us = phrase_key("US")
    assert us is not None and us.case_sensitive and us.key == " US "
    wild = phrase_key("sanction*")
    assert wild is not None and wild.prefix and wild.key == " sanction"
    dotted = phrase_key("U.S.-China")
    assert dotted is not None and not dotted.case_sensitive and dotted.key == " u s china "
    assert phrase_key("...") is None


def test_bad_weight_type_names_the_key(raw: dict[str, Any]) -> None:
    data = copy.deepcopy(raw)
    data["topics"]["taiwan"]["phrases"]["taiwan"] = "lots"
    with pytest.raises(ConfigError) as err:
        load_taxonomy(data)
    assert err.value.key == "topics.taiwan.phrases.taiwan"
    assert "number" in str(err.value)


def test_unknown_key_is_rejected(raw: dict[str, Any]) -> None:
    data = copy.deepcopy(raw)
    data["topics"]["ai"]["keywords"] = ["ai"]
    with pytest.raises(ConfigError) as err:
        load_taxonomy(data)
    assert err.value.key == "topics.ai.keywords"
    assert "unknown key" in str(err.value)


def test_missing_topic_and_bad_side(raw: dict[str, Any]) -> None:
    data = copy.deepcopy(raw)
    del data["topics"]["health"]
    with pytest.raises(ConfigError, match=r"topics\.health"):
        load_taxonomy(data)
    data = copy.deepcopy(raw)
    data["countries"]["moon"] = ["Luna"]
    with pytest.raises(ConfigError, match=r"countries\.moon"):
        load_taxonomy(data)


def test_file_errors_carry_the_line(tmp_path: Path) -> None:
    text = PACKAGED.read_text(encoding="utf-8").replace(
        "      tiktok: 1.0\n", "      tiktok: heavy\n", 1
    )
    path = tmp_path / "taxonomy.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_taxonomy_file(str(path))
    expected_line = text.splitlines().index("      tiktok: heavy") + 1
    assert err.value.key == "topics.tech.phrases.tiktok"
    assert err.value.line == expected_line
    assert f"line {expected_line}" in str(err.value)


def test_yaml_syntax_error_names_the_line() -> None:
    text = "version: 1\ntopics:\n  ai: {label: AI\n  taiwan: [\n"
    with pytest.raises(ConfigError) as err:
        parse_taxonomy_text(text)
    assert err.value.line is not None and err.value.line >= 3


def test_unreadable_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_taxonomy_file(str(tmp_path / "missing.yaml"))
    empty = tmp_path / "empty.yaml"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(ConfigError, match="empty"):
        load_taxonomy_file(str(empty))


def test_users_can_extend_without_code(raw: dict[str, Any]) -> None:
    data = copy.deepcopy(raw)
    data["topics"]["taiwan"]["aliases"].append("formosa")
    taxonomy = load_taxonomy(data)
    assert taxonomy.resolve_topic("Formosa") == "taiwan"
