"""The real Bolt app behind the real ``/slack/events`` gate, driven with signed requests."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
from fakeslack import FakeSlack
from slack_support import Clock, command_body, make_app, sign
from starlette.applications import Starlette

from bot.app import App
from bot.chat.slack.http import slack_routes
from bot.domain.models import Classification, FetchState, Item, SourceSpec, Story
from storage.repos.items import IngestBatch
from storage.store import Store

_TRIGGERS = itertools.count(1)


@dataclass
class SlackEnv:
    app: App
    fake: FakeSlack
    client: httpx.AsyncClient

    async def post(self, body: str, headers: dict[str, Any] | None = None) -> httpx.Response:
        return await self.client.post(
            "/slack/events", content=body.encode(), headers=headers or sign(body)
        )

    async def command(
        self, text: str, *, user: str = "U1", channel: str = "C1", name: str = "r"
    ) -> httpx.Response:
        return await self.post(
            command_body(text, fake=self.fake, user=user, channel=channel, name=name)
        )

    async def answer(self, text: str, **kw: Any) -> str:
        """The visible answer (ack body, or the respond() that follows a 'Working…')."""
        before = len(self.fake.responses)
        response = await self.command(text, **kw)
        assert response.status_code == 200, response.text
        data = response.json()
        if data.get("text") != "Working…":
            return json.dumps(data, ensure_ascii=False)
        await self.fake.wait_for(lambda: len(self.fake.responses) > before)
        return json.dumps(self.fake.responses[before][1], ensure_ascii=False)

    async def action(
        self, action_id: str, value: str, *, user: str = "U1", channel: str = "C1"
    ) -> httpx.Response:
        payload = {
            "type": "block_actions",
            "team": {"id": "T0FAKE"},
            "api_app_id": "A1",
            "user": {"id": user, "username": "alice", "team_id": "T0FAKE"},
            "channel": {"id": channel, "name": "china-desk"},
            "container": {"type": "message", "message_ts": "1.1", "channel_id": channel},
            "message": {"ts": "1.1", "text": "alert"},
            "response_url": self.fake.response_url("act"),
            "trigger_id": f"{next(_TRIGGERS)}.2.3",
            "actions": [
                {
                    "action_id": action_id,
                    "block_id": "b1",
                    "type": "button",
                    "value": value,
                    "action_ts": "1.2",
                }
            ],
        }
        return await self.post(urlencode({"payload": json.dumps(payload)}))

    async def home_action(self, action_id: str, value: str, *, user: str = "U1") -> httpx.Response:
        payload = {
            "type": "block_actions",
            "team": {"id": "T0FAKE"},
            "api_app_id": "A1",
            "user": {"id": user, "username": "alice", "team_id": "T0FAKE"},
            "container": {"type": "view", "view_id": "V1"},
            "view": {"id": "V1", "type": "home"},
            "trigger_id": f"{next(_TRIGGERS)}.2.3",
            "actions": [
                {"action_id": action_id, "block_id": "h", "type": "button", "value": value}
            ],
        }
        return await self.post(urlencode({"payload": json.dumps(payload)}))

    async def event(self, event: dict[str, Any], event_id: str = "Ev1") -> httpx.Response:
        body = json.dumps(
            {
                "token": "legacy",
                "team_id": "T0FAKE",
                "api_app_id": "A1",
                "type": "event_callback",
                "event_id": f"{event_id}-{next(_TRIGGERS)}",
                "event_time": 1,
                "event": event,
            }
        )
        headers = sign(body)
        headers["Content-Type"] = "application/json"
        return await self.post(body, headers)


@asynccontextmanager
async def slack_env(store: Store, **file: Any) -> AsyncIterator[SlackEnv]:
    with FakeSlack() as fake:
        app = make_app(store, fake, Clock(real=True), **file)
        web = Starlette(routes=slack_routes(app.chat, app.settings))
        transport = httpx.ASGITransport(app=web)
        async with httpx.AsyncClient(transport=transport, base_url="http://bot.test") as client:
            yield SlackEnv(app, fake, client)
        await app.notifiers["slack"].aclose()  # type: ignore[attr-defined]


async def seed_items(app: App, titles: list[tuple[str, str]]) -> None:
    """Store relevant items (title, topic), newest last, each its own story."""
    store = app.store
    now = datetime.now(UTC)
    source = await store.sources.add(
        SourceSpec(name="Wire", url="https://wire.example/feed"), origin="test", now=now
    )
    batch = IngestBatch(source_id=source.id, state=FetchState(baseline_done=True), now=now)
    for index, (title, topic) in enumerate(titles):
        published = now - timedelta(hours=len(titles) - index)
        key = f"k{index}"
        item = Item(
            key=key,
            source_id=source.id,
            url=f"https://wire.example/{index}",
            title=title,
            summary=f"{title}. More words about it.",
            published=published,
            first_seen=published,
            source_name="Wire",
            classification=Classification(relevant=True, topics=(topic,)),
            story_key=f"story-{index}",
        )
        story = Story(
            key=f"story-{index}",
            title=title,
            url=item.url,
            first_seen=published,
            last_seen=published,
            topics=(topic,),
            outlets=("Wire",),
        )
        batch.items.append((item, (key,)))
        batch.stories.append((story, {}))
    await store.ingest.commit(batch)
