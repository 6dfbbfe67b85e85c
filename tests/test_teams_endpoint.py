"""``POST /teams/messages`` through the real ASGI routes: HMAC, replays, every command verb."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from faketeams import FakeTeams
from pydantic import SecretStr
from render_samples import NOW
from sqlalchemy import func, select
from starlette.applications import Starlette

from bot.app import App, build_app
from bot.chat.teams import endpoint as endpoint_module
from bot.chat.teams.endpoint import MAX_BODY, TeamsEndpoint, sign, teams_routes, verify
from bot.config import ChannelConfig, FileConfig, Settings
from bot.domain.errors import ConfigError
from bot.domain.models import Classification, FetchState, Item, Message, SourceSpec, Story
from bot.domain.ports import ChatServices
from jobs.deliver import DeliveryWorker
from storage.repos.items import IngestBatch
from storage.tables import processed_request_t

SECRET = base64.b64encode(b"teams outgoing webhook key, 32by").decode()
KEY = base64.b64decode(SECRET)
CONVERSATION = "19:0f1e2d3c4b5a69788796a5b4c3d2e1f0@thread.tacv2"
OTHER_CONVERSATION = "19:ffffeeeeddddccccbbbbaaaa99998888@thread.tacv2"
ADMIN = "29:admin-user-id"
USER = "29:plain-user-id"


class Clock:
    def __init__(self, start: datetime = NOW) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Harness:
    app: App
    client: httpx.AsyncClient
    endpoint: TeamsEndpoint
    fake: FakeTeams
    sequence: int = 0

    def activity(
        self,
        text: str,
        *,
        user: str = USER,
        conversation: str = CONVERSATION,
        activity_id: str | None = None,
    ) -> dict[str, Any]:
        self.sequence += 1
        return {
            "type": "message",
            "id": activity_id or f"1712345678{self.sequence:03d}",
            "timestamp": "2024-09-10T14:00:00.000Z",
            "serviceUrl": "https://smba.trafficmanager.example/amer/",
            "channelId": "msteams",
            "from": {"id": user, "name": "Pat Analyst", "aadObjectId": "aad-" + user[3:]},
            "conversation": {
                "isGroup": True,
                "conversationType": "channel",
                "id": f"{conversation};messageid={1712345678000 + self.sequence}",
            },
            "textFormat": "plain",
            "text": f"<at>uschina</at>&nbsp;{text}",
            "channelData": {"teamsChannelId": conversation},
        }

    async def post(self, body: bytes, authorization: str | bytes | None = "sign") -> httpx.Response:
        sent = [(b"Content-Type", b"application/json")]
        if authorization == "sign":
            authorization = sign(KEY, body)
        if isinstance(authorization, str):
            authorization = authorization.encode("latin-1")
        if authorization is not None:
            sent.append((b"Authorization", authorization))
        return await self.client.post("/teams/messages", content=body, headers=sent)

    async def say(self, text: str, **kw: Any) -> str:
        """Send ``@uschina text`` correctly signed; return the reply text (asserting 200)."""
        response = await self.post(json.dumps(self.activity(text, **kw)).encode())
        assert response.status_code == 200, response.text
        reply = response.json()
        assert reply["type"] == "message"
        assert isinstance(reply["text"], str) and reply["text"].strip()
        return str(reply["text"])


def settings_for(url: str, fake: FakeTeams, **overrides: Any) -> Settings:
    channels = [
        ChannelConfig(
            name="china-desk",
            teams_webhook_url=SecretStr(fake.webhook("desk")),
            teams_channel_id=CONVERSATION,
        )
    ]
    values: dict[str, Any] = {
        "database_url": url,
        "teams_outgoing_secret": SecretStr(SECRET),
        "allow_private_networks": True,
        "file": FileConfig(channels=channels, admins=[ADMIN], sources=[]),
    }
    values.update(overrides)
    return Settings(**values)


async def seed_stories(app: App) -> None:
    source = await app.store.sources.add(
        SourceSpec(name="Wire", url="https://wire.example/feed.xml"), origin="test", now=NOW
    )
    batch = IngestBatch(source_id=source.id, state=FetchState(), now=NOW)
    for n, (topic, title) in enumerate(
        [
            ("taiwan", "US approves arms sale to Taiwan"),
            ("climate", "US and China envoys discuss climate finance before COP29"),
            ("fentanyl", "Counternarcotics working group meets on fentanyl precursors"),
        ]
    ):
        key = f"story-{n}"
        at = NOW - timedelta(hours=n + 1)
        item = Item(
            key=f"item-{n}",
            source_id=source.id,
            url=f"https://wire.example/{n}",
            title=title,
            summary=title + ", officials said.",
            published=at,
            first_seen=at,
            source_name="Wire",
            classification=Classification(True, (topic,), {topic: 0.9}),
            story_key=key,
        )
        story = Story(key, title, item.url, at, at, topics=(topic,), outlets=("Wire",))
        batch.items.append((item, (item.key,)))
        batch.stories.append((story, {}))
    await app.store.ingest.commit(batch)


@pytest.fixture
def fake() -> Iterator[FakeTeams]:
    with FakeTeams() as server:
        yield server


async def make_harness(settings: Settings, fake: FakeTeams) -> Harness:
    app = await build_app(settings, clock=Clock(), upgrade=False)  # sqlite_url is migrated
    endpoint = TeamsEndpoint(app.chat, settings.teams_outgoing_secret)
    web = Starlette(routes=endpoint.routes())
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=web), base_url="http://bot.test")
    return Harness(app, client, endpoint, fake)


@pytest.fixture
async def harness(sqlite_url: str, fake: FakeTeams) -> AsyncIterator[Harness]:
    h = await make_harness(settings_for(sqlite_url, fake), fake)
    await seed_stories(h.app)
    yield h
    await h.endpoint.wait_idle()
    await h.client.aclose()
    await h.app.close()


async def snapshot(app: App) -> dict[str, Any]:
    """Everything a command could change, to compare before and after a refused request."""
    channels = await app.store.channels.all()
    async with app.store.db.connect() as conn:
        guards = (
            await conn.execute(select(func.count()).select_from(processed_request_t))
        ).scalar()
    return {
        "channels": channels,
        "subscriptions": await app.store.channels.subscriptions(),
        "countdowns": await app.store.countdowns.all(status=None),
        "sources": [(s.id, s.url) for s in await app.store.sources.all()],
        "deliveries": await app.store.deliveries.counts(),
        "guards": guards,
    }


async def desk_topics(app: App) -> set[str]:
    channel = await app.store.channels.by_external_id(CONVERSATION)
    assert channel is not None
    return {s.topic for s in await app.store.channels.subscriptions([channel.id])}


def rejected(app: App, reason: str) -> float:
    key = (
        "uschina_bot_requests_rejected_total",
        (("platform", "teams"), ("reason", reason)),
    )
    return app.metrics.counters.get(key, 0.0)


# --------------------------------------------------------------------------- pure helpers


def test_verify_accepts_only_the_exact_mac() -> None:
    body = b'{"id":"1"}'
    assert verify(KEY, body, sign(KEY, body)) is None
    assert verify(KEY, body + b" ", sign(KEY, body)) == "bad_signature"
    assert verify(b"other", body, sign(KEY, body)) == "bad_signature"
    assert verify(KEY, body, None) == "missing_signature"
    assert verify(KEY, body, "Bearer abc") == "malformed_signature"
    assert verify(KEY, body, "HMAC !!!!") == "malformed_signature"
    assert verify(KEY, body, "HMAC " + base64.b64encode(b"short").decode()) == (
        "malformed_signature"
    )


def test_secret_that_is_not_base64_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as raised:
        endpoint_module.decode_secret("not base64 at all!")
    assert "TEAMS_OUTGOING_SECRET" in str(raised.value)
    assert "not base64 at all" not in str(raised.value)


# --------------------------------------------------------------------------- every verb


async def test_help_and_topics(harness: Harness) -> None:
    text = await harness.say("help")
    assert "subscribe" in text and "countdown" in text
    text = await harness.say("topics")
    assert "taiwan" in text.lower() and "fentanyl" in text.lower()


async def test_latest_status_and_search(harness: Harness) -> None:
    text = await harness.say("latest taiwan")
    assert "arms sale to Taiwan" in text
    text = await harness.say("latest 2")
    assert "climate finance" in text or "arms sale" in text
    text = await harness.say("status")
    assert "taiwan" in text.lower()
    text = await harness.say("search climate finance")
    assert "climate finance" in text


async def test_subscribe_unsubscribe_and_subscriptions(harness: Harness) -> None:
    app = harness.app
    before = await desk_topics(app)
    await harness.say("subscribe taiwan military")
    assert {"taiwan", "military"} <= await desk_topics(app)
    text = await harness.say("subscriptions")
    assert "taiwan" in text.lower()
    assert FakeTeams.SECRET not in text and "sig=" not in text  # the webhook stays hidden
    await harness.say("unsubscribe military")
    topics = await desk_topics(app)
    assert "military" not in topics and "taiwan" in topics
    await harness.say("unsubscribe all")
    assert await desk_topics(app) == set()
    assert before  # the config gave the channel all topics to start with


async def test_countdown_add_list_remove(harness: Harness) -> None:
    app = harness.app
    await harness.say('countdown add "Leaders call" 2024-10-15')
    added = await app.store.countdowns.by_name("Leaders call")
    assert added is not None and added.start.isoformat() == "2024-10-15"
    text = await harness.say("countdown")
    assert "Leaders call" in text
    text = await harness.say("countdown list")
    assert "Leaders call" in text
    await harness.say(f"countdown remove {added.id}")
    gone = await app.store.countdowns.get(added.id)
    assert gone is None or gone.status != "active"


async def test_digest_daily_off_and_now(harness: Harness) -> None:
    app = harness.app
    await harness.say("digest daily 07:30")
    channel = await app.store.channels.by_external_id(CONVERSATION)
    assert channel is not None and channel.digest_cron is not None
    assert channel.digest_cron.startswith("30 7 ")
    await harness.say("digest off")
    channel = await app.store.channels.by_external_id(CONVERSATION)
    assert channel is not None and channel.digest_cron is None
    text = await harness.say("digest now")
    assert text


async def test_sources_are_for_admins(harness: Harness) -> None:
    app = harness.app
    text = await harness.say("sources")
    assert "Wire" in text
    assert FakeTeams.SECRET not in text and "sig=" not in text
    count = len(await app.store.sources.all())
    text = await harness.say("sources add https://news.example/rss", user=USER)
    assert "admin" in text.lower()
    assert len(await app.store.sources.all()) == count
    await harness.say("sources add https://news.example/rss", user=ADMIN)
    assert await app.store.sources.by_url("https://news.example/rss") is not None


async def test_sources_listing_masks_source_credentials(harness: Harness) -> None:
    url = "https://reader:hunter2@members.example/feed?api_key=XYZ"
    await harness.app.store.sources.add(
        SourceSpec(name="Members", url=url), origin="user", now=harness.app.now()
    )
    text = await harness.say("sources", user=USER)
    assert "members.example/feed?api" in text and "key=\\*\\*\\*" in text  # Markdown-escaped
    assert "hunter2" not in text and "XYZ" not in text


async def test_unknown_command_gets_usage_and_changes_nothing(harness: Harness) -> None:
    before = await snapshot(harness.app)
    text = await harness.say("frobnicate the taiwan")
    assert "help" in text.lower() or "usage" in text.lower()
    after = await snapshot(harness.app)
    assert after == before  # a usage error never touches the database (replays: in memory)


async def test_commands_are_counted(harness: Harness) -> None:
    await harness.say("help")
    await harness.say("topics")
    key = ("uschina_bot_commands_total", (("platform", "teams"),))
    assert harness.app.metrics.counters[key] == 2


# --------------------------------------------------------------------------- refusals


async def test_wrong_key_is_refused_and_changes_nothing(harness: Harness) -> None:
    before = await snapshot(harness.app)
    body = json.dumps(harness.activity("subscribe taiwan")).encode()
    other = base64.b64encode(b"some other team's webhook key!!!").decode()
    response = await harness.post(body, sign(base64.b64decode(other), body))
    assert response.status_code == 401
    assert await snapshot(harness.app) == before
    assert rejected(harness.app, "bad_signature") == 1


async def test_body_changed_by_one_byte_is_refused(harness: Harness) -> None:
    await harness.say("unsubscribe all")
    before = await snapshot(harness.app)
    body = json.dumps(harness.activity("subscribe taiwan")).encode()
    tampered = body.replace(b"taiwan", b"taiwam")
    assert len(tampered) == len(body) and tampered != body
    response = await harness.post(tampered, sign(KEY, body))
    assert response.status_code == 401
    assert await snapshot(harness.app) == before


@pytest.mark.parametrize(
    ("authorization", "reason"),
    [
        (None, "missing_signature"),
        ("", "missing_signature"),
        ("HMAC", "malformed_signature"),
        ("Basic dXNlcjpwYXNz", "malformed_signature"),
        ("HMAC not*base64", "malformed_signature"),
        ("HMAC c2hvcnQ=", "malformed_signature"),
        (("HMAC " + "A" * 43 + "=\u00e9").encode("latin-1"), "malformed_signature"),
    ],
)
async def test_missing_or_malformed_header_is_refused(
    harness: Harness, authorization: str | bytes | None, reason: str
) -> None:
    before = await snapshot(harness.app)
    body = json.dumps(harness.activity("subscribe taiwan")).encode()
    response = await harness.post(body, authorization)
    assert response.status_code == 401
    assert await snapshot(harness.app) == before
    assert rejected(harness.app, reason) == 1


async def test_replayed_activity_runs_once(harness: Harness) -> None:
    await harness.say("unsubscribe all")
    body = json.dumps(harness.activity("subscribe taiwan", activity_id="1712345678999")).encode()
    first = await harness.post(body)
    assert first.status_code == 200
    assert await desk_topics(harness.app) == {"taiwan"}
    await harness.say("unsubscribe all")
    before = await snapshot(harness.app)
    replay = await harness.post(body)
    assert replay.status_code == 200
    assert "already handled" in replay.json()["text"].lower()
    assert await snapshot(harness.app) == before  # taiwan was not subscribed again
    assert rejected(harness.app, "replay") == 1


async def test_oversized_body_is_refused(harness: Harness) -> None:
    before = await snapshot(harness.app)
    activity = harness.activity("search " + "x" * MAX_BODY)
    body = json.dumps(activity).encode()
    response = await harness.post(body)
    assert response.status_code == 413
    assert await snapshot(harness.app) == before


async def test_signed_garbage_is_a_bad_request(harness: Harness) -> None:
    before = await snapshot(harness.app)
    for body in (b"{not json", b"[1, 2]", b'{"type": "message", "text": "help"}'):
        response = await harness.post(body)
        assert response.status_code == 400
    assert await snapshot(harness.app) == before


async def test_nothing_secret_is_logged(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.WARNING, logger="aiosqlite")
    body = json.dumps(harness.activity("subscribe taiwan")).encode()
    await harness.post(body)
    await harness.post(body, "HMAC " + base64.b64encode(b"x" * 32).decode())
    await harness.say("sources")
    assert SECRET not in caplog.text
    assert sign(KEY, body).split()[1] not in caplog.text
    assert "Pat Analyst" not in caplog.text  # not even the body's contents
    assert FakeTeams.SECRET not in caplog.text


# --------------------------------------------------------------------------- channels


async def test_unconfigured_channel_is_told_its_id(harness: Harness) -> None:
    text = await harness.say("subscribe taiwan", conversation=OTHER_CONVERSATION)
    assert "not configured" in text
    assert OTHER_CONVERSATION in text.replace("\\", "")
    assert "teams_channel_id" in text.replace("\\", "")
    text = await harness.say("help", conversation=OTHER_CONVERSATION)
    assert OTHER_CONVERSATION in text.replace("\\", "")
    assert "subscribe" in text  # help still works


async def test_endpoint_is_off_without_secret(sqlite_url: str, fake: FakeTeams) -> None:
    settings = settings_for(sqlite_url, fake, teams_outgoing_secret=None)
    app = await build_app(settings, clock=Clock(), upgrade=False)  # sqlite_url is migrated
    web = Starlette(routes=teams_routes(app.chat, settings.teams_outgoing_secret))
    transport = httpx.ASGITransport(app=web)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://bot.test") as client:
            body = b'{"id": "1"}'
            response = await client.post(
                "/teams/messages", content=body, headers={"Authorization": sign(KEY, body)}
            )
        assert response.status_code == 404
    finally:
        await app.close()


async def test_slow_command_answers_still_working_and_posts_later(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from bot import actions

    real_execute = actions.execute
    release = asyncio.Event()

    async def slow_execute(chat: ChatServices, text: str, ctx: Any) -> Message:
        await release.wait()
        return await real_execute(chat, text, ctx)

    monkeypatch.setattr(actions, "execute", slow_execute)
    harness.endpoint.reply_timeout_s = 0.05
    text = await harness.say("latest taiwan")
    assert "still working" in text.lower()
    release.set()
    await harness.endpoint.wait_idle()
    channel = await harness.app.store.channels.by_external_id(CONVERSATION)
    assert channel is not None
    queued = await harness.app.store.deliveries.for_channel(channel.id)
    late = [d for d in queued if d.kind == "command"]
    assert len(late) == 1
    assert "arms sale to Taiwan" in json.dumps(late[0].payload)
    assert await DeliveryWorker(harness.app.delivery_ports()).run_once() == 1
    (posted,) = harness.fake.accepted("desk")
    assert "arms sale to Taiwan" in json.dumps(posted)


async def test_repeated_authorization_header_is_refused(harness: Harness) -> None:
    before = await snapshot(harness.app)
    body = json.dumps(harness.activity("subscribe taiwan")).encode()
    good = sign(KEY, body).encode()
    headers = [
        (b"Content-Type", b"application/json"),
        (b"Authorization", good),
        (b"Authorization", good),
    ]
    response = await harness.client.post("/teams/messages", content=body, headers=headers)
    assert response.status_code == 401
    assert await snapshot(harness.app) == before


async def test_sources_remove_is_for_admins(harness: Harness) -> None:
    app = harness.app
    [source] = await app.store.sources.all()
    text = await harness.say(f"sources remove {source.id}", user=USER)
    assert "admin" in text.lower()
    assert await app.store.sources.get(source.id) is not None
    assert "Removed" in await harness.say(f"sources remove {source.id}", user=ADMIN)
    assert await app.store.sources.get(source.id) is None
