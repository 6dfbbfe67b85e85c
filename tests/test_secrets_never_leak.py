"""Secrets never appear in logs, chat answers, HTTP responses or error texts.

A realistic flow runs with every secret set (Slack bot token and signing secret, the Teams
outgoing-webhook key, a Teams Workflows webhook URL with its ``sig=``), including refused,
forged and malformed requests and a database outage, and everything observable is searched.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable, Iterator
from urllib.parse import urlencode

import pytest
from faketeams import FakeTeams
from slack_http_support import slack_env
from slack_support import BOT_TOKEN, SIGNING_SECRET, command_body, sign
from sqlalchemy import make_url
from test_teams_endpoint import KEY, SECRET, USER, make_harness, settings_for

from bot.chat.teams.endpoint import sign as teams_sign
from bot.logging_setup import configure_logging
from storage.store import Store


@pytest.fixture
def service_logs(capsys: pytest.CaptureFixture[str]) -> Iterator[Callable[[], str]]:
    """Logging configured as ``uschina-bot run --log-level debug`` does; returns a reader of
    everything logged so far."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    noisy = {name: logging.getLogger(name).level for name in logging.root.manager.loggerDict}
    configure_logging("debug")
    yield lambda: capsys.readouterr().err
    root.handlers[:], level = saved
    root.setLevel(level)
    for name, old in noisy.items():
        logging.getLogger(name).setLevel(old)


def assert_clean(observed: str, secrets: list[str]) -> None:
    for secret in secrets:
        assert secret not in observed, "a secret leaked"


async def test_slack_flow_leaks_no_secret(
    sqlite_store: Store, service_logs: Callable[[], str]
) -> None:
    seen: list[str] = []
    async with slack_env(sqlite_store, admins=["UADMIN"]) as env:
        for line in (
            "help",
            "subscribe taiwan",
            "subscriptions",
            "sources add https://x.example/f",
            "frobnicate",
            "status",
            "digest now",
        ):
            seen.append(await env.answer(line))
        body = command_body("subscribe military", fake=env.fake)
        for headers in (
            sign(body, secret="wrong"),
            {**sign(body), "X-Slack-Request-Timestamp": "abc"},
        ):
            response = await env.post(body, headers)
            seen.append(response.text + json.dumps(dict(response.headers)))
        response = await env.post(urlencode({"payload": "{broken"}))
        seen.append(response.text)
        seen.extend(json.dumps(r) for r in env.fake.responses)
    logged = service_logs()
    assert "slack request refused" in logged  # the logs were captured
    assert_clean("\n".join(seen) + logged, [BOT_TOKEN, SIGNING_SECRET])


async def test_teams_flow_leaks_no_secret(sqlite_url: str, service_logs: Callable[[], str]) -> None:
    seen: list[str] = []
    with FakeTeams() as fake:
        harness = await make_harness(settings_for(sqlite_url, fake), fake)
        try:
            for line in (
                "help",
                "subscribe taiwan",
                "subscriptions",
                "sources",
                "status",
                "sources add https://x.example/f",
                "frobnicate",
            ):
                seen.append(await harness.say(line, user=USER))
            body = json.dumps(harness.activity("subscriptions")).encode()
            for auth in ("HMAC " + "A" * 43 + "=", "Basic " + SECRET, None):
                response = await harness.post(body, auth)
                seen.append(response.text)
            path = make_url(sqlite_url).database
            assert path
            holder = sqlite3.connect(path, isolation_level=None)
            holder.execute("BEGIN EXCLUSIVE")  # an outage's messages must be clean too
            seen.append(await harness.say("subscribe military", user=USER))
            holder.execute("ROLLBACK")
            holder.close()
            response = await harness.post(b"{not json", teams_sign(KEY, b"{not json"))
            seen.append(response.text)
            seen.append(json.dumps(harness.app.metrics.render()))
        finally:
            await harness.endpoint.wait_idle()
            await harness.client.aclose()
            await harness.app.close()
    logged = service_logs()
    assert "database" in logged  # the logs were captured (the lock was logged)
    assert_clean("\n".join(seen) + logged, [SECRET, FakeTeams.SECRET])
