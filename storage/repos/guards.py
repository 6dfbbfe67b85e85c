"""Replay guards for signed chat requests and leases for singleton jobs across instances."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from storage.db import Database
from storage.repos.items import dialect_insert
from storage.tables import lease_t, processed_request_t


class GuardRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def first_time(self, key: str, now: datetime) -> bool:
        """Record ``key``; True the first time it is seen, False for a replay."""
        try:
            async with self.db.connect() as conn:
                result = await conn.execute(
                    dialect_insert(conn, processed_request_t)
                    .values(key=key, created_at=now)
                    .on_conflict_do_nothing(index_elements=["key"])
                )
        except IntegrityError:
            return False
        return bool(result.rowcount)

    async def forget_before(self, cutoff: datetime) -> int:
        async with self.db.connect() as conn:
            result = await conn.execute(
                delete(processed_request_t).where(processed_request_t.c.created_at < cutoff)
            )
        return int(result.rowcount)

    async def acquire_lease(self, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
        """Take or renew the lease ``name``; True when ``holder`` holds it until now + ttl."""
        until = now + ttl
        async with self.db.connect() as conn:
            await conn.execute(
                dialect_insert(conn, lease_t)
                .values(name=name, holder=holder, expires_at=until)
                .on_conflict_do_nothing(index_elements=["name"])
            )
            await conn.execute(
                update(lease_t)
                .where(lease_t.c.name == name)
                .where((lease_t.c.holder == holder) | (lease_t.c.expires_at < now))
                .values(holder=holder, expires_at=until)
            )
            current = (
                await conn.execute(select(lease_t.c.holder).where(lease_t.c.name == name))
            ).scalar()
        return current == holder
