"""Engine, sessions and migrations. The one place that knows database URLs and drivers.

``DATABASE_URL`` is given in its plain SQLAlchemy form (``sqlite:///./x.db``,
``postgresql://user@host/db``); the async driver (aiosqlite, asyncpg) is chosen here.
SQLite runs in WAL mode with a busy timeout and foreign keys on.

Outages are errors, not tracebacks: a session or connection that fails because the server is
unreachable, the file is locked by another process, or the disk is full raises
``DatabaseUnavailableError`` (kind "down", "busy" or "full"), and ``Database.availability``
logs one WARNING when that state begins and one INFO when the database answers again.
Inside ``bounded_wait(seconds)`` (chat requests) SQLite waits at most that long for a lock
instead of the default busy timeout, so a held lock is answered "busy" within the platforms'
reply windows.

Bulk writes that cost much CPU in SQLAlchemy's parameter processing (the poll's group
commits) run through ``Database.on_writer``: on a second event loop in a thread of its own,
with a second engine over the same URL, so the loop that serves chat requests is not held
while tens of thousands of parameters are processed. Each engine's connections are used by
its own loop's thread only (aiosqlite and asyncpg connections belong to one loop). A private
in-memory SQLite database keeps every operation on the caller's loop and its one connection.
"""

from __future__ import annotations

import asyncio
import errno
import itertools
import json
import logging
import os
import sqlite3
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from importlib import resources
from typing import Any, TypeVar

from sqlalchemy import event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.errors import DatabaseUnavailableError, StorageError

log = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_URL = "sqlite:///./uschina-bot.db"
SQLITE_BUSY_TIMEOUT_MS = 10000
PG_CONNECT_TIMEOUT_S = 5
# SQLSTATE classes meaning "the server is not there for us": connection exceptions (08),
# operator intervention such as shutdown or terminated backends (57P), database dropped.
_UNREACHABLE_SQLSTATES = ("08", "57P", "3D000", "53300")
_bounded_wait_ms: ContextVar[int | None] = ContextVar("bounded_wait_ms", default=None)
_LOCK_WAIT_KEY = "uschina_bot_busy_timeout_ms"  # in a pooled connection's info
_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
}


def async_url(raw: str) -> URL:
    """Map a plain SQLAlchemy URL to its async-driver form; reject unsupported backends."""
    try:
        url = make_url(raw)
    except Exception as exc:
        raise StorageError(f"DATABASE_URL is not a valid database URL: {exc}") from exc
    backend = url.get_backend_name()
    if backend not in _ASYNC_DRIVERS:
        raise StorageError(
            f"DATABASE_URL: unsupported database '{backend}' (use sqlite:/// or postgresql://)"
        )
    if url.drivername in _ASYNC_DRIVERS:
        url = url.set(drivername=_ASYNC_DRIVERS[url.drivername])
    elif "+" in url.drivername and backend == "postgresql":
        url = url.set(drivername="postgresql+asyncpg")
    elif "+" in url.drivername and backend == "sqlite":
        url = url.set(drivername="sqlite+aiosqlite")
    return url


_MEMORY_NAMES = itertools.count(1)


def is_memory_sqlite(url: URL) -> bool:
    """``sqlite://``, ``sqlite:///`` and ``sqlite:///:memory:`` all mean a private in-memory
    database (one per connection, so a migrated schema would vanish)."""
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def shared_memory_url(url: URL) -> URL:
    """An in-memory SQLite URL that every connection of this process sees as one database,
    for as long as one connection stays open."""
    name = f"file:uschina-bot-memory-{os.getpid()}-{next(_MEMORY_NAMES)}"
    return url.set(database=name, query={"mode": "memory", "cache": "shared", "uri": "true"})


def check_sqlite_directory(url: URL) -> None:
    """A file database whose directory does not exist gets one clear ``StorageError``."""
    if url.get_backend_name() != "sqlite" or is_memory_sqlite(url):
        return
    database = str(url.database)
    if database.startswith("file:"):
        return
    directory = os.path.dirname(os.path.abspath(database))
    if not os.path.isdir(directory):
        raise StorageError(
            f"DATABASE_URL: the directory {directory} does not exist; create it or point "
            "DATABASE_URL at an existing one"
        )


def describe_failure(exc: BaseException) -> str | None:
    """One line for a person about a database failure (disk full, read-only, unreachable),
    or None when ``exc`` is not a database error."""
    if not isinstance(exc, SQLAlchemyError | sqlite3.Error):
        return None
    orig = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    text = str(orig).splitlines()[0] if str(orig) else type(orig).__name__
    lowered = text.lower()
    if "full" in lowered:
        return f"the database is full ({text}): free disk space, then try again"
    if "readonly" in lowered or "read-only" in lowered:
        return f"the database cannot be written ({text}): check the file's permissions"
    if "unable to open" in lowered:
        return f"the database file cannot be opened ({text}): check DATABASE_URL"
    if "no such table" in lowered:
        return f"the database has no schema ({text}): run 'uschina-bot db upgrade'"
    return f"database error: {text}"


def safe_url(raw: str) -> str:
    """The URL with any password masked, for logs and health output."""
    try:
        return make_url(raw).render_as_string(hide_password=True)
    except Exception:
        return "<invalid DATABASE_URL>"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA cache_size=-8192")  # 8 MiB per connection; the OS caches the file
    cursor.close()


@contextmanager
def bounded_wait(seconds: float) -> Iterator[None]:
    """Within this block (and tasks started in it) SQLite waits at most ``seconds`` for a lock."""
    token = _bounded_wait_ms.set(max(1, int(seconds * 1000)))
    try:
        yield
    finally:
        _bounded_wait_ms.reset(token)


def _sqlstate(exc: BaseException | None) -> str:
    seen = 0
    while exc is not None and seen < 4:
        state = getattr(exc, "sqlstate", None)
        if isinstance(state, str):
            return state
        exc, seen = exc.__cause__, seen + 1
    return ""


def unavailable(exc: BaseException) -> DatabaseUnavailableError | None:
    """The outage ``exc`` stands for (down, busy, full), or None for any other error."""
    if isinstance(exc, DatabaseUnavailableError):
        return exc
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    message = str(orig).lower()
    if "database or disk is full" in message or (
        isinstance(orig, OSError) and orig.errno == errno.ENOSPC
    ):
        return DatabaseUnavailableError("full")
    if "database is locked" in message or "database table is locked" in message:
        return DatabaseUnavailableError("busy")
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return DatabaseUnavailableError("down")
    if isinstance(orig, (OSError, TimeoutError)) or isinstance(exc, InterfaceError):
        return DatabaseUnavailableError("down")
    if _sqlstate(orig).startswith(_UNREACHABLE_SQLSTATES):
        return DatabaseUnavailableError("down")
    if "connection is closed" in message or "connection was closed" in message:
        return DatabaseUnavailableError("down")
    return None


class Availability:
    """Whether the database answered last time; logs only when that changes."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.problem: str | None = None

    def failed(self, error: DatabaseUnavailableError) -> None:
        if self.problem != error.kind:
            self.problem = error.kind
            log.warning("database %s: %s", self.label, _LOG_TEXT[error.kind])

    def succeeded(self) -> None:
        if self.problem is not None:
            self.problem = None
            log.info("database %s: available again", self.label)


_LOG_TEXT = {
    "down": "unavailable (commands answer 'try again'; jobs back off)",
    "busy": "locked by another connection or process (commands answer 'busy')",
    "full": "the disk is full (nothing can be saved until space is freed)",
}


@dataclass(frozen=True)
class JsonText:
    """A value already encoded as JSON, written as is into a JSON column: a payload shared by
    many rows of one executemany is encoded once (``json.dumps`` of anything else, as the
    dialects do by default; without this serializer ``json.dumps`` refuses it loudly)."""

    text: str


def json_serializer(value: Any) -> str:
    return value.text if isinstance(value, JsonText) else json.dumps(value)


class _Writer:
    """An event loop on its own daemon thread, with its own ``Database`` over the same URL."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, name="uschina-bot-db-writer", daemon=True
        )
        self.thread.start()

    async def run(self, work: Awaitable[T]) -> T:
        """Await ``work`` on the writer's loop; cancelling the caller cancels it there."""
        future = asyncio.run_coroutine_threadsafe(_awaited(work), self.loop)
        return await asyncio.wrap_future(future)

    async def close(self) -> None:
        try:
            await self.run(self.db.engine.dispose())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            await asyncio.to_thread(self.thread.join)
            self.loop.close()


async def _awaited(work: Awaitable[T]) -> T:
    return await work


class Database:
    """An async engine plus session factory. Create one per process with ``Database(url)``."""

    WRITER_POOL = 2  # connections of the writer's engine (one group commit at a time)

    def __init__(
        self, raw_url: str = DEFAULT_URL, *, echo: bool = False, pool_size: int = 10
    ) -> None:
        self.raw_url = raw_url
        self.echo = echo
        self.url = async_url(raw_url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        check_sqlite_directory(self.url)
        kwargs: dict[str, Any] = {"echo": echo, "json_serializer": json_serializer}
        self.in_memory = is_memory_sqlite(self.url)
        if self.in_memory:
            # one connection kept open for the engine's life keeps the schema alive
            self.url = shared_memory_url(self.url)
            self.raw_url = self.url.render_as_string(hide_password=False)
            kwargs["poolclass"] = StaticPool
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        else:
            kwargs.update(pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
            kwargs["connect_args"] = {"timeout": PG_CONNECT_TIMEOUT_S}
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs)
        self.availability = Availability(safe_url(raw_url))
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self._writer: _Writer | None = None
        self._writer_lock = threading.Lock()

    async def on_writer(self, work: Callable[[Database], Awaitable[T]]) -> T:
        """``await work(db)`` on the writer thread's loop, ``db`` being the writer's own
        ``Database`` (same URL, its own connections; outages logged through this one's
        ``availability``). The caller's loop stays free meanwhile. A private in-memory
        SQLite database runs ``work(self)`` here instead (its one connection cannot be
        shared with another thread's loop)."""
        if self.in_memory:
            return await work(self)
        writer = self._writer
        if writer is None:
            with self._writer_lock:
                if self._writer is None:
                    db = Database(self.raw_url, echo=self.echo, pool_size=self.WRITER_POOL)
                    db.availability = self.availability
                    self._writer = _Writer(db)
                writer = self._writer
        return await writer.run(work(writer.db))

    @property
    def dialect(self) -> str:
        return self.url.get_backend_name()

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session in one transaction: committed on success, rolled back on error; an
        outage raises ``DatabaseUnavailableError``."""
        with self._outages():
            async with AsyncSession(self.engine, expire_on_commit=False) as session:
                if self._waits_on_locks:
                    await self._set_lock_wait(await session.connection())
                try:
                    yield session
                    await session.commit()
                except BaseException:
                    await session.rollback()
                    raise

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[AsyncConnection]:
        """A Core connection in one transaction (bulk paths); outages as in ``session``."""
        with self._outages():
            async with self.engine.begin() as conn:
                if self._waits_on_locks:
                    await self._set_lock_wait(conn)
                yield conn

    @contextmanager
    def _outages(self) -> Iterator[None]:
        try:
            yield
        except Exception as exc:
            problem = unavailable(exc)
            if problem is None:
                raise
            self.availability.failed(problem)
            raise problem from exc
        self.availability.succeeded()

    @property
    def _waits_on_locks(self) -> bool:
        """SQLite files wait for locks (busy timeout); memory databases and servers do not."""
        return self.is_sqlite and not self.in_memory

    async def _set_lock_wait(self, conn: AsyncConnection) -> None:
        """Give ``conn`` the lock wait in force here (``bounded_wait``, else the default).

        A pooled connection remembers the busy timeout it holds in its ``info`` (which lives
        as long as its DBAPI connection), so the ``PRAGMA`` runs only when a connection moves
        between chat requests and other work: a request makes no extra round trips to the
        database thread, which cost a turn of a busy event loop each.
        """
        wanted = _bounded_wait_ms.get() or SQLITE_BUSY_TIMEOUT_MS
        if conn.info.get(_LOCK_WAIT_KEY, SQLITE_BUSY_TIMEOUT_MS) != wanted:
            await conn.exec_driver_sql(f"PRAGMA busy_timeout={int(wanted)}")
            conn.info[_LOCK_WAIT_KEY] = wanted

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            return True
        except (SQLAlchemyError, OSError):
            return False

    async def upgrade(self) -> None:
        """Apply Alembic migrations up to head (idempotent)."""
        try:
            if self.in_memory:
                await self.ping()  # open the connection that holds the shared memory database
            await asyncio.to_thread(upgrade_to_head, self.raw_url)
        except StorageError:
            raise
        except Exception as exc:
            problem = describe_failure(exc) or str(exc).splitlines()[0]
            raise StorageError(f"cannot migrate {safe_url(self.raw_url)}: {problem}") from exc

    async def dispose(self) -> None:
        writer, self._writer = self._writer, None
        try:
            if writer is not None:
                await writer.close()
        finally:
            await self.engine.dispose()


def alembic_config(raw_url: str) -> Any:
    from alembic.config import Config

    location = resources.files("storage") / "migrations"
    cfg = Config()
    cfg.set_main_option("script_location", str(location))
    cfg.attributes["database_url"] = str(async_url(raw_url).render_as_string(hide_password=False))
    return cfg


def upgrade_to_head(raw_url: str) -> None:
    """Run ``alembic upgrade head`` against ``raw_url`` (blocking; call in a thread)."""
    from alembic import command

    command.upgrade(alembic_config(raw_url), "head")
