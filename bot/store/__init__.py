"""Persistence: the identity directory, the room registry, the command journal, join codes
and knocks.

SQL stays in this package; it takes and returns the frozen values of `bot.domain`. Open a
`Store` with ``await Store.open(settings.database_url, migrate=True)`` and use its
repositories; each method is one transaction. The Slack layer never imports this package:
it sees domain values, handed to it by the service.
"""

from __future__ import annotations

from bot.store.errors import (
    EntryNotFound,
    ImportRejected,
    InvalidTransition,
    JournalError,
    LeaseLost,
    RoomDeleted,
    RoomNotFound,
    SchemaNotCurrent,
    StoreError,
    StoreUnavailable,
)
from bot.store.store import Store

__all__ = [
    "EntryNotFound",
    "ImportRejected",
    "InvalidTransition",
    "JournalError",
    "LeaseLost",
    "RoomDeleted",
    "RoomNotFound",
    "SchemaNotCurrent",
    "Store",
    "StoreError",
    "StoreUnavailable",
]
