"""SQLite for SQLAlchemy's asyncio engine, run on the event loop's own thread.

aiosqlite runs every call (cursor, execute, fetch, close, commit) in a helper thread and wakes
the loop for each result: about 8 thread hops per transaction. Profiling `roombot serve`
showed those hops at a quarter of its CPU, and they held the writer turn while the loop was
busy elsewhere. A SQLite call on a local file takes tens of microseconds (a WAL commit's
fsync, a few hundred), less than one hop, so the driver here makes the calls directly and
presents aiosqlite's interface to SQLAlchemy's `sqlite+aiosqlite` dialect through
`create_async_engine(async_creator=...)`.

The cost of running inline: the loop waits while SQLite does. Writers of this process take
turns on an asyncio lock (`engine.Sessions`) so SQLite's busy handler never sleeps on the
loop for them; only another process writing to the same file (`roombot identities import`
while serving) can make the loop wait, for at most the length of that process's write.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Self


class InlineCursor:
    """aiosqlite's cursor interface over a `sqlite3.Cursor`, without a thread."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._cursor.close()

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> Self:
        self._cursor.execute(sql, () if parameters is None else parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> Self:
        self._cursor.executemany(sql, parameters)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(self._cursor.arraysize if size is None else size)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class _CursorContext:
    """What `aiosqlite.Connection.cursor()` returns: awaitable, or an async context."""

    def __init__(self, make: Callable[[], InlineCursor]) -> None:
        self._make = make
        self._cursor: InlineCursor | None = None

    def __await__(self) -> Any:
        async def made() -> InlineCursor:
            return self._make()

        return made().__await__()

    async def __aenter__(self) -> InlineCursor:
        self._cursor = self._make()
        return self._cursor

    async def __aexit__(self, *exc: object) -> None:
        if self._cursor is not None:
            await self._cursor.close()


class InlineConnection:
    """aiosqlite's connection interface over a `sqlite3.Connection`, without a thread.

    Opened in autocommit mode (`isolation_level=None`): SQLAlchemy's BEGIN hook says when a
    transaction starts and whether it will write (`BEGIN IMMEDIATE`).
    """

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection: sqlite3.Connection | None = connection

    @property
    def _open(self) -> sqlite3.Connection:
        if self._connection is None:
            raise ValueError("no active connection")
        return self._connection

    @property
    def isolation_level(self) -> str | None:
        return self._open.isolation_level

    def cursor(self) -> _CursorContext:
        return _CursorContext(lambda: InlineCursor(self._open.cursor()))

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> InlineCursor:
        cursor = InlineCursor(self._open.cursor())
        return await cursor.execute(sql, parameters)

    async def commit(self) -> None:
        self._open.commit()

    async def rollback(self) -> None:
        self._open.rollback()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._open.create_function(*args, **kwargs)

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def inline_connector(database: str) -> Callable[[], Any]:
    """The `async_creator` for `create_async_engine`: a new inline connection to *database*."""

    async def connect() -> InlineConnection:
        # check_same_thread off: SQLAlchemy's pool may close a connection from the thread
        # that garbage-collects it; every other call happens on the loop's thread.
        return InlineConnection(
            sqlite3.connect(database, isolation_level=None, check_same_thread=False)
        )

    return connect
