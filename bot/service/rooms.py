"""RoomService: applies resolved commands to ACS and the registry, idempotently.

Every method here can be run again after a crash with the same input and ends in the same
state: a create reuses the journal key as its Repeatability-Request-ID (ACS returns the
original room), the registry upserts by room id, and extends, adds, removes and deletes set
absolute values. Permission is checked against the registry: the creator, the room's
presenters and admins may change a room, and only while roombot is enabled in its channel.
A window change is checked against ACS's limits (`bot.service.limits`) before ACS is called,
and refused in roombot's words.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime

from bot.acs import AcsError, AcsResponseError, IdentityClient, RoomNotFound, RoomsClient
from bot.domain import (
    MAX_SLACK_ID_LENGTH,
    CardChange,
    JournalEntry,
    ParticipantRecord,
    Role,
    RoomRecord,
    RoomState,
    fits_slack_id,
)
from bot.service import refusals
from bot.service.identities import UserIdentities
from bot.service.limits import window_problem
from bot.service.outcomes import ParticipantChanges, RoomChanged, ServiceError, TryLater
from bot.service.ports import People, Person
from bot.service.resolved import ResolvedCommand
from bot.store.store import Store

logger = logging.getLogger("roombot.service")

MAX_PARTICIPANTS = 250
PERSON_LOOKUPS = 8  # users.info calls at once for one command, to stay clear of rate limits
_TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


class RoomService:
    """The operations behind `/room`, given its collaborators by `bot.main`."""

    def __init__(
        self,
        *,
        rooms: RoomsClient,
        identities: IdentityClient,
        user_identities: UserIdentities,
        store: Store,
        people: People,
        admins: Iterable[str] = (),
        allowed_channels: Iterable[str] = (),
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._rooms = rooms
        self._identities = identities
        self._user_identities = user_identities
        self._store = store
        self._people = people
        self._admins = frozenset(admins)
        self._allowed_channels = frozenset(allowed_channels)
        self._clock = clock or (lambda: datetime.now(UTC))

    # --- reads ----------------------------------------------------------------------------

    async def channel_rooms(self, team_id: str, channel_id: str) -> list[RoomRecord]:
        """The channel's current and upcoming rooms, soonest first."""
        return await self._store.rooms.list_channel(team_id, channel_id, now=self._clock())

    async def room(self, team_id: str, room_id: str) -> RoomRecord:
        """A room this workspace created; ServiceError `room_not_found` otherwise."""
        record = await self._store.rooms.get(room_id)
        if record is None or record.team_id != team_id:
            raise ServiceError(
                "room_not_found",
                f"There is no room `{room_id}` here.",
                example="/room list",
            )
        return record

    def may_change(self, room: RoomRecord, user_id: str) -> bool:
        """The creator, the room's presenters and admins may change a room."""
        if user_id == room.creator_id or user_id in self._admins:
            return True
        participant = room.participant(user_id)
        return participant is not None and participant.role is Role.PRESENTER

    # --- writes ---------------------------------------------------------------------------

    async def apply(self, entry: JournalEntry, command: ResolvedCommand) -> RoomChanged:
        """Make the change; ServiceError when refused, TryLater when ACS is unreachable."""
        try:
            changes: ParticipantChanges | None = None
            if command.action == "create":
                room = await self._create(entry, command)
                journalled = entry.lease_owner is not None  # recorded with the room
            elif command.action in ("add", "remove"):
                room, changes = await self._change_people(entry, command)
                journalled = False
            else:
                room = await self._change(entry, command)
                journalled = False
        except RoomNotFound:
            raise ServiceError(
                "room_not_found",
                f"Room `{command.room_id}` no longer exists in Azure Communication Services.",
                example="/room list",
            ) from None
        except AcsResponseError as exc:
            if exc.status in _TRANSIENT_STATUSES:
                raise TryLater(exc.hint) from exc
            raise refusals.acs_refused(exc, command.action, command.room_id) from exc
        except AcsError as exc:
            raise TryLater(exc.hint) from exc
        return RoomChanged(
            verb=command.action,
            room=room,
            actor_id=entry.user_id,
            tz=command.tz,
            journalled=journalled,
            changes=changes,
            card_changed=changes is None or changes.any or _changed_since(room, entry),
            zone_note=command.zone_note,
            reminder_lead=command.reminder_lead,
        )

    async def _create(self, entry: JournalEntry, command: ResolvedCommand) -> RoomRecord:
        wanted = await self._participants(entry, command)
        raw_ids = await self._raw_ids(entry.team_id, wanted)
        room = await self._rooms.create_room(
            valid_from=command.valid_from,
            valid_until=command.valid_until,
            participants={raw_ids[user]: role for user, role in wanted.items()},
            pstn_dial_out_enabled=command.pstn_dial_out,
            repeatability_request_id=entry.key,
            repeatability_first_sent=entry.first_sent,
        )
        return await self._store.rooms.record_created(
            room_id=room.id,
            team_id=entry.team_id,
            channel_id=entry.channel_id,
            creator_id=entry.user_id,
            valid_from=room.valid_from,
            valid_until=room.valid_until,
            pstn_dial_out=room.pstn_dial_out_enabled,
            participants=[
                ParticipantRecord(user, raw_ids[user], role) for user, role in wanted.items()
            ],
            now=self._clock(),
            journal_step=(entry.key, entry.lease_owner) if entry.lease_owner else None,
            tz=command.tz,
            title=command.title,
        )

    async def _participants(self, entry: JournalEntry, command: ResolvedCommand) -> dict[str, Role]:
        """Named users win over group membership; the invoker presents unless they said so."""
        example = _people_example(command)
        wanted: dict[str, Role] = {}
        for group, role in command.groups.items():
            try:
                members = await self._people.group_members(entry.team_id, group)
            except ServiceError as refusal:
                raise ServiceError(refusal.code, refusal.message, example=example) from refusal
            for member in members:
                wanted.setdefault(member, role)
        wanted.update(command.participants)
        if command.action == "create":
            wanted.setdefault(entry.user_id, Role.PRESENTER)
        if len(wanted) > MAX_PARTICIPANTS:
            raise ServiceError(
                "too_many_participants",
                f"That is {len(wanted)} people; a room takes at most {MAX_PARTICIPANTS}.",
                example=example,
            )
        refuse_unstorable_ids(wanted)
        await self._refuse_non_people(entry, [u for u in command.participants if u in wanted])
        return wanted

    async def _refuse_non_people(self, entry: JournalEntry, named: Iterable[str]) -> None:
        """Bots (roombot itself included) and other workspaces' users never become ACS
        participants: ServiceError naming each of them, before any identity is made.

        Only people named one by one are asked about (one cached `users.info` each); a user
        group's members are this workspace's people by Slack's own list.
        """
        others = [user for user in dict.fromkeys(named) if user != entry.user_id]
        if not others:
            return
        turns = asyncio.Semaphore(PERSON_LOOKUPS)

        async def look_up(user: str) -> Person:
            async with turns:
                return await self._people.person(entry.team_id, user)

        people = await asyncio.gather(*(look_up(user) for user in others))
        reasons = [
            f"<@{p.user_id}> is a bot" if p.is_bot else f"<@{p.user_id}> is in another workspace"
            for p in people
            if p.is_bot or (p.known and p.team_id is not None and p.team_id != entry.team_id)
        ]
        if reasons:
            raise ServiceError(
                "not_a_person_here",
                "Only people of this workspace can join a room, and "
                + _listed(reasons)
                + ". Leave them out and try again.",
                example="/room create tomorrow @alice presenter",
            )

    async def _raw_ids(self, team_id: str, users: Mapping[str, Role]) -> dict[str, str]:
        mappings = await self._user_identities.get_or_create_many(
            team_id, list(users), now=self._clock()
        )
        return {user: mapping.acs_raw_id for user, mapping in mappings.items()}

    async def _room_to_change(self, entry: JournalEntry, command: ResolvedCommand) -> RoomRecord:
        """The room *command* names, if its asker may change it; ServiceError otherwise."""
        assert command.room_id is not None, "only create has no room id"
        room = await self.room(entry.team_id, command.room_id)
        if self._allowed_channels and room.channel_id not in self._allowed_channels:
            # The channel it was asked from was checked on the way in; a room that lives in a
            # channel roombot is no longer enabled in stays as it is, whoever asks from where.
            raise ServiceError(
                "channel_not_enabled",
                f"Room `{room.room_id}` belongs to <#{room.channel_id}>, where roombot is not "
                "enabled; ask an admin.",
            )
        if not self.may_change(room, entry.user_id):
            raise ServiceError(
                "not_allowed",
                f"Only the room's creator (<@{room.creator_id}>), its presenters or an admin "
                f"can {_what_they_may(command.action, room.room_id)}.",
            )
        return room

    async def _change(self, entry: JournalEntry, command: ResolvedCommand) -> RoomRecord:
        room = await self._room_to_change(entry, command)
        now = self._clock()
        if command.action == "delete":
            if room.active:
                try:
                    await self._rooms.delete_room(room.room_id)
                except RoomNotFound:
                    logger.info("room %s was already gone from ACS", room.room_id)
            return await self._store.rooms.mark_deleted(room.room_id, now=now)
        if command.action == "end" and room.state is RoomState.ENDED:
            return room  # a resumed end whose room was already recorded as ended
        if not room.active:
            raise refusals.room_over(room)
        if command.action == "extend":
            assert command.valid_until is not None, "an extend carries its new end"
            problem = window_problem(room.valid_from, command.valid_until, now)
            if problem is not None:
                raise refusals.extend_refused(room, command.valid_until, problem, command.tz)
            return await self._set_window(
                room, valid_until=command.valid_until, now=now, change=_change(entry, command)
            )
        if command.action == "reschedule":
            assert command.valid_from is not None, "a reschedule carries its new start"
            assert command.valid_until is not None, "a reschedule carries its new end"
            problem = window_problem(command.valid_from, command.valid_until, now)
            if problem is not None:
                raise refusals.reschedule_refused(
                    room, command.valid_from, command.valid_until, problem, command.tz
                )
            return await self._set_window(
                room,
                valid_from=command.valid_from,
                valid_until=command.valid_until,
                now=now,
                change=_change(entry, command),
            )
        if command.action == "end":
            assert command.valid_until is not None, "an end carries the moment it was asked for"
            return await self._end(room, command.valid_until, command.tz, now=now)
        if command.action == "rename":  # ACS has no title: only the registry changes
            return await self._store.rooms.set_title(
                room.room_id, command.title, now=now, change=_change(entry, command)
            )
        raise ServiceError("unknown_command", f"Cannot {command.action} a room.")

    async def _change_people(
        self, entry: JournalEntry, command: ResolvedCommand
    ) -> tuple[RoomRecord, ParticipantChanges]:
        """`add` or `remove`, and what it did person by person."""
        room = await self._room_to_change(entry, command)
        if not room.active:
            raise refusals.room_over(room)
        if command.action == "add":
            return await self._add(entry, command, room, self._clock())
        return await self._remove(entry, command, room, self._clock())

    async def _add(
        self, entry: JournalEntry, command: ResolvedCommand, room: RoomRecord, now: datetime
    ) -> tuple[RoomRecord, ParticipantChanges]:
        """Add people or change their roles; nothing is sent anywhere when nothing changes."""
        wanted = await self._participants(entry, command)
        changes = _additions(room, wanted)
        if not changes.any:
            return room, changes
        raw_ids = await self._raw_ids(entry.team_id, wanted)
        await self._rooms.add_or_update_participants(
            room.room_id, {raw_ids[user]: role for user, role in wanted.items()}
        )
        updated = await self._store.rooms.upsert_participants(
            room.room_id,
            [ParticipantRecord(user, raw_ids[user], role) for user, role in wanted.items()],
            now=now,
            change=_change(entry, command),
        )
        return updated, changes

    async def _remove(
        self, entry: JournalEntry, command: ResolvedCommand, room: RoomRecord, now: datetime
    ) -> tuple[RoomRecord, ParticipantChanges]:
        """Take people out; nothing is sent anywhere when none of them is in the room."""
        leaving = [p for p in room.participants if p.slack_user_id in command.removals]
        changes = ParticipantChanges(
            removed=tuple(p.slack_user_id for p in leaving),
            absent=tuple(user for user in command.removals if room.participant(user) is None),
        )
        if not leaving:
            return room, changes
        await self._rooms.remove_participants(room.room_id, [p.acs_raw_id for p in leaving])
        updated = await self._store.rooms.remove_participants(
            room.room_id,
            [p.slack_user_id for p in leaving],
            now=now,
            change=_change(entry, command),
        )
        return updated, changes

    async def _set_window(
        self,
        room: RoomRecord,
        *,
        valid_from: datetime | None = None,
        valid_until: datetime | None = None,
        now: datetime,
        change: CardChange,
    ) -> RoomRecord:
        """Set the room's window in ACS, then record what ACS answered."""
        updated = await self._rooms.update_room(
            room.room_id, valid_from=valid_from, valid_until=valid_until
        )
        return await self._store.rooms.update_window(
            room.room_id,
            valid_from=updated.valid_from,
            valid_until=updated.valid_until,
            now=now,
            change=change,
        )

    async def _end(
        self, room: RoomRecord, ended_at: datetime, tz: str, *, now: datetime
    ) -> RoomRecord:
        """Close an open room at once: delete it in ACS and record it as ended at *ended_at*.

        Why delete: ACS refuses a validUntil in the past, so "ends now" cannot be a PATCH (by
        the time ACS reads it, now has passed; and a validUntil of now plus a margin leaves the
        room joinable for that margin). Deleting closes it for everyone at once. The registry
        keeps the room, as ended rather than deleted, so its card says when it closed.
        """
        if not room.valid_from <= ended_at < room.valid_until:
            raise refusals.end_not_open(room, ended_at, tz)
        try:
            await self._rooms.delete_room(room.room_id)
        except RoomNotFound:
            logger.info("room %s was already gone from ACS", room.room_id)
        return await self._store.rooms.mark_ended(room.room_id, ended_at=ended_at, now=now)


def _change(entry: JournalEntry, command: ResolvedCommand) -> CardChange:
    """The change *command* makes, as the room's card will announce it."""
    return CardChange(verb=command.action, actor_id=entry.user_id)


def _people_example(command: ResolvedCommand) -> str:
    """A command naming people that works, about the person's own room when there is one."""
    if command.room_id is not None:
        return f"/room {command.action} {command.room_id} @alice @bob"
    return "/room create tomorrow @alice @bob"


def _additions(room: RoomRecord, wanted: Mapping[str, Role]) -> ParticipantChanges:
    """What adding *wanted* (user -> role) to *room* changes, person by person."""
    added: list[tuple[str, Role]] = []
    changed: list[tuple[str, Role, Role]] = []
    kept: list[tuple[str, Role]] = []
    for user, role in wanted.items():
        current = room.participant(user)
        if current is None:
            added.append((user, role))
        elif current.role is not role:
            changed.append((user, current.role, role))
        else:
            kept.append((user, role))
    return ParticipantChanges(added=tuple(added), changed=tuple(changed), kept=tuple(kept))


def _changed_since(room: RoomRecord, entry: JournalEntry) -> bool:
    """Whether *room* changed after *entry* was accepted: perhaps by this very command, in a
    run cut off before the journal recorded it, so its message may not show it yet."""
    return room.updated_at >= entry.accepted_at


_WHAT_THEY_MAY = {
    "add": "add people to room `{room}`",
    "remove": "remove people from room `{room}`",
}


def _what_they_may(action: str, room_id: str) -> str:
    """What was refused, in words: "extend room `R`", "add people to room `R`"."""
    return _WHAT_THEY_MAY.get(action, action + " room `{room}`").format(room=room_id)


def refuse_unstorable_ids(users: Iterable[str]) -> None:
    """ServiceError naming the Slack user ids among *users* that are longer than the columns
    holding them: refused where they arrive (the ack, and here before any identity is made)
    rather than failing in a write after an ACS identity was created for them."""
    unusable = [user for user in users if not fits_slack_id(user)]
    if unusable:
        shown = _listed([f"`{user[:40]}{'…' if len(user) > 40 else ''}`" for user in unusable[:3]])
        what = "is not a Slack user id" if len(unusable) == 1 else "are not Slack user ids"
        raise ServiceError(
            "unusable_user_id",
            f"{shown} {what} I can use: Slack ids are at most "
            f"{MAX_SLACK_ID_LENGTH} characters. Mention people with Slack's @ menu.",
            example="/room create tomorrow @alice presenter",
        )


def _listed(parts: list[str]) -> str:
    """`a`, `a and b`, `a, b and c`."""
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
