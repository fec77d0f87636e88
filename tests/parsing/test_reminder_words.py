"""`remind 15m`: a room's own reminder lead time, in the command language."""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.parsing import CreateRoom, ErrorCode, ParseError
from tests.parsing.helpers import run


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("create tomorrow 9am remind 15m", 15),
        ("tomorrow 9am remind 15 minutes", 15),
        ("remind me 1h before tomorrow 9am", 60),
        ("tomorrow 9am-10am <@U0ANN> presenter remind 90min", 90),
        ("tomorrow 9am remind 2 hours ahead", 120),
        ("tomorrow 9am remind 0m", 0),
        ("tomorrow 9am remind 24h", 1440),
    ],
)
def test_a_lead_time_is_read_and_the_window_is_unchanged(text: str, minutes: int) -> None:
    command = run(text)
    assert isinstance(command, CreateRoom), command
    assert command.remind_minutes == minutes
    assert command.valid_from == datetime.fromisoformat("2027-01-14T09:00:00+00:00")


def test_without_remind_there_is_no_lead() -> None:
    command = run("tomorrow 9am")
    assert isinstance(command, CreateRoom)
    assert command.remind_minutes is None


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("tomorrow 9am remind", "needs a number of minutes or hours:"),
        ("tomorrow 9am remind soon", "needs a number of minutes or hours (“soon”)"),
        ("tomorrow 9am remind 15", "needs a number of minutes or hours (“15”)"),
        ("tomorrow 9am remind 3 days", "needs a number of minutes or hours (“3”)"),
        ("tomorrow 9am remind 25h", "is more than 24 hours (“25h”)"),
    ],
)
def test_a_bad_lead_time_is_refused_with_an_example(text: str, said: str) -> None:
    refused = run(text)
    assert isinstance(refused, ParseError)
    assert refused.code is ErrorCode.BAD_REMINDER
    assert said in refused.message
    assert "`/room create tomorrow 9am remind 15m`" in refused.message
    assert isinstance(run("create tomorrow 9am remind 15m"), CreateRoom)  # the example works


def test_only_a_new_room_takes_a_lead_time() -> None:
    refused = run("add 123 <@U0ANN> remind 5m")
    assert isinstance(refused, ParseError)
    assert refused.code is ErrorCode.UNEXPECTED_ARGUMENT
    assert "reminders" in refused.message
