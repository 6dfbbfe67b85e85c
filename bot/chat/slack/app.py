"""The Bolt ``AsyncApp`` of uschina-bot: signature verification on, listeners per surface.

``build_bolt_app(app)`` shares the notifier's ``AsyncWebClient`` (pointed at ``SLACK_API_URL``
when set, never re-sending posts by itself). Bolt calls ``auth.test`` on the first request.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.chat.slack.listeners import actions, commands, home
from bot.chat.slack.notifier import SlackNotifier, make_client
from bot.domain.errors import ConfigError

if TYPE_CHECKING:
    from bot.app import App

# Bolt logs the whole body (with response_url, a credential) on a bad signature. Requests are
# verified before Bolt sees them, and this logger is kept quiet in case one slips through.
logging.getLogger("slack_bolt.RequestVerification").setLevel(logging.ERROR)
logging.getLogger("slack_bolt.AsyncRequestVerification").setLevel(logging.ERROR)


def slack_client(app: App) -> AsyncWebClient:
    """The notifier's client when there is one, else a new one with the same settings."""
    notifier = app.notifiers.get("slack")
    if isinstance(notifier, SlackNotifier):
        return notifier.client
    token = app.settings.slack_bot_token
    if token is None:
        raise ConfigError("SLACK_BOT_TOKEN is not set")
    return make_client(token.get_secret_value(), app.settings.slack_api_url)


def build_bolt_app(app: App, *, client: AsyncWebClient | None = None) -> AsyncApp:
    """The Bolt app with every listener registered; needs SLACK_BOT_TOKEN (and, for HTTP
    mode, SLACK_SIGNING_SECRET)."""
    secret = app.settings.slack_signing_secret
    socket_only = secret is None and app.settings.slack_app_token is not None
    if secret is None and not socket_only:
        raise ConfigError("SLACK_SIGNING_SECRET is required for Slack HTTP mode")
    bolt = AsyncApp(
        client=client or slack_client(app),
        signing_secret=secret.get_secret_value() if secret is not None else "socket-mode-only",
        request_verification_enabled=not socket_only,
        logger=logging.getLogger("bot.chat.slack.bolt"),
        name="uschina-bot",
    )
    publisher = home.HomePublisher(app)
    commands.register(bolt, app, publisher)
    actions.register(bolt, app, publisher)
    home.register(bolt, app, publisher)
    return bolt
