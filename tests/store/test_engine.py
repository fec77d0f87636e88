"""Opening the store: URLs, SQLite settings, schema checks, ping, and aware datetimes."""

from __future__ import annotations

import ast
import asyncio
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import StatementError

import bot.slack
from bot.domain import NewJournalEntry, new_journal_key
from bot.store import SchemaNotCurrent, Store, StoreUnavailable
from bot.store.engine import create_engine, prepare_url
from tests.store.helpers import NOW


@pytest.mark.parametrize(
    ("url", "message"),
    [
        # every connection to :memory: would open its own empty database
        ("sqlite+aiosqlite:///:memory:", "SQLite file"),
        ("sqlite+aiosqlite://", "SQLite file"),
        # a synchronous driver would block the event loop
        ("sqlite:///var/roombot.db", "unsupported DATABASE_URL driver 'sqlite'"),
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
        assert store.engine.url.database == str(tmp_path / "var" / "roombot.db")
        monkeypatch.chdir("/")  # a later chdir must not move the database
        await store.ping()
    assert (tmp_path / "var" / "roombot.db").is_file()


async def test_sqlite_connections_use_wal_busy_timeout_and_foreign_keys(tmp_path: Path) -> None:
    """WAL lets readers run beside the writer; the busy timeout queues concurrent writers."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    try:
        async with engine.connect() as connection:
            journal_mode = (await connection.execute(text("PRAGMA journal_mode"))).scalar()
            busy_timeout = (await connection.execute(text("PRAGMA busy_timeout"))).scalar()
            foreign_keys = (await connection.execute(text("PRAGMA foreign_keys"))).scalar()
    finally:
        await engine.dispose()
    assert (journal_mode, busy_timeout, foreign_keys) == ("wal", 10_000, 1)


async def test_wal_checkpoints_happen_off_the_event_loop(tmp_path: Path) -> None:
    """No connection of the store checkpoints on commit (that ran on the loop's thread and
    stalled acks); the store's checkpointer copies the WAL back from a thread."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"
    async with Store.open(url, migrate=True) as store:
        async with store.engine.connect() as connection:
            pool_setting = (await connection.execute(text("PRAGMA wal_autocheckpoint"))).scalar()
        hot = store.journal._sessions.hot
        assert hot is not None
        hot_setting = hot._opened().execute("PRAGMA wal_autocheckpoint").fetchone()[0]
        assert (pool_setting, hot_setting) == (0, 0)
        for _ in range(30):
            assert await store.journal.accept(_new_entry())
        checkpointer = store._checkpointer
        assert checkpointer is not None
        await asyncio.to_thread(checkpointer.checkpoint)
        busy, frames, copied = hot._opened().execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        assert (busy, frames) == (0, copied)  # everything in the WAL is in the database file


def _new_entry() -> NewJournalEntry:
    return NewJournalEntry(
        key=new_journal_key(),
        command={"kind": "text", "text": "create tomorrow"},
        team_id="T1",
        user_id="U1",
        channel_id="C1",
        response_url=None,
        accepted_at=datetime.now(UTC),
    )


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
    store = Store(create_engine(f"postgresql+asyncpg://postgres:secret@127.0.0.1:{port}/none"))
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


async def test_naive_datetimes_are_refused(store: Store) -> None:
    """A naive time has no single meaning; storing it would silently shift it later."""
    with pytest.raises(StatementError, match="naive datetime"):
        await store.rooms.record_created(
            room_id="99000000000000002",
            team_id="T1",
            channel_id="C1",
            creator_id="U1",
            valid_from=datetime(2025, 3, 3, 10, 0),  # naive: the point of the test
            valid_until=datetime(2025, 3, 3, 11, 0),
            pstn_dial_out=False,
            participants=[],
            now=NOW,
        )


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
