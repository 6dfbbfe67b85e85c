"""``POST /slack/events``: forged, stale, malformed and replayed requests are refused and
change nothing; Bolt never logs request bodies."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator

import pytest
from slack_http_support import SlackEnv, slack_env
from slack_support import command_body, sign

from storage.store import Store


@pytest.fixture
async def env(sqlite_store: Store) -> AsyncIterator[SlackEnv]:
    async with slack_env(sqlite_store) as e:
        yield e


async def nothing_changed(env: SlackEnv) -> None:
    assert await env.app.store.channels.all() == []
    assert env.fake.responses == []
    assert env.fake.calls_to("chat.postMessage") == []


def good_sig(body: str) -> str:
    return sign(body)["X-Slack-Signature"]


BAD_HEADER_CASES = {
    "timestamp abc": {"X-Slack-Request-Timestamp": "abc"},
    "5000-digit timestamp": {"X-Slack-Request-Timestamp": "9" * 5000},
    "negative timestamp": {"X-Slack-Request-Timestamp": "-1"},
    "fullwidth digits": {"X-Slack-Request-Timestamp": "１７００"},
    "empty timestamp": {"X-Slack-Request-Timestamp": ""},
    "non-ASCII signature": {"X-Slack-Signature": "v0=" + "é" * 64},
    "upper-case hex": {"X-Slack-Signature": "V0=" + "A" * 64},
    "short signature": {"X-Slack-Signature": "v0=abc"},
    "v1 scheme": {"X-Slack-Signature": "v1=" + "a" * 64},
}


@pytest.mark.parametrize("case", sorted(BAD_HEADER_CASES))
async def test_malformed_headers_get_401_never_500(env: SlackEnv, case: str) -> None:
    body = command_body("subscribe taiwan", fake=env.fake)
    headers = {k.encode(): v.encode() for k, v in sign(body).items()}
    for key, value in BAD_HEADER_CASES[case].items():
        headers[key.encode()] = value.encode("utf-8")
    response = await env.client.post("/slack/events", content=body.encode(), headers=headers)
    assert response.status_code == 401
    await nothing_changed(env)


async def test_missing_headers_get_401(env: SlackEnv) -> None:
    body = command_body("subscribe taiwan", fake=env.fake)
    response = await env.client.post(
        "/slack/events",
        content=body.encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 401
    await nothing_changed(env)


async def test_forged_signature_gets_401_and_body_is_not_logged(
    env: SlackEnv, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    body = command_body("subscribe taiwan", fake=env.fake, name="SECRET-RESPONSE-URL")
    response = await env.post(body, sign(body, secret="not-the-secret"))
    assert response.status_code == 401
    await nothing_changed(env)
    assert "SECRET-RESPONSE-URL" not in caplog.text
    rejected = [k for k in env.app.metrics.counters if k[0].endswith("rejected_total")]
    assert rejected


async def test_body_tampered_after_signing_gets_401(env: SlackEnv) -> None:
    body = command_body("help", fake=env.fake)
    headers = sign(body)
    tampered = command_body("subscribe taiwan", fake=env.fake)
    response = await env.post(tampered, headers)
    assert response.status_code == 401
    await nothing_changed(env)


@pytest.mark.parametrize("skew", [-400, 400])
async def test_stale_or_future_timestamp_gets_401(env: SlackEnv, skew: int) -> None:
    body = command_body("subscribe taiwan", fake=env.fake)
    response = await env.post(body, sign(body, ts=str(int(time.time()) + skew)))
    assert response.status_code == 401
    await nothing_changed(env)


async def test_replayed_request_does_not_act_twice(env: SlackEnv) -> None:
    body = command_body("digest now", fake=env.fake)
    headers = sign(body)
    first = await env.post(body, headers)
    assert first.status_code == 200
    await env.fake.wait_for(lambda: len(env.fake.responses) == 1)
    again = await env.post(body, headers)
    assert again.status_code == 200
    assert again.content == b""
    [channel] = await env.app.store.channels.all()
    digests = await env.app.store.deliveries.for_channel(channel.id)
    assert [d.kind for d in digests] == ["digest"]
    assert len(env.fake.responses) == 1
    key = (
        "uschina_bot_requests_rejected_total",
        (("platform", "slack"), ("reason", "replay")),
    )
    assert env.app.metrics.counters[key] == 1


async def test_valid_request_passes_the_gate(env: SlackEnv) -> None:
    response = await env.command("help")
    assert response.status_code == 200
    assert "uschina-bot commands" in response.text
    assert env.fake.calls_to("auth.test")  # Bolt authorised against the fake
