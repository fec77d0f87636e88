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
import sqlite3
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
    "error_message, attempts, last_error, lease_owner, lease_until, answered_at, updated_at"
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
    "error_message, attempts, last_error, lease_owner, lease_until, answered_at, updated_at"
)
SET_MESSAGE = (
    "UPDATE rooms SET message_channel_id = :channel, message_ts = :ts, updated_at = :now "
    "WHERE id = :room"
)
INSERT_ROOM = (
    "INSERT INTO rooms (id, team_id, channel_id, creator_id, valid_from, valid_until, "
    "pstn_dial_out, state, created_at, updated_at) VALUES (:id, :team_id, :channel_id, "
    ":creator_id, :valid_from, :valid_until, :pstn_dial_out, 'active', :now, :now) "
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
    )


def moved(connection: sqlite3.Connection, sql: str, params: Mapping[str, Any]) -> JournalEntry:
    """Run a conditional journal UPDATE … RETURNING; NoMatch when it matched nothing."""
    row = connection.execute(sql, params).fetchone()
    if row is None:
        raise NoMatch
    return entry_of(row)


class HotPath:
    """One SQLite connection for the common writes, opened on first use."""

    def __init__(self, database: str, *, busy_timeout_ms: int) -> None:
        self._database = database
        self._busy_timeout_ms = busy_timeout_ms
        self._connection: sqlite3.Connection | None = None
        self._synchronous: str | None = None

    def _opened(self) -> sqlite3.Connection:
        if self._connection is None:
            # Used on the event loop's thread only; closed from wherever the store is closed.
            connection = sqlite3.connect(
                self._database, isolation_level=None, check_same_thread=False
            )
            connection.execute(f"PRAGMA busy_timeout={self._busy_timeout_ms}")
            connection.execute("PRAGMA foreign_keys=ON")
            connection.execute("PRAGMA wal_autocheckpoint=0")  # see `Checkpointer`
            self._connection = connection
        return self._connection

    @contextmanager
    def transaction(self, *, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE … COMMIT, rolled back on any exception (NoMatch included).

        A *durable* commit is on disk when it returns (`synchronous=FULL`): what an ack
        promises. The later steps of a command commit without waiting for the disk
        (`synchronous=NORMAL`, still safe against a crash of the process): a power cut may
        lose them, and the journal then repeats them, as it repeats any step after a crash
        (same Repeatability-Request-ID, the posted card found by its metadata). The WAL is
        written in order, so a durable commit makes every earlier one durable too.
        """
        connection = self._opened()
        synchronous = "FULL" if durable else "NORMAL"
        if synchronous != self._synchronous:
            connection.execute(f"PRAGMA synchronous={synchronous}")
            self._synchronous = synchronous
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield connection
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise

    def close(self) -> None:
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

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="sqlite-checkpointer")

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
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
        if self._connection is None:
            self._connection = sqlite3.connect(
                self._database, isolation_level=None, check_same_thread=False
            )
            self._connection.execute("PRAGMA busy_timeout=1000")
        self._connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
