"""Opening the store: URLs, SQLite settings, schema checks, ping, and aware datetimes."""

from __future__ import annotations

import ast
import asyncio
import contextlib
import secrets
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, StatementError

import bot.slack
from bot.store import SchemaNotCurrent, Store, StoreUnavailable
from bot.store.engine import POSTGRES_WRITERS, Database, open_database, prepare_url
from tests.journal_entries import new_entry
from tests.store.helpers import NOW


@pytest.mark.parametrize(
    ("url", "message"),
    [
        # every connection to :memory: would open its own empty database
        ("sqlite+aiosqlite:///:memory:", "SQLite file"),
        ("sqlite+aiosqlite://", "SQLite file"),
        ("postgresql://u@h/db", "unsupported DATABASE_URL driver 'postgresql'"),
        ("mysql+aiomysql://u@h/db", "unsupported"),
    ],
)
def test_unsupported_urls_are_refused(url: str, message: str) -> None:
    """Only async SQLite files and asyncpg are accepted, with a message saying what to use."""
    with pytest.raises(ValueError, match=message):
        prepare_url(url)


async def test_relative_sqlite_path_is_resolved_against_cwd_and_its_folder_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default `sqlite+aiosqlite:///var/roombot.db` lands in ./var, created on start."""
    monkeypatch.chdir(tmp_path)
    async with Store.open("sqlite+aiosqlite:///var/roombot.db", migrate=True) as store:
        assert store.database.url.database == str(tmp_path / "var" / "roombot.db")
        monkeypatch.chdir("/")  # a later chdir must not move the database
        await store.ping()
    assert (tmp_path / "var" / "roombot.db").is_file()


def _pragmas(connection: Connection) -> dict[str, Any]:
    names = ("journal_mode", "busy_timeout", "foreign_keys", "synchronous", "mmap_size")
    return {name: connection.execute(text(f"PRAGMA {name}")).scalar() for name in names}


async def test_sqlite_connections_use_wal_busy_timeout_and_foreign_keys(tmp_path: Path) -> None:
    """WAL lets readers run beside the writer; the busy timeout queues writers of other
    processes; commits are in the WAL (safe from a crash of the process) when they return."""
    database = open_database(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    try:
        written = await database.write(_pragmas)
        read = await database.read(_pragmas)
    finally:
        await database.dispose()
    expected = {
        "journal_mode": "wal",
        "busy_timeout": 10_000,
        "foreign_keys": 1,
        "synchronous": 2,  # FULL: the accept is on disk before the ack
        "mmap_size": 0,
    }
    assert written == read == expected


async def test_sqlite_runs_every_transaction_off_the_event_loop(tmp_path: Path) -> None:
    """Writes run on one writer thread, reads on reader threads: never on the loop's."""
    database = open_database(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")

    def thread(_connection: Connection) -> str:
        return threading.current_thread().name

    try:
        writers = {await database.write(thread) for _ in range(5)}
        readers = {await database.read(thread) for _ in range(5)}
    finally:
        await database.dispose()
    assert len(writers) == 1
    assert writers.pop().startswith("sqlite-writer")
    assert all(name.startswith("sqlite-reader") for name in readers)


async def test_open_without_migrate_refuses_an_empty_database(database_url: str) -> None:
    """A replica told not to migrate fails at start with the command that fixes it."""
    with pytest.raises(SchemaNotCurrent, match="roombot db upgrade"):
        await Store.open(database_url)


async def test_open_can_be_awaited_or_used_as_a_context_manager(database_url: str) -> None:
    """Both spellings of opening work, and a store closes as an async context manager."""
    store = await Store.open(database_url, migrate=True)
    async with store:
        await store.ping()
    async with Store.open(database_url) as again:
        await again.ping()


async def test_ping_reports_an_unreachable_database_without_raising_driver_errors() -> None:
    """`/healthz` gets a StoreUnavailable with the reason, not an asyncpg traceback."""
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    store = Store(open_database(f"postgresql+asyncpg://postgres:secret@127.0.0.1:{port}/none"))
    try:
        with pytest.raises(StoreUnavailable, match="unavailable") as raised:
            await store.ping()
        assert "secret" not in str(raised.value)
        assert "secret" not in repr(store)
    finally:
        await store.aclose()


async def test_datetimes_come_back_aware_in_utc(store: Store) -> None:
    """SQLite stores no offset; the store re-attaches UTC so no naive value escapes."""
    paris = timezone(timedelta(hours=1))
    start = datetime(2025, 3, 3, 10, 30, 15, 123456, tzinfo=paris)
    room = await store.rooms.record_created(
        room_id="99000000000000001",
        team_id="T1",
        channel_id="C1",
        creator_id="U1",
        valid_from=start,
        valid_until=start + timedelta(hours=1),
        pstn_dial_out=False,
        participants=[],
        now=NOW,
    )
    fetched = await store.rooms.get(room.room_id)
    assert fetched is not None
    for value in (fetched.valid_from, fetched.valid_until, fetched.created_at, fetched.updated_at):
        assert value.tzinfo is UTC
    assert fetched.valid_from == start
    assert fetched.valid_from.hour == 9


async def test_naive_datetimes_are_refused_on_every_write(store: Store) -> None:
    """A naive time has no single meaning; storing it would silently shift it later. Every
    write refuses one the same way on both backends (there is one write path), and nothing
    is stored."""
    naive = datetime(2025, 3, 3, 10, 0)  # naive: the point of the test
    refused = (ValueError, StatementError)  # ours before the SQL, or the column type's
    with pytest.raises(refused, match="naive datetime"):
        await store.rooms.record_created(
            room_id="99000000000000002",
            team_id="T1",
            channel_id="C1",
            creator_id="U1",
            valid_from=naive,
            valid_until=naive + timedelta(hours=1),
            pstn_dial_out=False,
            participants=[],
            now=NOW,
        )
    assert await store.rooms.get("99000000000000002") is None
    entry = new_entry(command={"action": "list"}, accepted_at=NOW)
    assert await store.journal.accept_leased(entry, worker_id="w1", lease=timedelta(minutes=1))
    with pytest.raises(refused, match="naive datetime"):
        await store.journal.pin_command(entry.key, {"action": "list"}, "w1", now=naive)
    with pytest.raises(refused, match="naive datetime"):
        await store.journal.release(entry.key, "w1", now=naive)
    kept = await store.journal.get(entry.key)
    assert kept is not None
    assert (kept.lease_owner, kept.updated_at) == ("w1", NOW)


def test_every_exported_name_resolves() -> None:
    """`bot.store.__all__` is the public API: every name in it is there."""
    import bot.store

    for name in bot.store.__all__:
        assert getattr(bot.store, name) is not None, name


def test_domain_values_import_without_sqlalchemy() -> None:
    """Domain values are plain Python: using a `RoomRecord` must not load SQLAlchemy or Alembic."""
    probe = (
        "import sys, bot.domain; "
        "print(sorted(m for m in ('sqlalchemy', 'alembic', 'bot.store') if m in sys.modules))"
    )
    result = subprocess.run(  # noqa: S603 - our own interpreter and a fixed probe
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"


def test_slack_layer_never_imports_the_store() -> None:
    """The Slack edge sees domain values and the service, never the store (issue #14)."""
    slack = Path(bot.slack.__file__).parent
    offenders = []
    for module in sorted(slack.rglob("*.py")):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module is not None:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            if any(name == "bot.store" or name.startswith("bot.store.") for name in names):
                offenders.append(f"{module.name}:{node.lineno}")
    assert offenders == []


def _numbers_table(connection: Connection) -> None:
    connection.exec_driver_sql("CREATE TABLE numbers (n INTEGER PRIMARY KEY)")


def _insert_number(connection: Connection, n: int) -> int:
    connection.execute(text("INSERT INTO numbers (n) VALUES (:n)"), {"n": n})
    return n


def _numbers(connection: Connection) -> list[int]:
    return [row[0] for row in connection.exec_driver_sql("SELECT n FROM numbers ORDER BY n")]


async def test_sqlite_writes_waiting_together_commit_together_and_fail_alone(
    tmp_path: Path,
) -> None:
    """Writes queued while the writer is busy share one transaction (one fsync); when one
    fails, each runs again alone: the one that fails gets its own error, the others are kept."""
    database = open_database(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    try:
        await database.write(_numbers_table)
        started, gate = threading.Event(), threading.Event()

        def hold(_connection: Connection) -> None:
            started.set()
            gate.wait(10)

        busy = asyncio.ensure_future(database.write(hold))
        queued = [asyncio.ensure_future(database.write(_insert_number, n)) for n in (1, 2, 1, 3)]
        await asyncio.to_thread(started.wait, 10)  # the four are queued behind *hold* by now
        gate.set()  # so they run as one group
        await busy
        outcomes = await asyncio.gather(*queued, return_exceptions=True)
        assert [outcomes[0], outcomes[1], outcomes[3]] == [1, 2, 3]
        assert isinstance(outcomes[2], IntegrityError)
        assert await database.read(_numbers) == [1, 2, 3]
    finally:
        await database.dispose()


def _insert_numbers(connection: Connection, *numbers: int) -> None:
    for n in numbers:
        _insert_number(connection, n)


async def test_a_write_is_kept_whole_or_not_at_all(database_url: str) -> None:
    """A write is one transaction on either backend: when its second insert fails, its first
    is not kept either."""
    database = open_database(database_url)
    try:
        await database.write(_numbers_table)
        await database.write(_insert_numbers, 1, 2)
        with pytest.raises(IntegrityError):
            await database.write(_insert_numbers, 3, 1)
        assert await database.read(_numbers) == [1, 2]
    finally:
        await database.dispose()


def _transaction_id(connection: Connection) -> int:
    return int(connection.exec_driver_sql("SELECT txid_current()").scalar_one())


def _insert_number_telling_transaction(connection: Connection, n: int) -> tuple[int, int]:
    return _insert_number(connection, n), _transaction_id(connection)


def _wait_for_lock(connection: Connection, key: int) -> None:
    connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


def _lock_waiters(connection: Connection, key: int) -> int:
    waiting = connection.execute(
        text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = 0 "
            "AND objid = :k AND NOT granted"
        ),
        {"k": key},
    )
    return int(waiting.scalar_one())


@contextlib.asynccontextmanager
async def _postgres_writers_busy(database: Database, admin: Database) -> AsyncIterator[None]:
    """Every writer of *database* waits for a lock *admin* holds until the block ends: writes
    made inside the block queue up, and run once it is over."""
    key = secrets.randbelow(2**31)
    async with admin.async_engine.connect() as holder:
        await holder.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
        busy = []
        for waiting in range(1, POSTGRES_WRITERS + 1):  # one at a time, or they would group
            busy.append(asyncio.ensure_future(database.write(_wait_for_lock, key)))
            deadline = time.monotonic() + 10
            while await admin.read(_lock_waiters, key) < waiting:
                assert time.monotonic() < deadline, "a writer never started"
        yield
        # The writes made in the block start queueing before this unlock reaches the server
        # (they were ready before it, and the loop runs ready tasks in order).
        await holder.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
    await asyncio.gather(*busy)


@pytest.fixture(name="pair")
async def _pair(database_url: str) -> AsyncIterator[tuple[Database, Database]]:
    """The database under test, and a second handle on it that holds its writers up."""
    database, admin = open_database(database_url), open_database(database_url)
    try:
        yield database, admin
    finally:
        await admin.dispose()
        await database.dispose()


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_postgres_writes_waiting_together_share_one_transaction(
    pair: tuple[Database, Database],
) -> None:
    """While every writer is busy, the writes that queue up run in one transaction (BEGIN
    and COMMIT once for all), each with its own result."""
    database, admin = pair
    await database.write(_numbers_table)
    async with _postgres_writers_busy(database, admin):
        queued = [
            asyncio.ensure_future(database.write(_insert_number_telling_transaction, n))
            for n in (1, 2, 3)
        ]
    outcomes = await asyncio.gather(*queued)
    assert [n for n, _ in outcomes] == [1, 2, 3]
    assert len({transaction for _, transaction in outcomes}) == 1
    lone = await database.write(_insert_number_telling_transaction, 4)
    assert lone[1] != outcomes[0][1]
    assert await database.read(_numbers) == [1, 2, 3, 4]


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_postgres_a_write_that_fails_in_a_group_fails_alone(
    pair: tuple[Database, Database],
) -> None:
    """When one write of a group fails, the group is rolled back and each write runs again
    alone, in order: the failing one gets its own error, the others are kept."""
    database, admin = pair
    await database.write(_numbers_table)
    async with _postgres_writers_busy(database, admin):
        queued = [
            asyncio.ensure_future(database.write(_insert_number_telling_transaction, n))
            for n in (1, 2, 1, 3)
        ]
    outcomes = await asyncio.gather(*queued, return_exceptions=True)
    kept = [outcome for outcome in outcomes if isinstance(outcome, tuple)]
    assert [n for n, _ in kept] == [1, 2, 3]
    assert isinstance(outcomes[2], IntegrityError)
    assert len({transaction for _, transaction in kept}) == 3  # each alone, after all
    assert await database.read(_numbers) == [1, 2, 3]


def _deferred_numbers_table(connection: Connection) -> None:
    connection.exec_driver_sql(
        "CREATE TABLE numbers (n INTEGER, UNIQUE (n) DEFERRABLE INITIALLY DEFERRED)"
    )


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_postgres_a_group_whose_commit_fails_fails_whole(
    pair: tuple[Database, Database],
) -> None:
    """A COMMIT that fails (here a deferred unique check) is the error of every write in the
    group; none is run again alone, as the server may have committed before a connection
    failed."""
    database, admin = pair
    await database.write(_deferred_numbers_table)
    async with _postgres_writers_busy(database, admin):
        queued = [asyncio.ensure_future(database.write(_insert_number, n)) for n in (5, 5)]
    outcomes = await asyncio.gather(*queued, return_exceptions=True)
    assert all(isinstance(outcome, IntegrityError) for outcome in outcomes), outcomes
    assert await database.read(_numbers) == []


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_postgres_a_write_cancelled_while_it_waits_never_runs(
    pair: tuple[Database, Database],
) -> None:
    """A caller that gives up on a write still waiting for a writer (a timeout, shutdown)
    leaves nothing behind; the writes around it run."""
    database, admin = pair
    await database.write(_numbers_table)
    async with _postgres_writers_busy(database, admin):
        queued = {n: asyncio.ensure_future(database.write(_insert_number, n)) for n in (1, 2, 3)}
        await asyncio.wait(queued.values(), timeout=0)  # each has queued its write
        queued[2].cancel()
    assert await asyncio.gather(queued[1], queued[3]) == [1, 3]
    assert queued[2].cancelled()
    assert await database.read(_numbers) == [1, 3]


def _backend_pid(connection: Connection) -> int:
    return int(connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())


def _terminate(connection: Connection, application_name: str) -> int:
    # In the select list, so that only the rows the WHERE kept are terminated (a condition's
    # terms may be evaluated in any order, for every row).
    ended = connection.execute(
        text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = :n"),
        {"n": application_name},
    )
    return sum(1 for (done,) in ended if done)


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_postgres_connections_ended_by_the_server_are_replaced(database_url: str) -> None:
    """A restart or a failover ends every pooled connection. The call that meets a dead one
    fails (its write leaves nothing), and the whole pool is replaced with it: the calls
    after it, writes and reads alike, run on new connections."""
    name = f"roombot_test_{uuid.uuid4().hex[:12]}"  # names this test's connections only
    database = open_database(make_url(database_url).update_query_dict({"application_name": name}))
    admin = open_database(database_url)
    try:
        await database.write(_numbers_table)
        # At once, so the pool holds several connections, not the one a lone caller reuses.
        before = set(await asyncio.gather(*(database.read(_backend_pid) for _ in range(4))))
        assert await admin.read(_terminate, name) == len(before)

        async def attempt(n: int) -> DBAPIError | None:
            try:
                await database.write(_insert_numbers, n, n + 10)
            except DBAPIError as exc:
                return exc
            return None

        errors = {n: await attempt(n) for n in (1, 2, 3)}
        assert (errors[2], errors[3]) == (None, None)  # only the first call may fail
        assert errors[1] is None or errors[1].connection_invalidated
        kept = [n for n, error in errors.items() if error is None]
        assert await database.read(_numbers) == sorted(kept + [n + 10 for n in kept])
        assert await database.read(_backend_pid) not in before
    finally:
        await admin.dispose()
        await database.dispose()
