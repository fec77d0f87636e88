"""One builder of journal entries for every test package (it was copied into three)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot.domain import NewJournalEntry, new_journal_key

CREATE_TOMORROW: Mapping[str, Any] = {"kind": "text", "text": "create tomorrow"}
"""The command most tests journal: `/room create tomorrow`, as the listener stores it."""


def new_entry(
    *,
    accepted_at: datetime,
    key: str | None = None,
    command: Mapping[str, Any] | None = None,
    team_id: str = "T1",
    user_id: str = "U1",
    channel_id: str = "C1",
    response_url: str | None = None,
    first_sent: datetime | None = None,
) -> NewJournalEntry:
    """A command as the ack journals it: a fresh key and `CREATE_TOMORROW` unless given."""
    return NewJournalEntry(
        key=key or new_journal_key(),
        command=dict(CREATE_TOMORROW if command is None else command),
        team_id=team_id,
        user_id=user_id,
        channel_id=channel_id,
        response_url=response_url,
        accepted_at=accepted_at,
        first_sent=first_sent,
    )
