"""The room registry on both engines."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from bot.domain import (
    CardChange,
    JournalEntry,
    ParticipantRecord,
    PostedMessage,
    Role,
    RoomRecord,
    RoomState,
)
from bot.store import RoomDeleted, RoomNotFound, Store
from tests.journal_entries import new_entry
from tests.store.helpers import NOW

HOUR = timedelta(hours=1)
ALICE = ParticipantRecord("UALICE", "8:acs:r_alice", Role.PRESENTER)
BOB = ParticipantRecord("UBOB", "8:acs:r_bob", Role.ATTENDEE)
CAROL = ParticipantRecord("UCAROL", "8:acs:r_carol", Role.CONSUMER)


async def _room(
    store: Store,
    room_id: str,
    *,
    start: datetime = NOW,
    length: timedelta = HOUR,
    channel_id: str = "C1",
    team_id: str = "T1",
    participants: tuple[ParticipantRecord, ...] = (ALICE,),
) -> RoomRecord:
    return await store.rooms.record_created(
        room_id=room_id,
        team_id=team_id,
        channel_id=channel_id,
        creator_id="UALICE",
        valid_from=start,
        valid_until=start + length,
        pstn_dial_out=False,
        participants=participants,
        now=NOW,
    )


async def test_record_created_then_get(store: Store) -> None:
    """A recorded room comes back whole, participants ordered by Slack user id."""
    created = await _room(store, "99000000000000001", participants=(BOB, ALICE))
    assert created == RoomRecord(
        room_id="99000000000000001",
        team_id="T1",
        channel_id="C1",
        creator_id="UALICE",
        valid_from=NOW,
        valid_until=NOW + HOUR,
        pstn_dial_out=False,
        participants=(ALICE, BOB),  # ordered by Slack user id
        message=None,
        state=RoomState.ACTIVE,
        created_at=NOW,
        updated_at=NOW,
    )
    assert await store.rooms.get("99000000000000001") == created
    assert await store.rooms.get("99000000000000404") is None
    assert created.participant("UBOB") == BOB
    assert created.participant("UNOBODY") is None


async def test_recording_the_same_room_again_keeps_the_first_record(store: Store) -> None:
    """A journal retry gets the same room back from ACS and records it again: no change."""
    first = await _room(store, "99000000000000001", participants=(ALICE,))
    again = await _room(store, "99000000000000001", participants=(BOB, CAROL), length=2 * HOUR)
    assert again == first
    both = await asyncio.gather(
        _room(store, "99000000000000002"), _room(store, "99000000000000002")
    )
    assert both[0] == both[1]


async def test_a_window_that_ends_before_it_starts_is_refused(store: Store) -> None:
    """An empty window is a caller bug: refused before anything is written."""
    with pytest.raises(ValueError, match="not before"):
        await _room(store, "99000000000000001", length=timedelta(0))
    assert await store.rooms.get("99000000000000001") is None


async def test_list_channel_shows_current_and_upcoming_active_rooms_by_start(
    store: Store,
) -> None:
    """`list` shows this channel's active rooms that have not ended, earliest start first."""
    await _room(store, "99000000000000003", start=NOW + 2 * HOUR)  # upcoming, later
    await _room(store, "99000000000000001", start=NOW - HOUR, length=2 * HOUR)  # current
    await _room(store, "99000000000000002", start=NOW + HOUR)  # upcoming, sooner
    await _room(store, "99000000000000004", start=NOW - 2 * HOUR)  # ended at NOW - HOUR
    await _room(store, "99000000000000005", start=NOW - HOUR)  # ends exactly now: over
    await _room(store, "99000000000000006", channel_id="C2")  # another channel
    await _room(store, "99000000000000007", team_id="T2")  # same channel id, other team
    await _room(store, "99000000000000008")
    await store.rooms.mark_deleted("99000000000000008", now=NOW)  # deleted

    listed = await store.rooms.list_channel("T1", "C1", now=NOW)
    assert [r.room_id for r in listed] == [
        "99000000000000001",
        "99000000000000002",
        "99000000000000003",
    ]
    assert all(r.participants == (ALICE,) for r in listed)
    assert await store.rooms.list_channel("T1", "C9", now=NOW) == []


async def test_update_window_extends_and_moves(store: Store) -> None:
    """`extend` moves the end (and may move the start); updated_at follows, created_at stays."""
    await _room(store, "99000000000000001")
    later = NOW + timedelta(minutes=5)
    extended = await store.rooms.update_window(
        "99000000000000001", valid_until=NOW + 3 * HOUR, now=later
    )
    assert (extended.valid_from, extended.valid_until) == (NOW, NOW + 3 * HOUR)
    assert (extended.created_at, extended.updated_at) == (NOW, later)
    moved = await store.rooms.update_window(
        "99000000000000001", valid_from=NOW + HOUR, valid_until=NOW + 2 * HOUR, now=later
    )
    assert (moved.valid_from, moved.valid_until) == (NOW + HOUR, NOW + 2 * HOUR)
    assert await store.rooms.get("99000000000000001") == moved


async def test_update_window_refuses_an_empty_window_and_changes_nothing(store: Store) -> None:
    """A change that would end the room before it starts is refused whole."""
    created = await _room(store, "99000000000000001")
    with pytest.raises(ValueError, match="not before"):
        await store.rooms.update_window("99000000000000001", valid_from=NOW + HOUR, now=NOW)
    assert await store.rooms.get("99000000000000001") == created


async def test_participants_upsert_set_and_remove(store: Store) -> None:
    """Add or re-role, remove, and replace the whole list."""
    await _room(store, "99000000000000001", participants=(ALICE,))
    promoted_bob = ParticipantRecord("UBOB", "8:acs:r_bob", Role.PRESENTER)

    added = await store.rooms.upsert_participants("99000000000000001", [BOB, CAROL], now=NOW)
    assert added.participants == (ALICE, BOB, CAROL)

    changed = await store.rooms.upsert_participants("99000000000000001", [promoted_bob], now=NOW)
    assert changed.participants == (ALICE, promoted_bob, CAROL)

    removed = await store.rooms.remove_participants(
        "99000000000000001", ["UCAROL", "UNOBODY"], now=NOW
    )
    assert removed.participants == (ALICE, promoted_bob)

    replaced = await store.rooms.set_participants("99000000000000001", [CAROL, BOB], now=NOW)
    assert replaced.participants == (BOB, CAROL)
    assert await store.rooms.get("99000000000000001") == replaced

    emptied = await store.rooms.set_participants("99000000000000001", [], now=NOW)
    assert emptied.participants == ()


async def test_an_identity_can_move_between_users_in_one_set(store: Store) -> None:
    """After an identity re-import, one raw id leaves one user and reaches another at once."""
    await _room(store, "99000000000000001", participants=(ALICE,))
    heir = ParticipantRecord("UHEIR", ALICE.acs_raw_id, Role.PRESENTER)
    updated = await store.rooms.set_participants("99000000000000001", [heir], now=NOW)
    assert updated.participants == (heir,)


async def test_concurrent_participant_changes_all_land(database_url: str, store: Store) -> None:
    """Two replicas adding different people to one room: neither addition is lost."""
    await _room(store, "99000000000000001", participants=(ALICE,))
    async with Store.open(database_url) as replica:
        await asyncio.gather(
            store.rooms.upsert_participants("99000000000000001", [BOB], now=NOW),
            replica.rooms.upsert_participants("99000000000000001", [CAROL], now=NOW),
        )
    room = await store.rooms.get("99000000000000001")
    assert room is not None
    assert room.participants == (ALICE, BOB, CAROL)


async def test_mark_deleted_is_idempotent_and_freezes_the_room(store: Store) -> None:
    """A deleted room stays deleted and refuses every further change."""
    await _room(store, "99000000000000001")
    later = NOW + HOUR
    deleted = await store.rooms.mark_deleted("99000000000000001", now=later)
    assert (deleted.state, deleted.active, deleted.updated_at) == (RoomState.DELETED, False, later)
    again = await store.rooms.mark_deleted("99000000000000001", now=later + HOUR)
    assert again == deleted

    for change in (
        store.rooms.update_window("99000000000000001", valid_until=NOW + 5 * HOUR, now=later),
        store.rooms.upsert_participants("99000000000000001", [BOB], now=later),
        store.rooms.set_participants("99000000000000001", [BOB], now=later),
        store.rooms.remove_participants("99000000000000001", ["UALICE"], now=later),
    ):
        with pytest.raises(RoomDeleted, match="is deleted"):
            await change
    assert await store.rooms.get("99000000000000001") == deleted


async def test_mark_ended_closes_the_window_is_idempotent_and_freezes_the_room(
    store: Store,
) -> None:
    """An ended room keeps its start, ends when it was ended, leaves the list, and refuses
    every further change; only delete still moves it on."""
    await _room(store, "99000000000000001", length=3 * HOUR)
    ended_at, later = NOW + HOUR, NOW + HOUR + timedelta(seconds=2)
    ended = await store.rooms.mark_ended("99000000000000001", ended_at=ended_at, now=later)
    assert (ended.state, ended.active) == (RoomState.ENDED, False)
    assert (ended.valid_from, ended.valid_until, ended.updated_at) == (NOW, ended_at, later)
    again = await store.rooms.mark_ended("99000000000000001", ended_at=NOW + 2 * HOUR, now=later)
    assert again == ended
    assert await store.rooms.get("99000000000000001") == ended
    assert await store.rooms.list_channel("T1", "C1", now=NOW) == []
    for change in (
        store.rooms.update_window("99000000000000001", valid_until=NOW + 5 * HOUR, now=later),
        store.rooms.upsert_participants("99000000000000001", [BOB], now=later),
        store.rooms.remove_participants("99000000000000001", ["UALICE"], now=later),
    ):
        with pytest.raises(RoomDeleted):
            await change
    deleted = await store.rooms.mark_deleted("99000000000000001", now=later + HOUR)
    assert deleted.state is RoomState.DELETED


async def test_a_room_cannot_end_before_it_opens(store: Store) -> None:
    """Ending at or before the start would leave an empty window: refused, nothing changed."""
    created = await _room(store, "99000000000000001", start=NOW + HOUR)
    with pytest.raises(ValueError, match="not before"):
        await store.rooms.mark_ended("99000000000000001", ended_at=NOW, now=NOW)
    assert await store.rooms.get("99000000000000001") == created


async def test_the_message_showing_a_room_is_remembered_even_after_deletion(
    store: Store,
) -> None:
    """The Slack layer updates the message to say the room is gone, so it must stay known;
    it is recorded with the answer of the command that posted it."""
    await _room(store, "99000000000000001")
    message = PostedMessage(channel_id="C1", ts="1700000000.000100")
    await _answered_with(store, "99000000000000001", message)
    room = await store.rooms.get("99000000000000001")
    assert room is not None
    assert room.message == message
    await store.rooms.mark_deleted("99000000000000001", now=NOW)
    moved = PostedMessage(channel_id="C1", ts="1700000001.000200")
    await _answered_with(store, "99000000000000001", moved)
    room = await store.rooms.get("99000000000000001")
    assert room is not None
    assert room.message == moved


async def _leased_create(store: Store) -> JournalEntry:
    """A create accepted and leased to worker w1, as the ack leaves it."""
    entry = await store.journal.accept_leased(
        new_entry(user_id="UALICE", accepted_at=NOW),
        worker_id="w1",
        lease=HOUR,
    )
    assert entry is not None
    return entry


async def _answered_with(store: Store, room_id: str, message: PostedMessage) -> None:
    entry = await _leased_create(store)
    await store.journal.mark_answered(entry.key, "w1", now=NOW, room_message=(room_id, message))


async def test_changing_an_unknown_room_raises_room_not_found(store: Store) -> None:
    """Every change to a room that was never recorded raises RoomNotFound."""
    rooms = store.rooms
    for change in (
        rooms.update_window("404", valid_until=NOW, now=NOW),
        rooms.upsert_participants("404", [BOB], now=NOW),
        rooms.set_participants("404", [BOB], now=NOW),
        rooms.remove_participants("404", ["UBOB"], now=NOW),
        rooms.mark_deleted("404", now=NOW),
    ):
        with pytest.raises(RoomNotFound, match="no room '404'"):
            await change


async def test_a_room_keeps_its_creators_zone_and_title_on_every_write_path(
    store: Store,
) -> None:
    """Zone and title are written with the room, with its journal step (SQLite's hot path)
    or not; rename changes the title."""
    plain = await store.rooms.record_created(
        room_id="99000000000000700",
        team_id="T1",
        channel_id="C1",
        creator_id="UALICE",
        valid_from=NOW,
        valid_until=NOW + HOUR,
        pstn_dial_out=False,
        participants=(ALICE,),
        now=NOW,
        tz="Asia/Kolkata",
        title="R&D review",
    )
    entry = await _leased_create(store)
    stepped = await store.rooms.record_created(
        room_id="99000000000000701",
        team_id="T1",
        channel_id="C1",
        creator_id="UALICE",
        valid_from=NOW,
        valid_until=NOW + HOUR,
        pstn_dial_out=False,
        participants=(ALICE,),
        now=NOW,
        journal_step=(entry.key, "w1"),
        tz="America/New_York",
        title="Weekly sync",
    )
    assert (plain.tz, stepped.tz) == ("Asia/Kolkata", "America/New_York")
    assert (plain.title, stepped.title) == ("R&D review", "Weekly sync")
    for written in (plain, stepped):
        assert await store.rooms.get(written.room_id) == written
    older = await _room(store, "99000000000000702")  # as rooms were recorded before 0003
    assert (older.tz, older.title) == (None, None)
    renamed = await store.rooms.set_title(stepped.room_id, "Design review", now=NOW + HOUR)
    assert renamed.title == "Design review"
    assert (await store.rooms.get(stepped.room_id)) == renamed
    (listed, *_) = await store.rooms.list_channel("T1", "C1", now=NOW - HOUR)
    assert listed.tz in {"Asia/Kolkata", "America/New_York", None}
    changed = await store.rooms.upsert_participants(plain.room_id, [BOB], now=NOW)
    assert changed.tz == "Asia/Kolkata"


async def test_the_last_change_is_kept_with_the_change_and_until_the_next(store: Store) -> None:
    """What the card's headline announces is written with the change it announces; writes
    that give no change (a participant list set wholesale) leave it as it was."""
    room = await _room(store, "99000000000000031")
    assert room.last_change is None
    extended = CardChange("extend", "UBOB")
    room = await store.rooms.update_window(
        room.room_id, valid_until=NOW + 2 * HOUR, now=NOW, change=extended
    )
    assert room.last_change == extended
    room = await store.rooms.set_participants(room.room_id, [ALICE, BOB], now=NOW)
    assert room.last_change == extended
    renamed = CardChange("rename", "UALICE")
    await store.rooms.set_title(room.room_id, "Review", now=NOW, change=renamed)
    again = await store.rooms.get(room.room_id)
    assert again is not None
    assert again.last_change == renamed
    removed = CardChange("remove", "UALICE")
    room = await store.rooms.remove_participants(room.room_id, ["UBOB"], now=NOW, change=removed)
    assert room.last_change == removed
    added = CardChange("add", "UALICE")
    room = await store.rooms.upsert_participants(room.room_id, [BOB], now=NOW, change=added)
    assert (await store.rooms.get(room.room_id)) == room
    assert room.last_change == added
