"""Knocks on both backends: decided exactly once, even when two answers race."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.domain import KnockState
from bot.store import Store

NOW = datetime(2027, 1, 20, 9, 0, tzinfo=UTC)


async def test_a_knock_is_decided_once(database_url: str) -> None:
    async with (
        Store.open(database_url, migrate=True) as one,
        Store.open(database_url, migrate=True) as two,
    ):
        knock = await one.knocks.add(
            team_id="T1", room_id="99000000000000001", user_id="U1", display_name="ann", now=NOW
        )
        results = await asyncio.gather(
            one.knocks.decide(knock.id, KnockState.ADMITTED, by="U2", now=NOW),
            two.knocks.decide(knock.id, KnockState.DENIED, by="U3", now=NOW),
        )
        winners = [r for r in results if r is not None]
        assert len(winners) == 1
        stored = await two.knocks.get(knock.id)
        assert stored == winners[0]
        assert stored.state is not KnockState.PENDING
        assert stored.decided_at == NOW


async def test_latest_and_counts(store: Store) -> None:
    for minutes in (0, 5):
        await store.knocks.add(
            team_id="T1",
            room_id="99000000000000001",
            user_id="U1",
            display_name="ann",
            now=NOW + timedelta(minutes=minutes),
        )
    latest = await store.knocks.latest("T1", "99000000000000001", "U1")
    assert latest is not None
    assert latest.created_at == NOW + timedelta(minutes=5)
    assert await store.knocks.latest("T1", "99000000000000002", "U1") is None
    assert await store.knocks.count_since("T1", "U1", NOW - timedelta(seconds=1)) == 2
    assert await store.knocks.count_since("T1", "U1", NOW) == 1
