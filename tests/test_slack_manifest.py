"""``uschina-bot manifest``: valid YAML whose scopes cover every Web API method the code calls."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from bot.chat.slack.manifest import METHOD_SCOPES
from bot.cli import main

ROOT = Path(__file__).resolve().parents[1]
_LITERAL = re.compile(
    r"""["']((?:auth|chat|conversations|files|users|views|apps)\.[A-Za-z]+)["']"""
)
_CLIENT_CALL = re.compile(
    r"\bclient\.(auth|chat|conversations|files|users|views)_([A-Za-z0-9_]+)\("
)
_EXPANDS = {"files.upload_v2": ("files.getUploadURLExternal", "files.completeUploadExternal")}


def methods_called() -> set[str]:
    """Web API methods named in the product's code (string literals and client.x_y() calls)."""
    found: set[str] = set()
    for path in [*ROOT.joinpath("bot").rglob("*.py"), *ROOT.joinpath("jobs").rglob("*.py")]:
        text = path.read_text(encoding="utf-8")
        found.update(_LITERAL.findall(text))
        for family, rest in _CLIENT_CALL.findall(text):
            name = f"{family}.{rest}"
            found.update(_EXPANDS.get(name, (name,)))
    return found


def manifest(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, object]:
    assert main(["manifest", *args]) == 0
    data = yaml.safe_load(capsys.readouterr().out)
    assert isinstance(data, dict)
    return data


def test_http_manifest_is_complete(capsys: pytest.CaptureFixture[str]) -> None:
    data = manifest(capsys, "--url", "https://bot.example.org")
    url = "https://bot.example.org/slack/events"
    features = data["features"]
    settings = data["settings"]
    assert isinstance(features, dict) and isinstance(settings, dict)
    [command] = features["slash_commands"]
    assert command["command"] == "/uschina" and command["url"] == url
    assert command["usage_hint"]
    assert features["app_home"]["home_tab_enabled"] is True
    assert features["bot_user"]["display_name"]
    assert settings["event_subscriptions"] == {
        "bot_events": ["app_home_opened"],
        "request_url": url,
    }
    assert settings["interactivity"] == {"is_enabled": True, "request_url": url}
    assert settings["socket_mode_enabled"] is False


def test_socket_mode_manifest_has_no_request_urls(capsys: pytest.CaptureFixture[str]) -> None:
    data = manifest(capsys, "--socket-mode")
    text = yaml.safe_dump(data)
    assert "request_url" not in text and "url:" not in text
    settings = data["settings"]
    assert isinstance(settings, dict) and settings["socket_mode_enabled"] is True


def test_scopes_cover_every_method_the_code_calls(capsys: pytest.CaptureFixture[str]) -> None:
    called = methods_called()
    assert {"chat.postMessage", "conversations.history", "views.publish"} <= called
    unknown = called - set(METHOD_SCOPES)
    assert not unknown, f"add these methods to METHOD_SCOPES: {sorted(unknown)}"
    data = manifest(capsys)
    scopes = set(data["oauth_config"]["scopes"]["bot"])  # type: ignore[index]
    for method in called:
        missing = set(METHOD_SCOPES[method]) - scopes
        assert not missing, f"{method} needs {missing}"
    assert "commands" in scopes
    needed = {s for m in called for s in METHOD_SCOPES[m]} | {"commands"}
    assert scopes == needed, f"requested but unused: {scopes - needed}"


def test_bad_url_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["manifest", "--url", "javascript:alert(1)"]) == 2
    assert "https://" in capsys.readouterr().err
