"""Store fixtures: every repository test runs on SQLite and on PostgreSQL, each in a fresh database.

SQLite lives in `tmp_path`. PostgreSQL is the server at 127.0.0.1:5432 (override with
`ROOMBOT_TEST_POSTGRES`, a `postgresql+asyncpg://` URL of the database to use); each test gets
its own schema there, dropped afterwards. When no server answers, the PostgreSQL cases are
skipped with the reason; with `ROOMBOT_REQUIRE_POSTGRES=1`, or under CI (`CI=true`), they fail
instead, so a run that was meant to cover PostgreSQL cannot pass without it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import create_async_engine

from bot.acs.client import IdentityClient
from bot.local.emulator import EmulatorServer
from bot.store import Store
from tests.store.helpers import QUICK_RETRY

POSTGRES_URL = os.environ.get(
    "ROOMBOT_TEST_POSTGRES", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
BACKENDS = ["sqlite", "postgresql"]


def _postgres_required() -> bool:
    flag = os.environ.get("ROOMBOT_REQUIRE_POSTGRES")
    if flag is not None:
        return flag not in ("", "0", "false")
    return os.environ.get("CI", "").lower() == "true"


@dataclass
class _Postgres:
    unreachable: str | None = None  # once one connection failed, the rest skip at once


_postgres = _Postgres()


async def _admin(statement: str) -> None:
    """Run *statement* on the test database, or skip (fail when required) saying why not."""
    if _postgres.unreachable is None:
        engine = create_async_engine(
            POSTGRES_URL, isolation_level="AUTOCOMMIT", connect_args={"timeout": 5}
        )
        try:
            async with engine.connect() as connection:
                await connection.execute(text(statement))
        except (OSError, SQLAlchemyError, TimeoutError) as exc:
            reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            _postgres.unreachable = f"{type(exc).__name__}: {reason}"
        else:
            return
        finally:
            await engine.dispose()
    where = make_url(POSTGRES_URL).render_as_string(hide_password=True)
    reason = f"PostgreSQL at {where} is unreachable ({_postgres.unreachable})"
    if _postgres_required():
        pytest.fail(reason + "; it is required here (CI or ROOMBOT_REQUIRE_POSTGRES)")
    pytest.skip(reason)


def _schema_url(schema: str) -> str:
    url = make_url(POSTGRES_URL).update_query_dict({"search_path": schema})
    return url.render_as_string(hide_password=False)


@pytest.fixture(name="backend", params=BACKENDS)
def _backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(name="database_url")
async def _database_url(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    """The URL of a new, empty database on *backend*, removed after the test.

    On PostgreSQL that is a schema of its own in the test database, reached through
    `?search_path=`: CREATE SCHEMA costs milliseconds where CREATE DATABASE costs a third
    of a second on this machine, and a schema isolates tables and Alembic's version table
    just as well.
    """
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'roombot.db'}"
        return
    schema = f"roombot_test_{uuid.uuid4().hex[:12]}"
    await _admin(f'CREATE SCHEMA "{schema}"')
    try:
        yield _schema_url(schema)
    finally:
        await _admin(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(name="store")
async def _store(database_url: str) -> AsyncIterator[Store]:
    async with Store.open(database_url, migrate=True) as store:
        yield store


@pytest.fixture(name="emulator")
async def _emulator() -> AsyncIterator[EmulatorServer]:
    async with EmulatorServer() as emulator:
        yield emulator


@pytest.fixture(name="identity_client")
async def _identity_client(emulator: EmulatorServer) -> AsyncIterator[IdentityClient]:
    async with IdentityClient.from_connection_string(
        emulator.connection_string, retry=QUICK_RETRY
    ) as client:
        yield client
