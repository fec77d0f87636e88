"""A command's common journal writes on SQLite, as plain SQL on one connection.

Each create writes four times: accept, pin the resolved command, room with its journal step,
answer with the room's message. Through SQLAlchemy's AsyncSession each write cost about 2 ms
of CPU (session, pool checkout and reset, statement cache keys, ORM rows): 70% of `roombot
serve`'s CPU in the throughput benchmark, for SQL that SQLite runs in a tenth of a
millisecond. Here those writes are a few `sqlite3` calls on a connection of their own, taken
in turn with every other writer of the process (`Sessions.hot_write`).

Only the common case runs here. When a conditional statement matches nothing (a retry, a lost
lease, a repeat), `NoMatch` rolls the transaction back and the repository runs its SQLAlchemy
path, which returns the no-op's entry or raises the precise error. The values written are
exactly SQLAlchemy's (UTC wall times as text, JSON from `json.dumps`, booleans as 0/1): the
store's tests run every repository method on SQLite, where this path is taken, and on
PostgreSQL, where it is not, with the same expectations.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from bot.store.records import JournalEntry, JournalState

logger = logging.getLogger("roombot.store")

_STORED = "%Y-%m-%d %H:%M:%S.%f"

JOURNAL_COLUMNS = (
    '"key"',
    "first_sent",
    "command",
    "team_id",
    "user_id",
    "channel_id",
    "response_url",
    "response_url_expires_at",
    "response_url_uses",
    "accepted_at",
    "state",
    "room_id",
    "error_code",
    "error_message",
    "attempts",
    "last_error",
    "lease_owner",
    "lease_until",
    "answered_at",
    "updated_at",
    "failures",
)

ACCEPT = (
    'INSERT INTO journal ("key", first_sent, command, team_id, user_id, channel_id, '
    "response_url, response_url_expires_at, response_url_uses, accepted_at, state, attempts, "
    "updated_at, lease_owner, lease_until) VALUES (:key, :first_sent, :command, :team_id, "
    ":user_id, :channel_id, :response_url, :response_url_expires_at, 0, :accepted_at, "
    "'accepted', :attempts, :updated_at, :lease_owner, :lease_until) "
    'ON CONFLICT ("key") DO NOTHING RETURNING "key"'
)
PIN = (
    "UPDATE journal SET command = :command, updated_at = :now "
    "WHERE \"key\" = :key AND lease_owner = :worker AND state = 'accepted' "
    'RETURNING "key", first_sent, command, team_id, user_id, channel_id, response_url, '
    "response_url_expires_at, response_url_uses, accepted_at, state, room_id, error_code, "
    "error_message, attempts, last_error, lease_owner, lease_until, answered_at, updated_at, "
    "failures"
)
ROOM_CREATED = (
    "UPDATE journal SET state = 'room_created', room_id = :room, updated_at = :now "
    "WHERE \"key\" = :key AND lease_owner = :worker AND state = 'accepted' "
    'AND room_id IS NULL RETURNING "key"'
)
ANSWER = (
    "UPDATE journal SET state = 'answered', answered_at = :now, lease_owner = NULL, "
    "lease_until = NULL, updated_at = :now "
    "WHERE \"key\" = :key AND lease_owner = :worker AND state != 'answered' "
    'RETURNING "key", first_sent, command, team_id, user_id, channel_id, response_url, '
    "response_url_expires_at, response_url_uses, accepted_at, state, room_id, error_code, "
    "error_message, attempts, last_error, lease_owner, lease_until, answered_at, updated_at, "
    "failures"
)
SET_MESSAGE = (
    "UPDATE rooms SET message_channel_id = :channel, message_ts = :ts, updated_at = :now "
    "WHERE id = :room"
)
INSERT_ROOM = (
    "INSERT INTO rooms (id, team_id, channel_id, creator_id, valid_from, valid_until, "
    "pstn_dial_out, tz, title, state, created_at, updated_at) VALUES (:id, :team_id, "
    ":channel_id, :creator_id, :valid_from, :valid_until, :pstn_dial_out, :tz, :title, 'active', "
    ":now, :now) "
    "ON CONFLICT (id) DO NOTHING RETURNING id"
)
INSERT_PARTICIPANT = (
    "INSERT INTO room_participants (room_id, slack_user_id, acs_raw_id, role) VALUES (?, ?, ?, ?)"
)


class NoMatch(Exception):
    """The common case does not apply: roll back and take the repository's precise path."""


def stored(value: datetime | None) -> str | None:
    """A datetime as SQLAlchemy stores it on SQLite (`UTCDateTime`): UTC wall time, as text."""
    if value is None:
        return None
    if value.utcoffset() is None:
        raise ValueError(f"naive datetime {value.isoformat()} given to the store")
    return value.astimezone(UTC).strftime(_STORED)


def stored_json(value: Mapping[str, Any]) -> str:
    return json.dumps(value)  # SQLAlchemy's JSON type, with its default serializer


def _read_time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value).replace(tzinfo=UTC)


def _read_time_required(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def entry_of(row: Sequence[Any]) -> JournalEntry:
    """A journal row selected as `JOURNAL_COLUMNS`."""
    return JournalEntry(
        key=row[0],
        first_sent=_read_time_required(row[1]),
        command=json.loads(row[2]),
        team_id=row[3],
        user_id=row[4],
        channel_id=row[5],
        response_url=row[6],
        response_url_expires_at=_read_time_required(row[7]),
        response_url_uses=row[8],
        accepted_at=_read_time_required(row[9]),
        state=JournalState(row[10]),
        room_id=row[11],
        error_code=row[12],
        error_message=row[13],
        attempts=row[14],
        last_error=row[15],
        lease_owner=row[16],
        lease_until=_read_time(row[17]),
        answered_at=_read_time(row[18]),
        updated_at=_read_time_required(row[19]),
        failures=row[20],
    )


def moved(connection: sqlite3.Connection, sql: str, params: Mapping[str, Any]) -> JournalEntry:
    """Run a conditional journal UPDATE … RETURNING; NoMatch when it matched nothing."""
    row = connection.execute(sql, params).fetchone()
    if row is None:
        raise NoMatch
    return entry_of(row)


class WalSync:
    """Group commit: durable commits share one fsync of the WAL, in a thread.

    The hot path commits with `synchronous=NORMAL`: SQLite writes the transaction's frames to
    the WAL file and returns without an fsync. A commit that must survive a power cut (what an
    ack promises) then awaits `sync()`, which fsyncs the WAL file: every frame written before
    the fsync began is on disk when it returns, so every commit waiting at that moment shares
    one. The fsync runs in a thread: the event loop serves other requests meanwhile, where
    `synchronous=FULL` stalled it for each commit's fsync (about 0.3 ms here, far more on a
    busy disk).
    """

    def __init__(self, wal_path: str) -> None:
        self._path = wal_path
        self._fd: int | None = None
        self._inode: int | None = None
        self._asked = 0  # sync() calls so far, each after its own commit
        self._done = 0  # every call up to this one is durable
        self._running: asyncio.Future[None] | None = None
        self.flushes = 0

    async def sync(self) -> None:
        """Return once everything committed before this call is on disk."""
        self._asked += 1
        mine = self._asked
        while self._done < mine:
            if self._running is None:
                self._running = asyncio.ensure_future(self._flush(upto=self._asked))
            await asyncio.shield(self._running)

    async def _flush(self, *, upto: int) -> None:
        try:
            await asyncio.to_thread(self._fsync)
            self.flushes += 1
            self._done = max(self._done, upto)
        finally:
            self._running = None

    def _fsync(self) -> None:
        # fsync through our own descriptor: Linux writes back the file's data whichever
        # descriptor wrote it. The WAL keeps its inode while any connection is open (the hot
        # path's always is); a new one (the file was removed and made again) is reopened.
        inode = os.stat(self._path).st_ino
        if self._fd is None or inode != self._inode:
            self.close()
            self._fd = os.open(self._path, os.O_RDONLY)
            self._inode = inode
            directory = os.open(os.path.dirname(self._path) or ".", os.O_RDONLY)
            try:
                os.fsync(directory)  # a new WAL file's name is durable too
            finally:
                os.close(directory)
        os.fsync(self._fd)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class HotPath:
    """One SQLite connection for the common writes, opened on first use."""

    def __init__(self, database: str, *, busy_timeout_ms: int) -> None:
        self._database = database
        self._busy_timeout_ms = busy_timeout_ms
        self._connection: sqlite3.Connection | None = None
        self.wal = WalSync(database + "-wal")

    def _opened(self) -> sqlite3.Connection:
        if self._connection is None:
            # Used on the event loop's thread only; closed from wherever the store is closed.
            connection = sqlite3.connect(
                self._database, isolation_level=None, check_same_thread=False
            )
            connection.execute(f"PRAGMA busy_timeout={self._busy_timeout_ms}")
            connection.execute("PRAGMA mmap_size=0")  # see engine.SQLITE_NO_MMAP
            connection.execute("PRAGMA foreign_keys=ON")
            connection.execute("PRAGMA wal_autocheckpoint=0")  # see `Checkpointer`
            # Commits do not wait for the disk; the ones that must, wait in `WalSync`.
            connection.execute("PRAGMA synchronous=NORMAL")
            self._connection = connection
        return self._connection

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE … COMMIT, rolled back on any exception (NoMatch included).

        The commit is in the WAL (safe from a crash of the process) but not yet on disk: a
        caller that promises more awaits `wal.sync()` afterwards (`Sessions.hot_write`).
        """
        connection = self._opened()
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield connection
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self.wal.close()
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class Checkpointer:
    """Copies the WAL back into the database file in a thread, every *interval* seconds.

    SQLite checkpoints on the commit that finds the WAL over 1,000 pages, in the committing
    connection: on the event loop's thread, where it stalled acks for 15-110 ms. Our
    connections turn that off (`wal_autocheckpoint=0`) and this does it instead, on a
    connection of its own in a worker thread (the sqlite3 module releases the GIL while
    SQLite works). PASSIVE never waits for readers or writers; what it cannot copy now it
    copies next time. A connection closing last checkpoints too, so short-lived stores
    (the CLI) leave no WAL behind.
    """

    def __init__(self, database: str, *, interval: float = 1.0) -> None:
        self._database = database
        self._interval = interval
        self._connection: sqlite3.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        # Cancelling the task does not stop a checkpoint already running in its thread:
        # closing the connection under it crashed the process (SIGSEGV in sqlite3). The
        # thread and the close take turns on this lock; once closed, no checkpoint starts.
        self._guard = threading.Lock()
        self._closed = False

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="sqlite-checkpointer")

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await asyncio.to_thread(self._close)  # waits for a checkpoint still in its thread

    def _close(self) -> None:
        with self._guard:
            self._closed = True
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await asyncio.to_thread(self.checkpoint)
            except sqlite3.Error as exc:
                logger.warning("WAL checkpoint failed (%s); trying again shortly", exc)

    def checkpoint(self) -> None:
        with self._guard:
            if not self._closed:
                self._checkpoint()

    def _checkpoint(self) -> None:
        if self._connection is None:
            self._connection = sqlite3.connect(
                self._database, isolation_level=None, check_same_thread=False
            )
            self._connection.execute("PRAGMA busy_timeout=1000")
            self._connection.execute("PRAGMA mmap_size=0")  # see engine.SQLITE_NO_MMAP
        self._connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
