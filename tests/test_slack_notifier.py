"""SlackNotifier against the fake Web API: payload, error mapping, no blind re-posts,
reconciliation lookups, file uploads and the App Home."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fakeslack import FakeSlack
from slack_support import BOT_TOKEN, alert_payload

from bot.chat.slack.notifier import SlackNotifier
from bot.domain.codec import message_from_dict
from bot.domain.errors import (
    PayloadRejectedError,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from bot.domain.models import Channel, Message

CHANNEL = Channel(id=1, name="desk", platform="slack", target="C1")
ALERT = message_from_dict(alert_payload("Taiwan Strait transit & <b>drill</b>"))


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


@pytest.fixture
async def notifier(fake: FakeSlack) -> AsyncIterator[SlackNotifier]:
    n = SlackNotifier(BOT_TOKEN, base_url=fake.api_url)
    yield n
    await n.aclose()


async def test_post_carries_blocks_fallback_metadata_and_no_unfurl(
    notifier: SlackNotifier, fake: FakeSlack
) -> None:
    result = await notifier.send(CHANNEL, ALERT, thread_ref=None, delivery_id=42)
    [post] = fake.posts
    assert result.remote_id == post.ts and result.thread_ref == post.ts
    assert post.channel == "C1" and post.blocks and post.text
    assert "&amp; &lt;b&gt;drill&lt;/b&gt;" in post.text
    assert post.metadata == {"event_type": "uschina_delivery", "event_payload": {"delivery_id": 42}}
    assert post.raw["unfurl_links"] is False and post.raw["unfurl_media"] is False
    assert notifier.min_interval_s == 1.0
    await notifier.send(CHANNEL, ALERT, thread_ref=post.ts, delivery_id=43)
    assert fake.posts[1].thread_ts == post.ts


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("channel_not_found", PermanentDeliveryError),
        ("not_in_channel", PermanentDeliveryError),
        ("is_archived", PermanentDeliveryError),
        ("invalid_auth", PermanentDeliveryError),
        ("token_revoked", PermanentDeliveryError),
        ("account_inactive", PermanentDeliveryError),
        ("missing_scope", PermanentDeliveryError),
        ("invalid_blocks", PayloadRejectedError),
        ("invalid_blocks_format", PayloadRejectedError),
        ("msg_too_long", PayloadRejectedError),
        ("internal_error", TransientDeliveryError),
    ],
)
async def test_errors_are_mapped(
    notifier: SlackNotifier, fake: FakeSlack, code: str, kind: type[Exception]
) -> None:
    fake.channel_errors["C1"] = code
    with pytest.raises(kind) as info:
        await notifier.send(CHANNEL, ALERT, thread_ref=None, delivery_id=1)
    if kind is PermanentDeliveryError:
        assert str(info.value) == code


async def test_429_carries_retry_after(notifier: SlackNotifier, fake: FakeSlack) -> None:
    fake.rate_limit_every = 1
    fake.retry_after = 13
    with pytest.raises(TransientDeliveryError) as info:
        await notifier.send(CHANNEL, ALERT, thread_ref=None, delivery_id=1)
    assert info.value.retry_after == 13
    assert fake.received == 1  # the SDK did not retry the 429 by itself


async def test_dropped_connection_is_not_reposted_by_the_sdk(
    notifier: SlackNotifier, fake: FakeSlack
) -> None:
    fake.drop_connection["chat.postMessage"] = 1
    with pytest.raises(TransientDeliveryError):
        await notifier.send(CHANNEL, ALERT, thread_ref=None, delivery_id=1)
    assert len(fake.calls_to("chat.postMessage")) == 1
    # Idempotent reads are still retried once after a dropped connection.
    fake.drop_connection["conversations.history"] = 1
    assert await notifier.find_sent(CHANNEL, 1, since=datetime.now(UTC)) is None
    assert len(fake.calls_to("conversations.history")) == 2


async def test_find_sent_by_delivery_id_in_channel_and_thread(
    notifier: SlackNotifier, fake: FakeSlack
) -> None:
    since = datetime.now(UTC) - timedelta(seconds=5)
    parent = await notifier.send(CHANNEL, ALERT, thread_ref=None, delivery_id=7)
    reply = await notifier.send(CHANNEL, ALERT, thread_ref=parent.remote_id, delivery_id=8)
    assert await notifier.find_sent(CHANNEL, 7, since=since) == parent.remote_id
    assert await notifier.find_sent(CHANNEL, 9, since=since) is None
    assert parent.remote_id is not None
    found = await notifier.find_sent_in_thread(CHANNEL, 8, thread_ref=parent.remote_id, since=since)
    assert found == reply.remote_id
    call = fake.calls_to("conversations.history")[0]
    assert call["include_all_metadata"] == "true"


async def test_plain_text_fallback_has_no_blocks(notifier: SlackNotifier, fake: FakeSlack) -> None:
    await notifier.send_plain(CHANNEL, ALERT, thread_ref=None, delivery_id=3)
    [post] = fake.posts
    assert post.blocks is None
    assert "<https://news.example/a|" in post.text


async def test_dm_upload_and_home(notifier: SlackNotifier, fake: FakeSlack) -> None:
    dm = Channel(id=2, name="slack-dm:U5", platform="slack", target="U5", is_dm=True)
    await notifier.send(dm, Message(fallback="hi"), thread_ref=None, delivery_id=1)
    await notifier.send(dm, Message(fallback="again"), thread_ref=None, delivery_id=2)
    assert [p.channel for p in fake.posts] == ["D5", "D5"]
    assert len(fake.calls_to("conversations.open")) == 1  # cached
    file_id = await notifier.upload_file(CHANNEL, "chart.png", b"\x89PNG" + b"0" * 100, "Chart")
    assert file_id == "F1"
    assert fake.uploads[0] == {"file_id": "F1", "size": 104}
    complete = fake.calls_to("files.completeUploadExternal")[0]
    assert complete["channel_id"] == "C1"
    await notifier.publish_home("U5", {"type": "home", "blocks": []})
    assert fake.home_views == [("U5", {"type": "home", "blocks": []})]
