"""Writers take turns: acks go first on SQLite, and a worker may re-take its own lease."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain import NewJournalEntry, new_journal_key
from bot.store.engine import WriterTurn
from bot.store.store import Store

NOW = datetime(2027, 1, 13, 15, 10, tzinfo=UTC)
LEASE = timedelta(seconds=30)


async def test_urgent_writers_go_before_waiting_ones() -> None:
    turn = WriterTurn()
    order: list[str] = []
    await turn.acquire()

    async def writer(name: str, *, urgent: bool) -> None:
        await turn.acquire(urgent=urgent)
        order.append(name)
        turn.release()

    waiting = [
        asyncio.create_task(writer("worker-1", urgent=False)),
        asyncio.create_task(writer("worker-2", urgent=False)),
        asyncio.create_task(writer("ack", urgent=True)),
    ]
    await asyncio.sleep(0)  # let all three queue up behind the holder
    turn.release()
    await asyncio.gather(*waiting)
    assert order == ["ack", "worker-1", "worker-2"]


async def test_a_cancelled_waiter_does_not_keep_the_turn() -> None:
    turn = WriterTurn()
    await turn.acquire()
    cancelled = asyncio.create_task(turn.acquire())
    await asyncio.sleep(0)
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    turn.release()
    await asyncio.wait_for(turn.acquire(), 1)  # free again: nobody holds it
    turn.release()


async def test_a_waiter_cancelled_just_before_a_release_stays_cancelled() -> None:
    """Cancelled, then skipped by a release before its task ran: the waiter is already out
    of the queue, and its task must still end in CancelledError (not a ValueError)."""
    turn = WriterTurn()
    await turn.acquire()
    first = asyncio.create_task(turn.acquire())
    await asyncio.sleep(0)
    first.cancel()  # its waiter is cancelled now; the task runs later
    turn.release()  # skips the cancelled waiter: the turn is free
    with pytest.raises(asyncio.CancelledError):
        await first
    await asyncio.wait_for(turn.acquire(), 1)
    turn.release()


def _entry() -> NewJournalEntry:
    return NewJournalEntry(
        key=new_journal_key(),
        command={"kind": "text", "text": "create tomorrow"},
        team_id="T1",
        user_id="U1",
        channel_id="C1",
        response_url=None,
        accepted_at=NOW,
    )


async def test_claim_one_takes_over_a_lease_its_own_worker_holds(store: Store) -> None:
    entry = _entry()
    await store.journal.accept(entry)
    (claimed,) = await store.journal.claim("worker-a", lease=LEASE, now=NOW)
    assert claimed.key == entry.key
    again = await store.journal.claim_one(entry.key, "worker-a", lease=LEASE, now=NOW)
    assert again is not None
    assert again.lease_owner == "worker-a"
    other = await store.journal.claim_one(entry.key, "worker-b", lease=LEASE, now=NOW)
    assert other is None  # another worker still waits for the lease to run out
