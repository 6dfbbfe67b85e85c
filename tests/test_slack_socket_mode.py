"""Slack Socket Mode end to end: the real ``start_socket_mode`` path against a local link.

The fake Web API hands out ``ws://127.0.0.1:PORT/link`` from ``apps.connections.open``; the
link greets with ``hello`` and pushes envelopes as Slack does. Every envelope that Bolt handles
is acknowledged with its ``envelope_id``; slow answers arrive through ``response_url``.
"""

from __future__ import annotations

import asyncio
import io
import itertools
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import WSMsgType, web
from fakeslack import FakeSlack
from pydantic import SecretStr
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_http_support import seed_items

from bot.app import App, build_app
from bot.chat.slack.http import start_socket_mode
from bot.config import Settings
from bot.domain.errors import ConfigError

pytestmark = pytest.mark.timeout(20)

BOT_TOKEN = "xoxb-socket-test"
APP_TOKEN = "xapp-1-socket-test"
_ENVELOPES = itertools.count(1)


class SocketLink:
    """A Socket Mode endpoint on 127.0.0.1: says ``hello`` to each connection, records every
    text frame the client sends and pushes envelopes to the current connection."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.connections = 0
        self.closed_by_client = asyncio.Event()
        self._socket: web.WebSocketResponse | None = None
        self._connected = asyncio.Event()
        self._runner: web.AppRunner | None = None

    async def start(self) -> str:
        """Serve on a free port; returns the ``ws://`` URL of the link."""
        application = web.Application()
        application.router.add_get("/link", self._link)
        self._runner = web.AppRunner(application, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        return f"ws://127.0.0.1:{port}/link"

    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self.connections += 1
        self._socket = socket
        await socket.send_json(
            {
                "type": "hello",
                "num_connections": 1,
                "connection_info": {"app_id": "A1"},
                "debug_info": {"host": "fake-link", "approximate_connection_time": 3600},
            }
        )
        self._connected.set()
        async for frame in socket:
            if frame.type == WSMsgType.TEXT:
                self.received.append(json.loads(frame.data))
        self.closed_by_client.set()
        return socket

    async def connected(self, seconds: float = 5.0) -> None:
        await asyncio.wait_for(self._connected.wait(), seconds)

    async def push(self, frame: dict[str, Any] | str) -> None:
        assert self._socket is not None and not self._socket.closed
        text = frame if isinstance(frame, str) else json.dumps(frame)
        await self._socket.send_str(text)

    async def ack_of(self, envelope_id: str, seconds: float = 10.0) -> dict[str, Any]:
        """The client's acknowledgement of ``envelope_id`` (waits for it)."""
        deadline = time.monotonic() + seconds
        while True:
            for message in self.received:
                if message.get("envelope_id") == envelope_id:
                    return message
            if time.monotonic() > deadline:
                raise TimeoutError(f"no ack for {envelope_id}; got {self.received}")
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


def command_envelope(
    text: str, fake: FakeSlack, *, channel: str = "C123", user: str = "U1", name: str = "r"
) -> dict[str, Any]:
    """A ``slash_commands`` envelope as Slack pushes it over Socket Mode."""
    number = next(_ENVELOPES)
    return {
        "envelope_id": f"env-{number}",
        "type": "slash_commands",
        "accepts_response_payload": True,
        "payload": {
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
            "is_enterprise_install": "false",
            "response_url": fake.response_url(name),
            "trigger_id": f"{number}.2.3",
        },
    }


async def settle(baseline: set[asyncio.Task[Any]], seconds: float = 5.0) -> set[asyncio.Task[Any]]:
    """Wait for the tasks started since ``baseline`` to finish; returns those still running."""
    deadline = time.monotonic() + seconds
    while True:
        running = {t for t in asyncio.all_tasks() - baseline if t is not asyncio.current_task()}
        running = {t for t in running if not t.done()}
        if not running or time.monotonic() > deadline:
            return running
        await asyncio.sleep(0.02)


def socket_settings(fake: FakeSlack, tmp_path: Path) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'socket.db'}",
        slack_bot_token=SecretStr(BOT_TOKEN),
        slack_app_token=SecretStr(APP_TOKEN),
        slack_api_url=fake.api_url,
    )


@dataclass
class SocketEnv:
    app: App
    fake: FakeSlack
    link: SocketLink
    handler: AsyncSocketModeHandler

    async def command(self, text: str, **kw: Any) -> tuple[str, dict[str, Any]]:
        """Push ``/uschina text``; returns (envelope_id, the acknowledgement)."""
        envelope = command_envelope(text, self.fake, **kw)
        await self.link.push(envelope)
        return envelope["envelope_id"], await self.link.ack_of(envelope["envelope_id"])

    async def subscriptions(self, channel_ref: str) -> dict[str, str]:
        channel = await self.app.store.channels.by_name(f"slack:{channel_ref}")
        assert channel is not None, channel_ref
        subs = await self.app.store.channels.subscriptions([channel.id])
        return {s.topic: s.mode for s in subs}


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[SocketEnv]:
    """The product's Socket Mode path, up and connected; on teardown the handler is closed and
    every listener still running is let finish before the database goes away."""
    baseline = asyncio.all_tasks()
    with FakeSlack() as fake:
        link = SocketLink()
        fake.socket_url = await link.start()
        app = await build_app(socket_settings(fake, tmp_path), output=io.StringIO())
        try:
            handler = await asyncio.wait_for(start_socket_mode(app.chat, app.settings), 10)
            try:
                await link.connected()
                yield SocketEnv(app, fake, link, handler)
            finally:
                await handler.close_async()
                await link.stop()
                await settle(baseline)
        finally:
            await app.close()
            await link.stop()


async def test_connects_with_the_app_token(env: SocketEnv) -> None:
    assert ("apps.connections.open", APP_TOKEN) in env.fake.tokens
    assert env.link.connections == 1


async def test_subscribe_is_acknowledged_with_the_answer_and_stored(env: SocketEnv) -> None:
    envelope_id, ack = await env.command("subscribe taiwan")
    assert ack["envelope_id"] == envelope_id
    payload = ack["payload"]
    assert payload["response_type"] == "ephemeral"
    assert "Subscribed this channel to Taiwan" in json.dumps(payload, ensure_ascii=False)
    assert await env.subscriptions("C123") == {"taiwan": "realtime"}
    channel = await env.app.store.channels.by_name("slack:C123")
    assert channel is not None and channel.platform == "slack" and channel.target == "C123"
    await env.fake.wait_for(lambda: len(env.fake.home_views) == 1)  # home republished


async def test_latest_answers_through_the_response_url(env: SocketEnv) -> None:
    await seed_items(env.app, [("US approves Taiwan arms package", "taiwan")])
    envelope_id, ack = await env.command("latest", name="latest")
    assert ack["envelope_id"] == envelope_id
    assert ack["payload"]["text"] == "Working…"
    await env.fake.wait_for(lambda: len(env.fake.responses) == 1)
    name, answer = env.fake.responses[0]
    assert name == "latest"
    assert answer["replace_original"] is True
    assert "US approves Taiwan arms package" in json.dumps(answer, ensure_ascii=False)


MALFORMED: list[dict[str, Any] | str] = [
    "{not json",
    "plain text",
    {"type": "slash_commands", "payload": {"command": "/uschina"}},  # no envelope_id
    {"envelope_id": "bad-list", "type": "slash_commands", "payload": [1, 2]},
    {"envelope_id": "bad-empty", "type": "slash_commands", "payload": {}},
    {"envelope_id": "bad-kind", "type": "no_such_type", "payload": {"x": 1}},
]


async def test_malformed_envelopes_do_not_stop_the_handler(env: SocketEnv) -> None:
    for frame in MALFORMED:
        await env.link.push(frame)
    envelope_id, ack = await env.command("subscribe taiwan")
    assert ack["envelope_id"] == envelope_id
    assert "Subscribed this channel to Taiwan" in json.dumps(ack, ensure_ascii=False)
    assert await env.subscriptions("C123") == {"taiwan": "realtime"}
    assert not env.handler.client.message_processor.done()
    assert env.link.connections == 1  # no reconnect was needed
    assert [c.name for c in await env.app.store.channels.all()] == ["slack:C123"]


async def test_close_disconnects_and_leaves_no_task_running(tmp_path: Path) -> None:
    baseline = asyncio.all_tasks()
    with FakeSlack() as fake:
        link = SocketLink()
        fake.socket_url = await link.start()
        app = await build_app(socket_settings(fake, tmp_path), output=io.StringIO())
        handler = await asyncio.wait_for(start_socket_mode(app.chat, app.settings), 10)
        await link.connected()
        envelope = command_envelope("subscribe taiwan", fake)
        await link.push(envelope)
        await link.ack_of(envelope["envelope_id"])
        await fake.wait_for(lambda: len(fake.home_views) == 1)
        await handler.close_async()
        await asyncio.wait_for(link.closed_by_client.wait(), 5)
        assert handler.client.aiohttp_client_session.closed
        await link.stop()
        assert not await settle(baseline, 2.0)
        await app.close()


async def test_a_refused_app_token_fails_fast_and_cleanly(tmp_path: Path) -> None:
    baseline = asyncio.all_tasks()
    with FakeSlack() as fake:  # no socket_url: apps.connections.open answers invalid_auth
        app = await build_app(socket_settings(fake, tmp_path), output=io.StringIO())
        try:
            with pytest.raises(ConfigError, match="invalid_auth"):
                await asyncio.wait_for(start_socket_mode(app.chat, app.settings), 5)
            assert [m for m, _ in fake.tokens] == ["apps.connections.open"]  # asked once
            assert not await settle(baseline, 2.0)
        finally:
            await app.close()
