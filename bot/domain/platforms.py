"""The one registry of chat platforms: what shared code needs to know about each of them.

``Channel.platform`` and ``CommandContext.platform`` are names registered here (the CLI speaks
as ``console``). Shared code (the command executor, digests) asks a ``ChatPlatform`` instead of
comparing names. Adding a platform = its adapter package (notifier, endpoint) plus one
``register(ChatPlatform(...))`` line; the composition root maps the name to its notifier.

Invariant: names are unique lower-case words; ``console`` is always registered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.domain.errors import ConfigError

ChannelKey = Literal["target", "external_id", "name"]


@dataclass(frozen=True)
class ChatPlatform:
    """One chat platform as the shared command executor and the digests see it.

    ``finds_channel_by``: which stored field a command's ``channel_ref`` matches.
    ``channel_prefix``: commands in an unknown channel create ``{prefix}{ref}`` (None: refuse
    with ``unknown_channel``). ``dm_prefix``: DM channels are named ``{prefix}{user id}`` and
    keyed by the user id (None: no DMs); ``dm_refs``: refs that are a DM with the asker.
    ``join_hint``: said after a first subscription in a (non-DM) channel.
    ``inline_charts``: a weekly digest may carry its chart as an image.
    """

    name: str
    label: str
    finds_channel_by: ChannelKey
    unknown_channel: str = "No channel named '{ref}' (see the config file)."
    channel_prefix: str | None = None
    dm_prefix: str | None = None
    dm_refs: tuple[str, ...] = ()
    join_hint: str | None = None
    inline_charts: bool = False

    @property
    def has_dms(self) -> bool:
        return self.dm_prefix is not None

    def is_dm_ref(self, ref: str) -> bool:
        return self.has_dms and ref.startswith(self.dm_refs)


_REGISTRY: dict[str, ChatPlatform] = {}


def register(platform: ChatPlatform) -> ChatPlatform:
    """Add ``platform`` (a name registered twice must be the same object)."""
    if not platform.name or platform.name != platform.name.lower():
        raise ValueError(f"platform names are lower-case words: {platform.name!r}")
    known = _REGISTRY.get(platform.name)
    if known is not None and known is not platform:
        raise ValueError(f"platform {platform.name!r} is already registered")
    _REGISTRY[platform.name] = platform
    return platform


def get(name: str) -> ChatPlatform:
    """The registered platform ``name``; ``ConfigError`` otherwise."""
    platform = _REGISTRY.get(name)
    if platform is None:
        raise ConfigError(f"unknown chat platform {name!r} (known: {', '.join(_REGISTRY)})")
    return platform


def names() -> tuple[str, ...]:
    return tuple(_REGISTRY)


def with_dms() -> tuple[ChatPlatform, ...]:
    """The platforms that have direct messages."""
    return tuple(p for p in _REGISTRY.values() if p.has_dms)


CONSOLE = register(ChatPlatform("console", "the console", finds_channel_by="name"))
SLACK = register(
    ChatPlatform(
        "slack",
        "Slack",
        finds_channel_by="target",
        channel_prefix="slack:",
        dm_prefix="slack-dm:",
        dm_refs=("D",),
        join_hint="If the bot is not in this channel yet, invite it with /invite @uschina.",
    )
)
TEAMS = register(
    ChatPlatform(
        "teams",
        "Teams",
        finds_channel_by="external_id",
        unknown_channel=(
            "This Teams channel is not configured yet. Add it to the config file under "
            "channels: with its teams_webhook_url and teams_channel_id: {ref}, "
            "then restart the bot."
        ),
        inline_charts=True,
    )
)
