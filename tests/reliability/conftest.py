"""Fixtures for the reliability scenarios; the harness itself is in `harness.py`."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import create_async_engine

from bot.local.fake_slack import HISTORY_MANIFEST_SCOPES
from tests.reliability.harness import POSTGRES_URL, Bot, running_bot


@pytest.fixture(name="sqlite_url")
def _sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path}/bot.db"


@pytest.fixture(name="bot")
async def _bot(sqlite_url: str) -> AsyncIterator[Bot]:
    async with running_bot(sqlite_url) as running:
        yield running


@pytest.fixture(name="history_bot")
async def _history_bot(sqlite_url: str) -> AsyncIterator[Bot]:
    """The bot installed from manifest.history.yml: it may read history to find its cards."""
    async with running_bot(sqlite_url, scopes=HISTORY_MANIFEST_SCOPES) as running:
        yield running


# --- PostgreSQL: a schema of its own per test, as tests/store/conftest.py does ---------------


async def _postgres_admin(statement: str) -> str | None:
    """Run *statement* on the test database; the reason it could not, or None."""
    engine = create_async_engine(
        POSTGRES_URL, isolation_level="AUTOCOMMIT", connect_args={"timeout": 5}
    )
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    except (OSError, SQLAlchemyError, TimeoutError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        return f"{type(exc).__name__}: {reason}"
    finally:
        await engine.dispose()
    return None


def _postgres_required() -> bool:
    flag = os.environ.get("ROOMBOT_REQUIRE_POSTGRES")
    if flag is not None:
        return flag not in ("", "0", "false")
    return os.environ.get("CI", "").lower() == "true"


@pytest.fixture(name="postgres_url")
async def _postgres_url() -> AsyncIterator[str]:
    """A new, empty PostgreSQL schema (`?search_path=`), dropped afterwards; skipped, with
    the reason, where no server answers (failed instead under CI)."""
    schema = f"roombot_rel_{uuid.uuid4().hex[:12]}"
    problem = await _postgres_admin(f'CREATE SCHEMA "{schema}"')
    if problem is not None:
        where = make_url(POSTGRES_URL).render_as_string(hide_password=True)
        reason = f"PostgreSQL at {where} is unreachable ({problem})"
        if _postgres_required():
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        url = make_url(POSTGRES_URL).update_query_dict({"search_path": schema})
        yield url.render_as_string(hide_password=False)
    finally:
        await _postgres_admin(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
