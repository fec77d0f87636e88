"""The database per backend, and `Database`: one transaction per repository call.

Every store operation is written once, as a plain function of a synchronous SQLAlchemy
`Connection`, and `Database` runs it in one transaction on either backend:

- **SQLite** (the embedded default): a synchronous engine on the standard `sqlite3` driver.
  Writes run on one dedicated writer thread, reads on a small pool of reader threads, and the
  event loop awaits each transaction with `run_in_executor`: one thread hop per transaction,
  and nothing that waits for the disk (a commit's fsync, a checkpoint, another process's
  write lock) ever waits on the loop. One writer thread is also the writer queue: SQLite
  takes one writer at a time anyway, and in-process writers never meet in its busy handler
  (which sleeps in steps of up to 100 ms). Each connection runs in WAL mode with a busy
  timeout for writers of other processes (`roombot identities import` while serving), no
  memory map, and foreign keys on; writes open with `BEGIN IMMEDIATE`, so a writer never
  fails to upgrade a read lock. Writes commit with `synchronous=FULL`: a transaction the
  writer reports done (the journal's accept, before Slack gets its ack) is on disk, and
  survives a power cut as well as a crash. The writer pays for that fsync once per group:
  it takes every write waiting in its queue at once and runs them in one transaction
  (`_GroupCommitWriter`, `_run_group`). Alone, a write is one plain transaction; under load
  the fsyncs are shared, so FULL costs what NORMAL did (`make bench`).
- **PostgreSQL**: asyncpg through SQLAlchemy's async engine; the same function runs inside
  `AsyncConnection.run_sync`. Cross-replica safety comes from the statements themselves
  (`ON CONFLICT`, `FOR UPDATE SKIP LOCKED`, conditional updates). Writes waiting together
  share a transaction too (`_PostgresGroupWriter`), for the round trips rather than the
  fsync: BEGIN and COMMIT are two of a lone write's three to five. A write whose one
  statement is atomic by itself (`write_one`) and reads run without BEGIN and COMMIT at all.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import queue
import sqlite3
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

import sqlalchemy
from sqlalchemy import Insert, Table, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import ConnectionPoolEntry

from bot.store.tables import Base

P = ParamSpec("P")
T = TypeVar("T")

SQLITE_BUSY_TIMEOUT_MS = 10_000
"""How long a SQLite writer waits for another process's writer before the driver gives up."""

SQLITE_READERS = 2
"""Reader threads (and their connections) beside the one writer: WAL lets them run at once."""

POSTGRES_POOL_SIZE = 20
"""Connections per replica, kept open once made; the worker's claims and a burst of acks
share them. As many as before at most (10 plus 10 of overflow), now without the churn."""

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

SQLITE_DRIVERS = ("sqlite+aiosqlite", "sqlite", "sqlite+pysqlite")
"""The spellings of a SQLite DATABASE_URL; all run on the synchronous driver in threads.
`sqlite+aiosqlite://` is the documented one, kept so existing deployments need no change."""


def prepare_url(url: str | URL) -> URL:
    """The URL the engine will use; ValueError for backends roombot does not support.

    A relative SQLite path is resolved against the current directory now, once, so that the
    database stays put whatever the process does with its working directory later.
    """
    parsed = make_url(url)
    if parsed.drivername in SQLITE_DRIVERS:
        database = parsed.database or ""
        if database in ("", ":memory:") or database.startswith("file:"):
            raise ValueError(
                "roombot needs a SQLite file (sqlite+aiosqlite:///var/roombot.db): every "
                "connection to an in-memory database would see a different, empty database"
            )
        resolved = str(Path(database).expanduser().resolve())
        return parsed.set(drivername="sqlite+pysqlite", database=resolved)
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


class _NoDebug(logging.Filter):
    """Drops aiosqlite's DEBUG lines: they print every call with its statement's parameters
    (bot tokens, when slack-sdk's installation store writes through it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.DEBUG


def _hide_rows_from_logs() -> None:
    # On the logger itself, so no handler (ours, a deployer's, a test's) ever sees the record;
    # `hide_parameters` covers statements' parameters, not the rows SQLAlchemy logs at DEBUG.
    engine_logger = logging.getLogger("sqlalchemy.engine.Engine")
    if not any(isinstance(f, _NoRows) for f in engine_logger.filters):
        engine_logger.addFilter(_NoRows())
    aiosqlite_logger = logging.getLogger("aiosqlite")
    if not any(isinstance(f, _NoDebug) for f in aiosqlite_logger.filters):
        aiosqlite_logger.addFilter(_NoDebug())


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


class Database:
    """Runs store operations, each a function of a SQLAlchemy `Connection`, in one
    transaction each.

    `write(work, *args)` commits what *work* did (or rolls it back when it raises) and
    returns its result; `read(work, *args)` rolls back at the end. *work* must return plain
    values (domain values, ints), never ORM rows. Most work is Core statements on the
    connection; work that needs the ORM opens `orm(connection)`, which joins the transaction.
    """

    dialect: str
    url: URL

    async def write(
        self, work: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        raise NotImplementedError

    async def write_one(
        self, work: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """`write` for *work* whose one write is a single statement, atomic by itself.

        On PostgreSQL it runs without BEGIN and COMMIT: one round trip instead of three. Any
        statement *work* runs after that write may only read, to explain a write that matched
        nothing (a lost lease, a repeated step); entries move only forward, so what it reads
        cannot contradict the write.
        """
        return await self.write(work, *args, **kwargs)

    async def read(
        self, work: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        raise NotImplementedError

    @property
    def async_engine(self) -> AsyncEngine:
        """An `AsyncEngine` on this database for code that needs one: slack-sdk's OAuth
        installation and state stores (`bot.slack.install`). Not for roombot's own
        operations, which go through `write` and `read`."""
        raise NotImplementedError

    async def dispose(self) -> None:
        raise NotImplementedError


class SqliteDatabase(Database):
    """SQLite through the synchronous driver: one writer thread, `SQLITE_READERS` readers."""

    def __init__(self, url: URL, *, migrating: bool = False, **options: Any) -> None:
        self.url = url
        self.dialect = "sqlite"
        database = url.database or ""
        Path(database).parent.mkdir(parents=True, exist_ok=True)
        self.engine: Engine = sqlalchemy.create_engine(
            url,
            pool_size=SQLITE_READERS + 1,
            max_overflow=0,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            **options,
        )
        _prepare_sqlite(self.engine, migrating=migrating)
        self._writer = _GroupCommitWriter(self.engine.execution_options(**{WRITE_OPTION: True}))
        self._readers = ThreadPoolExecutor(SQLITE_READERS, thread_name_prefix="sqlite-reader")
        self._options = options
        self._async_engine: AsyncEngine | None = None

    @property
    def async_engine(self) -> AsyncEngine:
        # aiosqlite, made on first use: only multi-workspace mode (slack-sdk's OAuth stores)
        # asks. Its rare writes (an install, an OAuth state) meet the writer thread in
        # SQLite's busy handler, which the busy timeout set on every connection allows for.
        if self._async_engine is None:
            self._async_engine = create_async_engine(
                self.url.set(drivername="sqlite+aiosqlite"),
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
                **self._options,
            )
            _prepare_sqlite(self._async_engine.sync_engine, migrating=False)
        return self._async_engine

    async def write(
        self, work: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        return await self._writer.submit(work, args, kwargs)

    async def read(
        self, work: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        loop = asyncio.get_running_loop()
        job = partial(_in_transaction, self.engine, work, *args, **kwargs)
        return await loop.run_in_executor(self._readers, job)

    async def dispose(self) -> None:
        if self._async_engine is not None:
            await self._async_engine.dispose()

        def close() -> None:
            self._writer.close()
            self._readers.shutdown(wait=True)
            self.engine.dispose()

        await asyncio.to_thread(close)


SQLITE_GROUP_LIMIT = 256
"""At most this many waiting writes share one transaction (and its one fsync)."""


@dataclass(slots=True)
class _Job:
    work: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]


class _GroupCommitWriter:
    """SQLite's one writer: a thread that commits the writes waiting for it together.

    Each `submit` queues a write and returns a future of its result. The thread takes the
    oldest write and every other one already waiting (up to `SQLITE_GROUP_LIMIT`), runs them
    in one `BEGIN IMMEDIATE` transaction and commits once: one fsync for the group however
    many writes it holds. When a write raises, the group is rolled back and each write runs
    again alone (`_run_group`, as on PostgreSQL): it gets its error, the others are kept.
    Results are handed out only after the commit, so nothing is reported done before it is
    on disk; if the commit itself fails, every write of the group gets that error. Nothing
    waits to fill a group: a write arriving at an idle writer is committed at once.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="sqlite-writer", daemon=True)
        self._thread.start()

    def submit(
        self, work: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> asyncio.Future[T]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put(_Job(work, args, kwargs, loop, future))
        return future

    def close(self) -> None:
        """Finish the writes queued so far, then stop the thread (called off the loop)."""
        self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            group = [job]
            stopping = False
            while len(group) < SQLITE_GROUP_LIMIT:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stopping = True
                    break
                group.append(more)
            self._commit(group)
            if stopping:
                return

    def _commit(self, group: list[_Job]) -> None:
        try:
            with self._engine.connect() as connection:
                outcomes = _run_group(connection, group)
        except BaseException as exc:  # no connection, or the COMMIT failed: none of it is kept
            outcomes = [(False, exc)] * len(group)
        # One wake-up per event loop for the whole group, not one per write: each wake-up is
        # a system call on both sides, which costs more than settling a future.
        settled: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], bool, Any]]]
        settled = {}
        for job, (ok, value) in zip(group, outcomes, strict=True):
            settled.setdefault(job.loop, []).append((job.future, ok, value))
        for loop, results in settled.items():
            with contextlib.suppress(RuntimeError):  # that loop has closed: nobody waits
                loop.call_soon_threadsafe(_settle_all, results)


def _driver_sql(connection: Connection, statement: str) -> None:
    """Run a transaction-control *statement* on the driver's own connection.

    `exec_driver_sql` would take it through SQLAlchemy's whole execution path (events,
    result set-up): about 60 µs a statement here, for statements that return nothing; BEGIN
    through it was a twentieth of the store's CPU per command (`make bench`, benchmark 2).
    """
    # The DB-API connection, not the driver's own: under the aiosqlite engine of the OAuth
    # stores (`async_engine`) the driver's `execute` is a coroutine; SQLAlchemy's adapter
    # runs it to completion as `sqlite3` does its own.
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(statement)
    finally:
        cursor.close()


def _settle_all(results: list[tuple[asyncio.Future[Any], bool, Any]]) -> None:
    for future, ok, value in results:
        if future.cancelled():
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)


def _in_transaction(bind: Engine, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    with bind.begin() as connection:
        return work(connection, *args, **kwargs)


def _committed(
    connection: Connection,
    work: Callable[Concatenate[Connection, P], T],
    /,
    *args: P.args,
    **kwargs: P.kwargs,
) -> T:
    """*work* in a transaction of *connection*: committed when it returns, else rolled back."""
    with connection.begin():
        return work(connection, *args, **kwargs)


def _run_group(connection: Connection, group: list[_Job]) -> list[tuple[bool, Any]]:
    """Run *group*'s writes in one transaction of *connection* (either backend); when one of
    them raises, each alone instead, in order. Savepoints would spare the others the repeat,
    but cost every write two more statements (on PostgreSQL, round trips) for a path taken
    only on a failure. A failed COMMIT is every write's error, never a reason to run them
    again: the server may have committed it before the connection failed."""
    if len(group) == 1:
        return [_alone(connection, group[0])]
    transaction = connection.begin()
    try:
        results = [job.work(connection, *job.args, **job.kwargs) for job in group]
    except Exception:
        transaction.rollback()  # nothing was committed: each runs again alone, in order
        return [_alone(connection, job) for job in group]
    except BaseException:
        transaction.rollback()
        raise
    transaction.commit()
    return [(True, result) for result in results]


def _alone(connection: Connection, job: _Job) -> tuple[bool, Any]:
    try:
        return True, _committed(connection, job.work, *job.args, **job.kwargs)
    except Exception as exc:
        return False, exc


def orm(connection: Connection) -> Session:
    """An ORM session inside *connection*'s transaction: it never commits or rolls back on
    its own (the `Database` call does), so flush what it changed before returning."""
    return Session(connection, expire_on_commit=False, autoflush=True)


def _prepare_sqlite(engine: Engine, *, migrating: bool) -> None:
    """Per-connection settings, and BEGIN emitted by SQLAlchemy (IMMEDIATE for writes).

    *migrating* is for the short-lived engine that runs migrations: it leaves foreign keys
    unenforced, because a batch migration rebuilds a table by dropping it, and with
    enforcement on that drop would cascade into the rows that reference it (SQLite ignores
    the pragma inside a transaction, so it has to be set per connection).
    """
    foreign_keys = "OFF" if migrating else "ON"

    def on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Autocommit at the driver: the driver never begins a transaction on its own, so the
        # BEGIN below is the only one, and it says whether the transaction will write.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute(SQLITE_NO_MMAP)
            cursor.execute(f"PRAGMA foreign_keys={foreign_keys}")
            cursor.execute("PRAGMA synchronous=FULL")
            _switch_to_wal(cursor)
        finally:
            cursor.close()

    def on_begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get(WRITE_OPTION, False)
        _driver_sql(connection, "BEGIN IMMEDIATE" if immediate else "BEGIN")

    event.listen(engine, "connect", on_connect)
    event.listen(engine, "begin", on_begin)


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


class PostgresDatabase(Database):
    """PostgreSQL through asyncpg; each operation runs in `AsyncConnection.run_sync`."""

    def __init__(self, url: URL, **options: Any) -> None:
        self.dialect = "postgresql"
        prepared, server_settings = _split_server_settings(url)
        connect_args = dict(options.pop("connect_args", {}))
        connect_args["server_settings"] = {
            **server_settings,
            **connect_args.get("server_settings", {}),
        }
        # A fixed pool: an overflow connection is closed as soon as the pool is full again,
        # so under load the pool kept opening and closing connections (one per 5 to 7
        # commands in `bench.throughput_bench`, by pg_stat_database.sessions), and each new
        # one costs about 2.5 ms of our CPU (asyncpg's handshake, SQLAlchemy's codecs) and
        # more of PostgreSQL's. Callers beyond `pool_size` wait for a connection instead,
        # which costs next to nothing.
        options.setdefault("pool_size", POSTGRES_POOL_SIZE)
        options.setdefault("max_overflow", 0)
        # The connection used last is the next one out: its PostgreSQL backend (and the
        # caches on both ends) is still warm, where first-in-first-out wakes each of the 20
        # in turn. roombot 5% and PostgreSQL 14% less CPU per command (`bench.throughput_bench`,
        # one replica, alternating rounds).
        options.setdefault("pool_use_lifo", True)
        # A connection PostgreSQL dropped (a restart, a failover) fails its next statement
        # and SQLAlchemy then empties the pool, so the next transaction gets fresh ones; a
        # ping before every checkout would cost each transaction a round trip to avoid that.
        options.setdefault("pool_pre_ping", False)
        self.engine: AsyncEngine = create_async_engine(
            prepared, connect_args=connect_args, **options
        )
        self.url = self.engine.url
        self._autocommit = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self._writer = _PostgresGroupWriter(self.engine)

    @property
    def async_engine(self) -> AsyncEngine:
        return self.engine

    async def write(
        self, work: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        return await self._writer.submit(work, args, kwargs)

    async def write_one(
        self, work: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        async with self._autocommit.connect() as connection:
            return await connection.run_sync(work, *args, **kwargs)

    async def read(
        self, work: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        # Autocommit: under READ COMMITTED each statement sees its own snapshot inside a
        # transaction too, so BEGIN and ROLLBACK would only add two round trips.
        async with self._autocommit.connect() as connection:
            return await connection.run_sync(work, *args, **kwargs)

    async def dispose(self) -> None:
        await self._writer.close()
        await self.engine.dispose()


POSTGRES_WRITERS = 2
"""Transactions of `write` in flight at once per replica; writes that arrive while all are
busy wait and then share one. Fewer writers make bigger groups and cost less CPU per write,
on both sides (`bench.throughput_bench`, PostgreSQL with one replica, medians of four
alternating rounds: roombot 6.4, 5.1, 4.9 and 4.7 ms per command and PostgreSQL 2.3, 1.8,
1.5 and 1.25 ms for one write per transaction, then 4, 2 and 1 writers); two keep writes
going while one waits for a row another replica holds."""

POSTGRES_GROUP_LIMIT = 64
"""At most this many waiting writes share one PostgreSQL transaction (and hold their locks
until its commit)."""


class _PostgresGroupWriter:
    """PostgreSQL's writes, run by `POSTGRES_WRITERS` tasks that share transactions.

    Each task takes the oldest waiting write and every other one already waiting (up to
    `POSTGRES_GROUP_LIMIT`) and runs them one after another in one transaction on one
    connection: BEGIN and COMMIT are round trips of their own, which a lone write pays in
    full (two of its three to five) and a group pays once. Nothing waits to fill a group: a
    write that finds a task idle runs at once, alone, as before. A write that raises makes
    each run again alone (`_run_group`): every write gets its own result or error, the same
    as if they had run one after another, which is what a group does too. Results are
    handed out after the commit. A write whose caller gave up while it waited is dropped.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._waiting: collections.deque[_Job] = collections.deque()
        self._wake: asyncio.Event | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False

    async def submit(
        self, work: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> T:
        loop = asyncio.get_running_loop()
        if self._closing:
            raise RuntimeError("the database is closed")
        if self._wake is None or self._tasks[0].get_loop() is not loop:
            self._start()
        future: asyncio.Future[T] = loop.create_future()
        self._waiting.append(_Job(work, args, kwargs, loop, future))
        assert self._wake is not None
        self._wake.set()
        return await future

    def _start(self) -> None:
        # On first use, on the loop that uses the database (asyncpg's connections belong to
        # one loop, so the engine does too).
        self._wake = asyncio.Event()
        self._tasks = [
            asyncio.get_running_loop().create_task(self._run(), name=f"postgres-writer-{n}")
            for n in range(POSTGRES_WRITERS)
        ]

    async def close(self) -> None:
        """Finish the writes queued so far, then stop the tasks."""
        self._closing = True
        if self._wake is None or self._tasks[0].get_loop() is not asyncio.get_running_loop():
            return  # never started, or on a loop that has ended (and its tasks with it)
        self._wake.set()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            if not self._waiting:
                if self._closing:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            group: list[_Job] = []
            while self._waiting and len(group) < POSTGRES_GROUP_LIMIT:
                job = self._waiting.popleft()
                if not job.future.cancelled():  # its caller gave up before it started
                    group.append(job)
            if not group:
                continue
            if self._waiting:
                self._wake.set()  # more than one group waits: another task takes the next
            try:
                async with self._engine.connect() as connection:
                    outcomes = await connection.run_sync(_run_group, group)
            except Exception as exc:  # no connection, or the COMMIT failed: each write's error
                outcomes = [(False, exc)] * len(group)
            except BaseException:  # cancelled (the loop is ending): nobody will hear
                for job in group:
                    job.future.cancel()
                raise
            _settle_all(
                [(job.future, ok, value) for job, (ok, value) in zip(group, outcomes, strict=True)]
            )


def open_database(url: str | URL, *, migrating: bool = False, **options: Any) -> Database:
    """A `Database` for *url* with roombot's per-backend settings; the SQLite folder is made.

    *options* go to SQLAlchemy's `create_engine` (tests use `echo=True` now and then).
    """
    prepared = prepare_url(url)
    # A statement's parameters hold response_urls (bearer capabilities for 30 minutes) and
    # people's ids: SQLAlchemy would print them as `[parameters: …]` in every error, e.g.
    # when PostgreSQL refuses a write after a failover. No log line may show them.
    options.setdefault("hide_parameters", True)
    _hide_rows_from_logs()
    if prepared.get_backend_name() == "postgresql":
        return PostgresDatabase(prepared, **options)
    return SqliteDatabase(prepared, migrating=migrating, **options)


def insert_ignoring_conflicts(
    dialect: str, table: type[Base] | Table, index_elements: Sequence[str]
) -> Insert:
    """`INSERT … ON CONFLICT (index_elements) DO NOTHING` for *dialect*; add `.values()`.

    Both backends spell it the same way but through their own `insert` constructs. Only a
    conflict on *index_elements* is ignored: any other unique violation still raises.
    """
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=index_elements)
    return sqlite.insert(table).on_conflict_do_nothing(index_elements=index_elements)
