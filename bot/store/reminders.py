"""People's App Home defaults, and the schedule of reminders sent when a room opens.

Plain SQLAlchemy Core on the store's engine; every method is one transaction. The schedule
holds one row per (room, person): `sync` makes a room's rows match the room as recorded
(moved when its window moves, added and removed with its people, dropped when it is deleted
or ended), and is safe to run again with the same room. Sending is claimed under a lease as
the journal's entries are (`claim`: a conditional UPDATE that only takes due rows whose lease
is free or expired, after `FOR UPDATE SKIP LOCKED` on PostgreSQL), so across replicas one
worker at a time holds a reminder, and `finish` only counts for the lease holder.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, and_, case, column, delete, func, insert, or_, select, table, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.store.home_tables import home_preferences, room_reminder_leads, room_reminders
from bot.store.records import RoomRecord
from bot.store.tables import UTCDateTime

DEFAULT_LEAD = timedelta(minutes=5)
"""How long before a room opens its people are reminded, unless the room says otherwise."""

PENDING, SENT, SKIPPED = "pending", "sent", "skipped"

_WRITE = {"roombot_write": True}  # SQLite: BEGIN IMMEDIATE (see bot.store.engine)

# The registry's tables, read-only and only the columns the App Home needs.
_rooms = table(
    "rooms",
    column("id"),
    column("team_id"),
    column("creator_id"),
    column("state"),
    column("valid_from", UTCDateTime()),
    column("valid_until", UTCDateTime()),
)
_participants = table("room_participants", column("room_id"), column("slack_user_id"))


@dataclass(frozen=True, slots=True)
class Preferences:
    """A person's own defaults: a room's length when they name none, and whether to be
    reminded when their rooms open. None for the length: the workspace's default."""

    default_length: timedelta | None = None
    reminders: bool = True


@dataclass(frozen=True, slots=True)
class Reminder:
    """One person's reminder of one room, as claimed for sending."""

    id: str
    room_id: str
    team_id: str
    user_id: str
    opens_at: datetime
    due_at: datetime
    attempts: int


def _reminder(row: Row[Any]) -> Reminder:
    return Reminder(
        id=row.id,
        room_id=row.room_id,
        team_id=row.team_id,
        user_id=row.user_id,
        opens_at=row.opens_at,
        due_at=row.due_at,
        attempts=row.attempts,
    )


class HomeStore:
    """People's preferences and the rooms their App Home lists."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._writer = engine.execution_options(**_WRITE)

    async def preferences(self, team_id: str, user_id: str) -> Preferences:
        async with self._engine.connect() as connection:
            row = (
                await connection.execute(
                    select(home_preferences).where(
                        home_preferences.c.team_id == team_id,
                        home_preferences.c.user_id == user_id,
                    )
                )
            ).first()
        if row is None:
            return Preferences()
        minutes = row.default_length_minutes
        return Preferences(
            default_length=timedelta(minutes=minutes) if minutes else None,
            reminders=bool(row.reminders),
        )

    async def set_preferences(
        self, team_id: str, user_id: str, preferences: Preferences, *, now: datetime
    ) -> None:
        length = preferences.default_length
        values = {
            "default_length_minutes": int(length.total_seconds() // 60) if length else None,
            "reminders": preferences.reminders,
            "updated_at": now,
        }
        async with self._writer.begin() as connection:
            changed = await connection.execute(
                update(home_preferences)
                .where(
                    home_preferences.c.team_id == team_id,
                    home_preferences.c.user_id == user_id,
                )
                .values(**values)
            )
            if changed.rowcount == 0:
                await connection.execute(
                    insert(home_preferences).values(team_id=team_id, user_id=user_id, **values)
                )

    async def room_ids_of(
        self, team_id: str, user_id: str, *, now: datetime, limit: int, offset: int = 0
    ) -> tuple[list[str], int]:
        """Ids of the active rooms *user_id* created or is in that have not closed, soonest
        first (a page of them), and how many there are in all."""
        mine = and_(
            _rooms.c.team_id == team_id,
            _rooms.c.state == "active",
            _rooms.c.valid_until > now,
            or_(
                _rooms.c.creator_id == user_id,
                _rooms.c.id.in_(
                    select(_participants.c.room_id).where(_participants.c.slack_user_id == user_id)
                ),
            ),
        )
        async with self._engine.connect() as connection:
            total = await connection.scalar(select(func.count()).select_from(_rooms).where(mine))
            ids = await connection.scalars(
                select(_rooms.c.id)
                .where(mine)
                .order_by(_rooms.c.valid_from, _rooms.c.id)
                .limit(limit)
                .offset(offset)
            )
            return [str(room_id) for room_id in ids], int(total or 0)


class ReminderSchedule:
    """The reminders due when rooms open; see the module's docstring."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._writer = engine.execution_options(**_WRITE)

    async def set_lead(self, room_id: str, lead: timedelta) -> None:
        """Remind *lead* before room *room_id* opens (set before its first `sync`)."""
        minutes = max(0, int(lead.total_seconds() // 60))
        async with self._writer.begin() as connection:
            changed = await connection.execute(
                update(room_reminder_leads)
                .where(room_reminder_leads.c.room_id == room_id)
                .values(lead_minutes=minutes)
            )
            if changed.rowcount == 0:
                await connection.execute(
                    insert(room_reminder_leads).values(room_id=room_id, lead_minutes=minutes)
                )

    async def lead(self, room_id: str) -> timedelta:
        async with self._engine.connect() as connection:
            return await _lead(connection, room_id)

    async def sync(self, room: RoomRecord, *, now: datetime) -> frozenset[str]:
        """Make *room*'s reminders match it; returns everyone whose reminder was there before
        or is now (so their App Home can be refreshed too).

        Only rooms that have not opened get new or moved reminders; one due in the past (a
        room made less than its lead before opening) is due at once. A reminder already sent
        is sent again only when the room moved to a new opening time.
        """
        async with self._writer.begin() as connection:
            lead = await _lead(connection, room.room_id)
            existing = {
                row.user_id: row
                for row in await connection.execute(
                    select(room_reminders).where(room_reminders.c.room_id == room.room_id)
                )
            }
            wanted = {p.slack_user_id for p in room.participants} if room.active else set()
            gone = [row.id for user, row in existing.items() if user not in wanted]
            if gone:
                await connection.execute(
                    delete(room_reminders).where(room_reminders.c.id.in_(gone))
                )
            if room.valid_from > now:
                due = max(room.valid_from - lead, now)
                for user in sorted(wanted):
                    row = existing.get(user)
                    if row is None:
                        await connection.execute(
                            insert(room_reminders).values(
                                id=str(uuid.uuid4()),
                                room_id=room.room_id,
                                team_id=room.team_id,
                                user_id=user,
                                opens_at=room.valid_from,
                                due_at=due,
                                state=PENDING,
                                attempts=0,
                                updated_at=now,
                            )
                        )
                    elif row.opens_at != room.valid_from or (
                        row.state == PENDING and row.due_at != due
                    ):
                        await connection.execute(
                            update(room_reminders)
                            .where(room_reminders.c.id == row.id)
                            .values(
                                opens_at=room.valid_from,
                                due_at=due,
                                state=PENDING,
                                lease_owner=None,
                                lease_until=None,
                                sent_at=None,
                                updated_at=now,
                            )
                        )
        return frozenset(existing) | frozenset(wanted)

    async def claim(
        self, worker_id: str, *, lease: timedelta, now: datetime, limit: int = 20
    ) -> list[Reminder]:
        """Lease up to *limit* due reminders whose lease is free or expired, soonest first."""
        claimable = and_(
            room_reminders.c.state == PENDING,
            room_reminders.c.due_at <= now,
            or_(room_reminders.c.lease_until.is_(None), room_reminders.c.lease_until <= now),
        )
        async with self._writer.begin() as connection:
            ids = list(
                await connection.scalars(
                    select(room_reminders.c.id)
                    .where(claimable)
                    .order_by(room_reminders.c.due_at, room_reminders.c.id)
                    .limit(limit)
                    .with_for_update(skip_locked=True)  # PostgreSQL; SQLite renders nothing
                )
            )
            if not ids:
                return []
            # The WHERE repeats the test: it is what makes the claim safe without row locks.
            rows = await connection.execute(
                update(room_reminders)
                .where(room_reminders.c.id.in_(ids), claimable)
                .values(
                    lease_owner=worker_id,
                    lease_until=now + lease,
                    attempts=room_reminders.c.attempts + 1,
                    updated_at=now,
                )
                .returning(*room_reminders.c)
            )
            claimed = [_reminder(row) for row in rows]
        return sorted(claimed, key=lambda r: (r.due_at, r.id))

    async def finish(self, reminder_id: str, worker_id: str, *, sent: bool, now: datetime) -> bool:
        """Record the reminder as sent (or skipped: nobody to remind); False when this worker
        no longer holds it (another took it over, or the room moved it meanwhile)."""
        async with self._writer.begin() as connection:
            result = await connection.execute(
                update(room_reminders)
                .where(
                    room_reminders.c.id == reminder_id,
                    room_reminders.c.state == PENDING,
                    room_reminders.c.lease_owner == worker_id,
                )
                .values(
                    state=SENT if sent else SKIPPED,
                    sent_at=now,
                    lease_owner=None,
                    lease_until=None,
                    updated_at=now,
                )
            )
            return bool(result.rowcount == 1)

    async def release(
        self, reminder_id: str, worker_id: str, *, retry_at: datetime, now: datetime
    ) -> None:
        """Give the reminder back, due again at *retry_at* (Slack did not take it)."""
        async with self._writer.begin() as connection:
            await connection.execute(
                update(room_reminders)
                .where(
                    room_reminders.c.id == reminder_id,
                    room_reminders.c.state == PENDING,
                    room_reminders.c.lease_owner == worker_id,
                )
                .values(due_at=retry_at, lease_owner=None, lease_until=None, updated_at=now)
            )

    async def next_due(self) -> datetime | None:
        """When the soonest pending reminder can next be claimed (None when none is pending):
        when it is due, or when its current lease runs out; a sleep until then."""
        lease, due = room_reminders.c.lease_until, room_reminders.c.due_at
        claimable_at = case((and_(lease.is_not(None), lease > due), lease), else_=due)
        async with self._engine.connect() as connection:
            value = await connection.scalar(
                select(func.min(claimable_at)).where(room_reminders.c.state == PENDING)
            )
        return UTCDateTime().process_result_value(value, self._engine.dialect)

    async def of_room(self, room_id: str) -> dict[str, tuple[str, datetime]]:
        """*room_id*'s reminders: user -> (state, due at); for health output and tests."""
        async with self._engine.connect() as connection:
            rows = await connection.execute(
                select(room_reminders).where(room_reminders.c.room_id == room_id)
            )
            return {row.user_id: (row.state, row.due_at) for row in rows}


async def _lead(connection: AsyncConnection, room_id: str) -> timedelta:
    minutes = await connection.scalar(
        select(room_reminder_leads.c.lead_minutes).where(room_reminder_leads.c.room_id == room_id)
    )
    return DEFAULT_LEAD if minutes is None else timedelta(minutes=int(minutes))
