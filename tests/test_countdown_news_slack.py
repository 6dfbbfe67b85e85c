"""Countdowns are their owners', through Slack: feeds over HTTP -> poll -> a change proposed in
the countdown's thread with Confirm / Dismiss buttons -> signed button clicks through the real
Bolt app. The countdown changes only when someone confirms, once however often they click."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from fakeslack import FakeSlack, Post
from newsserver import NewsItem, NewsServer, rss_feed
from slack_http_support import SlackEnv
from slack_support import BOT_TOKEN, SIGNING_SECRET, sign
from starlette.applications import Starlette
from test_countdown_news_cli import BASELINE, NOV_14, NOV_14_AGAIN, OCT_24
from test_e2e_pipeline import RunningClock, assert_valid_blocks, deliver, outbox, poll, running

from bot.app import App
from bot.chat.slack.http import slack_routes
from bot.config import ChannelConfig, CountdownConfig, FileConfig, Settings, SourceConfig
from storage.store import Store

pytestmark = pytest.mark.timeout(90)

START = datetime(2024, 9, 3, 15, 0, tzinfo=UTC)
OCT_24_AGAIN = NewsItem(
    guid="wire-4",
    title="White House: Biden and Xi will talk by phone on October 24",
    link="https://wire.example/call-oct-24-again",
    summary="US President Joe Biden and Chinese President Xi Jinping will speak by phone on "
    "October 24, a White House spokesperson said.",
    published=OCT_24.published,
)


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


@pytest.fixture
def news() -> Iterator[NewsServer]:
    with NewsServer() as server:
        yield server


def config(database_url: str, feed: str, fake: FakeSlack, *, follow_news: bool) -> Settings:
    call = CountdownConfig(
        name="Biden-Xi call",
        after=date(2024, 9, 1),
        before=date(2024, 10, 31),
        tentative=True,
        follow_news=follow_news,
    )
    return Settings(
        database_url=database_url,
        slack_bot_token=BOT_TOKEN,  # type: ignore[arg-type]
        slack_signing_secret=SIGNING_SECRET,  # type: ignore[arg-type]
        slack_api_url=fake.api_url,
        allow_private_networks=True,
        file=FileConfig(
            sources=[SourceConfig(name="Wire", url=feed, type="rss", interval="10m")],  # type: ignore[arg-type]
            channels=[ChannelConfig(name="china-desk", slack_channel="CDESK")],
            countdowns=[call],
        ),
    )


async def publish(app: App, news: NewsServer, *items: NewsItem) -> None:
    news.set("/wire.xml", rss_feed("Wire", [*items, BASELINE]))
    await poll(app)
    await deliver(app)


def buttons(post: Post) -> dict[str, dict[str, Any]]:
    found = {}
    for block in post.blocks or []:
        for element in block.get("elements", []):
            if element.get("type") == "button":
                found[element["text"]["text"]] = dict(element)
    return found


def click_body(button: dict[str, Any], trigger: str, response_url: str) -> str:
    payload = {
        "type": "block_actions",
        "team": {"id": "T0FAKE"},
        "api_app_id": "A1",
        "user": {"id": "U1", "username": "alice", "team_id": "T0FAKE"},
        "channel": {"id": "CDESK", "name": "china-desk"},
        "container": {"type": "message", "message_ts": "1.1", "channel_id": "CDESK"},
        "message": {"ts": "1.1", "text": "proposal"},
        "response_url": response_url,
        "trigger_id": trigger,
        "actions": [
            {
                "action_id": button["action_id"],
                "block_id": "b1",
                "type": "button",
                "value": button["value"],
                "action_ts": "1.2",
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)})


async def click(env: SlackEnv, button: dict[str, Any], trigger: str) -> str:
    """Click ``button`` once (a new signed request); returns the ephemeral answer."""
    before = len(env.fake.responses)
    response = await env.post(click_body(button, trigger, env.fake.response_url("click")))
    assert response.status_code == 200, response.text
    await env.fake.wait_for(lambda: len(env.fake.responses) > before)
    return str(env.fake.responses[before][1].get("text", ""))


def proposals(posts: list[Post]) -> list[Post]:
    return [p for p in posts if p.text.startswith("The news suggests a change")]


async def test_news_proposes_in_the_thread_and_only_a_confirmation_applies(
    sqlite_store: Store, sqlite_url: str, fake: FakeSlack, news: NewsServer
) -> None:
    store = sqlite_store
    feed = news.set("/wire.xml", rss_feed("Wire", [BASELINE]))
    clock = RunningClock(START, frozen=True)
    async with running(config(sqlite_url, feed, fake, follow_news=False), clock) as app:
        app.notifiers["slack"].min_interval_s = 0  # type: ignore[attr-defined]
        await publish(app, news)  # baseline
        await publish(app, news, OCT_24)
        call = await store.countdowns.by_name("Biden-Xi call")
        assert call is not None
        assert (call.start, call.end, call.tentative) == (
            date(2024, 9, 1),
            date(2024, 10, 31),
            True,
        )

        rows = await outbox(store)
        posts = fake.posts_for("CDESK")
        (anchor,) = [p for p in posts if rows[p.delivery_id or 0].kind == "countdown"]
        assert anchor.text.startswith("Biden-Xi call") and anchor.thread_ts is None
        (offer,) = proposals(posts)
        assert offer.thread_ts == anchor.ts  # a reply in the countdown's thread
        assert "Confirmed for 24 Oct 2024 (Wire)." in offer.text
        assert_valid_blocks(offer)
        first = buttons(offer)
        assert set(first) == {"Confirm", "Dismiss"}

        clock.wall = True  # signed requests are checked against the wall clock
        web = Starlette(routes=slack_routes(app.chat, app.settings))
        transport = httpx.ASGITransport(app=web)
        async with httpx.AsyncClient(transport=transport, base_url="http://bot.test") as client:
            env = SlackEnv(app, fake, client)
            listed = await env.answer("countdown", channel="CDESK")
            assert "Changes proposed by the news" in listed
            assert f"countdown confirm {first['Confirm']['value']}" in listed

            refused = await env.answer("countdown add G20 Rio 2024-11-18", channel="CDESK")
            assert "2024-11-18 has already passed (today is " in refused
            assert await store.countdowns.by_name("G20 Rio") is None

            answer = await click(env, first["Dismiss"], "1.2.3")
            assert "dismissed" in answer and "will not be proposed again" in answer
            unchanged = await store.countdowns.get(call.id)
            assert unchanged == call

            clock.wall = False
            await publish(app, news, OCT_24_AGAIN, OCT_24)  # the dismissed change, new outlet item
            assert len(proposals(fake.posts_for("CDESK"))) == 1
            await publish(app, news, NOV_14, OCT_24_AGAIN, OCT_24)
            (_, moved) = proposals(fake.posts_for("CDESK"))
            assert moved.thread_ts == anchor.ts
            assert "Moved for 14 Nov 2024 (Wire)." in moved.text
            assert await store.countdowns.get(call.id) == call
            second = buttons(moved)

            clock.wall = True
            body = click_body(second["Confirm"], "4.5.6", fake.response_url("click"))
            headers = sign(body)
            before = len(fake.responses)
            for _ in (1, 2):  # the same signed request replayed
                response = await env.post(body, headers)
                assert response.status_code == 200, response.text
            await fake.wait_for(lambda: len(fake.responses) > before)
            assert "Change #2 applied" in str(fake.responses[before][1].get("text"))
            confirmed = await store.countdowns.get(call.id)
            assert confirmed is not None
            assert (confirmed.start, confirmed.end, confirmed.tentative) == (
                date(2024, 11, 14),
                date(2024, 11, 14),
                False,
            )
            answer = await click(env, second["Confirm"], "7.8.9")  # a second click
            assert "was already applied" in answer
            assert len(fake.responses) == before + 2  # the replay had no effect at all
            assert await store.countdowns.get(call.id) == confirmed
            answer = await click(env, second["Dismiss"], "7.8.10")
            assert "already confirmed" in answer

        updates = [
            d for d in (await outbox(store)).values() if d.dedupe_key.startswith("countdown-update")
        ]
        assert len(updates) == 1 and updates[0].thread_key == f"countdown:{call.id}"
        states = {c.id: c.status for c in await store.countdowns.changes(status=None)}
        assert sorted(states.values()) == ["applied", "dismissed"]


async def test_a_countdown_that_follows_the_news_changes_without_asking(
    sqlite_store: Store, sqlite_url: str, fake: FakeSlack, news: NewsServer
) -> None:
    feed = news.set("/wire.xml", rss_feed("Wire", [BASELINE]))
    clock = RunningClock(START, frozen=True)
    async with running(config(sqlite_url, feed, fake, follow_news=True), clock) as app:
        app.notifiers["slack"].min_interval_s = 0  # type: ignore[attr-defined]
        await publish(app, news)
        await publish(app, news, NOV_14_AGAIN)
        call = await sqlite_store.countdowns.by_name("Biden-Xi call")
        assert call is not None and call.follow_news
        assert (call.start, call.end, call.tentative) == (
            date(2024, 11, 14),
            date(2024, 11, 14),
            False,
        )
        assert await sqlite_store.countdowns.changes(status=None) == []
        assert proposals(fake.posts_for("CDESK")) == []
        assert any("Moved for 14 Nov 2024" in p.everything() for p in fake.posts_for("CDESK"))
