"""A room's call: its Slack call object (Calls API) and who is in its ACS call, from events.

Two tables, in plain SQLAlchemy Core on the shared metadata (revision 0008):

- `room_calls`: one row per room registered with Slack's Calls API: the Slack call id, when
  the Slack call was ended, and the ACS call seen through Event Grid (its server call id,
  start and end, and the time of the latest call-level event applied).
- `call_presence`: one row per ACS identity seen in a room's call: present or not as of the
  latest event applied (`event_at`), and `told_slack`: what Slack's call was last told.

Event Grid delivers at least once and in any order, so an event changes a row only when it is
newer than what the row already holds: a redelivery, or an older event arriving late, changes
nothing. Each method is one transaction run by `Database`; the read-then-write ones lock the
row they change (`FOR UPDATE` on PostgreSQL; SQLite's one writer thread runs them in turn).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    String,
    Table,
    and_,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError

from bot.domain import Presence, RoomCall
from bot.store.engine import Database, insert_ignoring_conflicts
from bot.store.tables import Base, IdentityRow, RoomRow, UTCDateTime

room_calls = Table(
    "room_calls",
    Base.metadata,
    Column(
        "room_id",
        String(64),
        ForeignKey("rooms.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("team_id", String(32), nullable=False),
    Column("slack_call_id", String(64), nullable=False),
    Column("registered_at", UTCDateTime(), nullable=False),
    Column("slack_ended_at", UTCDateTime(), nullable=True),
    Column("acs_call_id", String(512), nullable=True),
    Column("acs_started_at", UTCDateTime(), nullable=True),
    Column("acs_ended_at", UTCDateTime(), nullable=True),
    Column("acs_event_at", UTCDateTime(), nullable=True),
)

call_presence = Table(
    "call_presence",
    Base.metadata,
    Column(
        "room_id",
        String(64),
        ForeignKey("rooms.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("acs_raw_id", String(255), primary_key=True),
    Column("slack_user_id", String(32), nullable=True),
    Column("display_name", String(255), nullable=False),
    Column("present", Boolean(), nullable=False),
    Column("event_at", UTCDateTime(), nullable=False),
    Column("told_slack", Boolean(), nullable=False),
)


class CallRecords:
    """Rooms' Slack calls and the presence their ACS events report."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def get(self, room_id: str) -> RoomCall | None:
        return await self._database.read(_get, room_id)

    async def register(
        self, *, room_id: str, team_id: str, slack_call_id: str, now: datetime
    ) -> RoomCall:
        """Record the room's Slack call; the call as kept (an earlier one if there was one:
        registered meanwhile by another replica), read back in the same transaction."""
        return await self._database.write(
            _register, room_id=room_id, team_id=team_id, slack_call_id=slack_call_id, now=now
        )

    async def mark_slack_ended(self, room_id: str, *, now: datetime) -> bool:
        """Note that Slack was told the call ended; False when it had been already."""
        return await self._database.write(_mark_slack_ended, room_id, now)

    async def closed_unended(self, *, now: datetime, limit: int = 50) -> list[str]:
        """Rooms whose Slack call is not ended although the room closed or is gone."""
        return await self._database.read(_closed_unended, now, limit)

    async def call_started(self, room_id: str, *, acs_call_id: str, at: datetime) -> bool:
        """Apply a CallStarted; True when it changed what is recorded."""
        return await self._database.write(
            _call_event, room_id, acs_call_id=acs_call_id, at=at, started=at, ended=None
        )

    async def call_ended(
        self, room_id: str, *, acs_call_id: str, at: datetime, duration: timedelta | None
    ) -> bool:
        """Apply a CallEnded (its duration dates the start when CallStarted is missing)."""
        started = at - duration if duration is not None else None
        return await self._database.write(
            _call_event, room_id, acs_call_id=acs_call_id, at=at, started=started, ended=at
        )

    async def presence(
        self,
        room_id: str,
        *,
        acs_raw_id: str,
        present: bool,
        at: datetime,
        slack_user_id: str | None,
        display_name: str,
    ) -> bool:
        """Apply a participant added (*present*) or removed; True when it changed the row.

        Two deliveries racing to insert the same person's first row (replicas on
        PostgreSQL): the loser reads the winner's row and applies its event to it, as if it
        had come second.
        """
        values: dict[str, Any] = {
            "acs_raw_id": acs_raw_id,
            "present": present,
            "at": at,
            "slack_user_id": slack_user_id,
            "display_name": display_name,
        }
        try:
            return await self._database.write(_presence, room_id, **values)
        except IntegrityError:
            return await self._database.write(_presence, room_id, **values)

    async def slack_user_for(self, team_id: str, acs_raw_id: str) -> str | None:
        """The Slack member the identity directory maps *acs_raw_id* to, in this workspace."""
        return await self._database.read(_slack_user_for, team_id, acs_raw_id)

    async def told_slack(self, room_id: str, acs_raw_id: str, *, present: bool) -> None:
        """Record what Slack's call was told of this person."""
        await self._database.write(_told_slack, room_id, acs_raw_id, present)


def _room_call(row: Row[Any], people: list[Row[Any]]) -> RoomCall:
    return RoomCall(
        room_id=row.room_id,
        team_id=row.team_id,
        slack_call_id=row.slack_call_id,
        registered_at=row.registered_at,
        slack_ended_at=row.slack_ended_at,
        acs_call_id=row.acs_call_id,
        acs_started_at=row.acs_started_at,
        acs_ended_at=row.acs_ended_at,
        people=tuple(
            Presence(
                acs_raw_id=p.acs_raw_id,
                slack_user_id=p.slack_user_id,
                display_name=p.display_name,
                present=p.present,
                event_at=p.event_at,
                told_slack=p.told_slack,
            )
            for p in people
        ),
    )


def _get(connection: Connection, room_id: str) -> RoomCall | None:
    row = connection.execute(
        select(room_calls).where(room_calls.c.room_id == room_id)
    ).one_or_none()
    if row is None:
        return None
    people = connection.execute(
        select(call_presence)
        .where(call_presence.c.room_id == room_id)
        .order_by(call_presence.c.event_at, call_presence.c.acs_raw_id)
    ).all()
    return _room_call(row, list(people))


def _register(
    connection: Connection, *, room_id: str, team_id: str, slack_call_id: str, now: datetime
) -> RoomCall:
    first = insert_ignoring_conflicts(connection.dialect.name, room_calls, ["room_id"])
    connection.execute(
        first.values(
            room_id=room_id, team_id=team_id, slack_call_id=slack_call_id, registered_at=now
        )
    )
    kept = _get(connection, room_id)
    assert kept is not None, "just inserted, or there before"
    return kept


def _mark_slack_ended(connection: Connection, room_id: str, now: datetime) -> bool:
    ended = connection.scalar(
        update(room_calls)
        .where(room_calls.c.room_id == room_id, room_calls.c.slack_ended_at.is_(None))
        .values(slack_ended_at=now)
        .returning(room_calls.c.room_id)
    )
    return ended is not None


def _closed_unended(connection: Connection, now: datetime, limit: int) -> list[str]:
    rooms = RoomRow.__table__
    rows = connection.scalars(
        select(room_calls.c.room_id)
        .join(rooms, rooms.c.id == room_calls.c.room_id)
        .where(
            room_calls.c.slack_ended_at.is_(None),
            (rooms.c.valid_until <= now) | (rooms.c.state != "active"),
        )
        .limit(limit)
    )
    return [str(room_id) for room_id in rows]


def _call_event(
    connection: Connection,
    room_id: str,
    *,
    acs_call_id: str,
    at: datetime,
    started: datetime | None,
    ended: datetime | None,
) -> bool:
    row = connection.execute(
        select(room_calls).where(room_calls.c.room_id == room_id).with_for_update()
    ).one_or_none()
    if row is None:
        return False  # not a room with a Slack call: nothing to show
    current = row.acs_call_id
    latest = row.acs_event_at
    values: dict[str, object] = {}
    if current is None or (acs_call_id != current and (latest is None or at > latest)):
        # The first call seen, or a newer call than the one recorded: it replaces it.
        values = {
            "acs_call_id": acs_call_id,
            "acs_started_at": started,
            "acs_ended_at": ended,
            "acs_event_at": at,
        }
    elif acs_call_id == current:
        if started is not None and (row.acs_started_at is None or started < row.acs_started_at):
            values["acs_started_at"] = started
        if ended is not None and (row.acs_ended_at is None or ended > row.acs_ended_at):
            values["acs_ended_at"] = ended
        if latest is None or at > latest:
            values["acs_event_at"] = at
    if not values:
        return False  # a redelivery, or an event of an older call
    connection.execute(update(room_calls).where(room_calls.c.room_id == room_id).values(**values))
    return True


def _presence(
    connection: Connection,
    room_id: str,
    *,
    acs_raw_id: str,
    present: bool,
    at: datetime,
    slack_user_id: str | None,
    display_name: str,
) -> bool:
    key = and_(call_presence.c.room_id == room_id, call_presence.c.acs_raw_id == acs_raw_id)
    known = connection.scalar(select(room_calls.c.room_id).where(room_calls.c.room_id == room_id))
    if known is None:
        return False
    row = connection.execute(select(call_presence).where(key).with_for_update()).one_or_none()
    if row is None:
        connection.execute(
            insert(call_presence).values(
                room_id=room_id,
                acs_raw_id=acs_raw_id,
                slack_user_id=slack_user_id,
                display_name=display_name[:255],
                present=present,
                event_at=at,
                told_slack=False,
            )
        )
        return True
    if at <= row.event_at:
        return False  # a redelivery, or older than what is recorded
    connection.execute(
        update(call_presence)
        .where(key)
        .values(
            present=present,
            event_at=at,
            slack_user_id=slack_user_id or row.slack_user_id,
            display_name=display_name[:255] or row.display_name,
        )
    )
    return True


def _slack_user_for(connection: Connection, team_id: str, acs_raw_id: str) -> str | None:
    identities = IdentityRow.__table__
    found = connection.scalar(
        select(identities.c.slack_user_id).where(
            identities.c.team_id == team_id, identities.c.acs_raw_id == acs_raw_id
        )
    )
    return str(found) if found is not None else None


def _told_slack(connection: Connection, room_id: str, acs_raw_id: str, present: bool) -> None:
    connection.execute(
        update(call_presence)
        .where(call_presence.c.room_id == room_id, call_presence.c.acs_raw_id == acs_raw_id)
        .values(told_slack=present)
    )
