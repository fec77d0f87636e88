"""Join codes: the one-use secrets behind personal join links, kept only as SHA-256 hashes.

A code is redeemed with one conditional `UPDATE … RETURNING` (unused and unexpired, then
marked used), so of two replicas redeeming the same code at once exactly one gets the row:
the database decides, on SQLite and PostgreSQL alike. Only when that update matches nothing is
the row read again, to say why (used, expired or unknown).
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, delete, func, insert, select, update
from sqlalchemy.engine import Connection

from bot.domain import JoinGrant, RedeemFailure
from bot.store.engine import Database
from bot.store.tables import JoinCodeRow

KEEP_SPENT = timedelta(days=1)
"""How long a used or expired code's row is kept (to tell "used" from "unknown"), then pruned."""

_CODES = cast(Table, JoinCodeRow.__table__)


def hash_code(code: str) -> str:
    """The stored form of a code: hex SHA-256. Codes are 128+ random bits, so no salt is needed."""
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


def _grant(row: Any) -> JoinGrant:
    return JoinGrant(
        team_id=row.team_id,
        user_id=row.user_id,
        room_id=row.room_id,
        display_name=row.display_name,
        expires_at=row.expires_at,
    )


class JoinCodes:
    """Codes by hash; every method is one transaction."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def add(self, code: str, grant: JoinGrant, *, now: datetime) -> None:
        """Store *code* (hashed) for *grant*, pruning this person's long-spent codes."""
        await self._db.write(_add, hash_code(code), grant, now=now)

    async def minted_since(self, team_id: str, user_id: str, since: datetime) -> int:
        """How many codes this person was given after *since* (the rate limit's count)."""
        query = (
            select(func.count())
            .select_from(_CODES)
            .where(
                _CODES.c.team_id == team_id,
                _CODES.c.user_id == user_id,
                _CODES.c.created_at > since,
            )
        )
        return await self._db.read(_count, query)

    async def redeem(self, code: str, *, now: datetime) -> JoinGrant | RedeemFailure:
        """Use *code* up: its grant the first time within its lifetime, else why not."""
        code_hash = hash_code(code)
        statement = (
            update(_CODES)
            .where(
                _CODES.c.code_hash == code_hash,
                _CODES.c.used_at.is_(None),
                _CODES.c.expires_at > now,
            )
            .values(used_at=now)
            .returning(*_CODES.c)
        )
        found = await self._db.write_one(_first, statement)
        if found is not None:
            return _grant(found)
        spent = await self._db.read(
            _first, select(*_CODES.c).where(_CODES.c.code_hash == code_hash)
        )
        return _failure(spent, now) or RedeemFailure.EXPIRED

    async def peek(self, code: str, *, now: datetime) -> JoinGrant | RedeemFailure:
        """What redeeming *code* would give, consuming nothing (for the page's GET)."""
        query = select(*_CODES.c).where(_CODES.c.code_hash == hash_code(code))
        row = await self._db.read(_first, query)
        return _failure(row, now) or _grant(row)


def _failure(row: Any, now: datetime) -> RedeemFailure | None:
    if row is None:
        return RedeemFailure.UNKNOWN
    if row.used_at is not None:
        return RedeemFailure.USED
    if row.expires_at <= now:
        return RedeemFailure.EXPIRED
    return None


def _first(connection: Connection, statement: Any) -> Any:
    return connection.execute(statement).first()


def _count(connection: Connection, statement: Any) -> int:
    return int(connection.execute(statement).scalar_one() or 0)


def _add(connection: Connection, code_hash: str, grant: JoinGrant, *, now: datetime) -> None:
    connection.execute(
        delete(_CODES).where(
            _CODES.c.team_id == grant.team_id,
            _CODES.c.user_id == grant.user_id,
            _CODES.c.expires_at < now - KEEP_SPENT,
        )
    )
    connection.execute(
        insert(_CODES).values(
            code_hash=code_hash,
            team_id=grant.team_id,
            user_id=grant.user_id,
            room_id=grant.room_id,
            display_name=grant.display_name[:255],
            created_at=now,
            expires_at=grant.expires_at,
            used_at=None,
        )
    )
