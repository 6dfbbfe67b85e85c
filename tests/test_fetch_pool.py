"""The fetcher's connection pool reuses live connections and never sends on a dead one."""

from __future__ import annotations

import asyncio

from bot.sources.http import Fetcher

FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'


async def serve(close_after_response: bool) -> tuple[asyncio.Server, list[int]]:
    """A server answering every request with FEED; it may hang up after each response
    without saying so (no ``Connection: close``), like a server whose keep-alive is short."""
    connections: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                if not head:
                    break
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n"
                    + f"Content-Length: {len(FEED)}\r\n\r\n".encode()
                    + FEED
                )
                await writer.drain()
                if close_after_response:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, connections


async def fetch_n(close_after_response: bool, n: int) -> tuple[list[bool], int]:
    server, connections = await serve(close_after_response)
    port = server.sockets[0].getsockname()[1]
    url = f"http://127.0.0.1:{port}/feed"
    try:
        async with Fetcher(allow_private_networks=True, deadline_s=5) as fetcher:
            oks = []
            for _ in range(n):
                outcome = await fetcher.fetch(url)
                oks.append(outcome.ok and outcome.body == FEED)
                await asyncio.sleep(0.05)  # let a hang-up reach us
    finally:
        server.close()
        await server.wait_closed()
    return oks, len(connections)


async def test_a_kept_alive_connection_is_reused() -> None:
    oks, connections = await fetch_n(close_after_response=False, n=5)
    assert oks == [True] * 5
    assert connections == 1


async def test_a_connection_the_server_closed_is_not_reused() -> None:
    oks, connections = await fetch_n(close_after_response=True, n=5)
    assert oks == [True] * 5
    assert connections == 5


async def test_many_concurrent_fetches_share_a_bounded_pool() -> None:
    server, connections = await serve(close_after_response=False)
    port = server.sockets[0].getsockname()[1]
    try:
        async with Fetcher(
            allow_private_networks=True, max_concurrency=4, per_host=4, deadline_s=5
        ) as fetcher:
            outcomes = await fetcher.fetch_many(
                [(f"http://127.0.0.1:{port}/feed/{i}", None, None) for i in range(60)]
            )
    finally:
        server.close()
        await server.wait_closed()
    assert all(o.ok for o in outcomes)
    assert len(connections) <= 4
