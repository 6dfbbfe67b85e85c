"""Items, their identities and topics, and the stories they form.

Write path (``IngestRepository.commit_many``, on the database's writer thread): one
transaction for many source batches inserts the new items, their identity keys and topic
rows, upserts their stories, enqueues the delivery intents that came from them, and saves
the sources' fetch states, one executemany per table. Either all of it lands or none of it
does, so a crash can neither lose an alert nor store an item without its alerts. ``commit``
is the one-batch case.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping, Table, bindparam, delete, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.ingest import IngestBatch, PendingDelivery
from bot.domain.models import (
    Classification,
    Engagement,
    EventDate,
    Item,
    Story,
)
from bot.domain.route import enqueue_rank
from storage.db import Database, JsonText
from storage.repos.sources import state_values
from storage.tables import delivery_t, identity_t, item_t, item_topic_t, source_t, story_t

__all__ = ["IngestBatch", "IngestRepository", "ItemRepository", "PendingDelivery"]

# --------------------------------------------------------------------------- mapping


def engagement_to_json(e: Engagement) -> dict[str, Any]:
    return {
        "kind": e.kind,
        "us": list(e.us_parties),
        "cn": list(e.cn_parties),
        "label": e.label,
        "status": e.status,
        "dates": [
            {
                "text": d.text,
                "start": d.start.isoformat(),
                "end": d.end.isoformat(),
                "certainty": d.certainty,
            }
            for d in e.dates
        ],
    }


def engagement_from_json(d: dict[str, Any]) -> Engagement:
    from datetime import date

    return Engagement(
        kind=d.get("kind", ""),
        us_parties=tuple(d.get("us", ())),
        cn_parties=tuple(d.get("cn", ())),
        label=d.get("label", ""),
        status=d.get("status", "reported"),
        dates=tuple(
            EventDate(
                text=x["text"],
                start=date.fromisoformat(x["start"]),
                end=date.fromisoformat(x["end"]),
                certainty=x["certainty"],
            )
            for x in d.get("dates", ())
        ),
    )


def to_item(row: RowMapping) -> Item:
    classification = None
    if row["relevant"] is not None:
        classification = Classification(
            relevant=row["relevant"],
            topics=tuple(row["topics"] or ()),
            scores=dict(row["scores"] or {}),
            why={k: list(v) for k, v in (row["why"] or {}).items()},
        )
    return Item(
        id=row["id"],
        key=row["key"],
        source_id=row["source_id"],
        url=row["url"],
        title=row["title"],
        summary=row["summary"],
        published=row["published"],
        first_seen=row["first_seen"],
        source_name=row["source_name"],
        official=row["official"],
        language=row["language"],
        guid=row["guid"],
        content_hash=row["content_hash"],
        classification=classification,
        story_key=row["story_key"],
        engagements=tuple(engagement_from_json(e) for e in row["engagements"] or ()),
    )


def item_values(item: Item, *, baseline: bool) -> dict[str, Any]:
    c = item.classification
    return {
        "source_id": item.source_id,
        "key": item.key,
        "guid": item.guid,
        "url": item.url,
        "title": item.title,
        "summary": item.summary,
        "published": item.published,
        "first_seen": item.first_seen,
        "source_name": item.source_name,
        "official": item.official,
        "language": item.language,
        "content_hash": item.content_hash,
        "relevant": c.relevant if c else None,
        "topics": list(c.topics) if c else [],
        "scores": dict(c.scores) if c else {},
        "why": {k: list(v) for k, v in c.why.items()} if c else {},
        "story_key": item.story_key,
        "engagements": [engagement_to_json(e) for e in item.engagements],
        "is_baseline": baseline,
    }


def to_story(row: RowMapping) -> Story:
    return Story(
        key=row["key"],
        title=row["title"],
        url=row["url"],
        first_seen=row["first_seen"],
        last_seen=row["last_seen"],
        topics=tuple(row["topics"] or ()),
        outlets=tuple(row["outlets"] or ()),
        official=row["official"],
        item_count=row["item_count"],
        first_item_id=row["first_item_id"],
    )


def story_values(story: Story, fingerprint: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "key": story.key,
        "title": story.title,
        "url": story.url,
        "first_seen": story.first_seen,
        "last_seen": story.last_seen,
        "topics": list(story.topics),
        "outlets": list(story.outlets),
        "official": story.official,
        "item_count": story.item_count,
        "first_item_id": story.first_item_id,
        "relevant": bool(story.topics),
        "fingerprint": dict(fingerprint),
    }


def dialect_insert(conn: AsyncConnection, table: Table) -> Any:
    """INSERT supporting ``on_conflict_do_nothing``/``_update`` on SQLite and PostgreSQL."""
    dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
    return dialect.insert(table)


# --------------------------------------------------------------------------- write path


class IngestRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def known_identities(self, source_id: int, identities: Iterable[str]) -> set[str]:
        """Which of ``identities`` are already stored for this source."""
        wanted = list(set(identities))
        found: set[str] = set()
        async with self.db.connect() as conn:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                result = await conn.execute(
                    select(identity_t.c.identity)
                    .where(identity_t.c.source_id == source_id)
                    .where(identity_t.c.identity.in_(chunk))
                )
                found.update(result.scalars().all())
        return found

    async def known_identities_of(self, source_ids: Iterable[int]) -> dict[int, set[str]]:
        """All stored identity keys of each of ``source_ids`` (one query per 500 sources)."""
        wanted = sorted(set(source_ids))
        found: dict[int, set[str]] = {sid: set() for sid in wanted}
        if not wanted:
            return found
        async with self.db.connect() as conn:
            for start in range(0, len(wanted), 500):
                result = await conn.execute(
                    select(identity_t.c.source_id, identity_t.c.identity).where(
                        identity_t.c.source_id.in_(wanted[start : start + 500])
                    )
                )
                for source_id, identity in result.all():
                    found[source_id].add(identity)
        return found

    async def commit(self, batch: IngestBatch) -> list[Item]:
        """Write ``batch`` in one transaction; return the items actually inserted (with ids)."""
        return (await self.commit_many([batch]))[0]

    async def commit_many(self, batches: Sequence[IngestBatch]) -> list[list[Item]]:
        """Write ``batches`` (distinct sources) in one transaction, one statement per table;
        return, per batch, the items actually inserted (with ids). Their deliveries are
        enqueued in batch order, follow-ups after all the others (``enqueue_rank``)."""
        if not batches:
            return []
        return await self.db.on_writer(lambda db: self._write(db, batches))

    async def _write(self, db: Database, batches: Sequence[IngestBatch]) -> list[list[Item]]:
        """``commit_many``'s transaction, on the writer's loop (``Database.on_writer``: its
        parameter processing is CPU that would otherwise hold the caller's event loop)."""
        async with db.connect() as conn:
            inserted = await self._insert_items(conn, batches)
            await self._upsert_stories(conn, [s for b in batches for s in b.stories])
            await self._enqueue(conn, batches, inserted)
            await self._save_states(conn, batches, inserted)
        return inserted

    async def _save_states(
        self, conn: AsyncConnection, batches: Sequence[IngestBatch], inserted: list[list[Item]]
    ) -> None:
        rows = [
            {"source_id": b.source_id, "added": len(new), **state_values(b.state)}
            for b, new in zip(batches, inserted, strict=True)
        ]
        values: dict[str, Any] = {
            k: bindparam(k) for k in rows[0] if k not in ("source_id", "added")
        }
        await conn.execute(
            update(source_t)
            .where(source_t.c.id == bindparam("source_id"))
            .values(**values, item_count=source_t.c.item_count + bindparam("added")),
            rows,
        )

    async def _insert_items(
        self, conn: AsyncConnection, batches: Sequence[IngestBatch]
    ) -> list[list[Item]]:
        rows = [item_values(item, baseline=b.baseline) for b in batches for item, _ in b.items]
        if not rows:
            return [[] for _ in batches]
        stmt = (
            dialect_insert(conn, item_t)
            .on_conflict_do_nothing(index_elements=["source_id", "key"])
            .returning(item_t.c.id, item_t.c.source_id, item_t.c.key)
        )
        result = await conn.execute(stmt, rows)
        ids = {(source_id, key): item_id for item_id, source_id, key in result.all()}
        out: list[list[Item]] = []
        identity_rows: list[dict[str, Any]] = []
        topic_rows: list[dict[str, Any]] = []
        for batch in batches:
            inserted: list[Item] = []
            for item, identities in batch.items:
                item_id = ids.get((item.source_id, item.key))
                if item_id is None:
                    continue
                inserted.append(replace(item, id=item_id))
                identity_rows.extend(
                    {"source_id": item.source_id, "identity": ident, "item_id": item_id}
                    for ident in dict.fromkeys(identities)
                )
                if item.relevant:
                    topic_rows.extend(
                        {"item_id": item_id, "topic": t, "published": item.published}
                        for t in item.topics
                    )
            out.append(inserted)
        if identity_rows:
            await conn.execute(
                dialect_insert(conn, identity_t).on_conflict_do_nothing(), identity_rows
            )
        if topic_rows:
            await conn.execute(
                dialect_insert(conn, item_topic_t).on_conflict_do_nothing(), topic_rows
            )
        return out

    async def _upsert_stories(
        self, conn: AsyncConnection, stories: Sequence[tuple[Story, dict[str, Any]]]
    ) -> None:
        """Insert or update ``stories`` in one executemany. A key repeated in ``stories`` is
        written as if each state were upserted in order: the last state, with the first
        one's ``first_seen`` (an update never changes ``first_seen``)."""
        by_key: dict[str, dict[str, Any]] = {}
        for story, fingerprint in stories:
            row = story_values(story, fingerprint)
            first = by_key.get(story.key)
            if first is not None:  # as if inserted first, then updated by the later state
                row["first_seen"] = first["first_seen"]
            by_key[story.key] = row
        rows = list(by_key.values())
        if not rows:
            return
        stmt = dialect_insert(conn, story_t)
        stmt = stmt.on_conflict_do_update(
            index_elements=["key"],
            set_={k: stmt.excluded[k] for k in rows[0] if k not in ("key", "first_seen")},
        )
        await conn.execute(stmt, rows)

    async def _enqueue(
        self,
        conn: AsyncConnection,
        batches: Sequence[IngestBatch],
        inserted: Sequence[Sequence[Item]],
    ) -> None:
        rows: list[dict[str, Any]] = []
        encoded: dict[int, JsonText] = {}  # an item's payload is shared by its channels' rows
        for batch, new in zip(batches, inserted, strict=True):
            item_ids: Mapping[str, int | None] = {i.key: i.id for i in new}
            rows.extend(
                _delivery_row(
                    d, item_ids.get(d.item_key) if d.item_key else None, batch.now, encoded
                )
                for d in batch.deliveries
                if d.item_key is None or item_ids.get(d.item_key) is not None
            )
        rows.sort(key=lambda row: enqueue_rank(row["kind"]))  # parents before their replies
        await _insert_deliveries(conn, rows)

    async def enqueue(self, deliveries: Sequence[PendingDelivery], now: datetime) -> None:
        """Queue deliveries of no stored item (the summaries that end a poll cycle) in one
        transaction; a dedupe key already queued is skipped."""
        rows = [_delivery_row(d, None, now) for d in deliveries if d.item_key is None]
        if rows:
            async with self.db.connect() as conn:
                await _insert_deliveries(conn, rows)

    async def alerted_channels(self, story_keys: Iterable[str]) -> dict[str, set[int]]:
        """For each story key, the channels that already have an alert for it (any status)."""
        keys = list(set(story_keys))
        out: dict[str, set[int]] = {k: set() for k in keys}
        if not keys:
            return out
        async with self.db.connect() as conn:
            for start in range(0, len(keys), 500):
                result = await conn.execute(
                    select(delivery_t.c.story_key, delivery_t.c.channel_id)
                    .where(delivery_t.c.kind == "alert")
                    .where(delivery_t.c.story_key.in_(keys[start : start + 500]))
                )
                for key, channel_id in result.all():
                    out[key].add(channel_id)
        return out


def _delivery_row(
    d: PendingDelivery,
    item_id: int | None,
    now: datetime,
    encoded: dict[int, JsonText] | None = None,
) -> dict[str, Any]:
    """One outbox row; with ``encoded``, a payload object met before is not encoded again
    (the payloads must stay alive and unchanged while ``encoded`` is in use)."""
    payload: dict[str, Any] | JsonText = d.payload
    if encoded is not None:
        found = encoded.get(id(d.payload))
        if found is None:
            found = encoded[id(d.payload)] = JsonText(json.dumps(d.payload))
        payload = found
    return {
        "channel_id": d.channel_id,
        "kind": d.kind,
        "dedupe_key": d.dedupe_key,
        "story_key": d.story_key,
        "item_id": item_id,
        "countdown_id": d.countdown_id,
        "thread_key": d.thread_key,
        "payload": payload,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


async def _insert_deliveries(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    if rows:
        await conn.execute(
            dialect_insert(conn, delivery_t).on_conflict_do_nothing(index_elements=["dedupe_key"]),
            rows,
        )


# --------------------------------------------------------------------------- read path


class ItemRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def _items(self, query: Any) -> list[Item]:
        async with self.db.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [to_item(r) for r in rows]

    async def get(self, item_id: int) -> Item | None:
        found = await self._items(select(item_t).where(item_t.c.id == item_id))
        return found[0] if found else None

    async def count(self, *, relevant: bool | None = None) -> int:
        query = select(func.count()).select_from(item_t)
        if relevant is not None:
            query = query.where(item_t.c.relevant.is_(relevant))
        async with self.db.connect() as conn:
            return int((await conn.execute(query)).scalar_one())

    async def latest(self, *, topic: str | None = None, limit: int = 5) -> list[Item]:
        """Newest relevant items, optionally of one topic (uses the topic index)."""
        if topic:
            ids = (
                select(item_topic_t.c.item_id)
                .where(item_topic_t.c.topic == topic)
                .order_by(item_topic_t.c.published.desc())
                .limit(limit)
            )
            query = select(item_t).where(item_t.c.id.in_(ids))
        else:
            query = select(item_t).where(item_t.c.relevant.is_(True))
        return await self._items(query.order_by(item_t.c.published.desc()).limit(limit))

    async def in_story(self, story_key: str) -> list[Item]:
        return await self._items(
            select(item_t).where(item_t.c.story_key == story_key).order_by(item_t.c.published)
        )

    async def between(
        self, since: datetime, until: datetime, *, relevant_only: bool = True
    ) -> list[Item]:
        query = select(item_t).where(item_t.c.first_seen >= since, item_t.c.first_seen < until)
        if relevant_only:
            query = query.where(item_t.c.relevant.is_(True))
        return await self._items(query.order_by(item_t.c.published))

    async def search(self, words: str, *, topic: str | None = None, limit: int = 10) -> list[Item]:
        """Full-text search (FTS5 on SQLite, tsvector on PostgreSQL), newest first.

        ``words`` is untrusted user text: it is reduced to alphanumeric terms, all required.
        """
        terms = "".join(c if c.isalnum() else " " for c in words).split()
        if not terms:
            return []
        if self.db.is_sqlite:
            match = " ".join(f'"{t}"' for t in terms)
            fts = text("SELECT rowid FROM item_fts WHERE item_fts MATCH :q").bindparams(q=match)
            cond = item_t.c.id.in_(fts.columns(rowid=item_t.c.id.type))
        else:
            document = func.to_tsvector(
                "english",
                func.coalesce(item_t.c.title, "") + " " + func.coalesce(item_t.c.summary, ""),
            )
            cond = document.op("@@")(func.plainto_tsquery("english", " ".join(terms)))
        query = select(item_t).where(cond).where(item_t.c.relevant.is_(True))
        if topic:
            query = query.where(
                item_t.c.id.in_(select(item_topic_t.c.item_id).where(item_topic_t.c.topic == topic))
            )
        return await self._items(query.order_by(item_t.c.published.desc()).limit(limit))

    async def all_ids(self) -> list[int]:
        async with self.db.connect() as conn:
            return list((await conn.execute(select(item_t.c.id).order_by(item_t.c.id))).scalars())

    async def many(self, ids: Sequence[int]) -> list[Item]:
        return await self._items(select(item_t).where(item_t.c.id.in_(list(ids))))

    async def reclassify(self, updates: Sequence[tuple[Item, Classification]]) -> None:
        """Replace the classifications (and topic rows) of stored items, in one transaction."""
        async with self.db.connect() as conn:
            topic_rows: list[dict[str, Any]] = []
            for item, c in updates:
                await conn.execute(
                    update(item_t)
                    .where(item_t.c.id == item.id)
                    .values(
                        relevant=c.relevant,
                        topics=list(c.topics),
                        scores=dict(c.scores),
                        why={k: list(v) for k, v in c.why.items()},
                    )
                )
                await conn.execute(delete(item_topic_t).where(item_topic_t.c.item_id == item.id))
                if c.relevant:
                    topic_rows.extend(
                        {"item_id": item.id, "topic": t, "published": item.published}
                        for t in c.topics
                    )
            if topic_rows:
                await conn.execute(
                    dialect_insert(conn, item_topic_t).on_conflict_do_nothing(), topic_rows
                )


class StoryRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def _stories(self, query: Any) -> list[Story]:
        async with self.db.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [to_story(r) for r in rows]

    async def get(self, key: str) -> Story | None:
        found = await self._stories(select(story_t).where(story_t.c.key == key))
        return found[0] if found else None

    async def many(self, keys: Iterable[str]) -> dict[str, Story]:
        wanted = list(set(keys))
        if not wanted:
            return {}
        found = await self._stories(select(story_t).where(story_t.c.key.in_(wanted)))
        return {s.key: s for s in found}

    async def recent_fingerprints(self, since: datetime) -> list[tuple[Story, dict[str, Any]]]:
        """Stories seen since ``since`` with their fingerprints, oldest first."""
        query = select(story_t).where(story_t.c.last_seen >= since).order_by(story_t.c.first_seen)
        async with self.db.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [(to_story(r), dict(r["fingerprint"] or {})) for r in rows]

    async def between(
        self, since: datetime, until: datetime, *, topic: str | None = None
    ) -> list[Story]:
        """Relevant stories first seen in [since, until), oldest first."""
        query = (
            select(story_t)
            .where(story_t.c.relevant.is_(True))
            .where(story_t.c.first_seen >= since, story_t.c.first_seen < until)
            .order_by(story_t.c.first_seen)
        )
        stories = await self._stories(query)
        return [s for s in stories if topic is None or topic in s.topics]
