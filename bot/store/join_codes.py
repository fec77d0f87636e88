"""Join codes: the one-use secrets behind personal join links, kept only as SHA-256 hashes.

A code is redeemed with one conditional `UPDATE … RETURNING` (unused and unexpired, then
marked used), so of two replicas redeeming the same code at once exactly one gets the row:
the database decides, on SQLite and PostgreSQL alike. Only when that update matches nothing is
the row read again, to say why (used, expired or unknown).

On SQLite both writes take the hot path (`Sessions.hot_write`: plain SQL, `synchronous=NORMAL`,
no fsync of its own): through SQLAlchemy's session each cost 3-150 ms on a busy disk, on the
path between a click and its link and between the page and its call. What a power cut could
lose: a code just minted (its link then says "unknown"; press Join again) or a code's use (its
owner could use it once more within its five minutes). Nothing else is at stake.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, insert, select, update

from bot.domain import JoinGrant, RedeemFailure
from bot.store import hot_sqlite
from bot.store.engine import Sessions
from bot.store.tables import JoinCodeRow

KEEP_SPENT = timedelta(days=1)
"""How long a used or expired code's row is kept (to tell "used" from "unknown"), then pruned."""


def hash_code(code: str) -> str:
    """The stored form of a code: hex SHA-256. Codes are 128+ random bits, so no salt is needed."""
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


class JoinCodes:
    """Codes by hash; every method is one transaction."""

    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions

    async def add(self, code: str, grant: JoinGrant, *, now: datetime) -> None:
        """Store *code* (hashed) for *grant*, pruning this person's long-spent codes."""
        if self._sessions.hot is not None:
            params = {
                "hash": hash_code(code),
                "team": grant.team_id,
                "user": grant.user_id,
                "room": grant.room_id,
                "name": grant.display_name[:255],
                "now": hot_sqlite.stored(now),
                "expires": hot_sqlite.stored(grant.expires_at),
                "spent": hot_sqlite.stored(now - KEEP_SPENT),
            }
            async with self._sessions.hot_write() as connection:
                connection.execute(_PRUNE, params)
                connection.execute(_INSERT, params)
            return
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
        if self._sessions.hot is not None:
            params = {"hash": code_hash, "now": hot_sqlite.stored(now)}
            async with self._sessions.hot_write() as connection:
                found = connection.execute(_REDEEM, params).fetchone()
            if found is not None:
                return JoinGrant(
                    team_id=found[0],
                    user_id=found[1],
                    room_id=found[2],
                    display_name=found[3],
                    expires_at=datetime.fromisoformat(found[4]).replace(tzinfo=UTC),
                )
            return await self._why_not(code_hash)
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
        return await self._why_not(code_hash)

    async def _why_not(self, code_hash: str) -> RedeemFailure:
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


_PRUNE = "DELETE FROM join_codes WHERE team_id = :team AND user_id = :user AND expires_at < :spent"
_INSERT = (
    "INSERT INTO join_codes (code_hash, team_id, user_id, room_id, display_name, created_at, "
    "expires_at, used_at) VALUES (:hash, :team, :user, :room, :name, :now, :expires, NULL)"
)
_REDEEM = (
    "UPDATE join_codes SET used_at = :now "
    "WHERE code_hash = :hash AND used_at IS NULL AND expires_at > :now "
    "RETURNING team_id, user_id, room_id, display_name, expires_at"
)
