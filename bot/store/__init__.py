"""Persistence: the identity directory, the room registry and the command journal.

SQL stays in this package; callers get frozen values from `bot.store.records`. Open a
`Store` with ``await Store.open(settings.database_url, migrate=True)`` and use its
`identities`, `rooms` and `journal` repositories; each method is one transaction.
"""

from bot.store.directory import IdentityDirectory, IdentityProvisioner
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
from bot.store.journal import Journal
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
from bot.store.rooms import RoomRegistry
from bot.store.store import Store

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
