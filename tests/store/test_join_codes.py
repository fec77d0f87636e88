"""Join codes on both backends: hashed at rest, redeemed once, atomically, within their life."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.store import Store
from bot.store.join_codes import JoinGrant, RedeemFailure, hash_code
from bot.store.tables import JoinCodeRow
from tests.database import fetch

NOW = datetime(2027, 1, 20, 9, 0, tzinfo=UTC)
CODE = "k3Yq2c0dE_exampleexampleexampleexample"


def grant(*, user: str = "U1", expires: timedelta = timedelta(minutes=5)) -> JoinGrant:
    return JoinGrant(
        team_id="T1",
        user_id=user,
        room_id="99000000000000001",
        display_name="Ann",
        expires_at=NOW + expires,
    )


async def test_a_code_is_stored_only_as_its_hash(store: Store) -> None:
    await store.join_codes.add(CODE, grant(), now=NOW)
    rows = await fetch(store, select(JoinCodeRow.code_hash))
    assert [row[0] for row in rows] == [hash_code(CODE)]
    assert CODE not in repr(rows)


async def test_a_code_works_once(store: Store) -> None:
    await store.join_codes.add(CODE, grant(), now=NOW)
    first = await store.join_codes.redeem(CODE, now=NOW + timedelta(seconds=30))
    assert first == grant()
    assert await store.join_codes.redeem(CODE, now=NOW + timedelta(seconds=31)) == (
        RedeemFailure.USED
    )


async def test_expired_and_unknown_codes_are_told_apart(store: Store) -> None:
    await store.join_codes.add(CODE, grant(), now=NOW)
    assert await store.join_codes.redeem(CODE, now=NOW + timedelta(minutes=5)) == (
        RedeemFailure.EXPIRED
    )
    assert await store.join_codes.redeem("no-such-code", now=NOW) == RedeemFailure.UNKNOWN


async def test_peek_consumes_nothing(store: Store) -> None:
    await store.join_codes.add(CODE, grant(), now=NOW)
    assert await store.join_codes.peek(CODE, now=NOW) == grant()
    assert await store.join_codes.peek(CODE, now=NOW) == grant()
    assert await store.join_codes.redeem(CODE, now=NOW) == grant()
    assert await store.join_codes.peek(CODE, now=NOW) == RedeemFailure.USED


async def test_of_many_redeeming_at_once_exactly_one_wins(database_url: str) -> None:
    """Two stores (two replicas' connection pools) on one database race for one code."""
    async with (
        Store.open(database_url, migrate=True) as one,
        Store.open(database_url, migrate=True) as two,
    ):
        await one.join_codes.add(CODE, grant(), now=NOW)
        results = await asyncio.gather(
            *(store.join_codes.redeem(CODE, now=NOW) for store in (one, two, one, two))
        )
    wins = [r for r in results if isinstance(r, JoinGrant)]
    assert len(wins) == 1
    assert sorted(r for r in results if not isinstance(r, JoinGrant)) == [RedeemFailure.USED] * 3


async def test_minted_since_counts_one_persons_recent_codes(store: Store) -> None:
    for index in range(3):
        await store.join_codes.add(f"{CODE}{index}", grant(), now=NOW + timedelta(minutes=index))
    await store.join_codes.add(f"{CODE}x", grant(user="U2"), now=NOW)
    assert await store.join_codes.minted_since("T1", "U1", NOW) == 2
    assert await store.join_codes.minted_since("T1", "U1", NOW - timedelta(seconds=1)) == 3
    assert await store.join_codes.minted_since("T2", "U1", NOW - timedelta(seconds=1)) == 0
