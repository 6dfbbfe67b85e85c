"""Retention: old items leave every listing but stay known; old keys and deliveries go."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from insights_samples import NOW, add_channel, make_app, seed

from jobs.retention import run_retention
from storage.store import Store


async def test_retention_policy(store: Store) -> None:
    ids = await seed(store)  # items first seen 2024-08-30 .. 2024-09-10
    app = make_app(store, retention_days=5)
    channel = await add_channel(app, "china-desk", ["*"])
    cop = await store.countdowns.add(
        name="COP29", start=date(2024, 11, 11), end=date(2024, 11, 11), tentative=False, now=NOW
    )
    old = NOW - timedelta(days=40)
    for key, countdown_id in (("old-alert", None), ("old-countdown", cop.id)):
        await store.deliveries.enqueue(
            channel_id=channel.id,
            kind="alert" if countdown_id is None else "countdown",
            dedupe_key=key,
            payload={},
            now=old,
            countdown_id=countdown_id,
        )
    await store.deliveries.enqueue(
        channel_id=channel.id, kind="alert", dedupe_key="old-pending", payload={}, now=old
    )
    for d in await store.deliveries.for_channel(channel.id):
        if d.dedupe_key != "old-pending":
            await store.deliveries.mark_sent(d.id, remote_id="1.2", now=old)
    assert await store.guards.first_time("request-old", NOW - timedelta(days=2))
    assert await store.guards.first_time("request-new", NOW - timedelta(hours=2))

    removed = await run_retention(app.retention_ports(), NOW)
    assert removed > 0
    # Items first seen more than 5 days ago are out of listings and search ...
    assert [i.title for i in await store.items.search("balloons")] == []
    latest_taiwan = await store.items.latest(topic="taiwan", limit=20)
    assert all(i.first_seen >= NOW - timedelta(days=5) for i in latest_taiwan)
    assert len(latest_taiwan) == 8  # the items of 4 stories of the last 5 days
    # ... but still known, so a feed repeating them cannot make them new again.
    known = await store.ingest.known_identities(ids["Reuters"], ["id:taiwan-0903-0"])
    assert known == {"id:taiwan-0903-0"}
    assert await store.stories.get("taiwan-0903") is None
    assert await store.stories.get("drill-0910") is not None
    # Request keys older than a day go; finished deliveries older than 30 days go,
    # except the posts anchoring an active countdown's thread; pending ones stay.
    assert not await store.guards.first_time("request-new", NOW)
    assert await store.guards.first_time("request-old", NOW)
    left = {d.dedupe_key for d in await store.deliveries.for_channel(channel.id)}
    assert left == {"old-countdown", "old-pending"}
    # Twice the window later the tombstones themselves are deleted.
    assert await run_retention(app.retention_ports(), NOW + timedelta(days=6)) > 0
    assert await store.ingest.known_identities(ids["Reuters"], ["id:taiwan-0903-0"]) == set()
    assert await run_retention(app.retention_ports(), NOW + timedelta(days=6)) == 0


async def test_nothing_to_do_on_a_fresh_database(sqlite_store: Store) -> None:
    app = make_app(sqlite_store)
    assert await run_retention(app.retention_ports(), datetime(2024, 9, 1, tzinfo=UTC)) == 0
