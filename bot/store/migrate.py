"""Alembic, driven from code: the scripts ship inside the package, so no alembic.ini is needed.

`upgrade_database` and `database_status` open their own short-lived engine; the functions
taking a synchronous `Connection` run inside its one transaction (through `run_sync`), so a
whole upgrade commits or rolls back as one. On PostgreSQL an advisory lock makes replicas that
start together migrate one after another; on SQLite BEGIN IMMEDIATE does the same, and
`PRAGMA foreign_key_check` afterwards proves the table rebuilds of batch mode lost no links.

A new revision is a file `migrations/versions/rNNNN_slug.py` (`revision = "NNNN"`,
`down_revision` the previous one) that spells its columns out rather than importing
`tables.py`, and alters existing tables inside `op.batch_alter_table` so SQLite can follow;
`tables.py` changes with it, and `tests/store/test_migrations.py` checks the two agree.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import text
from sqlalchemy.engine import URL, Connection
from sqlalchemy.exc import DBAPIError

from bot.store.engine import open_database

if TYPE_CHECKING:  # Alembic costs ~0.1 s to import: only pay it when migrating
    from alembic.config import Config
    from alembic.script import ScriptDirectory

_R = TypeVar("_R")

HEAD = "0013"
"""This code's newest revision, known without Alembic; a test checks it against the scripts."""

MIGRATIONS_DIR = Path(__file__).with_name("migrations")

_ADVISORY_LOCK_ID = 0x526F6F6D626F74  # "Roombot": any constant every replica agrees on


class SchemaState(enum.StrEnum):
    EMPTY = "empty"  # no version table: a new database
    BEHIND = "behind"  # a revision this code knows, older than head
    CURRENT = "current"
    UNKNOWN = "unknown"  # a revision from newer code (a rolling deploy); left alone


@dataclass(frozen=True, slots=True)
class SchemaStatus:
    state: SchemaState
    current: str | None
    head: str


def _config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


@functools.cache
def _scripts() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config())


def head_revision() -> str:
    """This code's newest revision."""
    head = _scripts().get_current_head()
    if head is None:  # pragma: no cover - the package always ships its revisions
        raise RuntimeError(f"no migrations found in {MIGRATIONS_DIR}")
    return head


def revisions() -> list[str]:
    """Every revision this code knows, oldest first."""
    return [script.revision for script in reversed(list(_scripts().walk_revisions()))]


def current_status(connection: Connection) -> SchemaStatus | None:
    """CURRENT when the database is exactly at `HEAD`, read with plain SQL; None when unsure.

    The common case at every start-up, answered without importing Alembic.
    """
    try:
        versions = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    except DBAPIError:
        return None
    if [row[0] for row in versions] == [HEAD]:
        return SchemaStatus(state=SchemaState.CURRENT, current=HEAD, head=HEAD)
    return None


def schema_status(connection: Connection) -> SchemaStatus:
    """Where the database's schema stands relative to this code's head."""
    from alembic.runtime.migration import MigrationContext

    current = MigrationContext.configure(connection).get_current_revision()
    head = head_revision()
    if current is None:
        state = SchemaState.EMPTY
    elif current == head:
        state = SchemaState.CURRENT
    elif current in revisions():
        state = SchemaState.BEHIND
    else:
        state = SchemaState.UNKNOWN
    return SchemaStatus(state=state, current=current, head=head)


def _lock(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_ADVISORY_LOCK_ID})")


def _check_foreign_keys(connection: Connection) -> None:
    if connection.dialect.name == "sqlite":
        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"migration left rows with dangling foreign keys: {broken[:5]}")


def upgrade(connection: Connection, revision: str = "head") -> SchemaStatus:
    """Upgrade to *revision* unless the schema is from newer code; the status afterwards."""
    from alembic import command

    _lock(connection)
    if schema_status(connection).state is not SchemaState.UNKNOWN:
        command.upgrade(_config(connection), revision)
        _check_foreign_keys(connection)
    return schema_status(connection)


def downgrade(connection: Connection, revision: str) -> SchemaStatus:
    """Downgrade to *revision* (for development; deployments only ever upgrade)."""
    from alembic import command

    _lock(connection)
    command.downgrade(_config(connection), revision)
    _check_foreign_keys(connection)
    return schema_status(connection)


async def run_in_migration(
    url: str | URL,
    work: Callable[..., _R],
    *args: Any,
    engine_options: dict[str, Any] | None = None,
) -> _R:
    """Run *work* (connection, then *args*) in one write transaction, foreign keys unenforced."""
    database = open_database(url, migrating=True, **(engine_options or {}))
    try:
        return await database.write(work, *args)
    finally:
        await database.dispose()


async def upgrade_database(
    url: str | URL, revision: str = "head", **engine_options: Any
) -> SchemaStatus:
    """Upgrade the database at *url* to *revision*; see `upgrade`."""
    return await run_in_migration(url, upgrade, revision, engine_options=engine_options)


async def database_status(url: str | URL, **engine_options: Any) -> SchemaStatus:
    """Where the schema of the database at *url* stands."""
    return await run_in_migration(url, schema_status, engine_options=engine_options)
