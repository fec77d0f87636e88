"""People's App Home defaults, and the schedule of reminders sent when a room opens.

Plain SQLAlchemy Core, each method one transaction run by the store's `Database`. The schedule
holds one row per (room, person): `sync` makes a room's rows match the room as recorded
(moved when its window moves, added and removed with its people, dropped when it is deleted
or ended), and is safe to run again with the same room. Sending is claimed under a lease as
the journal's entries are (`claim`: a conditional UPDATE that only takes due rows whose lease
is free or expired, after `FOR UPDATE SKIP LOCKED` on PostgreSQL), so across replicas one
worker at a time holds a reminder, and `finish` only counts for the lease holder.

A claim also says whether an earlier attempt's outcome is unknown: a lease that ran out with
neither `finish` nor `release` behind it (the replica died, or Slack's answer never came), or a
`release` that said it could not tell. Only then need the sender look for the message before
posting it again (`Reminder.outcome_unknown`); the mark stays until the reminder is settled or
moved, so a later attempt that was refused for another reason still looks.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from functools import partial
from typing import Any, NamedTuple

from sqlalchemy import (
    Row,
    and_,
    bindparam,
    case,
    column,
    delete,
    func,
    insert,
    literal_column,
    null,
    or_,
    select,
    table,
    union_all,
    update,
)
from sqlalchemy.engine import Connection

from bot.domain import DEFAULT_REMINDER_LEAD as DEFAULT_LEAD
from bot.domain import Preferences, Reminder, RoomRecord, RoomState
from bot.store.engine import Database, insert_ignoring_conflicts
from bot.store.home_tables import (
    home_preferences,
    home_views,
    room_reminder_leads,
    room_reminders,
)
from bot.store.tables import UTCDateTime

PENDING, SENT, SKIPPED = "pending", "sent", "skipped"

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


def _reminder(row: Row[Any]) -> Reminder:
    return Reminder(
        id=row.id,
        room_id=row.room_id,
        team_id=row.team_id,
        user_id=row.user_id,
        opens_at=row.opens_at,
        due_at=row.due_at,
        attempts=row.attempts,
        first_claimed_at=row.first_claimed_at,
        outcome_unknown=bool(row.outcome_unknown),
    )


class HomeStore:
    """People's preferences and the rooms their App Home lists."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def preferences(self, team_id: str, user_id: str) -> Preferences:
        return await self._database.read(_preferences, team_id, user_id)

    async def set_preferences(
        self, team_id: str, user_id: str, preferences: Preferences, *, now: datetime
    ) -> None:
        await self._database.write(_set_preferences, team_id, user_id, preferences, now)

    async def room_ids_of(
        self, team_id: str, user_id: str, *, now: datetime, limit: int, offset: int = 0
    ) -> tuple[list[str], int]:
        """Ids of the active rooms *user_id* created or is in that have not closed, soonest
        first (a page of them), and how many there are in all."""
        return await self._database.read(_room_ids_of, team_id, user_id, now, limit, offset)

    async def mark_opened(self, team_id: str, user_id: str, *, now: datetime) -> None:
        """*user_id* has opened the Home tab: from now on a room change republishes it."""
        if not await self._database.read(_opened, team_id, [user_id]):  # a read is cheaper
            await self._database.write(_mark_opened, team_id, user_id, now)


class SyncedReminders(NamedTuple):
    """What `ReminderSchedule.sync` changed, and whose Homes show the room."""

    people: frozenset[str]
    """Whose Homes show the room or did until now: its people, its creator, the people the
    caller named (just removed), and everyone whose reminder was there before or is now."""
    earliest_due: datetime | None
    """When the earliest reminder it added or moved is due; None if it set none."""
    opened: frozenset[str]
    """Those of *people* who have opened their Home tab: the Homes to publish again, read in
    the same transaction, so a room change costs no second database call for them."""


ReminderStep = Callable[[Connection], SyncedReminders]
"""A reminder sync waiting to run inside another repository's write (`sync_step`)."""


class ReminderSchedule:
    """The reminders due when rooms open; see the module's docstring."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def set_lead(self, room_id: str, lead: timedelta) -> None:
        """Remind *lead* before room *room_id* opens (set before its first `sync`)."""
        await self._database.write(_set_lead, room_id, lead)

    async def lead(self, room_id: str) -> timedelta:
        return await self._database.read(_lead, room_id)

    async def sync(
        self,
        room: RoomRecord,
        *,
        now: datetime,
        lead: timedelta | None = None,
        also: Iterable[str] = (),
    ) -> SyncedReminders:
        """Make *room*'s reminders match it, in a transaction of its own (see `sync_step`)."""
        return await self._database.write(self.sync_step(room, now=now, lead=lead, also=also))

    @staticmethod
    def sync_step(
        room: RoomRecord,
        *,
        now: datetime,
        lead: timedelta | None = None,
        also: Iterable[str] = (),
        set_lead: bool = False,
    ) -> ReminderStep:
        """The sync of *room*'s reminders as a step for another write to run in its own
        transaction (`Journal.mark_answered_with`: a command's answer and its reminders are
        recorded together, in one database call).

        It returns whose Homes show the room (its people, its creator, *also* — people just
        removed — and whoever had a reminder of it) and which of them opened their Home, and
        when the earliest reminder it set is due (so the dispatcher wakes early only when it
        must). *lead*, when the caller knows it (a create), saves reading it back; with
        *set_lead* it is also kept as the room's lead (`remind 15m`).

        Only rooms that have not opened get new or moved reminders; one due in the past (a
        room made less than its lead before opening) is due at once. A reminder already sent
        is sent again only when the room moved to a new opening time.
        """
        if set_lead and lead is None:
            raise ValueError("set_lead needs the lead to set")
        return partial(_sync, room=room, now=now, lead=lead, also=frozenset(also), keep=set_lead)

    async def claim(
        self, worker_id: str, *, lease: timedelta, now: datetime, limit: int = 20
    ) -> list[Reminder]:
        """Lease up to *limit* due reminders whose lease is free or expired, soonest first."""
        claimed = await self._database.write(_claim, worker_id, lease, now, limit)
        return sorted(claimed, key=lambda r: (r.due_at, r.id))

    async def finish(self, reminder_id: str, worker_id: str, *, sent: bool, now: datetime) -> bool:
        """Record the reminder as sent (or skipped: nobody to remind); False when this worker
        no longer holds it (another took it over, or the room moved it meanwhile)."""
        return await self._database.write(_finish, reminder_id, worker_id, sent, now)

    async def release(
        self,
        reminder_id: str,
        worker_id: str,
        *,
        retry_at: datetime,
        now: datetime,
        unknown: bool = False,
    ) -> None:
        """Give the reminder back, due again at *retry_at*: Slack refused it, or, with
        *unknown*, the attempt cannot tell whether Slack took it (its answer was lost)."""
        await self._database.write(_release, reminder_id, worker_id, retry_at, now, unknown)

    async def next_due(self) -> datetime | None:
        """When the soonest pending reminder can next be claimed (None when none is pending):
        when it is due, or when its current lease runs out; a sleep until then."""
        return await self._database.read(_next_due)

    async def of_room(self, room_id: str) -> dict[str, tuple[str, datetime]]:
        """*room_id*'s reminders: user -> (state, due at); for health output and tests."""
        return await self._database.read(_of_room, room_id)


def _preferences(connection: Connection, team_id: str, user_id: str) -> Preferences:
    row = connection.execute(
        select(home_preferences).where(
            home_preferences.c.team_id == team_id, home_preferences.c.user_id == user_id
        )
    ).first()
    if row is None:
        return Preferences()
    minutes = row.default_length_minutes
    return Preferences(
        default_length=timedelta(minutes=minutes) if minutes else None,
        reminders=bool(row.reminders),
    )


def _set_preferences(
    connection: Connection, team_id: str, user_id: str, preferences: Preferences, now: datetime
) -> None:
    length = preferences.default_length
    values = {
        "default_length_minutes": int(length.total_seconds() // 60) if length else None,
        "reminders": preferences.reminders,
        "updated_at": now,
    }
    changed = connection.execute(
        update(home_preferences)
        .where(home_preferences.c.team_id == team_id, home_preferences.c.user_id == user_id)
        .values(**values)
    )
    if changed.rowcount == 0:
        connection.execute(
            insert(home_preferences).values(team_id=team_id, user_id=user_id, **values)
        )


def _room_ids_of(
    connection: Connection, team_id: str, user_id: str, now: datetime, limit: int, offset: int
) -> tuple[list[str], int]:
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
    total = connection.scalar(select(func.count()).select_from(_rooms).where(mine))
    ids = connection.scalars(
        select(_rooms.c.id)
        .where(mine)
        .order_by(_rooms.c.valid_from, _rooms.c.id)
        .limit(limit)
        .offset(offset)
    )
    return [str(room_id) for room_id in ids], int(total or 0)


def _set_lead(connection: Connection, room_id: str, lead: timedelta) -> None:
    minutes = max(0, int(lead.total_seconds() // 60))
    changed = connection.execute(
        update(room_reminder_leads)
        .where(room_reminder_leads.c.room_id == room_id)
        .values(lead_minutes=minutes)
    )
    if changed.rowcount == 0:
        connection.execute(
            insert(room_reminder_leads).values(room_id=room_id, lead_minutes=minutes)
        )


# The hot statements of `_sync` and `_lead`, built once: a command changes a room, and so runs
# them, every time. Built per call, their construction (clauses, `values()`, cache keys) cost
# more than running them (`make bench`, benchmark 2's profile).
_LEAD = select(room_reminder_leads.c.lead_minutes).where(
    room_reminder_leads.c.room_id == bindparam("room_id")
)
_OF_ROOM = room_reminders.c.room_id == bindparam("room_id")
_PEOPLE_OF_ROOM = _participants.c.room_id == bindparam("room_id")
_SYNC_READ = union_all(
    select(
        literal_column("'reminder'").label("kind"),
        room_reminders.c.id,
        room_reminders.c.user_id,
        room_reminders.c.opens_at,
        room_reminders.c.due_at,
        room_reminders.c.state,
    ).where(_OF_ROOM),
    select(
        literal_column("'member'"),
        null(),
        _participants.c.slack_user_id,
        _rooms.c.valid_from,
        null(),
        _rooms.c.state,
    )
    .select_from(_rooms.outerjoin(_participants, _participants.c.room_id == _rooms.c.id))
    .where(_rooms.c.id == bindparam("room_id")),
    select(literal_column("'opened'"), null(), home_views.c.user_id, null(), null(), null()).where(
        home_views.c.team_id == bindparam("team_id"),
        or_(
            home_views.c.user_id.in_(bindparam("named", expanding=True)),
            home_views.c.user_id.in_(select(_participants.c.slack_user_id).where(_PEOPLE_OF_ROOM)),
            home_views.c.user_id.in_(select(room_reminders.c.user_id).where(_OF_ROOM)),
        ),
    ),
)
"""All a sync reads, in one statement (one round trip on PostgreSQL per room change, `make
bench`, benchmark 2): the room's reminders (`reminder`); the room as recorded now, its opening,
state and people (`member`, one row per person, the person NULL when it has none); and which of
its people opened their Home (`opened`: its participants, its reminders' holders, and the
people *named*: its creator and those just removed)."""
_DROP = delete(room_reminders).where(room_reminders.c.id.in_(bindparam("ids", expanding=True)))
_ADD = insert(room_reminders)
_MOVE = (
    update(room_reminders)
    .where(room_reminders.c.id == bindparam("reminder_id"))
    .values(
        opens_at=bindparam("opens_at"),
        due_at=bindparam("due_at"),
        state=PENDING,
        lease_owner=None,
        lease_until=None,
        sent_at=None,
        # a new opening is a new reminder: no earlier attempt of it to find
        first_claimed_at=None,
        outcome_unknown=False,
        updated_at=bindparam("now"),
    )
)


def _lead(connection: Connection, room_id: str) -> timedelta:
    minutes = connection.scalar(_LEAD, {"room_id": room_id})
    return DEFAULT_LEAD if minutes is None else timedelta(minutes=int(minutes))


def _sync(
    connection: Connection,
    *,
    room: RoomRecord,
    now: datetime,
    lead: timedelta | None,
    also: frozenset[str],
    keep: bool,
) -> SyncedReminders:
    if keep and lead is not None:
        _set_lead(connection, room.room_id, lead)
    lead = _lead(connection, room.room_id) if lead is None else lead
    named = {room.creator_id} | also
    found = connection.execute(
        _SYNC_READ, {"room_id": room.room_id, "team_id": room.team_id, "named": sorted(named)}
    ).all()
    existing = {row.user_id: row for row in found if row.kind == "reminder"}
    opened = frozenset(row.user_id for row in found if row.kind == "opened")
    # The room as recorded now, not as the caller last saw it: two changes of one room may
    # reach this point in either order (each after its own answer), and the one that comes
    # last must not put back what the other changed.
    members = [row for row in found if row.kind == "member"]
    opens = members[0].opens_at if members else room.valid_from
    active = members[0].state == RoomState.ACTIVE.value if members else room.active
    participants = (
        {row.user_id for row in members if row.user_id is not None}
        if members
        else {p.slack_user_id for p in room.participants}
    )
    wanted = participants if active else set()
    gone = [row.id for user, row in existing.items() if user not in wanted]
    if gone:
        connection.execute(_DROP, {"ids": gone})
    added: list[dict[str, Any]] = []
    moved: list[dict[str, Any]] = []
    due = max(opens - lead, now)
    if opens > now:
        for user in sorted(wanted):
            row = existing.get(user)
            if row is None:
                added.append(
                    {
                        "id": str(uuid.uuid4()),
                        "room_id": room.room_id,
                        "team_id": room.team_id,
                        "user_id": user,
                        "opens_at": opens,
                        "due_at": due,
                        "state": PENDING,
                        "attempts": 0,
                        "updated_at": now,
                    }
                )
            elif row.opens_at != opens or (row.state == PENDING and row.due_at != due):
                moved.append({"reminder_id": row.id, "opens_at": opens, "due_at": due, "now": now})
    if added:
        connection.execute(_ADD, added)
    if moved:
        connection.execute(_MOVE, moved)
    earliest = due if added or moved else None
    return SyncedReminders(frozenset(participants | named | existing.keys()), earliest, opened)


def _claim(
    connection: Connection, worker_id: str, lease: timedelta, now: datetime, limit: int
) -> list[Reminder]:
    claimable = and_(
        room_reminders.c.state == PENDING,
        room_reminders.c.due_at <= now,
        or_(room_reminders.c.lease_until.is_(None), room_reminders.c.lease_until <= now),
    )
    ids = list(
        connection.scalars(
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
    rows = connection.execute(
        update(room_reminders)
        .where(room_reminders.c.id.in_(ids), claimable)
        .values(
            lease_owner=worker_id,
            lease_until=now + lease,
            attempts=room_reminders.c.attempts + 1,
            # SET reads the row as it was: an owner still named means its lease ran out
            # with no outcome recorded (SQLite and PostgreSQL agree on this).
            outcome_unknown=or_(
                room_reminders.c.outcome_unknown, room_reminders.c.lease_owner.is_not(None)
            ),
            first_claimed_at=func.coalesce(room_reminders.c.first_claimed_at, now),
            updated_at=now,
        )
        .returning(*room_reminders.c)
    )
    return [_reminder(row) for row in rows]


def _finish(
    connection: Connection, reminder_id: str, worker_id: str, sent: bool, now: datetime
) -> bool:
    result = connection.execute(
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


def _release(
    connection: Connection,
    reminder_id: str,
    worker_id: str,
    retry_at: datetime,
    now: datetime,
    unknown: bool,
) -> None:
    connection.execute(
        update(room_reminders)
        .where(
            room_reminders.c.id == reminder_id,
            room_reminders.c.state == PENDING,
            room_reminders.c.lease_owner == worker_id,
        )
        .values(
            due_at=retry_at,
            lease_owner=None,
            lease_until=None,
            outcome_unknown=True if unknown else room_reminders.c.outcome_unknown,
            updated_at=now,
        )
    )


def _next_due(connection: Connection) -> datetime | None:
    lease, due = room_reminders.c.lease_until, room_reminders.c.due_at
    claimable_at = case((and_(lease.is_not(None), lease > due), lease), else_=due)
    value = connection.scalar(
        select(func.min(claimable_at)).where(room_reminders.c.state == PENDING)
    )
    return UTCDateTime().process_result_value(value, connection.dialect)


def _of_room(connection: Connection, room_id: str) -> dict[str, tuple[str, datetime]]:
    rows = connection.execute(select(room_reminders).where(room_reminders.c.room_id == room_id))
    return {row.user_id: (row.state, row.due_at) for row in rows}


_OPENED = select(home_views.c.user_id).where(
    home_views.c.team_id == bindparam("team_id"),
    home_views.c.user_id.in_(bindparam("users", expanding=True)),
)


def _opened(connection: Connection, team_id: str, user_ids: list[str]) -> frozenset[str]:
    return frozenset(connection.scalars(_OPENED, {"team_id": team_id, "users": user_ids}))


def _mark_opened(connection: Connection, team_id: str, user_id: str, now: datetime) -> None:
    dialect = connection.dialect.name
    ignoring = insert_ignoring_conflicts(dialect, home_views, ["team_id", "user_id"])
    connection.execute(ignoring.values(team_id=team_id, user_id=user_id, opened_at=now))
