"""From a journalled command as typed to a `ResolvedCommand` with absolute values.

The words are read in the asker's zone at the moment the command was accepted (not when a
worker gets to it), so a command finished after a restart means what it meant when typed.
Relative changes ("extend by 2 days") are resolved against the registry here, once, and the
result is pinned in the journal by the runner.
"""

from __future__ import annotations

from datetime import timedelta

from bot.domain import JournalEntry, RoomRecord
from bot.parsing import commands as parsed
from bot.parsing.parser import parse
from bot.parsing.timemath import DEFAULT_LENGTH
from bot.parsing.zone_checks import usable_locale
from bot.service import refusals
from bot.service.outcomes import ServiceError
from bot.service.ports import People
from bot.service.resolved import ResolvedCommand
from bot.store.rooms import RoomRegistry


def resolved_create(command: parsed.CreateRoom, *, tz: str) -> ResolvedCommand:
    """A create read in *tz*: already absolute, it needs nothing but its words and zone."""
    return ResolvedCommand(
        action="create",
        valid_from=command.valid_from,
        valid_until=command.valid_until,
        participants=command.participants,
        groups=command.groups,
        pstn_dial_out=command.pstn_dial_out,
        tz=tz,
        title=command.title,
        zone_note=command.zone_note,
        remind_minutes=command.remind_minutes,
    )


class Interpreter:
    """Reads journal entries' text in their author's zone and resolves it."""

    def __init__(
        self,
        *,
        people: People,
        registry: RoomRegistry,
        default_length: timedelta = DEFAULT_LENGTH,
    ) -> None:
        self._people = people
        self._registry = registry
        self._default_length = default_length

    async def resolve(self, entry: JournalEntry) -> ResolvedCommand:
        """The absolute change the entry asks for; ServiceError when the words are refused."""
        zone = await self._people.zone(entry.team_id, entry.user_id)
        locale = usable_locale(entry.command.get("locale")) or zone.locale
        result = parse(
            str(entry.command.get("text", "")),
            now=entry.accepted_at,
            tz=zone.tz,
            locale=locale,
            default_length=self._default_length,
        )
        if isinstance(result, parsed.ParseError):
            raise ServiceError(str(result.code), result.message)
        return await self.resolve_command(entry, result, tz=zone.tz)

    async def resolve_command(
        self, entry: JournalEntry, command: parsed.RoomCommand, *, tz: str
    ) -> ResolvedCommand:
        match command:
            case parsed.CreateRoom():
                return resolved_create(command, tz=tz)
            case parsed.ExtendRoom():
                room = await self._room(entry, command.room_id)
                new_end = command.new_valid_until(room.valid_until)
                if room.active and new_end <= room.valid_until:
                    # Checked once, here, before the end is pinned: a resumed extend whose
                    # change was already recorded must not now look like a shortening.
                    raise refusals.not_later(room, new_end, tz)
                return ResolvedCommand(
                    action="extend", room_id=command.room_id, valid_until=new_end, tz=tz
                )
            case parsed.RescheduleRoom():
                return ResolvedCommand(
                    action="reschedule",
                    room_id=command.room_id,
                    valid_from=command.valid_from,
                    valid_until=command.valid_until,
                    tz=tz,
                )
            case parsed.EndRoom():
                # "Now" is when it was asked for, pinned, so a resumed end closes at that moment.
                return ResolvedCommand(
                    action="end", room_id=command.room_id, valid_until=entry.accepted_at, tz=tz
                )
            case parsed.RenameRoom():
                return ResolvedCommand(
                    action="rename", room_id=command.room_id, title=command.title, tz=tz
                )
            case parsed.AddParticipants():
                return ResolvedCommand(
                    action="add",
                    room_id=command.room_id,
                    participants=command.participants,
                    groups=command.groups,
                    tz=tz,
                )
            case parsed.RemoveParticipants():
                leaving: list[str] = []
                for mention in command.mentions:
                    if mention.is_group:
                        try:
                            leaving += await self._people.group_members(entry.team_id, mention.id)
                        except ServiceError as refusal:
                            example = f"/room remove {command.room_id} @alice"
                            raise ServiceError(
                                refusal.code, refusal.message, example=example
                            ) from refusal
                    else:
                        leaving.append(mention.id)
                return ResolvedCommand(
                    action="remove",
                    room_id=command.room_id,
                    removals=tuple(dict.fromkeys(leaving)),
                    tz=tz,
                )
            case parsed.DeleteRoom():
                return ResolvedCommand(action="delete", room_id=command.room_id, tz=tz)
        raise ServiceError(
            "not_a_change", f"`{command.action}` does not change a room.", example="/room help"
        )

    async def _room(self, entry: JournalEntry, room_id: str) -> RoomRecord:
        room = await self._registry.get(room_id)
        if room is None or room.team_id != entry.team_id:
            raise ServiceError(
                "room_not_found", f"There is no room `{room_id}` here.", example="/room list"
            )
        return room
