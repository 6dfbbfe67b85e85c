"""Channels (delivery targets) and their topic subscriptions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import RowMapping, delete, insert, select, update

from bot.domain.models import WORKSPACE_PREFIX, Channel, Mode, Platform, Subscription
from storage.db import Database
from storage.repos.items import dialect_insert
from storage.tables import channel_t, subscription_t


def to_channel(row: RowMapping) -> Channel:
    return Channel(
        id=row["id"],
        name=row["name"],
        platform=row["platform"],
        target=row["target"],
        timezone=row["timezone"],
        digest_cron=row["digest_cron"],
        paused_reason=row["paused_reason"],
        is_dm=row["is_dm"],
        external_id=row["external_id"],
    )


def to_subscription(row: RowMapping) -> Subscription:
    return Subscription(
        id=row["id"],
        channel_id=row["channel_id"],
        topic=row["topic"],
        mode=row["mode"],
        muted_until=row["muted_until"],
    )


class ChannelRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def _channels(self, query: object) -> list[Channel]:
        async with self.db.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()  # type: ignore[call-overload]
        return [to_channel(r) for r in rows]

    async def all(self) -> list[Channel]:
        return await self._channels(select(channel_t).order_by(channel_t.c.id))

    async def get(self, channel_id: int) -> Channel | None:
        found = await self._channels(select(channel_t).where(channel_t.c.id == channel_id))
        return found[0] if found else None

    async def by_name(self, name: str) -> Channel | None:
        found = await self._channels(select(channel_t).where(channel_t.c.name == name))
        return found[0] if found else None

    async def by_target(self, platform: Platform, target: str) -> Channel | None:
        found = await self._channels(
            select(channel_t)
            .where(channel_t.c.platform == platform)
            .where(channel_t.c.target == target)
        )
        return found[0] if found else None

    async def ensure(
        self,
        *,
        name: str,
        platform: Platform,
        target: str,
        now: datetime,
        timezone: str = "UTC",
        is_dm: bool = False,
        origin: str = "command",
        digest_cron: str | None = None,
        external_id: str | None = None,
    ) -> Channel:
        """Return the channel called ``name``, creating it (or updating its target) as needed."""
        async with self.db.connect() as conn:
            existing = (
                (await conn.execute(select(channel_t).where(channel_t.c.name == name)))
                .mappings()
                .first()
            )
            if existing is None:
                await conn.execute(
                    insert(channel_t).values(
                        name=name,
                        platform=platform,
                        target=target,
                        timezone=timezone,
                        is_dm=is_dm,
                        origin=origin,
                        digest_cron=digest_cron,
                        external_id=external_id,
                        created_at=now,
                        digest_last_slot=now,  # no digest for slots before the channel existed
                    )
                )
            elif origin == "config":
                await conn.execute(
                    update(channel_t)
                    .where(channel_t.c.name == name)
                    .values(
                        platform=platform,
                        target=target,
                        timezone=timezone,
                        digest_cron=digest_cron,
                        external_id=external_id,
                        origin=origin,
                    )
                )
        channel = await self.by_name(name)
        assert channel is not None
        return channel

    async def by_external_id(self, external_id: str) -> Channel | None:
        found = await self._channels(
            select(channel_t).where(channel_t.c.external_id == external_id)
        )
        return found[0] if found else None

    async def pause(self, channel_id: int, reason: str, now: datetime) -> bool:
        """Pause a channel; returns True only when it was not paused before (report once)."""
        async with self.db.connect() as conn:
            result = await conn.execute(
                update(channel_t)
                .where(channel_t.c.id == channel_id)
                .where(channel_t.c.paused_reason.is_(None))
                .values(paused_reason=reason, paused_at=now)
            )
        return bool(result.rowcount)

    async def pause_platform(self, platform: str, reason: str, now: datetime) -> int:
        """Pause every unpaused channel of ``platform`` (a workspace-wide failure); returns how
        many were paused now (0: it was already paused, do not report again)."""
        async with self.db.connect() as conn:
            result = await conn.execute(
                update(channel_t)
                .where(channel_t.c.platform == platform)
                .where(channel_t.c.paused_reason.is_(None))
                .values(paused_reason=reason, paused_at=now)
            )
        return int(result.rowcount)

    async def resume(self, channel_id: int) -> None:
        """Resume a channel; a workspace-wide pause (reason ``workspace: …``) is lifted for
        every channel of the platform paused with the same reason. Queued deliveries follow."""
        channel = await self.get(channel_id)
        async with self.db.connect() as conn:
            query = update(channel_t).values(paused_reason=None, paused_at=None)
            reason = channel.paused_reason if channel else None
            if channel is not None and reason and reason.startswith(WORKSPACE_PREFIX):
                query = query.where(channel_t.c.platform == channel.platform).where(
                    channel_t.c.paused_reason == reason
                )
            else:
                query = query.where(channel_t.c.id == channel_id)
            await conn.execute(query)

    async def set_digest(self, channel_id: int, cron: str | None) -> None:
        async with self.db.connect() as conn:
            await conn.execute(
                update(channel_t).where(channel_t.c.id == channel_id).values(digest_cron=cron)
            )

    async def digest_last_slot(self, channel_id: int) -> datetime | None:
        async with self.db.connect() as conn:
            return (
                await conn.execute(
                    select(channel_t.c.digest_last_slot).where(channel_t.c.id == channel_id)
                )
            ).scalar()

    async def set_digest_last_slot(self, channel_id: int, slot: datetime) -> None:
        async with self.db.connect() as conn:
            await conn.execute(
                update(channel_t).where(channel_t.c.id == channel_id).values(digest_last_slot=slot)
            )

    # ----------------------------------------------------------------- subscriptions

    async def subscriptions(self, channel_ids: Iterable[int] | None = None) -> list[Subscription]:
        query = select(subscription_t).order_by(subscription_t.c.channel_id, subscription_t.c.id)
        if channel_ids is not None:
            query = query.where(subscription_t.c.channel_id.in_(list(channel_ids)))
        async with self.db.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [to_subscription(r) for r in rows]

    async def subscribe(
        self,
        channel_id: int,
        topics: Sequence[str],
        mode: Mode,
        *,
        now: datetime,
        created_by: str | None = None,
        origin: str = "command",
    ) -> list[str]:
        """Subscribe (or change the mode of) topics; returns the topics newly added."""
        async with self.db.connect() as conn:
            have = set(
                (
                    await conn.execute(
                        select(subscription_t.c.topic).where(
                            subscription_t.c.channel_id == channel_id
                        )
                    )
                ).scalars()
            )
            for topic in topics:
                stmt = dialect_insert(conn, subscription_t).values(
                    channel_id=channel_id,
                    topic=topic,
                    mode=mode,
                    origin=origin,
                    created_by=created_by,
                    created_at=now,
                )
                stmt = stmt.on_conflict_do_update(
                    index_elements=["channel_id", "topic"], set_={"mode": mode}
                )
                await conn.execute(stmt)
        return [t for t in topics if t not in have]

    async def unsubscribe(self, channel_id: int, topics: Sequence[str] | None) -> int:
        """Remove some topics (or all, with None); returns how many were removed."""
        query = delete(subscription_t).where(subscription_t.c.channel_id == channel_id)
        if topics is not None:
            query = query.where(subscription_t.c.topic.in_(list(topics)))
        async with self.db.connect() as conn:
            result = await conn.execute(query)
        return int(result.rowcount)

    async def mute(self, channel_id: int, topic: str, until: datetime) -> bool:
        async with self.db.connect() as conn:
            result = await conn.execute(
                update(subscription_t)
                .where(subscription_t.c.channel_id == channel_id)
                .where(subscription_t.c.topic.in_([topic, "*"]))
                .values(muted_until=until)
            )
        return bool(result.rowcount)
