"""Raw SQL for tests that set up a state roombot never writes itself (a crash's leftovers,
a dropped table), through the store's own transaction runner on either backend."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Executable
from sqlalchemy.engine import Connection

from bot.store import Store


async def execute(store: Store, *statements: Executable) -> None:
    """Run *statements* in one write transaction of their own."""

    def run(connection: Connection) -> None:
        for statement in statements:
            connection.execute(statement)

    await store.database.write(run)


async def fetch(store: Store, statement: Executable) -> list[Any]:
    """The rows *statement* selects, read in a transaction of its own."""

    def run(connection: Connection) -> list[Any]:
        return list(connection.execute(statement).all())

    return await store.database.read(run)
