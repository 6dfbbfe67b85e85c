"""SIGKILL mid-burst: the worker process dies with a post in flight; after a restart every
pending alert is delivered and none twice (counted by delivery_id metadata in the fake's log,
which lives in this test process)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakeslack import FakeSlack
from slack_support import BOT_TOKEN, T0, alert_payload

from storage.db import Database
from storage.store import Store

ROOT = Path(__file__).resolve().parents[1]
ALERTS = 12


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


async def start_worker(url: str, fake: FakeSlack, cwd: Path) -> asyncio.subprocess.Process:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "USCHINA_", "DATABASE"))
    }
    env.update(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_API_URL=fake.api_url,
        PYTHONPATH=str(ROOT),
    )
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "jobs.deliver",
        "--database-url",
        url,
        "--lease-seconds",
        "2",
        "--min-interval",
        "0",
        cwd=str(cwd),
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


async def wait_until(predicate: object, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def test_sigkill_mid_burst_neither_loses_nor_duplicates(
    sqlite_url: str, fake: FakeSlack, tmp_path: Path
) -> None:
    store = Store(Database(sqlite_url))
    channel = await store.channels.ensure(
        name="slack:C900", platform="slack", target="C900", now=T0
    )
    for i in range(ALERTS):
        await store.deliveries.enqueue(
            channel_id=channel.id,
            kind="alert",
            dedupe_key=f"alert:{i}",
            payload=alert_payload(f"Burst {i}"),
            now=T0,
            story_key=f"b{i}",
            thread_key=f"b{i}",
        )
    fake.post_delay = 0.4
    first = await start_worker(sqlite_url, fake, tmp_path)
    try:
        await wait_until(lambda: fake.received >= 4, 30, "the 4th post to arrive")
    finally:
        first.send_signal(signal.SIGKILL)
        await first.wait()
    # The 4th post was in flight when the process died: the fake still records it.
    await wait_until(lambda: len(fake.posts) >= 4, 5, "the in-flight post to land")
    in_flight = [d for d in await store.deliveries.for_channel(channel.id) if d.status == "sending"]
    assert in_flight, "the kill should leave a claimed, unfinished delivery"
    assert any(d.id in fake.delivery_counts() for d in in_flight), "posted but not recorded"

    fake.post_delay = 0.0
    second = await start_worker(sqlite_url, fake, tmp_path)
    try:
        sent = 0
        deadline = time.monotonic() + 30
        while sent < ALERTS:
            assert time.monotonic() < deadline, await store.deliveries.counts()
            await asyncio.sleep(0.1)
            sent = (await store.deliveries.counts()).get("sent", 0)
    finally:
        second.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(second.communicate(), 10)
    assert second.returncode == 0, err.decode()[-2000:]
    counts = fake.delivery_counts()
    ids = {d.id for d in await store.deliveries.for_channel(channel.id)}
    assert set(counts) == ids
    assert all(n == 1 for n in counts.values()), counts
    await store.close()
