"""Helpers for the Slack and delivery tests: an ``App`` over a real store and the fake Slack."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from fakeslack import FakeSlack

from bot.app import App
from bot.chat.slack.notifier import SlackNotifier
from bot.config import FileConfig, Settings
from bot.domain.classify import Classifier
from bot.domain.codec import message_to_dict
from bot.domain.models import Item, Story
from bot.domain.render import render_alert
from bot.domain.views import AlertView
from bot.metrics import Metrics
from bot.taxonomy_file import default_taxonomy
from storage.store import Store

SIGNING_SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test-token"
T0 = datetime(2024, 9, 1, 12, 0, tzinfo=UTC)
_TRIGGERS = itertools.count(1)


class Clock:
    """A settable clock; ``real=True`` follows the wall clock (for signed HTTP requests)."""

    def __init__(self, start: datetime = T0, *, real: bool = False) -> None:
        self.at = start
        self.real = real

    def __call__(self) -> datetime:
        return datetime.now(UTC) if self.real else self.at

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


def make_settings(fake: FakeSlack | None, **file: Any) -> Settings:
    return Settings(
        database_url="sqlite://",
        slack_bot_token=BOT_TOKEN if fake else None,  # type: ignore[arg-type]
        slack_signing_secret=SIGNING_SECRET if fake else None,  # type: ignore[arg-type]
        slack_api_url=fake.api_url if fake else None,
        file=FileConfig(**file),
    )


def make_app(
    store: Store,
    fake: FakeSlack | None,
    clock: Clock,
    *,
    min_interval_s: float = 0.0,
    **file: Any,
) -> App:
    taxonomy = default_taxonomy()
    app = App(
        settings=make_settings(fake, **file),
        store=store,
        taxonomy=taxonomy,
        classifier=Classifier(taxonomy),
        clock=clock,
        metrics=Metrics(),
        instance_id="test-worker",
    )
    if fake is not None:
        app.notifiers["slack"] = SlackNotifier(
            BOT_TOKEN, base_url=fake.api_url, min_interval_s=min_interval_s
        )
    return app


def alert_payload(
    title: str,
    *,
    url: str = "https://news.example/a",
    outlet: str = "Outlet",
    followup: bool = False,
) -> dict[str, Any]:
    """A rendered alert (or follow-up) as stored in the outbox."""
    story = Story(
        key="story-1", title=title, url=url, first_seen=T0, last_seen=T0, topics=("taiwan",)
    )
    item = Item(
        key=f"item-{title[:10]}",
        source_id=1,
        url=url,
        title=title,
        summary="Summary of " + title,
        published=T0,
        first_seen=T0,
        source_name=outlet,
    )
    view = AlertView(story=story, item=item, topic_labels=("Taiwan",), outlet_count=1)
    if followup:
        view = AlertView(
            story=story, item=item, topic_labels=("Taiwan",), outlet_count=2, followup=True
        )
    return message_to_dict(render_alert(view))


def sign(body: str, *, ts: str | None = None, secret: str = SIGNING_SECRET) -> dict[str, str]:
    """Headers of a correctly signed Slack request."""
    ts = ts or str(int(time.time()))
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": "application/x-www-form-urlencoded",
    }


def command_body(
    text: str, *, fake: FakeSlack, user: str = "U1", channel: str = "C1", name: str = "r"
) -> str:
    return urlencode(
        {
            "token": "legacy",
            "team_id": "T0FAKE",
            "team_domain": "fake",
            "channel_id": channel,
            "channel_name": "china-desk",
            "user_id": user,
            "user_name": "alice",
            "command": "/uschina",
            "text": text,
            "api_app_id": "A1",
            "response_url": fake.response_url(name),
            "trigger_id": f"{next(_TRIGGERS)}.2.3",  # unique per request, as from Slack
        }
    )
