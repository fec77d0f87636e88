"""Group commit on SQLite: durable commits share fsyncs of the WAL, run in a thread."""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path

import pytest

from bot.store.hot_sqlite import WalSync


async def test_commits_waiting_while_an_fsync_runs_share_the_next_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wal = tmp_path / "db-wal"
    wal.write_bytes(b"frames")
    started, release = threading.Event(), threading.Event()
    synced: list[int] = []
    real_fsync = os.fsync

    def slow_fsync(fd: int) -> None:
        if os.fstat(fd).st_ino == wal.stat().st_ino:  # the WAL, not its directory
            started.set()
            assert release.wait(5)
            synced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", slow_fsync)
    sync = WalSync(str(wal))
    first = asyncio.create_task(sync.sync())
    await asyncio.to_thread(started.wait, 5)  # the first fsync is under way
    later = [asyncio.create_task(sync.sync()) for _ in range(4)]  # committed after it began
    await asyncio.sleep(0)
    assert not any(task.done() for task in [first, *later])
    release.set()
    await asyncio.wait_for(asyncio.gather(first, *later), 5)
    # One fsync for the first commit; the four that came during it could not count on it
    # (their frames may have been written after it began) and shared a second.
    assert sync.flushes == 2
    assert len(synced) == 2
    sync.close()


async def test_a_failed_fsync_fails_the_commits_waiting_on_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An ack must not be sent for a commit that may not be on disk."""
    wal = tmp_path / "db-wal"
    wal.write_bytes(b"frames")

    def broken_fsync(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    sync = WalSync(str(wal))
    with pytest.raises(OSError, match="Input/output"):
        await sync.sync()
    assert sync.flushes == 0
    monkeypatch.undo()
    await sync.sync()  # the disk is back: the next commit is made durable
    assert sync.flushes == 1
    sync.close()
