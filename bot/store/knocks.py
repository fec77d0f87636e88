"""Knocks: requests to join a room from people who are not on its roster.

A knock is decided once: `decide` is a conditional `UPDATE … WHERE state = 'pending'
RETURNING`, so when two presenters answer at once exactly one decision stands and the other
hears who was first.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, insert, select, update

from bot.domain import Knock, KnockState
from bot.store.engine import Sessions
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

    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions

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
        async with self._sessions.write() as session:
            await session.execute(
                insert(KnockRow).values(
                    id=knock.id,
                    team_id=team_id,
                    room_id=room_id,
                    user_id=user_id,
                    display_name=knock.display_name,
                    state=knock.state.value,
                    created_at=now,
                )
            )
        return knock

    async def latest(self, team_id: str, room_id: str, user_id: str) -> Knock | None:
        """This person's most recent knock on this room (for the rate limit)."""
        async with self._sessions.read() as session:
            row = (
                await session.execute(
                    select(KnockRow)
                    .where(
                        KnockRow.team_id == team_id,
                        KnockRow.room_id == room_id,
                        KnockRow.user_id == user_id,
                    )
                    .order_by(KnockRow.created_at.desc())
                    .limit(1)
                )
            ).scalar_one_or_none()
        return _knock(row) if row is not None else None

    async def count_since(self, team_id: str, user_id: str, since: datetime) -> int:
        """How many knocks this person made on any room after *since*."""
        async with self._sessions.read() as session:
            count = await session.scalar(
                select(func.count())
                .select_from(KnockRow)
                .where(
                    KnockRow.team_id == team_id,
                    KnockRow.user_id == user_id,
                    KnockRow.created_at > since,
                )
            )
        return int(count or 0)

    async def get(self, knock_id: str) -> Knock | None:
        async with self._sessions.read() as session:
            row = await session.get(KnockRow, knock_id)
            return _knock(row) if row is not None else None

    async def decide(
        self, knock_id: str, state: KnockState, *, by: str, now: datetime
    ) -> Knock | None:
        """Settle a pending knock; None when it was settled already (or does not exist)."""
        async with self._sessions.write() as session:
            row = (
                await session.execute(
                    update(KnockRow)
                    .where(KnockRow.id == knock_id, KnockRow.state == KnockState.PENDING.value)
                    .values(state=state.value, decided_by=by, decided_at=now)
                    .returning(KnockRow)
                )
            ).scalar_one_or_none()
            return _knock(row) if row is not None else None
