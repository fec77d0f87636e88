"""Time windows, rule by rule and zone by zone; each row says what it pins.

Reference time, unless a row says otherwise: Wednesday 2027-01-13 15:10 local.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bot.parsing import CreateRoom, ErrorCode, ParseError, dateparser_atoms, parse
from bot.parsing.timemath import utc
from tests.parsing.helpers import NOW, run


def window(text: str, now: str = NOW, tz: str = "UTC", locale: str = "en-US") -> tuple[str, str]:
    """(valid_from, valid_until) as RFC 3339 strings, failing the test on a refusal."""
    result = run(text, now, tz, locale)
    assert isinstance(result, CreateRoom), getattr(result, "message", result)
    return result.valid_from.isoformat(), result.valid_until.isoformat()


def refusal(text: str, now: str = NOW, tz: str = "UTC", locale: str = "en-US") -> ParseError:
    result = run(text, now, tz, locale)
    assert isinstance(result, ParseError), result
    return result


# (text, valid_from, valid_until) in UTC at the reference time
FORMS = [
    # starts
    ("now", "2027-01-13T15:10:00+00:00", "2027-01-13T16:10:00+00:00"),  # an instant: 1 hour
    ("now for 2 hours", "2027-01-13T15:10:00+00:00", "2027-01-13T17:10:00+00:00"),
    ("today", "2027-01-13T15:10:00+00:00", "2027-01-14T00:00:00+00:00"),  # rest of today
    ("today for 2 hours", "2027-01-13T15:10:00+00:00", "2027-01-13T17:10:00+00:00"),  # today=now
    ("tonight at 8pm for 2 hours", "2027-01-13T20:00:00+00:00", "2027-01-13T22:00:00+00:00"),
    ("day after tomorrow", "2027-01-15T00:00:00+00:00", "2027-01-16T00:00:00+00:00"),
    ("tomorrow all day", "2027-01-14T00:00:00+00:00", "2027-01-15T00:00:00+00:00"),
    ("in 2 weeks", "2027-01-27T15:10:00+00:00", "2027-01-27T16:10:00+00:00"),  # now + N exactly
    ("in an hour for 30 minutes", "2027-01-13T16:10:00+00:00", "2027-01-13T16:40:00+00:00"),
    ("2 hours from now", "2027-01-13T17:10:00+00:00", "2027-01-13T18:10:00+00:00"),
    ("in 2 days at 3pm for 1 hour", "2027-01-15T15:00:00+00:00", "2027-01-15T16:00:00+00:00"),
    # weekdays: the first one strictly after today (a Wednesday)
    ("wednesday", "2027-01-20T00:00:00+00:00", "2027-01-21T00:00:00+00:00"),  # not today
    ("next wednesday", "2027-01-20T00:00:00+00:00", "2027-01-21T00:00:00+00:00"),
    ("this wednesday", "2027-01-13T15:10:00+00:00", "2027-01-14T00:00:00+00:00"),  # may be today
    ("on fri", "2027-01-15T00:00:00+00:00", "2027-01-16T00:00:00+00:00"),
    ("next tues 9am-5pm", "2027-01-19T09:00:00+00:00", "2027-01-19T17:00:00+00:00"),
    ("tue jan 19", "2027-01-19T00:00:00+00:00", "2027-01-20T00:00:00+00:00"),  # consistent
    # month-days, ordinals, years
    ("Jan 20th", "2027-01-20T00:00:00+00:00", "2027-01-21T00:00:00+00:00"),
    ("20 Jan 2027", "2027-01-20T00:00:00+00:00", "2027-01-21T00:00:00+00:00"),
    ("20th of january", "2027-01-20T00:00:00+00:00", "2027-01-21T00:00:00+00:00"),
    ("jan 20, 2027 at noon for 1h", "2027-01-20T12:00:00+00:00", "2027-01-20T13:00:00+00:00"),
    ("the 20th", "2027-01-20T00:00:00+00:00", "2027-01-21T00:00:00+00:00"),  # this month's
    ("the 5th", "2027-02-05T00:00:00+00:00", "2027-02-06T00:00:00+00:00"),  # passed: next month
    ("jan 13", "2027-01-13T15:10:00+00:00", "2027-01-14T00:00:00+00:00"),  # today is still to come
    ("jan-20", "2027-01-20T00:00:00+00:00", "2027-01-21T00:00:00+00:00"),  # glued
    ("20-jan-2027", "2027-01-20T00:00:00+00:00", "2027-01-21T00:00:00+00:00"),
    ("january the 20th", "2027-01-20T00:00:00+00:00", "2027-01-21T00:00:00+00:00"),
    ("20 th january", "2027-01-20T00:00:00+00:00", "2027-01-21T00:00:00+00:00"),  # dateparser
    # numeric dates (en-US is month first) and ISO
    ("1/20", "2027-01-20T00:00:00+00:00", "2027-01-21T00:00:00+00:00"),
    ("1/20/2027", "2027-01-20T00:00:00+00:00", "2027-01-21T00:00:00+00:00"),
    ("1/20/27 9am-5pm", "2027-01-20T09:00:00+00:00", "2027-01-20T17:00:00+00:00"),  # 2-digit year
    ("2027-01-20", "2027-01-20T00:00:00+00:00", "2027-01-21T00:00:00+00:00"),
    ("2027/01/20", "2027-01-20T00:00:00+00:00", "2027-01-21T00:00:00+00:00"),
    ("2027-01-20T09:00 for 1 hour", "2027-01-20T09:00:00+00:00", "2027-01-20T10:00:00+00:00"),
    # clock times
    ("tomorrow noon for 1h", "2027-01-14T12:00:00+00:00", "2027-01-14T13:00:00+00:00"),
    ("tomorrow at 12 noon for 1h", "2027-01-14T12:00:00+00:00", "2027-01-14T13:00:00+00:00"),
    ("tomorrow midnight for 1h", "2027-01-14T00:00:00+00:00", "2027-01-14T01:00:00+00:00"),
    ("until midnight", "2027-01-13T15:10:00+00:00", "2027-01-14T00:00:00+00:00"),  # tonight's
    ("until eod", "2027-01-13T15:10:00+00:00", "2027-01-14T00:00:00+00:00"),  # end of the day
    ("tomorrow until end of day", "2027-01-14T00:00:00+00:00", "2027-01-15T00:00:00+00:00"),
    ("tomorrow 9.30 for 1 hour", "2027-01-14T09:30:00+00:00", "2027-01-14T10:30:00+00:00"),
    ("tomorrow 9:30 p.m. for 1 hour", "2027-01-14T21:30:00+00:00", "2027-01-14T22:30:00+00:00"),
    ("17:00 for 2 wks", "2027-01-13T17:00:00+00:00", "2027-01-27T17:00:00+00:00"),  # 24-hour
    ("at 9 for 1 hour", "2027-01-14T09:00:00+00:00", "2027-01-14T10:00:00+00:00"),  # passed: tmrw
    ("at 3pm", "2027-01-14T15:00:00+00:00", "2027-01-14T16:00:00+00:00"),  # passed at 15:10
    ("12am tomorrow for 1h", "2027-01-14T00:00:00+00:00", "2027-01-14T01:00:00+00:00"),
    ("@ 5pm for 1 hour", "2027-01-13T17:00:00+00:00", "2027-01-13T18:00:00+00:00"),  # @ as "at"
    ("tomorrow 9 o'clock for 1h", "2027-01-14T09:00:00+00:00", "2027-01-14T10:00:00+00:00"),
    # lengths
    ("for a fortnight", "2027-01-13T15:10:00+00:00", "2027-01-27T15:10:00+00:00"),
    ("for 2 fortnights", "2027-01-13T15:10:00+00:00", "2027-02-10T15:10:00+00:00"),
    ("for 1.5 hours", "2027-01-13T15:10:00+00:00", "2027-01-13T16:40:00+00:00"),
    ("for half an hour", "2027-01-13T15:10:00+00:00", "2027-01-13T15:40:00+00:00"),
    ("for an hour and a half", "2027-01-13T15:10:00+00:00", "2027-01-13T16:40:00+00:00"),
    ("for 2 and a half days", "2027-01-13T15:10:00+00:00", "2027-01-16T03:10:00+00:00"),
    ("for 1 hour and 30 minutes", "2027-01-13T15:10:00+00:00", "2027-01-13T16:40:00+00:00"),
    ("for 2h30m", "2027-01-13T15:10:00+00:00", "2027-01-13T17:40:00+00:00"),
    ("for 1h30", "2027-01-13T15:10:00+00:00", "2027-01-13T16:40:00+00:00"),
    ("for 90 mins", "2027-01-13T15:10:00+00:00", "2027-01-13T16:40:00+00:00"),
    ("for 2 wks", "2027-01-13T15:10:00+00:00", "2027-01-27T15:10:00+00:00"),
    ("for forty-five minutes", "2027-01-13T15:10:00+00:00", "2027-01-13T15:55:00+00:00"),
    ("for a couple of days", "2027-01-13T15:10:00+00:00", "2027-01-15T15:10:00+00:00"),
    ("for 1 month", "2027-01-13T15:10:00+00:00", "2027-02-13T15:10:00+00:00"),
    (
        "for 2 hours starting tomorrow at 9",
        "2027-01-14T09:00:00+00:00",
        "2027-01-14T11:00:00+00:00",
    ),
    # ranges
    ("monday through friday", "2027-01-18T00:00:00+00:00", "2027-01-23T00:00:00+00:00"),
    ("mon–fri", "2027-01-18T00:00:00+00:00", "2027-01-23T00:00:00+00:00"),  # en-dash
    ("friday to monday", "2027-01-15T00:00:00+00:00", "2027-01-19T00:00:00+00:00"),  # end after
    ("jan 20 till jan 22", "2027-01-20T00:00:00+00:00", "2027-01-23T00:00:00+00:00"),
    ("jan 20 til 22", "2027-01-20T00:00:00+00:00", "2027-01-23T00:00:00+00:00"),  # days of jan
    ("jan 20-22", "2027-01-20T00:00:00+00:00", "2027-01-23T00:00:00+00:00"),
    ("jan 20 9am - jan 22", "2027-01-20T09:00:00+00:00", "2027-01-23T00:00:00+00:00"),
    ("2027-01-20 – 2027-01-22", "2027-01-20T00:00:00+00:00", "2027-01-23T00:00:00+00:00"),
    ("tomorrow 9am–5pm", "2027-01-14T09:00:00+00:00", "2027-01-14T17:00:00+00:00"),
    ("tomorrow 9-5", "2027-01-14T09:00:00+00:00", "2027-01-14T17:00:00+00:00"),  # end past start
    ("tomorrow 9-5pm", "2027-01-14T09:00:00+00:00", "2027-01-14T17:00:00+00:00"),  # not 21:00
    ("tomorrow 11-1pm", "2027-01-14T11:00:00+00:00", "2027-01-14T13:00:00+00:00"),
    ("tomorrow 2pm-4", "2027-01-14T14:00:00+00:00", "2027-01-14T16:00:00+00:00"),  # pm for end
    ("tomorrow noon-3", "2027-01-14T12:00:00+00:00", "2027-01-14T15:00:00+00:00"),
    ("tomorrow from 9 to 5", "2027-01-14T09:00:00+00:00", "2027-01-14T17:00:00+00:00"),
    ("friday between 1pm and 3pm", "2027-01-15T13:00:00+00:00", "2027-01-15T15:00:00+00:00"),
    ("from 9am tomorrow to 5pm friday", "2027-01-14T09:00:00+00:00", "2027-01-15T17:00:00+00:00"),
    ("3pm on friday to 4pm", "2027-01-15T15:00:00+00:00", "2027-01-15T16:00:00+00:00"),
    ("from now until 6pm", "2027-01-13T15:10:00+00:00", "2027-01-13T18:00:00+00:00"),
    ("until 3pm", "2027-01-13T15:10:00+00:00", "2027-01-14T15:00:00+00:00"),  # next 3pm
    ("until friday", "2027-01-13T15:10:00+00:00", "2027-01-16T00:00:00+00:00"),  # friday included
    ("through jan 20", "2027-01-13T15:10:00+00:00", "2027-01-21T00:00:00+00:00"),
    ("9am-5pm", "2027-01-13T15:10:00+00:00", "2027-01-13T17:00:00+00:00"),  # running: starts now
    ("6pm-8pm", "2027-01-13T18:00:00+00:00", "2027-01-13T20:00:00+00:00"),
    ("9am-3pm", "2027-01-14T09:00:00+00:00", "2027-01-14T15:00:00+00:00"),  # over: tomorrow's
    ("from 3pm to friday", "2027-01-14T15:00:00+00:00", "2027-01-16T00:00:00+00:00"),
    # periods
    ("next week", "2027-01-18T00:00:00+00:00", "2027-01-25T00:00:00+00:00"),
    ("this week", "2027-01-13T15:10:00+00:00", "2027-01-18T00:00:00+00:00"),  # running
    ("this weekend", "2027-01-16T00:00:00+00:00", "2027-01-18T00:00:00+00:00"),
    ("the weekend", "2027-01-16T00:00:00+00:00", "2027-01-18T00:00:00+00:00"),
    ("next weekend", "2027-01-23T00:00:00+00:00", "2027-01-25T00:00:00+00:00"),  # next week's
    ("next month", "2027-02-01T00:00:00+00:00", "2027-03-01T00:00:00+00:00"),
    ("this month", "2027-01-13T15:10:00+00:00", "2027-02-01T00:00:00+00:00"),
    ("next week to friday", "2027-01-18T00:00:00+00:00", "2027-01-23T00:00:00+00:00"),
    # "from"/"starting" with no end: a start, lasting the default length (1 hour)
    ("starting monday", "2027-01-18T00:00:00+00:00", "2027-01-18T01:00:00+00:00"),
    ("from tomorrow at 9", "2027-01-14T09:00:00+00:00", "2027-01-14T10:00:00+00:00"),
]


@pytest.mark.parametrize(("text", "valid_from", "valid_until"), FORMS, ids=[f[0] for f in FORMS])
def test_forms(text: str, valid_from: str, valid_until: str) -> None:
    """Each form the issue lists, and more, reads as the window a person means."""
    assert window(text) == (valid_from, valid_until)


DATEPARSER_FORMS = {"20 th january"}


@pytest.mark.parametrize(
    "text", [form[0] for form in FORMS if form[0] not in DATEPARSER_FORMS] + ["create whenever"]
)
def test_common_forms_never_reach_dateparser(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Our grammar reads the common forms itself; dateparser (~0.7 ms a call) is for rare atoms."""

    def no_dateparser(*_args: object, **_kwargs: object) -> None:
        pytest.fail(f"dateparser was asked about {text!r}")

    monkeypatch.setattr(dateparser_atoms, "dateparser_date", no_dateparser)
    run(text)


# (text, now, valid_from, valid_until) in UTC: rules that depend on the moment said
MOMENTS = [
    # a month-day range said inside it: this year's, starting now
    (
        "from nov 20 to dec 5",
        "2027-11-24T10:00:00",
        "2027-11-24T10:00:00+00:00",
        "2027-12-06T00:00:00+00:00",
    ),
    # a range over new year said in December: the end's year is next year's
    (
        "from dec 20 to jan 5",
        "2027-12-10T10:00:00",
        "2027-12-20T00:00:00+00:00",
        "2028-01-06T00:00:00+00:00",
    ),
    # said on new year's eve about days just past and to come
    (
        "from dec 30 to jan 2",
        "2027-12-31T10:00:00",
        "2027-12-31T10:00:00+00:00",
        "2028-01-03T00:00:00+00:00",
    ),
    # a start with a year, an end without: the end follows the start
    (
        "from dec 20 2027 to jan 5",
        "2027-12-10T10:00:00",
        "2027-12-20T00:00:00+00:00",
        "2028-01-06T00:00:00+00:00",
    ),
    # a clock time that has passed today means tomorrow (at 3am said at 04:30)
    (
        "at 3am for 1 hour",
        "2027-01-13T04:30:00",
        "2027-01-14T03:00:00+00:00",
        "2027-01-14T04:00:00+00:00",
    ),
    # a clock time still to come today is today
    (
        "at 5am for 1 hour",
        "2027-01-13T04:30:00",
        "2027-01-13T05:00:00+00:00",
        "2027-01-13T06:00:00+00:00",
    ),
    # feb 29 in a leap year
    ("feb 29", "2028-02-01T10:00:00", "2028-02-29T00:00:00+00:00", "2028-03-01T00:00:00+00:00"),
    # this weekend said on a Sunday: the running one, starting now
    (
        "this weekend",
        "2027-01-17T10:00:00",
        "2027-01-17T10:00:00+00:00",
        "2027-01-18T00:00:00+00:00",
    ),
    # a weekday said on that weekday: next week's
    ("friday", "2027-01-15T10:00:00", "2027-01-22T00:00:00+00:00", "2027-01-23T00:00:00+00:00"),
    # next month said in December: January next year
    ("next month", "2027-12-10T10:00:00", "2028-01-01T00:00:00+00:00", "2028-02-01T00:00:00+00:00"),
    # months are calendar months, clamped to the month's end
    (
        "jan 31 for 1 month",
        "2027-01-13T10:00:00",
        "2027-01-31T00:00:00+00:00",
        "2027-02-28T00:00:00+00:00",
    ),
    # microseconds of now are dropped: ACS and messages show whole seconds
    (
        "for 1 hour",
        "2027-01-13T10:00:00.654321",
        "2027-01-13T10:00:00+00:00",
        "2027-01-13T11:00:00+00:00",
    ),
]


@pytest.mark.parametrize(("text", "now", "valid_from", "valid_until"), MOMENTS)
def test_moment_rules(text: str, now: str, valid_from: str, valid_until: str) -> None:
    """Rules that depend on when the words are said."""
    assert window(text, now) == (valid_from, valid_until)


# (text, now, tz, valid_from, valid_until): DST edges and odd offsets, RFC 3339 with the offset
# in force at each end
ZONES = [
    # New York springs forward 2027-03-14 02:00 -> 03:00
    (
        "tomorrow for 1 day",
        "2027-03-13T12:00:00",
        "America/New_York",
        "2027-03-14T00:00:00-05:00",
        "2027-03-15T00:00:00-04:00",
    ),  # a 23 h calendar day
    (
        "tomorrow for 24 hours",
        "2027-03-13T12:00:00",
        "America/New_York",
        "2027-03-14T00:00:00-05:00",
        "2027-03-15T01:00:00-04:00",
    ),  # hours elapse
    (
        "tomorrow at 2:30am for 1 hour",
        "2027-03-13T12:00:00",
        "America/New_York",
        "2027-03-14T03:30:00-04:00",
        "2027-03-14T04:30:00-04:00",
    ),  # skipped: moves by the gap
    (
        "tomorrow 1am-4am",
        "2027-03-13T12:00:00",
        "America/New_York",
        "2027-03-14T01:00:00-05:00",
        "2027-03-14T04:00:00-04:00",
    ),
    (
        "in 1 day",
        "2027-03-13T12:00:00",
        "America/New_York",
        "2027-03-14T12:00:00-04:00",
        "2027-03-14T13:00:00-04:00",
    ),  # same wall time
    (
        "in 24 hours",
        "2027-03-13T12:00:00",
        "America/New_York",
        "2027-03-14T13:00:00-04:00",
        "2027-03-14T14:00:00-04:00",
    ),
    # New York falls back 2027-11-07 02:00 -> 01:00
    (
        "tomorrow at 1:30am for 1 hour",
        "2027-11-06T12:00:00",
        "America/New_York",
        "2027-11-07T01:30:00-04:00",
        "2027-11-07T01:30:00-05:00",
    ),  # first 01:30, then an hour on
    (
        "tomorrow for 1 day",
        "2027-11-06T12:00:00",
        "America/New_York",
        "2027-11-07T00:00:00-04:00",
        "2027-11-08T00:00:00-05:00",
    ),  # a 25 h day
    (
        "tomorrow 1am-2am",
        "2027-11-06T12:00:00",
        "America/New_York",
        "2027-11-07T01:00:00-04:00",
        "2027-11-07T02:00:00-05:00",
    ),
    # a naive now inside the repeated hour is its first occurrence
    (
        "for 1 hour",
        "2027-11-07T01:30:00",
        "America/New_York",
        "2027-11-07T01:30:00-04:00",
        "2027-11-07T01:30:00-05:00",
    ),
    # London springs forward 2027-03-28 01:00 -> 02:00, falls back 2027-10-31 02:00 -> 01:00
    (
        "tomorrow at 01:30 for 1 hour",
        "2027-03-27T10:00:00",
        "Europe/London",
        "2027-03-28T02:30:00+01:00",
        "2027-03-28T03:30:00+01:00",
    ),
    (
        "tomorrow for 2 days",
        "2027-03-27T10:00:00",
        "Europe/London",
        "2027-03-28T00:00:00+00:00",
        "2027-03-30T00:00:00+01:00",
    ),
    (
        "tomorrow 01:30-02:30",
        "2027-10-30T10:00:00",
        "Europe/London",
        "2027-10-31T01:30:00+01:00",
        "2027-10-31T02:30:00+00:00",
    ),
    (
        "next week",
        "2027-10-27T10:00:00",
        "Europe/London",
        "2027-11-01T00:00:00+00:00",
        "2027-11-08T00:00:00+00:00",
    ),
    (
        "this weekend",
        "2027-10-27T10:00:00",
        "Europe/London",
        "2027-10-30T00:00:00+01:00",
        "2027-11-01T00:00:00+00:00",
    ),
    # Sydney falls back 2027-04-04 03:00 -> 02:00, springs forward 2027-10-03 02:00 -> 03:00
    (
        "tomorrow for 1 day",
        "2027-04-03T10:00:00",
        "Australia/Sydney",
        "2027-04-04T00:00:00+11:00",
        "2027-04-05T00:00:00+10:00",
    ),
    (
        "tomorrow at 02:30 for 1 hour",
        "2027-04-03T10:00:00",
        "Australia/Sydney",
        "2027-04-04T02:30:00+11:00",
        "2027-04-04T02:30:00+10:00",
    ),
    (
        "tomorrow at 02:30 for 1 hour",
        "2027-10-02T10:00:00",
        "Australia/Sydney",
        "2027-10-03T03:30:00+11:00",
        "2027-10-03T04:30:00+11:00",
    ),
    (
        "tomorrow for 24 hours",
        "2027-10-02T10:00:00",
        "Australia/Sydney",
        "2027-10-03T00:00:00+10:00",
        "2027-10-04T01:00:00+11:00",
    ),
    # Kathmandu is +05:45 all year
    (
        "tomorrow 9am-5pm",
        NOW,
        "Asia/Kathmandu",
        "2027-01-14T09:00:00+05:45",
        "2027-01-14T17:00:00+05:45",
    ),
    ("next month", NOW, "Asia/Kathmandu", "2027-02-01T00:00:00+05:45", "2027-03-01T00:00:00+05:45"),
    ("", NOW, "Asia/Kathmandu", "2027-01-13T15:10:00+05:45", "2027-01-13T16:10:00+05:45"),
    # Lord Howe moves by half an hour (2027-04-04 02:00 -> 01:30)
    (
        "tomorrow for 1 day",
        "2027-04-03T10:00:00",
        "Australia/Lord_Howe",
        "2027-04-04T00:00:00+11:00",
        "2027-04-05T00:00:00+10:30",
    ),
]


@pytest.mark.parametrize(("text", "now", "tz", "valid_from", "valid_until"), ZONES)
def test_zones(text: str, now: str, tz: str, valid_from: str, valid_until: str) -> None:
    """Wall-clock rules across DST changes, and offsets that are not whole hours."""
    assert window(text or "create", now, tz) == (valid_from, valid_until)


def test_aware_now_in_another_zone() -> None:
    """An aware *now* is converted to the user's zone before the rules apply."""
    from bot.parsing import parse

    now = datetime.fromisoformat("2027-01-13T23:30:00+00:00")  # already the 14th in Tokyo
    result = parse("tomorrow", now=now, tz="Asia/Tokyo")
    assert isinstance(result, CreateRoom)
    assert result.valid_from.isoformat() == "2027-01-15T00:00:00+09:00"


# (text, locale, valid_from, valid_until): numeric dates follow the user's locale
LOCALES = [
    ("2/3/2027", "en-US", "2027-02-03T00:00:00+00:00", "2027-02-04T00:00:00+00:00"),  # February 3
    ("2/3/2027", "en-GB", "2027-03-02T00:00:00+00:00", "2027-03-03T00:00:00+00:00"),  # 2 March
    ("2/3/2027", "fr-FR", "2027-03-02T00:00:00+00:00", "2027-03-03T00:00:00+00:00"),
    ("2/3/2027", "en_GB", "2027-03-02T00:00:00+00:00", "2027-03-03T00:00:00+00:00"),  # underscore
    ("2/3", "en", "2027-02-03T00:00:00+00:00", "2027-02-04T00:00:00+00:00"),  # no region: US
    ("1/20", "en-US", "2027-01-20T00:00:00+00:00", "2027-01-21T00:00:00+00:00"),
    ("20/1", "en-GB", "2027-01-20T00:00:00+00:00", "2027-01-21T00:00:00+00:00"),
    ("20.01.2027", "de-DE", "2027-01-20T00:00:00+00:00", "2027-01-21T00:00:00+00:00"),
    ("1/20", "ja-JP", "2027-01-20T00:00:00+00:00", "2027-01-21T00:00:00+00:00"),  # Y/M/D family
    ("2027-01-20", "en-GB", "2027-01-20T00:00:00+00:00", "2027-01-21T00:00:00+00:00"),  # ISO: any
]


@pytest.mark.parametrize(("text", "locale", "valid_from", "valid_until"), LOCALES)
def test_locales(text: str, locale: str, valid_from: str, valid_until: str) -> None:
    """``1/2`` is January 2 in en-US and 1 February in en-GB; ISO dates work everywhere."""
    assert window(text, locale=locale) == (valid_from, valid_until)


@pytest.mark.parametrize(
    ("text", "locale"),
    [
        ("13/13", "en-US"),  # no month 13 either way round
        ("31/2", "en-GB"),  # a day above 12 settles the order, and there is no 31 February
        ("2/30/2027", "en-US"),  # no such day
    ],
)
def test_impossible_numeric_dates(text: str, locale: str) -> None:
    """A numeric date that does not exist in the user's order is refused and says the order."""
    error = refusal(text, locale=locale)
    assert error.code is ErrorCode.UNRECOGNISED_TIME
    assert text in error.message


LIMIT_ZONES = [
    "UTC",
    "America/New_York",
    "Europe/London",
    "Australia/Sydney",
    "Asia/Kathmandu",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "America/Santiago",
]
# Jan 13 + 180 days crosses the northern spring change (179 d 23 h elapsed there); Sep 1 + 180
# days crosses the northern autumn change (180 d 1 h elapsed) and the southern spring one
LIMIT_NOWS = ["2027-01-13T15:10:00", "2027-09-01T09:00:00"]


@pytest.mark.parametrize("tz", LIMIT_ZONES)
@pytest.mark.parametrize("now", LIMIT_NOWS)
@pytest.mark.parametrize(
    "text",
    [
        "for 180 days",  # exactly 180 calendar days from now
        "tomorrow for 180 days",  # from a midnight
        "tomorrow 9am for 180 days",
        "in 180 days",  # the furthest start, lasting 180 days
    ],
)
def test_exactly_180_days_is_fine(text: str, now: str, tz: str) -> None:
    """180 days, however the zone's clock moves in between, is within the limits."""
    result = run(text, now, tz)
    assert isinstance(result, CreateRoom), getattr(result, "message", result)
    assert utc(result.valid_until) - utc(result.valid_from) <= timedelta(days=180)  # ACS's limit


@pytest.mark.parametrize("tz", LIMIT_ZONES)
@pytest.mark.parametrize("now", LIMIT_NOWS)
@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("for 180 days and 1 minute", ErrorCode.WINDOW_TOO_LONG),
        ("tomorrow for 180 days 1 minute", ErrorCode.WINDOW_TOO_LONG),
        ("in 180 days and 1 minute", ErrorCode.START_TOO_FAR_AHEAD),
    ],
)
def test_180_days_and_a_minute_is_refused(text: str, now: str, tz: str, code: ErrorCode) -> None:
    """One minute over 180 days is refused in every zone."""
    assert refusal(text, now, tz).code is code


def test_180_calendar_days_over_a_fall_back_end_within_the_acs_limit() -> None:
    """ACS counts 180 days elapsed: "for 180 days" across a fall-back (180 d 1 h) ends an hour
    sooner in valid_until, while the literal window keeps the end as said."""
    result = run("for 180 days", "2027-09-01T09:00:00", "America/New_York")
    assert isinstance(result, CreateRoom)
    assert result.window.end is not None
    assert result.window.end.isoformat() == "2028-02-28T09:00:00-05:00"
    assert result.valid_until.isoformat() == "2028-02-28T08:00:00-05:00"
    assert utc(result.valid_until) - utc(result.valid_from) == timedelta(days=180)


@pytest.mark.parametrize("tz", LIMIT_ZONES)
def test_no_window_lasts_the_default_length_elapsed(tz: str) -> None:
    """No window: now to now + the default length (1 hour) of elapsed time, in every zone."""
    result = run("create", "2027-09-01T09:00:00", tz)
    assert isinstance(result, CreateRoom)
    assert utc(result.valid_until) - utc(result.valid_from) == timedelta(hours=1)
    assert result.window.end is None


@pytest.mark.parametrize(
    ("text", "length", "expected"),
    [
        ("create", timedelta(minutes=90), timedelta(minutes=90)),
        ("3pm", timedelta(minutes=30), timedelta(minutes=30)),
        ("in 2 hours", timedelta(days=2), timedelta(days=2)),
        ("tomorrow", timedelta(minutes=30), timedelta(days=1)),  # a period covers itself
        ("3pm for 2 hours", timedelta(minutes=30), timedelta(hours=2)),  # a said end wins
    ],
)
def test_the_default_length_is_a_setting(text: str, length: timedelta, expected: timedelta) -> None:
    """``default_length`` (ROOMBOT_DEFAULT_LENGTH) lasts an instant with no end, nothing else."""
    result = parse(text, now=datetime(2027, 1, 13, 11, 10), tz="UTC", default_length=length)
    assert isinstance(result, CreateRoom)
    assert utc(result.valid_until) - utc(result.valid_from) == expected


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        # the literal reading: a past start is kept in the window, moved to now in valid_from
        ("yesterday to tomorrow", "2027-01-12T00:00:00+00:00", "2027-01-15T00:00:00+00:00"),
        # an instant with no end has no literal end (the default length is not in the words)
        ("tomorrow at 9", "2027-01-14T09:00:00+00:00", None),
        # a period covers itself
        ("next week", "2027-01-18T00:00:00+00:00", "2027-01-25T00:00:00+00:00"),
        # no words: now, with no end
        ("create", "2027-01-13T15:10:00+00:00", None),
    ],
)
def test_literal_window(text: str, start: str, end: str | None) -> None:
    """`window` is the reading before defaults and before a past start moves to now."""
    result = run(text)
    assert isinstance(result, CreateRoom)
    got_end = result.window.end.isoformat() if result.window.end else None
    assert (result.window.start.isoformat(), got_end) == (start, end)


# (text, now, code): each window refusal, with the words the issue uses
REFUSALS = [
    ("from jan 25 to jan 20", NOW, ErrorCode.END_BEFORE_START),  # same month: no wrap
    ("next friday 6pm-8am", NOW, ErrorCode.END_BEFORE_START),  # overnight, but 14 hours
    ("8pm-9am", NOW, ErrorCode.END_BEFORE_START),  # clock times alone: 13 hours is too long
    ("today until 6pm", "2027-01-13T19:00:00", ErrorCode.END_BEFORE_START),  # 6pm has passed
    ("for 0 minutes", NOW, ErrorCode.EMPTY_WINDOW),
    ("tomorrow 3pm-3pm", NOW, ErrorCode.EMPTY_WINDOW),
    ("yesterday for 2 hours", NOW, ErrorCode.WINDOW_IN_PAST),
    ("from jan 1 2027 to jan 10 2027", NOW, ErrorCode.WINDOW_IN_PAST),
    ("jan 12 at 9am for 1 hour", NOW, ErrorCode.START_TOO_FAR_AHEAD),  # next year's jan 12
    ("from aug 1 to aug 3", NOW, ErrorCode.START_TOO_FAR_AHEAD),
    ("in 9999999 days", NOW, ErrorCode.START_TOO_FAR_AHEAD),  # huge but not a crash
    ("for 7 months", NOW, ErrorCode.WINDOW_TOO_LONG),
    ("for 99999999999 hours", NOW, ErrorCode.WINDOW_TOO_LONG),
    ("from feb 1 to sep 1", NOW, ErrorCode.WINDOW_TOO_LONG),
]


@pytest.mark.parametrize(("text", "now", "code"), REFUSALS)
def test_refusals(text: str, now: str, code: ErrorCode) -> None:
    """Windows the rules refuse, each with its code."""
    assert refusal(text, now).code is code


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ("create whenever", "whenever"),
        ("tomorrow whenever", "whenever"),  # what was read is not quoted as unread
        ("tomorrow at 25:00", "25:00"),
        ("13pm", "13pm"),
        ("feb 30", "feb 30"),
        ("for 1.5 months", "1.5 months"),
        ("3", "3"),  # a bare number alone: is it a day or an hour?
        ("tue jan 20", "tue jan 20"),  # Jan 20 2027 is a Wednesday
        ("3pm xst", "xst"),  # a zone word not in the table is not guessed
        ("this blursday", "this blursday"),
        ("next week at 3pm", "at 3pm"),  # a period has no clock time
        ("in 2 hours at 3pm", "at 3pm"),
        ("for", "for"),
        ("between 1pm", "1pm"),
        ("tomorrow at", "at"),
        ("in", "in"),
        ("jan the 32nd", "jan the 32nd"),  # dateparser is asked, and refuses too
        ("9999-01-01", "9999-01-01"),
        ("tomorrow &amp; friday", "&amp; friday"),  # read unescaped, quoted escaped (mrkdwn)
        ("create ²", "²"),  # digits are ASCII digits: "²".isdigit() is true, int("²") fails
        ("create ٣pm", "٣pm"),
    ],
)
def test_unrecognised_time_quotes_the_words(text: str, quoted: str) -> None:
    """A phrase that cannot be read is refused, quoting the words, never read differently."""
    error = refusal(text)
    assert error.code is ErrorCode.UNRECOGNISED_TIME
    assert f"“{quoted}”" in error.message
    assert error.window is None


def test_policy_refusals_carry_the_literal_window() -> None:
    """A window read but refused names its dates in the message and carries the literal window."""
    error = refusal("from aug 1 to aug 3")
    assert error.window is not None
    assert error.window.start.isoformat() == "2027-08-01T00:00:00+00:00"
    assert error.window.end is not None
    assert error.window.end.isoformat() == "2027-08-04T00:00:00+00:00"
    assert "Sun 1 Aug 2027 00:00 (UTC+00:00)" in error.message


def test_misspelt_time_word_gets_a_suggestion() -> None:
    """A close miss of a time word is refused with a did-you-mean."""
    assert "Did you mean “tomorrow”?" in refusal("create tomorow").message
