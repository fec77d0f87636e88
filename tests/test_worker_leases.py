"""The worker's leases and slots: a command leased at accept is taken afresh if it waited for a
slot, and what a busy worker cannot start stays free for others."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.domain import JournalEntry, NewJournalEntry
from bot.service.worker import JournalWorker
from bot.store.store import Store
from tests.journal_entries import new_entry

LEASE = timedelta(seconds=15)


def _new(at: datetime) -> NewJournalEntry:
    return new_entry(accepted_at=at)


async def test_a_command_that_waited_for_a_slot_renews_its_lease_before_working(
    tmp_path: Path,
) -> None:
    """The lease taken at accept runs while the command waits for a free slot; the heartbeat
    first renews a third of a lease after work starts, so work must start with at least two
    thirds of a lease left, or another replica could take the command meanwhile."""
    now = [datetime(2027, 3, 1, 12, 0, tzinfo=UTC)]
    seen: list[JournalEntry] = []
    done = asyncio.Event()

    async def process(entry: JournalEntry) -> None:
        seen.append(entry)
        done.set()

    async with Store.open(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}", migrate=True) as store:
        worker = JournalWorker(
            store.journal, process, worker_id="w1", lease=LEASE, clock=lambda: now[0]
        )
        fresh = await worker.accept(_new(now[0]))
        stale = await worker.accept(_new(now[0]))
        assert fresh is not None
        assert stale is not None
        worker.start_accepted(fresh)  # at once: the lease taken at accept is used as it is
        await asyncio.wait_for(done.wait(), 5)
        done.clear()
        now[0] += LEASE / 2  # `stale` waited half its lease for a slot
        worker.start_accepted(stale)
        await asyncio.wait_for(done.wait(), 5)
        await worker.aclose()

    assert [e.key for e in seen] == [fresh.key, stale.key]
    assert seen[0].lease_until == fresh.lease_until
    assert seen[1].lease_until == now[0] + LEASE  # taken afresh before working
    assert seen[1].attempts == 1  # still the first attempt: the lease was this worker's own


async def test_a_renewal_under_way_when_the_work_ends_is_finished_not_cancelled(
    tmp_path: Path,
) -> None:
    """The heartbeat is stopped, not cancelled: cancelling a renewal mid-query aborted its
    database connection (on PostgreSQL SQLAlchemy logged an ERROR for each, as the replica
    soak showed). Here the renewal is held open while the work ends; it must still complete."""
    lease = timedelta(seconds=0.3)  # the heartbeat renews every 0.1 s
    renewing, release, processed = asyncio.Event(), asyncio.Event(), asyncio.Event()
    renewed = asyncio.Event()

    async with Store.open(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}", migrate=True) as store:
        journal = store.journal
        renew = journal.renew

        async def held_renew(*args: object, **kwargs: object) -> object:
            renewing.set()
            await release.wait()
            result = await renew(*args, **kwargs)  # type: ignore[arg-type]
            renewed.set()
            return result

        journal.renew = held_renew  # type: ignore[method-assign]

        async def process(entry: JournalEntry) -> None:
            await renewing.wait()  # the work ends while a renewal is under way
            processed.set()

        worker = JournalWorker(journal, process, worker_id="w1", lease=lease)
        accepted = await worker.accept(_new(datetime.now(UTC)))
        assert accepted is not None
        worker.start_accepted(accepted)
        await asyncio.wait_for(processed.wait(), 5)
        release.set()
        try:
            await asyncio.wait_for(renewed.wait(), 5)  # times out when it was cancelled
        finally:
            await worker.aclose()


async def test_a_busy_worker_leaves_what_it_cannot_start_in_the_journal_for_others(
    tmp_path: Path,
) -> None:
    """A worker works on at most `max_concurrency` commands at once and claims no more than
    it can start: the rest stay unleased, so another replica can take them meanwhile."""
    now = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
    running: set[str] = set()
    peak = 0
    two_running, release = asyncio.Event(), asyncio.Event()

    async def process(entry: JournalEntry) -> None:
        nonlocal peak
        running.add(entry.key)
        peak = max(peak, len(running))
        if len(running) == 2:
            two_running.set()
        await release.wait()
        running.discard(entry.key)

    async with Store.open(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}", migrate=True) as store:
        for _ in range(5):
            assert await store.journal.accept(_new(now))
        worker = JournalWorker(
            store.journal, process, worker_id="w1", lease=LEASE, clock=lambda: now,
            max_concurrency=2,
        )  # fmt: skip
        assert await worker.run_once() == 2
        await asyncio.wait_for(two_running.wait(), 5)
        assert await worker.run_once() == 0  # busy: nothing more is claimed
        taken = await store.journal.claim("w2", lease=LEASE, now=now, limit=10)
        assert len(taken) == 3  # the other replica finds them free
        release.set()
        assert await worker.drain(5)
        await worker.aclose()

    assert peak == 2
