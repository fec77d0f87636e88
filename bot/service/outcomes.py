"""How a command ended, as values the Slack layer renders and the journal records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot.domain import Role, RoomRecord


class ServiceError(Exception):
    """A command that cannot be done, with words for the person who asked.

    *code* is stable (for the journal, metrics and tests); *message* says what was wrong;
    *example* is a command that would work.
    """

    def __init__(self, code: str, message: str, *, example: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.example = example


class TryLater(Exception):
    """The command is fine but ACS (or Slack, *service*) could not be reached; the journal
    retries it later, until the runner's deadline."""

    def __init__(self, reason: str, *, service: str = "Azure Communication Services") -> None:
        super().__init__(reason)
        self.reason = reason
        self.service = service


@dataclass(frozen=True, slots=True)
class ParticipantChanges:
    """What an `add` or `remove` did to each person it named, so the answer can say it."""

    added: tuple[tuple[str, Role], ...] = ()
    """People who were not in the room, with their role."""
    changed: tuple[tuple[str, Role, Role], ...] = ()
    """People whose role changed: (user, old role, new role)."""
    kept: tuple[tuple[str, Role], ...] = ()
    """People named who already had that role."""
    removed: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()
    """People named for removal who were not in the room."""

    @property
    def any(self) -> bool:
        """Whether the room's participants changed at all."""
        return bool(self.added or self.changed or self.removed)


@dataclass(frozen=True, slots=True)
class RoomChanged:
    """A room was created or changed; *verb* says which (create, extend, add, remove, delete)."""

    verb: str
    room: RoomRecord
    actor_id: str
    tz: str
    journalled: bool = False
    """True when the journal already says room_created (recorded with the room itself)."""
    changes: ParticipantChanges | None = None
    """For add and remove, person by person; None when not known (a resumed command)."""
    card_changed: bool = True
    """False when the command changed nothing, so the room's message need not be re-posted."""
    zone_note: str | None = None
    """A create whose words named a zone: how it was read ("“PT” read as America/…")."""
    reminder_lead: timedelta | None = None
    """A create that asked for its reminders' lead time (`remind 15m`): that lead."""


@dataclass(frozen=True, slots=True)
class Refused:
    """The command was refused or failed for good; answered ephemerally."""

    code: str
    message: str
    example: str | None = None


Outcome = RoomChanged | Refused
