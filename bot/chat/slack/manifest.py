"""The Slack app manifest (YAML) for creating uschina-bot's app in one paste.

``METHOD_SCOPES`` lists every Web API method the code calls with the bot scopes it needs; the
manifest requests exactly their union (a test scans the code to keep the two in step).
"""

from __future__ import annotations

from typing import Any

import yaml

from bot.domain.commands import USAGE

# Web API method -> bot scopes it needs (several scopes: one per conversation type).
METHOD_SCOPES: dict[str, tuple[str, ...]] = {
    "auth.test": (),
    "chat.postMessage": ("chat:write",),
    "conversations.open": ("im:write",),
    "conversations.history": ("channels:history", "groups:history", "im:history"),
    "conversations.replies": ("channels:history", "groups:history", "im:history"),
    "views.publish": (),
    "users.info": ("users:read",),
    "files.getUploadURLExternal": ("files:write",),
    "files.completeUploadExternal": ("files:write",),
}
FEATURE_SCOPES: tuple[str, ...] = ("commands",)  # the /uschina slash command
BOT_EVENTS: tuple[str, ...] = ("app_home_opened",)
PLACEHOLDER_URL = "https://YOUR-HOST.example"
EVENTS_PATH = "/slack/events"
USAGE_HINT = "help | latest [TOPIC] [N] | status [TOPIC] | subscribe TOPIC... | digest now"


def bot_scopes() -> list[str]:
    """Every bot scope the code needs, sorted."""
    scopes = set(FEATURE_SCOPES)
    for needed in METHOD_SCOPES.values():
        scopes.update(needed)
    return sorted(scopes)


def build_manifest(*, socket_mode: bool = False, url: str | None = None) -> dict[str, Any]:
    """The manifest as a dict. HTTP mode points every request URL at ``url``/slack/events."""
    base = (url or PLACEHOLDER_URL).rstrip("/").removesuffix(EVENTS_PATH)
    request_url = base + EVENTS_PATH
    command: dict[str, Any] = {
        "command": "/uschina",
        "description": "US–China news: latest, status, subscriptions, digests, countdowns",
        "usage_hint": USAGE_HINT,
        "should_escape": False,
    }
    events: dict[str, Any] = {"bot_events": list(BOT_EVENTS)}
    interactivity: dict[str, Any] = {"is_enabled": True}
    if not socket_mode:
        command["url"] = request_url
        events["request_url"] = request_url
        interactivity["request_url"] = request_url
    return {
        "_metadata": {"major_version": 1, "minor_version": 1},
        "display_information": {
            "name": "uschina-bot",
            "description": "Follows US–China relations news: alerts, digests and countdowns.",
            "background_color": "#1f3a5f",
            "long_description": (
                "uschina-bot watches news sources for US–China engagement (leader calls, "
                "climate talks, military communications, AI dialogue, Taiwan, fentanyl, "
                "the South China Sea, sanctions, trade and more), classifies each story by "
                "issue and posts real-time alerts, scheduled digests, countdowns to dated "
                "events and a status board. Type /uschina help to start. Commands: "
                + ", ".join(USAGE)
                + "."
            ),
        },
        "features": {
            "app_home": {
                "home_tab_enabled": True,
                "messages_tab_enabled": True,
                "messages_tab_read_only_enabled": True,
            },
            "bot_user": {"display_name": "uschina", "always_online": True},
            "slash_commands": [command],
        },
        "oauth_config": {"scopes": {"bot": bot_scopes()}},
        "settings": {
            "event_subscriptions": events,
            "interactivity": interactivity,
            "org_deploy_enabled": False,
            "socket_mode_enabled": socket_mode,
            "token_rotation_enabled": False,
        },
    }


def manifest_yaml(*, socket_mode: bool = False, url: str | None = None) -> str:
    return yaml.safe_dump(
        build_manifest(socket_mode=socket_mode, url=url),
        sort_keys=False,
        allow_unicode=True,
        width=100,
    )
