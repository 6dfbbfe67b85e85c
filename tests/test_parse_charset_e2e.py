"""The HTTP charset travels from a real server through the fetcher and the poll job.

A Chinese official-style feed in GBK with no XML declaration is readable only with the
``charset=gbk`` of its Content-Type; the same bytes without it are not UTF-8.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from feedserver import FeedServer

from bot.cli import main
from bot.config import load_settings
from bot.domain.parse import parse_feed
from bot.sources.http import Fetcher
from storage.db import Database
from storage.store import Store

pytestmark = pytest.mark.timeout(120)

TITLES = ("中美经贸磋商牵头人举行视频通话", "外交部发言人就美方对华出口管制答记者问")
GBK_FEED = (
    '<rss version="2.0"><channel><title>外交部新闻</title><link>https://fmprc.example/</link>'
    + "".join(
        f"<item><title>{title}</title><link>https://fmprc.example/news/{i}.html</link>"
        f"<guid>https://fmprc.example/news/{i}.html</guid>"
        f"<pubDate>Mon, 02 Sep 2024 0{i}:00:00 +0800</pubDate>"
        "<description>美国 &amp; 中国</description></item>"
        for i, title in enumerate(TITLES)
    )
    + "</channel></rss>"
).encode("gbk")


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer(n_feeds=1, items_per_feed=1) as srv:
        srv.serve("/gbk", GBK_FEED, "application/rss+xml; charset=gbk")
        srv.serve("/gbk-text-xml", GBK_FEED, "text/xml;charset=GBK")
        srv.serve("/gbk-unlabelled", GBK_FEED, "application/rss+xml")
        yield srv


async def fetch_and_parse(url: str) -> list[str]:
    async with Fetcher(allow_private_networks=True) as fetcher:
        outcome = await fetcher.fetch(url)
    assert outcome.ok, outcome.error
    feed = parse_feed(outcome.body, url=url, content_type=outcome.headers.get("content-type"))
    return [entry.title for entry in feed.entries]


@pytest.mark.parametrize("path", ["/gbk", "/gbk-text-xml"])
def test_fetched_gbk_feed_reads_as_chinese(server: FeedServer, path: str) -> None:
    assert asyncio.run(fetch_and_parse(server.url(path))) == list(TITLES)


def test_same_bytes_without_the_charset_are_not_read_as_chinese(server: FeedServer) -> None:
    titles = asyncio.run(fetch_and_parse(server.url("/gbk-unlabelled")))
    assert len(titles) == len(TITLES)
    assert not set(titles) & set(TITLES)


async def stored_titles(database_url: str) -> list[str]:
    store = Store(Database(database_url))
    try:
        return sorted(item.title for item in await store.items.many(await store.items.all_ids()))
    finally:
        await store.close()


def test_poll_stores_gbk_titles_correctly(
    server: FeedServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = {"sources": [{"name": "MFA (GBK)", "url": server.url("/gbk"), "type": "rss"}]}
    path = tmp_path / "uschina-bot.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("USCHINA_BOT_CONFIG", str(path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'bot.db'}")
    monkeypatch.setenv("USCHINA_BOT_ALLOW_PRIVATE_NETWORKS", "1")
    assert main(["poll", "--once", "--json"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["sources_ok"] == 1 and report["new_items"] == len(TITLES)
    assert asyncio.run(stored_titles(load_settings().database_url)) == sorted(TITLES)
