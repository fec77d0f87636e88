"""What the store raises besides the database driver's own errors.

    StoreError                  everything below
    ├── StoreUnavailable        the database cannot be reached or answered wrongly (ping)
    ├── SchemaNotCurrent        the database is missing or behind this code's migrations
    ├── RoomNotFound            no room with that id was ever recorded
    ├── RoomDeleted             the room is marked deleted (or ended); it can no longer change
    ├── ImportRejected          some rows of an identity import are invalid; nothing was written
    └── JournalError            a journal entry cannot move as asked
        ├── EntryNotFound       no entry with that key
        ├── LeaseLost           another worker holds the entry now; stop working on it
        └── InvalidTransition   the move would go backwards or contradict what is recorded

The service branches on these; the driver's errors (connection lost mid-query) pass through.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain import JournalState, RowProblem


class StoreError(Exception):
    """Base of every error `bot.store` raises on purpose."""


class StoreUnavailable(StoreError):
    """The database did not answer a ping; the message says why, without credentials."""


class SchemaNotCurrent(StoreError):
    """The schema is not at this code's head revision and the store was told not to migrate."""


class RoomNotFound(StoreError):
    def __init__(self, room_id: str) -> None:
        super().__init__(f"no room {room_id!r} is recorded")
        self.room_id = room_id


class RoomDeleted(StoreError):
    def __init__(self, room_id: str) -> None:
        super().__init__(f"room {room_id!r} is deleted")
        self.room_id = room_id


class ImportRejected(StoreError):
    """At least one row is invalid; *problems* name every one by line, in line order."""

    def __init__(self, problems: Sequence[RowProblem]) -> None:
        self.problems = tuple(sorted(problems, key=lambda p: p.line))
        super().__init__("; ".join(str(p) for p in self.problems))


class JournalError(StoreError):
    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"journal entry {key}: {message}")
        self.key = key


class EntryNotFound(JournalError):
    def __init__(self, key: str) -> None:
        super().__init__(key, "not found")


class LeaseLost(JournalError):
    def __init__(self, key: str, worker_id: str, owner: str | None) -> None:
        held = f"held by {owner!r}" if owner else "not leased"
        super().__init__(key, f"worker {worker_id!r} does not hold the lease ({held})")
        self.worker_id = worker_id
        self.owner = owner


class InvalidTransition(JournalError):
    def __init__(self, key: str, state: JournalState, wanted: str) -> None:
        super().__init__(key, f"cannot {wanted} from state {state.value}")
        self.state = state
        self.wanted = wanted
