"""Every verb of ``/uschina`` through the real Bolt app with signature checks on, plus the
alert buttons and the App Home."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date, timedelta

import pytest
from slack_http_support import SlackEnv, seed_items, slack_env

from storage.store import Store


@pytest.fixture
async def env(sqlite_store: Store) -> AsyncIterator[SlackEnv]:
    async with slack_env(sqlite_store, admins=["UADMIN"]) as e:
        yield e


async def subs_of(env: SlackEnv, name: str) -> dict[str, str]:
    channel = await env.app.store.channels.by_name(name)
    assert channel is not None, name
    return {s.topic: s.mode for s in await env.app.store.channels.subscriptions([channel.id])}


async def test_help_and_topics(env: SlackEnv) -> None:
    answer = await env.answer("help")
    assert "uschina-bot commands" in answer and "subscribe me TOPIC" in answer
    assert "subscribe TOPIC" in await env.answer("help subscribe")
    topics = await env.answer("topics")
    for topic_id in ("diplomacy", "south_china_sea", "health"):
        assert f"({topic_id})" in topics


async def test_subscribe_unsubscribe_and_subscriptions(env: SlackEnv) -> None:
    answer = await env.answer("subscribe taiwan military")
    assert "Subscribed this channel to Taiwan, Military (realtime)" in answer
    assert await subs_of(env, "slack:C1") == {"taiwan": "realtime", "military": "realtime"}
    assert "Already subscribed" in await env.answer("subscribe taiwan")
    await env.answer("subscribe climate digest")
    assert (await subs_of(env, "slack:C1"))["climate"] == "digest"
    channel = await env.app.store.channels.by_name("slack:C1")
    assert channel is not None and channel.digest_cron  # a digest mode gets a schedule
    assert "you" in await env.answer("subscribe me fentanyl")
    dm = await env.app.store.channels.by_name("slack-dm:U1")
    assert dm is not None and dm.is_dm and dm.target == "U1"
    listing = await env.answer("subscriptions")
    for label in ("Taiwan", "Military", "Climate", "Fentanyl"):
        assert label in listing
    assert "Unsubscribed this channel from Taiwan" in await env.answer("unsubscribe taiwan")
    assert "taiwan" not in await subs_of(env, "slack:C1")
    assert "nothing changed" in await env.answer("unsubscribe taiwan")
    await env.answer("unsubscribe all")
    assert await subs_of(env, "slack:C1") == {}
    assert await subs_of(env, "slack-dm:U1") == {"fentanyl": "realtime"}


async def test_subscribing_does_not_backfill_old_items(env: SlackEnv) -> None:
    await seed_items(env.app, [("Old Taiwan arms sale story", "taiwan")])
    await env.answer("subscribe taiwan")
    assert await env.app.store.deliveries.counts() == {}
    assert env.fake.calls_to("chat.postMessage") == []


async def test_subscriptions_show_paused_reason_and_subscribe_resumes(env: SlackEnv) -> None:
    await env.answer("subscribe taiwan")
    channel = await env.app.store.channels.by_name("slack:C1")
    assert channel is not None
    await env.app.store.channels.pause(channel.id, "not_in_channel", env.app.now())
    assert "paused: not_in_channel" in await env.answer("subscriptions")
    assert "resumed" in await env.answer("subscribe taiwan")
    resumed = await env.app.store.channels.get(channel.id)
    assert resumed is not None and resumed.paused_reason is None


async def test_latest_status_and_search(env: SlackEnv) -> None:
    await seed_items(
        env.app,
        [
            ("US approves Taiwan arms package", "taiwan"),
            ("Fentanyl precursor talks resume", "fentanyl"),
            ("Second Taiwan Strait transit this month", "taiwan"),
        ],
    )
    latest = await env.answer("latest taiwan 5")
    assert "US approves Taiwan arms package" in latest
    assert "Second Taiwan Strait transit" in latest
    assert "Fentanyl" not in latest
    assert "Fentanyl precursor" in await env.answer("latest")
    assert "status board" in (await env.answer("status")).lower()
    assert "Taiwan" in await env.answer("status taiwan")
    found = await env.answer("search precursor")
    assert "Fentanyl precursor talks resume" in found
    assert "No stories match" in await env.answer("search zeppelin")


async def test_countdowns(env: SlackEnv) -> None:
    answer = await env.answer("countdown add COP35 2099-11-10")
    assert "Countdown #1 added: COP35" in answer
    assert "already tracked" in await env.answer("countdown add COP35 2099-11-10")
    assert "COP35" in await env.answer("countdown")
    assert "already exists" in await env.answer("countdown add COP35 2099-12-01")
    assert "already passed" in await env.answer("countdown add Old 2001-01-01")
    await env.answer("countdown add Leaders call 2099-09-01..2099-10-31 tentative")
    cds = {c.name: c for c in await env.app.store.countdowns.all()}
    assert cds["Leaders call"].tentative and cds["Leaders call"].end == date(2099, 10, 31)
    assert "removed" in await env.answer("countdown remove 1")
    assert "no countdown #1" in await env.answer("countdown remove 1")
    assert [c.name for c in await env.app.store.countdowns.all()] == ["Leaders call"]


async def test_digest_settings(env: SlackEnv) -> None:
    await env.answer("digest daily 08:30")
    channel = await env.app.store.channels.by_name("slack:C1")
    assert channel is not None and channel.digest_cron == "30 8 * * *"
    await env.answer("digest weekly mon 09:00")
    channel = await env.app.store.channels.get(channel.id)
    assert channel is not None and channel.digest_cron == "0 9 * * mon"
    assert "off" in await env.answer("digest off")
    channel = await env.app.store.channels.get(channel.id)
    assert channel is not None and channel.digest_cron is None
    assert "on its way" in await env.answer("digest now")
    [delivery] = await env.app.store.deliveries.for_channel(channel.id)
    assert delivery.kind == "digest" and delivery.status == "pending"


async def test_sources_are_admin_only(env: SlackEnv) -> None:
    before = len(await env.app.store.sources.all())
    refused = await env.answer("sources add https://93.184.216.34/feed.xml", user="U2")
    assert "Only workspace admins" in refused
    assert len(await env.app.store.sources.all()) == before
    assert "Sources" in await env.answer("sources", user="U2") or before == 0
    added = await env.answer("sources add https://93.184.216.34/feed.xml", user="UADMIN")
    assert "Added source" in added
    again = await env.answer("sources add https://93.184.216.34/feed.xml", user="UADMIN")
    assert "Already watching" in again
    private = await env.answer("sources add http://127.0.0.1:8080/feed", user="UADMIN")
    assert "private or local network" in private
    env.fake.admins.add("UWS")  # a workspace admin per users.info
    assert "Added source" in await env.answer("sources add https://8.8.8.8/rss", user="UWS")
    source = await env.app.store.sources.by_url("https://8.8.8.8/rss")
    assert source is not None
    assert "Only workspace admins" in await env.answer(f"sources remove {source.id}", user="U2")
    assert "Removed source" in await env.answer(f"sources remove {source.id}", user="UADMIN")
    assert await env.app.store.sources.by_url("https://8.8.8.8/rss") is None


@pytest.mark.parametrize(
    "text",
    ["frobnicate", "subscribe atlantis", "latest taiwan -3", "digest daily 25:99", "countdown x"],
)
async def test_bad_input_gets_usage_and_changes_nothing(env: SlackEnv, text: str) -> None:
    answer = json.loads(await env.answer(text))
    assert answer["text"].startswith(("Unknown", "N must", "Bad time", "Name", "Missing"))
    assert "Usage:" in answer["text"] or "Commands:" in answer["text"]
    assert "Traceback" not in answer["text"]
    assert await env.app.store.channels.all() == []


async def test_alert_buttons(env: SlackEnv) -> None:
    response = await env.action("subscribe_topic", "taiwan")
    assert response.status_code == 200
    await env.fake.wait_for(lambda: len(env.fake.responses) == 1)
    assert "Subscribed this channel to Taiwan" in json.dumps(env.fake.responses[0][1])
    assert await subs_of(env, "slack:C1") == {"taiwan": "realtime"}
    await env.action("mute_topic", "taiwan")
    await env.fake.wait_for(lambda: len(env.fake.responses) == 2)
    [sub] = await env.app.store.channels.subscriptions()
    assert sub.muted_until is not None
    remaining = sub.muted_until - env.app.now()
    assert timedelta(hours=23) < remaining <= timedelta(hours=24)
    await env.action("subscribe_topic", "not-a-topic")
    await env.fake.wait_for(lambda: len(env.fake.responses) == 3)
    assert "no longer exists" in json.dumps(env.fake.responses[2][1])


async def test_track_event_button_creates_one_countdown(env: SlackEnv) -> None:
    proposal = await env.app.store.countdowns.propose(
        label="Biden–Xi call",
        kind="call",
        start=date(2099, 9, 1),
        end=date(2099, 10, 31),
        certainty="expected",
        now=env.app.now(),
    )
    assert proposal is not None
    await env.action("track_proposal", str(proposal.id))
    await env.action("track_event", str(proposal.id))  # a second click
    await env.fake.wait_for(lambda: len(env.fake.responses) == 2)
    assert "Tracking Biden–Xi call" in json.dumps(env.fake.responses[0][1], ensure_ascii=False)
    assert [c.name for c in await env.app.store.countdowns.all()] == ["Biden–Xi call"]


async def test_app_home_is_published_and_its_buttons_work(env: SlackEnv) -> None:
    await env.answer("subscribe taiwan")
    await env.fake.wait_for(lambda: len(env.fake.home_views) == 1)  # republished on change
    response = await env.event({"type": "app_home_opened", "user": "U1", "tab": "home"})
    assert response.status_code == 200
    await env.fake.wait_for(lambda: len(env.fake.home_views) == 2)
    user, view = env.fake.home_views[-1]
    assert user == "U1" and view["type"] == "home"
    text = json.dumps(view, ensure_ascii=False)
    assert "Your direct messages" in text and "slack:C1" in text
    assert "status board" in text.lower()
    await env.home_action("home_subscribe:3", "fentanyl")
    await env.fake.wait_for(lambda: len(env.fake.home_views) == 3)
    assert await subs_of(env, "slack-dm:U1") == {"fentanyl": "realtime"}
    channel = await env.app.store.channels.by_name("slack:C1")
    assert channel is not None
    await env.home_action("home_unsubscribe:0", f"{channel.id}|taiwan")
    await env.fake.wait_for(lambda: len(env.fake.home_views) == 4)
    assert await subs_of(env, "slack:C1") == {}
    assert "Stop Fentanyl" in json.dumps(env.fake.home_views[-1][1])
