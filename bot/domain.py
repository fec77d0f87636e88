"""Frozen values shared by every layer (parsing, service, store, Slack, ACS adapters).

Only plain Python types live here, so that no layer has to import another layer's wire
or storage models to talk to it.
"""

from __future__ import annotations

import enum


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
