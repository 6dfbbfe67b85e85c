"""The outbox: deliveries recorded with what caused them, sent by a worker.

Life of a delivery: ``pending`` -> (claimed) ``sending`` -> ``sent`` | ``failed`` | ``dropped``.
A claim is a lease (``claimed_until``): if the process dies while sending, the lease expires
and the next claimer first reconciles (asks the platform whether the post exists) before
sending again. ``sending`` therefore means "may have been posted": an attempt that failed
ambiguously (connection reset, timeout) is put back as ``sending`` too (``mark_unsure``), so
it is reconciled before it is retried. Deliveries of a paused channel are never claimed;
they wait for the resume, and ``expire_older_than`` fails those too old to be worth posting.
On PostgreSQL claims use ``FOR UPDATE SKIP LOCKED`` so several instances can share one outbox;
SQLite has a single writer, which serialises claims by itself.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import RowMapping, and_, func, or_, select, true, update

from bot.domain.models import Delivery
from storage.db import Database
from storage.repos.items import dialect_insert
from storage.tables import channel_t, delivery_t


def to_delivery(row: RowMapping, *, was_sending: bool = False) -> Delivery:
    return Delivery(
        id=row["id"],
        channel_id=row["channel_id"],
        kind=row["kind"],
        dedupe_key=row["dedupe_key"],
        payload=dict(row["payload"] or {}),
        status=row["status"],
        attempts=row["attempts"],
        story_key=row["story_key"],
        item_id=row["item_id"],
        countdown_id=row["countdown_id"],
        thread_key=row["thread_key"],
        remote_id=row["remote_id"],
        error=row["error"],
        created_at=row["created_at"],
        was_sending=was_sending,
    )


class DeliveryRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def enqueue(
        self,
        *,
        channel_id: int,
        kind: str,
        dedupe_key: str,
        payload: dict[str, Any],
        now: datetime,
        story_key: str | None = None,
        thread_key: str | None = None,
        countdown_id: int | None = None,
        item_id: int | None = None,
    ) -> bool:
        """Record one delivery; False when ``dedupe_key`` was already recorded (idempotent)."""
        async with self.db.connect() as conn:
            result = await conn.execute(
                dialect_insert(conn, delivery_t)
                .values(
                    channel_id=channel_id,
                    kind=kind,
                    dedupe_key=dedupe_key,
                    payload=payload,
                    story_key=story_key,
                    thread_key=thread_key,
                    countdown_id=countdown_id,
                    item_id=item_id,
                    status="pending",
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                )
                .on_conflict_do_nothing(index_elements=["dedupe_key"])
            )
        return bool(result.rowcount)

    async def exists(self, dedupe_key: str) -> bool:
        async with self.db.connect() as conn:
            found = await conn.execute(
                select(delivery_t.c.id).where(delivery_t.c.dedupe_key == dedupe_key)
            )
            return found.first() is not None

    async def claim(
        self,
        *,
        worker: str,
        now: datetime,
        limit: int = 50,
        lease: timedelta = timedelta(seconds=60),
        skip_channels: Collection[int] = (),
    ) -> list[Delivery]:
        """Claim up to ``limit`` due deliveries (oldest first) for ``worker``, none of
        ``skip_channels`` (channels the worker is pacing: claiming them would only defer)."""
        due = and_(
            delivery_t.c.status.in_(("pending", "sending")),
            or_(delivery_t.c.next_attempt_at.is_(None), delivery_t.c.next_attempt_at <= now),
            or_(delivery_t.c.claimed_until.is_(None), delivery_t.c.claimed_until < now),
            delivery_t.c.channel_id.not_in(list(skip_channels)) if skip_channels else true(),
            delivery_t.c.channel_id.not_in(
                select(channel_t.c.id).where(channel_t.c.paused_reason.is_not(None))
            ),
        )
        pick = select(delivery_t.c.id).where(due).order_by(delivery_t.c.id).limit(limit)
        if not self.db.is_sqlite:
            pick = pick.with_for_update(skip_locked=True)
        async with self.db.connect() as conn:
            ids = list((await conn.execute(pick)).scalars())
            if not ids:
                return []
            before = {
                r["id"]: r["status"]
                for r in (
                    await conn.execute(
                        select(delivery_t.c.id, delivery_t.c.status).where(delivery_t.c.id.in_(ids))
                    )
                ).mappings()
            }
            await conn.execute(
                update(delivery_t)
                .where(delivery_t.c.id.in_(ids))
                .where(due)
                .values(status="sending", claimed_by=worker, claimed_until=now + lease)
            )
            rows = (
                await conn.execute(
                    select(delivery_t)
                    .where(delivery_t.c.id.in_(ids))
                    .where(delivery_t.c.claimed_by == worker)
                    .order_by(delivery_t.c.id)
                )
            ).mappings()
            return [to_delivery(r, was_sending=before.get(r["id"]) == "sending") for r in rows]

    async def mark_sent(
        self,
        delivery_id: int,
        *,
        remote_id: str | None,
        now: datetime,
        thread_remote_id: str | None = None,
    ) -> None:
        await self._set(
            delivery_id,
            status="sent",
            remote_id=remote_id,
            thread_remote_id=thread_remote_id,
            sent_at=now,
            claimed_until=None,
            error=None,
            attempts=delivery_t.c.attempts + 1,
        )

    async def mark_retry(self, delivery_id: int, *, error: str, at: datetime) -> None:
        await self._set(
            delivery_id,
            status="pending",
            error=error,
            next_attempt_at=at,
            claimed_until=None,
            attempts=delivery_t.c.attempts + 1,
        )

    async def mark_unsure(self, delivery_id: int, *, error: str, at: datetime) -> None:
        """A failed attempt that may have been posted: retry at ``at``, reconciling first."""
        await self._set(
            delivery_id,
            status="sending",
            error=error,
            next_attempt_at=at,
            claimed_until=None,
            attempts=delivery_t.c.attempts + 1,
        )

    async def defer(
        self, delivery_id: int, *, at: datetime, unsure: bool = False, error: str | None = None
    ) -> None:
        """Put a claimed delivery back without counting an attempt (pacing, waiting on a thread,
        a paused channel). ``unsure`` keeps it ``sending`` (an earlier attempt may have landed:
        reconcile first); ``error`` records why it waits."""
        values: dict[str, Any] = {"error": error} if error else {}
        await self._set(
            delivery_id,
            status="sending" if unsure else "pending",
            next_attempt_at=at,
            claimed_until=None,
            **values,
        )

    async def expire_older_than(self, cutoff: datetime, *, now: datetime, reason: str) -> int:
        """Fail undelivered deliveries created before ``cutoff`` (not claimed right now)."""
        async with self.db.connect() as conn:
            result = await conn.execute(
                update(delivery_t)
                .where(delivery_t.c.status.in_(("pending", "sending")))
                .where(delivery_t.c.created_at < cutoff)
                .where(or_(delivery_t.c.claimed_until.is_(None), delivery_t.c.claimed_until < now))
                .values(status="failed", error=reason, claimed_until=None)
            )
        return int(result.rowcount)

    async def mark_failed(self, delivery_id: int, *, error: str, status: str = "failed") -> None:
        await self._set(
            delivery_id,
            status=status,
            error=error,
            claimed_until=None,
            attempts=delivery_t.c.attempts + 1,
        )

    async def _set(self, delivery_id: int, **values: Any) -> None:
        async with self.db.connect() as conn:
            await conn.execute(
                update(delivery_t).where(delivery_t.c.id == delivery_id).values(**values)
            )

    async def thread_parent(self, channel_id: int, thread_key: str) -> tuple[str, str | None]:
        """First post of a thread: ("sent", remote_id), ("pending", None) or ("none", None)."""
        async with self.db.connect() as conn:
            row = (
                await conn.execute(
                    select(delivery_t.c.status, delivery_t.c.remote_id)
                    .where(delivery_t.c.channel_id == channel_id)
                    .where(delivery_t.c.thread_key == thread_key)
                    .where(delivery_t.c.kind.in_(("alert", "countdown", "proposal")))
                    .order_by(delivery_t.c.id)
                    .limit(1)
                )
            ).first()
        if row is None:
            return ("none", None)
        status, remote_id = row
        if status == "sent" and remote_id:
            return ("sent", remote_id)
        if status in ("pending", "sending"):
            return ("pending", None)
        return ("none", None)

    async def recent_followups(self, since: datetime) -> dict[tuple[int, str], int]:
        """Follow-ups queued since ``since``, per (channel id, story key)."""
        query = (
            select(delivery_t.c.channel_id, delivery_t.c.story_key, func.count())
            .where(delivery_t.c.kind == "followup")
            .where(delivery_t.c.created_at >= since)
            .where(delivery_t.c.story_key.is_not(None))
            .group_by(delivery_t.c.channel_id, delivery_t.c.story_key)
        )
        async with self.db.connect() as conn:
            rows = (await conn.execute(query)).all()
        return {(int(c), str(k)): int(n) for c, k, n in rows}

    async def counts(self) -> dict[str, int]:
        async with self.db.connect() as conn:
            rows = await conn.execute(
                select(delivery_t.c.status, func.count()).group_by(delivery_t.c.status)
            )
            return {status: int(n) for status, n in rows.all()}

    async def for_channel(self, channel_id: int, *, status: str | None = None) -> list[Delivery]:
        query = select(delivery_t).where(delivery_t.c.channel_id == channel_id)
        if status:
            query = query.where(delivery_t.c.status == status)
        async with self.db.connect() as conn:
            rows = (await conn.execute(query.order_by(delivery_t.c.id))).mappings().all()
        return [to_delivery(r) for r in rows]
