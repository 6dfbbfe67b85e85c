"""Database outages as users meet them: PostgreSQL unreachable (a TCP proxy in front of the
real server is closed), SQLite locked by another connection (``BEGIN EXCLUSIVE``), SQLite
full. Commands answer "unavailable"/"busy"/"full" instead of failing, commands that need no
database still answer, and each outage is logged once (WARNING) and its end once (INFO)."""

from __future__ import annotations

import logging
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from faketeams import FakeTeams
from slack_http_support import SlackEnv, slack_env
from sqlalchemy import event, make_url
from tcpproxy import TcpProxy
from test_teams_endpoint import make_harness, settings_for

from bot.domain.errors import DatabaseUnavailableError
from jobs.scheduler import JOB_METRIC, Scheduler
from storage.db import Database
from storage.store import Store

ROOT = Path(__file__).resolve().parents[1]
UNAVAILABLE = "the database is unavailable"
BUSY = "the database is busy"
FULL = "the database is full"


def warnings_and_worse(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.WARNING]


def no_tracebacks(caplog: pytest.LogCaptureFixture) -> bool:
    return not [r for r in caplog.records if r.exc_info]


# --------------------------------------------------------------------------- PostgreSQL down


@pytest.mark.postgres
async def test_postgres_down_commands_answer_and_log_once(
    pg_proxy: tuple[TcpProxy, str], pg_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    proxy = pg_proxy[0]
    async with slack_env(pg_store) as env:
        assert "Subscribed" in await env.answer("subscribe taiwan")
        await env.fake.wait_for(lambda: bool(env.fake.calls_to("views.publish")))
        caplog.set_level(logging.INFO)
        proxy.close()
        for line in ("subscribe military", "subscriptions", "latest taiwan", "countdown"):
            assert UNAVAILABLE in await env.answer(line), line
        assert "uschina-bot commands" in await env.answer("help")
        assert "(taiwan)" in await env.answer("topics")
        assert "frobnicate" in await env.answer("frobnicate")  # a usage error
        [warning] = warnings_and_worse(caplog)
        assert "unavailable" in warning.getMessage()
        assert no_tracebacks(caplog)
        proxy.open()
        assert "Subscribed" in await env.answer("subscribe military")
        back = [r for r in caplog.records if "available again" in r.getMessage()]
        assert len(back) == 1 and back[0].levelno == logging.INFO
        assert len(warnings_and_worse(caplog)) == 1


@pytest.mark.postgres
async def test_postgres_down_teams_gets_a_message_activity(
    pg_proxy: tuple[TcpProxy, str], caplog: pytest.LogCaptureFixture
) -> None:
    proxy, url = pg_proxy
    with FakeTeams() as fake:
        harness = await make_harness(settings_for(url, fake), fake)
        try:
            caplog.set_level(logging.INFO)
            proxy.close()
            assert UNAVAILABLE in await harness.say("subscribe taiwan")
            assert UNAVAILABLE in await harness.say("subscriptions")
            assert "subscribe" in (await harness.say("help")).lower()
            assert len(warnings_and_worse(caplog)) == 1
            assert no_tracebacks(caplog)
        finally:
            proxy.open()
            await harness.endpoint.wait_idle()
            await harness.client.aclose()
            await harness.app.close()


@pytest.mark.postgres
async def test_postgres_down_scheduler_backs_off_and_logs_once(
    pg_proxy: tuple[TcpProxy, str], pg_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    proxy = pg_proxy[0]
    async with slack_env(pg_store) as env:
        scheduler = Scheduler(env.app.scheduler_ports())
        assert await scheduler.deliver_tick() == 0
        caplog.set_level(logging.INFO)
        proxy.close()
        for _ in range(5):  # the service ticks every 2 s; back-off skips the next ticks
            assert await scheduler.deliver_tick() is None
        await scheduler.digest_tick()
        failed = env.app.metrics.counters[
            (JOB_METRIC, (("job", "deliver"), ("result", "db_unavailable")))
        ]
        assert failed == 1
        assert len(warnings_and_worse(caplog)) == 1
        assert no_tracebacks(caplog)
        assert scheduler.last_errors["deliver"].startswith(UNAVAILABLE)
        proxy.open()


# --------------------------------------------------------------------------- SQLite locked


@pytest.fixture
def exclusive_lock(sqlite_url: str) -> Iterator[sqlite3.Connection]:
    """Another connection holding ``BEGIN EXCLUSIVE`` on the store's file until released."""
    path = make_url(sqlite_url).database
    assert path
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    yield holder
    if holder.in_transaction:
        holder.execute("ROLLBACK")
    holder.close()


@pytest.fixture
async def sqlite_env(sqlite_store: Store) -> AsyncIterator[SlackEnv]:
    async with slack_env(sqlite_store) as env:
        yield env


async def test_sqlite_locked_help_answers_and_writes_say_busy(
    sqlite_env: SlackEnv, exclusive_lock: sqlite3.Connection, caplog: pytest.LogCaptureFixture
) -> None:
    env = sqlite_env
    caplog.set_level(logging.INFO)
    exclusive_lock.execute("BEGIN EXCLUSIVE")
    help_reply = await env.command("help")
    assert help_reply.status_code == 200 and "uschina-bot commands" in help_reply.text
    assert "frobnicate" in await env.answer("frobnicate")  # usage error, no database
    assert BUSY in await env.answer("subscribe taiwan")
    assert BUSY in await env.answer("countdown add COP99 2099-11-11")
    assert no_tracebacks(caplog)
    assert len(warnings_and_worse(caplog)) == 1
    exclusive_lock.execute("COMMIT")
    assert "Subscribed" in await env.answer("subscribe taiwan")
    assert [r for r in caplog.records if "available again" in r.getMessage()]


async def test_sqlite_locked_teams_help_answers_and_writes_say_busy(
    sqlite_url: str, exclusive_lock: sqlite3.Connection
) -> None:
    with FakeTeams() as fake:
        harness = await make_harness(settings_for(sqlite_url, fake), fake)
        try:
            exclusive_lock.execute("BEGIN EXCLUSIVE")
            assert "subscribe" in (await harness.say("help")).lower()
            assert BUSY in await harness.say("subscribe taiwan")
            exclusive_lock.execute("COMMIT")
            assert "Subscribed" in await harness.say("subscribe taiwan")
        finally:
            await harness.endpoint.wait_idle()
            await harness.client.aclose()
            await harness.app.close()


# --------------------------------------------------------------------------- disk full


def cap_file_size(store: Store, pages: int) -> None:
    """Every new connection of ``store`` may not grow the file past ``pages`` pages (SQLite
    then fails writes with "database or disk is full", as on a full disk)."""

    def limit(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA max_page_count={pages}")
        cursor.close()

    event.listen(store.db.engine.sync_engine, "connect", limit)


async def test_sqlite_full_is_reported_clearly(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    path = make_url(sqlite_url).database
    assert path
    with sqlite3.connect(path) as probe:
        pages = int(probe.execute("PRAGMA page_count").fetchone()[0])
    store = Store(Database(sqlite_url))
    cap_file_size(store, pages)
    async with slack_env(store) as env:
        caplog.set_level(logging.INFO)
        reply = ""
        for n in range(40):  # fill the last free pages, then every write is refused
            reply = await env.answer(f"countdown add Summit{n:02d}{'x' * 60} 2099-11-11")
            if FULL in reply:
                break
        assert FULL in reply
        assert no_tracebacks(caplog)
        [warning] = warnings_and_worse(caplog)
        assert "disk is full" in warning.getMessage()  # the operator's log line
    await store.close()


def test_cli_output_to_a_full_disk_is_one_line() -> None:
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            [sys.executable, "-m", "bot", "topics"],
            cwd=ROOT,
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2
    assert result.stderr.strip() == "uschina-bot: error: no space left on the device (disk full)"


def test_outage_error_kinds_have_user_messages() -> None:
    for kind, start in (("down", UNAVAILABLE), ("busy", BUSY), ("full", FULL)):
        assert str(DatabaseUnavailableError(kind)).startswith(start)
