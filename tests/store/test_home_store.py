"""The App Home's preferences and room listing, and the reminder schedule, on both engines."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.domain import ParticipantRecord, Preferences, Role, RoomRecord
from bot.store import Store
from bot.store.reminders import HomeStore, ReminderSchedule
from tests.store.helpers import NOW

HOUR = timedelta(hours=1)
ALICE = ParticipantRecord("UALICE", "8:acs:alice", Role.PRESENTER)
BOB = ParticipantRecord("UBOB", "8:acs:bob", Role.ATTENDEE)
CY = ParticipantRecord("UCY", "8:acs:cy", Role.ATTENDEE)


async def _room(
    store: Store, room_id: str, start_in: timedelta, *people: ParticipantRecord
) -> RoomRecord:
    return await store.rooms.record_created(
        room_id=room_id,
        team_id="T1",
        channel_id="C1",
        creator_id="UALICE",
        valid_from=NOW + start_in,
        valid_until=NOW + start_in + HOUR,
        pstn_dial_out=False,
        participants=people or (ALICE, BOB),
        now=NOW,
    )


async def test_preferences_default_then_stored(store: Store) -> None:
    home = HomeStore(store.database)
    assert await home.preferences("T1", "UBOB") == Preferences()
    wanted = Preferences(default_length=timedelta(minutes=90), reminders=False)
    await home.set_preferences("T1", "UBOB", wanted, now=NOW)
    assert await home.preferences("T1", "UBOB") == wanted
    await home.set_preferences("T1", "UBOB", Preferences(reminders=True), now=NOW)
    assert await home.preferences("T1", "UBOB") == Preferences(reminders=True)
    assert await home.preferences("T2", "UBOB") == Preferences()


async def test_rooms_of_a_person_soonest_first_paged(store: Store) -> None:
    """Creator or participant, across channels; closed, deleted and others' rooms are not."""
    home = HomeStore(store.database)
    await _room(store, "3", 3 * HOUR, ALICE, BOB)
    await _room(store, "1", HOUR, ALICE, BOB)
    await _room(store, "2", 2 * HOUR, ALICE)  # Bob is not in it
    await _room(store, "0", -3 * HOUR, ALICE, BOB)  # closed already
    await _room(store, "4", 4 * HOUR, ALICE, BOB)
    await store.rooms.mark_deleted("4", now=NOW)
    assert await home.room_ids_of("T1", "UBOB", now=NOW, limit=10) == (["1", "3"], 2)
    assert await home.room_ids_of("T1", "UALICE", now=NOW, limit=2) == (["1", "2"], 3)
    assert await home.room_ids_of("T1", "UALICE", now=NOW, limit=2, offset=2) == (["3"], 3)
    assert await home.room_ids_of("T2", "UALICE", now=NOW, limit=2) == ([], 0)


async def test_sync_follows_the_room(store: Store) -> None:
    """Created: everyone 5 minutes before; moved, added, removed, deleted: moved or gone."""
    schedule = ReminderSchedule(store.database)
    room = await _room(store, "7", HOUR, ALICE, BOB)
    assert (await schedule.sync(room, now=NOW)).people == {"UALICE", "UBOB"}
    due = NOW + HOUR - timedelta(minutes=5)
    assert await schedule.of_room("7") == {"UALICE": ("pending", due), "UBOB": ("pending", due)}

    moved = await store.rooms.update_window(
        "7", valid_from=NOW + 2 * HOUR, valid_until=NOW + 3 * HOUR, now=NOW
    )
    await schedule.sync(moved, now=NOW)
    assert (await schedule.of_room("7"))["UBOB"] == ("pending", due + HOUR)

    await store.rooms.upsert_participants("7", [CY], now=NOW)
    changed = await store.rooms.remove_participants("7", ["UBOB"], now=NOW)
    assert (await schedule.sync(changed, now=NOW)).people == {"UALICE", "UBOB", "UCY"}
    assert set(await schedule.of_room("7")) == {"UALICE", "UCY"}

    deleted = await store.rooms.mark_deleted("7", now=NOW)
    assert (await schedule.sync(deleted, now=NOW)).people == {"UALICE", "UCY"}
    assert await schedule.of_room("7") == {}


async def test_a_room_opening_within_its_lead_reminds_at_once(store: Store) -> None:
    schedule = ReminderSchedule(store.database)
    await schedule.set_lead("8", timedelta(minutes=15))
    room = await _room(store, "8", timedelta(minutes=10), ALICE)
    await schedule.sync(room, now=NOW)
    assert await schedule.of_room("8") == {"UALICE": ("pending", NOW)}
    assert await schedule.next_due() == NOW


async def test_claims_are_exclusive_and_leased(store: Store) -> None:
    """Two workers claiming at once share the due reminders out; an expired lease frees one,
    and only its holder can finish it."""
    schedule = ReminderSchedule(store.database)
    for n in range(6):
        await schedule.sync(await _room(store, str(10 + n), HOUR, ALICE, BOB), now=NOW)
    later = NOW + HOUR
    lease = timedelta(seconds=30)
    first, second = await asyncio.gather(
        schedule.claim("w1", lease=lease, now=later, limit=20),
        schedule.claim("w2", lease=lease, now=later, limit=20),
    )
    ids = [r.id for r in first + second]
    assert len(ids) == 12
    assert len(set(ids)) == 12
    assert await schedule.claim("w3", lease=lease, now=later) == []
    taken = (first or second)[0]
    holder = "w1" if first else "w2"
    retaken = await schedule.claim("w3", lease=lease, now=later + 2 * lease, limit=20)
    assert taken.id in {r.id for r in retaken}
    assert not await schedule.finish(taken.id, holder, sent=True, now=later)
    assert await schedule.finish(taken.id, "w3", sent=True, now=later)
    assert not await schedule.finish(taken.id, "w3", sent=True, now=later)


async def test_a_sent_reminder_is_sent_again_only_when_the_room_moves(store: Store) -> None:
    schedule = ReminderSchedule(store.database)
    room = await _room(store, "9", HOUR, ALICE)
    await schedule.sync(room, now=NOW)
    (claimed,) = await schedule.claim("w", lease=HOUR, now=NOW + HOUR)
    assert await schedule.finish(claimed.id, "w", sent=True, now=NOW + HOUR)
    await schedule.sync(room, now=NOW)
    assert (await schedule.of_room("9"))["UALICE"][0] == "sent"
    moved = await store.rooms.update_window(
        "9", valid_from=NOW + 3 * HOUR, valid_until=NOW + 4 * HOUR, now=NOW
    )
    await schedule.sync(moved, now=NOW)
    assert (await schedule.of_room("9"))["UALICE"] == (
        "pending",
        NOW + 3 * HOUR - timedelta(minutes=5),
    )


async def test_an_outcome_is_unknown_only_after_a_lease_ran_out_unsettled(store: Store) -> None:
    """A claim after a refusal given back is "known"; after a lease that ran out with no
    finish or release (a crash), or a release that could not tell, it is "unknown" and stays
    so; the first claim's time is kept; a room moved to a new opening starts afresh."""
    schedule = ReminderSchedule(store.database)
    room = await _room(store, "11", HOUR, ALICE)
    await schedule.sync(room, now=NOW)
    lease = timedelta(seconds=60)
    due = NOW + HOUR - timedelta(minutes=5)

    (first,) = await schedule.claim("w1", lease=lease, now=due)
    assert (first.outcome_unknown, first.first_claimed_at) == (False, due)
    await schedule.release(first.id, "w1", retry_at=due + lease, now=due)  # Slack refused
    (second,) = await schedule.claim("w2", lease=lease, now=due + lease)
    assert (second.outcome_unknown, second.first_claimed_at) == (False, due)

    # w2 dies holding it: the next claim cannot know whether Slack took w2's message
    (third,) = await schedule.claim("w3", lease=lease, now=due + 3 * lease)
    assert (third.outcome_unknown, third.first_claimed_at, third.attempts) == (True, due, 3)
    await schedule.release(third.id, "w3", retry_at=due + 4 * lease, now=due + 3 * lease)
    (fourth,) = await schedule.claim("w4", lease=lease, now=due + 4 * lease)
    assert fourth.outcome_unknown  # still: w3's look does not settle w2's attempt

    moved = await store.rooms.update_window(
        "11", valid_from=NOW + 3 * HOUR, valid_until=NOW + 4 * HOUR, now=NOW
    )
    await schedule.sync(moved, now=NOW)
    (fresh,) = await schedule.claim("w5", lease=lease, now=NOW + 3 * HOUR)
    assert (fresh.outcome_unknown, fresh.first_claimed_at) == (False, NOW + 3 * HOUR)
    assert fresh.id == first.id  # the same row: the metadata carries the opening too


async def test_a_release_that_cannot_tell_marks_the_outcome_unknown(store: Store) -> None:
    """Slack's answer lost (the connection broke after the post): given back as unknown."""
    schedule = ReminderSchedule(store.database)
    await schedule.sync(await _room(store, "12", HOUR, ALICE), now=NOW)
    due = NOW + HOUR - timedelta(minutes=5)
    (first,) = await schedule.claim("w1", lease=HOUR, now=due)
    await schedule.release(first.id, "w1", retry_at=due, now=due, unknown=True)
    (again,) = await schedule.claim("w1", lease=HOUR, now=due)
    assert again.outcome_unknown
    assert await schedule.finish(again.id, "w1", sent=True, now=due)


async def test_sync_says_whose_opened_homes_show_the_room(store: Store) -> None:
    """The Homes to publish again are read with the sync: its people, its creator and the
    people the caller names (just removed), among those who ever opened their Home."""
    home, schedule = HomeStore(store.database), ReminderSchedule(store.database)
    for user in ("UBOB", "UCY", "UDAN"):
        await home.mark_opened("T1", user, now=NOW)
    room = await _room(store, "30", HOUR, ALICE, BOB)
    synced = await schedule.sync(room, now=NOW)
    assert synced.people == {"UALICE", "UBOB"}
    assert synced.opened == {"UBOB"}  # Alice never opened hers; Dan is not in the room
    synced = await schedule.sync(room, now=NOW, also=["UCY"])
    assert synced.opened == {"UBOB", "UCY"}
    # Bob leaves: his reminder goes, and his Home is among those to publish (he held one).
    without_bob = await store.rooms.remove_participants("30", ["UBOB"], now=NOW)
    synced = await schedule.sync(without_bob, now=NOW)
    assert synced.opened == {"UBOB"}
    assert set(await schedule.of_room("30")) == {"UALICE"}


async def test_a_sync_step_sets_the_asked_lead_in_its_transaction(store: Store) -> None:
    schedule = ReminderSchedule(store.database)
    room = await _room(store, "31", HOUR, ALICE)
    step = schedule.sync_step(room, now=NOW, lead=timedelta(minutes=20), set_lead=True)
    synced = await store.database.write(step)
    assert synced.earliest_due == NOW + HOUR - timedelta(minutes=20)
    assert await schedule.lead("31") == timedelta(minutes=20)
    # A later change reads the lead kept with the room.
    await schedule.sync(room, now=NOW)
    assert await schedule.of_room("31") == {"UALICE": ("pending", synced.earliest_due)}


async def test_a_sync_follows_the_room_as_recorded_not_the_callers_copy(store: Store) -> None:
    """Two changes of one room may sync in either order (each after its own answer): the one
    that comes last reads the room as it is now, and does not put back what the other
    changed (Bob removed, the opening moved)."""
    schedule = ReminderSchedule(store.database)
    seen_first = await _room(store, "32", HOUR, ALICE, BOB)
    await store.rooms.remove_participants("32", ["UBOB"], now=NOW)
    latest = await store.rooms.update_window(
        "32", valid_from=NOW + 2 * HOUR, valid_until=NOW + 3 * HOUR, now=NOW
    )
    await schedule.sync(latest, now=NOW)
    synced = await schedule.sync(seen_first, now=NOW)  # an earlier change's sync, coming last
    due = NOW + 2 * HOUR - timedelta(minutes=5)
    assert await schedule.of_room("32") == {"UALICE": ("pending", due)}
    assert synced.people == {"UALICE"}
