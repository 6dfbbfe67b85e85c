"""A burst stays a burst per poll cycle, not per source: however many sources bring relevant
news at once, a channel gets at most ``alerts_per_channel_per_poll`` alerts in the cycle and
one summary of the rest (``bot.domain.route.route_batch``/``cap_alerts``, ``BurstTally``
carried by ``jobs.poll.Poller`` from source to source, ``cycle_summaries`` at the end).

Feeds come from ``NewsServer`` on 127.0.0.1, the app from ``build_app``, Slack is
``FakeSlack``; ``poll_due`` (``poll --once``) and ``Poller.tick`` (``run``) are the real ones.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fakeslack import FakeSlack
from newsserver import NewsServer, rss_feed
from test_e2e_pipeline import START, RunningClock, deliver, item, poll, running, settings, source

from bot.app import App
from bot.config import ChannelConfig
from bot.domain.codec import message_from_dict
from jobs.poll import VIEW_MAX_AGE, Poller
from storage.repos.deliveries import Delivery
from storage.store import Store  # the fixture empties the PostgreSQL database

pytestmark = pytest.mark.timeout(120)

CAP = 5  # alerts_per_channel_per_poll's default

# Sixteen unrelated US-China stories (distinct events, outlets and wording), four per source.
NEWS = [
    [
        item(
            "wire-chips",
            "US Commerce Department tightens export controls on advanced AI chips to China",
            "New rules bar Nvidia and AMD from shipping high-end accelerators to Chinese "
            "customers and close loopholes used by subsidiaries in Singapore and Malaysia.",
            minutes_ago=50,
        ),
        item(
            "wire-scs",
            "Chinese coast guard fires water cannon at Philippine vessel near Second Thomas Shoal",
            "Washington condemned the collision in the South China Sea and reaffirmed its mutual "
            "defense treaty with Manila after two sailors were injured.",
            minutes_ago=49,
        ),
        item(
            "wire-fentanyl",
            "DEA indicts Chinese chemical firms for supplying fentanyl precursors to cartels",
            "Federal prosecutors in New York charged four companies in Wuhan with shipping "
            "precursor chemicals to Sinaloa traffickers through Mexican ports.",
            minutes_ago=48,
        ),
        item(
            "wire-tiktok",
            "Supreme Court hears ByteDance challenge to TikTok divestment law",
            "Justices weighed whether the statute forcing the Beijing-based owner to sell the "
            "app or face a ban in the United States violates the First Amendment.",
            minutes_ago=47,
        ),
    ],
    [
        item(
            "post-spy",
            "FBI arrests Navy sailor accused of passing secrets to Chinese intelligence officer",
            "The petty officer stationed in San Diego is charged with selling photographs of "
            "amphibious assault ship manuals to a handler from the Ministry of State Security.",
            minutes_ago=46,
        ),
        item(
            "post-ev",
            "Washington quadruples tariffs on Chinese electric vehicles to 100 percent",
            "The Section 301 increase also raises duties on lithium batteries, solar cells and "
            "medical syringes made in China, the trade representative announced.",
            minutes_ago=45,
        ),
        item(
            "post-students",
            "State Department revokes visas of Chinese graduate students in sensitive fields",
            "Consulates in Shanghai and Guangzhou told applicants in aerospace engineering that a "
            "presidential proclamation on military-civil fusion bars their entry.",
            minutes_ago=44,
        ),
        item(
            "post-treasury",
            "Treasury sanctions Hong Kong shipping companies for evading Iran oil embargo",
            "OFAC designated six tanker operators registered in Hong Kong and Shandong that "
            "moved Iranian crude to teapot refineries, officials said.",
            minutes_ago=43,
        ),
    ],
    [
        item(
            "daily-panda",
            "China sends two giant pandas to San Diego Zoo in renewed panda diplomacy",
            "Yun Chuan and Xin Bao arrived from Sichuan on a chartered FedEx flight, the first "
            "pandas to enter the United States in two decades.",
            minutes_ago=42,
        ),
        item(
            "daily-hack",
            "Microsoft says Chinese hackers Volt Typhoon breached Guam water utilities",
            "The state-sponsored group planted malware in critical infrastructure networks on "
            "the Pacific island that hosts American bombers, investigators said.",
            minutes_ago=41,
        ),
        item(
            "daily-balloon",
            "Pentagon tracks Chinese surveillance balloon drifting over Montana missile fields",
            "Officials said the high-altitude airship crossed Malmstrom Air Force Base before "
            "fighter jets were ordered to shoot it down off South Carolina.",
            minutes_ago=40,
        ),
        item(
            "daily-soybeans",
            "Beijing suspends purchases of American soybeans as trade war escalates",
            "State buyers Cofco and Sinograin cancelled cargoes from Iowa and Illinois farms "
            "after retaliatory tariffs took effect, traders in Chicago said.",
            minutes_ago=39,
        ),
    ],
    [
        item(
            "times-blinken",
            "Blinken meets Wang Yi in Beijing to stabilise strained relations",
            "The secretary of state and China's foreign minister held five hours of talks at "
            "the Diaoyutai guesthouse on Ukraine, Taiwan and military hotlines.",
            minutes_ago=38,
        ),
        item(
            "times-nukes",
            "Pentagon warns China is expanding its nuclear arsenal faster than expected",
            "The annual report to Congress estimates Beijing now has more than 600 operational "
            "warheads and is building missile silos in Gansu and Xinjiang.",
            minutes_ago=37,
        ),
        item(
            "times-rare",
            "China bans exports of gallium and germanium to the United States",
            "The commerce ministry said the rare metals used in semiconductors and night vision "
            "equipment can no longer be shipped to American buyers.",
            minutes_ago=36,
        ),
        item(
            "times-detained",
            "American pastor freed from Chinese prison after wrongful detention",
            "David Lin returned to California after nearly twenty years behind bars in a "
            "prisoner exchange negotiated by the State Department.",
            minutes_ago=35,
        ),
    ],
]
BASELINES = [
    item(
        f"{outlet}-0",
        "US and China hold counternarcotics working group talks in Washington",
        "Officials from both governments met to review cooperation.",
        minutes_ago=600,
    )
    for outlet in ("wire", "post", "daily", "times")
]
CHANNELS = [ChannelConfig(name="china-desk", slack_channel="CDESK")]


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


@pytest.fixture
def news() -> Iterator[NewsServer]:
    with NewsServer() as server:
        yield server


def feeds(news: NewsServer, *, fresh: bool) -> list[str]:
    urls = []
    for n, (baseline, new) in enumerate(zip(BASELINES, NEWS, strict=True)):
        body = rss_feed(f"Outlet {n}", [*new, baseline] if fresh else [baseline])
        urls.append(news.set(f"/outlet{n}.xml", body))
    return urls


async def desk_rows(app: App) -> list[Delivery]:
    channel = await app.store.channels.by_name("china-desk")
    assert channel is not None
    rows = await app.store.deliveries.for_channel(channel.id)
    return [d for d in rows if d.kind in ("alert", "followup", "burst_summary")]


def summary_text(row: Delivery) -> str:
    return message_from_dict(row.payload).fallback


async def test_many_sources_give_a_channel_the_cap_and_one_summary_per_poll(
    store: Store, database_url: str, fake: FakeSlack, news: NewsServer
) -> None:
    urls = feeds(news, fresh=False)
    config = settings(
        database_url,
        sources=[source(f"Outlet {n}", url) for n, url in enumerate(urls)],
        channels=CHANNELS,
        fake=fake,
    )
    async with running(config, RunningClock()) as app:
        assert app.settings.file.alerts_per_channel_per_poll == CAP
        await poll(app)  # baseline
        feeds(news, fresh=True)
        second = await poll(app)
        relevant = second.relevant_items
        assert relevant == 16, [(r.name, r.relevant_items) for r in second.results]
        rows = await desk_rows(app)
        alerts = [d for d in rows if d.kind == "alert"]
        summaries = [d for d in rows if d.kind == "burst_summary"]
        assert len(alerts) == CAP  # not 5 per source: 4 sources would have given 16
        assert len(summaries) == 1
        text = summary_text(summaries[0])
        assert f"{relevant - CAP} more relevant items" in text and "china-desk" in text, text
        await deliver(app)
        posts = [p for p in fake.posts if p.channel == "CDESK"]
        assert len(posts) == CAP + 1 + sum(d.kind == "followup" for d in rows)
        assert sum("more relevant items" in p.text for p in posts) == 1

        third = await poll(app)  # nothing new: no alert and no second summary
        assert third.deliveries == 0
        assert len([d for d in await desk_rows(app) if d.kind == "burst_summary"]) == 1


async def test_run_ticks_close_the_cycle_with_its_summary(
    sqlite_url: str, fake: FakeSlack, news: NewsServer
) -> None:
    """``run``: sources started by ticks share a cycle (one routing window); the summary is
    queued once the window has passed with nothing in flight, not per source."""
    urls = feeds(news, fresh=False)
    config = settings(
        sqlite_url,
        sources=[source(f"Outlet {n}", url) for n, url in enumerate(urls)],
        channels=CHANNELS,
        fake=fake,
    )
    clock = RunningClock(frozen=True)
    async with running(config, clock) as app:
        await poll(app)  # baseline; every source is next due in about ten minutes
        feeds(news, fresh=True)
        clock.start = START + timedelta(minutes=30)
        async with Poller(app.poll_ports(), workers=0) as poller:
            assert await poller.tick() == 4
            for _ in range(600):
                if len(poller.finished) == 4:
                    break
                await asyncio.sleep(0.05)
            assert [r.status for r in poller.finished] == ["ok"] * 4
            rows = await desk_rows(app)
            assert sum(d.kind == "alert" for d in rows) == CAP
            assert not [d for d in rows if d.kind == "burst_summary"]  # the cycle is open
            clock.start += VIEW_MAX_AGE - timedelta(seconds=1)
            await poller.tick()
            assert not [d for d in await desk_rows(app) if d.kind == "burst_summary"]
            clock.start += timedelta(seconds=1)
            await poller.tick()  # the window has passed, nothing in flight: the cycle ends
            summaries = [d for d in await desk_rows(app) if d.kind == "burst_summary"]
            assert len(summaries) == 1
            assert "11 more relevant items" in summary_text(summaries[0])
        # closing the poller does not queue another summary for the same cycle
        assert len([d for d in await desk_rows(app) if d.kind == "burst_summary"]) == 1
