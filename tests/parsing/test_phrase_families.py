"""The command language, part three: holidays, parts of weeks and months, weeks on from a day,
deadlines, clock times in words, and alternatives refused.

Each row is (text, said at, valid_from, valid_until) in UTC, as in `test_phrases`; the reference
time is Wednesday 2027-01-13 15:10. Every case is our own.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.parsing import CreateRoom, ErrorCode, ParseError, parse
from bot.parsing.vocabulary import HOLIDAYS, MOVING_HOLIDAYS
from tests.parsing.helpers import working_examples

NOW = "2027-01-13T15:10"

PHRASES = [
    # holidays (said in November 2027)
    ("christmas", "2027-11-20T10:00", "2027-12-25 00:00", "2027-12-26 00:00"),
    ("christmas day", "2027-11-20T10:00", "2027-12-25 00:00", "2027-12-26 00:00"),
    ("xmas", "2027-11-20T10:00", "2027-12-25 00:00", "2027-12-26 00:00"),
    ("christmas eve", "2027-11-20T10:00", "2027-12-24 00:00", "2027-12-25 00:00"),
    ("christmas eve at 6pm", "2027-11-20T10:00", "2027-12-24 18:00", "2027-12-24 19:00"),
    ("christmas morning", "2027-11-20T10:00", "2027-12-25 06:00", "2027-12-25 12:00"),
    ("boxing day", "2027-11-20T10:00", "2027-12-26 00:00", "2027-12-27 00:00"),
    ("new year's eve", "2027-11-20T10:00", "2027-12-31 00:00", "2028-01-01 00:00"),
    ("new years eve", "2027-11-20T10:00", "2027-12-31 00:00", "2028-01-01 00:00"),
    ("new year’s day", "2027-11-20T10:00", "2028-01-01 00:00", "2028-01-02 00:00"),
    ("new years day 2028", "2027-11-20T10:00", "2028-01-01 00:00", "2028-01-02 00:00"),
    (
        "from christmas eve to new year's day",
        "2027-11-20T10:00",
        "2027-12-24 00:00",
        "2028-01-02 00:00",
    ),
    ("christmas eve to boxing day", "2027-11-20T10:00", "2027-12-24 00:00", "2027-12-27 00:00"),
    ("3 days before christmas", "2027-11-20T10:00", "2027-12-22 00:00", "2027-12-23 00:00"),
    ("the day after christmas", "2027-11-20T10:00", "2027-12-26 00:00", "2027-12-27 00:00"),
    ("halloween", "2027-09-01T10:00", "2027-10-31 00:00", "2027-11-01 00:00"),
    ("halloween 7pm-9pm", "2027-09-01T10:00", "2027-10-31 19:00", "2027-10-31 21:00"),
    ("valentine's day", NOW, "2027-02-14 00:00", "2027-02-15 00:00"),
    ("valentines day at noon", NOW, "2027-02-14 12:00", "2027-02-14 13:00"),
    ("st patrick's day", NOW, "2027-03-17 00:00", "2027-03-18 00:00"),
    ("st. patrick's day 5pm", NOW, "2027-03-17 17:00", "2027-03-17 18:00"),
    ("independence day", "2027-06-01T10:00", "2027-07-04 00:00", "2027-07-05 00:00"),
    ("the fourth of july", "2027-06-01T10:00", "2027-07-04 00:00", "2027-07-05 00:00"),
    ("juneteenth", "2027-06-01T10:00", "2027-06-19 00:00", "2027-06-20 00:00"),
    ("veterans day", "2027-09-01T10:00", "2027-11-11 00:00", "2027-11-12 00:00"),
    ("christmas 2027", "2027-11-20T10:00", "2027-12-25 00:00", "2027-12-26 00:00"),
    ("christmas in 2027", "2027-11-20T10:00", "2027-12-25 00:00", "2027-12-26 00:00"),
    ("christmas", "2027-12-25T15:00", "2027-12-25 15:00", "2027-12-26 00:00"),
    # parts of a week or month (said Wed 2027-01-13 15:10)
    ("mid next week", NOW, "2027-01-19 00:00", "2027-01-22 00:00"),
    ("mid-week", NOW, "2027-01-13 15:10", "2027-01-15 00:00"),
    ("midweek", NOW, "2027-01-13 15:10", "2027-01-15 00:00"),
    ("mid-week", "2027-01-16T10:00", "2027-01-19 00:00", "2027-01-22 00:00"),
    ("the middle of next week", NOW, "2027-01-19 00:00", "2027-01-22 00:00"),
    ("early next week", NOW, "2027-01-18 00:00", "2027-01-20 00:00"),
    ("early this week", "2027-01-11T09:00", "2027-01-11 09:00", "2027-01-13 00:00"),
    ("late next week", NOW, "2027-01-21 00:00", "2027-01-23 00:00"),
    ("late this week", NOW, "2027-01-14 00:00", "2027-01-16 00:00"),
    ("early next month", NOW, "2027-02-01 00:00", "2027-02-11 00:00"),
    ("mid next month", NOW, "2027-02-11 00:00", "2027-02-21 00:00"),
    ("late next month", NOW, "2027-02-21 00:00", "2027-03-01 00:00"),
    ("late this month", NOW, "2027-01-21 00:00", "2027-02-01 00:00"),
    ("mid-month", NOW, "2027-01-13 15:10", "2027-01-21 00:00"),
    ("mid-january", NOW, "2027-01-13 15:10", "2027-01-21 00:00"),
    ("early march", NOW, "2027-03-01 00:00", "2027-03-11 00:00"),
    ("late february", NOW, "2027-02-21 00:00", "2027-03-01 00:00"),
    ("end of february", NOW, "2027-02-21 00:00", "2027-03-01 00:00"),
    ("beginning of march", NOW, "2027-03-01 00:00", "2027-03-11 00:00"),
    ("start of april", NOW, "2027-04-01 00:00", "2027-04-11 00:00"),
    ("end of april 2027", NOW, "2027-04-21 00:00", "2027-05-01 00:00"),
    # weeks on from a day
    ("in 2 weeks on monday", NOW, "2027-01-25 00:00", "2027-01-26 00:00"),
    ("in two weeks monday", NOW, "2027-01-25 00:00", "2027-01-26 00:00"),
    ("monday in 2 weeks", NOW, "2027-01-25 00:00", "2027-01-26 00:00"),
    ("friday in 2 weeks", NOW, "2027-01-29 00:00", "2027-01-30 00:00"),
    ("monday 2 weeks from now", NOW, "2027-01-25 00:00", "2027-01-26 00:00"),
    ("in 1 week on friday at 3pm", NOW, "2027-01-22 15:00", "2027-01-22 16:00"),
    ("2 weeks from friday", NOW, "2027-01-29 00:00", "2027-01-30 00:00"),
    ("2 weeks from friday at 10am", NOW, "2027-01-29 10:00", "2027-01-29 11:00"),
    ("a week from tomorrow", NOW, "2027-01-21 00:00", "2027-01-22 00:00"),
    ("a week from monday", NOW, "2027-01-25 00:00", "2027-01-26 00:00"),
    ("3 days from tomorrow", NOW, "2027-01-17 00:00", "2027-01-18 00:00"),
    ("10 days after jan 20", NOW, "2027-01-30 00:00", "2027-01-31 00:00"),
    ("a month from tomorrow", NOW, "2027-02-14 00:00", "2027-02-15 00:00"),
    ("2 days before friday", NOW, "2027-01-13 15:10", "2027-01-14 00:00"),
    ("the day before friday", NOW, "2027-01-14 00:00", "2027-01-15 00:00"),
    ("the day after new year's day", "2027-12-01T10:00", "2028-01-02 00:00", "2028-01-03 00:00"),
    ("tuesday after next", NOW, "2027-01-26 00:00", "2027-01-27 00:00"),
    ("thursday week", NOW, "2027-01-21 00:00", "2027-01-22 00:00"),
    ("a week on thursday", NOW, "2027-01-21 00:00", "2027-01-22 00:00"),
    ("the week after next", NOW, "2027-01-25 00:00", "2027-02-01 00:00"),
    ("the weekend after next", NOW, "2027-01-30 00:00", "2027-02-01 00:00"),
    # more ordinals and months
    ("the first of next month", NOW, "2027-02-01 00:00", "2027-02-02 00:00"),
    ("first of the month", NOW, "2027-02-01 00:00", "2027-02-02 00:00"),
    ("the first of march", NOW, "2027-03-01 00:00", "2027-03-02 00:00"),
    ("last day of the month", NOW, "2027-01-31 00:00", "2027-02-01 00:00"),
    ("the last day of february", NOW, "2027-02-28 00:00", "2027-03-01 00:00"),
    ("second of february", NOW, "2027-02-02 00:00", "2027-02-03 00:00"),
    ("next thursday the 21st", NOW, "2027-01-21 00:00", "2027-01-22 00:00"),
    ("june 2027", "2027-05-20T10:00", "2027-06-01 00:00", "2027-07-01 00:00"),
    ("in june 2027", "2027-05-20T10:00", "2027-06-01 00:00", "2027-07-01 00:00"),
    # deadlines
    ("by friday", NOW, "2027-01-13 15:10", "2027-01-16 00:00"),
    ("by 5pm", NOW, "2027-01-13 15:10", "2027-01-13 17:00"),
    ("by end of day", NOW, "2027-01-13 15:10", "2027-01-14 00:00"),
    ("before friday", NOW, "2027-01-13 15:10", "2027-01-15 00:00"),
    ("before 5pm", NOW, "2027-01-13 15:10", "2027-01-13 17:00"),
    ("before tomorrow morning", NOW, "2027-01-13 15:10", "2027-01-14 06:00"),
    # said differently
    ("later this week", NOW, "2027-01-13 15:10", "2027-01-18 00:00"),
    ("later this afternoon", NOW, "2027-01-13 15:10", "2027-01-13 18:00"),
    ("later tonight", NOW, "2027-01-13 18:00", "2027-01-14 00:00"),
    ("early tomorrow", NOW, "2027-01-14 06:00", "2027-01-14 12:00"),
    ("early tomorrow morning", NOW, "2027-01-14 06:00", "2027-01-14 12:00"),
    ("late tonight", NOW, "2027-01-13 20:00", "2027-01-14 00:00"),
    ("late friday", NOW, "2027-01-15 20:00", "2027-01-16 00:00"),
    ("tomorrow in the morning", NOW, "2027-01-14 06:00", "2027-01-14 12:00"),
    ("friday in the evening", NOW, "2027-01-15 18:00", "2027-01-16 00:00"),
    ("friday at night", NOW, "2027-01-15 20:00", "2027-01-16 00:00"),
    ("in the evening", NOW, "2027-01-13 18:00", "2027-01-14 00:00"),
    ("sometime tomorrow", NOW, "2027-01-14 00:00", "2027-01-15 00:00"),
    ("over the weekend", NOW, "2027-01-16 00:00", "2027-01-18 00:00"),
    ("next week on wednesday", NOW, "2027-01-20 00:00", "2027-01-21 00:00"),
    ("jan 20-25", NOW, "2027-01-20 00:00", "2027-01-26 00:00"),
    ("january 20 to 31", NOW, "2027-01-20 00:00", "2027-02-01 00:00"),
    ("around 3", NOW, "2027-01-14 15:00", "2027-01-14 16:00"),
    ("about 3 tomorrow", NOW, "2027-01-14 15:00", "2027-01-14 16:00"),
    ("at about 3pm", NOW, "2027-01-14 15:00", "2027-01-14 16:00"),
    ("right away", NOW, "2027-01-13 15:10", "2027-01-13 16:10"),
    ("straight away", NOW, "2027-01-13 15:10", "2027-01-13 16:10"),
    ("in 2 hours time", NOW, "2027-01-13 17:10", "2027-01-13 18:10"),
    ("in the next hour", NOW, "2027-01-13 15:10", "2027-01-13 16:10"),
    ("in the next 30 minutes", NOW, "2027-01-13 15:10", "2027-01-13 15:40"),
    ("over the next 3 days", NOW, "2027-01-14 00:00", "2027-01-17 00:00"),
    ("within the next 2 hours", NOW, "2027-01-13 15:10", "2027-01-13 17:10"),
    ("within the hour", NOW, "2027-01-13 15:10", "2027-01-13 16:10"),
    ("during the next week", NOW, "2027-01-18 00:00", "2027-01-25 00:00"),
    ("2moro 3pm", NOW, "2027-01-14 15:00", "2027-01-14 16:00"),
    # more said differently
    ("12 midnight", NOW, "2027-01-14 00:00", "2027-01-14 01:00"),
    ("midnight tonight", NOW, "2027-01-14 00:00", "2027-01-14 01:00"),
    ("a quarter of an hour", NOW, "2027-01-13 15:10", "2027-01-13 15:25"),
    ("three quarters of an hour", NOW, "2027-01-13 15:10", "2027-01-13 15:55"),
    ("in a week's time", NOW, "2027-01-20 15:10", "2027-01-20 16:10"),
    ("a week today", NOW, "2027-01-20 00:00", "2027-01-21 00:00"),
    ("a week tomorrow", NOW, "2027-01-21 00:00", "2027-01-22 00:00"),
    ("same time tomorrow", NOW, "2027-01-14 15:10", "2027-01-14 16:10"),
    ("tomorrow at the same time", NOW, "2027-01-14 15:10", "2027-01-14 16:10"),
    ("first thing tomorrow", NOW, "2027-01-14 06:00", "2027-01-14 12:00"),
    ("monday first thing", NOW, "2027-01-18 06:00", "2027-01-18 12:00"),
    ("until cob", NOW, "2027-01-13 15:10", "2027-01-13 17:00"),
    ("by close of business friday", NOW, "2027-01-13 15:10", "2027-01-15 17:00"),
    ("in the morning", NOW, "2027-01-14 06:00", "2027-01-14 12:00"),  # today's is over
    ("in the morning", "2027-01-13T08:00", "2027-01-13 08:00", "2027-01-13 12:00"),
    ("saturday this weekend", NOW, "2027-01-16 00:00", "2027-01-17 00:00"),
    ("this weekend sunday", NOW, "2027-01-17 00:00", "2027-01-18 00:00"),
    ("the following monday", NOW, "2027-01-18 00:00", "2027-01-19 00:00"),
    ("the following week", NOW, "2027-01-18 00:00", "2027-01-25 00:00"),
    ("next business day", NOW, "2027-01-14 00:00", "2027-01-15 00:00"),
    ("next business day", "2027-01-15T10:00", "2027-01-18 00:00", "2027-01-19 00:00"),
    ("in 3 working days", NOW, "2027-01-18 00:00", "2027-01-19 00:00"),
    ("end of the year", "2027-10-01T10:00", "2027-10-01 10:00", "2028-01-01 00:00"),
    # parts of a part of the day, ish, wholes, two days
    ("early evening", NOW, "2027-01-13 18:00", "2027-01-13 21:00"),
    ("late afternoon", NOW, "2027-01-13 15:10", "2027-01-13 18:00"),
    ("tomorrow late afternoon", NOW, "2027-01-14 15:00", "2027-01-14 18:00"),
    ("friday early morning", NOW, "2027-01-15 06:00", "2027-01-15 09:00"),
    ("mid morning tomorrow", NOW, "2027-01-14 07:00", "2027-01-14 11:00"),
    ("8ish", NOW, "2027-01-14 08:00", "2027-01-14 09:00"),
    ("8pm-ish", NOW, "2027-01-13 20:00", "2027-01-13 21:00"),
    ("in 2 weeks from now", NOW, "2027-01-27 15:10", "2027-01-27 16:10"),
    ("rest of the month", NOW, "2027-01-13 15:10", "2027-02-01 00:00"),
    ("for the rest of the month", NOW, "2027-01-13 15:10", "2027-02-01 00:00"),
    ("all week", NOW, "2027-01-13 15:10", "2027-01-18 00:00"),
    ("all next week", NOW, "2027-01-18 00:00", "2027-01-25 00:00"),
    ("the whole of next week", NOW, "2027-01-18 00:00", "2027-01-25 00:00"),
    ("wednesday next", NOW, "2027-01-20 00:00", "2027-01-21 00:00"),
    ("friday and saturday", NOW, "2027-01-15 00:00", "2027-01-17 00:00"),
    ("today and tomorrow", NOW, "2027-01-13 15:10", "2027-01-15 00:00"),
    ("this sat and sun", NOW, "2027-01-16 00:00", "2027-01-18 00:00"),
    # months as a range, numbers in words as hours
    ("may to june", NOW, "2027-05-01 00:00", "2027-07-01 00:00"),
    ("from march through may", NOW, "2027-03-01 00:00", "2027-06-01 00:00"),
    ("november to february", NOW, "2027-01-13 15:10", "2027-03-01 00:00"),
    ("the following two weeks", NOW, "2027-01-14 00:00", "2027-01-28 00:00"),
    ("at two", NOW, "2027-01-14 14:00", "2027-01-14 15:00"),
    ("tomorrow from two to four", NOW, "2027-01-14 14:00", "2027-01-14 16:00"),
    ("from ten to five", NOW, "2027-01-13 15:10", "2027-01-13 17:00"),
    # ordinals in words
    ("the fourteenth", NOW, "2027-01-14 00:00", "2027-01-15 00:00"),
    ("fourteenth of february", NOW, "2027-02-14 00:00", "2027-02-15 00:00"),
    ("february the fourteenth", NOW, "2027-02-14 00:00", "2027-02-15 00:00"),
    ("the twentieth at 3pm", NOW, "2027-01-20 15:00", "2027-01-20 16:00"),
    ("the first", NOW, "2027-02-01 00:00", "2027-02-02 00:00"),
    # clocks in words
    ("seven thirty", NOW, "2027-01-14 07:30", "2027-01-14 08:30"),
    ("seven thirty pm", NOW, "2027-01-13 19:30", "2027-01-13 20:30"),
    ("three forty five pm", NOW, "2027-01-13 15:45", "2027-01-13 16:45"),
    ("nine oh five am", NOW, "2027-01-14 09:05", "2027-01-14 10:05"),
    ("half seven", NOW, "2027-01-14 07:30", "2027-01-14 08:30"),
    ("twenty past four", NOW, "2027-01-13 16:20", "2027-01-13 17:20"),
    ("5 past 3", NOW, "2027-01-14 15:05", "2027-01-14 16:05"),
    ("ten to five", NOW, "2027-01-13 16:50", "2027-01-13 17:50"),
    ("10 minutes to 5", NOW, "2027-01-13 16:50", "2027-01-13 17:50"),
    ("quarter to four tomorrow", NOW, "2027-01-14 15:45", "2027-01-14 16:45"),
    ("tomorrow 0930", NOW, "2027-01-14 09:30", "2027-01-14 10:30"),
    ("1630", NOW, "2027-01-13 16:30", "2027-01-13 17:30"),
    ("10 to 11 tomorrow", NOW, "2027-01-14 10:00", "2027-01-14 11:00"),
]


def _read(text: str, now: str = NOW, tz: str = "UTC") -> CreateRoom | ParseError:
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
    "words",
    sorted({" ".join(words) for phrases in HOLIDAYS.values() for words, _ in phrases}),
)
def test_every_holiday_in_the_table_reads_as_its_date(words: str) -> None:
    """Each name in the documented table is that fixed date, its next occurrence (said on
    1 June 2027, a holiday before June is next year's and so too far ahead to set up)."""
    month_day = next(
        date for phrases in HOLIDAYS.values() for said, date in phrases if " ".join(said) == words
    )
    result = _read(words, "2027-06-01T10:00")
    if isinstance(result, ParseError):
        assert result.code is ErrorCode.START_TOO_FAR_AHEAD, result.message
        assert result.window is not None
        start = result.window.start
    else:
        start = result.valid_from
    assert (start.month, start.day) == month_day


@pytest.mark.parametrize("name", sorted(" ".join(words) for words in MOVING_HOLIDAYS))
def test_a_holiday_whose_date_moves_is_refused_not_guessed(name: str) -> None:
    """Thanksgiving, Easter…: their own answer, quoting the words and asking for the date."""
    result = _read(f"{name} at 3pm")
    assert isinstance(result, ParseError)
    assert result.code is ErrorCode.UNRECOGNISED_TIME
    assert f"“{name.split()[0]}" in result.message
    assert "different date from year to year" in result.message
    for example in working_examples(result.message):
        assert isinstance(_read(example), CreateRoom), example


@pytest.mark.parametrize(
    ("text", "offered"),
    [
        ("tomorrow or friday", ["create tomorrow", "create friday"]),
        ("either tomorrow or friday", ["create tomorrow", "create friday"]),
        ("monday or tuesday at 3pm", ["create monday", "create tuesday at 3pm"]),
        ("next week or the week after next", ["create next week", "create the week after next"]),
        ("friday 2pm or 4pm", ["create friday 2pm", "create 4pm"]),
    ],
)
def test_alternatives_are_refused_and_each_offered(text: str, offered: list[str]) -> None:
    """Two windows offered: never one picked silently; the words are quoted and each side that
    reads on its own is offered back as an example that works."""
    result = _read(f"create {text}")
    assert isinstance(result, ParseError)
    assert result.code is ErrorCode.UNRECOGNISED_TIME
    assert f"“{text}”" in result.message
    assert "pick one" in result.message
    examples = working_examples(result.message)
    assert examples == offered
    for example in examples:
        assert isinstance(_read(example), CreateRoom), example


def test_alternatives_that_do_not_read_alone_get_the_usual_examples() -> None:
    """``3 or 4pm``: a bare 3 is not a time by itself, so no side is offered; the usual
    examples are, and they work."""
    result = _read("create 3 or 4pm")
    assert isinstance(result, ParseError)
    assert "“3 or 4pm”" in result.message
    examples = working_examples(result.message)
    assert examples
    for example in examples:
        assert isinstance(_read(example), CreateRoom), example


@pytest.mark.parametrize(
    ("text", "now", "code"),
    [
        ("christmas", NOW, ErrorCode.START_TOO_FAR_AHEAD),  # 25 Dec is 346 days away
        ("mid january", "2027-01-25T10:00", ErrorCode.START_TOO_FAR_AHEAD),  # next year's
        ("feb 20-30", NOW, ErrorCode.UNRECOGNISED_TIME),  # no 30 February
        ("early next week at 10", NOW, ErrorCode.UNRECOGNISED_TIME),  # a period has no one time
        ("in a few minutes", NOW, ErrorCode.UNRECOGNISED_TIME),  # how many?
        ("in a bit", NOW, ErrorCode.UNRECOGNISED_TIME),  # how long?
        ("two", NOW, ErrorCode.UNRECOGNISED_TIME),  # two what? ("at two" is a time)
        ("early this week", NOW, ErrorCode.WINDOW_IN_PAST),  # Monday-Tuesday is over
        ("every christmas", NOW, ErrorCode.RECURRING_NOT_SUPPORTED),
        ("every monday", NOW, ErrorCode.RECURRING_NOT_SUPPORTED),
        ("each monday", NOW, ErrorCode.RECURRING_NOT_SUPPORTED),
        ("last friday", NOW, ErrorCode.WINDOW_IN_PAST),
        ("last week", NOW, ErrorCode.WINDOW_IN_PAST),
        ("2 days ago", NOW, ErrorCode.WINDOW_IN_PAST),
        ("an hour ago", NOW, ErrorCode.WINDOW_IN_PAST),
        ("once a week", NOW, ErrorCode.RECURRING_NOT_SUPPORTED),
        ("friday and saturday 3pm", NOW, ErrorCode.UNRECOGNISED_TIME),
    ],
)
def test_refused_not_guessed(text: str, now: str, code: ErrorCode) -> None:
    """What these families cannot make sense of is refused with its own answer."""
    result = _read(text, now)
    assert isinstance(result, ParseError)
    assert result.code is code, result.message


def test_from_a_day_is_a_day_but_from_a_time_starts_a_span() -> None:
    """``2 weeks from friday`` is a day; ``2 hours from 3pm`` stays 3pm for 2 hours."""
    day = _read("2 weeks from friday")
    span = _read("2 hours from 3pm")
    assert isinstance(day, CreateRoom)
    assert isinstance(span, CreateRoom)
    assert (day.valid_until - day.valid_from).days == 1
    assert f"{span.valid_from:%H:%M}-{span.valid_until:%H:%M}" == "15:00-17:00"


def test_two_days_apart_are_refused_with_a_range_that_works() -> None:
    """``monday and wednesday`` is not one window: the answer offers the range instead."""
    result = _read("create monday and wednesday")
    assert isinstance(result, ParseError)
    assert "“monday and wednesday”" in result.message
    assert working_examples(result.message) == ["create monday to wednesday"]
    assert isinstance(_read("create monday to wednesday"), CreateRoom)


@pytest.mark.parametrize(
    ("text", "offered"),
    [
        (
            "reschedule 99117812428622880 friday or saturday",
            [
                "reschedule 99117812428622880 friday",
                "reschedule 99117812428622880 saturday",
            ],
        ),
        (
            "extend 99117812428622880 to friday or saturday",
            [
                "extend 99117812428622880 by 2 hours",
                "extend 99117812428622880 to friday 5pm",
            ],
        ),
    ],
)
def test_alternatives_on_a_room_are_refused_with_that_rooms_examples(
    text: str, offered: list[str]
) -> None:
    """Other verbs refuse a choice too, offering commands about the room the person named."""
    result = _read(text)
    assert isinstance(result, ParseError)
    assert "offers a choice" in result.message
    assert working_examples(result.message) == offered
