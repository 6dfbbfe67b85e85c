"""The Bolt ``AsyncApp`` of uschina-bot: signature verification on, listeners per surface.

``build_bolt_app(chat, settings)`` shares the notifier's ``AsyncWebClient`` (pointed at
``SLACK_API_URL`` when set, never re-sending posts by itself). Bolt calls ``auth.test`` on the
first request. The listeners get the ``ChatServices`` the composition root built, and read
only Slack's own credentials from ``settings``.
"""

from __future__ import annotations

import logging

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.chat.slack.listeners import actions, commands, home
from bot.chat.slack.notifier import SlackNotifier, make_client
from bot.config import Settings
from bot.domain.errors import ConfigError
from bot.domain.ports import ChatServices

# Bolt logs the whole body (with response_url, a credential) on a bad signature. Requests are
# verified before Bolt sees them, and this logger is kept quiet in case one slips through.
logging.getLogger("slack_bolt.RequestVerification").setLevel(logging.ERROR)
logging.getLogger("slack_bolt.AsyncRequestVerification").setLevel(logging.ERROR)


def slack_client(chat: ChatServices, settings: Settings) -> AsyncWebClient:
    """The notifier's client when there is one, else a new one with the same settings."""
    notifier = chat.notifiers.get("slack")
    if isinstance(notifier, SlackNotifier):
        return notifier.client
    token = settings.slack_bot_token
    if token is None:
        raise ConfigError("SLACK_BOT_TOKEN is not set")
    return make_client(token.get_secret_value(), settings.slack_api_url)


def build_bolt_app(
    chat: ChatServices, settings: Settings, *, client: AsyncWebClient | None = None
) -> AsyncApp:
    """The Bolt app with every listener registered; needs SLACK_BOT_TOKEN (and, for HTTP
    mode, SLACK_SIGNING_SECRET)."""
    secret = settings.slack_signing_secret
    socket_only = secret is None and settings.slack_app_token is not None
    if secret is None and not socket_only:
        raise ConfigError("SLACK_SIGNING_SECRET is required for Slack HTTP mode")
    bolt = AsyncApp(
        client=client or slack_client(chat, settings),
        signing_secret=secret.get_secret_value() if secret is not None else "socket-mode-only",
        request_verification_enabled=not socket_only,
        logger=logging.getLogger("bot.chat.slack.bolt"),
        name="uschina-bot",
    )
    publisher = home.HomePublisher(chat)
    commands.register(bolt, chat, publisher)
    actions.register(bolt, chat, publisher)
    home.register(bolt, chat, publisher)
    return bolt
