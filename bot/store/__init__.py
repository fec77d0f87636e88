"""Persistence: the identity directory, the room registry and the command journal.

SQL stays in this package; callers get frozen values from `bot.store.records`. Open a
`Store` with ``await Store.open(settings.database_url, migrate=True)`` and use its
`identities`, `rooms` and `journal` repositories; each method is one transaction.

Values and errors are imported eagerly; the repositories and `Store` (SQLAlchemy, Alembic)
only when first used, so that `bot.slack.blocks` can use `RoomRecord` without loading them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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
from bot.store.records import (
    RESPONSE_URL_LIFETIME,
    RESPONSE_URL_MAX_USES,
    IdentityMapping,
    IdentitySource,
    ImportReport,
    ImportRow,
    JournalEntry,
    JournalState,
    NewJournalEntry,
    ParticipantRecord,
    PostedMessage,
    RoomRecord,
    RoomState,
    RowProblem,
    new_journal_key,
)

if TYPE_CHECKING:
    from bot.store.directory import IdentityDirectory, IdentityProvisioner
    from bot.store.journal import Journal
    from bot.store.rooms import RoomRegistry
    from bot.store.store import Store

_LAZY = {
    "IdentityDirectory": "bot.store.directory",
    "IdentityProvisioner": "bot.store.directory",
    "Journal": "bot.store.journal",
    "RoomRegistry": "bot.store.rooms",
    "Store": "bot.store.store",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "RESPONSE_URL_LIFETIME",
    "RESPONSE_URL_MAX_USES",
    "EntryNotFound",
    "IdentityDirectory",
    "IdentityMapping",
    "IdentityProvisioner",
    "IdentitySource",
    "ImportRejected",
    "ImportReport",
    "ImportRow",
    "InvalidTransition",
    "Journal",
    "JournalEntry",
    "JournalError",
    "JournalState",
    "LeaseLost",
    "NewJournalEntry",
    "ParticipantRecord",
    "PostedMessage",
    "RoomDeleted",
    "RoomNotFound",
    "RoomRecord",
    "RoomRegistry",
    "RoomState",
    "RowProblem",
    "SchemaNotCurrent",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "new_journal_key",
]
