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
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store import migrate as migrations
from bot.store.calls import CallRecords
from bot.store.directory import IdentityDirectory
from bot.store.engine import Sessions, create_engine, sqlite_write_problem
from bot.store.errors import SchemaNotCurrent, StoreUnavailable
from bot.store.health import DatabaseHealth, check
from bot.store.hot_sqlite import Checkpointer
from bot.store.join_codes import JoinCodes
from bot.store.journal import Journal
from bot.store.knocks import Knocks
from bot.store.rooms import RoomRegistry

logger = logging.getLogger("roombot.store")

PING_TIMEOUT = 5.0
"""Seconds `Store.ping` waits for the database before calling it unavailable."""


class Store:
    """The database and its repositories: `identities`, `rooms` and `journal`.

    Open it with ``store = await Store.open(url)`` or ``async with Store.open(url) as store:``;
    `aclose()` disposes of the connection pool.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        sessions = self._sessions = Sessions(engine)
        self._checkpointer: Checkpointer | None = None
        if sessions.dialect == "sqlite":  # needs a running loop: stores open in async code
            self._checkpointer = Checkpointer(engine.url.database or "")
            self._checkpointer.start()
        self.identities = IdentityDirectory(sessions)
        self.rooms = RoomRegistry(sessions)
        self.journal = Journal(sessions)
        self.join_codes = JoinCodes(sessions)
        self.knocks = Knocks(sessions)
        self.calls = CallRecords(sessions)

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
            engine = create_engine(url, **options)
        except OSError as exc:  # the SQLite file's folder cannot be made
            where = make_url(url).render_as_string(hide_password=True)
            raise StoreUnavailable(_cannot_open(where, exc)) from exc
        if engine.dialect.name == "sqlite":
            problem = sqlite_write_problem(engine.url.database or "")
            if problem is not None:
                await engine.dispose()
                raise StoreUnavailable(problem)
        try:
            async with engine.connect() as connection:
                status = await connection.run_sync(migrations.current_status)
            if status is None and migrate:
                status = await migrations.upgrade_database(url, **options)
            elif status is None:
                async with engine.connect() as connection:
                    status = await connection.run_sync(migrations.schema_status)
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
            await engine.dispose()
            # One line for `roombot serve` to print (and exit 2), not the driver's traceback.
            where = engine.url.render_as_string(hide_password=True)
            raise StoreUnavailable(_cannot_open(where, exc)) from exc
        except BaseException:
            await engine.dispose()
            raise
        logger.info(
            "store open: %s (schema %s)",
            engine.url.render_as_string(hide_password=True),
            status.current,
        )
        return cls(engine)

    @property
    def url(self) -> str:
        """The database URL with any password masked, for logs and health output."""
        return self.engine.url.render_as_string(hide_password=True)

    async def ping(self) -> None:
        """Return when the database answers a trivial query; StoreUnavailable otherwise.

        Bounded by `PING_TIMEOUT` so a health check reports a hung database instead of hanging.
        """
        try:
            async with asyncio.timeout(PING_TIMEOUT), self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
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
                return await check(self._sessions, replica=replica, now=now)
        except TimeoutError:
            raise StoreUnavailable(
                f"the database did not take a write within {PING_TIMEOUT:g} s"
            ) from None
        except (SQLAlchemyError, OSError, sqlite3.Error) as exc:
            reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            raise StoreUnavailable(f"the database refuses writes: {reason}") from exc

    async def aclose(self) -> None:
        if self._checkpointer is not None:
            await self._checkpointer.aclose()
        self._sessions.close()
        await self.engine.dispose()

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
