"""Sources and their fetch state."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import RowMapping, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from bot.domain.errors import ConfigError
from bot.domain.models import FetchState, Source, SourceSpec
from bot.domain.source_input import shown_url
from storage.db import Database
from storage.tables import source_t

_STATE_COLUMNS = (
    "etag",
    "last_modified",
    "last_success",
    "last_attempt",
    "last_error",
    "last_warning",
    "failures",
    "next_poll",
    "baseline_done",
)


def to_source(row: RowMapping) -> Source:
    spec = SourceSpec(
        name=row["name"],
        url=row["url"],
        type=row["type"],
        interval_s=row["interval_s"],
        selector=row["selector"],
        official=row["official"],
        enabled=row["enabled"],
    )
    state = FetchState(**{c: row[c] for c in _STATE_COLUMNS})
    return Source(id=row["id"], spec=spec, state=state)


def state_values(state: FetchState) -> dict[str, Any]:
    return {c: getattr(state, c) for c in _STATE_COLUMNS}


def spec_values(spec: SourceSpec) -> dict[str, Any]:
    return {
        "name": spec.name,
        "url": spec.url,
        "type": spec.type,
        "interval_s": spec.interval_s,
        "selector": spec.selector,
        "official": spec.official,
        "enabled": spec.enabled,
    }


def _due(query: Any, now: datetime, limit: int | None) -> Any:
    """``query`` restricted to enabled sources whose next poll has come, oldest due first."""
    query = (
        query.where(source_t.c.enabled.is_(True))
        .where(or_(source_t.c.next_poll.is_(None), source_t.c.next_poll <= now))
        .order_by(source_t.c.next_poll, source_t.c.id)
    )
    return query.limit(limit) if limit else query


class SourceRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def _select(self, query: Any) -> list[Source]:
        async with self.db.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [to_source(r) for r in rows]

    async def all(self, *, enabled_only: bool = False) -> list[Source]:
        query = select(source_t).order_by(source_t.c.id)
        if enabled_only:
            query = query.where(source_t.c.enabled.is_(True))
        return await self._select(query)

    async def count(self, *, origin: str | None = None) -> int:
        """How many sources there are (only those added by ``origin`` when given)."""
        query = select(func.count()).select_from(source_t)
        if origin is not None:
            query = query.where(source_t.c.origin == origin)
        async with self.db.connect() as conn:
            return int((await conn.execute(query)).scalar_one())

    async def get(self, source_id: int) -> Source | None:
        found = await self._select(select(source_t).where(source_t.c.id == source_id))
        return found[0] if found else None

    async def by_url(self, url: str) -> Source | None:
        found = await self._select(select(source_t).where(source_t.c.url == url))
        return found[0] if found else None

    async def add(self, spec: SourceSpec, *, origin: str, now: datetime) -> Source:
        """Insert a source; raises ConfigError when its URL is already configured."""
        values = spec_values(spec) | {"origin": origin, "created_at": now, "next_poll": now}
        try:
            async with self.db.connect() as conn:
                result = await conn.execute(insert(source_t).values(**values))
                new_id = result.inserted_primary_key[0]  # type: ignore[index]
        except IntegrityError as exc:
            raise ConfigError(f"a source with URL {shown_url(spec.url)} already exists") from exc
        source = await self.get(int(new_id))
        assert source is not None
        return source

    async def upsert_specs(self, specs: list[SourceSpec], *, origin: str, now: datetime) -> int:
        """Add sources whose URL is new; refresh the declared fields of ones from ``origin``.

        Returns the number added. Fetch state is never touched; user-added sources are never
        overwritten by config or defaults.
        """
        added = 0
        async with self.db.connect() as conn:
            rows = (await conn.execute(select(source_t.c.url, source_t.c.origin))).all()
            known = {url: row_origin for url, row_origin in rows}
            for spec in specs:
                if spec.url not in known:
                    values = spec_values(spec) | {
                        "origin": origin,
                        "created_at": now,
                        "next_poll": now,
                    }
                    await conn.execute(insert(source_t).values(**values))
                    known[spec.url] = origin
                    added += 1
                elif known[spec.url] == origin:
                    values = spec_values(spec)
                    values.pop("enabled")  # a source the user disabled stays disabled
                    await conn.execute(
                        update(source_t).where(source_t.c.url == spec.url).values(**values)
                    )
        return added

    async def set_enabled(self, source_id: int, enabled: bool) -> bool:
        async with self.db.connect() as conn:
            result = await conn.execute(
                update(source_t).where(source_t.c.id == source_id).values(enabled=enabled)
            )
        return bool(result.rowcount)

    async def remove(self, source_id: int) -> bool:
        async with self.db.connect() as conn:
            result = await conn.execute(delete(source_t).where(source_t.c.id == source_id))
        return bool(result.rowcount)

    async def due(self, now: datetime, *, limit: int | None = None) -> list[Source]:
        """Enabled sources whose next poll time has come (or was never set)."""
        return await self._select(_due(select(source_t), now, limit))

    async def claim_due(
        self, now: datetime, *, hold: timedelta = timedelta(minutes=5), limit: int | None = None
    ) -> list[Source]:
        """Take the due sources for this poller: their next poll moves to ``now + hold``.

        Several instances sharing one PostgreSQL therefore never poll the same source in the
        same cycle (``FOR UPDATE SKIP LOCKED``); the poller saves the real next poll time when
        it is done, and a poller that dies releases its sources when ``hold`` runs out.
        """
        pick = _due(select(source_t.c.id), now, limit)
        if not self.db.is_sqlite:
            pick = pick.with_for_update(skip_locked=True)
        async with self.db.connect() as conn:
            ids = list((await conn.execute(pick)).scalars())
            if not ids:
                return []
            await conn.execute(
                update(source_t).where(source_t.c.id.in_(ids)).values(next_poll=now + hold)
            )
            rows = (
                (await conn.execute(select(source_t).where(source_t.c.id.in_(ids))))
                .mappings()
                .all()
            )
        return [to_source(r) for r in rows]

    async def save_state(self, source_id: int, state: FetchState) -> None:
        async with self.db.connect() as conn:
            await conn.execute(
                update(source_t).where(source_t.c.id == source_id).values(**state_values(state))
            )

    async def save_states(self, states: Sequence[tuple[int, FetchState]]) -> None:
        """Save many sources' fetch states in one transaction (one executemany)."""
        if not states:
            return
        rows = [{"source_id": source_id, **state_values(state)} for source_id, state in states]
        async with self.db.connect() as conn:
            await conn.execute(
                update(source_t).where(source_t.c.id == bindparam("source_id")), rows
            )
