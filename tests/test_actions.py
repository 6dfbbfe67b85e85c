"""The shared command executor: Teams and CLI contexts, permissions, idempotency, and that no
input whatsoever raises or changes anything when it is refused."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_support import Clock, make_app

from bot.actions import CommandContext, execute
from bot.app import App
from bot.domain.models import Message
from storage.store import Store

SLACK = CommandContext(platform="slack", channel_ref="C9", user_id="U9", user_name="bo")
TEAMS = CommandContext(platform="teams", channel_ref="19:abc@thread.tacv2", user_id="29:x")


@pytest.fixture
async def app(sqlite_store: Store) -> AsyncIterator[App]:
    yield make_app(sqlite_store, None, Clock(), admins=["UADMIN"])


def text_of(message: Message) -> str:
    return message.fallback


async def snapshot(app: App) -> tuple[object, ...]:
    store = app.store
    return (
        await store.channels.all(),
        await store.channels.subscriptions(),
        await store.countdowns.all(status=None),
        await store.sources.all(),
        await store.deliveries.counts(),
    )


async def test_teams_channel_must_be_configured(app: App) -> None:
    message = await execute(app.chat, "subscribe taiwan", TEAMS)
    assert message.kind == "error"
    assert "teams_channel_id: 19:abc@thread.tacv2" in text_of(message)
    assert await app.store.channels.all() == []
    await app.store.channels.ensure(
        name="desk",
        platform="teams",
        target="https://flow.example/hook",
        external_id=TEAMS.channel_ref,
        now=app.now(),
    )
    ok = await execute(app.chat, "subscribe taiwan digest", TEAMS)
    assert ok.kind == "ok", text_of(ok)
    assert [s.topic for s in await app.store.channels.subscriptions()] == ["taiwan"]
    me = await execute(app.chat, "subscribe me taiwan", TEAMS)
    assert me.kind == "error" and "only available in Slack" in text_of(me)


async def test_cli_context_names_a_channel(app: App) -> None:
    ctx = CommandContext(platform="console", channel_ref="console-desk", user_id="local")
    assert (await execute(app.chat, "subscribe trade", ctx)).kind == "error"
    await app.store.channels.ensure(
        name="console-desk", platform="console", target="stdout", now=app.now()
    )
    assert (await execute(app.chat, "subscribe trade", ctx)).kind == "ok"
    assert "Trade" in text_of(await execute(app.chat, "subscriptions", ctx))


async def test_replayed_commands_do_not_double_act(app: App) -> None:
    admin = CommandContext(platform="slack", channel_ref="C9", user_id="UADMIN")
    for _ in range(2):
        await execute(app.chat, "subscribe taiwan military", SLACK)
        await execute(app.chat, "countdown add APEC 2099-11-15", SLACK)
        await execute(app.chat, "sources add https://93.184.216.34/rss", admin)
    assert len(await app.store.channels.all()) == 1
    assert len(await app.store.channels.subscriptions()) == 2
    assert len(await app.store.countdowns.all()) == 1
    assert [s.url for s in await app.store.sources.all()] == ["https://93.184.216.34/rss"]


async def test_sources_need_an_admin_and_a_public_http_url(app: App) -> None:
    before = await snapshot(app)
    refused = await execute(app.chat, "sources add https://93.184.216.34/rss", SLACK)
    assert refused.kind == "error" and "admins" in text_of(refused)
    admin = CommandContext(platform="slack", channel_ref="C9", user_id="U9", is_admin=True)
    for url in ("http://10.0.0.8/feed", "http://[::1]/feed", "ftp://93.184.216.34/x"):
        message = await execute(app.chat, f"sources add {url}", admin)
        assert message.kind == "error", url
    assert await snapshot(app) == before


async def test_unexpected_failure_is_a_short_message(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def boom(*args: object, **kw: object) -> None:
        raise RuntimeError("database on fire\nTraceback (most recent call last)")

    monkeypatch.setattr(app.store.items, "latest", boom)
    message = await execute(app.chat, "latest", SLACK)
    assert message.kind == "error"
    assert "Traceback" not in text_of(message) and "fire" not in text_of(message)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.one_of(
        st.text(max_size=80),
        st.builds(
            lambda verb, rest: f"{verb} {rest}",
            st.sampled_from(
                ["subscribe", "unsubscribe", "countdown", "digest", "sources", "latest", "help"]
            ),
            st.text(alphabet=st.characters(codec="utf-8"), max_size=40),
        ),
    )
)
async def test_any_input_answers_and_errors_change_nothing(app: App, text: str) -> None:
    before = await snapshot(app)
    message = await execute(app.chat, text, SLACK)
    assert isinstance(message, Message) and message.fallback
    if message.kind == "error":
        assert await snapshot(app) == before
