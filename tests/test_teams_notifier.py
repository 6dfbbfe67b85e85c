"""TeamsNotifier against a local fake Workflows webhook (a real HTTP server on 127.0.0.1)."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from faketeams import Answer, FakeTeams
from render_samples import NOW, alert_view, item, story

from bot.chat.teams import notifier as notifier_module
from bot.chat.teams.cards import ENVELOPE_LIMIT, to_teams
from bot.chat.teams.notifier import (
    TeamsNotifier,
    check_webhook_url,
    classify_answer,
    mask_webhook,
    parse_retry_after,
)
from bot.domain import render
from bot.domain.errors import (
    PermanentDeliveryError,
    TransientDeliveryError,
)
from bot.domain.models import Channel, Message
from bot.domain.views import DigestSection, DigestView

TOPICS = (
    "diplomacy",
    "climate",
    "military",
    "ai",
    "taiwan",
    "fentanyl",
    "south_china_sea",
    "sanctions",
    "trade",
    "tech",
)


@pytest.fixture
def fake() -> Iterator[FakeTeams]:
    with FakeTeams() as server:
        yield server


@pytest.fixture
async def teams() -> AsyncIterator[TeamsNotifier]:
    notifier = TeamsNotifier(allow_private_networks=True, timeout_s=2)
    notifier.min_interval_s = 0  # pacing has its own test; keep these fast
    yield notifier
    await notifier.aclose()


def channel(url: str, name: str = "china-desk") -> Channel:
    return Channel(id=1, name=name, platform="teams", target=url)


def alert(n: int) -> Message:
    title = f"Alert number {n}: US and China envoys meet"
    return render.render_alert(alert_view(story=story(n, title=title), item=item(title=title)))


def big_digest(stories: int = 200) -> Message:
    per_topic = stories // len(TOPICS)
    sections = tuple(
        DigestSection(
            topic,
            topic.title(),
            tuple(
                story(
                    t * 1000 + i,
                    title=f"Story {t}-{i}: " + "officials from both sides discussed " * 5,
                    outlets=("Reuters", "AP", "Xinhua", "SCMP"),
                )
                for i in range(per_topic)
            ),
            0,
            per_topic,
            per_topic - 1,
        )
        for t, topic in enumerate(TOPICS)
    )
    view = DigestView("china-desk", NOW - timedelta(days=1), NOW, "UTC", sections, ())
    return render.render_digest(view, NOW, max_per_topic=stories)


def check_envelope(envelope: dict[str, Any]) -> dict[str, Any]:
    assert envelope["type"] == "message"
    (attachment,) = envelope["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    content = attachment["content"]
    assert content["type"] == "AdaptiveCard"
    major, minor = (int(p) for p in content["version"].split("."))
    assert (major, minor) <= (1, 5)
    return content


def card_text(envelope: dict[str, Any]) -> str:
    body = envelope["attachments"][0]["content"]["body"]
    return " ".join(str(e.get("text", "")) for e in body)


# --------------------------------------------------------------------------- posting


async def test_alert_posts_one_valid_envelope(fake: FakeTeams, teams: TeamsNotifier) -> None:
    result = await teams.send(
        channel(fake.webhook("desk")), alert(1), thread_ref=None, delivery_id=41
    )
    assert result.remote_id == "accepted:41"
    (post,) = fake.posts("desk")
    assert post.content_type == "application/json"
    assert len(post.body) < ENVELOPE_LIMIT
    check_envelope(post.json)
    assert "Alert number 1" in card_text(post.json)


async def test_200_story_digest_stays_under_the_cap(fake: FakeTeams, teams: TeamsNotifier) -> None:
    message = big_digest(200)
    envelopes = to_teams(message)
    assert len(envelopes) > 1  # it really needed splitting
    await teams.send(channel(fake.webhook("desk")), message, thread_ref=None, delivery_id=1)
    posts = fake.posts("desk")
    assert len(posts) == len(envelopes)
    for post in posts:
        assert len(post.body) < ENVELOPE_LIMIT
        check_envelope(post.json)
    assert [p.json for p in posts] == envelopes


@pytest.mark.parametrize(
    ("status", "error", "words"),
    [
        (400, PermanentDeliveryError, "refused"),
        (401, PermanentDeliveryError, "signature"),
        (403, PermanentDeliveryError, "not allowed"),
        (404, PermanentDeliveryError, "it was deleted or its URL is wrong"),
        (410, PermanentDeliveryError, "removed"),
        (500, TransientDeliveryError, "unavailable"),
        (503, TransientDeliveryError, "unavailable"),
        (429, TransientDeliveryError, "too many requests"),
    ],
)
async def test_answers_map_to_delivery_errors(
    fake: FakeTeams, teams: TeamsNotifier, status: int, error: type[Exception], words: str
) -> None:
    fake.plan("desk", status)
    with pytest.raises(error) as raised:
        await teams.send(channel(fake.webhook("desk")), alert(1), thread_ref=None, delivery_id=1)
    assert str(raised.value).startswith(f"the Teams webhook answered {status}")
    assert words in str(raised.value)


async def test_429_carries_retry_after(fake: FakeTeams, teams: TeamsNotifier) -> None:
    fake.plan("desk", Answer(429, retry_after="7"))
    with pytest.raises(TransientDeliveryError) as raised:
        await teams.send(channel(fake.webhook("desk")), alert(1), thread_ref=None, delivery_id=1)
    assert raised.value.retry_after == 7.0


def test_retry_after_forms() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(" 2.5 ") == 2.5
    assert parse_retry_after("-4") == 0.0
    assert parse_retry_after("999999") == 3600.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
    http_date = "Tue, 10 Sep 2024 14:00:30 GMT"
    assert parse_retry_after(http_date, now=NOW) == 30.0
    assert classify_answer(202, None) is None
    assert classify_answer(200, None) is None


async def test_network_error_is_transient(teams: TeamsNotifier) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/workflows/x/triggers/manual/paths/invoke?sig=s3cr3tsig"
    with pytest.raises(TransientDeliveryError) as raised:
        await teams.send(channel(url), alert(1), thread_ref=None, delivery_id=1)
    assert "could not be reached" in str(raised.value)
    assert "s3cr3tsig" not in str(raised.value)


async def test_silent_server_times_out_as_transient() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
                accepted.append(conn)  # hold it open, never answer
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    port = listener.getsockname()[1]
    notifier = TeamsNotifier(allow_private_networks=True, timeout_s=0.3)
    try:
        url = f"http://127.0.0.1:{port}/workflows/x/triggers/manual/paths/invoke?sig=quiet"
        with pytest.raises(TransientDeliveryError) as raised:
            await notifier.send(channel(url), alert(1), thread_ref=None, delivery_id=1)
        assert "did not answer" in str(raised.value)
    finally:
        await notifier.aclose()
        stop.set()
        thread.join()
        for conn in accepted:
            conn.close()
        listener.close()


async def test_split_message_resumes_after_429_without_reposting(
    fake: FakeTeams, teams: TeamsNotifier
) -> None:
    message = big_digest(200)
    envelopes = to_teams(message)
    assert len(envelopes) >= 3
    fake.plan("desk", 202, Answer(429, retry_after="1"))
    target = channel(fake.webhook("desk"))
    with pytest.raises(TransientDeliveryError):
        await teams.send(target, message, thread_ref=None, delivery_id=9)
    await teams.send(target, message, thread_ref=None, delivery_id=9)
    assert fake.accepted("desk") == envelopes  # each part exactly once, in order


async def test_find_sent_cannot_ask_teams(teams: TeamsNotifier) -> None:
    found = await teams.find_sent(channel("https://x.example/w"), 1, since=NOW)
    assert found is None


async def test_pacing_spaces_posts_to_one_webhook(
    fake: FakeTeams, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [100.0]
    sleeps: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock[0] += seconds

    monkeypatch.setattr(notifier_module.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(notifier_module.asyncio, "sleep", fake_sleep)
    notifier = TeamsNotifier(allow_private_networks=True)
    assert notifier.min_interval_s == 0.25
    try:
        for n in range(3):
            await notifier.send(
                channel(fake.webhook("desk")), alert(n), thread_ref=None, delivery_id=n
            )
        await notifier.send(
            channel(fake.webhook("other")), alert(9), thread_ref=None, delivery_id=9
        )
    finally:
        await notifier.aclose()
    assert sleeps == [0.25, 0.25]  # the other webhook did not wait
    assert len(fake.accepted()) == 4


# --------------------------------------------------------------------------- URL policy


@pytest.mark.parametrize(
    ("url", "allow"),
    [
        ("http://hooks.example/workflows/a?sig=x", True),
        ("http://127.0.0.1:9/workflows/a?sig=x", False),
        ("https://10.0.0.5/workflows/a?sig=x", False),
        ("https://[::1]/workflows/a?sig=x", False),
        ("ftp://hooks.example/a", True),
        ("https://user:pw@hooks.example/a", True),
        ("not a url", True),
    ],
)
def test_refused_webhook_urls(url: str, allow: bool) -> None:
    with pytest.raises(PermanentDeliveryError) as raised:
        check_webhook_url(url, allow_private_networks=allow)
    assert "sig=x" not in str(raised.value)


def test_accepted_webhook_urls() -> None:
    check_webhook_url("https://prod.example/workflows/a?sig=x", allow_private_networks=False)
    check_webhook_url("http://127.0.0.1:8/workflows/a?sig=x", allow_private_networks=True)
    check_webhook_url("http://localhost:8/workflows/a?sig=x", allow_private_networks=True)


async def test_refused_url_is_never_contacted(fake: FakeTeams) -> None:
    notifier = TeamsNotifier(allow_private_networks=False)
    try:
        with pytest.raises(PermanentDeliveryError) as raised:
            await notifier.send(
                channel(fake.webhook("desk")), alert(1), thread_ref=None, delivery_id=1
            )
    finally:
        await notifier.aclose()
    assert "https://" in str(raised.value)
    assert fake.posts() == []


# --------------------------------------------------------------------------- the secret


def test_mask_hides_path_and_signature() -> None:
    url = (
        "https://prod-01.westus.logic.example:443/workflows/0a1b2c3d4e5f/triggers/manual/"
        "paths/invoke?api-version=2016-06-01&sp=%2Ftriggers&sv=1.0&sig=TopSecretSig123"
    )
    masked = mask_webhook(url)
    assert masked.startswith("https://prod-01.westus.logic.example/")
    assert "TopSecretSig123" not in masked and "0a1b2c3d4e5f" not in masked
    assert "masked" in masked
    assert mask_webhook(url) == masked  # stable: two webhooks can be told apart
    assert mask_webhook(url.replace("123", "124")) != masked


async def test_webhook_secret_never_reaches_logs_or_errors(
    fake: FakeTeams, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    notifier = TeamsNotifier(allow_private_networks=True, timeout_s=2)
    notifier.min_interval_s = 0
    target = channel(fake.webhook("desk"))
    fake.plan("desk", 202, Answer(429, retry_after="1"), 500, 404)
    errors: list[str] = []
    try:
        for n in range(4):
            try:
                await notifier.send(target, alert(n), thread_ref=None, delivery_id=n)
            except Exception as exc:  # every kind of failure is inspected
                errors.append(str(exc))
                errors.append(repr(exc))
        bad = replace(target, target=fake.webhook("desk").replace("http://", "ftp://"))
        try:
            await notifier.send(bad, alert(5), thread_ref=None, delivery_id=5)
        except PermanentDeliveryError as exc:
            errors.append(str(exc))
        errors.append(repr(notifier))
    finally:
        await notifier.aclose()
    assert len(errors) == 8
    assert any("HTTP Request" in r.getMessage() for r in caplog.records)  # httpx did log
    everything = caplog.text + "\n".join(errors)
    assert FakeTeams.SECRET not in everything
    assert "sig=" not in everything
