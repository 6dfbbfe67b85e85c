"""SSRF guard: private addresses are refused on the first hop, on redirects, and for any
resolved address; the connection goes to the address that was checked."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from feedserver import FeedServer
from feedserver_fixtures import feed_server  # noqa: F401

from bot.sources.http import Fetcher, address_is_public, redact_url

pytestmark = pytest.mark.timeout(60)


def fake_resolver(table: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    async def resolve(host: str, port: int) -> Sequence[str]:
        if host not in table:
            raise OSError("no such host")
        return table[host]

    return resolve


async def test_loopback_literal_is_refused_without_connecting(
    feed_server: FeedServer,  # noqa: F811
) -> None:
    async with Fetcher(allow_private_networks=False) as f:
        outcome = await f.fetch(feed_server.feeds[0].url)
    assert outcome.ok is False
    assert outcome.error is not None
    assert outcome.error.startswith("refused: 127.0.0.1 resolves to a private or local")
    assert feed_server.requests == []


async def test_localhost_name_is_refused(feed_server: FeedServer) -> None:  # noqa: F811
    async with Fetcher(allow_private_networks=False) as f:
        outcome = await f.fetch(f"http://localhost:{feed_server.port}/feeds/0")
    assert outcome.ok is False
    assert "private or local network address" in (outcome.error or "")
    assert feed_server.requests == []


async def test_redirect_to_loopback_is_refused(feed_server: FeedServer) -> None:  # noqa: F811
    # feeds.test is an allowed host that happens to be served by the local test server;
    # it redirects to 127.0.0.1, which must be refused before any connection is made.
    target = f"http://127.0.0.1:{feed_server.port}/feeds/1"
    resolver = fake_resolver({"feeds.test": ["127.0.0.1"], "127.0.0.1": ["127.0.0.1"]})
    async with Fetcher(
        allow_private_networks=False, trusted_hosts=["feeds.test"], resolver=resolver
    ) as f:
        direct = await f.fetch(f"http://feeds.test:{feed_server.port}/feeds/1")
        outcome = await f.fetch(f"http://feeds.test:{feed_server.port}/redirect-to?url={target}")
    assert direct.ok, direct.error
    assert outcome.ok is False
    assert "refused: 127.0.0.1 resolves to a private or local" in (outcome.error or "")
    assert [r.path for r in feed_server.requests] == ["/feeds/1", "/redirect-to"]


async def test_any_private_address_among_several_is_refused() -> None:
    resolver = fake_resolver({"mixed.example": ["93.184.216.34", "10.0.0.7"]})
    async with Fetcher(allow_private_networks=False, resolver=resolver) as f:
        outcome = await f.fetch("http://mixed.example/feed")
    assert outcome.ok is False
    assert "(10.0.0.7)" in (outcome.error or "")


async def test_unknown_host_is_a_readable_failure() -> None:
    async with Fetcher(resolver=fake_resolver({})) as f:
        outcome = await f.fetch("https://no-such-host.example/feed")
    assert outcome.ok is False
    assert outcome.error == "host not found: no-such-host.example"


async def test_allow_private_networks_lets_loopback_through(
    feed_server: FeedServer,  # noqa: F811
) -> None:
    async with Fetcher(allow_private_networks=True) as f:
        outcome = await f.fetch(feed_server.feeds[0].url)
    assert outcome.ok
    assert outcome.body == feed_server.feeds[0].body


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "64:ff9b::a00:1",
        "2002:7f00:1::",
        "not-an-ip",
    ],
)
def test_non_public_addresses(address: str) -> None:
    assert address_is_public(address) is False


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses(address: str) -> None:
    assert address_is_public(address) is True


def test_redact_url_drops_credentials_and_query() -> None:
    redacted = redact_url("https://user:secret@example.com:8443/feed.xml?token=abc#frag")
    assert redacted == "https://***@example.com:8443/feed.xml?token=***"
    assert "secret" not in redacted
    assert "abc" not in redacted
