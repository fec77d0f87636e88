"""What parsing a /room command gives back: one frozen value per verb, or a `ParseError`.

Why values and not exceptions: a refusal ("that window is in the past") is an ordinary answer the
Slack layer renders and the journal records, just like a command, so `parse` returns either one.
Everything here is plain data: aware datetimes in the user's zone, `Role` from `bot.domain`,
tuples rather than lists so the values stay hashable. `RoomCommand` is the union of the commands;
each class names its verb in `action`, the word `roombot parse` prints.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import ClassVar

from bot.domain import Role
from bot.parsing.timemath import add_calendar, add_elapsed


class ErrorCode(enum.StrEnum):
    """Why a command was refused; stable strings for the journal, tests and `roombot parse`."""

    UNKNOWN_COMMAND = "unknown_command"
    MISSING_ROOM_ID = "missing_room_id"
    MISSING_MENTION = "missing_mention"
    UNEXPECTED_ARGUMENT = "unexpected_argument"
    UNRESOLVED_MENTION = "unresolved_mention"
    ROLE_WITHOUT_MENTION = "role_without_mention"
    UNKNOWN_ROLE = "unknown_role"
    TWO_ROLES = "two_roles"
    UNRECOGNISED_TIME = "unrecognised_time"
    END_BEFORE_START = "end_before_start"
    EMPTY_WINDOW = "empty_window"
    WINDOW_IN_PAST = "window_in_past"
    START_TOO_FAR_AHEAD = "start_too_far_ahead"
    WINDOW_TOO_LONG = "window_too_long"
    RECURRING_NOT_SUPPORTED = "recurring_not_supported"
    TITLE_TOO_LONG = "title_too_long"
    MISSING_TITLE = "missing_title"
    BAD_REMINDER = "bad_reminder"


@dataclass(frozen=True, slots=True)
class Window:
    """The window as the words say it, before defaults and before a past start moves to now.

    *end* is None when the words name an instant with no end ("now", "at 3pm").
    """

    start: datetime
    end: datetime | None


@dataclass(frozen=True, slots=True)
class Duration:
    """A length as the user said it: calendar *months* and *days*, and elapsed *seconds*."""

    months: int = 0
    days: int = 0
    seconds: int = 0

    def after(self, start: datetime) -> datetime:
        """*start* plus this length: months and days on its wall clock, then seconds elapsed."""
        moved = add_calendar(start, months=self.months, days=self.days)
        return add_elapsed(moved, self.seconds) if self.seconds else moved

    @property
    def is_zero(self) -> bool:
        """True for a length of nothing ("0 minutes")."""
        return not (self.months or self.days or self.seconds)

    def isoformat(self) -> str:
        """ISO 8601, e.g. ``P1M2DT3H30M``; ``PT0S`` for zero."""
        hours, rest = divmod(self.seconds, 3600)
        minutes, seconds = divmod(rest, 60)
        date_part = "".join(
            f"{value}{unit}" for value, unit in ((self.months, "M"), (self.days, "D")) if value
        )
        time_part = "".join(
            f"{value}{unit}"
            for value, unit in ((hours, "H"), (minutes, "M"), (seconds, "S"))
            if value
        )
        if not date_part and not time_part:
            return "PT0S"
        return f"P{date_part}" + (f"T{time_part}" if time_part else "")

    def __str__(self) -> str:
        hours, rest = divmod(self.seconds, 3600)
        minutes, seconds = divmod(rest, 60)
        parts = (
            (self.months, "month"),
            (self.days, "day"),
            (hours, "hour"),
            (minutes, "minute"),
            (seconds, "second"),
        )
        words = [f"{value} {unit}{'' if value == 1 else 's'}" for value, unit in parts if value]
        return " ".join(words) or "0 minutes"


@dataclass(frozen=True, slots=True)
class Mention:
    """A Slack user (``U…``/``W…``) or user group (``S…``); *label* is the name Slack showed."""

    id: str
    label: str | None = None

    @property
    def is_group(self) -> bool:
        """True for a user group, which the Slack layer expands into its members."""
        return self.id.startswith("S")


@dataclass(frozen=True, slots=True)
class Invitee:
    """A mention and the role it gets in the room."""

    who: Mention
    role: Role


def _roles(invitees: tuple[Invitee, ...], *, groups: bool) -> dict[str, Role]:
    return {item.who.id: item.role for item in invitees if item.who.is_group is groups}


@dataclass(frozen=True, slots=True)
class OpenModal:
    """Empty text: open the room form."""

    action: ClassVar[str] = "modal"


@dataclass(frozen=True, slots=True)
class ShowHelp:
    """``help [VERB]``."""

    topic: str | None = None
    action: ClassVar[str] = "help"


@dataclass(frozen=True, slots=True)
class ListRooms:
    """``list``: the requester's rooms."""

    action: ClassVar[str] = "list"


@dataclass(frozen=True, slots=True)
class ShowRoom:
    """``show ROOM_ID``."""

    room_id: str
    action: ClassVar[str] = "show"


@dataclass(frozen=True, slots=True)
class DeleteRoom:
    """``delete ROOM_ID`` (or ``cancel``)."""

    room_id: str
    action: ClassVar[str] = "delete"


@dataclass(frozen=True, slots=True)
class CreateRoom:
    """``create``: the window to send to ACS, and who to invite.

    *valid_from* is never before now; *valid_until* is at most 180 days of elapsed time after it
    (the ACS limit), which can be up to a DST shift before the end the user said when 180 calendar
    days span a fall-back; *window* keeps the literal reading. The requester is not among
    *invitees*; the service decides about them.
    """

    valid_from: datetime
    valid_until: datetime
    invitees: tuple[Invitee, ...]
    pstn_dial_out: bool
    window: Window
    zone_note: str | None = None  # how a zone named in the text was read: "“PT” read as …"
    title: str | None = None  # "Design review": ACS has no title field; the registry keeps it
    remind_minutes: int | None = None  # `remind 15m`: its people's reminder, before it opens
    action: ClassVar[str] = "create"

    @property
    def participants(self) -> dict[str, Role]:
        """User id -> role, in the order mentioned."""
        return _roles(self.invitees, groups=False)

    @property
    def groups(self) -> dict[str, Role]:
        """User-group id -> role; the Slack layer expands each group into its members."""
        return _roles(self.invitees, groups=True)


@dataclass(frozen=True, slots=True)
class ExtendRoom:
    """``extend ROOM_ID by DURATION`` (*by*) or ``… to WHEN`` (*until*); exactly one is set.

    *zone* is the user's zone, in which *by*'s days and months are counted.
    """

    room_id: str
    by: Duration | None
    until: datetime | None
    zone: tzinfo
    action: ClassVar[str] = "extend"

    def new_valid_until(self, current: datetime) -> datetime:
        """The room's new end, given its *current* one (aware, any zone)."""
        if self.until is not None:
            return self.until
        if self.by is None:
            msg = "ExtendRoom needs either by or until"
            raise ValueError(msg)
        return self.by.after(current.astimezone(self.zone))


@dataclass(frozen=True, slots=True)
class RescheduleRoom:
    """``reschedule ROOM_ID WINDOW`` (or ``move``): the room's whole new window.

    The window is read exactly as `create` reads one, so *valid_from*, *valid_until* and
    *window* mean what they mean on `CreateRoom`.
    """

    room_id: str
    valid_from: datetime
    valid_until: datetime
    window: Window
    action: ClassVar[str] = "reschedule"


@dataclass(frozen=True, slots=True)
class EndRoom:
    """``end ROOM_ID``: close an open room now (``delete`` cancels one, open or not)."""

    room_id: str
    action: ClassVar[str] = "end"


@dataclass(frozen=True, slots=True)
class RenameRoom:
    """``rename ROOM_ID "New title"``: the room's title (ACS has none; the registry keeps it)."""

    room_id: str
    title: str = ""
    action: ClassVar[str] = "rename"


@dataclass(frozen=True, slots=True)
class AddParticipants:
    """``add ROOM_ID MENTION [ROLE]…``: add people, or change the role of people already in."""

    room_id: str
    invitees: tuple[Invitee, ...]
    action: ClassVar[str] = "add"

    @property
    def participants(self) -> dict[str, Role]:
        """User id -> role, in the order mentioned."""
        return _roles(self.invitees, groups=False)

    @property
    def groups(self) -> dict[str, Role]:
        """User-group id -> role."""
        return _roles(self.invitees, groups=True)


@dataclass(frozen=True, slots=True)
class RemoveParticipants:
    """``remove ROOM_ID MENTION…``."""

    room_id: str
    mentions: tuple[Mention, ...]
    action: ClassVar[str] = "remove"


RoomCommand = (
    OpenModal
    | ShowHelp
    | ListRooms
    | ShowRoom
    | DeleteRoom
    | CreateRoom
    | ExtendRoom
    | RescheduleRoom
    | EndRoom
    | RenameRoom
    | AddParticipants
    | RemoveParticipants
)
"""Every command `parse` can return."""


@dataclass(frozen=True, slots=True)
class ParseError:
    """A refused command: a stable *code*, a *message* for the user (what was understood, an example
    that works) and, when the words were understood but the rules refused them, the *window* read.
    """

    code: ErrorCode
    message: str
    window: Window | None = None


class Refusal(Exception):
    """Raised inside the parser to stop at the first problem; `parse` returns its *error*."""

    def __init__(self, code: ErrorCode, message: str, window: Window | None = None) -> None:
        super().__init__(message)
        self.error = ParseError(code, message, window)
