"""Alembic environment: migrations run only on a connection that `bot.store.migrate` hands in.

There is no alembic.ini and no URL here: `Store.open(url, migrate=True)` and `roombot db upgrade`
open the engine themselves (with the SQLite pragmas and the PostgreSQL advisory lock) and pass
the connection in `config.attributes["connection"]`, inside the transaction they own.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from bot.store.tables import Base

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection) or context.is_offline_mode():
    raise RuntimeError(
        "roombot's migrations run through bot.store.migrate (roombot db upgrade), "
        "not the alembic command line"
    )

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
