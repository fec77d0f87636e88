"""Knocks: requests to join a room from people who are not on its roster.

A knock is decided once: `decide` is a conditional `UPDATE … WHERE state = 'pending'
RETURNING`, so when two presenters answer at once exactly one decision stands and the other
hears who was first.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection

from bot.domain import Knock, KnockState
from bot.store.engine import Database, orm
from bot.store.tables import KnockRow


def _knock(row: KnockRow) -> Knock:
    return Knock(
        id=row.id,
        team_id=row.team_id,
        room_id=row.room_id,
        user_id=row.user_id,
        display_name=row.display_name,
        state=KnockState(row.state),
        created_at=row.created_at,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
    )


class Knocks:
    """Knocks by id; every method is one transaction."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def add(
        self, *, team_id: str, room_id: str, user_id: str, display_name: str, now: datetime
    ) -> Knock:
        knock = Knock(
            id=str(uuid.uuid4()),
            team_id=team_id,
            room_id=room_id,
            user_id=user_id,
            display_name=display_name[:255],
            state=KnockState.PENDING,
            created_at=now,
        )
        statement = insert(KnockRow).values(
            id=knock.id,
            team_id=team_id,
            room_id=room_id,
            user_id=user_id,
            display_name=knock.display_name,
            state=knock.state.value,
            created_at=now,
        )
        await self._db.write_one(_run, statement)
        return knock

    async def latest(self, team_id: str, room_id: str, user_id: str) -> Knock | None:
        """This person's most recent knock on this room (for the rate limit)."""
        query = (
            select(KnockRow)
            .where(
                KnockRow.team_id == team_id,
                KnockRow.room_id == room_id,
                KnockRow.user_id == user_id,
            )
            .order_by(KnockRow.created_at.desc())
            .limit(1)
        )
        return await self._db.read(_one_knock, query)

    async def count_since(self, team_id: str, user_id: str, since: datetime) -> int:
        """How many knocks this person made on any room after *since*."""
        query = (
            select(func.count())
            .select_from(KnockRow)
            .where(
                KnockRow.team_id == team_id,
                KnockRow.user_id == user_id,
                KnockRow.created_at > since,
            )
        )
        return await self._db.read(_count, query)

    async def get(self, knock_id: str) -> Knock | None:
        return await self._db.read(_one_knock, select(KnockRow).where(KnockRow.id == knock_id))

    async def decide(
        self, knock_id: str, state: KnockState, *, by: str, now: datetime
    ) -> Knock | None:
        """Settle a pending knock; None when it was settled already (or does not exist)."""
        statement = (
            update(KnockRow)
            .where(KnockRow.id == knock_id, KnockRow.state == KnockState.PENDING.value)
            .values(state=state.value, decided_by=by, decided_at=now)
            .returning(KnockRow)
        )
        return await self._db.write_one(_one_knock, statement)


def _run(connection: Connection, statement: Any) -> None:
    connection.execute(statement)


def _count(connection: Connection, statement: Any) -> int:
    return int(connection.execute(statement).scalar_one() or 0)


def _one_knock(connection: Connection, statement: Any) -> Knock | None:
    row = orm(connection).execute(statement).scalar_one_or_none()
    return _knock(row) if row is not None else None
