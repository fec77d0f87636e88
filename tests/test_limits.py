"""ACS Rooms' window limits as roombot checks them, against the emulator that enforces them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.local.emulator import ServiceError, _check_window
from bot.service.limits import MAX_LIFETIME, WindowProblem, extend_button_works, window_problem

NOW = datetime(2027, 1, 13, 15, 10, tzinfo=UTC)
DAY = timedelta(days=1)

CASES = [
    (NOW, NOW + DAY, None),
    (NOW - DAY, NOW + DAY, None),  # already open
    (NOW + MAX_LIFETIME, NOW + MAX_LIFETIME + DAY, None),  # opens at the furthest
    (NOW + MAX_LIFETIME + timedelta(seconds=1), NOW + 200 * DAY, WindowProblem.START_TOO_FAR_AHEAD),
    (NOW - 2 * DAY, NOW - DAY, WindowProblem.END_IN_PAST),
    (NOW + 2 * DAY, NOW + DAY, WindowProblem.END_BEFORE_START),
    (NOW, NOW + MAX_LIFETIME, None),  # exactly 180 days
    (NOW, NOW + MAX_LIFETIME + timedelta(seconds=1), WindowProblem.TOO_LONG),
]


@pytest.mark.parametrize(("start", "end", "problem"), CASES)
def test_roombot_refuses_exactly_what_the_emulator_refuses(
    start: datetime, end: datetime, problem: WindowProblem | None
) -> None:
    """Each window roombot lets through, the emulator takes; each it refuses, ACS refuses."""
    assert window_problem(start, end, NOW) is problem
    refused = False
    try:
        _check_window(start, end, NOW)
    except ServiceError:  # the emulator's 400, as the service answers it
        refused = True
    assert refused is (problem is not None)


def test_the_extend_button_allows_for_a_day_of_25_hours() -> None:
    """A press asks for one calendar day in the presser's zone: up to 25 hours across DST."""
    assert extend_button_works(NOW, NOW + MAX_LIFETIME - timedelta(hours=25), NOW)
    assert not extend_button_works(NOW, NOW + MAX_LIFETIME - timedelta(hours=24), NOW)
    # a room that closed long ago cannot be reopened by a day
    assert not extend_button_works(NOW - 10 * DAY, NOW - 2 * DAY, NOW)
    assert extend_button_works(NOW - 10 * DAY, NOW - timedelta(hours=22), NOW)
    assert not extend_button_works(NOW - 10 * DAY, NOW - timedelta(hours=23), NOW)
