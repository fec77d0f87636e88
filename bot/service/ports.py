"""What the service needs from the chat side, as protocols of plain values.

The Slack layer implements these; the service never sees a Slack type. Keeping them narrow
is what lets the journal worker finish a command after a restart without the request that
started it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.acs.models import CommunicationIdentity
from bot.domain import JournalEntry, PostedMessage, Preferences, RoomCall, RoomRecord
from bot.service.outcomes import Outcome


@dataclass(frozen=True, slots=True)
class UserZone:
    """Where a user's words about time are read: IANA zone and locale (`en-US`)."""

    tz: str
    locale: str = "en-US"


@dataclass(frozen=True, slots=True)
class Person:
    """What Slack says about someone mentioned: enough to know whether they may join a room.

    *known* is False when Slack would not say (user not found or not visible): such a
    mention is let through, as before, since nothing shows it is not a person here.
    """

    user_id: str
    zone: UserZone
    known: bool = True
    is_bot: bool = False
    team_id: str | None = None
    """The workspace the user belongs to; another one's for a Slack Connect guest."""


class People(Protocol):
    """Who people are: their time zone, whether they are people of this workspace, and who
    is in a user group."""

    async def zone(self, team_id: str, user_id: str) -> UserZone: ...

    async def person(self, team_id: str, user_id: str) -> Person: ...

    async def group_members(self, team_id: str, group_id: str) -> list[str]: ...


class Answerer(Protocol):
    """Tells the person who asked how their command ended.

    Returns the message that now shows the room, when one was posted or updated, so the
    registry can update it when the room changes later.
    """

    async def answer(self, entry: JournalEntry, outcome: Outcome) -> PostedMessage | None: ...

    async def delayed(self, entry: JournalEntry, reason: str) -> None: ...

    async def last_word(self, entry: JournalEntry, outcome: Outcome) -> bool:
        """How a command the journal gave up on ended, by any route still open (a direct
        message when the channel is gone); False when nobody could be told."""
        ...


class ResponseUrlUses(Protocol):
    """The journal's count of posts to each command's response_url, kept by the service.

    Slack takes at most 5 posts to one response_url within 30 minutes, and replicas share
    that budget: the answerer asks here before each post it needs reserved, and posts
    through the Web API instead when told no. The write happens in the service, so the
    Slack layer only posts.
    """

    async def reserve(self, key: str) -> bool:
        """Take one post to the response_url of the command journalled as *key*; False when
        Slack would refuse it (none, expired, used up)."""
        ...


class AcsIdentities(Protocol):
    """ACS's identity API as the service uses it; `bot.acs.client.IdentityClient` is one."""

    async def create_user(self) -> CommunicationIdentity: ...

    async def delete_user(self, raw_id: str) -> None: ...


class RoomLookup(Protocol):
    """Rooms as recorded (`bot.store.rooms.RoomRegistry`), for layers that only show them."""

    async def get(self, room_id: str) -> RoomRecord | None:
        """The room, deleted or not; None when it was never recorded."""
        ...

    async def get_many(self, room_ids: Sequence[str]) -> list[RoomRecord]:
        """The recorded rooms among *room_ids*, in that order."""
        ...


class HomeRecords(Protocol):
    """People's App Home defaults and their rooms (`bot.store.reminders.HomeStore`)."""

    async def preferences(self, team_id: str, user_id: str) -> Preferences: ...

    async def set_preferences(
        self, team_id: str, user_id: str, preferences: Preferences, *, now: datetime
    ) -> None: ...

    async def room_ids_of(
        self, team_id: str, user_id: str, *, now: datetime, limit: int, offset: int = 0
    ) -> tuple[list[str], int]: ...

    async def mark_opened(self, team_id: str, user_id: str, *, now: datetime) -> None: ...


class CallRecordsPort(Protocol):
    """Rooms' Slack calls and who is in them (`bot.store.calls.CallRecords`)."""

    async def get(self, room_id: str) -> RoomCall | None: ...

    async def register(
        self, *, room_id: str, team_id: str, slack_call_id: str, now: datetime
    ) -> RoomCall: ...

    async def mark_slack_ended(self, room_id: str, *, now: datetime) -> bool: ...

    async def told_slack(self, room_id: str, acs_raw_id: str, *, present: bool) -> None: ...


class JournalEnding(Protocol):
    """Ending a journalled command without running it (`bot.store.journal.Journal`)."""

    async def mark_failed(
        self, key: str, code: str, message: str, worker_id: str, *, now: datetime
    ) -> JournalEntry: ...

    async def mark_answered(
        self,
        key: str,
        worker_id: str,
        *,
        now: datetime,
        room_message: tuple[str, PostedMessage] | None = None,
    ) -> JournalEntry: ...
