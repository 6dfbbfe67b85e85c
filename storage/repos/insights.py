"""Read queries behind digests, the status board, countdowns and retention.

Every query here is bounded by an index: ``item_topic (topic, published)`` for per-topic
questions, ``item (relevant, published)`` for the newest relevant items, ``story.first_seen``
for periods and the unique ``delivery.dedupe_key`` for "was this already enqueued". None of
them loads a whole table into Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    RowMapping,
    String,
    Text,
    and_,
    bindparam,
    case,
    cast,
    delete,
    func,
    or_,
    select,
    union_all,
    update,
)

from bot.domain.models import Classification, Item, SentDelivery
from storage.db import Database
from storage.repos.items import engagement_from_json, to_item
from storage.tables import countdown_t, delivery_t, item_t, item_topic_t, story_t

BATCH = 1000


# What the status board needs of an item (no summary, scores or explanations to decode).
_LIGHT_COLUMNS = (
    item_t.c.id,
    item_t.c.key,
    item_t.c.source_id,
    item_t.c.url,
    item_t.c.title,
    item_t.c.published,
    item_t.c.first_seen,
    item_t.c.source_name,
    item_t.c.official,
    item_t.c.topics,
    item_t.c.story_key,
    item_t.c.engagements,
)


def _light_item(row: RowMapping) -> Item:
    """An item with only the fields the status board reads (summary left empty)."""
    return Item(
        id=row["id"],
        key=row["key"],
        source_id=row["source_id"],
        url=row["url"],
        title=row["title"],
        summary="",
        published=row["published"],
        first_seen=row["first_seen"],
        source_name=row["source_name"],
        official=row["official"],
        classification=Classification(relevant=True, topics=tuple(row["topics"] or ())),
        story_key=row["story_key"],
        engagements=tuple(engagement_from_json(e) for e in row["engagements"] or ()),
    )


@lru_cache(maxsize=8)
def _latest_statement(n: int) -> Any:
    """UNION ALL of ``n`` index probes "newest item_topic row of topic :tI at or before
    :until" (built once per topic count; parameters bound at execution)."""
    until = bindparam("until", type_=item_topic_t.c.published.type)
    probes = []
    for i in range(n):
        topic = bindparam(f"t{i}", type_=String())
        newest = (
            select(item_topic_t.c.item_id)
            .where(item_topic_t.c.topic == topic)
            .where(item_topic_t.c.published <= until)
            .order_by(item_topic_t.c.published.desc())
            .limit(1)
            .subquery()
        )
        probes.append(select(topic.label("topic"), newest.c.item_id))
    return union_all(*probes)


class InsightRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    # ----------------------------------------------------------------- status board

    async def latest_per_topic(self, topics: Sequence[str], until: datetime) -> dict[str, Item]:
        """The newest relevant item of each topic published at or before ``until``
        (one statement: a UNION ALL of one index probe per topic)."""
        wanted = tuple(dict.fromkeys(topics))
        if not wanted:
            return {}
        params: dict[str, Any] = {f"t{i}": t for i, t in enumerate(wanted)}
        params["until"] = until
        async with self.db.connect() as conn:
            result = await conn.execute(_latest_statement(len(wanted)), params)
            ids = {t: int(i) for t, i in result.all()}
            if not ids:
                return {}
            rows = (
                (await conn.execute(select(item_t).where(item_t.c.id.in_(set(ids.values())))))
                .mappings()
                .all()
            )
        items = {row["id"]: to_item(row) for row in rows}
        return {topic: items[i] for topic, i in ids.items() if i in items}

    async def story_counts(
        self, topics: Sequence[str], since: datetime, split: datetime, until: datetime
    ) -> dict[str, tuple[int, int]]:
        """Per topic: (stories in [split, until), stories in [since, split)), by the
        publication time of their items.

        A story is counted once per topic and half however many of its items carry that
        topic; an item without a story counts as its own story."""
        out = {t: (0, 0) for t in topics}
        if not topics:
            return out
        story = func.coalesce(item_t.c.story_key, cast(item_t.c.id, String)).label("story")
        recent = case((item_topic_t.c.published >= split, 1), else_=0).label("recent")
        pairs = (
            select(item_topic_t.c.topic, recent, story)
            .distinct()
            .select_from(item_topic_t.join(item_t, item_t.c.id == item_topic_t.c.item_id))
            .where(item_topic_t.c.topic.in_(list(topics)))
            .where(item_topic_t.c.published >= since, item_topic_t.c.published < until)
            .subquery()
        )
        query = select(pairs.c.topic, pairs.c.recent, func.count()).group_by(
            pairs.c.topic, pairs.c.recent
        )
        async with self.db.connect() as conn:
            for topic, is_recent, count in (await conn.execute(query)).all():
                current, previous = out[topic]
                out[topic] = (int(count), previous) if is_recent else (current, int(count))
        return out

    async def engagement_items(
        self,
        since: datetime,
        until: datetime,
        *,
        topic: str | None = None,
        limit: int = 200,
    ) -> list[Item]:
        """Newest relevant items published in [since, until] that carry any engagement
        (walks a published index backwards and stops at ``limit``); callers pick kinds."""
        has_engagement = cast(item_t.c.engagements, Text) != "[]"
        if topic is None:
            query = (
                select(*_LIGHT_COLUMNS)
                .where(item_t.c.relevant.is_(True))
                .where(item_t.c.published >= since, item_t.c.published <= until)
                .where(has_engagement)
                .order_by(item_t.c.published.desc())
                .limit(limit)
            )
        else:
            query = (
                select(*_LIGHT_COLUMNS)
                .select_from(item_topic_t.join(item_t, item_t.c.id == item_topic_t.c.item_id))
                .where(item_topic_t.c.topic == topic)
                .where(item_topic_t.c.published >= since, item_topic_t.c.published <= until)
                .where(has_engagement)
                .order_by(item_topic_t.c.published.desc())
                .limit(limit)
            )
        async with self.db.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [_light_item(r) for r in rows]

    async def recent_story_keys(self, topic: str, until: datetime, limit: int = 5) -> list[str]:
        """Keys of the stories of the newest items of ``topic`` (newest first, distinct)."""
        query = (
            select(item_t.c.story_key, item_t.c.id)
            .select_from(item_topic_t.join(item_t, item_t.c.id == item_topic_t.c.item_id))
            .where(item_topic_t.c.topic == topic)
            .where(item_topic_t.c.published <= until)
            .order_by(item_topic_t.c.published.desc())
            .limit(limit * 10)
        )
        async with self.db.connect() as conn:
            rows = (await conn.execute(query)).all()
        keys = [key for key, _ in rows if key]
        return list(dict.fromkeys(keys))[:limit]

    async def items_of_stories(
        self, keys: Sequence[str], per_story: int = 50
    ) -> dict[str, list[Item]]:
        """Items of each story (via the story_key index)."""
        out: dict[str, list[Item]] = {}
        if not keys:
            return out
        async with self.db.connect() as conn:
            for key in dict.fromkeys(keys):
                rows = (
                    (
                        await conn.execute(
                            select(item_t)
                            .where(item_t.c.story_key == key)
                            .order_by(item_t.c.published)
                            .limit(per_story)
                        )
                    )
                    .mappings()
                    .all()
                )
                out[key] = [to_item(r) for r in rows]
        return out

    # ----------------------------------------------------------------- digests

    async def story_topics_between(
        self, since: datetime, until: datetime
    ) -> list[tuple[datetime, list[str]]]:
        """``(first_seen, topics)`` of relevant stories first seen in [since, until)."""
        query = (
            select(story_t.c.first_seen, story_t.c.topics)
            .where(story_t.c.relevant.is_(True))
            .where(story_t.c.first_seen >= since, story_t.c.first_seen < until)
        )
        async with self.db.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [(first_seen, list(topics or ())) for first_seen, topics in rows]

    async def dedupe_keys(self, prefix: str) -> set[str]:
        """Dedupe keys of deliveries starting with ``prefix`` (a range on the unique index)."""
        query = select(delivery_t.c.dedupe_key).where(
            delivery_t.c.dedupe_key >= prefix, delivery_t.c.dedupe_key < prefix + "\U0010ffff"
        )
        async with self.db.connect() as conn:
            return set((await conn.execute(query)).scalars())

    async def sent_with_prefix(self, prefix: str, since: datetime) -> list[SentDelivery]:
        """Deliveries whose dedupe key starts with ``prefix``, sent at or after ``since``
        (a range on the unique dedupe-key index)."""
        query = (
            select(
                delivery_t.c.channel_id,
                delivery_t.c.dedupe_key,
                delivery_t.c.remote_id,
                delivery_t.c.sent_at,
            )
            .where(delivery_t.c.dedupe_key >= prefix)
            .where(delivery_t.c.dedupe_key < prefix + "\U0010ffff")
            .where(delivery_t.c.status == "sent")
            .where(delivery_t.c.sent_at >= since)
            .order_by(delivery_t.c.id)
        )
        async with self.db.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [SentDelivery(c, k, r, s) for c, k, r, s in rows]

    # ----------------------------------------------------------------- retention

    async def tombstone_items(self, seen_before: datetime) -> int:
        """Empty the content of items first seen before ``seen_before`` and take them out of
        every listing, keeping the row (and so its identities: they are not re-ingested)."""
        total = 0
        live = and_(
            item_t.c.first_seen < seen_before,
            or_(item_t.c.title != "", item_t.c.relevant.is_not(False)),
        )
        while True:
            async with self.db.connect() as conn:
                ids = list(
                    (await conn.execute(select(item_t.c.id).where(live).limit(BATCH))).scalars()
                )
                if not ids:
                    return total
                await conn.execute(delete(item_topic_t).where(item_topic_t.c.item_id.in_(ids)))
                await conn.execute(
                    update(item_t)
                    .where(item_t.c.id.in_(ids))
                    .values(
                        title="",
                        summary="",
                        relevant=False,
                        topics=[],
                        scores={},
                        why={},
                        engagements=[],
                        story_key=None,
                    )
                )
            total += len(ids)

    async def delete_items(self, seen_before: datetime) -> int:
        """Delete items first seen before ``seen_before`` (identities and topics cascade)."""
        total = 0
        while True:
            async with self.db.connect() as conn:
                ids = list(
                    (
                        await conn.execute(
                            select(item_t.c.id)
                            .where(item_t.c.first_seen < seen_before)
                            .limit(BATCH)
                        )
                    ).scalars()
                )
                if not ids:
                    return total
                await conn.execute(delete(item_topic_t).where(item_topic_t.c.item_id.in_(ids)))
                await conn.execute(delete(item_t).where(item_t.c.id.in_(ids)))
            total += len(ids)

    async def delete_stories(self, last_seen_before: datetime) -> int:
        async with self.db.connect() as conn:
            result = await conn.execute(
                delete(story_t).where(story_t.c.last_seen < last_seen_before)
            )
        return int(result.rowcount)

    async def delete_finished_deliveries(self, before: datetime) -> int:
        """Delete sent/failed/dropped deliveries older than ``before``, except the posts of
        countdowns still active (their first post anchors the countdown's thread)."""
        active = select(countdown_t.c.id).where(countdown_t.c.status == "active")
        when = func.coalesce(delivery_t.c.sent_at, delivery_t.c.created_at)
        async with self.db.connect() as conn:
            result = await conn.execute(
                delete(delivery_t)
                .where(delivery_t.c.status.in_(("sent", "failed", "dropped")))
                .where(when < before)
                .where(
                    or_(
                        delivery_t.c.countdown_id.is_(None),
                        delivery_t.c.countdown_id.not_in(active),
                    )
                )
            )
        return int(result.rowcount)
