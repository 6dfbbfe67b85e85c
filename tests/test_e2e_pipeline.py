"""End to end: feeds over HTTP -> poll -> outbox -> delivery worker -> fake Slack / Teams.

Everything real except the outside world: feeds come from ``NewsServer`` on 127.0.0.1, the app
is built by ``build_app`` from ``Settings`` (config channels, sources), Slack is ``FakeSlack``
reached through ``SLACK_API_URL``, Teams is ``FakeTeams`` reached through the channel's
``teams_webhook_url``, and button clicks go through the real Bolt app behind
``/slack/events`` as signed requests.

The clock is a fixed start that advances with real time (deterministic dates, real waits for
retries); the seed-article test freezes it.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from classify_seed import seed_parts
from fakeslack import FakeSlack, Post
from faketeams import FakeTeams
from newsserver import NewsItem, NewsServer, rss_feed
from slack_http_support import SlackEnv
from slack_sdk.models.blocks import Block as SlackBlock
from slack_support import BOT_TOKEN, SIGNING_SECRET
from sqlalchemy import func, select
from starlette.applications import Starlette

from bot.app import App, build_app
from bot.chat.slack.http import slack_routes
from bot.config import ChannelConfig, FileConfig, Settings, SourceConfig
from jobs.deliver import DeliveryPolicy, DeliveryWorker
from jobs.poll import PollSummary, poll_due
from storage.repos.deliveries import Delivery
from storage.store import Store
from storage.tables import story_t

pytestmark = pytest.mark.timeout(60)

START = datetime(2024, 9, 3, 15, 0, tzinfo=UTC)  # a Tuesday afternoon
FAST = DeliveryPolicy(parent_wait_s=0.2, idle_poll_s=0.1)
PACING_S = 0.05  # per-channel pacing of the Slack notifier in these tests
HOSTILE_RAW = ("<!channel>", "<@U123>", "<https://evil")


class RunningClock:
    """Starts at a fixed instant and advances with real time (or stays put when frozen)."""

    def __init__(self, start: datetime = START, *, frozen: bool = False) -> None:
        self.start = start
        self.frozen = frozen
        self.wall = False
        self._origin = time.monotonic()

    def __call__(self) -> datetime:
        if self.wall:
            return datetime.now(UTC)
        if self.frozen:
            return self.start
        return self.start + timedelta(seconds=time.monotonic() - self._origin)


# --------------------------------------------------------------------------- news content


def item(guid: str, title: str, summary: str, *, minutes_ago: float) -> NewsItem:
    outlet = guid.split("-", 1)[0]
    return NewsItem(
        guid=guid,
        title=title,
        link=f"https://{outlet}.example/{guid}",
        summary=summary,
        published=START - timedelta(minutes=minutes_ago),
    )


WIRE_BASELINE = item(
    "wire-0",
    "US and China hold counternarcotics working group talks in Washington",
    "Officials from both governments met in Washington to review cooperation against fentanyl "
    "precursor chemicals and money laundering networks.",
    minutes_ago=600,
)
POST_BASELINE = item(
    "post-0",
    "Chinese and American officials discuss journalist visas in Beijing",
    "Diplomats from the United States and China discussed the return of foreign correspondents "
    "and visa quotas for reporters in Beijing.",
    minutes_ago=700,
)
ARMS = item(
    "wire-arms",
    "US approves $2 billion arms sale to Taiwan, including NASAMS air defense systems",
    "The State Department approved a possible $2 billion sale of NASAMS surface-to-air missile "
    "systems and radars to Taiwan on Monday, drawing an immediate protest from Beijing, which "
    "called the package a violation of its sovereignty and a threat to peace in the Taiwan "
    "Strait.",
    minutes_ago=30,
)
CLIMATE = item(
    "wire-climate",
    "US and China agree to cooperate on methane cuts ahead of COP29",
    "US climate envoy John Podesta and Chinese counterpart Liu Zhenmin agreed in Beijing to "
    "expand cooperation on methane emissions and climate finance before the COP29 climate "
    "conference in Baku.",
    minutes_ago=25,
)
FESTIVAL = item(
    "wire-festival",
    "Chinatown lunar festival draws record crowds downtown",
    "Thousands gathered for lanterns, dumplings and dragon dances at the annual neighborhood "
    "festival on Saturday, organizers said.",
    minutes_ago=20,
)
# Published six days earlier: a different event from today's arms sale (stories veto a gap of
# more than four days between publications), so it is a story of its own. Normalisation strips
# the tag-like ``<!channel>`` and ``<https://…|…>``; ``<@U123>`` reaches the renderers.
HOSTILE = item(
    "wire-hostile",
    "<!channel> Taiwan <@U123> arms sale <https://evil.example|click>",
    "Lawmakers in Taipei debated delays in deliveries of F-16 fighter jets and Harpoon missiles "
    "bought from the United States, as the Pentagon cited a backlog at defense contractors.",
    minutes_ago=6 * 24 * 60,
)
ARMS_SECOND_OUTLET = item(
    "post-arms",
    "Beijing protests $2 billion US arms sale to Taiwan of NASAMS missile systems",
    "China lodged a protest after the United States approved a $2 billion package of NASAMS "
    "air defense missile systems for Taiwan on Monday, saying the sale threatens peace in the "
    "Taiwan Strait.",
    minutes_ago=10,
)
CALL_REPORTS = (
    item(
        "wire-call",
        "Biden and Xi agree in phone call to restore military-to-military communication",
        "President Joe Biden and Chinese President Xi Jinping agreed on Tuesday during a phone "
        "call to restore military-to-military communication channels and to hold talks on "
        "artificial intelligence risks, the White House said.",
        minutes_ago=30,
    ),
    item(
        "post-call",
        "Xi tells Biden in call that Taiwan is the first red line as both sides resume "
        "military talks",
        "Chinese leader Xi Jinping told US President Joe Biden in a phone call on Tuesday that "
        "Taiwan remained the first red line, while the two agreed to resume "
        "military-to-military communication, Xinhua reported.",
        minutes_ago=25,
    ),
    item(
        "daily-call",
        "US and China leaders talk by phone, pledge to keep channels open",
        "US President Joe Biden and China's Xi Jinping spoke by telephone on Tuesday and "
        "pledged to keep communication channels open, officials in Washington and "
        "Beijing said.",
        minutes_ago=20,
    ),
)
DAILY_BASELINE = item(
    "daily-0",
    "Commerce Department adds Chinese drone makers to the entity list",
    "The US Commerce Department added several Chinese drone manufacturers to its entity list, "
    "restricting exports of American technology to them.",
    minutes_ago=800,
)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


@pytest.fixture
def news() -> Iterator[NewsServer]:
    with NewsServer() as server:
        yield server


def source(name: str, url: str) -> SourceConfig:
    return SourceConfig(name=name, url=url, type="rss", interval="10m")  # type: ignore[arg-type]


def settings(
    database_url: str,
    *,
    sources: list[SourceConfig],
    channels: list[ChannelConfig],
    fake: FakeSlack | None = None,
) -> Settings:
    return Settings(
        database_url=database_url,
        slack_bot_token=BOT_TOKEN if fake else None,  # type: ignore[arg-type]
        slack_signing_secret=SIGNING_SECRET if fake else None,  # type: ignore[arg-type]
        slack_api_url=fake.api_url if fake else None,
        allow_private_networks=True,
        file=FileConfig(sources=sources, channels=channels),
    )


@asynccontextmanager
async def running(config: Settings, clock: RunningClock) -> AsyncIterator[App]:
    """The app exactly as ``build_app`` wires it, with fast per-channel pacing for Slack."""
    app = await build_app(config, clock=clock)
    slack = app.notifiers.get("slack")
    if slack is not None:
        slack.min_interval_s = PACING_S  # type: ignore[attr-defined]
    try:
        yield app
    finally:
        await app.close()


async def poll(app: App) -> PollSummary:
    summary = await poll_due(app.poll_ports(), all_sources=True)
    assert summary.failed == 0, [r.error for r in summary.results]
    return summary


async def deliver(app: App) -> int:
    posted = await DeliveryWorker(app.delivery_ports(), policy=FAST).drain(timeout_s=30)
    counts = await app.store.deliveries.counts()
    assert not counts.get("pending") and not counts.get("sending"), counts
    return posted


async def outbox(store: Store) -> dict[int, Delivery]:
    """Every delivery of every channel, by id."""
    found: dict[int, Delivery] = {}
    for channel in await store.channels.all():
        for d in await store.deliveries.for_channel(channel.id):
            found[d.id] = d
    return found


async def story_of(store: Store, news_item: NewsItem) -> str:
    items = await store.items.between(START - timedelta(days=30), START + timedelta(days=1))
    (match,) = [i for i in items if i.url == news_item.link]
    assert match.story_key
    return match.story_key


async def story_rows(store: Store) -> int:
    async with store.db.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(story_t))).scalar_one())


def assert_valid_blocks(post: Post) -> None:
    assert post.blocks, post.text
    assert len(post.blocks) <= 50
    for block in post.blocks:
        rebuilt = SlackBlock.parse(block)  # slack_sdk's own classes validate the block
        assert rebuilt is not None and rebuilt.to_dict() == block, block


def assert_escaped(post: Post) -> None:
    everything = post.everything()
    for raw in HOSTILE_RAW:
        assert raw not in everything, (raw, everything)


@dataclass(frozen=True)
class Seen:
    """A post joined to the outbox row it came from."""

    post: Post
    delivery: Delivery


def joined(fake: FakeSlack, rows: dict[int, Delivery]) -> list[Seen]:
    seen = []
    for post in fake.posts:
        assert post.delivery_id in rows, post
        seen.append(Seen(post, rows[post.delivery_id]))
    return seen


# --------------------------------------------------------------------------- 1 and 2: Slack


SLACK_CHANNELS = [
    ChannelConfig(name="taiwan-desk", slack_channel="CTAIWAN", topics=["taiwan", "military"]),
    ChannelConfig(name="all", slack_channel="CALL"),
    ChannelConfig(
        name="climate",
        slack_channel="CCLIMATE",
        topics=["climate"],
        mode="digest",
    ),
]


async def run_slack_scenario(
    store: Store, database_url: str, fake: FakeSlack, news: NewsServer
) -> tuple[list[Seen], dict[str, str]]:
    """Baseline poll, then the wire's new items, then the second outlet's report."""
    wire = news.set("/wire.xml", rss_feed("Wire", [WIRE_BASELINE]))
    post = news.set("/post.xml", rss_feed("Post", [POST_BASELINE]))
    config = settings(
        database_url,
        sources=[source("Wire", wire), source("Post", post)],
        channels=SLACK_CHANNELS,
        fake=fake,
    )
    async with running(config, RunningClock()) as app:
        baseline = await poll(app)
        assert all(r.baseline for r in baseline.results)
        assert baseline.new_items == 2 and baseline.deliveries == 0
        assert await deliver(app) == 0

        news.set("/wire.xml", rss_feed("Wire", [HOSTILE, FESTIVAL, CLIMATE, ARMS, WIRE_BASELINE]))
        second = await poll(app)
        by_name = {r.name: r for r in second.results}
        assert by_name["Post"].status == "not_modified"  # ETag unchanged -> 304
        assert by_name["Wire"].new_items == 4 and by_name["Wire"].relevant_items == 3
        await deliver(app)

        news.set("/post.xml", rss_feed("Post", [ARMS_SECOND_OUTLET, POST_BASELINE]))
        third = await poll(app)
        by_name = {r.name: r for r in third.results}
        assert by_name["Wire"].status == "not_modified"
        assert by_name["Post"].new_items == 1
        await deliver(app)

    assert news.requests_for("/post.xml")[1].conditional
    stories = {
        "arms": await story_of(store, ARMS),
        "climate": await story_of(store, CLIMATE),
        "hostile": await story_of(store, HOSTILE),
    }
    assert await story_of(store, ARMS_SECOND_OUTLET) == stories["arms"]
    assert len(set(stories.values())) == 3
    return joined(fake, await outbox(store)), stories


def check_slack_posts(seen: list[Seen], stories: dict[str, str]) -> None:
    channels = {s.post.channel for s in seen}
    assert channels == {"CTAIWAN", "CALL"}  # nothing for the digest-only channel
    expected_alerts = {"CTAIWAN": {"arms", "hostile"}, "CALL": {"arms", "climate", "hostile"}}
    name_of = {key: name for name, key in stories.items()}
    for channel, names in expected_alerts.items():
        mine = [s for s in seen if s.post.channel == channel]
        alerts = [s for s in mine if s.delivery.kind == "alert"]
        followups = [s for s in mine if s.delivery.kind == "followup"]
        offers = [s for s in mine if s.delivery.kind == "proposal"]
        assert len(mine) == len(alerts) + len(followups) + len(offers), [
            s.delivery.kind for s in mine
        ]
        # the climate item mentions COP29 in November: offered where climate is followed live
        if "climate" in names:
            (offer,) = offers
            assert offer.post.text.startswith("Track this? COP29")
        else:
            assert offers == []
        # one alert per story per channel, top level
        assert Counter(name_of[s.delivery.story_key or ""] for s in alerts) == Counter(names)
        assert all(s.post.thread_ts is None for s in alerts)
        # the second outlet's report, threaded under the channel's arms alert
        (arms_alert,) = [s for s in alerts if s.delivery.story_key == stories["arms"]]
        assert ARMS.title in arms_alert.post.text
        (followup,) = followups
        assert followup.delivery.story_key == stories["arms"]
        assert followup.post.thread_ts == arms_alert.post.ts
        assert "Beijing protests $2 billion US arms sale" in followup.post.everything()
    for s in seen:
        assert_valid_blocks(s.post)
        assert_escaped(s.post)
        assert FESTIVAL.title not in s.post.everything()
    hostile = [s for s in seen if s.delivery.story_key == stories["hostile"]]
    assert len(hostile) == 2
    for s in hostile:  # the text is still there, neutralised
        assert "Taiwan" in s.post.text and "arms sale" in s.post.text


async def test_slack_alerts_after_a_poll(
    store: Store, database_url: str, fake: FakeSlack, news: NewsServer
) -> None:
    seen, stories = await run_slack_scenario(store, database_url, fake, news)
    check_slack_posts(seen, stories)
    assert len(seen) == 8  # 5 alerts, 2 follow-ups, 1 proposal
    assert set(fake.delivery_counts().values()) == {1}


async def test_slack_alerts_arrive_once_despite_rate_limits(
    store: Store, database_url: str, fake: FakeSlack, news: NewsServer
) -> None:
    fake.rate_limit_every = 3
    fake.retry_after = 1
    seen, stories = await run_slack_scenario(store, database_url, fake, news)
    check_slack_posts(seen, stories)
    rows = await outbox(store)
    sent = {d.id for d in rows.values() if d.status == "sent"}
    assert len(sent) == 8 and len(rows) == 8
    counts = fake.delivery_counts()
    assert set(counts) == sent
    assert set(counts.values()) == {1}  # every alert exactly once
    refused = len(fake.calls_to("chat.postMessage")) - len(fake.posts)
    assert refused >= 2  # the fake really answered 429 along the way


# --------------------------------------------------------------------------- 3: Teams


def card_texts(envelope: dict[str, Any]) -> str:
    return " ".join(str(e.get("text", "")) for e in envelope["attachments"][0]["content"]["body"])


def assert_card_envelope(envelope: dict[str, Any]) -> None:
    assert envelope["type"] == "message"
    (attachment,) = envelope["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard"
    assert card["version"] == "1.5"
    assert card["body"] and all(isinstance(e.get("type"), str) for e in card["body"])


async def test_teams_channels_get_adaptive_cards_after_a_poll(
    sqlite_store: Store, sqlite_url: str, news: NewsServer
) -> None:
    with FakeTeams() as teams:
        wire = news.set("/wire.xml", rss_feed("Wire", [WIRE_BASELINE]))
        config = settings(
            sqlite_url,
            sources=[source("Wire", wire)],
            channels=[
                ChannelConfig(
                    name="teams-desk",
                    teams_webhook_url=teams.webhook("desk"),  # type: ignore[arg-type]
                    topics=["taiwan", "military"],
                ),
                ChannelConfig(
                    name="teams-climate",
                    teams_webhook_url=teams.webhook("climate"),  # type: ignore[arg-type]
                    topics=["climate"],
                ),
            ],
        )
        async with running(config, RunningClock()) as app:
            assert "teams" in app.notifiers
            await poll(app)
            news.set("/wire.xml", rss_feed("Wire", [FESTIVAL, CLIMATE, ARMS, WIRE_BASELINE]))
            summary = await poll(app)
            assert summary.deliveries == 2  # alerts; the COP29 proposal is queued separately
            assert await deliver(app) == 3
        desk, climate = teams.accepted("desk"), teams.accepted("climate")
        assert len(teams.posts()) == 3  # no retries, nothing else
    assert len(desk) == 1 and len(climate) == 2
    for envelope in desk + climate:
        assert_card_envelope(envelope)
        assert FESTIVAL.title not in card_texts(envelope)
    assert ARMS.title in card_texts(desk[0])
    assert CLIMATE.title in card_texts(climate[0])
    assert "COP29" in card_texts(climate[1]) and "Track this" in card_texts(climate[1])


# --------------------------------------------------------------------------- 4: seed article

SEED_TOPICS = {
    "diplomacy",
    "climate",
    "military",
    "ai",
    "taiwan",
    "fentanyl",
    "south_china_sea",
    "sanctions",
}
SEED_NOW = datetime(2024, 8, 29, 18, 0, tzinfo=UTC)


def track_button(post: Post) -> dict[str, Any]:
    for block in post.blocks or []:
        for element in block.get("elements", []):
            if element.get("type") == "button" and element.get("text", {}).get("text") == (
                "Track this"
            ):
                return dict(element)
    raise AssertionError(f"no Track this button in {post.blocks}")


async def test_seed_article_proposes_events_and_track_this_creates_one_countdown(
    sqlite_store: Store, sqlite_url: str, fake: FakeSlack, news: NewsServer
) -> None:
    title, description = seed_parts()
    seed = NewsItem(
        guid="seed-1",
        title=title,
        link="https://seed.example/biden-xi-call",
        summary=description,
        published=datetime(2024, 8, 29, 14, 0, tzinfo=UTC),
    )
    baseline = NewsItem(
        guid="seed-0",
        title="Commerce Department adds Chinese drone makers to the entity list",
        link="https://seed.example/entity-list",
        summary="The US Commerce Department added Chinese drone manufacturers to its entity list.",
        published=datetime(2024, 8, 28, 14, 0, tzinfo=UTC),
    )
    feed = news.set("/seed.xml", rss_feed("Seed", [baseline]))
    config = settings(
        sqlite_url,
        sources=[source("Seed Times", feed)],
        channels=[ChannelConfig(name="china-desk", slack_channel="CDESK")],
        fake=fake,
    )
    clock = RunningClock(SEED_NOW, frozen=True)
    store = sqlite_store
    async with running(config, clock) as app:
        app.notifiers["slack"].min_interval_s = 0  # type: ignore[attr-defined]
        await poll(app)
        news.set("/seed.xml", rss_feed("Seed", [seed, baseline]))
        summary = await poll(app)
        assert summary.relevant_items == 1

        items = await store.items.between(SEED_NOW - timedelta(days=1), SEED_NOW + timedelta(1))
        (stored,) = [i for i in items if i.url == seed.link]
        assert stored.relevant
        assert set(stored.topics) >= SEED_TOPICS, stored.topics

        proposals = await store.countdowns.proposals()
        labels = {p.label: p for p in proposals}
        assert {"Biden–Xi call", "Podesta visit to Beijing", "COP29"} <= set(labels)
        assert set(labels) <= {
            "Biden–Xi call",
            "Podesta visit to Beijing",
            "COP29",
            "US presidential election 2024",
        }
        cop = labels["COP29"]
        assert (cop.start, cop.end) == (date(2024, 11, 11), date(2024, 11, 22))
        assert labels["Biden–Xi call"].start > SEED_NOW.date()
        assert labels["Podesta visit to Beijing"].start > SEED_NOW.date()

        await deliver(app)
        rows = await outbox(store)
        kinds = Counter(rows[p.delivery_id].kind for p in fake.posts if p.delivery_id)
        assert kinds == {"alert": 1, "proposal": len(proposals)}
        offers = [p for p in fake.posts if rows[p.delivery_id or 0].kind == "proposal"]
        call = labels["Biden–Xi call"]
        (offer,) = [p for p in offers if "Biden–Xi call" in p.text]
        assert_valid_blocks(offer)
        button = track_button(offer)
        assert button["value"] == str(call.id)

        clock.wall = True  # signed requests are checked against the wall clock
        web = Starlette(routes=slack_routes(app.chat, app.settings))
        transport = httpx.ASGITransport(app=web)
        async with httpx.AsyncClient(transport=transport, base_url="http://bot.test") as client:
            env = SlackEnv(app, fake, client)
            for click in (1, 2):
                response = await env.action(button["action_id"], button["value"], channel="CDESK")
                assert response.status_code == 200, response.text
                await fake.wait_for(lambda n=click: len(fake.responses) >= n)
        countdowns = [c for c in await store.countdowns.all(status=None) if c.source == "proposal"]
        assert len(countdowns) == 1
        (countdown,) = countdowns
        assert countdown.name == "Biden–Xi call"
        assert (countdown.start, countdown.end) == (call.start, call.end)
        assert countdown.tentative
        tracked = await store.countdowns.proposal(call.id)
        assert tracked is not None and tracked.countdown_id == countdown.id
        answers = [body.get("text", "") for _, body in fake.responses]
        assert len(answers) == 2
        assert all(f"countdown #{countdown.id}" in a for a in answers), answers


# --------------------------------------------------------------------------- 5: one story


async def run_three_outlets(database_url: str, fake: FakeSlack, news: NewsServer) -> None:
    """Three outlets baselined, then each reports today's Biden–Xi call in one poll."""
    baselines = {"wire": WIRE_BASELINE, "post": POST_BASELINE, "daily": DAILY_BASELINE}
    urls = {n: news.set(f"/{n}.xml", rss_feed(n, [b])) for n, b in baselines.items()}
    config = settings(
        database_url,
        sources=[source(n.title(), u) for n, u in urls.items()],
        channels=[
            ChannelConfig(name="all", slack_channel="CALL"),
            ChannelConfig(name="diplomacy", slack_channel="CDIP", topics=["diplomacy"]),
            ChannelConfig(name="military", slack_channel="CMIL", topics=["military"]),
        ],
        fake=fake,
    )
    async with running(config, RunningClock()) as app:
        await poll(app)
        for report in CALL_REPORTS:
            name = report.guid.split("-")[0]
            news.set(f"/{name}.xml", rss_feed(name, [report, baselines[name]]))
        summary = await poll(app)
        assert summary.new_items == 3 and summary.relevant_items == 3
        await deliver(app)


async def test_same_event_from_three_outlets_is_one_story(
    store: Store, database_url: str, fake: FakeSlack, news: NewsServer
) -> None:
    await run_three_outlets(database_url, fake, news)
    keys = {await story_of(store, report) for report in CALL_REPORTS}
    assert len(keys) == 1
    (key,) = keys
    assert len(await store.items.in_story(key)) == 3
    assert await story_rows(store) == 4  # three baseline stories and this one
    story = await store.stories.get(key)
    assert story is not None and len(story.outlets) == 3

    rows = await outbox(store)
    seen = [s for s in joined(fake, rows) if s.delivery.kind in ("alert", "followup")]
    # the third report is diplomacy only, so the military desk gets two of the three
    expected = {"CALL": 2, "CDIP": 2, "CMIL": 1}
    for channel, followups in expected.items():
        mine = [s for s in seen if s.post.channel == channel]
        alerts = [s for s in mine if s.delivery.kind == "alert"]
        assert len(alerts) == 1, [s.delivery.kind for s in mine]
        (alert,) = alerts
        assert alert.delivery.story_key == key and alert.post.thread_ts is None
        replies = [s for s in mine if s.delivery.kind == "followup"]
        assert len(replies) == followups, channel
        assert all(s.post.thread_ts == alert.post.ts for s in replies)
        for s in mine:
            assert_valid_blocks(s.post)
    assert set(fake.delivery_counts().values()) == {1}


async def test_a_call_held_today_is_not_offered_as_upcoming(
    sqlite_store: Store, sqlite_url: str, fake: FakeSlack, news: NewsServer
) -> None:
    await run_three_outlets(sqlite_url, fake, news)
    calls = [p for p in await sqlite_store.countdowns.proposals() if p.label == "Biden–Xi call"]
    assert all(p.start <= START.date() for p in calls), [(p.start, p.certainty) for p in calls]
