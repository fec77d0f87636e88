"""The command journal: idempotent accept, exclusive claims, leases, forward-only transitions."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Connection

from bot.domain import (
    RESPONSE_URL_LIFETIME,
    RESPONSE_URL_MAX_USES,
    JournalEntry,
    JournalState,
    NewJournalEntry,
    ParticipantRecord,
    PostedMessage,
    Role,
    RoomRecord,
    new_journal_key,
)
from bot.store import EntryNotFound, InvalidTransition, LeaseLost, Store
from bot.store.reminders import ReminderSchedule
from tests.journal_entries import new_entry
from tests.store.helpers import NOW

LEASE = timedelta(seconds=30)
SECOND = timedelta(seconds=1)


def _new(
    *,
    key: str | None = None,
    accepted_at: datetime = NOW,
    response_url: str | None = "https://hooks.slack.test/commands/T1/1/abc",
    command: dict[str, Any] | None = None,
    first_sent: datetime | None = None,
) -> NewJournalEntry:
    return new_entry(
        key=key,
        command=command,
        response_url=response_url,
        accepted_at=accepted_at,
        first_sent=first_sent,
    )


async def _accepted(store: Store, **kwargs: Any) -> str:
    entry = _new(**kwargs)
    assert await store.journal.accept(entry)
    return entry.key


async def _room_with_step(
    store: Store,
    room_id: str,
    key: str,
    worker: str,
    *,
    opens: datetime = NOW,
    people: Sequence[ParticipantRecord] = (),
) -> RoomRecord:
    """Record a room together with its command's room_created step."""
    return await store.rooms.record_created(
        room_id=room_id,
        team_id="T1",
        channel_id="C1",
        creator_id="U1",
        valid_from=opens,
        valid_until=opens + LEASE,
        pstn_dial_out=False,
        participants=people,
        now=NOW,
        journal_step=(key, worker),
    )


async def _claimed(store: Store, worker: str = "w1", **kwargs: Any) -> JournalEntry:
    key = await _accepted(store, **kwargs)
    entry = await store.journal.claim_one(key, worker, lease=LEASE, now=NOW)
    assert entry is not None
    return entry


# --- accept ---------------------------------------------------------------------------------


async def test_accept_writes_an_accepted_entry(store: Store) -> None:
    """Accept stores the command as JSON with its key, first_sent and response_url budget."""
    command = {"kind": "text", "text": "create tomorrow @alice", "tags": ("a", "b"), "n": 2}
    entry = _new(command=command)
    assert await store.journal.accept(entry) is True
    stored = await store.journal.get(entry.key)
    assert stored == JournalEntry(
        key=entry.key,
        first_sent=NOW,  # defaults to the acceptance time, reused on every retry
        command={"kind": "text", "text": "create tomorrow @alice", "tags": ["a", "b"], "n": 2},
        team_id="T1",
        user_id="U1",
        channel_id="C1",
        response_url="https://hooks.slack.test/commands/T1/1/abc",
        response_url_expires_at=NOW + RESPONSE_URL_LIFETIME,
        response_url_uses=0,
        accepted_at=NOW,
        state=JournalState.ACCEPTED,
        room_id=None,
        error_code=None,
        error_message=None,
        attempts=0,
        last_error=None,
        lease_owner=None,
        lease_until=None,
        answered_at=None,
        updated_at=NOW,
    )
    assert not stored.finished
    assert await store.journal.pending_count() == 1


async def test_accepting_the_same_key_again_changes_nothing(store: Store) -> None:
    """Slack retries a slow ack with the same command; the journal keeps the first one."""
    entry = _new(first_sent=NOW - SECOND)
    assert await store.journal.accept(entry) is True
    first = await store.journal.get(entry.key)
    retry = _new(key=entry.key, accepted_at=NOW + SECOND, command={"other": True})
    assert await store.journal.accept(retry) is False
    assert await store.journal.get(entry.key) == first
    assert first is not None
    assert first.first_sent == NOW - SECOND
    results = await asyncio.gather(*(store.journal.accept(_new(key=entry.key)) for _ in range(3)))
    assert results == [False, False, False]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"key": "not-a-uuid"}, "not a UUID"),
        # ACS takes any GUID spelling; one spelling per command keeps accept idempotent
        ({"key": "6F9619FF-8B86-D011-B42D-00C04FC964FF"}, "lower-case hyphenated"),
        ({"key": "{6f9619ff-8b86-d011-b42d-00c04fc964ff}"}, "lower-case hyphenated"),
        ({"accepted_at": datetime(2025, 3, 3, 9, 0)}, "accepted_at must be timezone-aware"),
        ({"first_sent": datetime(2025, 3, 3, 9, 0)}, "first_sent must be timezone-aware"),
    ],
)
def test_new_entries_are_validated(changes: dict[str, Any], message: str) -> None:
    """Keys are canonical UUIDs and times are aware, before anything reaches the database."""
    with pytest.raises(ValueError, match=message):
        _new(**changes)


async def test_a_command_that_is_not_json_is_refused(store: Store) -> None:
    """The command must survive a JSON round trip, so a retry reads what was accepted."""
    with pytest.raises(ValueError, match="plain JSON"):
        await store.journal.accept(_new(command={"when": NOW}))


# --- claims and leases ----------------------------------------------------------------------


async def test_claim_takes_unfinished_entries_oldest_first(store: Store) -> None:
    """A claim leases up to *limit* entries, oldest first, and leaves the rest to others."""
    keys = [await _accepted(store, accepted_at=NOW + n * SECOND) for n in (3, 1, 2)]
    claimed = await store.journal.claim("w1", lease=LEASE, now=NOW + 5 * SECOND, limit=2)
    assert [e.key for e in claimed] == [keys[1], keys[2]]
    for entry in claimed:
        assert (entry.lease_owner, entry.lease_until, entry.attempts) == (
            "w1",
            NOW + 5 * SECOND + LEASE,
            1,
        )
    rest = await store.journal.claim("w2", lease=LEASE, now=NOW + 5 * SECOND)
    assert [e.key for e in rest] == [keys[0]]
    assert await store.journal.claim("w3", lease=LEASE, now=NOW + 5 * SECOND) == []


async def test_concurrent_workers_never_share_an_entry(database_url: str, store: Store) -> None:
    """Four workers on two replicas claim in a race until nothing is left: each key once."""
    keys = {await _accepted(store, accepted_at=NOW + n * SECOND) for n in range(24)}
    async with Store.open(database_url) as replica:

        async def worker(name: str, on: Store) -> list[str]:
            mine: list[str] = []
            while batch := await on.journal.claim(name, lease=LEASE, now=NOW, limit=3):
                mine.extend(e.key for e in batch)
            return mine

        results = await asyncio.gather(
            worker("a1", store), worker("a2", store), worker("b1", replica), worker("b2", replica)
        )
    taken = [key for result in results for key in result]
    assert sorted(taken) == sorted(keys)  # every entry claimed, none twice
    for result, name in zip(results, ["a1", "a2", "b1", "b2"], strict=True):
        for key in result:
            entry = await store.journal.get(key)
            assert entry is not None
            assert (entry.lease_owner, entry.attempts) == (name, 1)


async def test_claim_one_races_with_the_claim_loop(database_url: str, store: Store) -> None:
    """The accepting replica's `claim_one` and another replica's loop: one of them wins."""
    key = await _accepted(store)
    async with Store.open(database_url) as replica:
        mine, theirs = await asyncio.gather(
            store.journal.claim_one(key, "accepting", lease=LEASE, now=NOW),
            replica.journal.claim("looping", lease=LEASE, now=NOW),
        )
    assert (mine is None) != (theirs == [])
    assert await store.journal.claim_one(key, "third", lease=LEASE, now=NOW) is None


async def test_an_expired_lease_lets_another_worker_take_over(store: Store) -> None:
    """A crashed worker's entries come back after the lease; the old one can no longer move them."""
    entry = await _claimed(store, "crashed")
    assert await store.journal.claim("rescuer", lease=LEASE, now=NOW + LEASE - SECOND) == []
    (taken,) = await store.journal.claim("rescuer", lease=LEASE, now=NOW + LEASE)
    assert (taken.key, taken.lease_owner, taken.attempts) == (entry.key, "rescuer", 2)
    with pytest.raises(LeaseLost, match="held by 'rescuer'"):
        await store.journal.mark_room_created(entry.key, "R1", "crashed", now=NOW + LEASE)
    assert await store.journal.release(entry.key, "crashed", now=NOW + LEASE) is False
    done = await store.journal.mark_room_created(entry.key, "R1", "rescuer", now=NOW + LEASE)
    assert done.state is JournalState.ROOM_CREATED


async def test_a_worker_may_finish_after_its_lease_ran_out_if_nobody_took_over(
    store: Store,
) -> None:
    """An expired lease only matters once another worker has claimed the entry."""
    entry = await _claimed(store)
    late = NOW + 2 * LEASE
    created = await store.journal.mark_room_created(entry.key, "R1", "w1", now=late)
    assert created.state is JournalState.ROOM_CREATED


async def test_renew_extends_only_the_holders_lease(store: Store) -> None:
    """A slow worker keeps its entry by renewing; nobody else can renew it."""
    entry = await _claimed(store)
    renewed = await store.journal.renew(entry.key, "w1", lease=LEASE, now=NOW + 20 * SECOND)
    assert renewed.lease_until == NOW + 20 * SECOND + LEASE
    assert await store.journal.claim("w2", lease=LEASE, now=NOW + LEASE) == []
    with pytest.raises(LeaseLost):
        await store.journal.renew(entry.key, "w2", lease=LEASE, now=NOW)


async def test_release_frees_the_entry_records_the_error_and_can_delay_the_retry(
    store: Store,
) -> None:
    """Release notes the error and frees the entry now or from *retry_at*; only the holder may."""
    entry = await _claimed(store)
    retry_at = NOW + 10 * SECOND
    assert await store.journal.release(
        entry.key, "w1", now=NOW + SECOND, error="ACS timed out", retry_at=retry_at
    )
    released = await store.journal.get(entry.key)
    assert released is not None
    assert (released.lease_owner, released.lease_until, released.last_error) == (
        None,
        retry_at,
        "ACS timed out",
    )
    assert released.state is JournalState.ACCEPTED
    assert await store.journal.claim("w2", lease=LEASE, now=retry_at - SECOND) == []
    (again,) = await store.journal.claim("w2", lease=LEASE, now=retry_at)
    assert (again.attempts, again.last_error) == (2, "ACS timed out")
    assert await store.journal.release(entry.key, "w1", now=retry_at) is False  # not w1's now
    assert await store.journal.release(entry.key, "w2", now=retry_at) is True
    assert await store.journal.claim_one(entry.key, "w3", lease=LEASE, now=retry_at) is not None


async def test_record_failure_counts_the_failure_and_delays_the_retry(store: Store) -> None:
    """Each unexpected failure is counted (so retrying can end) and backs the entry off; the
    count survives claims by other workers and the hot path's moves; only the holder may."""
    entry = await _claimed(store)
    assert entry.failures == 0
    retry_at = NOW + 2 * SECOND
    assert await store.journal.record_failure(
        entry.key, "w1", now=NOW, error="AttributeError", retry_at=retry_at
    )
    assert (
        await store.journal.record_failure(
            entry.key, "w1", now=NOW, error="again", retry_at=retry_at
        )
        is False
    )  # released: w1 holds it no more
    assert await store.journal.claim("w2", lease=LEASE, now=retry_at - SECOND) == []
    (again,) = await store.journal.claim("w2", lease=LEASE, now=retry_at)
    assert (again.failures, again.attempts, again.last_error) == (1, 2, "AttributeError")
    assert await store.journal.record_failure(
        entry.key, "w2", now=retry_at, error="AttributeError", retry_at=retry_at
    )
    (third,) = await store.journal.claim("w3", lease=LEASE, now=retry_at)
    assert third.failures == 2
    answered = await store.journal.mark_answered(entry.key, "w3", now=retry_at)
    assert answered.failures == 2


async def test_hurry_waiting_makes_entries_delayed_by_an_error_due_now(store: Store) -> None:
    """When ACS is back: entries released with an error and a later retry go now; entries
    somebody holds, and delays not caused by an error, stay as they are."""
    later = NOW + 30 * SECOND
    waiting = await _claimed(store)
    assert await store.journal.release(waiting.key, "w1", now=NOW, error="ACS down", retry_at=later)
    held = await _claimed(store, worker="w2")
    quiet = await _claimed(store, worker="w3")
    assert await store.journal.release(quiet.key, "w3", now=NOW, retry_at=later)

    assert await store.journal.hurry_waiting(now=NOW + SECOND) == 1
    claimed = await store.journal.claim("w4", lease=LEASE, now=NOW + SECOND)
    assert [e.key for e in claimed] == [waiting.key]
    still = await store.journal.get(held.key)
    assert still is not None
    assert still.lease_owner == "w2"
    assert await store.journal.hurry_waiting(now=NOW + SECOND) == 0


async def test_a_leased_accept_is_the_first_claim_in_the_same_write(store: Store) -> None:
    """The acking replica journals the command leased to itself: no claim needed, and no
    other worker's claim takes it while the lease runs."""
    new = _new()
    entry = await store.journal.accept_leased(new, worker_id="w1", lease=LEASE)
    assert entry is not None
    assert (entry.lease_owner, entry.lease_until, entry.attempts) == ("w1", NOW + LEASE, 1)
    assert entry == await store.journal.get(new.key)  # what it returns is what was written
    assert await store.journal.claim("w2", lease=LEASE, now=NOW + SECOND) == []
    assert await store.journal.accept_leased(new, worker_id="w2", lease=LEASE) is None
    (taken,) = await store.journal.claim("w2", lease=LEASE, now=NOW + LEASE)  # it ran out
    assert (taken.lease_owner, taken.attempts) == ("w2", 2)
    with pytest.raises(ValueError, match="positive lease"):
        await store.journal.accept_leased(_new(), worker_id="w1")


async def test_answering_remembers_the_rooms_message_in_the_same_transaction(
    store: Store,
) -> None:
    entry = await _claimed(store)
    await _room_with_step(store, "R1", entry.key, "w1")
    created = await store.journal.get(entry.key)
    assert created is not None
    assert (created.state, created.room_id) == (JournalState.ROOM_CREATED, "R1")

    shown = PostedMessage(channel_id="C1", ts="1700000000.000100")
    await store.journal.mark_answered(entry.key, "w1", now=NOW, room_message=("R1", shown))
    room = await store.rooms.get("R1")
    assert room is not None
    assert room.message == shown
    # Answered already (a worker that crashed after answering): a no-op, message unchanged.
    again = await store.journal.mark_answered(
        entry.key, "w1", now=NOW, room_message=("R1", PostedMessage("C9", "9.9"))
    )
    assert again.state is JournalState.ANSWERED
    room = await store.rooms.get("R1")
    assert room is not None
    assert room.message == shown
    other = await _claimed(store, worker="w2")
    with pytest.raises(LeaseLost):  # not w3's to answer: and the message stays as it was
        await store.journal.mark_answered(
            other.key, "w3", now=NOW, room_message=("R1", PostedMessage("C9", "1.2"))
        )
    room = await store.rooms.get("R1")
    assert room is not None
    assert room.message == shown


async def test_a_step_is_committed_with_the_answer_and_only_by_whoever_answers(
    store: Store,
) -> None:
    """`mark_answered_with` runs another repository's step in the answer's transaction: a
    step that fails leaves the entry unanswered, and answering again runs no step."""
    schedule = ReminderSchedule(store.database)
    entry = await _claimed(store)
    room = await _room_with_step(
        store,
        "R7",
        entry.key,
        "w1",
        opens=NOW + timedelta(hours=2),
        people=[ParticipantRecord("U2", "8:acs:2", Role.ATTENDEE)],
    )
    later = NOW + SECOND

    def failing(connection: Connection) -> None:
        schedule.sync_step(room, now=later)(connection)
        raise RuntimeError("the step failed")

    with pytest.raises(RuntimeError):
        await store.journal.mark_answered_with(entry.key, "w1", failing, now=later)
    unanswered = await store.journal.get(entry.key)
    assert unanswered is not None
    assert unanswered.state is JournalState.ROOM_CREATED
    assert await schedule.of_room("R7") == {}  # rolled back with the answer

    answered, synced = await store.journal.mark_answered_with(
        entry.key, "w1", schedule.sync_step(room, now=later), now=later
    )
    assert answered
    done = await store.journal.get(entry.key)
    assert done is not None
    assert done.state is JournalState.ANSWERED
    assert synced is not None
    assert synced.people == {"U1", "U2"}
    assert set(await schedule.of_room("R7")) == {"U2"}

    def never(connection: Connection) -> None:
        raise AssertionError("an answered entry runs no step")

    assert await store.journal.mark_answered_with(entry.key, "w1", never, now=later) == (
        False,
        None,
    )
    other = await _claimed(store, worker="w2")
    with pytest.raises(LeaseLost):  # not w3's to answer
        await store.journal.mark_answered_with(other.key, "w3", never, now=later)


async def test_a_room_recorded_by_a_worker_that_lost_its_lease_is_not_recorded(
    store: Store,
) -> None:
    """Room and journal step commit together or not at all."""
    entry = await _claimed(store)
    with pytest.raises(LeaseLost):
        await _room_with_step(store, "R2", entry.key, "not-the-holder")
    assert await store.rooms.get("R2") is None
    still = await store.journal.get(entry.key)
    assert still is not None
    assert still.state is JournalState.ACCEPTED


async def test_the_common_moves_return_what_the_database_holds(store: Store) -> None:
    """On SQLite the common writes take the plain-SQL hot path; on PostgreSQL SQLAlchemy's.
    Either way the entry each returns is the one a later read gives back."""
    entry = await store.journal.accept_leased(_new(), worker_id="w1", lease=LEASE)
    assert entry is not None
    pinned = await store.journal.pin_command(
        entry.key, {"kind": "resolved", "tz": "Europe/Oslo", "n": [1, "é"]}, "w1", now=NOW
    )
    assert pinned == await store.journal.get(entry.key)
    answered = await store.journal.mark_answered(entry.key, "w1", now=NOW + SECOND)
    assert answered == await store.journal.get(entry.key)
    assert (answered.state, answered.answered_at, answered.lease_owner) == (
        JournalState.ANSWERED,
        NOW + SECOND,
        None,
    )


async def test_each_common_move_is_one_statement(store: Store) -> None:
    """Accept, pin, room created and answer each run one conditional statement (the room's
    step adds its room), on both backends alike: nothing is read before it is written,
    so on PostgreSQL each move costs one round trip for its statement."""
    statements: list[str] = []
    engine = getattr(store.database.engine, "sync_engine", store.database.engine)

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        verb = statement.split()[0].upper()
        if verb not in ("BEGIN", "COMMIT", "ROLLBACK", "PRAGMA"):
            statements.append(verb)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        entry = await store.journal.accept_leased(_new(), worker_id="w1", lease=LEASE)
        assert entry is not None
        await store.journal.pin_command(entry.key, {"kind": "resolved"}, "w1", now=NOW)
        await _room_with_step(store, "R9", entry.key, "w1")
        await store.journal.mark_answered(entry.key, "w1", now=NOW)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert statements == ["INSERT", "UPDATE", "INSERT", "UPDATE", "UPDATE"]


async def test_a_sqlite_write_waiting_for_the_lock_leaves_the_event_loop_free(
    tmp_path: Path,
) -> None:
    """Another process holding SQLite's write lock (an identities import) makes our write
    wait in its thread: the event loop goes on serving meanwhile."""
    path = tmp_path / "roombot.db"
    async with Store.open(f"sqlite+aiosqlite:///{path}", migrate=True) as store:
        await _wait_beside_a_writer(store, path)


async def _wait_beside_a_writer(store: Store, path: Path) -> None:
    blocker = sqlite3.connect(path, isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")
        writing = asyncio.create_task(store.journal.accept(_new()))
        ticks = 0
        while ticks < 50:  # the loop turns while the write waits for the lock
            await asyncio.sleep(0)
            ticks += 1
        assert not writing.done()
        blocker.execute("COMMIT")
        assert await asyncio.wait_for(writing, timeout=10)
    finally:
        blocker.close()


# --- transitions ----------------------------------------------------------------------------


async def test_created_then_answered(store: Store) -> None:
    """accepted -> room_created -> answered; an answered entry is never claimed again."""
    entry = await _claimed(store)
    created = await store.journal.mark_room_created(entry.key, "R1", "w1", now=NOW + SECOND)
    assert (created.state, created.room_id, created.lease_owner) == (
        JournalState.ROOM_CREATED,
        "R1",
        "w1",
    )
    answered = await store.journal.mark_answered(entry.key, "w1", now=NOW + 2 * SECOND)
    assert (answered.state, answered.room_id, answered.answered_at) == (
        JournalState.ANSWERED,
        "R1",
        NOW + 2 * SECOND,
    )
    assert answered.finished
    assert (answered.lease_owner, answered.lease_until) == (None, None)
    assert await store.journal.pending_count() == 0
    assert await store.journal.claim("w2", lease=LEASE, now=NOW + 2 * LEASE) == []
    assert await store.journal.claim_one(entry.key, "w2", lease=LEASE, now=NOW) is None


async def test_failed_then_answered(store: Store) -> None:
    """accepted -> failed -> answered; a failure still owes its answer until answered."""
    entry = await _claimed(store)
    failed = await store.journal.mark_failed(
        entry.key, "invalid_window", "The room would end before it starts.", "w1", now=NOW
    )
    assert (failed.state, failed.error_code, failed.error_message) == (
        JournalState.FAILED,
        "invalid_window",
        "The room would end before it starts.",
    )
    assert await store.journal.pending_count() == 1  # the answer is still owed
    answered = await store.journal.mark_answered(entry.key, "w1", now=NOW)
    assert (answered.state, answered.error_code) == (JournalState.ANSWERED, "invalid_window")


async def test_a_failed_entry_that_was_not_answered_is_claimed_again(store: Store) -> None:
    """A crash between failing and answering leaves the answer to the next claimer."""
    entry = await _claimed(store)
    await store.journal.mark_failed(entry.key, "bad", "Bad.", "w1", now=NOW)
    (again,) = await store.journal.claim("w2", lease=LEASE, now=NOW + LEASE)
    assert (again.key, again.state) == (entry.key, JournalState.FAILED)


async def test_a_command_answered_without_a_room_goes_straight_to_answered(store: Store) -> None:
    """`list` and `show` have nothing to record but the answer."""
    entry = await _claimed(store)
    answered = await store.journal.mark_answered(entry.key, "w1", now=NOW)
    assert (answered.state, answered.room_id, answered.error_code) == (
        JournalState.ANSWERED,
        None,
        None,
    )


async def test_repeating_a_transition_is_a_no_op(store: Store) -> None:
    """A worker that crashed between recording and noticing repeats itself harmlessly."""
    created = await _claimed(store)
    first = await store.journal.mark_room_created(created.key, "R1", "w1", now=NOW)
    assert await store.journal.mark_room_created(created.key, "R1", "w1", now=NOW + SECOND) == first
    answered = await store.journal.mark_answered(created.key, "w1", now=NOW)
    # ... even by a worker that no longer holds a lease, since nothing changes
    assert await store.journal.mark_answered(created.key, "w9", now=NOW + SECOND) == answered
    assert await store.journal.mark_room_created(created.key, "R1", "w9", now=NOW) == answered

    failed = await _claimed(store)
    first = await store.journal.mark_failed(failed.key, "bad", "Bad.", "w1", now=NOW)
    assert await store.journal.mark_failed(failed.key, "bad", "Bad!", "w1", now=NOW) == first


# Each case: the steps that bring an entry somewhere, then a move that would go backwards
# or contradict what is recorded.
BACKWARDS = [
    pytest.param(
        ["created:R1"], "created:R2", "record room R2 over R1", id="room_created-keeps-its-room"
    ),
    pytest.param(["created:R1"], "failed", "record a failure", id="created-cannot-fail"),
    pytest.param(["failed"], "created:R1", "record a created room", id="failed-cannot-create"),
    pytest.param(["failed"], "failed:other", "fail with other over bad", id="failure-keeps-code"),
    pytest.param(["created:R1", "answered"], "created:R2", "over R1", id="answered-keeps-its-room"),
    pytest.param(["failed", "answered"], "created:R1", "from state answered", id="answered-final"),
    pytest.param(["answered"], "failed", "from state answered", id="answered-cannot-fail"),
    pytest.param(["created:R1"], "pin", "pin the command", id="no-pin-after-side-effects"),
    pytest.param(["answered"], "renew", "renew the lease", id="no-lease-after-answer"),
]


@pytest.mark.parametrize(("steps", "move", "message"), BACKWARDS)
async def test_transitions_never_go_backwards(
    store: Store, steps: list[str], move: str, message: str
) -> None:
    """Each refused move raises InvalidTransition and leaves the entry exactly as it was."""
    entry = await _claimed(store)
    journal = store.journal

    async def do(step: str) -> JournalEntry:
        verb, _, arg = step.partition(":")
        if verb == "created":
            return await journal.mark_room_created(entry.key, arg, "w1", now=NOW)
        if verb == "failed":
            return await journal.mark_failed(entry.key, arg or "bad", "Bad.", "w1", now=NOW)
        if verb == "answered":
            return await journal.mark_answered(entry.key, "w1", now=NOW)
        if verb == "pin":
            return await journal.pin_command(entry.key, {"kind": "x"}, "w1", now=NOW)
        return await journal.renew(entry.key, "w1", lease=LEASE, now=NOW)

    for step in steps:
        await do(step)
    before = await journal.get(entry.key)
    with pytest.raises(InvalidTransition, match=message):
        await do(move)
    assert await journal.get(entry.key) == before


async def test_moving_an_entry_needs_the_lease(store: Store) -> None:
    """Only the lease holder may record progress; others get LeaseLost."""
    key = await _accepted(store)
    with pytest.raises(LeaseLost, match="not leased"):
        await store.journal.mark_room_created(key, "R1", "w1", now=NOW)
    await store.journal.claim_one(key, "w1", lease=LEASE, now=NOW)
    for move in (
        store.journal.mark_room_created(key, "R1", "w2", now=NOW),
        store.journal.mark_failed(key, "bad", "Bad.", "w2", now=NOW),
        store.journal.mark_answered(key, "w2", now=NOW),
        store.journal.pin_command(key, {"kind": "x"}, "w2", now=NOW),
    ):
        with pytest.raises(LeaseLost, match="held by 'w1'"):
            await move


async def test_unknown_keys(store: Store) -> None:
    """Queries on unknown keys say so quietly; transitions raise EntryNotFound."""
    key = new_journal_key()
    assert await store.journal.get(key) is None
    assert await store.journal.claim_one(key, "w1", lease=LEASE, now=NOW) is None
    assert await store.journal.release(key, "w1", now=NOW) is False
    assert await store.journal.note_response_url_use(key, now=NOW) is False
    with pytest.raises(EntryNotFound, match=key):
        await store.journal.mark_answered(key, "w1", now=NOW)


async def test_pin_command_replaces_the_command_before_any_side_effect(store: Store) -> None:
    """A pinned command is what every later claim sees."""
    entry = await _claimed(store)
    resolved = {"kind": "resolved", "valid_until": "2025-03-04T09:00:00+00:00"}
    pinned = await store.journal.pin_command(entry.key, resolved, "w1", now=NOW + SECOND)
    assert (pinned.command, pinned.state, pinned.updated_at) == (
        resolved,
        JournalState.ACCEPTED,
        NOW + SECOND,
    )
    await store.journal.release(entry.key, "w1", now=NOW)
    (again,) = await store.journal.claim("w2", lease=LEASE, now=NOW)
    assert again.command == resolved


# --- response_url budget --------------------------------------------------------------------


async def test_response_url_allows_five_uses_within_thirty_minutes(store: Store) -> None:
    """The sixth post to a response_url is refused before it is attempted."""
    key = await _accepted(store)
    uses = [await store.journal.note_response_url_use(key, now=NOW) for _ in range(6)]
    assert uses == [True] * RESPONSE_URL_MAX_USES + [False]
    entry = await store.journal.get(key)
    assert entry is not None
    assert entry.response_url_uses == RESPONSE_URL_MAX_USES
    assert not entry.response_url_usable(NOW)


async def test_response_url_expires(store: Store) -> None:
    """Thirty minutes after acceptance the response_url is no longer offered."""
    key = await _accepted(store)
    expiry = NOW + RESPONSE_URL_LIFETIME
    assert await store.journal.note_response_url_use(key, now=expiry - SECOND) is True
    assert await store.journal.note_response_url_use(key, now=expiry) is False
    entry = await store.journal.get(key)
    assert entry is not None
    assert entry.response_url_usable(expiry - SECOND)
    assert not entry.response_url_usable(expiry)


async def test_no_response_url_means_no_uses(store: Store) -> None:
    """Without a response_url the answer must go through chat.postMessage."""
    key = await _accepted(store, response_url=None)
    assert await store.journal.note_response_url_use(key, now=NOW) is False


async def test_concurrent_replicas_cannot_both_take_the_last_use(
    database_url: str, store: Store
) -> None:
    """Eight racing uses from two replicas: exactly five are granted."""
    key = await _accepted(store)
    async with Store.open(database_url) as replica:
        results = await asyncio.gather(
            *(
                journal.note_response_url_use(key, now=NOW)
                for journal in [store.journal, replica.journal] * 4
            )
        )
    assert sorted(results) == [False] * 3 + [True] * RESPONSE_URL_MAX_USES
