"""Migrations: from an empty database, from the previous revision with data kept, and the CLI."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, Table, inspect, text
from sqlalchemy.engine import Connection, make_url

from bot.cli import main
from bot.domain import IdentitySource, ParticipantRecord, Role
from bot.store import SchemaNotCurrent, Store
from bot.store import migrate as migrations
from bot.store.tables import Base
from tests.journal_entries import new_entry
from tests.store.helpers import NOW

FIRST = "0001"


_run = migrations.run_in_migration


def _insert(connection: Connection, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
    # Reflected, not imported from bot.store.tables: the table has the old revision's shape.
    reflected = Table(table, MetaData(), autoload_with=connection)
    connection.execute(reflected.insert(), list(rows))


def _schema_differences(connection: Connection) -> list[Any]:
    return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


def test_revisions_are_a_single_line() -> None:
    """At least two revisions (so upgrades are tested), one head, first one is 0001."""
    revisions = migrations.revisions()
    assert revisions[0] == FIRST
    assert len(revisions) >= 2
    assert revisions[-1] == migrations.head_revision()


async def test_upgrade_from_empty_creates_the_schema_the_code_maps(database_url: str) -> None:
    """Migrations and `tables.py` agree exactly (columns, types, indexes, constraints)."""
    async with Store.open(database_url, migrate=True):
        pass
    status = await _run(database_url, migrations.schema_status)
    assert (status.state, status.current) == (
        migrations.SchemaState.CURRENT,
        migrations.head_revision(),
    )
    assert await _run(database_url, _schema_differences) == []


async def test_upgrade_from_the_previous_revision_keeps_the_data(database_url: str) -> None:
    """A database from the first release is upgraded in place; nothing in it is lost."""
    await _run(database_url, migrations.upgrade, FIRST)
    assert "journal" not in await _run(database_url, _tables)

    def seed(connection: Connection) -> None:
        _insert(
            connection,
            "identities",
            [
                {
                    "team_id": "T1",
                    "slack_user_id": "U1",
                    "acs_raw_id": "8:acs:r_1",
                    "source": "imported",
                    "created_at": NOW,
                }
            ],
        )
        _insert(
            connection,
            "rooms",
            [
                {
                    "id": "99000000000000001",
                    "team_id": "T1",
                    "channel_id": "C1",
                    "creator_id": "U1",
                    "valid_from": NOW,
                    "valid_until": NOW + timedelta(days=1),
                    "pstn_dial_out": True,
                    "state": "active",
                    "created_at": NOW,
                    "updated_at": NOW,
                }
            ],
        )
        _insert(
            connection,
            "room_participants",
            [
                {
                    "room_id": "99000000000000001",
                    "slack_user_id": "U1",
                    "acs_raw_id": "8:acs:r_1",
                    "role": "Presenter",
                }
            ],
        )

    await _run(database_url, seed)

    with pytest.raises(SchemaNotCurrent, match=f"at {FIRST}.*roombot db upgrade"):
        await Store.open(database_url)

    async with Store.open(database_url, migrate=True) as store:
        mapping = await store.identities.lookup("T1", "U1")
        assert mapping is not None
        assert (mapping.acs_raw_id, mapping.source, mapping.created_at) == (
            "8:acs:r_1",
            IdentitySource.IMPORTED,
            NOW,
        )
        room = await store.rooms.get("99000000000000001")
        assert room is not None
        assert room.message is None  # the column is new; old rooms have no posted message
        assert room.pstn_dial_out is True
        assert room.valid_until == NOW + timedelta(days=1)
        assert room.participants == (ParticipantRecord("U1", "8:acs:r_1", Role.PRESENTER),)
        # ... and the new table works.
        entry = new_entry(command={"text": "create"}, accepted_at=NOW)
        assert await store.journal.accept(entry)
    assert await _run(database_url, _schema_differences) == []


async def test_downgrade_to_the_first_revision_and_back_keeps_rooms(database_url: str) -> None:
    """Downgrades exist for development; a round trip must not lose the registry."""
    async with Store.open(database_url, migrate=True) as store:
        await store.rooms.record_created(
            room_id="99000000000000002",
            team_id="T1",
            channel_id="C1",
            creator_id="U1",
            valid_from=NOW,
            valid_until=NOW + timedelta(hours=1),
            pstn_dial_out=False,
            participants=[ParticipantRecord("U2", "8:acs:r_2", Role.ATTENDEE)],
            now=NOW,
        )
    status = await _run(database_url, migrations.downgrade, FIRST)
    assert status.current == FIRST
    async with Store.open(database_url, migrate=True) as store:
        room = await store.rooms.get("99000000000000002")
        assert room is not None
        assert room.participants == (ParticipantRecord("U2", "8:acs:r_2", Role.ATTENDEE),)


async def test_a_schema_from_newer_code_is_used_as_is(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """During a rolling deploy old replicas keep running on the newer (additive) schema."""
    async with Store.open(database_url, migrate=True):
        pass

    def stamp_future(connection: Connection) -> None:
        connection.execute(text("UPDATE alembic_version SET version_num = 'f00d'"))

    await _run(database_url, stamp_future)
    with caplog.at_level(logging.WARNING, logger="roombot.store"):
        async with Store.open(database_url, migrate=True) as store:
            await store.ping()
    assert "newer than this code" in caplog.text
    status = await _run(database_url, migrations.schema_status)
    assert (status.state, status.current) == (migrations.SchemaState.UNKNOWN, "f00d")


async def test_replicas_starting_together_migrate_once(database_url: str) -> None:
    """Two replicas opening an empty database at once both start; the schema is built once."""
    stores = await asyncio.gather(*(Store.open(database_url, migrate=True) for _ in range(3)))
    for store in stores:
        await store.ping()
        await store.aclose()
    assert await _run(database_url, _schema_differences) == []


async def test_db_cli_upgrades_and_reports(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`roombot db upgrade` builds the schema; `roombot db current` says where it stands, and
    which database it checked (password masked)."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    where = make_url(database_url).render_as_string(hide_password=True)
    assert await asyncio.to_thread(main, ["db", "current"]) == 0
    assert f"database {where}: schema empty;" in capsys.readouterr().out

    assert await asyncio.to_thread(main, ["db", "upgrade", FIRST]) == 0
    assert f"database {where}: schema {FIRST} (behind)" in capsys.readouterr().out

    assert await asyncio.to_thread(main, ["db", "upgrade"]) == 0
    head = migrations.head_revision()
    out = capsys.readouterr().out
    assert f"database {where}: schema {head} (current); this code's head: {head}" in out


def test_db_current_names_the_database_without_its_password(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A refused PostgreSQL: the line names the setting and the server, not the password."""
    with socket.socket() as held:  # bound, not listening: connections are refused
        held.bind(("127.0.0.1", 0))
        port = held.getsockname()[1]
        url = f"postgresql+asyncpg://roombot:pw-never-printed@127.0.0.1:{port}/roombot"
        monkeypatch.setenv("DATABASE_URL", url)
        assert main(["db", "current"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(
        f"roombot: DATABASE_URL: cannot open the database postgresql+asyncpg://roombot:***@127.0.0.1:{port}/roombot"
    )
    assert "pw-never-printed" not in err


@pytest.mark.parametrize(
    ("url", "exit_code", "message"),
    [
        # a malformed setting is a configuration error: one line, exit 2
        ("mysql://u@h/db", 2, "DATABASE_URL is malformed"),
        # a well-formed URL whose server is not there: one line, exit 1
        ("postgresql+asyncpg://postgres@127.0.0.1:1/none", 1, "roombot: "),
    ],
)
def test_db_cli_reports_bad_settings_in_one_line(
    url: str,
    exit_code: int,
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A bad DATABASE_URL or an absent server is one line on stderr and an exit code."""
    monkeypatch.setenv("DATABASE_URL", url)
    assert main(["db", "upgrade"]) == exit_code
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1
