"""Rooms' calls on both engines: registered once; events applied once, in any order."""

from __future__ import annotations

from datetime import timedelta

from bot.domain import ParticipantRecord, Role
from bot.store import Store
from tests.store.helpers import NOW

ROOM = "99000000000000001"
ANN = "8:acs:r_ann"
BOB = "8:acs:r_bob"
SEC = timedelta(seconds=1)


async def _registered(store: Store, valid_for: timedelta = timedelta(hours=1)) -> None:
    await store.rooms.record_created(
        room_id=ROOM,
        team_id="T1",
        channel_id="C1",
        creator_id="UANN",
        valid_from=NOW,
        valid_until=NOW + valid_for,
        pstn_dial_out=False,
        participants=(ParticipantRecord("UANN", ANN, Role.PRESENTER),),
        now=NOW,
    )
    assert await store.calls.register(room_id=ROOM, team_id="T1", slack_call_id="R1", now=NOW)


async def test_a_room_is_registered_once_and_keeps_its_first_call_id(store: Store) -> None:
    await _registered(store)
    kept = await store.calls.register(room_id=ROOM, team_id="T1", slack_call_id="R2", now=NOW)
    assert kept.slack_call_id == "R1"
    call = await store.calls.get(ROOM)
    assert call is not None
    assert (call.slack_call_id, call.slack_ended_at, call.people) == ("R1", None, ())
    assert await store.calls.mark_slack_ended(ROOM, now=NOW)
    assert not await store.calls.mark_slack_ended(ROOM, now=NOW + SEC)  # once
    assert await store.calls.get("99000000000000404") is None


async def test_redelivered_and_late_events_change_nothing(store: Store) -> None:
    await _registered(store)
    calls = store.calls
    assert await calls.call_started(ROOM, acs_call_id="c1", at=NOW)
    assert not await calls.call_started(ROOM, acs_call_id="c1", at=NOW)  # redelivered
    joined = {"slack_user_id": "UANN", "display_name": "Ann"}
    assert await calls.presence(ROOM, acs_raw_id=ANN, present=True, at=NOW + SEC, **joined)
    assert await calls.presence(ROOM, acs_raw_id=ANN, present=False, at=NOW + 9 * SEC, **joined)
    # The join is delivered again, late: it is older than the leave, so Ann stays out.
    assert not await calls.presence(ROOM, acs_raw_id=ANN, present=True, at=NOW + SEC, **joined)
    assert await calls.presence(
        ROOM, acs_raw_id=BOB, present=True, at=NOW + 2 * SEC, slack_user_id=None, display_name="Bo"
    )
    call = await calls.get(ROOM)
    assert call is not None
    assert [p.acs_raw_id for p in call.in_call()] == [BOB]
    assert [p.display_name for p in call.in_call()] == ["Bo"]


async def test_the_end_arriving_before_the_start_still_dates_the_call(store: Store) -> None:
    await _registered(store)
    calls = store.calls
    minutes = timedelta(minutes=47)
    joined = {"slack_user_id": "UANN", "display_name": "Ann"}
    await calls.presence(ROOM, acs_raw_id=ANN, present=True, at=NOW + SEC, **joined)
    assert await calls.call_ended(ROOM, acs_call_id="c1", at=NOW + minutes, duration=minutes)
    assert await calls.call_started(ROOM, acs_call_id="c1", at=NOW - SEC)  # late, earlier
    call = await calls.get(ROOM)
    assert call is not None
    assert call.acs_started_at == NOW - SEC
    assert call.acs_ended_at == NOW + minutes
    assert call.in_call() == ()  # Ann's join was part of the call that ended
    # A new call in the same room, later: it replaces the ended one.
    assert await calls.call_started(ROOM, acs_call_id="c2", at=NOW + 2 * minutes)
    call = await calls.get(ROOM)
    assert call is not None
    assert (call.acs_call_id, call.acs_ended_at) == ("c2", None)
    # An event of the old call, delivered now, does not bring it back.
    assert not await calls.call_ended(ROOM, acs_call_id="c1", at=NOW + minutes, duration=None)


async def test_what_slack_was_told_and_who_closed_rooms_leave_behind(store: Store) -> None:
    await _registered(store, valid_for=timedelta(minutes=30))
    joined = {"slack_user_id": "UANN", "display_name": "Ann"}
    await store.calls.presence(ROOM, acs_raw_id=ANN, present=True, at=NOW, **joined)
    await store.calls.told_slack(ROOM, ANN, present=True)
    call = await store.calls.get(ROOM)
    assert call is not None
    assert call.people[0].told_slack
    assert await store.calls.closed_unended(now=NOW + timedelta(minutes=29)) == []
    assert await store.calls.closed_unended(now=NOW + timedelta(minutes=30)) == [ROOM]
    await store.calls.mark_slack_ended(ROOM, now=NOW)
    assert await store.calls.closed_unended(now=NOW + timedelta(minutes=30)) == []


async def test_events_for_a_room_without_a_slack_call_are_not_kept(store: Store) -> None:
    assert not await store.calls.call_started(ROOM, acs_call_id="c1", at=NOW)
    assert not await store.calls.presence(
        ROOM, acs_raw_id=ANN, present=True, at=NOW, slack_user_id=None, display_name=""
    )
