"""SIGKILL at random moments: 100 real worker processes killed mid-burst, then one left to
finish. Every (story, channel) delivery arrives, and none twice, counted by the delivery id
in each post's metadata in the fake Slack, which lives in this test process.

Worker processes are forked from a helper that has already imported the application
(``tests/deliver_forker.py``), so each restart costs milliseconds, not an interpreter start.
A duplicate is only tolerated where the worker logged "possible duplicate" for that delivery
(the documented residual window); with the fake's history always current there should be none.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fakeslack import FakeSlack
from slack_support import BOT_TOKEN, alert_payload

from storage.db import Database
from storage.store import Store

ROOT = Path(__file__).resolve().parents[1]
CYCLES = 100
BURST = 3  # new deliveries queued before each restart (spread over two channels)
MAX_LIFE_S = 0.35  # each worker is killed at a random moment within this


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


async def start_forker(fake: FakeSlack) -> asyncio.subprocess.Process:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "USCHINA_", "DATABASE"))
    }
    env.update(SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_API_URL=fake.api_url, PYTHONPATH=str(ROOT))
    return await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "tests" / "deliver_forker.py"),
        cwd=str(ROOT),
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )


async def spawn(forker: asyncio.subprocess.Process, log: Path, url: str) -> int:
    assert forker.stdin is not None and forker.stdout is not None
    args = f"run {log} --database-url {url} --lease-seconds 0.5 --min-interval 0 --no-upgrade\n"
    forker.stdin.write(args.encode())
    await forker.stdin.drain()
    return int((await asyncio.wait_for(forker.stdout.readline(), 10)).decode())


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


async def until_gone(pid: int) -> None:
    for _ in range(2000):
        if gone(pid):
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"worker {pid} did not exit")


async def test_hundred_sigkills_mid_burst_neither_lose_nor_duplicate(
    sqlite_url: str, fake: FakeSlack, tmp_path: Path
) -> None:
    rng = random.Random(20261204)
    log = tmp_path / "workers.log"
    store = Store(Database(sqlite_url))
    now = datetime.now(UTC)
    channels = [
        await store.channels.ensure(name=f"slack:{t}", platform="slack", target=t, now=now)
        for t in ("C900", "C901")
    ]
    fake.post_delay = 0.03  # posts are in flight long enough to be killed mid-way
    forker = await start_forker(fake)
    mid_send = 0
    try:
        for cycle in range(CYCLES):
            for n in range(BURST):
                channel = channels[n % 2]
                await store.deliveries.enqueue(
                    channel_id=channel.id,
                    kind="alert",
                    dedupe_key=f"alert:{channel.id}:c{cycle}n{n}",
                    payload=alert_payload(f"Burst {cycle}.{n}"),
                    now=datetime.now(UTC),
                    story_key=f"c{cycle}n{n}",
                    thread_key=f"c{cycle}n{n}",
                )
            pid = await spawn(forker, log, sqlite_url)
            await asyncio.sleep(rng.uniform(0.0, MAX_LIFE_S))
            os.kill(pid, signal.SIGKILL)
            await until_gone(pid)
            posted = fake.delivery_counts()
            for channel in channels:
                claimed = await store.deliveries.for_channel(channel.id, status="sending")
                mid_send += any(d.id in posted for d in claimed)

        final = await spawn(forker, log, sqlite_url)
        deadline = time.monotonic() + 60
        while (await store.deliveries.counts()).get("sent", 0) < CYCLES * BURST:
            assert time.monotonic() < deadline, await store.deliveries.counts()
            await asyncio.sleep(0.1)
        os.kill(final, signal.SIGTERM)
        await until_gone(final)
    finally:
        if forker.stdin is not None:
            forker.stdin.close()
        await asyncio.wait_for(forker.wait(), 10)

    # Kills did land after a post and before it was recorded, and were reconciled.
    assert mid_send >= 5, mid_send
    text = log.read_text()
    assert "Traceback" not in text, text[-3000:]
    assert "already posted as" in text
    ids = {d.id for c in channels for d in await store.deliveries.for_channel(c.id)}
    assert len(ids) == CYCLES * BURST
    counts = fake.delivery_counts()
    assert set(counts) == ids  # every (story, channel) delivery arrived
    warned = {int(m) for m in re.findall(r"delivery (\d+) to \S+: possible duplicate", text)}
    duplicates = {i for i, n in counts.items() if n > 1}
    assert duplicates <= warned, (duplicates, warned)
    assert all(n <= 2 for n in counts.values())
    assert (await store.deliveries.counts()) == {"sent": CYCLES * BURST}
    await store.close()
