"""Digests from the store: content, golden renders, once-per-slot enqueueing, weekly charts."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

from insights_samples import (
    NOW,
    SLOT,
    Clock,
    FakeUploader,
    add_channel,
    check_golden,
    make_app,
    seed,
)

from bot.chat.slack.blocks import to_slack
from bot.chat.teams.cards import to_teams
from bot.domain.codec import message_from_dict
from bot.domain.models import Image
from bot.domain.textout import to_text
from jobs.digest import run_due_digests
from jobs.queries import digest_message, queue_digest
from storage.store import Store


async def test_digest_of_a_slot_groups_ranks_and_counts(store: Store) -> None:
    await seed(store)
    app = make_app(store, digest_top=2)
    channel = await add_channel(app, "china-desk", ["taiwan", "diplomacy", "climate"])
    message = await digest_message(app.query_ports(), channel, NOW, slot=SLOT)
    text = to_text(message)
    assert message.kind == "digest"
    assert "Taiwan — 3 stories (▲3)" in text
    # Ranked: two outlets beat one; only the top 2 shown, the third counted.
    assert text.index("arms sale to Taiwan") < text.index("PLA announces drills")
    assert "Taiwan Strait" not in text and "and 1 more" in text
    assert "Biden and Xi hold phone call" in text  # under Diplomacy, its first topic
    assert "Entity List" not in text  # sanctions: not followed
    assert "fentanyl working group" not in text  # before the period


async def test_quiet_period(store: Store) -> None:
    await seed(store)
    app = make_app(store)
    channel = await add_channel(app, "quiet", ["south_china_sea"])
    message = await digest_message(app.query_ports(), channel, NOW, slot=SLOT)
    assert "Quiet period" in message.fallback


async def test_digest_golden_slack_and_teams(sqlite_store: Store) -> None:
    await seed(sqlite_store)
    app = make_app(sqlite_store, digest_top=2)
    await app.store.countdowns.add(
        name="COP29",
        start=datetime(2024, 11, 11).date(),
        end=datetime(2024, 11, 11).date(),
        tentative=False,
        where="Baku",
        now=NOW,
    )
    channel = await add_channel(app, "china-desk", ["*"])
    message = await digest_message(app.query_ports(), channel, NOW, slot=SLOT)
    check_golden("insights_digest.slack", to_slack(message))
    check_golden("insights_digest.teams", to_teams(message))


async def test_due_digest_is_enqueued_once_per_slot(store: Store) -> None:
    await seed(store)
    clock = Clock(SLOT + timedelta(seconds=20))
    app = make_app(store, clock)
    channel = await add_channel(app, "china-desk", ["*"], mode="digest")
    await add_channel(app, "alerts-only", ["*"], mode="realtime")
    assert await run_due_digests(app.digest_ports(), clock.now) == 1
    assert await run_due_digests(app.digest_ports(), clock.now + timedelta(minutes=1)) == 0
    digests = await store.deliveries.for_channel(channel.id)
    assert [d.dedupe_key for d in digests] == [f"digest:{channel.id}:{SLOT.isoformat()}"]
    assert message_from_dict(digests[0].payload).kind == "digest"
    assert await store.channels.digest_last_slot(channel.id) == SLOT
    # The next day's slot is a new digest.
    assert await run_due_digests(app.digest_ports(), SLOT + timedelta(days=1, seconds=5)) == 1


async def test_restart_across_a_digest_time_sends_it_once(store: Store) -> None:
    await seed(store)
    app = make_app(store, digest_grace="6h")
    channel = await add_channel(app, "china-desk", ["*"], mode="both")
    # Down from 07:50 to 10:00: the first run after the restart sends the 08:00 digest.
    late = SLOT + timedelta(hours=2)
    assert await run_due_digests(app.digest_ports(), late) == 1
    # A second instance (or a second restart) finds it done.
    other = make_app(store, Clock(late), instance_id="test-2", digest_grace="6h")
    assert await run_due_digests(other.digest_ports(), late + timedelta(seconds=30)) == 0
    assert len(await store.deliveries.for_channel(channel.id)) == 1


async def test_crash_between_enqueue_and_recording_the_slot(store: Store) -> None:
    await seed(store)
    app = make_app(store)
    channel = await add_channel(app, "china-desk", ["*"])
    assert await queue_digest(
        app.query_ports(), channel, SLOT, slot=SLOT
    )  # enqueued, slot not recorded
    assert await run_due_digests(app.digest_ports(), SLOT + timedelta(minutes=1)) == 0
    assert await store.channels.digest_last_slot(channel.id) == SLOT
    assert len(await store.deliveries.for_channel(channel.id)) == 1


async def test_a_slot_past_the_grace_is_skipped(store: Store) -> None:
    await seed(store)
    app = make_app(store, digest_grace="1h")
    await add_channel(app, "china-desk", ["*"])
    assert await run_due_digests(app.digest_ports(), SLOT + timedelta(hours=3)) == 0


async def test_on_demand_digest_has_its_own_key(store: Store) -> None:
    await seed(store)
    app = make_app(store)
    channel = await add_channel(app, "china-desk", ["*"])
    assert await queue_digest(app.query_ports(), channel, NOW)
    assert not await queue_digest(app.query_ports(), channel, NOW)
    [delivery] = await store.deliveries.for_channel(channel.id)
    assert delivery.dedupe_key == f"digest-now:{channel.id}:{NOW.isoformat()}"


async def test_weekly_teams_digest_carries_the_chart(sqlite_store: Store) -> None:
    await seed(sqlite_store)
    app = make_app(sqlite_store)
    channel = await add_channel(app, "weekly", ["*"], platform="teams", cron="0 8 * * tue")
    message = await digest_message(app.query_ports(), channel, NOW, slot=SLOT, chart=True)
    images = [b for b in message.blocks if isinstance(b, Image)]
    assert len(images) == 1 and images[0].url.startswith("data:image/png;base64,")
    png = base64.b64decode(images[0].url.split(",", 1)[1])
    assert png.startswith(b"\x89PNG")
    assert "Weekly US–China digest" in message.fallback
    assert "Podesta" in message.fallback and "fentanyl working group" in message.fallback


async def test_weekly_slack_chart_is_uploaded_once_into_the_digest_thread(
    sqlite_store: Store,
) -> None:
    store = sqlite_store
    await seed(store)
    clock = Clock(SLOT + timedelta(seconds=10))
    app = make_app(store, clock)
    uploader = FakeUploader()
    app.notifiers["slack"] = uploader  # type: ignore[assignment]
    channel = await add_channel(app, "weekly", ["*"], cron="0 8 * * tue")
    assert await run_due_digests(app.digest_ports(), clock.now) == 1
    assert uploader.uploads == []  # not before the digest itself is posted
    [delivery] = await store.deliveries.for_channel(channel.id)
    assert not any(b["type"] == "image" for b in delivery.payload["blocks"])
    await store.deliveries.mark_sent(delivery.id, remote_id="1725955200.000100", now=clock.now)
    await run_due_digests(app.digest_ports(), clock.now + timedelta(minutes=1))
    await run_due_digests(app.digest_ports(), clock.now + timedelta(minutes=2))
    assert len(uploader.uploads) == 1
    upload = uploader.uploads[0]
    assert upload["thread_ref"] == "1725955200.000100"
    assert upload["filename"].endswith(".png") and upload["content"].startswith(b"\x89PNG")


def test_period_of_a_weekday_digest_on_monday_in_new_york() -> None:
    from bot.domain.digest import digest_period
    from bot.domain.schedule import parse_cron

    monday = datetime(2024, 9, 9, 12, 0, tzinfo=UTC)  # 08:00 EDT
    start, _, _ = digest_period(parse_cron("0 8 * * 1-5"), "America/New_York", monday)
    assert start == datetime(2024, 9, 6, 12, 0, tzinfo=UTC)
