"""The room registry: what the bot knows about the rooms it created, without asking ACS.

It answers `list` (a channel's current and upcoming rooms) and `show` from the database, and
remembers the Slack message that shows each room so the Slack layer can update it. Recording
a creation is idempotent on the room id, because a journal retry gets the same room back from
ACS (same Repeatability-Request-ID) and records it again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Insert, Table, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, selectinload

from bot.domain import CardChange, ParticipantRecord, PostedMessage, Role, RoomRecord, RoomState
from bot.store.engine import Database, insert_ignoring_conflicts, orm
from bot.store.errors import RoomDeleted, RoomNotFound
from bot.store.journal import room_created_in
from bot.store.tables import ParticipantRow, RoomRow


def _record(row: RoomRow) -> RoomRecord:
    message = None
    if row.message_channel_id is not None and row.message_ts is not None:
        message = PostedMessage(channel_id=row.message_channel_id, ts=row.message_ts)
    last_change = None
    if row.last_change_verb is not None and row.last_change_by is not None:
        last_change = CardChange(verb=row.last_change_verb, actor_id=row.last_change_by)
    return RoomRecord(
        room_id=row.id,
        team_id=row.team_id,
        channel_id=row.channel_id,
        creator_id=row.creator_id,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        pstn_dial_out=row.pstn_dial_out,
        participants=tuple(
            ParticipantRecord(
                slack_user_id=p.slack_user_id, acs_raw_id=p.acs_raw_id, role=Role(p.role)
            )
            for p in sorted(row.participants, key=lambda p: p.slack_user_id)
        ),
        message=message,
        state=RoomState(row.state),
        created_at=row.created_at,
        updated_at=row.updated_at,
        tz=row.tz,
        title=row.title,
        last_change=last_change,
    )


def _by_user(participants: Iterable[ParticipantRecord]) -> dict[str, ParticipantRecord]:
    # A user named twice keeps the last role given, as a repeated mention in a command would.
    return {p.slack_user_id: p for p in participants}


def _check_window(valid_from: datetime, valid_until: datetime) -> None:
    if valid_from >= valid_until:
        raise ValueError(
            f"valid_from {valid_from.isoformat()} is not before valid_until "
            f"{valid_until.isoformat()}"
        )


class RoomRegistry:
    """Rooms by id; every method is one transaction and returns `RoomRecord`s."""

    def __init__(self, database: Database) -> None:
        self._db = database
        self._insert = insert_ignoring_conflicts(database.dialect, _ROOMS, ["id"]).returning(
            _ROOMS.c.id
        )

    async def record_created(
        self,
        *,
        room_id: str,
        team_id: str,
        channel_id: str,
        creator_id: str,
        valid_from: datetime,
        valid_until: datetime,
        pstn_dial_out: bool,
        participants: Iterable[ParticipantRecord],
        now: datetime,
        journal_step: tuple[str, str] | None = None,
        tz: str | None = None,
        title: str | None = None,
    ) -> RoomRecord:
        """Record a room ACS just created; if *room_id* is already recorded, return it as is.

        *tz* is the creator's zone, kept so the room's dates read the same after a restart.

        With *journal_step* (journal key, worker id) the entry is marked room_created in the
        same transaction (`Journal.mark_room_created`): one commit instead of two per create,
        and no moment where the room is recorded but its command is not.
        """
        _check_window(valid_from, valid_until)
        wanted = _by_user(participants)
        # What a new room's record will be: returned as written, without reading it back.
        record = RoomRecord(
            room_id=room_id,
            team_id=team_id,
            channel_id=channel_id,
            creator_id=creator_id,
            valid_from=_aware(valid_from),
            valid_until=_aware(valid_until),
            pstn_dial_out=pstn_dial_out,
            participants=tuple(wanted[user] for user in sorted(wanted)),
            message=None,
            state=RoomState.ACTIVE,
            created_at=_aware(now),
            updated_at=_aware(now),
            tz=tz,
            title=title,
        )
        return await self._db.write(_record_created, self._insert, record, journal_step)

    async def get(self, room_id: str) -> RoomRecord | None:
        """The room, deleted or not; None when it was never recorded."""
        return await self._db.read(_get, room_id)

    async def get_many(self, room_ids: Sequence[str]) -> list[RoomRecord]:
        """The recorded rooms among *room_ids*, in that order, in one read."""
        if not room_ids:
            return []
        found = await self._db.read(_get_many, list(room_ids))
        return [found[i] for i in room_ids if i in found]

    async def list_channel(
        self, team_id: str, channel_id: str, *, now: datetime
    ) -> list[RoomRecord]:
        """The channel's active rooms that have not ended by *now*, earliest start first."""
        query = (
            select(RoomRow)
            .where(
                RoomRow.team_id == team_id,
                RoomRow.channel_id == channel_id,
                RoomRow.state == RoomState.ACTIVE.value,
                RoomRow.valid_until > now,
            )
            .order_by(RoomRow.valid_from, RoomRow.id)
            .options(selectinload(RoomRow.participants))
        )
        return await self._db.read(_records, query)

    async def update_window(
        self,
        room_id: str,
        *,
        valid_from: datetime | None = None,
        valid_until: datetime | None = None,
        now: datetime,
        change: CardChange | None = None,
    ) -> RoomRecord:
        """Change the room's start and/or end (`extend`); ValueError if it would end first.

        With *change*, the room's card announces it from now on (`RoomRecord.last_change`)."""
        return await self._db.write(
            _update_window, room_id, valid_from, valid_until, now=now, change=change
        )

    async def set_participants(
        self, room_id: str, participants: Iterable[ParticipantRecord], *, now: datetime
    ) -> RoomRecord:
        """Make *participants* the room's whole participant list."""
        return await self._db.write(
            _change_participants,
            room_id,
            upsert=_by_user(participants),
            remove=set(),
            replace=True,
            now=now,
            change=None,
        )

    async def upsert_participants(
        self,
        room_id: str,
        participants: Iterable[ParticipantRecord],
        *,
        now: datetime,
        change: CardChange | None = None,
    ) -> RoomRecord:
        """Add *participants*, or change the role and identity of those already in (`add`)."""
        return await self._db.write(
            _change_participants,
            room_id,
            upsert=_by_user(participants),
            remove=set(),
            replace=False,
            now=now,
            change=change,
        )

    async def remove_participants(
        self,
        room_id: str,
        slack_user_ids: Iterable[str],
        *,
        now: datetime,
        change: CardChange | None = None,
    ) -> RoomRecord:
        """Take the users out of the room (`remove`); users not in it are ignored."""
        return await self._db.write(
            _change_participants,
            room_id,
            upsert={},
            remove=set(slack_user_ids),
            replace=False,
            now=now,
            change=change,
        )

    async def mark_ended(self, room_id: str, *, ended_at: datetime, now: datetime) -> RoomRecord:
        """Record that the room closed early at *ended_at* (`end`); ending it again changes nothing.

        Its window keeps the start and ends at *ended_at*, so the card and `show` say when it
        really closed. ValueError if *ended_at* is not after the start (it had not opened).
        """
        return await self._db.write(_mark_ended, room_id, ended_at=ended_at, now=now)

    async def set_title(
        self,
        room_id: str,
        title: str | None,
        *,
        now: datetime,
        change: CardChange | None = None,
    ) -> RoomRecord:
        """Give an active room a new title (`rename`); the same title again changes nothing."""
        return await self._db.write(_set_title, room_id, title, now=now, change=change)

    async def mark_deleted(self, room_id: str, *, now: datetime) -> RoomRecord:
        """Mark the room deleted (`delete`); deleting a deleted room changes nothing."""
        return await self._db.write(_mark_deleted, room_id, now=now)


# --- the work each method hands to `Database`: plain functions of a Connection ---------------

_ROOMS = cast(Table, RoomRow.__table__)
# A plain Core INSERT of participant rows, run as one executemany: the ORM's unit of work
# (add_all + flush) cost more than the rest of the transaction.
_INSERT_PARTICIPANTS = insert(cast(Table, ParticipantRow.__table__))


def _aware(value: datetime) -> datetime:
    if value.utcoffset() is None:
        raise ValueError(f"naive datetime {value.isoformat()} given to the store")
    return value.astimezone(UTC)


def _record_created(
    connection: Connection,
    insert_room: Insert,
    room: RoomRecord,
    journal_step: tuple[str, str] | None,
) -> RoomRecord:
    values = {
        "id": room.room_id,
        "team_id": room.team_id,
        "channel_id": room.channel_id,
        "creator_id": room.creator_id,
        "valid_from": room.valid_from,
        "valid_until": room.valid_until,
        "pstn_dial_out": room.pstn_dial_out,
        "tz": room.tz,
        "title": room.title,
        "state": room.state.value,
        "created_at": room.created_at,
        "updated_at": room.updated_at,
    }
    inserted = connection.execute(insert_room, values).first() is not None
    if journal_step is not None:
        key, worker_id = journal_step
        room_created_in(connection, key, room.room_id, worker_id, now=room.created_at)
    if not inserted:  # recorded before (a retry): what the database holds wins
        return _record(_load(orm(connection), room.room_id))
    if room.participants:
        connection.execute(
            _INSERT_PARTICIPANTS,
            [
                {
                    "room_id": room.room_id,
                    "slack_user_id": p.slack_user_id,
                    "acs_raw_id": p.acs_raw_id,
                    "role": p.role.value,
                }
                for p in room.participants
            ],
        )
    return room


def _get(connection: Connection, room_id: str) -> RoomRecord | None:
    row = orm(connection).get(RoomRow, room_id, options=[selectinload(RoomRow.participants)])
    return None if row is None else _record(row)


def _get_many(connection: Connection, room_ids: list[str]) -> dict[str, RoomRecord]:
    query = (
        select(RoomRow).where(RoomRow.id.in_(room_ids)).options(selectinload(RoomRow.participants))
    )
    return {record.room_id: record for record in _records(connection, query)}


def _records(connection: Connection, query: Any) -> list[RoomRecord]:
    session = orm(connection)
    return [_record(row) for row in session.scalars(query)]


def _update_window(
    connection: Connection,
    room_id: str,
    valid_from: datetime | None,
    valid_until: datetime | None,
    *,
    now: datetime,
    change: CardChange | None,
) -> RoomRecord:
    session = orm(connection)
    row = _load_active(session, room_id)
    _announce(row, change)
    new_from = row.valid_from if valid_from is None else valid_from
    new_until = row.valid_until if valid_until is None else valid_until
    _check_window(new_from, new_until)
    row.valid_from, row.valid_until, row.updated_at = new_from, new_until, now
    return _saved(session, row)


def _change_participants(
    connection: Connection,
    room_id: str,
    *,
    upsert: dict[str, ParticipantRecord],
    remove: set[str],
    replace: bool,
    now: datetime,
    change: CardChange | None,
) -> RoomRecord:
    session = orm(connection)
    row = _load_active(session, room_id)
    _announce(row, change)
    _apply_participants(session, row, upsert=upsert, remove=remove, replace=replace)
    row.updated_at = now
    return _saved(session, row)


def _mark_ended(
    connection: Connection, room_id: str, *, ended_at: datetime, now: datetime
) -> RoomRecord:
    session = orm(connection)
    row = _load_active(session, room_id, allow=RoomState.ENDED)
    if row.state != RoomState.ENDED.value:
        _check_window(row.valid_from, ended_at)
        row.state, row.valid_until, row.updated_at = RoomState.ENDED.value, ended_at, now
    return _saved(session, row)


def _set_title(
    connection: Connection,
    room_id: str,
    title: str | None,
    *,
    now: datetime,
    change: CardChange | None,
) -> RoomRecord:
    session = orm(connection)
    row = _load_active(session, room_id)
    _announce(row, change)
    if row.title != title:
        row.title, row.updated_at = title, now
    return _saved(session, row)


def _mark_deleted(connection: Connection, room_id: str, *, now: datetime) -> RoomRecord:
    session = orm(connection)
    row = _load(session, room_id, for_update=True)
    if row.state != RoomState.DELETED.value:
        row.state, row.updated_at = RoomState.DELETED.value, now
    return _saved(session, row)


def _announce(row: RoomRow, change: CardChange | None) -> None:
    """Record *change* as the one the room's card announces (with the change: one commit)."""
    if change is not None:
        row.last_change_verb, row.last_change_by = change.verb, change.actor_id


def _load(session: Session, room_id: str, *, for_update: bool = False) -> RoomRow:
    # The row lock (PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises writers) keeps two
    # replicas changing one room's participants from interleaving.
    row = session.get(
        RoomRow,
        room_id,
        options=[selectinload(RoomRow.participants)],
        with_for_update=for_update,
        populate_existing=True,
    )
    if row is None:
        raise RoomNotFound(room_id)
    return row


def _load_active(session: Session, room_id: str, *, allow: RoomState = RoomState.ACTIVE) -> RoomRow:
    """The room, locked, if it is still active (or in state *allow*); RoomDeleted otherwise."""
    row = _load(session, room_id, for_update=True)
    if row.state not in {RoomState.ACTIVE.value, allow.value}:
        raise RoomDeleted(room_id)
    return row


def _apply_participants(
    session: Session,
    row: RoomRow,
    *,
    upsert: dict[str, ParticipantRecord],
    remove: set[str],
    replace: bool,
) -> None:
    current = {p.slack_user_id: p for p in row.participants}
    leaving = {user for user in current if user in remove or (replace and user not in upsert)}
    for user in leaving:
        row.participants.remove(current.pop(user))
    # Deletions first: a raw id may move from a leaving row to an arriving one, and the
    # (room_id, acs_raw_id) unique key must not see both at once.
    session.flush()
    for user, wanted in upsert.items():
        existing = current.get(user)
        if existing is None:
            row.participants.append(
                ParticipantRow(
                    slack_user_id=user, acs_raw_id=wanted.acs_raw_id, role=wanted.role.value
                )
            )
        else:
            existing.acs_raw_id, existing.role = wanted.acs_raw_id, wanted.role.value


def _saved(session: Session, row: RoomRow) -> RoomRecord:
    session.flush()
    return _record(row)
