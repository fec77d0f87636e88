"""Frozen values shared by every layer (parsing, service, store, Slack, ACS adapters).

Only plain Python types live here, so that no layer has to import another layer's wire
or storage models to talk to it: the store takes and returns these, the service works on them,
and the Slack layer shows them without importing the store.

Every datetime here is timezone-aware (UTC when it comes from the database): SQLite keeps no
offset, so the store re-attaches UTC at the edge rather than letting naive values escape.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any


class Role(enum.StrEnum):
    """A room participant's role, spelled as the ACS Rooms service spells it."""

    PRESENTER = "Presenter"
    ATTENDEE = "Attendee"
    CONSUMER = "Consumer"
    COLLABORATOR = "Collaborator"

    @classmethod
    def from_word(cls, word: str) -> Role | None:
        """The role a user's word names (any case), or None when it names none."""
        return _ROLE_WORDS.get(word.casefold())


_ROLE_WORDS = {role.value.casefold(): role for role in Role}


MAX_SLACK_ID_LENGTH = 32
"""The width of every column holding a Slack id (team, user, channel): a longer id cannot be
stored, so it is refused where it arrives instead of failing deep in a write (on PostgreSQL,
after an ACS identity was already made for it)."""


def fits_slack_id(value: str) -> bool:
    """Whether *value* can be stored as a Slack id (at most 32 characters)."""
    return len(value) <= MAX_SLACK_ID_LENGTH


RESPONSE_URL_LIFETIME = timedelta(minutes=30)
"""Slack accepts posts to a slash command's response_url for this long after the command."""

RESPONSE_URL_MAX_USES = 5
"""Slack accepts at most this many posts to one response_url."""


def new_journal_key() -> str:
    """A fresh journal key, also usable as an ACS Repeatability-Request-ID."""
    return str(uuid.uuid4())


def _require_aware(name: str, value: datetime | None) -> None:
    if value is not None and value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


# --- identity directory ---------------------------------------------------------------------


class IdentitySource(enum.StrEnum):
    """How a mapping came to be: the bot created the ACS user, or an admin imported it."""

    PROVISIONED = "provisioned"
    IMPORTED = "imported"


@dataclass(frozen=True, slots=True)
class IdentityMapping:
    """One Slack user's ACS communication identity."""

    team_id: str
    slack_user_id: str
    acs_raw_id: str
    source: IdentitySource
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ImportRow:
    """One mapping to import; *line* is where it came from, so problems can point at it."""

    line: int
    team_id: str
    slack_user_id: str
    acs_raw_id: str


@dataclass(frozen=True, slots=True)
class RowProblem:
    """Why the row at *line* cannot be imported, in words an admin can act on."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import did (or, for a dry run, would do)."""

    inserted: int = 0
    unchanged: int = 0
    replaced: int = 0
    repeated: int = 0
    """Rows that repeat an earlier row of the same import exactly; counted once."""


# --- room registry --------------------------------------------------------------------------


class RoomState(enum.StrEnum):
    """active -> deleted (`delete`: cancelled), or active -> ended (`end`: closed early)."""

    ACTIVE = "active"
    DELETED = "deleted"
    ENDED = "ended"


@dataclass(frozen=True, slots=True)
class ParticipantRecord:
    """A Slack user in a room, with the ACS identity and role the room knows them by."""

    slack_user_id: str
    acs_raw_id: str
    role: Role


@dataclass(frozen=True, slots=True)
class PostedMessage:
    """The Slack message that shows a room, so it can be updated when the room changes."""

    channel_id: str
    ts: str


@dataclass(frozen=True, slots=True)
class CardChange:
    """The last change made to a room (`extend`, `rename`…) and who made it.

    The room's card announces it in its headline ("Room extended by @ann"). It is kept with
    the room, written in the same transaction as the change, so any later redraw of the card
    (a calling event, an admitted knock) says what the card said rather than "Room ready".
    """

    verb: str
    actor_id: str


@dataclass(frozen=True, slots=True)
class RoomRecord:
    """A room as the bot last recorded it; participants are ordered by Slack user id."""

    room_id: str
    team_id: str
    channel_id: str
    creator_id: str
    valid_from: datetime
    valid_until: datetime
    pstn_dial_out: bool
    participants: tuple[ParticipantRecord, ...]
    message: PostedMessage | None
    state: RoomState
    created_at: datetime
    updated_at: datetime
    tz: str | None = None
    """The creator's IANA zone when the room was made, for the fallback text of its dates;
    None for rooms recorded before the registry kept it."""
    title: str | None = None
    """The room's title ("Design review"); ACS has no such field, so only the registry has it."""
    last_change: CardChange | None = None
    """What the card's headline announces; None until the room is first changed."""

    @property
    def active(self) -> bool:
        return self.state is RoomState.ACTIVE

    def participant(self, slack_user_id: str) -> ParticipantRecord | None:
        """The participant with *slack_user_id*, or None when they are not in the room."""
        return next((p for p in self.participants if p.slack_user_id == slack_user_id), None)


# --- command journal ------------------------------------------------------------------------


class JournalState(enum.StrEnum):
    """accepted -> room_created -> answered, or accepted -> failed -> answered; never back."""

    ACCEPTED = "accepted"
    ROOM_CREATED = "room_created"
    FAILED = "failed"
    ANSWERED = "answered"


UNFINISHED_STATES = frozenset(
    {JournalState.ACCEPTED, JournalState.ROOM_CREATED, JournalState.FAILED}
)


@dataclass(frozen=True, slots=True)
class NewJournalEntry:
    """A command to journal at ack time; *key* is a UUID reused as the Repeatability-Request-ID.

    *first_sent* defaults to *accepted_at*: ACS wants the same Repeatability-First-Sent on every
    retry of one request, so it is fixed here once rather than at each attempt.
    """

    key: str
    command: Mapping[str, Any] = field(hash=False)
    team_id: str
    user_id: str
    channel_id: str
    response_url: str | None
    accepted_at: datetime
    first_sent: datetime | None = None

    def __post_init__(self) -> None:
        try:
            canonical = str(uuid.UUID(self.key))
        except ValueError:
            raise ValueError(f"journal key {self.key!r} is not a UUID") from None
        if canonical != self.key:
            raise ValueError(f"journal key {self.key!r} must be a lower-case hyphenated UUID")
        _require_aware("accepted_at", self.accepted_at)
        _require_aware("first_sent", self.first_sent)


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """A journalled command and how far it got; `command` is the caller's JSON, untouched."""

    key: str
    first_sent: datetime
    command: Mapping[str, Any] = field(hash=False)
    team_id: str
    user_id: str
    channel_id: str
    response_url: str | None
    response_url_expires_at: datetime
    response_url_uses: int
    accepted_at: datetime
    state: JournalState
    room_id: str | None
    error_code: str | None
    error_message: str | None
    attempts: int
    last_error: str | None
    lease_owner: str | None
    lease_until: datetime | None
    answered_at: datetime | None
    updated_at: datetime
    failures: int = 0
    """How many attempts ended in an unexpected error (not ACS or Slack being unreachable)."""

    @property
    def finished(self) -> bool:
        return self.state is JournalState.ANSWERED

    def response_url_usable(self, now: datetime) -> bool:
        """True while Slack would still accept one more post to the response_url at *now*."""
        return (
            self.response_url is not None
            and now < self.response_url_expires_at
            and self.response_url_uses < RESPONSE_URL_MAX_USES
        )


# --- join codes and knocks ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class JoinGrant:
    """What a join code was minted for: this person, in this workspace, into this room."""

    team_id: str
    user_id: str
    room_id: str
    display_name: str
    expires_at: datetime


class RedeemFailure(enum.StrEnum):
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"


class KnockState(enum.StrEnum):
    PENDING = "pending"
    ADMITTED = "admitted"
    DENIED = "denied"


@dataclass(frozen=True, slots=True)
class Knock:
    """A request to join a room from someone not on its roster; decided once."""

    id: str
    team_id: str
    room_id: str
    user_id: str
    display_name: str
    state: KnockState
    created_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Presence:
    """One ACS identity in a room's call, as of its latest event."""

    acs_raw_id: str
    slack_user_id: str | None
    display_name: str
    present: bool
    event_at: datetime
    told_slack: bool


@dataclass(frozen=True, slots=True)
class RoomCall:
    """A room's Slack call and what the ACS events said of its call."""

    room_id: str
    team_id: str
    slack_call_id: str
    registered_at: datetime
    slack_ended_at: datetime | None
    acs_call_id: str | None
    acs_started_at: datetime | None
    acs_ended_at: datetime | None
    people: tuple[Presence, ...] = ()

    @property
    def ended(self) -> bool:
        """The latest ACS call has ended (and none started after it)."""
        return self.acs_ended_at is not None

    def in_call(self) -> tuple[Presence, ...]:
        """Who is in the call now: present as of an event after the call's end, if it ended.

        A join whose event is older than the call's end was part of that call, now over.
        """
        if self.acs_started_at is None and self.acs_ended_at is None:
            return ()
        ended = self.acs_ended_at
        return tuple(
            person
            for person in self.people
            if person.present and (ended is None or person.event_at > ended)
        )


DEFAULT_REMINDER_LEAD = timedelta(minutes=5)
"""How long before a room opens its people are reminded, unless the room says otherwise."""


@dataclass(frozen=True, slots=True)
class Preferences:
    """A person's own defaults: a room's length when they name none, and whether to be
    reminded when their rooms open. None for the length: the workspace's default."""

    default_length: timedelta | None = None
    reminders: bool = True


@dataclass(frozen=True, slots=True)
class Reminder:
    """One person's reminder of one room, as claimed for sending."""

    id: str
    room_id: str
    team_id: str
    user_id: str
    opens_at: datetime
    due_at: datetime
    attempts: int
    first_claimed_at: datetime | None = None
    """When any replica first claimed it: an earlier attempt's message cannot be older."""
    outcome_unknown: bool = False
    """An earlier attempt may have been delivered: its lease ran out with no outcome recorded
    (a crash, or an answer from Slack that never came). Look before sending again."""
