"""What `parse` keeps per text (tokens, people, the reading of a window) never changes an answer.

The reading of a window is kept per words, day, zone and date order, so a reader whose value
depends on the time of day must say so (`Words.clock_now`). Each case here reads the same words
twice on one day, the second time at a moment where the right answer differs.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bot.parsing import CreateRoom
from tests.parsing.helpers import run

PARSING = Path(__file__).resolve().parents[2] / "bot" / "parsing"


def _window(text: str, now: str, tz: str = "UTC") -> tuple[str, str]:
    result = run(text, now, tz)
    assert isinstance(result, CreateRoom), getattr(result, "message", result)
    return result.valid_from.isoformat(), result.valid_until.isoformat()


@pytest.mark.parametrize(
    ("text", "first", "second"),
    [
        (  # the time it is now, tomorrow
            "create same time tomorrow",
            ("2027-01-13T09:00:00", ("2027-01-14T09:00:00+00:00", "2027-01-14T10:00:00+00:00")),
            ("2027-01-13T15:30:00", ("2027-01-14T15:30:00+00:00", "2027-01-14T16:30:00+00:00")),
        ),
        (  # a part of the day alone: today's until it is over, then tomorrow's
            "create morning",
            ("2027-01-13T10:00:00", ("2027-01-13T10:00:00+00:00", "2027-01-13T12:00:00+00:00")),
            ("2027-01-13T13:00:00", ("2027-01-14T06:00:00+00:00", "2027-01-14T12:00:00+00:00")),
        ),
        (  # kept, and resolved against each moment: the same day's window, started now
            "create today 9am-5pm",
            ("2027-01-13T08:00:00", ("2027-01-13T09:00:00+00:00", "2027-01-13T17:00:00+00:00")),
            ("2027-01-13T12:00:00", ("2027-01-13T12:00:00+00:00", "2027-01-13T17:00:00+00:00")),
        ),
        (  # a new day is a new reading
            "create tomorrow",
            ("2027-01-13T23:00:00", ("2027-01-14T00:00:00+00:00", "2027-01-15T00:00:00+00:00")),
            ("2027-01-14T01:00:00", ("2027-01-15T00:00:00+00:00", "2027-01-16T00:00:00+00:00")),
        ),
    ],
)
def test_a_reading_kept_answers_as_a_fresh_one(
    text: str, first: tuple[str, tuple[str, str]], second: tuple[str, tuple[str, str]]
) -> None:
    for now, expected in (first, second, first):
        assert _window(text, now) == expected


def test_the_same_words_in_another_zone_are_that_zones_window() -> None:
    now = "2027-01-13T08:00:00"
    assert _window("create tomorrow 9am", now, "Europe/Paris")[0] == "2027-01-14T09:00:00+01:00"
    assert _window("create tomorrow 9am", now, "Asia/Tokyo")[0] == "2027-01-14T09:00:00+09:00"


def test_readers_ask_the_clock_through_clock_now() -> None:
    """A reader reading ``w.now`` itself would make a kept reading wrong at another time of day."""
    offenders = []
    for path in [*sorted(PARSING.glob("read_*.py")), PARSING / "days.py"]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Attribute)
                and node.attr == "now"
                and isinstance(node.value, ast.Name)
                and node.value.id == "w"
            ):
                offenders.append(f"{path.name}:{node.lineno}")
    assert offenders == []


def test_what_is_kept_stays_bounded_and_can_be_forgotten() -> None:
    """Distinct windows beyond the bound push the oldest out; `forget_kept` empties it all
    (the parse benchmark times a first sight with it)."""
    from bot.parsing import forget_kept, windows  # the bound is the module's own promise

    forget_kept()
    texts = [
        f"create tomorrow {hour}:{minute:02d} for {length} minutes"
        for length in (15, 20, 25, 30, 35, 40)
        for hour in range(8, 20)
        for minute in range(0, 60, 1)
    ]
    assert len(texts) > windows._READINGS_KEPT
    for text in texts:
        _window(text, "2027-01-13T07:00:00")
    assert len(windows._readings) == windows._READINGS_KEPT
    forget_kept()
    assert windows._readings == {}
    assert _window(texts[0], "2027-01-13T07:00:00") == (
        "2027-01-14T08:00:00+00:00",
        "2027-01-14T08:15:00+00:00",
    )
