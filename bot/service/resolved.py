"""Resolved commands: what the journal pins before any side effect.

A command as typed ("extend by 2 days", "in 2 hours") depends on when and where it is read.
Before touching ACS, the worker turns it into absolute values and pins them in the journal, so
a re-run after a crash repeats exactly the same change: the same repeatability key for a
create, the same end time for an extend, the same participant set for add and remove.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.domain import Role
from bot.parsing.zone_checks import tz_or_utc

RESOLVED = "resolved"
TEXT = "text"
NOTE_SHOWN = "note_shown"
"""Key of a journalled command whose ack showed a working note ("⏳ Creating your room…") through
the command's response_url: the answer replaces or deletes that note. It is kept when the
command is pinned; a button press or a form has no such note, and its response_url's original
message must never be replaced."""


@dataclass(frozen=True, slots=True)
class ResolvedCommand:
    """One change to make; fields beyond *action* are set as the action needs them."""

    action: str  # create | extend | reschedule | end | rename | add | remove | delete
    room_id: str | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    participants: Mapping[str, Role] = field(default_factory=dict)  # Slack user -> role
    groups: Mapping[str, Role] = field(default_factory=dict)  # Slack user group -> role
    removals: tuple[str, ...] = ()
    pstn_dial_out: bool = False
    tz: str = "UTC"
    title: str | None = None  # create and rename
    zone_note: str | None = None  # create: how a zone named in the text was read
    remind_minutes: int | None = None  # create: `remind 15m` (bot.service.room_watch)

    @property
    def reminder_lead(self) -> timedelta | None:
        """The reminders' lead time a create asked for (`remind 15m`); None if it did not."""
        if self.action != "create" or self.remind_minutes is None:
            return None
        return timedelta(minutes=max(0, self.remind_minutes))

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": RESOLVED,
            "action": self.action,
            "room_id": self.room_id,
            "valid_from": self.valid_from.isoformat() if self.valid_from else None,
            "valid_until": self.valid_until.isoformat() if self.valid_until else None,
            "participants": {user: role.value for user, role in self.participants.items()},
            "groups": {group: role.value for group, role in self.groups.items()},
            "removals": list(self.removals),
            "pstn_dial_out": self.pstn_dial_out,
            "tz": self.tz,
            "title": self.title,
            "zone_note": self.zone_note,
            "remind_minutes": self.remind_minutes,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ResolvedCommand:
        return cls(
            action=str(data["action"]),
            room_id=data.get("room_id"),
            valid_from=_time(data.get("valid_from")),
            valid_until=_time(data.get("valid_until")),
            participants={u: Role(r) for u, r in (data.get("participants") or {}).items()},
            groups={g: Role(r) for g, r in (data.get("groups") or {}).items()},
            removals=tuple(data.get("removals") or ()),
            pstn_dial_out=bool(data.get("pstn_dial_out")),
            tz=tz_or_utc(data.get("tz")),
            title=data.get("title"),
            zone_note=data.get("zone_note"),
            remind_minutes=_minutes(data.get("remind_minutes")),
        )


def text_command(text: str, *, locale: str | None) -> dict[str, Any]:
    """The journal form of a command as typed, read later in the user's zone."""
    return {"kind": TEXT, "text": text, "locale": locale}


def with_note_shown(command: Mapping[str, Any]) -> dict[str, Any]:
    """*command* marked as acked with a working note its answer replaces (`NOTE_SHOWN`)."""
    return {**command, NOTE_SHOWN: True}


def note_shown(command: Mapping[str, Any]) -> bool:
    return command.get(NOTE_SHOWN) is True


def _minutes(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
