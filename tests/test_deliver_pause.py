"""Pauses keep the backlog, tell a person once, and a workspace error pauses every channel.

Through the real worker and SlackNotifier against the fake Slack; resuming goes through the
real ``subscribe`` command path (``ChannelRepository.resume``).
"""

from __future__ import annotations

import io
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import pytest
from fakeslack import FakeSlack, PostMode
from slack_support import Clock, alert_payload, make_app

from bot.app import App
from bot.chat.console import ConsoleNotifier
from jobs.deliver import DeliveryPolicy, DeliveryWorker
from storage.store import Store

PAUSE = "uschina_bot_channels_paused_total"


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


@pytest.fixture
def console() -> io.StringIO:
    return io.StringIO()


@pytest.fixture
async def app(store: Store, fake: FakeSlack, console: io.StringIO) -> AsyncIterator[App]:
    app = make_app(store, fake, Clock())
    app.notifiers["console"] = ConsoleNotifier(console)
    yield app
    await app.notifiers["slack"].aclose()  # type: ignore[attr-defined]


async def channel(app: App, target: str) -> int:
    ch = await app.store.channels.ensure(
        name=f"slack:{target}", platform="slack", target=target, now=app.now()
    )
    return ch.id


async def queue(app: App, cid: int, n: int, prefix: str = "s") -> None:
    for i in range(n):
        await app.store.deliveries.enqueue(
            channel_id=cid,
            kind="alert",
            dedupe_key=f"alert:{cid}:{prefix}{i}",
            payload=alert_payload(f"Story {prefix}{i}"),
            now=app.now(),
            story_key=f"{prefix}{i}",
            thread_key=f"{prefix}{i}",
        )


async def passes(app: App, worker: DeliveryWorker, n: int = 8) -> None:
    for _ in range(n):
        await worker.run_once()
        app.clock.advance(1.1)  # type: ignore[attr-defined]


def notices(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING
        and r.getMessage().endswith(tuple(CODES))
        and "paused" in r.getMessage()
    ]


CODES = ["channel_not_found", "not_in_channel", "invalid_auth", "token_revoked", "account_inactive"]


@pytest.mark.parametrize("code", ["channel_not_found", "not_in_channel"])
async def test_a_paused_channel_keeps_its_backlog_and_sends_it_on_resume(
    app: App, fake: FakeSlack, console: io.StringIO, caplog: pytest.LogCaptureFixture, code: str
) -> None:
    bad, good = await channel(app, "C404"), await channel(app, "C200")
    await queue(app, bad, 4)
    await queue(app, good, 2)
    fake.channel_errors["C404"] = code
    worker = DeliveryWorker(app.delivery_ports())
    with caplog.at_level(logging.INFO):
        await passes(app, worker)
        await queue(app, bad, 2, prefix="late")  # arrives while paused: queued as well
        await passes(app, worker)
    assert len([c for c in fake.calls_to("chat.postMessage") if c["channel"] == "C404"]) == 1
    assert len(fake.posts_for("C200")) == 2
    waiting = await app.store.deliveries.for_channel(bad)
    assert {d.status for d in waiting} == {"pending"} and len(waiting) == 6
    # Told once: one WARNING line, one console notice, one metric increment.
    assert len(notices(caplog)) == 1
    assert console.getvalue().count("are paused") == 1 and code in console.getvalue()
    assert [v for k, v in app.metrics.counters.items() if k[0] == PAUSE] == [1]

    fake.channel_errors.clear()  # the bot was invited back; someone subscribes again
    await app.store.channels.resume(bad)
    await passes(app, worker)
    counts = fake.delivery_counts()
    assert sorted(counts[d.id] for d in waiting) == [1] * 6
    assert len(fake.posts_for("C404")) == 6


@pytest.mark.parametrize("code", ["invalid_auth", "token_revoked", "account_inactive"])
async def test_a_workspace_error_pauses_every_slack_channel_and_tells_once(
    app: App, fake: FakeSlack, console: io.StringIO, caplog: pytest.LogCaptureFixture, code: str
) -> None:
    ids = [await channel(app, t) for t in ("C1", "C2", "C3")]
    for cid in ids:
        await queue(app, cid, 3)
    fake.plan_posts(PostMode.error(code))
    worker = DeliveryWorker(app.delivery_ports())
    with caplog.at_level(logging.INFO):
        await passes(app, worker)
    assert len(fake.calls_to("chat.postMessage")) == 1  # nothing else tried while paused
    for cid in ids:
        ch = await app.store.channels.get(cid)
        assert ch is not None and ch.paused_reason == f"workspace: {code}"
    assert len(notices(caplog)) == 1
    assert console.getvalue().count("every slack channel are paused") == 1

    await app.store.channels.resume(ids[1])  # one `subscribe` lifts the workspace pause
    await passes(app, worker)
    sent = [d for cid in ids for d in await app.store.deliveries.for_channel(cid, status="sent")]
    assert len(sent) == 9
    assert sorted(fake.delivery_counts().values()) == [1] * 9


async def test_pause_notice_goes_to_the_admin_channel_once(store: Store, fake: FakeSlack) -> None:
    app = make_app(store, fake, Clock(), admin_channel="slack:CADMIN")
    admin = await channel(app, "CADMIN")
    bad = await channel(app, "C404")
    await queue(app, bad, 3)
    fake.channel_errors["C404"] = "channel_not_found"
    await passes(app, DeliveryWorker(app.delivery_ports()))
    notes = fake.posts_for("CADMIN")
    assert len(notes) == 1 and "channel_not_found" in notes[0].text
    assert admin != bad
    await app.notifiers["slack"].aclose()  # type: ignore[attr-defined]


async def test_a_workspace_pause_notice_avoids_slack_and_uses_the_console(
    store: Store, fake: FakeSlack
) -> None:
    out = io.StringIO()
    app = make_app(store, fake, Clock(), admins=["U0ADMIN"])
    app.notifiers["console"] = ConsoleNotifier(out)
    await queue(app, await channel(app, "C1"), 1)
    fake.plan_posts(PostMode.error("token_revoked"))
    await passes(app, DeliveryWorker(app.delivery_ports()))
    assert not fake.calls_to("conversations.open")  # no DM attempt with a revoked token
    assert out.getvalue().count("token_revoked") == 1
    await app.notifiers["slack"].aclose()  # type: ignore[attr-defined]


async def test_a_backlog_older_than_the_max_age_expires_with_its_reason(
    app: App, fake: FakeSlack
) -> None:
    bad = await channel(app, "C404")
    await queue(app, bad, 3)
    fake.channel_errors["C404"] = "channel_not_found"
    worker = DeliveryWorker(
        app.delivery_ports(), policy=DeliveryPolicy(backlog_max_age=timedelta(hours=24))
    )
    await passes(app, worker, 2)
    app.clock.advance(23 * 3600)  # type: ignore[attr-defined]
    await passes(app, worker, 2)
    assert {d.status for d in await app.store.deliveries.for_channel(bad)} == {"pending"}
    app.clock.advance(2 * 3600)  # type: ignore[attr-defined]
    await passes(app, worker, 2)
    expired = await app.store.deliveries.for_channel(bad)
    assert {d.status for d in expired} == {"failed"}
    assert all(d.error == "expired: not delivered within 24 h" for d in expired)
    fake.channel_errors.clear()
    await app.store.channels.resume(bad)
    await passes(app, worker)
    assert not fake.posts_for("C404")
