"""Raw SQL for tests that set up a state roombot never writes itself (a crash's leftovers,
a dropped table), through the store's own transaction runner on either backend."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Executable
from sqlalchemy.orm import Session

from bot.store import Store


async def execute(store: Store, *statements: Executable) -> None:
    """Run *statements* in one write transaction of their own."""

    def run(session: Session) -> None:
        for statement in statements:
            session.execute(statement)

    await store.database.write(run)


async def fetch(store: Store, statement: Executable) -> list[Any]:
    """The rows *statement* selects, read in a transaction of its own."""

    def run(session: Session) -> list[Any]:
        return list(session.execute(statement).all())

    return await store.database.read(run)
