"""One storage contract, run on SQLite and on PostgreSQL (``store`` is parametrised)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.domain.errors import ConfigError
from bot.domain.models import Classification, FetchState, Item, SourceSpec, Story
from storage.repos.items import IngestBatch, PendingDelivery
from storage.store import Store

NOW = datetime(2024, 9, 1, 12, 0, tzinfo=UTC)


def make_item(source_id: int, n: int, *, topics: tuple[str, ...] = ("taiwan",)) -> Item:
    return Item(
        key=f"g:{n}",
        source_id=source_id,
        url=f"https://news.example/{n}",
        title=f"US and China discuss Taiwan, part {n}",
        summary="Officials met in Beijing to discuss arms sales.",
        published=NOW - timedelta(hours=n),
        first_seen=NOW,
        source_name="Example News",
        classification=Classification(relevant=bool(topics), topics=topics),
        story_key=f"st-{n}",
    )


async def add_source(store: Store, url: str = "https://feeds.example/a.xml") -> int:
    source = await store.sources.add(SourceSpec(name="A", url=url), origin="user", now=NOW)
    return source.id


async def test_sources_round_trip_and_duplicates(store: Store) -> None:
    sid = await add_source(store)
    got = await store.sources.get(sid)
    assert got is not None and got.spec.url == "https://feeds.example/a.xml"
    with pytest.raises(ConfigError, match="already exists"):
        await add_source(store)
    assert [s.id for s in await store.sources.due(NOW)] == [sid]
    state = FetchState(etag='"v1"', last_success=NOW, next_poll=NOW + timedelta(minutes=10))
    await store.sources.save_state(sid, state)
    assert await store.sources.due(NOW) == []
    reread = await store.sources.get(sid)
    assert reread is not None
    assert reread.state.etag == '"v1"'
    assert reread.state.last_success == NOW and reread.state.last_success.tzinfo is not None
    assert await store.sources.remove(sid) is True
    assert await store.sources.remove(sid) is False


async def test_upsert_specs_adds_new_and_keeps_user_sources(store: Store) -> None:
    await store.sources.add(
        SourceSpec(name="Mine", url="https://x.example/f"), origin="user", now=NOW
    )
    specs = [
        SourceSpec(name="Config name", url="https://x.example/f"),
        SourceSpec(name="B", url="https://y.example/f"),
    ]
    assert await store.sources.upsert_specs(specs, origin="config", now=NOW) == 1
    names = {s.spec.url: s.name for s in await store.sources.all()}
    assert names == {"https://x.example/f": "Mine", "https://y.example/f": "B"}


async def test_ingest_stores_each_item_once(store: Store) -> None:
    sid = await add_source(store)
    items = [make_item(sid, n) for n in range(3)]
    batch = IngestBatch(
        source_id=sid,
        state=FetchState(last_success=NOW),
        now=NOW,
        items=[(i, (i.key, f"u:{i.url}")) for i in items],
    )
    inserted = await store.ingest.commit(batch)
    assert len(inserted) == 3 and all(i.id for i in inserted)
    known = await store.ingest.known_identities(sid, ["g:0", "u:https://news.example/1", "g:9"])
    assert known == {"g:0", "u:https://news.example/1"}
    again = await store.ingest.commit(batch)
    assert again == []
    assert await store.items.count() == 3
    latest = await store.items.latest(topic="taiwan", limit=2)
    assert [i.key for i in latest] == ["g:0", "g:1"]
    assert latest[0].published.tzinfo is not None
    assert latest[0].classification is not None and latest[0].topics == ("taiwan",)


async def test_ingest_enqueues_deliveries_atomically_and_idempotently(store: Store) -> None:
    sid = await add_source(store)
    channel = await store.channels.ensure(name="desk", platform="console", target="stdout", now=NOW)
    item = make_item(sid, 1)
    story = Story(
        key="st-1",
        title=item.title,
        url=item.url,
        first_seen=NOW,
        last_seen=NOW,
        topics=("taiwan",),
        outlets=("Example News",),
    )
    delivery = PendingDelivery(
        channel_id=channel.id,
        kind="alert",
        dedupe_key="alert:1:st-1",
        payload={"fallback": "x"},
        story_key="st-1",
        item_key=item.key,
        thread_key="st-1",
    )
    batch = IngestBatch(
        source_id=sid,
        state=FetchState(),
        now=NOW,
        items=[(item, (item.key,))],
        stories=[(story, {"tokens": ["a"]})],
        deliveries=[delivery],
    )
    await store.ingest.commit(batch)
    await store.ingest.commit(batch)
    pending = await store.deliveries.for_channel(channel.id)
    assert len(pending) == 1 and pending[0].item_id is not None
    assert (await store.ingest.alerted_channels(["st-1"]))["st-1"] == {channel.id}
    fps = await store.stories.recent_fingerprints(NOW - timedelta(days=1))
    assert fps[0][0].key == "st-1" and fps[0][1] == {"tokens": ["a"]}


async def test_outbox_claim_send_retry(store: Store) -> None:
    channel = await store.channels.ensure(name="c", platform="slack", target="C1", now=NOW)
    assert await store.deliveries.enqueue(
        channel_id=channel.id, kind="alert", dedupe_key="k1", payload={}, now=NOW, thread_key="s"
    )
    assert not await store.deliveries.enqueue(
        channel_id=channel.id, kind="alert", dedupe_key="k1", payload={}, now=NOW
    )
    claimed = await store.deliveries.claim(worker="w1", now=NOW)
    assert [d.dedupe_key for d in claimed] == ["k1"] and not claimed[0].was_sending
    assert await store.deliveries.claim(worker="w2", now=NOW) == []
    # the lease expires (w1 died): w2 gets it, flagged for reconciliation
    later = NOW + timedelta(minutes=5)
    reclaimed = await store.deliveries.claim(worker="w2", now=later)
    assert reclaimed[0].was_sending
    await store.deliveries.mark_retry(reclaimed[0].id, error="429", at=later + timedelta(seconds=3))
    assert await store.deliveries.claim(worker="w2", now=later) == []
    third = await store.deliveries.claim(worker="w2", now=later + timedelta(seconds=4))
    await store.deliveries.mark_sent(third[0].id, remote_id="123.456", now=later)
    assert await store.deliveries.thread_parent(channel.id, "s") == ("sent", "123.456")
    assert (await store.deliveries.counts()) == {"sent": 1}


async def test_claim_leaves_the_skipped_channels_alone(store: Store) -> None:
    paced = await store.channels.ensure(name="paced", platform="slack", target="C1", now=NOW)
    free = await store.channels.ensure(name="free", platform="slack", target="C2", now=NOW)
    for n, channel in enumerate((paced, free, paced, free)):
        await store.deliveries.enqueue(
            channel_id=channel.id, kind="alert", dedupe_key=f"k{n}", payload={}, now=NOW
        )
    claimed = await store.deliveries.claim(worker="w1", now=NOW, skip_channels={paced.id})
    assert [d.dedupe_key for d in claimed] == ["k1", "k3"]
    later = await store.deliveries.claim(worker="w1", now=NOW, skip_channels=())
    assert [d.dedupe_key for d in later] == ["k0", "k2"]


async def test_channels_and_subscriptions(store: Store) -> None:
    ch = await store.channels.ensure(name="desk", platform="slack", target="C9", now=NOW)
    assert await store.channels.subscribe(ch.id, ["taiwan", "military"], "realtime", now=NOW) == [
        "taiwan",
        "military",
    ]
    assert await store.channels.subscribe(ch.id, ["taiwan"], "digest", now=NOW) == []
    subs = {s.topic: s.mode for s in await store.channels.subscriptions([ch.id])}
    assert subs == {"taiwan": "digest", "military": "realtime"}
    assert await store.channels.mute(ch.id, "military", NOW + timedelta(hours=24))
    assert await store.channels.unsubscribe(ch.id, ["taiwan"]) == 1
    assert await store.channels.unsubscribe(ch.id, None) == 1
    assert await store.channels.pause(ch.id, "channel_not_found", NOW) is True
    assert await store.channels.pause(ch.id, "channel_not_found", NOW) is False
    paused = await store.channels.get(ch.id)
    assert paused is not None and paused.paused_reason == "channel_not_found"


async def test_countdowns_and_proposals(store: Store) -> None:
    cd = await store.countdowns.add(
        name="COP29",
        start=date(2024, 11, 11),
        end=date(2024, 11, 11),
        tentative=False,
        now=NOW,
        where="Baku",
    )
    assert (await store.countdowns.all())[0].name == "COP29" and cd.where == "Baku"
    p = await store.countdowns.propose(
        label="Biden–Xi call",
        kind="call",
        start=date(2024, 9, 8),
        end=date(2024, 10, 13),
        certainty="expected",
        now=NOW,
    )
    assert p is not None
    assert (
        await store.countdowns.propose(
            label="Biden–Xi call",
            kind="call",
            start=date(2024, 9, 8),
            end=date(2024, 10, 13),
            certainty="expected",
            now=NOW,
        )
        is None
    )
    await store.countdowns.mark_tracked(p.id, cd.id)
    assert (await store.countdowns.proposals()) == []
    assert await store.countdowns.remove(cd.id)


async def test_replay_guard_and_leases(store: Store) -> None:
    assert await store.guards.first_time("req-1", NOW)
    assert not await store.guards.first_time("req-1", NOW)
    ttl = timedelta(seconds=30)
    assert await store.guards.acquire_lease("scheduler", "a", NOW, ttl)
    assert not await store.guards.acquire_lease("scheduler", "b", NOW, ttl)
    assert await store.guards.acquire_lease("scheduler", "a", NOW + timedelta(seconds=10), ttl)
    assert await store.guards.acquire_lease("scheduler", "b", NOW + timedelta(minutes=5), ttl)


async def test_full_text_search(store: Store) -> None:
    sid = await add_source(store)
    items = [make_item(sid, 1), make_item(sid, 2, topics=("trade",))]
    items[1] = Item(**{**items[1].__dict__, "title": "Tariffs rise as trade talks stall"})
    await store.ingest.commit(
        IngestBatch(
            source_id=sid, state=FetchState(), now=NOW, items=[(i, (i.key,)) for i in items]
        )
    )
    found = await store.items.search("tariffs")
    assert [i.key for i in found] == ["g:2"]
    assert await store.items.search("tariffs", topic="taiwan") == []
    assert await store.items.search("'; DROP TABLE item; --") == []
    assert await store.items.count() == 2


async def test_claim_due_hands_each_source_to_one_poller(store: Store) -> None:
    a = await add_source(store, "https://feeds.example/a.xml")
    b = await add_source(store, "https://feeds.example/b.xml")
    first = await store.sources.claim_due(NOW, limit=1)
    second = await store.sources.claim_due(NOW)
    assert [s.id for s in first] == [a] and [s.id for s in second] == [b]
    assert await store.sources.claim_due(NOW) == []
    later = await store.sources.claim_due(NOW + timedelta(minutes=6))
    assert sorted(s.id for s in later) == [a, b]


async def test_save_states_saves_many_sources_at_once(store: Store) -> None:
    first = await add_source(store, "https://feeds.example/1.xml")
    second = await add_source(store, "https://feeds.example/2.xml")
    untouched = await add_source(store, "https://feeds.example/3.xml")
    await store.sources.save_states([])
    await store.sources.save_states(
        [
            (first, FetchState(etag='"a"', failures=0, next_poll=NOW + timedelta(hours=1))),
            (second, FetchState(last_error="HTTP 500", failures=3, last_attempt=NOW)),
        ]
    )
    one, two, three = [await store.sources.get(sid) for sid in (first, second, untouched)]
    assert one is not None and two is not None and three is not None
    assert one.state.etag == '"a"' and one.state.next_poll == NOW + timedelta(hours=1)
    assert two.state.last_error == "HTTP 500" and two.state.failures == 3
    assert two.state.last_attempt == NOW and two.state.etag is None
    assert three.state == FetchState(next_poll=NOW)
