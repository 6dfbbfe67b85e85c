"""``POST /slack/events``: forged, stale, malformed and replayed requests are refused and
change nothing; Bolt never logs request bodies."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator
from urllib.parse import urlencode

import pytest
from slack_http_support import SlackEnv, slack_env
from slack_support import SIGNING_SECRET, command_body, sign

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


# --------------------------------------------------------------------------- workspace


def payload_body(payload: object) -> str:
    return urlencode({"payload": payload if isinstance(payload, str) else json.dumps(payload)})


def button_payload(env: SlackEnv, team: str = "T0FAKE") -> dict[str, object]:
    return {
        "type": "block_actions",
        "team": {"id": team},
        "user": {"id": "U1", "username": "alice", "team_id": team},
        "channel": {"id": "C1", "name": "china-desk"},
        "response_url": env.fake.response_url("act"),
        "trigger_id": "9.9.9",
        "actions": [{"action_id": "subscribe_topic", "type": "button", "value": "taiwan"}],
    }


async def test_signed_command_from_another_workspace_is_refused(env: SlackEnv) -> None:
    body = command_body("subscribe taiwan", fake=env.fake).replace("T0FAKE", "T0OTHER")
    response = await env.post(body)
    assert response.status_code == 403
    await nothing_changed(env)


async def test_signed_button_from_another_workspace_is_refused(env: SlackEnv) -> None:
    response = await env.post(payload_body(button_payload(env, team="T0OTHER")))
    assert response.status_code == 403
    await nothing_changed(env)


async def test_signed_event_from_another_workspace_is_refused(env: SlackEnv) -> None:
    body = json.dumps(
        {
            "team_id": "T0OTHER",
            "api_app_id": "A1",
            "type": "event_callback",
            "event_id": "Ev-other",
            "event": {"type": "app_home_opened", "user": "U1", "tab": "home"},
        }
    )
    headers = {**sign(body), "Content-Type": "application/json"}
    response = await env.post(body, headers)
    assert response.status_code == 403
    assert env.fake.calls_to("views.publish") == []
    await nothing_changed(env)


async def test_own_workspace_button_still_works(env: SlackEnv) -> None:
    response = await env.post(payload_body(button_payload(env)))
    assert response.status_code == 200
    await env.fake.wait_for(lambda: len(env.fake.responses) == 1)
    assert await env.app.store.channels.by_name("slack:C1") is not None


# --------------------------------------------------------------------------- malformed bodies

MALFORMED_PAYLOADS = {
    "not JSON": "{not json",
    "JSON list": "[1, 2]",
    "JSON string": '"block_actions"',
    "no type": json.dumps({"team": {"id": "T0FAKE"}}),
    "no team": json.dumps({"type": "block_actions", "user": {"id": "U1"}, "actions": []}),
    "actions not a list": json.dumps(
        {"type": "block_actions", "team": {"id": "T0FAKE"}, "user": {"id": "U1"}, "actions": "x"}
    ),
    "action without id": json.dumps(
        {
            "type": "block_actions",
            "team": {"id": "T0FAKE"},
            "user": {"id": "U1"},
            "actions": [{"value": 1}],
        }
    ),
    "user is a string": json.dumps(
        {"type": "block_actions", "team": {"id": "T0FAKE"}, "user": "U1", "actions": []}
    ),
    "channel is a list": json.dumps(
        {
            "type": "block_actions",
            "team": {"id": "T0FAKE"},
            "user": {"id": "U1"},
            "channel": [],
            "actions": [{"action_id": "mute_topic", "value": "taiwan"}],
        }
    ),
}


@pytest.mark.parametrize("case", sorted(MALFORMED_PAYLOADS))
async def test_signed_malformed_payload_gets_400_one_warning_no_traceback(
    env: SlackEnv, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    response = await env.post(payload_body(MALFORMED_PAYLOADS[case]))
    assert response.status_code == 400
    await nothing_changed(env)
    assert not [r for r in caplog.records if r.exc_info]
    assert len([r for r in caplog.records if r.levelno >= logging.WARNING]) == 1


MALFORMED_BODIES = {
    "event not JSON": ("{oops", "application/json"),
    "event without team": (json.dumps({"type": "event_callback"}), "application/json"),
    "event without event": (
        json.dumps({"type": "event_callback", "team_id": "T0FAKE"}),
        "application/json",
    ),
    "form of nothing": ("a=b", "application/x-www-form-urlencoded"),
    "command without team": (
        "command=%2Fuschina&text=help&user_id=U1",
        "application/x-www-form-urlencoded",
    ),
    "repeated field": (
        "command=%2Fuschina&text=help&user_id=U1&team_id=T0FAKE&team_id=T0OTHER",
        "application/x-www-form-urlencoded",
    ),
    "not UTF-8": ("command=%2Fuschina&text=\udcff", "application/x-www-form-urlencoded"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED_BODIES))
async def test_signed_malformed_body_gets_400(env: SlackEnv, case: str) -> None:
    text, content_type = MALFORMED_BODIES[case]
    raw = text.encode("utf-8", "surrogateescape")
    headers = {**sign_bytes(raw), "Content-Type": content_type}
    response = await env.client.post("/slack/events", content=raw, headers=headers)
    assert response.status_code == 400
    await nothing_changed(env)


def sign_bytes(raw: bytes, secret: str = SIGNING_SECRET) -> dict[str, str]:
    ts = str(int(time.time()))
    digest = hmac.new(secret.encode(), f"v0:{ts}:".encode() + raw, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


# --------------------------------------------------------------------------- size and headers


async def test_oversized_body_gets_413_before_signature_work(env: SlackEnv) -> None:
    body = command_body("search " + "x" * 70_000, fake=env.fake)
    response = await env.post(body)
    assert response.status_code == 413
    await nothing_changed(env)


async def test_oversized_chunked_body_without_length_gets_413(env: SlackEnv) -> None:
    body = command_body("search " + "x" * 70_000, fake=env.fake).encode()
    headers = sign_bytes(body)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 4096):
            yield body[start : start + 4096]

    response = await env.client.post("/slack/events", content=chunks(), headers=headers)
    assert response.status_code == 413
    await nothing_changed(env)


@pytest.mark.parametrize("header", ["X-Slack-Request-Timestamp", "X-Slack-Signature"])
async def test_duplicate_auth_headers_get_401(env: SlackEnv, header: str) -> None:
    body = command_body("subscribe taiwan", fake=env.fake)
    headers = list(sign(body).items())
    headers.append((header, dict(headers)[header]))
    response = await env.client.post("/slack/events", content=body.encode(), headers=headers)
    assert response.status_code == 401
    await nothing_changed(env)


async def test_replayed_help_is_answered_once(env: SlackEnv) -> None:
    body = command_body("help", fake=env.fake)
    headers = sign(body)
    first = await env.post(body, headers)
    assert "uschina-bot commands" in first.text
    again = await env.post(body, headers)
    assert again.status_code == 200 and again.content == b""
