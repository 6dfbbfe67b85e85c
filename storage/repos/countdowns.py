"""Countdowns to dated events, and event proposals detected in the news."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import RowMapping, delete, insert, select, update

from bot.domain.models import Countdown, CountdownChange, Proposal
from storage.db import Database
from storage.repos.items import dialect_insert
from storage.tables import countdown_change_t, countdown_t, proposal_t


def to_countdown(row: RowMapping) -> Countdown:
    return Countdown(
        id=row["id"],
        name=row["name"],
        start=row["start"],
        end=row["end"],
        tentative=row["tentative"],
        where=row["where"],
        at=row["at"],
        timezone=row["timezone"],
        milestones=tuple(row["milestones"] or ()),
        source=row["origin"],
        status=row["status"],
        note=row["note"],
        follow_news=bool(row["follow_news"]),
    )


def to_proposal(row: RowMapping) -> Proposal:
    return Proposal(
        id=row["id"],
        label=row["label"],
        kind=row["kind"],
        start=row["start"],
        end=row["end"],
        certainty=row["certainty"],
        status=row["status"],
        item_id=row["item_id"],
        story_key=row["story_key"],
        countdown_id=row["countdown_id"],
    )


def to_change(row: RowMapping) -> CountdownChange:
    return CountdownChange(
        id=row["id"],
        countdown_id=row["countdown_id"],
        what=row["what"],
        start=row["start"],
        end=row["end"],
        tentative=bool(row["tentative"]),
        note=row["note"],
        status=row["status"],
        item_id=row["item_id"],
        item_title=row["item_title"],
        item_url=row["item_url"],
        decided_by=row["decided_by"],
    )


class CountdownRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def all(self, *, status: str | None = "active") -> list[Countdown]:
        query = select(countdown_t).order_by(countdown_t.c.start, countdown_t.c.id)
        if status:
            query = query.where(countdown_t.c.status == status)
        async with self.db.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [to_countdown(r) for r in rows]

    async def get(self, countdown_id: int) -> Countdown | None:
        async with self.db.connect() as conn:
            row = (
                (await conn.execute(select(countdown_t).where(countdown_t.c.id == countdown_id)))
                .mappings()
                .first()
            )
        return to_countdown(row) if row else None

    async def add(
        self,
        *,
        name: str,
        start: date,
        end: date,
        tentative: bool,
        now: datetime,
        where: str | None = None,
        at: datetime | None = None,
        timezone: str = "UTC",
        milestones: tuple[int, ...] = (30, 14, 7, 3, 1, 0),
        origin: str = "command",
        created_by: str | None = None,
        note: str | None = None,
        follow_news: bool = False,
        status: str = "active",
    ) -> Countdown:
        async with self.db.connect() as conn:
            result = await conn.execute(
                insert(countdown_t).values(
                    name=name,
                    start=start,
                    end=end,
                    tentative=tentative,
                    where=where,
                    at=at,
                    timezone=timezone,
                    milestones=list(milestones),
                    origin=origin,
                    status=status,
                    note=note,
                    follow_news=follow_news,
                    created_by=created_by,
                    created_at=now,
                )
            )
            new_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        found = await self.get(new_id)
        assert found is not None
        return found

    async def by_name(self, name: str) -> Countdown | None:
        async with self.db.connect() as conn:
            row = (
                (await conn.execute(select(countdown_t).where(countdown_t.c.name == name)))
                .mappings()
                .first()
            )
        return to_countdown(row) if row else None

    async def update(self, countdown_id: int, **values: object) -> None:
        async with self.db.connect() as conn:
            await conn.execute(
                update(countdown_t).where(countdown_t.c.id == countdown_id).values(**values)
            )

    async def remove(self, countdown_id: int) -> bool:
        """Delete a countdown; one declared in the config file is kept as "removed" so that
        the next start-up does not declare it again."""
        async with self.db.connect() as conn:
            result = await conn.execute(
                update(countdown_t)
                .where(countdown_t.c.id == countdown_id)
                .where(countdown_t.c.origin == "config")
                .where(countdown_t.c.status != "removed")
                .values(status="removed")
            )
            if not result.rowcount:
                result = await conn.execute(
                    delete(countdown_t)
                    .where(countdown_t.c.id == countdown_id)
                    .where(countdown_t.c.origin != "config")
                )
        return bool(result.rowcount)

    # ----------------------------------------------------------------- proposed changes

    async def propose_change(
        self,
        *,
        countdown_id: int,
        what: str,
        start: date,
        end: date,
        tentative: bool,
        note: str,
        now: datetime,
        item_id: int | None = None,
        item_title: str | None = None,
        item_url: str | None = None,
    ) -> CountdownChange | None:
        """Record a change the news suggests, once ever per (countdown, what, start, end);
        None when it was already proposed (whether pending, applied or dismissed)."""
        async with self.db.connect() as conn:
            result = await conn.execute(
                dialect_insert(conn, countdown_change_t)
                .values(
                    countdown_id=countdown_id,
                    what=what,
                    start=start,
                    end=end,
                    tentative=tentative,
                    note=note,
                    status="proposed",
                    item_id=item_id,
                    item_title=item_title,
                    item_url=item_url,
                    created_at=now,
                )
                .on_conflict_do_nothing(index_elements=["countdown_id", "what", "start", "end"])
                .returning(countdown_change_t.c.id)
            )
            new_id = result.scalar()
        return await self.change(int(new_id)) if new_id is not None else None

    async def change(self, change_id: int) -> CountdownChange | None:
        async with self.db.connect() as conn:
            row = (
                (
                    await conn.execute(
                        select(countdown_change_t).where(countdown_change_t.c.id == change_id)
                    )
                )
                .mappings()
                .first()
            )
        return to_change(row) if row else None

    async def changes(self, *, status: str | None = "proposed") -> list[CountdownChange]:
        query = select(countdown_change_t).order_by(countdown_change_t.c.id)
        if status:
            query = query.where(countdown_change_t.c.status == status)
        async with self.db.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [to_change(r) for r in rows]

    async def decide_change(
        self, change_id: int, status: str, *, now: datetime, by: str | None = None
    ) -> bool:
        """Move a pending change to ``status`` (applied | dismissed | superseded). True only
        for the one call that made the move: a replay or a second click gets False."""
        async with self.db.connect() as conn:
            result = await conn.execute(
                update(countdown_change_t)
                .where(countdown_change_t.c.id == change_id)
                .where(countdown_change_t.c.status == "proposed")
                .values(status=status, decided_by=by, decided_at=now)
            )
        return bool(result.rowcount)

    async def supersede_changes(self, countdown_id: int, *, now: datetime) -> int:
        """Retire every still-pending change of a countdown (after another one was applied)."""
        async with self.db.connect() as conn:
            result = await conn.execute(
                update(countdown_change_t)
                .where(countdown_change_t.c.countdown_id == countdown_id)
                .where(countdown_change_t.c.status == "proposed")
                .values(status="superseded", decided_at=now)
            )
        return int(result.rowcount or 0)

    # ----------------------------------------------------------------- proposals

    async def propose(
        self,
        *,
        label: str,
        kind: str,
        start: date,
        end: date,
        certainty: str,
        now: datetime,
        item_id: int | None = None,
        story_key: str | None = None,
    ) -> Proposal | None:
        """Record a detected event once (by label and start); None when already known."""
        async with self.db.connect() as conn:
            result = await conn.execute(
                dialect_insert(conn, proposal_t)
                .values(
                    label=label,
                    kind=kind,
                    start=start,
                    end=end,
                    certainty=certainty,
                    status="proposed",
                    item_id=item_id,
                    story_key=story_key,
                    created_at=now,
                )
                .on_conflict_do_nothing(index_elements=["label", "start"])
                .returning(proposal_t.c.id)
            )
            new_id = result.scalar()
        return await self.proposal(int(new_id)) if new_id is not None else None

    async def proposal(self, proposal_id: int) -> Proposal | None:
        async with self.db.connect() as conn:
            row = (
                (await conn.execute(select(proposal_t).where(proposal_t.c.id == proposal_id)))
                .mappings()
                .first()
            )
        return to_proposal(row) if row else None

    async def proposals(self, *, status: str | None = "proposed") -> list[Proposal]:
        query = select(proposal_t).order_by(proposal_t.c.start, proposal_t.c.id)
        if status:
            query = query.where(proposal_t.c.status == status)
        async with self.db.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [to_proposal(r) for r in rows]

    async def dismiss_proposal(self, proposal_id: int) -> bool:
        """Mark a detected event dismissed (it is not offered again); False if not pending."""
        async with self.db.connect() as conn:
            result = await conn.execute(
                update(proposal_t)
                .where(proposal_t.c.id == proposal_id)
                .where(proposal_t.c.status == "proposed")
                .values(status="dismissed")
            )
        return bool(result.rowcount)

    async def mark_tracked(self, proposal_id: int, countdown_id: int) -> None:
        async with self.db.connect() as conn:
            await conn.execute(
                update(proposal_t)
                .where(proposal_t.c.id == proposal_id)
                .values(status="tracked", countdown_id=countdown_id)
            )
