"""Conditional GET, cache headers, header parsing, and concurrency of the fetcher."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from feedserver import FeedServer
from feedserver_fixtures import feed_server  # noqa: F401

from bot.sources.http import Fetcher, parse_max_age, parse_retry_after

pytestmark = pytest.mark.timeout(60)


async def test_etag_round_trip_gives_304_and_is_recorded(
    feed_server: FeedServer,  # noqa: F811
) -> None:
    feed = feed_server.feeds[2]
    async with Fetcher(allow_private_networks=True) as f:
        first = await f.fetch(feed.url)
        second = await f.fetch(feed.url, etag=first.headers["etag"])
    assert first.status == 200
    assert first.headers["etag"] == feed.etag
    assert first.max_age_s == 60.0
    assert second.ok and second.status == 304 and second.not_modified
    assert second.body == b""
    conditional = [r.conditional for r in feed_server.requests_for(feed.path)]
    assert conditional == [False, True]


async def test_last_modified_round_trip_gives_304(feed_server: FeedServer) -> None:  # noqa: F811
    feed = feed_server.feeds[1]
    async with Fetcher(allow_private_networks=True) as f:
        outcome = await f.fetch(feed.url, last_modified=feed.last_modified)
    assert outcome.status == 304
    request = feed_server.requests_for(feed.path)[0]
    assert request.headers["if-modified-since"] == feed.last_modified


async def test_changed_feed_answers_200_to_old_etag(feed_server: FeedServer) -> None:  # noqa: F811
    old = feed_server.feeds[0]
    new = feed_server.publish(0, n=2)
    async with Fetcher(allow_private_networks=True) as f:
        outcome = await f.fetch(old.url, etag=old.etag)
    assert outcome.status == 200
    assert outcome.headers["etag"] == new.etag != old.etag


async def test_slow_source_does_not_delay_fast_ones(feed_server: FeedServer) -> None:  # noqa: F811
    finished: list[str] = []

    async def run(f: Fetcher, name: str, url: str) -> None:
        outcome = await f.fetch(url)
        finished.append(name if outcome.ok else name + ":failed")

    async with Fetcher(allow_private_networks=True, deadline_s=3, per_host=4) as f:
        slow = asyncio.create_task(run(f, "slow", feed_server.url(FeedServer.SLOW + "?s=30")))
        await asyncio.sleep(0.05)  # the slow request is in flight first
        fast = [run(f, f"feed{feed.index}", feed.url) for feed in feed_server.feeds]
        await asyncio.gather(*fast)
        fast_done = list(finished)
        await slow
    assert sorted(fast_done) == sorted(f"feed{feed.index}" for feed in feed_server.feeds)
    assert finished[-1] == "slow:failed"
    slow_request = feed_server.requests_for(FeedServer.SLOW)[0]
    fast_requests = [r for r in feed_server.requests if r.path.startswith("/feeds/")]
    assert all(r.started > slow_request.started for r in fast_requests)
    assert slow_request.finished == 0.0  # still sleeping while every fast feed was served


async def test_fetch_many_keeps_input_order(feed_server: FeedServer) -> None:  # noqa: F811
    feeds = feed_server.feeds[:5]
    async with Fetcher(allow_private_networks=True) as f:
        outcomes = await f.fetch_many([(feed.url, None, None) for feed in feeds])
    assert [o.body for o in outcomes] == [feed.body for feed in feeds]


def test_retry_after_seconds_and_http_date() -> None:
    now = datetime(2024, 9, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("120", now) == 120.0
    assert parse_retry_after("Sun, 01 Sep 2024 12:05:00 GMT", now) == 300.0
    assert parse_retry_after("Sun, 01 Sep 2024 11:00:00 GMT", now) == 0.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None


def test_max_age_parsing() -> None:
    assert parse_max_age("public, max-age=600") == 600.0
    assert parse_max_age("s-maxage=10, max-age=30") == 30.0
    assert parse_max_age("no-cache") == 0.0
    assert parse_max_age("private") is None
    assert parse_max_age(None) is None


async def test_fetch_outside_context_manager_is_a_programming_error() -> None:
    with pytest.raises(RuntimeError):
        await Fetcher().fetch("http://example.com/")
