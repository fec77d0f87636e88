"""The engine per backend, and `Sessions`: one transaction per repository call.

SQLite (the embedded default) gets WAL, a busy timeout and foreign keys on every connection,
and SQLAlchemy emits BEGIN itself: `BEGIN IMMEDIATE` for transactions that will write, so two
writers queue on the busy timeout instead of one failing when it upgrades a read lock.
PostgreSQL needs nothing special; cross-replica safety comes from the queries themselves
(`ON CONFLICT`, `FOR UPDATE SKIP LOCKED`, conditional updates).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
from collections import deque
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Insert, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.util import await_

from bot.store.hot_sqlite import HotPath
from bot.store.inline_sqlite import inline_connector
from bot.store.tables import Base

SQLITE_BUSY_TIMEOUT_MS = 10_000
"""How long a SQLite writer waits for another to commit before the driver gives up."""

POSTGRES_SERVER_SETTINGS = ("search_path", "application_name")
"""URL query parameters sent to PostgreSQL as session settings, as asyncpg does for its DSNs.

`postgresql+asyncpg://roombot@db/shared?search_path=roombot` keeps roombot's tables (and
Alembic's version table) in the existing schema `roombot` of a shared database.
"""

SQLITE_NO_MMAP = "PRAGMA mmap_size=0"
"""Every SQLite connection reads the database with read(2), never through a memory map.

A mapped page whose file was cut short or could not be written delivers SIGBUS, which kills
the process with nothing logged; read(2) returns an error SQLite reports (and `/healthz`
with it). Most builds default to 0 already; saying so makes it so on every build. (The WAL
index, `-shm`, is mapped whatever this says: SQLite needs it shared between connections.)
"""

WRITE_OPTION = "roombot_write"
"""Execution option that marks a transaction as one that will write (SQLite: BEGIN IMMEDIATE)."""


def prepare_url(url: str | URL) -> URL:
    """The URL the engine will use; ValueError for backends roombot does not support.

    A relative SQLite path is resolved against the current directory now, once, so that the
    database stays put whatever the process does with its working directory later.
    """
    parsed = make_url(url)
    if parsed.drivername == "sqlite+aiosqlite":
        database = parsed.database or ""
        if database in ("", ":memory:") or database.startswith("file:"):
            raise ValueError(
                "roombot needs a SQLite file (sqlite+aiosqlite:///var/roombot.db): every "
                "connection to an in-memory database would see a different, empty database"
            )
        return parsed.set(database=str(Path(database).expanduser().resolve()))
    if parsed.drivername == "postgresql+asyncpg":
        return parsed
    raise ValueError(
        f"unsupported DATABASE_URL driver {parsed.drivername!r}: "
        "use sqlite+aiosqlite:///PATH or postgresql+asyncpg://USER@HOST/DB"
    )


class _NoRows(logging.Filter):
    """Drops SQLAlchemy's DEBUG `Row …` lines: rows hold response_urls and people's ids."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.msg != "Row %r"


def _hide_rows_from_logs() -> None:
    # On the logger itself, so no handler (ours, a deployer's, a test's) ever sees the record;
    # `hide_parameters` covers statements' parameters, not the rows SQLAlchemy logs at DEBUG.
    engine_logger = logging.getLogger("sqlalchemy.engine.Engine")
    if not any(isinstance(f, _NoRows) for f in engine_logger.filters):
        engine_logger.addFilter(_NoRows())


def sqlite_write_problem(database: str) -> str | None:
    """Why roombot could not write the SQLite *database* (and its WAL files), or None.

    Checked before the first connection, so an unwritable file or folder (a read-only
    volume, a wrong owner) stops start-up with one line instead of a driver traceback, or
    a server that accepts commands it cannot keep.
    """
    path = Path(database)
    for candidate in (path.parent, path, Path(f"{database}-wal"), Path(f"{database}-shm")):
        if candidate.exists() and not os.access(candidate, os.W_OK):
            kind = "folder" if candidate.is_dir() else "file"
            return f"the SQLite {kind} {candidate} is not writable by this process"
    return None


def _split_server_settings(url: URL) -> tuple[URL, dict[str, str]]:
    # asyncpg takes these as server settings, not as connect() keywords; SQLAlchemy would
    # pass them as keywords. `application_name` names our connections in pg_stat_activity.
    settings = {"application_name": "roombot"}
    for name in POSTGRES_SERVER_SETTINGS:
        value = url.query.get(name)
        if value is not None:
            settings[name] = value if isinstance(value, str) else value[-1]
    return url.difference_update_query(POSTGRES_SERVER_SETTINGS), settings


def create_engine(url: str | URL, *, migrating: bool = False, **options: Any) -> AsyncEngine:
    """An engine for *url* with roombot's per-backend settings; the SQLite folder is created.

    *migrating* is for the short-lived engine that runs migrations: on SQLite it leaves
    foreign keys unenforced, because a batch migration rebuilds a table by dropping it, and
    with enforcement on that drop would cascade into the rows that reference it (SQLite
    ignores the pragma inside a transaction, so it has to be set per connection).
    *options* go to `create_async_engine` (tests use `echo=True` now and then).
    """
    prepared = prepare_url(url)
    # A statement's parameters hold response_urls (bearer capabilities for 30 minutes) and
    # people's ids: SQLAlchemy would print them as `[parameters: …]` in every error, e.g.
    # when PostgreSQL refuses a write after a failover. No log line may show them.
    options.setdefault("hide_parameters", True)
    _hide_rows_from_logs()
    if prepared.get_backend_name() == "postgresql":
        prepared, server_settings = _split_server_settings(prepared)
        connect_args = dict(options.pop("connect_args", {}))
        connect_args["server_settings"] = {
            **server_settings,
            **connect_args.get("server_settings", {}),
        }
        return create_async_engine(
            prepared, pool_pre_ping=True, connect_args=connect_args, **options
        )

    database = prepared.database or ""
    Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(prepared, async_creator=inline_connector(database), **options)
    foreign_keys = "OFF" if migrating else "ON"

    def on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # SQLAlchemy emits BEGIN itself (see _sqlite_on_begin): the inline driver's
        # connections are opened in autocommit mode, so the driver never begins one.
        assert dbapi_connection.isolation_level is None, "opened in autocommit mode"
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute(SQLITE_NO_MMAP)
            cursor.execute(f"PRAGMA foreign_keys={foreign_keys}")
            if not migrating:  # the store's `Checkpointer` does it, off the event loop
                cursor.execute("PRAGMA wal_autocheckpoint=0")
            _switch_to_wal(cursor)
        finally:
            cursor.close()

    event.listen(engine.sync_engine, "connect", on_connect)
    event.listen(engine.sync_engine, "begin", _sqlite_on_begin)
    return engine


def _switch_to_wal(cursor: Any) -> None:
    # WAL is a property of the file, so only a new database needs switching, and reading the
    # schema first makes `journal_mode` report the file's mode rather than the default. When
    # several connections open a new database at once, one switches and the others may be
    # refused at once ("database is locked": SQLite skips the busy handler where waiting could
    # deadlock); for them it is enough that the file is in WAL mode afterwards.
    cursor.execute("SELECT count(*) FROM sqlite_master")
    cursor.fetchone()
    cursor.execute("PRAGMA journal_mode")
    if cursor.fetchone()[0] == "wal":
        return
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
    except sqlite3.OperationalError:
        cursor.execute("SELECT count(*) FROM sqlite_master")
        cursor.fetchone()
        cursor.execute("PRAGMA journal_mode")
        if cursor.fetchone()[0] != "wal":
            raise


def _sqlite_on_begin(connection: Connection) -> None:
    immediate = connection.get_execution_options().get(WRITE_OPTION, False)
    # Straight to the driver: one call instead of the three (cursor, execute, close) and the
    # statement machinery `exec_driver_sql` costs, on every transaction.
    driver = connection.connection.driver_connection
    assert driver is not None, "a checked-out connection has its driver connection"
    await_(driver.execute("BEGIN IMMEDIATE" if immediate else "BEGIN"))


class WriterTurn:
    """A lock whose urgent waiters go before the others (FIFO within each kind)."""

    def __init__(self) -> None:
        self._held = False
        self._urgent: deque[asyncio.Future[None]] = deque()
        self._normal: deque[asyncio.Future[None]] = deque()

    async def acquire(self, *, urgent: bool = False) -> None:
        if not self._held and not self._urgent and not self._normal:
            self._held = True
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        (self._urgent if urgent else self._normal).append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # the turn was handed over just as we were cancelled
            else:
                with contextlib.suppress(ValueError):  # already popped by a release
                    (self._urgent if urgent else self._normal).remove(waiter)
            raise

    def release(self) -> None:
        for queue in (self._urgent, self._normal):
            while queue:
                waiter = queue.popleft()
                if not waiter.done():
                    waiter.set_result(None)  # the turn passes on; still held
                    return
        self._held = False


class Sessions:
    """One transaction per repository call: `read()` for queries, `write()` for changes.

    On SQLite, `hot` is the plain-SQL path for a command's common writes (`hot_sqlite`);
    on PostgreSQL it is None and every write goes through SQLAlchemy.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self._read = async_sessionmaker(engine, expire_on_commit=False)
        self._write = async_sessionmaker(
            engine.execution_options(**{WRITE_OPTION: True}), expire_on_commit=False
        )
        self._writer_turn = WriterTurn() if self.dialect == "sqlite" else None
        self.hot: HotPath | None = None
        if self.dialect == "sqlite":
            database = engine.url.database or ""
            self.hot = HotPath(database, busy_timeout_ms=SQLITE_BUSY_TIMEOUT_MS)

    def close(self) -> None:
        if self.hot is not None:
            self.hot.close()

    @asynccontextmanager
    async def hot_write(
        self, *, urgent: bool = False, durable: bool = False
    ) -> AsyncIterator[sqlite3.Connection]:
        """A transaction on the hot path's connection, in turn with every other writer.

        A *durable* one returns only once its commit is on disk: the writer turn is passed on
        first, so the commits of other writers can join the same fsync (`WalSync`). The rest
        are safe from a crash of the process at once, and from a power cut once a later
        durable commit, or a checkpoint, has synced the WAL; the journal repeats a step that
        a power cut lost (same pinned values, same Repeatability-Request-ID, the posted card
        found by its metadata).
        """
        assert self.hot is not None, "SQLite only"
        assert self._writer_turn is not None, "SQLite only"
        await self._writer_turn.acquire(urgent=urgent)
        try:
            with self.hot.transaction() as connection:
                yield connection
        finally:
            self._writer_turn.release()
        if durable:
            await self.hot.wal.sync()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session in a transaction that is rolled back at the end (nothing to keep)."""
        async with self._read() as session, session.begin():
            yield session

    @asynccontextmanager
    async def write(self, *, urgent: bool = False) -> AsyncIterator[AsyncSession]:
        """A session in a transaction committed at the end, or rolled back on error.

        On SQLite, writers of this process take turns on an asyncio lock. SQLite allows one
        writer at a time anyway; without the lock, concurrent writers queue in SQLite's busy
        handler, which sleeps in steps of up to 100 ms and cut throughput to a few dozen
        commands a second. The busy timeout still covers writers in other processes.
        An *urgent* writer (a command being acknowledged to Slack) goes before the others.
        """
        if self._writer_turn is None:
            async with self._write() as session, session.begin():
                yield session
            return
        await self._writer_turn.acquire(urgent=urgent)
        try:
            async with self._write() as session, session.begin():
                yield session
        finally:
            self._writer_turn.release()


def insert_ignoring_conflicts(
    dialect: str, model: type[Base], index_elements: Sequence[str]
) -> Insert:
    """`INSERT … ON CONFLICT (index_elements) DO NOTHING` for *dialect*; add `.values()`.

    Both backends spell it the same way but through their own `insert` constructs. Only a
    conflict on *index_elements* is ignored: any other unique violation still raises.
    """
    if dialect == "postgresql":
        return postgresql.insert(model).on_conflict_do_nothing(index_elements=index_elements)
    return sqlite.insert(model).on_conflict_do_nothing(index_elements=index_elements)
