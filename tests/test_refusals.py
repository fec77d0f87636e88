"""Every refusal of a window change says what was wrong, never ACS's wire words, and offers a
command for the same room that the parser reads as that command."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain import RoomRecord, RoomState
from bot.parsing import ParseError, parse
from bot.service import refusals
from bot.service.limits import MAX_LIFETIME, WindowProblem
from bot.service.outcomes import ServiceError

NOW = datetime(2027, 1, 13, 15, 10, tzinfo=UTC)
TZ = "Europe/Paris"
ROOM_ID = "99117812428622880"
DAY = timedelta(days=1)


def a_room(start: datetime, end: datetime, state: RoomState = RoomState.ACTIVE) -> RoomRecord:
    return RoomRecord(
        room_id=ROOM_ID,
        team_id="T1",
        channel_id="C1",
        creator_id="U1",
        valid_from=start,
        valid_until=end,
        pstn_dial_out=False,
        participants=(),
        message=None,
        state=state,
        created_at=NOW,
        updated_at=NOW,
    )


OPEN = a_room(NOW - DAY, NOW + DAY)
AT_LIMIT = a_room(NOW + DAY, NOW + DAY + MAX_LIFETIME)
NEAR_LIMIT = a_room(NOW + DAY, NOW + DAY + MAX_LIFETIME - 3 * DAY)
CLOSED = a_room(NOW - 3 * DAY, NOW - 2 * DAY)
LATER = a_room(NOW + DAY, NOW + 2 * DAY)

CASES: list[tuple[str, ServiceError, str]] = [
    ("not later", refusals.not_later(OPEN, NOW, TZ), "reschedule"),
    (
        "over the limit, room at it",
        refusals.extend_refused(AT_LIMIT, AT_LIMIT.valid_until + DAY, WindowProblem.TOO_LONG, TZ),
        "reschedule",
    ),
    (
        "over the limit, room below it",
        refusals.extend_refused(
            NEAR_LIMIT, NEAR_LIMIT.valid_until + 5 * DAY, WindowProblem.TOO_LONG, TZ
        ),
        "extend",
    ),
    (
        "extend still in the past",
        refusals.extend_refused(CLOSED, NOW - DAY, WindowProblem.END_IN_PAST, TZ),
        "reschedule",
    ),
    *[
        (
            f"reschedule {problem}",
            refusals.reschedule_refused(OPEN, NOW + DAY, NOW + 2 * DAY, problem, TZ),
            "reschedule",
        )
        for problem in WindowProblem
    ],
    ("end before it opens", refusals.end_not_open(LATER, NOW, TZ), "delete"),
    ("end after it closed", refusals.end_not_open(CLOSED, NOW, TZ), "reschedule"),
]


@pytest.mark.parametrize(("name", "error", "action"), CASES, ids=[c[0] for c in CASES])
def test_each_refusal_offers_a_command_for_the_same_room(
    name: str, error: ServiceError, action: str
) -> None:
    assert "ValidUntil" not in error.message
    assert "could not be understood" not in error.message
    assert ROOM_ID in error.message
    assert error.example is not None
    command = parse(error.example.removeprefix("/room "), now=NOW, tz=TZ)
    assert not isinstance(command, ParseError), command.message
    assert command.action == action
    assert getattr(command, "room_id", None) == ROOM_ID


def test_the_latest_end_offered_is_within_the_limit() -> None:
    error = refusals.extend_refused(
        NEAR_LIMIT, NEAR_LIMIT.valid_until + 5 * DAY, WindowProblem.TOO_LONG, TZ
    )
    assert error.example is not None
    command = parse(error.example.removeprefix("/room "), now=NOW, tz=TZ)
    assert not isinstance(command, ParseError)
    until = getattr(command, "until", None)
    assert until is not None
    assert NEAR_LIMIT.valid_until < until <= NEAR_LIMIT.valid_from + MAX_LIFETIME
