"""`Store`: the database connection pool and the three repositories built on it.

Opening checks the schema (or migrates it) before anything else touches the tables, so a
replica started against an old database fails at start-up with one clear line.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Coroutine, Generator
from datetime import datetime
from types import TracebackType
from typing import Any, TypeVar

from sqlalchemy import text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store import migrate as migrations
from bot.store.calls import CallRecords
from bot.store.directory import IdentityDirectory
from bot.store.engine import Database, open_database, sqlite_write_problem
from bot.store.errors import SchemaNotCurrent, StoreUnavailable
from bot.store.health import DatabaseHealth, check
from bot.store.join_codes import JoinCodes
from bot.store.journal import Journal
from bot.store.knocks import Knocks
from bot.store.rooms import RoomRegistry

logger = logging.getLogger("roombot.store")

_R = TypeVar("_R")

PING_TIMEOUT = 5.0
"""Seconds `Store.ping` waits for the database before calling it unavailable."""


class Store:
    """The database and its repositories: `identities`, `rooms` and `journal`.

    Open it with ``store = await Store.open(url)`` or ``async with Store.open(url) as store:``;
    `aclose()` disposes of the connection pool.
    """

    def __init__(self, database: Database) -> None:
        self.database = database
        self.identities = IdentityDirectory(database)
        self.rooms = RoomRegistry(database)
        self.journal = Journal(database)
        self.join_codes = JoinCodes(database)
        self.knocks = Knocks(database)
        self.calls = CallRecords(database)

    @classmethod
    def open(cls, url: str | URL, *, migrate: bool = False, **options: Any) -> _OpeningStore:
        """Connect to *url*; with *migrate*, upgrade the schema to this code's head first.

        Without *migrate*, raise `SchemaNotCurrent` when the database is empty or behind, so
        that a replica never runs against tables it does not understand. A schema from newer
        code (a rolling deploy) is used as it is, with a warning.
        """
        return _OpeningStore(cls._open(url, migrate=migrate, options=options))

    @classmethod
    async def _open(cls, url: str | URL, *, migrate: bool, options: dict[str, Any]) -> Store:
        try:
            database = open_database(url, **options)
        except OSError as exc:  # the SQLite file's folder cannot be made
            where = make_url(url).render_as_string(hide_password=True)
            raise StoreUnavailable(_cannot_open(where, exc)) from exc
        if database.dialect == "sqlite":
            problem = sqlite_write_problem(database.url.database or "")
            if problem is not None:
                await database.dispose()
                raise StoreUnavailable(problem)
        try:
            status = await database.read(migrations.current_status)
            if status is None and migrate:
                status = await migrations.upgrade_database(url, **options)
            elif status is None:
                status = await database.read(migrations.schema_status)
            if status.state in (migrations.SchemaState.EMPTY, migrations.SchemaState.BEHIND):
                raise SchemaNotCurrent(
                    f"the database schema is at {status.current or 'nothing'}, this code needs "
                    f"{status.head}: run `roombot db upgrade`"
                )
            if status.state is migrations.SchemaState.UNKNOWN:
                logger.warning(
                    "database schema %s is newer than this code's %s; using it as it is",
                    status.current,
                    status.head,
                )
        except (SQLAlchemyError, OSError, sqlite3.Error) as exc:
            await database.dispose()
            # One line for `roombot serve` to print (and exit 2), not the driver's traceback.
            where = database.url.render_as_string(hide_password=True)
            raise StoreUnavailable(_cannot_open(where, exc)) from exc
        except BaseException:
            await database.dispose()
            raise
        logger.info(
            "store open: %s (schema %s)",
            database.url.render_as_string(hide_password=True),
            status.current,
        )
        return cls(database)

    @property
    def engine(self) -> AsyncEngine:
        """An async engine on this database, for slack-sdk's OAuth installation and state
        stores (`bot.slack.install`), which need one; roombot's own operations go through
        `database`. On SQLite it is an aiosqlite engine of its own (see `Database`)."""
        return self.database.async_engine

    @property
    def url(self) -> str:
        """The database URL with any password masked, for logs and health output."""
        return self.database.url.render_as_string(hide_password=True)

    async def ping(self) -> None:
        """Return when the database answers a trivial query; StoreUnavailable otherwise.

        Bounded by `PING_TIMEOUT` so a health check reports a hung database instead of hanging.
        """
        try:
            async with asyncio.timeout(PING_TIMEOUT):
                await self.database.read(_select_one)
        except TimeoutError:
            raise StoreUnavailable(
                f"the database did not answer within {PING_TIMEOUT:g} s"
            ) from None
        except (SQLAlchemyError, OSError) as exc:
            reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            raise StoreUnavailable(f"the database is unavailable: {reason}") from exc

    async def health(self, *, replica: str, now: datetime) -> DatabaseHealth:
        """Write the heartbeat and count what is unanswered; StoreUnavailable with the reason.

        Bounded by `PING_TIMEOUT`: `/healthz` is polled, and must report a database that hangs
        (or a writer queue that does not move) rather than hang with it.
        """
        try:
            async with asyncio.timeout(PING_TIMEOUT):
                return await check(self.database, replica=replica, now=now)
        except TimeoutError:
            raise StoreUnavailable(
                f"the database did not take a write within {PING_TIMEOUT:g} s"
            ) from None
        except (SQLAlchemyError, OSError, sqlite3.Error) as exc:
            reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            raise StoreUnavailable(f"the database refuses writes: {reason}") from exc

    async def aclose(self) -> None:
        await self.database.dispose()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"Store({self.url!r})"


def _select_one(connection: Connection) -> None:
    connection.execute(text("SELECT 1"))


def _cannot_open(where: str, exc: BaseException) -> str:
    """One line: which database (*where*, password masked) and the driver's reason, with a hint."""
    if isinstance(exc, OSError) and exc.strerror:
        reason = exc.strerror + (f": {exc.filename}" if exc.filename else "")
    else:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0] or type(exc).__name__
    if "unable to open database file" in reason:
        reason += " (its folder must exist or be creatable, and be writable by roombot)"
    return f"cannot open the database {where}: {reason}"


class _OpeningStore:
    """What `Store.open` returns: await it for the store, or use it as `async with`."""

    def __init__(self, opening: Coroutine[Any, Any, Store]) -> None:
        self._opening = opening
        self._store: Store | None = None

    def __await__(self) -> Generator[Any, None, Store]:
        return self._opening.__await__()

    async def __aenter__(self) -> Store:
        self._store = await self._opening
        return self._store

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._store is not None:
            await self._store.aclose()
