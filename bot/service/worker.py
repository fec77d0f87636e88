"""The journal worker: every accepted command ends with one change and one answer.

Each replica runs one. The replica that acks a command journals it leased to itself and starts
it at once as a tracked task (`accept`, `start_accepted`); a loop also claims whatever is
unfinished (at start-up and every few seconds), so work a crashed replica left behind is
finished by whoever is alive. A lease keeps two replicas off the same entry; `CommandRunner`
makes re-running an entry harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from bot.domain import JournalEntry, NewJournalEntry
from bot.store.journal import Journal

logger = logging.getLogger("roombot.worker")

Process = Callable[[JournalEntry], Awaitable[None]]


def default_worker_id() -> str:
    """Unique per process, readable in the journal: host, pid and a short random tag."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


MAX_CONCURRENCY = 128
"""Commands one process works on at once. Most of a command's time is spent waiting (ACS,
Slack, the database), so the bound is about memory and fairness, not CPU. A command takes
about 100 ms in the throughput benchmark but a second or more against the real services,
where 64 at once would cap a replica near 64 commands/s whatever its CPU. More at once also
makes bigger groups of the database writes that wait together (`bot.store.engine`): on
PostgreSQL with one replica, 128 was 1-12% faster than 64 in three runs of
`bench.throughput_bench`'s harness with alternating rounds, and took 4-8% less CPU per command
in two of them (2% more in the third)."""


class JournalWorker:
    """Claims journal entries and runs *process* on each, in tracked tasks."""

    def __init__(
        self,
        journal: Journal,
        process: Process,
        *,
        worker_id: str | None = None,
        lease: timedelta = timedelta(seconds=15),
        poll_interval: float = 2.0,
        batch: int = 50,
        max_concurrency: int = MAX_CONCURRENCY,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.worker_id = worker_id or default_worker_id()
        self._journal = journal
        self._process = process
        self._lease = lease
        if lease <= timedelta(0):
            raise ValueError("the lease must be positive")
        self._poll_interval = poll_interval
        self._batch = batch
        self._clock = clock or (lambda: datetime.now(UTC))
        self._tasks: set[asyncio.Task[None]] = set()
        self._running: set[str] = set()
        self._loop_task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        # Bounds the work (and database writes) in flight; what waits is safe in the journal.
        self._max_concurrency = max_concurrency
        self._slots = asyncio.Semaphore(max_concurrency)

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    @property
    def lease(self) -> timedelta:
        return self._lease

    async def accept(self, entry: NewJournalEntry) -> JournalEntry | None:
        """Journal *entry* leased to this worker (one write, no claim); None if already there.

        Start it with `start_accepted` once the request is acknowledged.
        """
        return await self._journal.accept_leased(entry, worker_id=self.worker_id, lease=self._lease)

    def start_accepted(self, entry: JournalEntry) -> None:
        """Run an entry this worker accepted (and leased) itself."""
        if entry.key not in self._running:
            self._track(self._run_accepted(entry), entry.key)

    def spawn(self, work: Awaitable[None], *, name: str) -> None:
        """Run other after-the-ack work (opening a modal) as a tracked, drained task."""

        async def run() -> None:
            try:
                await work
            except Exception:
                logger.exception("background task %s failed", name)

        task = asyncio.create_task(run(), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def start(self) -> None:
        """Start the claim loop: once now, then every *poll_interval* seconds."""
        if self._loop_task is None:
            self._loop_task = asyncio.create_task(self._loop(), name="journal-worker")

    def poke(self) -> None:
        """Claim again now rather than at the next tick (e.g. after ACS came back)."""
        self._wake.set()

    async def run_once(self) -> int:
        """Claim what is unfinished and start it; returns how many entries were started."""
        free = self._max_concurrency - len(self._running)
        if free <= 0:
            return 0  # busy: leave the rest in the journal, unleased, for whoever is free
        entries = await self._journal.claim(
            self.worker_id, lease=self._lease, limit=min(self._batch, free), now=self._clock()
        )
        started = 0
        for entry in entries:
            if entry.key not in self._running:
                self._track(self._run(entry), entry.key)
                started += 1
        return started

    async def drain(self, within: float = 10.0) -> bool:
        """Wait for the tasks in flight; True when all finished within *within* seconds."""
        if not self._tasks:
            return True
        _, pending = await asyncio.wait(set(self._tasks), timeout=within)
        return not pending

    async def aclose(self, within: float = 10.0) -> None:
        """Stop claiming, let work in flight finish (bounded), cancel the rest."""
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
            self._loop_task = None
        if not await self.drain(within):
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:
                logger.exception("journal claim failed; trying again shortly")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_interval)

    async def _run(self, entry: JournalEntry) -> None:
        async with self._slots:
            await self._process_leased(entry)

    async def _run_accepted(self, entry: JournalEntry) -> None:
        async with self._slots:
            # Waiting for a free slot may have eaten into the lease taken at accept: take it
            # afresh (or find that another worker has it) before working on the entry.
            # The heartbeat renews a third of a lease after work starts: keep at least two
            # thirds, as a fresh claim would, so the lease cannot run out before that.
            if entry.lease_until is None or entry.lease_until - self._clock() < self._lease * 2 / 3:
                renewed = await self._journal.claim_one(
                    entry.key, self.worker_id, lease=self._lease, now=self._clock()
                )
                if renewed is None:
                    return
                entry = renewed
            await self._process_leased(entry)

    async def _process_leased(self, entry: JournalEntry) -> None:
        done = asyncio.Event()
        heartbeat = asyncio.create_task(
            self._keep_lease(entry.key, done), name=f"lease-{entry.key}"
        )
        try:
            await self._process(entry)
        except Exception:
            # The runner counts and ends its own failures; this is the last resort when even
            # that failed (the database went away). Back off, as the runner would.
            logger.exception("command %s failed unexpectedly; it stays in the journal", entry.key)
            now = self._clock()
            with contextlib.suppress(Exception):
                await self._journal.release(
                    entry.key,
                    self.worker_id,
                    error="internal error",
                    now=now,
                    retry_at=now + min(timedelta(seconds=2 ** min(entry.attempts, 6)), self._lease),
                )
        finally:
            # Stopped, not cancelled: a renewal under way finishes. Cancelling it mid-query
            # aborted its database connection (SQLAlchemy logged an ERROR for each).
            done.set()
            await heartbeat

    async def _keep_lease(self, key: str, done: asyncio.Event) -> None:
        """Renew the lease while the entry is worked on (until *done*), so a short lease can
        be used.

        A short lease is what lets a surviving replica take over a dead one's work quickly;
        the heartbeat keeps a live but slow worker (ACS retrying) from losing its entry.
        """
        interval = self._lease.total_seconds() / 3
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(interval):
                    await done.wait()
            if done.is_set():
                return
            try:
                await self._journal.renew(key, self.worker_id, lease=self._lease, now=self._clock())
            except Exception:
                logger.warning("could not renew the lease of %s; another worker may take it", key)
                return

    def _track(self, work: Awaitable[None], key: str) -> None:
        # Marked before the task starts, so the claim loop never runs it a second time.
        self._running.add(key)

        async def run() -> None:
            try:
                await work
            finally:
                self._running.discard(key)

        task = asyncio.create_task(run(), name=f"command-{key}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
