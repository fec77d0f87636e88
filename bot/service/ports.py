"""What the service needs from the chat side, as protocols of plain values.

The Slack layer implements these; the service never sees a Slack type. Keeping them narrow
is what lets the journal worker finish a command after a restart without the request that
started it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.service.outcomes import Outcome
from bot.store.records import JournalEntry, PostedMessage


@dataclass(frozen=True, slots=True)
class UserZone:
    """Where a user's words about time are read: IANA zone and locale (`en-US`)."""

    tz: str
    locale: str = "en-US"


class People(Protocol):
    """Who people are: their time zone, and who is in a user group."""

    async def zone(self, team_id: str, user_id: str) -> UserZone: ...

    async def group_members(self, team_id: str, group_id: str) -> list[str]: ...


class Answerer(Protocol):
    """Tells the person who asked how their command ended.

    Returns the message that now shows the room, when one was posted or updated, so the
    registry can update it when the room changes later.
    """

    async def answer(self, entry: JournalEntry, outcome: Outcome) -> PostedMessage | None: ...

    async def delayed(self, entry: JournalEntry, reason: str) -> None: ...
