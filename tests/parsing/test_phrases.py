"""The command language, part two: the phrases people actually type, family by family.

Each row is (text, said at, valid_from, valid_until), local times in UTC unless the row says
otherwise; the reference time is Wednesday 2027-01-13 15:10, and rows far ahead are said later so
that they fall within the 180 days a room may be set up ahead.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.parsing import CreateRoom, ErrorCode, ParseError, parse
from bot.parsing.cli import to_json

NOW = "2027-01-13T15:10"

PHRASES = [
    ("tomorrow 3 to 4", NOW, "2027-01-14 15:00", "2027-01-14 16:00"),
    ("tomorrow at 5", NOW, "2027-01-14 17:00", "2027-01-14 18:00"),
    ("tomorrow at 3:30", NOW, "2027-01-14 15:30", "2027-01-14 16:30"),
    ("tomorrow at 7", NOW, "2027-01-14 07:00", "2027-01-14 08:00"),
    ("tomorrow at 12", NOW, "2027-01-14 12:00", "2027-01-14 13:00"),
    ("tomorrow at 03:00", NOW, "2027-01-14 03:00", "2027-01-14 04:00"),
    ("tomorrow at 0:30", NOW, "2027-01-14 00:30", "2027-01-14 01:30"),
    ("tomorrow at 13", NOW, "2027-01-14 13:00", "2027-01-14 14:00"),
    ("tomorrow 9-5", NOW, "2027-01-14 09:00", "2027-01-14 17:00"),
    ("tomorrow 6-8", NOW, "2027-01-14 18:00", "2027-01-14 20:00"),
    ("tomorrow 3-5pm", NOW, "2027-01-14 15:00", "2027-01-14 17:00"),
    ("tomorrow 5-6am", NOW, "2027-01-14 05:00", "2027-01-14 06:00"),
    ("tomorrow 11-1pm", NOW, "2027-01-14 11:00", "2027-01-14 13:00"),
    ("tomorrow 10am-2", NOW, "2027-01-14 10:00", "2027-01-14 14:00"),
    ("11pm-1am", NOW, "2027-01-13 23:00", "2027-01-14 01:00"),
    ("22:00-02:00", NOW, "2027-01-13 22:00", "2027-01-14 02:00"),
    ("6:00 pm - 12:00 am", NOW, "2027-01-13 18:00", "2027-01-14 00:00"),
    ("friday 11pm-1am", NOW, "2027-01-15 23:00", "2027-01-16 01:00"),
    ("this afternoon", NOW, "2027-01-13 15:10", "2027-01-13 18:00"),
    ("tomorrow morning", NOW, "2027-01-14 06:00", "2027-01-14 12:00"),
    ("friday evening", NOW, "2027-01-15 18:00", "2027-01-16 00:00"),
    ("tonight", NOW, "2027-01-13 18:00", "2027-01-14 00:00"),
    ("monday night", NOW, "2027-01-18 20:00", "2027-01-19 00:00"),
    ("8 tonight", NOW, "2027-01-13 20:00", "2027-01-13 21:00"),
    ("6 in the morning", NOW, "2027-01-14 06:00", "2027-01-14 07:00"),
    ("this afternoon at 3", NOW, "2027-01-13 15:10", "2027-01-13 16:00"),
    ("10 - 11 at night", NOW, "2027-01-13 22:00", "2027-01-13 23:00"),
    ("tomorrow morning at 9", NOW, "2027-01-14 09:00", "2027-01-14 10:00"),
    ("evening", NOW, "2027-01-13 18:00", "2027-01-14 00:00"),
    ("tomorrow 9am ist", NOW, "2027-01-14 09:00", "2027-01-14 10:00"),
    ("june 28, 2027", "2027-06-01T10:00", "2027-06-28 00:00", "2027-06-29 00:00"),
    ("28 june 2027", "2027-06-01T10:00", "2027-06-28 00:00", "2027-06-29 00:00"),
    ("june 28 in 2027", "2027-06-01T10:00", "2027-06-28 00:00", "2027-06-29 00:00"),
    ("28th of june of 2027", "2027-06-01T10:00", "2027-06-28 00:00", "2027-06-29 00:00"),
    ("5/1-5/7, 2027", "2027-04-20T10:00", "2027-05-01 00:00", "2027-05-08 00:00"),
    ("10 - 22 august 2027", "2027-06-01T10:00", "2027-08-10 00:00", "2027-08-23 00:00"),
    ("august 10 - 22, 2027", "2027-06-01T10:00", "2027-08-10 00:00", "2027-08-23 00:00"),
    ("12 to 16 september", "2027-06-01T10:00", "2027-09-12 00:00", "2027-09-17 00:00"),
    ("from 13 to 15 july", "2027-06-01T10:00", "2027-07-13 00:00", "2027-07-16 00:00"),
    ("4-23 next month", NOW, "2027-02-04 00:00", "2027-02-24 00:00"),
    ("from 4 to 22 this month", NOW, "2027-01-13 15:10", "2027-01-23 00:00"),
    ("tuesday of next week", NOW, "2027-01-19 00:00", "2027-01-20 00:00"),
    ("next week wednesday", NOW, "2027-01-20 00:00", "2027-01-21 00:00"),
    ("friday next week", NOW, "2027-01-22 00:00", "2027-01-23 00:00"),
    ("wednesday this week", NOW, "2027-01-13 15:10", "2027-01-14 00:00"),
    ("this week from tue to thu", NOW, "2027-01-13 15:10", "2027-01-15 00:00"),
    ("next week between wednesday and friday", NOW, "2027-01-20 00:00", "2027-01-23 00:00"),
    ("the 15th", NOW, "2027-01-15 00:00", "2027-01-16 00:00"),
    ("the 15th of next month", NOW, "2027-02-15 00:00", "2027-02-16 00:00"),
    ("tuesday the 8th", NOW, "2027-06-08 00:00", "2027-06-09 00:00"),
    ("first wednesday of february", NOW, "2027-02-03 00:00", "2027-02-04 00:00"),
    ("last friday of the month", NOW, "2027-01-29 00:00", "2027-01-30 00:00"),
    ("second monday of next month", NOW, "2027-02-08 00:00", "2027-02-09 00:00"),
    ("the day after tomorrow", NOW, "2027-01-15 00:00", "2027-01-16 00:00"),
    ("next day", NOW, "2027-01-14 00:00", "2027-01-15 00:00"),
    ("next 3 days", NOW, "2027-01-14 00:00", "2027-01-17 00:00"),
    ("next two days", NOW, "2027-01-14 00:00", "2027-01-16 00:00"),
    ("next hour", NOW, "2027-01-13 15:10", "2027-01-13 16:10"),
    ("next 5 hrs", NOW, "2027-01-13 15:10", "2027-01-13 20:10"),
    ("the coming week", NOW, "2027-01-18 00:00", "2027-01-25 00:00"),
    ("within 2 weeks", NOW, "2027-01-13 15:10", "2027-01-27 15:10"),
    ("3 days from today", NOW, "2027-01-16 00:00", "2027-01-17 00:00"),
    ("3 days starting next monday", NOW, "2027-01-18 00:00", "2027-01-21 00:00"),
    ("a week starting tomorrow", NOW, "2027-01-14 00:00", "2027-01-21 00:00"),
    ("a day starting friday 5pm", NOW, "2027-01-15 17:00", "2027-01-16 17:00"),
    ("in may", NOW, "2027-05-01 00:00", "2027-06-01 00:00"),
    ("in march", NOW, "2027-03-01 00:00", "2027-04-01 00:00"),
    ("end of the month", NOW, "2027-01-13 15:10", "2027-02-01 00:00"),
    ("eod", NOW, "2027-01-13 15:10", "2027-01-14 00:00"),
    ("eow", NOW, "2027-01-13 15:10", "2027-01-18 00:00"),
    ("eom", NOW, "2027-01-13 15:10", "2027-02-01 00:00"),
    ("this upcoming friday", NOW, "2027-01-15 00:00", "2027-01-16 00:00"),
    ("later today", NOW, "2027-01-13 15:10", "2027-01-14 00:00"),
    ("now + 40 minutes", NOW, "2027-01-13 15:50", "2027-01-13 16:50"),
    ("after 5pm", NOW, "2027-01-13 17:00", "2027-01-13 18:00"),
    ("half past seven", NOW, "2027-01-14 07:30", "2027-01-14 08:30"),
    ("half past three", NOW, "2027-01-13 15:30", "2027-01-13 16:30"),
    ("quarter to seven", NOW, "2027-01-14 06:45", "2027-01-14 07:45"),
    ("quarter past 8", NOW, "2027-01-14 08:15", "2027-01-14 09:15"),
    ("9a", NOW, "2027-01-14 09:00", "2027-01-14 10:00"),
    ("8:45a", NOW, "2027-01-14 08:45", "2027-01-14 09:45"),
    ("3p", NOW, "2027-01-14 15:00", "2027-01-14 16:00"),
    ("5p mon", NOW, "2027-01-18 17:00", "2027-01-18 18:00"),
    ("3p-4p", NOW, "2027-01-13 15:10", "2027-01-13 16:00"),
    ("noon", NOW, "2027-01-14 12:00", "2027-01-14 13:00"),
    ("10 o'clock", NOW, "2027-01-14 10:00", "2027-01-14 11:00"),
    ("seven pm", NOW, "2027-01-13 19:00", "2027-01-13 20:00"),
    ("15h", NOW, "2027-01-14 15:00", "2027-01-14 16:00"),
    ("15h30", NOW, "2027-01-13 15:30", "2027-01-13 16:30"),
    ("10:00:00 - 21:45:00", NOW, "2027-01-13 15:10", "2027-01-13 21:45"),
    ("for two hours", NOW, "2027-01-13 15:10", "2027-01-13 17:10"),
    ("for thirty two hours", NOW, "2027-01-13 15:10", "2027-01-14 23:10"),
    ("for a couple of days", NOW, "2027-01-13 15:10", "2027-01-15 15:10"),
    ("for 1/2 hour", NOW, "2027-01-13 15:10", "2027-01-13 15:40"),
    ("for an hour and a half", NOW, "2027-01-13 15:10", "2027-01-13 16:40"),
    ("for 1.5 hours", NOW, "2027-01-13 15:10", "2027-01-13 16:40"),
    ("24/12", "2027-10-01T10:00", "2027-12-24 00:00", "2027-12-25 00:00"),
    ("a fortnight", NOW, "2027-01-13 15:10", "2027-01-27 15:10"),
    ("2 hours", NOW, "2027-01-13 15:10", "2027-01-13 17:10"),
    # fillers, whole days, ends and idioms
    ("all day tomorrow", NOW, "2027-01-14 00:00", "2027-01-15 00:00"),
    ("the whole day friday", NOW, "2027-01-15 00:00", "2027-01-16 00:00"),
    ("tomorrow for the whole day", NOW, "2027-01-14 00:00", "2027-01-15 00:00"),
    ("for the day", NOW, "2027-01-13 15:10", "2027-01-14 00:00"),
    ("for the rest of the day", NOW, "2027-01-13 15:10", "2027-01-14 00:00"),
    ("for the week", NOW, "2027-01-13 15:10", "2027-01-18 00:00"),
    ("for the next hour", NOW, "2027-01-13 15:10", "2027-01-13 16:10"),
    ("for the next 2 hours", NOW, "2027-01-13 15:10", "2027-01-13 17:10"),
    ("until 5", NOW, "2027-01-13 15:10", "2027-01-13 17:00"),
    ("now to 6", NOW, "2027-01-13 15:10", "2027-01-13 18:00"),
    ("till noon", NOW, "2027-01-13 15:10", "2027-01-14 12:00"),
    ("until the end of the month", NOW, "2027-01-13 15:10", "2027-02-01 00:00"),
    ("end of next week", NOW, "2027-01-13 15:10", "2027-01-25 00:00"),
    ("beginning of next month", NOW, "2027-02-01 00:00", "2027-02-02 00:00"),
    ("start of next week", NOW, "2027-01-18 00:00", "2027-01-19 00:00"),
    ("next month on the 3rd", NOW, "2027-02-03 00:00", "2027-02-04 00:00"),
    ("wed pm", NOW, "2027-01-20 12:00", "2027-01-20 18:00"),
    ("tomorrow am", NOW, "2027-01-14 06:00", "2027-01-14 12:00"),
    ("lunchtime", NOW, "2027-01-14 12:00", "2027-01-14 13:00"),
    ("tomorrow at lunch", NOW, "2027-01-14 12:00", "2027-01-14 13:00"),
    ("at 1415", NOW, "2027-01-14 14:15", "2027-01-14 15:15"),
    ("at 2pm sharp", NOW, "2027-01-14 14:00", "2027-01-14 15:00"),
    ("around 3pm", NOW, "2027-01-14 15:00", "2027-01-14 16:00"),
    ("tomorrow at noon", NOW, "2027-01-14 12:00", "2027-01-14 13:00"),
    ("9.30-10.30", NOW, "2027-01-14 09:30", "2027-01-14 10:30"),
    ("9h-17h", NOW, "2027-01-13 15:10", "2027-01-13 17:00"),
    ("10am-noon", NOW, "2027-01-14 10:00", "2027-01-14 12:00"),
    ("12:30-1:30", NOW, "2027-01-14 12:30", "2027-01-14 13:30"),
    ("3:00 p.m.", NOW, "2027-01-14 15:00", "2027-01-14 16:00"),
    ("mon-fri", NOW, "2027-01-18 00:00", "2027-01-23 00:00"),
    ("20-22 jan", NOW, "2027-01-20 00:00", "2027-01-23 00:00"),
    ("from the 20th to the 22nd", NOW, "2027-01-20 00:00", "2027-01-23 00:00"),
    ("2027-01-20T15:00", NOW, "2027-01-20 15:00", "2027-01-20 16:00"),
    ("two weeks from now", NOW, "2027-01-27 15:10", "2027-01-27 16:10"),
    ("a week from today", NOW, "2027-01-20 00:00", "2027-01-21 00:00"),
    ("3 days later", NOW, "2027-01-16 15:10", "2027-01-16 16:10"),
]


def _read(text: str, now: str, tz: str = "UTC") -> CreateRoom | ParseError:
    result = parse(text, now=datetime.fromisoformat(now), tz=tz)
    assert isinstance(result, CreateRoom | ParseError), result
    return result


@pytest.mark.parametrize(
    ("text", "now", "valid_from", "valid_until"), PHRASES, ids=[row[0] for row in PHRASES]
)
def test_phrase(text: str, now: str, valid_from: str, valid_until: str) -> None:
    """Each phrase reads as the window a person means."""
    result = _read(text, now)
    assert isinstance(result, CreateRoom), getattr(result, "message", result)
    shown = (f"{result.valid_from:%Y-%m-%d %H:%M}", f"{result.valid_until:%Y-%m-%d %H:%M}")
    assert shown == (valid_from, valid_until)


@pytest.mark.parametrize(
    ("text", "valid_from", "valid_until", "note"),
    [
        # said at 15:10 UTC: 07:10 in Los Angeles, 16:10 in Paris, 20:40 in Kolkata
        (
            "3pm PT",
            "2027-01-13T15:00:00-08:00",
            "2027-01-13T16:00:00-08:00",
            "“PT” read as America/Los_Angeles",
        ),
        (
            "3pm pst",
            "2027-01-13T15:00:00-08:00",
            "2027-01-13T16:00:00-08:00",
            "“pst” read as America/Los_Angeles",
        ),
        (
            "10-11am ET",
            "2027-01-13T10:10:00-05:00",
            "2027-01-13T11:00:00-05:00",
            "“ET” read as America/New_York",
        ),
        (
            "tomorrow 9am Europe/Paris",
            "2027-01-14T09:00:00+01:00",
            "2027-01-14T10:00:00+01:00",
            "in Europe/Paris",
        ),
        (
            "tomorrow 9am europe/paris",
            "2027-01-14T09:00:00+01:00",
            "2027-01-14T10:00:00+01:00",
            "in Europe/Paris",
        ),
        (
            "tomorrow 9am IST",
            "2027-01-14T09:00:00+05:30",
            "2027-01-14T10:00:00+05:30",
            "“IST” read as Asia/Kolkata",
        ),
        (
            "10am UTC+2",
            "2027-01-14T10:00:00+02:00",
            "2027-01-14T11:00:00+02:00",
            "“UTC+2” read as UTC+02:00",
        ),
        (
            "noon GMT-05:00",
            "2027-01-13T12:00:00-05:00",
            "2027-01-13T13:00:00-05:00",
            "“GMT-05:00” read as UTC-05:00",
        ),
        (
            "tomorrow 9am utc",
            "2027-01-14T09:00:00+00:00",
            "2027-01-14T10:00:00+00:00",
            "in UTC",
        ),
    ],
)
def test_a_zone_in_the_text_wins(text: str, valid_from: str, valid_until: str, note: str) -> None:
    """A zone named in the text is read instead of the user's, and the command says how."""
    result = _read(text, NOW + "+00:00", tz="Asia/Tokyo")
    assert isinstance(result, CreateRoom), getattr(result, "message", result)
    assert (result.valid_from.isoformat(), result.valid_until.isoformat()) == (
        valid_from,
        valid_until,
    )
    assert result.zone_note == note
    assert to_json(result)["zone"] == note


def test_no_zone_named_no_note() -> None:
    """Without a zone word the user's zone reads the window and nothing is noted."""
    result = _read("tomorrow 9am", NOW, tz="Asia/Tokyo")
    assert isinstance(result, CreateRoom)
    assert result.zone_note is None
    assert result.valid_from.isoformat() == "2027-01-14T09:00:00+09:00"


def test_gmt_then_a_range_is_not_an_offset() -> None:
    """``9am gmt - 5pm`` is a range in GMT, not the zone GMT-5."""
    result = _read("tomorrow 9am gmt - 5pm", NOW, tz="Asia/Tokyo")
    assert isinstance(result, CreateRoom)
    assert result.valid_until.isoformat() == "2027-01-14T17:00:00+00:00"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("8pm-9am", ErrorCode.END_BEFORE_START),  # overnight, but 13 hours
        ("next friday 6pm-8am", ErrorCode.END_BEFORE_START),
        ("this morning", ErrorCode.WINDOW_IN_PAST),  # 06:00-12:00 is over at 15:10
        ("the 31st of next month", ErrorCode.UNRECOGNISED_TIME),  # February has no 31st
        ("fifth friday of february", ErrorCode.UNRECOGNISED_TIME),
        ("first wednesday", ErrorCode.UNRECOGNISED_TIME),  # of which month?
        ("13/13", ErrorCode.UNRECOGNISED_TIME),
        ("quarter to", ErrorCode.UNRECOGNISED_TIME),
    ],
)
def test_refused_not_guessed(text: str, code: ErrorCode) -> None:
    """What the families cannot make sense of is refused with the words, never guessed."""
    result = _read(text, NOW)
    assert isinstance(result, ParseError)
    assert result.code is code, result.message


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ('create tomorrow 3pm "Design review" <@U01AAA|ann> presenter', "Design review"),
        ("tomorrow 3pm “Design review”", "Design review"),  # curly quotes
        ('"Design review" tomorrow 3pm', "Design review"),  # anywhere
        ("tomorrow 3pm “Q&amp;A”", "Q&A"),  # Slack's escaping undone; answers escape again
        ("tomorrow 3pm title: Weekly   sync", "Weekly sync"),  # the rest of the command
        ('tomorrow 3pm "  "', None),  # nothing in the quotes: no title
        ("tomorrow 3pm", None),
        ('"Standup"', "Standup"),  # a title alone: a room now
    ],
)
def test_titles(text: str, title: str | None) -> None:
    """Text in quotes or after ``title:`` is the room's title, and not read as a time."""
    result = _read(text, NOW)
    assert isinstance(result, CreateRoom), getattr(result, "message", result)
    assert result.title == title
    assert to_json(result).get("title") == title


def test_a_title_within_the_limit() -> None:
    """Up to 100 characters; more is refused saying how long it was."""
    assert isinstance(_read(f'tomorrow "{"x" * 100}"', NOW), CreateRoom)
    result = _read(f'tomorrow "{"x" * 101}"', NOW)
    assert isinstance(result, ParseError)
    assert result.code is ErrorCode.TITLE_TOO_LONG
    assert "101 characters" in result.message


def test_only_a_new_room_takes_a_title() -> None:
    """A title on another verb is refused, not dropped."""
    result = _read('show 99117812428622880 "Design review"', NOW)
    assert isinstance(result, ParseError)
    assert result.code is ErrorCode.UNEXPECTED_ARGUMENT
