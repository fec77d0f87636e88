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

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, cast

from sqlalchemy import (
    ColumnElement,
    Row,
    Table,
    Update,
    and_,
    bindparam,
    case,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection

from bot.domain import (
    RESPONSE_URL_LIFETIME,
    RESPONSE_URL_MAX_USES,
    JournalEntry,
    JournalState,
    NewJournalEntry,
    PostedMessage,
)
from bot.store.engine import Database, insert_ignoring_conflicts
from bot.store.errors import EntryNotFound, InvalidTransition, LeaseLost
from bot.store.tables import JournalRow, RoomRow

T = TypeVar("T")

_J = cast(Table, JournalRow.__table__)
_ROOMS = cast(Table, RoomRow.__table__)
_ANSWERED = JournalState.ANSWERED.value
_ACCEPTED = JournalState.ACCEPTED.value


def _entry(row: Row[Any]) -> JournalEntry:
    """The one place a journal row becomes a `JournalEntry`."""
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
        _J.c.state != _ANSWERED,
        or_(_J.c.lease_until.is_(None), _J.c.lease_until <= now),
    )


def _plain_json(command: Mapping[str, Any]) -> dict[str, Any]:
    # A round trip now turns tuples into lists and refuses what JSON cannot hold, so what
    # `get` returns later equals what was accepted, on both engines.
    try:
        plain: dict[str, Any] = json.loads(json.dumps(dict(command)))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"the journalled command must be plain JSON: {exc}") from None
    return plain


def _aware(value: datetime) -> datetime:
    if value.utcoffset() is None:
        raise ValueError(f"naive datetime {value.isoformat()} given to the store")
    return value.astimezone(UTC)


class Journal:
    """Journal entries by key; every method is one transaction and returns `JournalEntry`s."""

    def __init__(self, database: Database) -> None:
        self._db = database
        self._accept = insert_ignoring_conflicts(database.dialect, _J, ["key"]).returning(_J.c.key)

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
        accepted_at = _aware(entry.accepted_at)
        # Just inserted, the entry is what was written (in UTC, as the database gives it back).
        written = JournalEntry(
            key=entry.key,
            first_sent=_aware(entry.first_sent or entry.accepted_at),
            command=_plain_json(entry.command),
            team_id=entry.team_id,
            user_id=entry.user_id,
            channel_id=entry.channel_id,
            response_url=entry.response_url,
            response_url_expires_at=accepted_at + RESPONSE_URL_LIFETIME,
            response_url_uses=0,
            accepted_at=accepted_at,
            state=JournalState.ACCEPTED,
            room_id=None,
            error_code=None,
            error_message=None,
            attempts=1 if leased else 0,
            last_error=None,
            lease_owner=worker_id,
            lease_until=accepted_at + lease if lease is not None and leased else None,
            answered_at=None,
            updated_at=accepted_at,
        )
        values = {
            "key": written.key,
            "first_sent": written.first_sent,
            "command": written.command,
            "team_id": written.team_id,
            "user_id": written.user_id,
            "channel_id": written.channel_id,
            "response_url": written.response_url,
            "response_url_expires_at": written.response_url_expires_at,
            "response_url_uses": 0,
            "accepted_at": written.accepted_at,
            "state": _ACCEPTED,
            "attempts": written.attempts,
            "failures": 0,
            "updated_at": written.updated_at,
            "lease_owner": written.lease_owner,
            "lease_until": written.lease_until,
        }
        inserted = await self._db.write_one(_first, self._accept, values)
        return written if inserted is not None else None

    async def get(self, key: str) -> JournalEntry | None:
        row = await self._db.read(_first, _BY_KEY, {"b_key": key})
        return None if row is None else _entry(row)

    async def pending_count(self) -> int:
        """How many entries are not answered yet (for health output and metrics)."""
        return await self._db.read(_count, _PENDING)

    async def claim(
        self, worker_id: str, *, lease: timedelta, now: datetime, limit: int = 10
    ) -> list[JournalEntry]:
        """Lease up to *limit* unfinished entries whose lease is free or expired, oldest first.

        Each claimed entry's `attempts` goes up by one and its lease runs to *now* + *lease*.
        On PostgreSQL the candidates are locked `SKIP LOCKED`, so claimers pass each other.
        """
        if limit < 1 or lease <= timedelta(0):
            raise ValueError("claim needs a positive limit and lease")
        candidates = (
            select(_J.c.key)
            .where(_claimable(now))
            .order_by(_J.c.accepted_at, _J.c.key)
            .limit(limit)
            .with_for_update(skip_locked=True)  # PostgreSQL only; SQLite renders nothing
            .scalar_subquery()
        )
        statement = _take_leases(_J.c.key.in_(candidates), worker_id, lease=lease, now=now)
        claimed = await self._db.write_one(_entries, statement)
        return sorted(claimed, key=lambda e: (e.accepted_at, e.key))

    async def claim_one(
        self, key: str, worker_id: str, *, lease: timedelta, now: datetime
    ) -> JournalEntry | None:
        """Lease the entry *key* if it is unfinished and free, or leased to *worker_id*; else None.

        The replica that just accepted a command uses this to start on it at once. Its own
        periodic `claim` may have leased the entry a moment earlier (and left it to this
        call), so a lease this worker already holds does not stand in its way.
        """
        params = {"b_key": key, "b_worker": worker_id, "b_until": now + lease, "b_now": now}
        claimed = await self._db.write_one(_entries, _CLAIM_ONE, params)
        return claimed[0] if claimed else None

    async def renew(
        self, key: str, worker_id: str, *, lease: timedelta, now: datetime
    ) -> JournalEntry:
        """Extend *worker_id*'s lease to *now* + *lease*; LeaseLost if it no longer holds it."""
        return await self._db.write_one(_renew, key, worker_id, lease_until=now + lease, now=now)

    async def pin_command(
        self, key: str, command: Mapping[str, Any], worker_id: str, *, now: datetime
    ) -> JournalEntry:
        """Replace the entry's command with *command* (e.g. resolved to absolute times).

        Only the lease holder may, and only while nothing has happened yet (state accepted):
        from then on every retry repeats exactly the pinned command.
        """
        return await self._db.write_one(_pin, key, _plain_json(command), worker_id, now=now)

    async def mark_room_created(
        self, key: str, room_id: str, worker_id: str, *, now: datetime
    ) -> JournalEntry:
        """Record that ACS created *room_id* for the entry.

        Recording the same room again is a no-op; any other room id, or an entry that already
        failed, raises InvalidTransition. `RoomRegistry.record_created` does this in the same
        transaction as the room when given the journal key.
        """
        return await self._db.write(_room_created, key, room_id, worker_id, now=now)

    async def mark_failed(
        self, key: str, code: str, message: str, worker_id: str, *, now: datetime
    ) -> JournalEntry:
        """Record that the command failed for good with *code* (the answer is still owed).

        Only a definitive failure belongs here: a timeout may have created the room, so it
        is a `release(error=...)` and a retry with the same key instead. Recording the same
        code again is a no-op; a different one, or a created room, raises InvalidTransition.
        """
        return await self._db.write_one(_fail, key, code, message, worker_id, now=now)

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
        return await self._db.write(_answer, key, worker_id, now=now, room_message=room_message)

    async def mark_answered_with(
        self,
        key: str,
        worker_id: str,
        step: Callable[[Connection], T],
        *,
        now: datetime,
        room_message: tuple[str, PostedMessage] | None = None,
    ) -> tuple[bool, T | None]:
        """`mark_answered`, and another repository's *step* in the same transaction; (whether
        this call answered the entry, what the step returned).

        The step runs only when this call is the one that answers the entry, so what it
        records (a room change's reminders, `ReminderSchedule.sync_step`) is committed
        exactly with the answer: never an answered command whose follow-up is missing, and
        one database call per command fewer. When the entry had been answered already the
        step does not run (whoever answered it ran it then): (False, None). The entry itself
        is not read back; the runner has no use for it.
        """
        return await self._db.write(
            _answer_with, key, worker_id, step, now=now, room_message=room_message
        )

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
            update(_J)
            .where(_J.c.key == key, _J.c.lease_owner == worker_id)
            .values(**values)
            .returning(_J.c.key)
        )
        return await self._db.write_one(_first, statement) is not None

    async def record_failure(
        self, key: str, worker_id: str, *, now: datetime, error: str, retry_at: datetime
    ) -> bool:
        """Count one unexpected failure of *worker_id*'s attempt and release the entry until
        *retry_at*; False (and no change) when the worker no longer holds the lease."""
        statement = (
            update(_J)
            .where(_J.c.key == key, _J.c.lease_owner == worker_id)
            .values(
                lease_owner=None,
                lease_until=retry_at,
                last_error=error,
                failures=_J.c.failures + 1,
                updated_at=now,
            )
            .returning(_J.c.key)
        )
        return await self._db.write_one(_first, statement) is not None

    async def hurry_waiting(self, *, now: datetime) -> int:
        """Make entries released with an error and a later retry time claimable now.

        For when the cause of the error (ACS unreachable) is known to have gone; entries
        somebody holds are left alone. Returns how many were hurried.
        """
        statement = (
            update(_J)
            .where(
                _J.c.state != _ANSWERED,
                _J.c.lease_owner.is_(None),
                _J.c.last_error.is_not(None),
                _J.c.lease_until > now,
            )
            .values(lease_until=None, updated_at=now)
            .returning(_J.c.key)
        )
        return len(await self._db.write_one(_all, statement))

    async def note_response_url_use(self, key: str, *, now: datetime) -> bool:
        """Reserve one post to the entry's response_url; False when Slack would refuse it.

        Call this before posting: the count goes up only while the URL exists, is younger
        than 30 minutes and has had fewer than 5 posts, atomically, so two replicas cannot
        both take the last use. On False, answer with `chat.postMessage` instead.
        """
        statement = (
            update(_J)
            .where(
                _J.c.key == key,
                _J.c.response_url.is_not(None),
                _J.c.response_url_uses < RESPONSE_URL_MAX_USES,
                _J.c.response_url_expires_at > now,
            )
            .values(response_url_uses=_J.c.response_url_uses + 1, updated_at=now)
            .returning(_J.c.key)
        )
        return await self._db.write_one(_first, statement) is not None


# --- the work each method hands to `Database`: plain functions of a Connection ---------------


def _first(connection: Connection, statement: Any, params: Mapping[str, Any] | None = None) -> Any:
    return connection.execute(statement, params).first()


def _all(connection: Connection, statement: Any) -> list[Any]:
    return list(connection.execute(statement).all())


def _count(connection: Connection, statement: Any) -> int:
    return int(connection.execute(statement).scalar_one() or 0)


def _entries(
    connection: Connection, statement: Any, params: Mapping[str, Any] | None = None
) -> list[JournalEntry]:
    return [_entry(row) for row in connection.execute(statement, params)]


# Statements built once and run with parameters: building one per call (and its cache key)
# costs about as much as running it.
_NOW = bindparam("b_now", type_=_J.c.updated_at.type)
_BY_KEY = select(*_J.c).where(_J.c.key == bindparam("b_key"))
_PENDING = select(func.count()).select_from(_J).where(_J.c.state != _ANSWERED)


def _move_statement(condition: ColumnElement[bool], *, entry: bool = True, **values: Any) -> Update:
    """The common case of a move: the lease holder moves its entry forward, in one
    conditional UPDATE … RETURNING; the row is read only when it matched nothing, to return
    a no-op's entry or to raise the precise error.

    Without *entry* only the key comes back: for moves whose caller does not use the entry,
    since turning a whole row into one (its JSON command, its datetimes) cost as much as the
    UPDATE itself (`make bench`, benchmark 2's profile)."""
    return (
        update(_J)
        .where(
            _J.c.key == bindparam("b_key"),
            _J.c.lease_owner == bindparam("b_worker"),
            condition,
        )
        .values(updated_at=_NOW, **values)
        .returning(*(_J.c if entry else (_J.c.key,)))
    )


_PIN = _move_statement(
    _J.c.state == _ACCEPTED, command=bindparam("b_command", type_=_J.c.command.type)
)
_ROOM_CREATED_CONDITION = and_(_J.c.state == _ACCEPTED, _J.c.room_id.is_(None))
_ROOM_CREATED_VALUES: dict[str, Any] = {
    "state": JournalState.ROOM_CREATED.value,
    "room_id": bindparam("b_room", type_=_J.c.room_id.type),
}
_ROOM_CREATED = _move_statement(_ROOM_CREATED_CONDITION, **_ROOM_CREATED_VALUES)
_ROOM_CREATED_QUIETLY = _move_statement(
    _ROOM_CREATED_CONDITION, entry=False, **_ROOM_CREATED_VALUES
)
_FAIL = _move_statement(
    and_(_J.c.state == _ACCEPTED, _J.c.error_code.is_(None)),
    state=JournalState.FAILED.value,
    error_code=bindparam("b_code", type_=_J.c.error_code.type),
    error_message=bindparam("b_message", type_=_J.c.error_message.type),
)
_RENEW = _move_statement(
    _J.c.state != _ANSWERED, lease_until=bindparam("b_until", type_=_J.c.lease_until.type)
)
_ANSWERED_VALUES: dict[str, Any] = {
    "state": _ANSWERED,
    "answered_at": _NOW,
    "lease_owner": None,
    "lease_until": None,
}
_ANSWER = _move_statement(_J.c.state != _ANSWERED, **_ANSWERED_VALUES)
_ANSWER_QUIETLY = _move_statement(_J.c.state != _ANSWERED, entry=False, **_ANSWERED_VALUES)
_SET_MESSAGE = (
    update(_ROOMS)
    .where(_ROOMS.c.id == bindparam("b_room"))
    .values(
        message_channel_id=bindparam("b_channel", type_=_ROOMS.c.message_channel_id.type),
        message_ts=bindparam("b_ts", type_=_ROOMS.c.message_ts.type),
        updated_at=_NOW,
    )
)
_LOCK = _BY_KEY.with_for_update()
_WORKER = bindparam("b_worker", type_=_J.c.lease_owner.type)
_CLAIM_ONE = (  # `claim_one`: `_take_leases` for one key, with a lease the worker holds too
    update(_J)
    .where(
        _J.c.key == bindparam("b_key"),
        _J.c.state != _ANSWERED,
        or_(_J.c.lease_until.is_(None), _J.c.lease_until <= _NOW, _J.c.lease_owner == _WORKER),
    )
    .values(
        lease_owner=_WORKER,
        lease_until=bindparam("b_until", type_=_J.c.lease_until.type),
        attempts=case(
            (and_(_J.c.lease_owner == _WORKER, _J.c.lease_until > _NOW), _J.c.attempts),
            else_=_J.c.attempts + 1,
        ),
        updated_at=_NOW,
    )
    .returning(*_J.c)
)


def _moved(
    connection: Connection, statement: Update, key: str, worker_id: str, **params: Any
) -> JournalEntry | None:
    """Run one of the move statements; the moved entry, or None when nothing matched."""
    row = connection.execute(statement, {"b_key": key, "b_worker": worker_id, **params}).first()
    return None if row is None else _entry(row)


def _moved_quietly(
    connection: Connection, statement: Update, key: str, worker_id: str, **params: Any
) -> bool:
    """Run a move statement made with `entry=False`; whether it matched."""
    params = {"b_key": key, "b_worker": worker_id, **params}
    return connection.execute(statement, params).first() is not None


def _load(connection: Connection, key: str) -> JournalEntry:
    row = connection.execute(_LOCK, {"b_key": key}).first()
    if row is None:
        raise EntryNotFound(key)
    return _entry(row)


def _check_owner(entry: JournalEntry, worker_id: str) -> None:
    if entry.lease_owner != worker_id:
        raise LeaseLost(entry.key, worker_id, entry.lease_owner)


def _renew(
    connection: Connection, key: str, worker_id: str, *, lease_until: datetime, now: datetime
) -> JournalEntry:
    moved = _moved(connection, _RENEW, key, worker_id, b_until=lease_until, b_now=now)
    if moved is not None:
        return moved
    entry = _load(connection, key)  # say why not
    if entry.finished:
        raise InvalidTransition(key, entry.state, "renew the lease")
    _check_owner(entry, worker_id)
    raise AssertionError("unreachable: the conditional update would have matched")


def _pin(
    connection: Connection, key: str, command: dict[str, Any], worker_id: str, *, now: datetime
) -> JournalEntry:
    moved = _moved(connection, _PIN, key, worker_id, b_command=command, b_now=now)
    if moved is not None:
        return moved
    entry = _load(connection, key)  # say why not
    if entry.state is not JournalState.ACCEPTED:
        raise InvalidTransition(key, entry.state, "pin the command")
    _check_owner(entry, worker_id)
    raise AssertionError("unreachable: the conditional update would have matched")


def room_created_in(
    connection: Connection, key: str, room_id: str, worker_id: str, *, now: datetime
) -> None:
    """`Journal.mark_room_created` inside the caller's transaction (see its docstring), for
    a caller that needs no entry back (`RoomRegistry.record_created`)."""
    params = {"b_room": room_id, "b_now": now}
    if not _moved_quietly(connection, _ROOM_CREATED_QUIETLY, key, worker_id, **params):
        _not_room_created(connection, key, room_id, worker_id)


def _room_created(
    connection: Connection, key: str, room_id: str, worker_id: str, *, now: datetime
) -> JournalEntry:
    moved = _moved(connection, _ROOM_CREATED, key, worker_id, b_room=room_id, b_now=now)
    if moved is not None:
        return moved
    return _not_room_created(connection, key, room_id, worker_id)


def _not_room_created(
    connection: Connection, key: str, room_id: str, worker_id: str
) -> JournalEntry:
    """Why the room_created move matched nothing: the entry when it is a no-op (the same room
    recorded before), or the precise error."""
    entry = _load(connection, key)
    if entry.room_id is not None:
        if entry.room_id == room_id:
            return entry
        raise InvalidTransition(key, entry.state, f"record room {room_id} over {entry.room_id}")
    if entry.state is not JournalState.ACCEPTED:
        raise InvalidTransition(key, entry.state, "record a created room")
    _check_owner(entry, worker_id)
    raise AssertionError("unreachable: the conditional update would have matched")


def _fail(
    connection: Connection, key: str, code: str, message: str, worker_id: str, *, now: datetime
) -> JournalEntry:
    moved = _moved(connection, _FAIL, key, worker_id, b_code=code, b_message=message, b_now=now)
    if moved is not None:
        return moved
    entry = _load(connection, key)  # a no-op, or say why not
    if entry.error_code is not None:
        if entry.error_code == code:
            return entry
        raise InvalidTransition(key, entry.state, f"fail with {code} over {entry.error_code}")
    if entry.state is not JournalState.ACCEPTED:
        raise InvalidTransition(key, entry.state, "record a failure")
    _check_owner(entry, worker_id)
    raise AssertionError("unreachable: the conditional update would have matched")


def _answer(
    connection: Connection,
    key: str,
    worker_id: str,
    *,
    now: datetime,
    room_message: tuple[str, PostedMessage] | None,
) -> JournalEntry:
    moved = _moved(connection, _ANSWER, key, worker_id, b_now=now)
    if moved is not None:
        _remember_message(connection, room_message, now)
        return moved
    return _answered_before(connection, key, worker_id)


def _answer_with(
    connection: Connection,
    key: str,
    worker_id: str,
    step: Callable[[Connection], T],
    *,
    now: datetime,
    room_message: tuple[str, PostedMessage] | None,
) -> tuple[bool, T | None]:
    if _moved_quietly(connection, _ANSWER_QUIETLY, key, worker_id, b_now=now):
        _remember_message(connection, room_message, now)
        return True, step(connection)
    _answered_before(connection, key, worker_id)
    return False, None


def _remember_message(
    connection: Connection, room_message: tuple[str, PostedMessage] | None, now: datetime
) -> None:
    if room_message is None:  # only the worker that answered says where
        return
    room_id, message = room_message
    connection.execute(
        _SET_MESSAGE,
        {"b_room": room_id, "b_channel": message.channel_id, "b_ts": message.ts, "b_now": now},
    )


def _answered_before(connection: Connection, key: str, worker_id: str) -> JournalEntry:
    """Why the answer matched nothing: the entry when it was answered already (a no-op),
    or the precise error."""
    entry = _load(connection, key)
    if entry.finished:
        return entry
    _check_owner(entry, worker_id)
    raise AssertionError("unreachable: the conditional update would have matched")


def _take_leases(
    which: ColumnElement[bool],
    worker_id: str,
    *,
    lease: timedelta,
    now: datetime,
    own_lease_ok: bool = False,
) -> Update:
    # The WHERE repeats the claimable test: it is what makes the claim safe without row locks.
    claimable = _claimable(now)
    if own_lease_ok:
        claimable = or_(claimable, and_(_J.c.state != _ANSWERED, _J.c.lease_owner == worker_id))
    return (
        update(_J)
        .where(which, claimable)
        .values(
            lease_owner=worker_id,
            lease_until=now + lease,
            # Re-taking a lease this worker already holds is the same attempt, not a new one.
            attempts=case(
                (and_(_J.c.lease_owner == worker_id, _J.c.lease_until > now), _J.c.attempts),
                else_=_J.c.attempts + 1,
            ),
            updated_at=now,
        )
        .returning(*_J.c)
    )
