"""What `/healthz` asks the database: does it take a write, and how old is the oldest command
not yet answered?

Both come from the database, not from this replica's memory: a command waiting between
retries is in no replica's memory, and a database that answers reads may still refuse
writes (a PostgreSQL standby after a failover, a full disk, an unwritable SQLite file).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from bot.domain import JournalState
from bot.store.engine import Database
from bot.store.tables import HeartbeatRow, JournalRow

HEARTBEAT_ID = "healthz"
"""The heartbeat table's one row; every replica rewrites it (a write, kept small)."""


@dataclass(frozen=True)
class DatabaseHealth:
    """The database took a write just now; the commands it holds unanswered."""

    pending_commands: int
    oldest_pending_since: datetime | None

    def oldest_pending_age(self, now: datetime) -> timedelta:
        """How long the oldest unanswered command has waited (zero when there is none)."""
        if self.oldest_pending_since is None:
            return timedelta(0)
        return max(timedelta(0), now - self.oldest_pending_since)


async def check(database: Database, *, replica: str, now: datetime) -> DatabaseHealth:
    """Write the heartbeat row, then read the unanswered commands; the driver's error if not."""
    values = {"id": HEARTBEAT_ID, "replica": replica, "beat_at": now}
    insert = (postgresql.insert if database.dialect == "postgresql" else sqlite.insert)(
        HeartbeatRow
    ).values(**values)
    upsert = insert.on_conflict_do_update(
        index_elements=["id"], set_={"replica": replica, "beat_at": now}
    )
    await database.write_one(_beat, upsert)
    count, oldest = await database.read(_pending)
    return DatabaseHealth(pending_commands=int(count or 0), oldest_pending_since=_aware(oldest))


def _beat(connection: Connection, upsert: Any) -> None:
    connection.execute(upsert)


def _pending(connection: Connection) -> tuple[Any, Any]:
    count, oldest = connection.execute(
        select(func.count(), func.min(JournalRow.accepted_at)).where(
            JournalRow.state != JournalState.ANSWERED.value
        )
    ).one()
    return count, oldest


def _aware(value: datetime | str | None) -> datetime | None:
    # An aggregate loses the column's type on SQLite: min() gives the stored text back.
    if value is None or isinstance(value, datetime):
        return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(value).replace(tzinfo=UTC)
