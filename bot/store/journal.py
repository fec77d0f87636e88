"""The command journal: nothing acknowledged is lost or done twice.

Every command is written here at ack time under a key that doubles as the ACS
Repeatability-Request-ID, so a retry after a crash gets the same room back instead of a second
one. Workers in every replica `claim` unfinished entries under a lease; only the lease holder
may move an entry, and an entry only moves forward:

    accepted ──> room_created(room_id) ──> answered
        │                                    ^
        ├──> failed(code, message) ──────────┤
        └────────────────────────────────────┘   (commands whose only outcome is the answer)

A claim is a conditional UPDATE that takes only entries whose lease is free or expired, so two
workers can never both hold one; on PostgreSQL the candidates are first picked with
`FOR UPDATE SKIP LOCKED` so concurrent claimers pass each other instead of queueing.
A worker may finish after its lease ran out as long as nobody else claimed the entry since;
if somebody did, its next move raises `LeaseLost` and it must stop.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Insert,
    Update,
    and_,
    bindparam,
    case,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import (
    RESPONSE_URL_LIFETIME,
    RESPONSE_URL_MAX_USES,
    JournalEntry,
    JournalState,
    NewJournalEntry,
    PostedMessage,
)
from bot.store import hot_sqlite
from bot.store.engine import Sessions, insert_ignoring_conflicts
from bot.store.errors import EntryNotFound, InvalidTransition, LeaseLost
from bot.store.tables import JournalRow, RoomRow

_ANSWERED = JournalState.ANSWERED.value


def _entry(row: JournalRow) -> JournalEntry:
    return JournalEntry(
        key=row.key,
        first_sent=row.first_sent,
        command=row.command,
        team_id=row.team_id,
        user_id=row.user_id,
        channel_id=row.channel_id,
        response_url=row.response_url,
        response_url_expires_at=row.response_url_expires_at,
        response_url_uses=row.response_url_uses,
        accepted_at=row.accepted_at,
        state=JournalState(row.state),
        room_id=row.room_id,
        error_code=row.error_code,
        error_message=row.error_message,
        attempts=row.attempts,
        last_error=row.last_error,
        lease_owner=row.lease_owner,
        lease_until=row.lease_until,
        answered_at=row.answered_at,
        updated_at=row.updated_at,
        failures=row.failures,
    )


def _claimable(now: datetime) -> ColumnElement[bool]:
    return and_(
        JournalRow.state != _ANSWERED,
        or_(JournalRow.lease_until.is_(None), JournalRow.lease_until <= now),
    )


def _plain_json(command: Mapping[str, Any]) -> dict[str, Any]:
    # A round trip now turns tuples into lists and refuses what JSON cannot hold, so what
    # `get` returns later equals what was accepted, on both engines.
    try:
        plain: dict[str, Any] = json.loads(json.dumps(dict(command)))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"the journalled command must be plain JSON: {exc}") from None
    return plain


class Journal:
    """Journal entries by key; every method is one transaction and returns `JournalEntry`s."""

    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions

    async def accept(self, entry: NewJournalEntry) -> bool:
        """Write *entry* in state accepted; False (and no change) if its key is already there."""
        return await self.accept_leased(entry) is not None

    async def accept_leased(
        self,
        entry: NewJournalEntry,
        *,
        worker_id: str | None = None,
        lease: timedelta | None = None,
    ) -> JournalEntry | None:
        """Write *entry* in state accepted, leased to *worker_id* when given; None (and no
        change) if its key is already there.

        The replica that acks a command works on it at once: taking the lease in the same
        write saves a claim transaction per command. The lease counts as the first attempt.
        """
        leased = worker_id is not None
        if leased and (lease is None or lease <= timedelta(0)):
            raise ValueError("a leased accept needs a positive lease")
        values: dict[str, Any] = {
            "key": entry.key,
            "first_sent": entry.first_sent or entry.accepted_at,
            "command": _plain_json(entry.command),
            "team_id": entry.team_id,
            "user_id": entry.user_id,
            "channel_id": entry.channel_id,
            "response_url": entry.response_url,
            "response_url_expires_at": entry.accepted_at + RESPONSE_URL_LIFETIME,
            "response_url_uses": 0,
            "accepted_at": entry.accepted_at,
            "state": JournalState.ACCEPTED.value,
            "attempts": 1 if leased else 0,
            "updated_at": entry.accepted_at,
            "lease_owner": worker_id,
            "lease_until": entry.accepted_at + lease if lease is not None and leased else None,
        }
        if self._sessions.hot is not None:
            async with self._sessions.hot_write(urgent=True, durable=True) as connection:
                row = connection.execute(hot_sqlite.ACCEPT, _stored_values(values)).fetchone()
            if row is None:
                return None
        else:
            async with self._sessions.write(urgent=True) as session:
                inserted = await session.execute(_accept_statement(self._sessions.dialect), values)
                if inserted.first() is None:
                    return None
        # Just inserted: the entry is what was written (in UTC, as the database gives it back).
        lease_until = values["lease_until"]
        return JournalEntry(
            key=entry.key,
            first_sent=values["first_sent"].astimezone(UTC),
            command=values["command"],
            team_id=entry.team_id,
            user_id=entry.user_id,
            channel_id=entry.channel_id,
            response_url=entry.response_url,
            response_url_expires_at=values["response_url_expires_at"].astimezone(UTC),
            response_url_uses=0,
            accepted_at=entry.accepted_at.astimezone(UTC),
            state=JournalState.ACCEPTED,
            room_id=None,
            error_code=None,
            error_message=None,
            attempts=values["attempts"],
            last_error=None,
            lease_owner=worker_id,
            lease_until=None if lease_until is None else lease_until.astimezone(UTC),
            answered_at=None,
            updated_at=entry.accepted_at.astimezone(UTC),
        )

    async def get(self, key: str) -> JournalEntry | None:
        async with self._sessions.read() as session:
            row = await session.get(JournalRow, key)
            return None if row is None else _entry(row)

    async def pending_count(self) -> int:
        """How many entries are not answered yet (for health output and metrics)."""
        async with self._sessions.read() as session:
            count = await session.scalar(
                select(func.count()).select_from(JournalRow).where(JournalRow.state != _ANSWERED)
            )
            return count or 0

    async def claim(
        self, worker_id: str, *, lease: timedelta, now: datetime, limit: int = 10
    ) -> list[JournalEntry]:
        """Lease up to *limit* unfinished entries whose lease is free or expired, oldest first.

        Each claimed entry's `attempts` goes up by one and its lease runs to *now* + *lease*.
        """
        if limit < 1 or lease <= timedelta(0):
            raise ValueError("claim needs a positive limit and lease")
        candidates = (
            select(JournalRow.key)
            .where(_claimable(now))
            .order_by(JournalRow.accepted_at, JournalRow.key)
            .limit(limit)
            .with_for_update(skip_locked=True)  # PostgreSQL only; SQLite renders nothing
        )
        async with self._sessions.write() as session:
            keys = list(await session.scalars(candidates))
            if not keys:
                return []
            claimed = await _take_leases(session, keys, worker_id, lease=lease, now=now)
        return sorted(claimed, key=lambda e: (e.accepted_at, e.key))

    async def claim_one(
        self, key: str, worker_id: str, *, lease: timedelta, now: datetime
    ) -> JournalEntry | None:
        """Lease the entry *key* if it is unfinished and free, or leased to *worker_id*; else None.

        The replica that just accepted a command uses this to start on it at once. Its own
        periodic `claim` may have leased the entry a moment earlier (and left it to this
        call), so a lease this worker already holds does not stand in its way.
        """
        async with self._sessions.write() as session:
            claimed = await _take_leases(
                session, [key], worker_id, lease=lease, now=now, own_lease_ok=True
            )
        return claimed[0] if claimed else None

    async def renew(
        self, key: str, worker_id: str, *, lease: timedelta, now: datetime
    ) -> JournalEntry:
        """Extend *worker_id*'s lease to *now* + *lease*; LeaseLost if it no longer holds it."""
        async with self._sessions.write() as session:
            row = await _load(session, key)
            if row.state == _ANSWERED:
                raise InvalidTransition(key, JournalState(row.state), "renew the lease")
            _check_owner(row, worker_id)
            row.lease_until, row.updated_at = now + lease, now
            return await _saved(session, row)

    async def pin_command(
        self, key: str, command: Mapping[str, Any], worker_id: str, *, now: datetime
    ) -> JournalEntry:
        """Replace the entry's command with *command* (e.g. resolved to absolute times).

        Only the lease holder may, and only while nothing has happened yet (state accepted):
        from then on every retry repeats exactly the pinned command.
        """
        plain = _plain_json(command)
        if self._sessions.hot is not None:
            params = {
                "key": key,
                "worker": worker_id,
                "command": hot_sqlite.stored_json(plain),
                "now": hot_sqlite.stored(now),
            }
            with contextlib.suppress(hot_sqlite.NoMatch):
                async with self._sessions.hot_write() as connection:
                    return hot_sqlite.moved(connection, hot_sqlite.PIN, params)
        async with self._sessions.write() as session:
            moved = await _move(session, _PIN, key, worker_id, b_command=plain, b_now=now)
            if moved is not None:
                return moved
            row = await _load(session, key)  # say why not
            state = JournalState(row.state)
            if state is not JournalState.ACCEPTED:
                raise InvalidTransition(key, state, "pin the command")
            _check_owner(row, worker_id)
            raise AssertionError("unreachable: the conditional update would have matched")

    async def mark_room_created(
        self, key: str, room_id: str, worker_id: str, *, now: datetime
    ) -> JournalEntry:
        """Record that ACS created *room_id* for the entry.

        Recording the same room again is a no-op; any other room id, or an entry that already
        failed, raises InvalidTransition. `RoomRegistry.record_created` does this in the same
        transaction as the room when given the journal key.
        """
        async with self._sessions.write() as session:
            return await room_created_in(session, key, room_id, worker_id, now=now)

    async def mark_failed(
        self, key: str, code: str, message: str, worker_id: str, *, now: datetime
    ) -> JournalEntry:
        """Record that the command failed for good with *code* (the answer is still owed).

        Only a definitive failure belongs here: a timeout may have created the room, so it
        is a `release(error=...)` and a retry with the same key instead. Recording the same
        code again is a no-op; a different one, or a created room, raises InvalidTransition.
        """
        async with self._sessions.write() as session:
            row = await _load(session, key)
            state = JournalState(row.state)
            if row.error_code is not None:
                if row.error_code == code:
                    return _entry(row)
                raise InvalidTransition(key, state, f"fail with {code} over {row.error_code}")
            if state is not JournalState.ACCEPTED:
                raise InvalidTransition(key, state, "record a failure")
            _check_owner(row, worker_id)
            row.state, row.updated_at = JournalState.FAILED.value, now
            row.error_code, row.error_message = code, message
            return await _saved(session, row)

    async def mark_answered(
        self,
        key: str,
        worker_id: str,
        *,
        now: datetime,
        room_message: tuple[str, PostedMessage] | None = None,
    ) -> JournalEntry:
        """Record that the user got their answer; the entry is finished and its lease freed.

        *room_message* (room id, message) is the Slack message that now shows the room,
        remembered on the room in the same transaction. Answering an answered entry is a
        no-op, so a worker that crashed after answering and before noticing the commit does
        not make the caller answer twice.
        """
        if self._sessions.hot is not None:
            stamp = hot_sqlite.stored(now)
            with contextlib.suppress(hot_sqlite.NoMatch):
                async with self._sessions.hot_write() as connection:
                    answer = {"key": key, "worker": worker_id, "now": stamp}
                    answered = hot_sqlite.moved(connection, hot_sqlite.ANSWER, answer)
                    if room_message is not None:
                        room_id, message = room_message
                        connection.execute(
                            hot_sqlite.SET_MESSAGE,
                            {
                                "room": room_id,
                                "channel": message.channel_id,
                                "ts": message.ts,
                                "now": stamp,
                            },
                        )
                    return answered
        async with self._sessions.write() as session:
            moved = await _move(session, _ANSWER, key, worker_id, b_now=now)
            if moved is not None:
                if room_message is not None:  # only the worker that answered says where
                    room_id, message = room_message
                    await session.execute(
                        _SET_MESSAGE,
                        {
                            "b_room": room_id,
                            "b_channel": message.channel_id,
                            "b_ts": message.ts,
                            "b_now": now,
                        },
                        execution_options={"synchronize_session": False},
                    )
                return moved
            row = await _load(session, key)  # a no-op, or say why not
            if row.state == _ANSWERED:
                return _entry(row)
            _check_owner(row, worker_id)
            raise AssertionError("unreachable: the conditional update would have matched")

    async def release(
        self,
        key: str,
        worker_id: str,
        *,
        now: datetime,
        error: str | None = None,
        retry_at: datetime | None = None,
    ) -> bool:
        """Give up *worker_id*'s lease, noting *error*; the entry is claimable from *retry_at*.

        Without *retry_at* it is claimable at once. Return False (and change nothing) when
        the worker does not hold the lease, so this is safe in a `finally`.
        """
        values: dict[str, Any] = {"lease_owner": None, "lease_until": retry_at, "updated_at": now}
        if error is not None:
            values["last_error"] = error
        statement = (
            update(JournalRow)
            .where(JournalRow.key == key, JournalRow.lease_owner == worker_id)
            .values(**values)
            .returning(JournalRow.key)
        )
        async with self._sessions.write() as session:
            released = await session.execute(
                statement, execution_options={"synchronize_session": False}
            )
            return released.first() is not None

    async def record_failure(
        self, key: str, worker_id: str, *, now: datetime, error: str, retry_at: datetime
    ) -> bool:
        """Count one unexpected failure of *worker_id*'s attempt and release the entry until
        *retry_at*; False (and no change) when the worker no longer holds the lease."""
        statement = (
            update(JournalRow)
            .where(JournalRow.key == key, JournalRow.lease_owner == worker_id)
            .values(
                lease_owner=None,
                lease_until=retry_at,
                last_error=error,
                failures=JournalRow.failures + 1,
                updated_at=now,
            )
            .returning(JournalRow.key)
        )
        async with self._sessions.write() as session:
            recorded = await session.execute(
                statement, execution_options={"synchronize_session": False}
            )
            return recorded.first() is not None

    async def hurry_waiting(self, *, now: datetime) -> int:
        """Make entries released with an error and a later retry time claimable now.

        For when the cause of the error (ACS unreachable) is known to have gone; entries
        somebody holds are left alone. Returns how many were hurried.
        """
        statement = (
            update(JournalRow)
            .where(
                JournalRow.state != _ANSWERED,
                JournalRow.lease_owner.is_(None),
                JournalRow.last_error.is_not(None),
                JournalRow.lease_until > now,
            )
            .values(lease_until=None, updated_at=now)
            .returning(JournalRow.key)
        )
        async with self._sessions.write() as session:
            hurried = await session.execute(
                statement, execution_options={"synchronize_session": False}
            )
            return len(hurried.all())

    async def note_response_url_use(self, key: str, *, now: datetime) -> bool:
        """Reserve one post to the entry's response_url; False when Slack would refuse it.

        Call this before posting: the count goes up only while the URL exists, is younger
        than 30 minutes and has had fewer than 5 posts, atomically, so two replicas cannot
        both take the last use. On False, answer with `chat.postMessage` instead.
        """
        statement = (
            update(JournalRow)
            .where(
                JournalRow.key == key,
                JournalRow.response_url.is_not(None),
                JournalRow.response_url_uses < RESPONSE_URL_MAX_USES,
                JournalRow.response_url_expires_at > now,
            )
            .values(response_url_uses=JournalRow.response_url_uses + 1, updated_at=now)
            .returning(JournalRow.key)
        )
        async with self._sessions.write() as session:
            noted = await session.execute(
                statement, execution_options={"synchronize_session": False}
            )
            return noted.first() is not None


def _stored_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """`accept`'s values as the hot path's SQL stores them."""
    plain = dict(values)
    for name in ("first_sent", "response_url_expires_at", "accepted_at", "updated_at"):
        plain[name] = hot_sqlite.stored(values[name])
    plain["lease_until"] = hot_sqlite.stored(values["lease_until"])
    plain["command"] = hot_sqlite.stored_json(values["command"])
    return plain


_ACCEPTS: dict[str, Insert] = {}


def _accept_statement(dialect: str) -> Insert:
    """The INSERT … ON CONFLICT DO NOTHING of `accept`, built once per dialect.

    Built per call with `.values(...)`, the statement and its cache key cost about a quarter
    of the insert; values passed as parameters reuse one compiled statement.
    """
    statement = _ACCEPTS.get(dialect)
    if statement is None:
        statement = insert_ignoring_conflicts(dialect, JournalRow, ["key"])
        statement = _ACCEPTS[dialect] = statement.returning(JournalRow.key)
    return statement


# The common case of each move as one conditional UPDATE … RETURNING, built once: the lease
# holder moves its entry forward. Reading the row first (and flushing the ORM's change) cost
# a SELECT and most of a transaction's time; the row is read only when the update matched
# nothing, to return a no-op's entry or to raise the precise error.
_NOW = bindparam("b_now", type_=JournalRow.__table__.c.updated_at.type)


def _move_statement(condition: ColumnElement[bool], **values: Any) -> Update:
    return (
        update(JournalRow)
        .where(
            JournalRow.key == bindparam("b_key"),
            JournalRow.lease_owner == bindparam("b_worker"),
            condition,
        )
        .values(updated_at=_NOW, **values)
        .returning(JournalRow)
    )


_ACCEPTED = JournalState.ACCEPTED.value
_PIN = _move_statement(
    JournalRow.state == _ACCEPTED,
    command=bindparam("b_command", type_=JournalRow.__table__.c.command.type),
)
_ROOM_CREATED = _move_statement(
    and_(JournalRow.state == _ACCEPTED, JournalRow.room_id.is_(None)),
    state=JournalState.ROOM_CREATED.value,
    room_id=bindparam("b_room", type_=JournalRow.__table__.c.room_id.type),
)
_ANSWER = _move_statement(
    JournalRow.state != _ANSWERED,
    state=_ANSWERED,
    answered_at=_NOW,
    lease_owner=None,
    lease_until=None,
)


_SET_MESSAGE = (
    update(RoomRow)
    .where(RoomRow.id == bindparam("b_room"))
    .values(
        message_channel_id=bindparam(
            "b_channel", type_=RoomRow.__table__.c.message_channel_id.type
        ),
        message_ts=bindparam("b_ts", type_=RoomRow.__table__.c.message_ts.type),
        updated_at=_NOW,
    )
)


async def room_created_in(
    session: AsyncSession, key: str, room_id: str, worker_id: str, *, now: datetime
) -> JournalEntry:
    """`Journal.mark_room_created` inside the caller's transaction (see its docstring)."""
    moved = await _move(session, _ROOM_CREATED, key, worker_id, b_room=room_id, b_now=now)
    if moved is not None:
        return moved
    row = await _load(session, key)  # a no-op, or say why not
    state = JournalState(row.state)
    if row.room_id is not None:
        if row.room_id == room_id:
            return _entry(row)
        raise InvalidTransition(key, state, f"record room {room_id} over {row.room_id}")
    if state is not JournalState.ACCEPTED:
        raise InvalidTransition(key, state, "record a created room")
    _check_owner(row, worker_id)
    raise AssertionError("unreachable: the conditional update would have matched")


async def _move(
    session: AsyncSession, statement: Update, key: str, worker_id: str, **params: Any
) -> JournalEntry | None:
    """Run one of the move statements; the moved entry, or None when nothing matched."""
    rows = await session.scalars(
        statement,
        {"b_key": key, "b_worker": worker_id, **params},
        execution_options={"synchronize_session": False, "populate_existing": True},
    )
    row = rows.first()
    return None if row is None else _entry(row)


async def _take_leases(
    session: AsyncSession,
    keys: list[str],
    worker_id: str,
    *,
    lease: timedelta,
    now: datetime,
    own_lease_ok: bool = False,
) -> list[JournalEntry]:
    # The WHERE repeats the claimable test: it is what makes the claim safe without row locks.
    claimable = _claimable(now)
    if own_lease_ok:
        claimable = or_(
            claimable,
            and_(JournalRow.state != _ANSWERED, JournalRow.lease_owner == worker_id),
        )
    statement = (
        update(JournalRow)
        .where(JournalRow.key.in_(keys), claimable)
        .values(
            lease_owner=worker_id,
            lease_until=now + lease,
            # Re-taking a lease this worker already holds is the same attempt, not a new one.
            attempts=case(
                (
                    and_(JournalRow.lease_owner == worker_id, JournalRow.lease_until > now),
                    JournalRow.attempts,
                ),
                else_=JournalRow.attempts + 1,
            ),
            updated_at=now,
        )
        .returning(JournalRow)
    )
    rows = await session.scalars(
        statement, execution_options={"synchronize_session": False, "populate_existing": True}
    )
    return [_entry(row) for row in rows]


async def _load(session: AsyncSession, key: str) -> JournalRow:
    row = await session.get(JournalRow, key, with_for_update=True, populate_existing=True)
    if row is None:
        raise EntryNotFound(key)
    return row


def _check_owner(row: JournalRow, worker_id: str) -> None:
    if row.lease_owner != worker_id:
        raise LeaseLost(row.key, worker_id, row.lease_owner)


async def _saved(session: AsyncSession, row: JournalRow) -> JournalEntry:
    await session.flush()
    return _entry(row)
