"""Join codes: the one-use secrets behind personal join links, kept only as SHA-256 hashes.

A code is redeemed with one conditional `UPDATE … RETURNING` (unused and unexpired, then
marked used), so of two replicas redeeming the same code at once exactly one gets the row:
the database decides, on SQLite and PostgreSQL alike. Only when that update matches nothing is
the row read again, to say why (used, expired or unknown).
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, insert, select, update

from bot.store.engine import Sessions
from bot.store.tables import JoinCodeRow

KEEP_SPENT = timedelta(days=1)
"""How long a used or expired code's row is kept (to tell "used" from "unknown"), then pruned."""


def hash_code(code: str) -> str:
    """The stored form of a code: hex SHA-256. Codes are 128+ random bits, so no salt is needed."""
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class JoinGrant:
    """What a code was minted for: this person, in this workspace, into this room."""

    team_id: str
    user_id: str
    room_id: str
    display_name: str
    expires_at: datetime


class RedeemFailure(enum.StrEnum):
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"


class JoinCodes:
    """Codes by hash; every method is one transaction."""

    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions

    async def add(self, code: str, grant: JoinGrant, *, now: datetime) -> None:
        """Store *code* (hashed) for *grant*, pruning this person's long-spent codes."""
        async with self._sessions.write() as session:
            await session.execute(
                delete(JoinCodeRow).where(
                    JoinCodeRow.team_id == grant.team_id,
                    JoinCodeRow.user_id == grant.user_id,
                    JoinCodeRow.expires_at < now - KEEP_SPENT,
                )
            )
            await session.execute(
                insert(JoinCodeRow).values(
                    code_hash=hash_code(code),
                    team_id=grant.team_id,
                    user_id=grant.user_id,
                    room_id=grant.room_id,
                    display_name=grant.display_name[:255],
                    created_at=now,
                    expires_at=grant.expires_at,
                    used_at=None,
                )
            )

    async def minted_since(self, team_id: str, user_id: str, since: datetime) -> int:
        """How many codes this person was given after *since* (the rate limit's count)."""
        async with self._sessions.read() as session:
            count = await session.scalar(
                select(func.count())
                .select_from(JoinCodeRow)
                .where(
                    JoinCodeRow.team_id == team_id,
                    JoinCodeRow.user_id == user_id,
                    JoinCodeRow.created_at > since,
                )
            )
        return int(count or 0)

    async def redeem(self, code: str, *, now: datetime) -> JoinGrant | RedeemFailure:
        """Use *code* up: its grant the first time within its lifetime, else why not."""
        code_hash = hash_code(code)
        async with self._sessions.write() as session:
            row = (
                await session.execute(
                    update(JoinCodeRow)
                    .where(
                        JoinCodeRow.code_hash == code_hash,
                        JoinCodeRow.used_at.is_(None),
                        JoinCodeRow.expires_at > now,
                    )
                    .values(used_at=now)
                    .returning(
                        JoinCodeRow.team_id,
                        JoinCodeRow.user_id,
                        JoinCodeRow.room_id,
                        JoinCodeRow.display_name,
                        JoinCodeRow.expires_at,
                    )
                )
            ).first()
        if row is not None:
            return JoinGrant(
                team_id=row.team_id,
                user_id=row.user_id,
                room_id=row.room_id,
                display_name=row.display_name,
                expires_at=row.expires_at,
            )
        async with self._sessions.read() as session:
            spent = (
                await session.execute(
                    select(JoinCodeRow.used_at, JoinCodeRow.expires_at).where(
                        JoinCodeRow.code_hash == code_hash
                    )
                )
            ).first()
        if spent is None:
            return RedeemFailure.UNKNOWN
        if spent.used_at is not None:
            return RedeemFailure.USED
        return RedeemFailure.EXPIRED

    async def peek(self, code: str, *, now: datetime) -> JoinGrant | RedeemFailure:
        """What redeeming *code* would give, consuming nothing (for the page's GET)."""
        async with self._sessions.read() as session:
            row = (
                await session.execute(
                    select(JoinCodeRow).where(JoinCodeRow.code_hash == hash_code(code))
                )
            ).scalar_one_or_none()
        if row is None:
            return RedeemFailure.UNKNOWN
        if row.used_at is not None:
            return RedeemFailure.USED
        if row.expires_at <= now:
            return RedeemFailure.EXPIRED
        return JoinGrant(
            team_id=row.team_id,
            user_id=row.user_id,
            room_id=row.room_id,
            display_name=row.display_name,
            expires_at=row.expires_at,
        )
