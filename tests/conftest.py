"""Shared fixtures: a migrated ``Store`` on SQLite and on PostgreSQL.

PostgreSQL tests run when the server at ``USCHINA_BOT_TEST_POSTGRES_URL`` (default
``postgresql://postgres@127.0.0.1:5432/test``) is reachable and are skipped with the reason
otherwise; ``USCHINA_BOT_REQUIRE_POSTGRES=1`` (set by CI) turns that skip into a failure.
Each test session gets its own throwaway database, dropped at the end.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import make_url, text
from tcpproxy import TcpProxy

from storage.db import Database, upgrade_to_head
from storage.store import Store

os.environ.setdefault("USCHINA_BOT_ALLOW_PRIVATE_NETWORKS", "1")

PG_ADMIN_URL = os.environ.get(
    "USCHINA_BOT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REQUIRE_PG = os.environ.get("USCHINA_BOT_REQUIRE_POSTGRES") == "1"
_TABLES = (
    "delivery",
    "subscription",
    "channel",
    "item_topic",
    "item_identity",
    "item",
    "story",
    "source",
    "countdown",
    "proposal",
    "processed_request",
    "lease",
)


async def _admin(sql: str) -> None:
    import asyncpg

    url = PG_ADMIN_URL.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(url, timeout=3)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of a fresh, migrated PostgreSQL database for this test session."""
    name = f"uschina_test_{uuid.uuid4().hex[:10]}"
    try:
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # unreachable server: skip, or fail when required
        message = f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc}"
        if REQUIRE_PG:
            pytest.fail(message + " (USCHINA_BOT_REQUIRE_POSTGRES=1)")
        pytest.skip(message)
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    url = f"{base}/{name}"
    upgrade_to_head(url)
    yield url
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'test.db'}"
    upgrade_to_head(url)
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each test using this runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    """A migrated, empty store on each backend."""
    db = Database(database_url)
    if not db.is_sqlite:
        async with db.connect() as conn:
            await conn.execute(text(f"TRUNCATE {', '.join(_TABLES)} RESTART IDENTITY CASCADE"))
    store = Store(db)
    yield store
    await store.close()


@pytest.fixture
async def sqlite_store(sqlite_url: str) -> AsyncIterator[Store]:
    store = Store(Database(sqlite_url))
    yield store
    await store.close()


@pytest.fixture
def pg_proxy(postgres_url: str) -> Iterator[tuple[TcpProxy, str]]:
    """A TCP proxy in front of the session database and the URL through it; closing the
    proxy is a PostgreSQL outage."""
    url = make_url(postgres_url)
    with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
        yield proxy, url.set(host="127.0.0.1", port=proxy.port).render_as_string(False)


@pytest.fixture
async def pg_store(pg_proxy: tuple[TcpProxy, str]) -> AsyncIterator[Store]:
    store = Store(Database(pg_proxy[1]))
    async with store.db.connect() as conn:
        await conn.execute(text("TRUNCATE channel, subscription, processed_request CASCADE"))
    yield store
    await store.close()
