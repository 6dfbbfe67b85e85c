"""Every hostile endpoint becomes ok=False with words a person understands."""

from __future__ import annotations

import pytest
from feedserver import FeedServer
from feedserver_fixtures import feed_server  # noqa: F401

from bot.sources.http import Fetcher

pytestmark = pytest.mark.timeout(60)


def fetcher(**kw: object) -> Fetcher:
    options: dict[str, object] = {"allow_private_networks": True, "deadline_s": 1.5}
    options.update(kw)
    return Fetcher(**options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("path", "words", "status"),
    [
        (FeedServer.HTTP_500, "server error 500", 500),
        ("/status/404", "not found (HTTP 404)", 404),
        ("/status/403", "access denied (HTTP 403)", 403),
        (FeedServer.LOOP, "redirect loop", 302),
        ("/redirect/9", "too many redirects (more than 5)", 0),
        (FeedServer.BIG, "response larger than 10 MiB", 0),
        (FeedServer.BIG_CHUNKED, "response larger than 10 MiB", 0),
        (FeedServer.GZIP_BOMB, "response larger than 10 MiB once decompressed", 0),
        (FeedServer.GZIP_GZIP, "unsupported content encoding 'gzip, gzip'", 0),
        (FeedServer.SLOW, "timed out after 1.5 s", 0),
        (FeedServer.DRIP, "timed out after 1.5 s", 0),
    ],
)
async def test_hostile_endpoint_fails_with_reason(
    feed_server: FeedServer,  # noqa: F811
    path: str,
    words: str,
    status: int,
) -> None:
    async with fetcher() as f:
        outcome = await f.fetch(feed_server.url(path))
    assert outcome.ok is False
    assert outcome.error == words or outcome.error.startswith(words)  # type: ignore[union-attr]
    assert outcome.status == status
    assert outcome.body == b""


async def test_drip_server_did_send_bytes_but_deadline_won(
    feed_server: FeedServer,  # noqa: F811
) -> None:
    async with fetcher(deadline_s=2.5) as f:
        outcome = await f.fetch(feed_server.url(FeedServer.DRIP + "?every=0.5"))
    assert outcome.error == "timed out after 2.5 s"
    assert 2.4 < outcome.elapsed_s < 10


async def test_smaller_cap_is_reported_in_its_own_units(
    feed_server: FeedServer,  # noqa: F811
) -> None:
    async with fetcher(max_bytes=4096) as f:
        outcome = await f.fetch(feed_server.feeds[0].url)
    assert outcome.ok is False
    assert outcome.error == "response larger than 4 KiB"


async def test_compressed_feeds_are_inflated(feed_server: FeedServer) -> None:  # noqa: F811
    async with fetcher() as f:
        for path in (FeedServer.GZIP_FEED, FeedServer.DEFLATE_FEED):
            outcome = await f.fetch(feed_server.url(path))
            assert outcome.ok, outcome.error
            assert outcome.body == feed_server.feeds[0].body


async def test_redirect_chain_within_limit_is_followed(
    feed_server: FeedServer,  # noqa: F811
) -> None:
    async with fetcher() as f:
        outcome = await f.fetch(feed_server.url("/redirect/5"))
    assert outcome.ok
    assert outcome.final_url == feed_server.feeds[0].url
    assert outcome.body == feed_server.feeds[0].body


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("ftp://example.com/feed", "unsupported URL scheme 'ftp' (only http and https)"),
        ("file:///etc/passwd", "unsupported URL scheme 'file' (only http and https)"),
        ("gopher://example.com/", "unsupported URL scheme 'gopher' (only http and https)"),
        ("http:///nohost", "the URL has no host name"),
    ],
)
async def test_non_http_urls_are_refused(url: str, words: str) -> None:
    async with fetcher() as f:
        outcome = await f.fetch(url)
    assert outcome.ok is False
    assert outcome.error == words


async def test_redirect_to_non_http_scheme_is_refused(
    feed_server: FeedServer,  # noqa: F811
) -> None:
    async with fetcher() as f:
        outcome = await f.fetch(feed_server.url("/redirect-to?url=file:///etc/passwd"))
    assert outcome.ok is False
    assert outcome.error == "unsupported URL scheme 'file' (only http and https)"


async def test_connection_refused_is_a_result_not_an_exception() -> None:
    async with fetcher() as f:
        outcome = await f.fetch("http://127.0.0.1:9/feed")
    assert outcome.ok is False
    assert outcome.error == "could not connect to the server"


async def test_retry_after_is_reported_on_429(feed_server: FeedServer) -> None:  # noqa: F811
    async with fetcher() as f:
        outcome = await f.fetch(feed_server.url("/status/429"))
    assert outcome.error == "rate limited by the server (HTTP 429)"
    assert outcome.retry_after_s == 120.0
