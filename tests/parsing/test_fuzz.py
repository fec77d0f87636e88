"""Any text gives a command or a clear refusal, never an exception; commands keep the limits."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.parsing import CreateRoom, ErrorCode, ExtendRoom, ParseError, parse
from bot.parsing.timemath import utc
from bot.parsing.windows import MONTHS, UNITS, WEEKDAYS

ZONES = [
    "UTC",
    "America/New_York",
    "Europe/London",
    "Australia/Sydney",
    "Asia/Kathmandu",
    "Australia/Lord_Howe",
    "America/Santiago",
    "Pacific/Kiritimati",
]
WORDS = [
    *list(MONTHS)[::3],
    *list(WEEKDAYS)[::2],
    *list(UNITS)[::4],
    *["create", "list", "show", "extend", "add", "remove", "delete", "cancel", "help"],
    *[
        "today",
        "tomorrow",
        "yesterday",
        "tonight",
        "now",
        "next",
        "this",
        "weekend",
        "week",
        "month",
        "the",
        "of",
    ],
    *[
        "from",
        "to",
        "until",
        "till",
        "through",
        "between",
        "and",
        "for",
        "in",
        "at",
        "on",
        "-",
        "–",
        "by",
    ],
    *[
        "noon",
        "midnight",
        "eod",
        "am",
        "pm",
        "half",
        "a",
        "an",
        "fortnight",
        "dial-out",
        "pstn",
        "as",
    ],
    *["presenter", "attendee", "consumer", "collaborator", "moderator"],
    *[
        "9",
        "3pm",
        "10:30",
        "9.30",
        "17:00",
        "1.5",
        "20th",
        "1/20",
        "20/1",
        "2027-01-20",
        "2027",
        "99117812428622880",
    ],
    *[
        "<@U01AAA|ann>",
        "<@W01DDD>",
        "<!subteam^S0123ABC|@team>",
        "@ann",
        "<#C1|general>",
        "&amp;",
        "&lt;",
    ],
    *["whenever", "25:00", "13pm", "0", "31", "feb", "30", "january", "the", "20th"],
]
SETTINGS = settings(
    max_examples=150,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
NOWS = st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2090, 12, 31))


def check(text: str, now: datetime, tz: str) -> None:
    result = parse(text, now=now, tz=tz)
    if isinstance(result, ParseError):
        assert result.code in set(ErrorCode)
        assert result.message.strip()
        return
    if isinstance(result, CreateRoom):
        start, end = utc(result.valid_from), utc(result.valid_until)
        said = utc(now.replace(tzinfo=ZoneInfo(tz), microsecond=0))
        assert said <= start < end  # never starts in the past, never empty
        assert end - start <= timedelta(days=180)  # what ACS accepts
        assert start - said <= timedelta(days=181)  # at most 180 calendar days ahead
        assert str(result.valid_from.tzinfo) == tz  # shown in the user's zone
    if isinstance(result, ExtendRoom):
        assert (result.by is None) != (result.until is None)


@SETTINGS
@given(text=st.text(max_size=80), now=NOWS, tz=st.sampled_from(ZONES))
def test_any_text(text: str, now: datetime, tz: str) -> None:
    """Arbitrary text never raises."""
    check(text, now, tz)


@SETTINGS
@given(
    words=st.lists(st.sampled_from(WORDS), max_size=10),
    now=NOWS,
    tz=st.sampled_from(ZONES),
)
def test_vocabulary_soup(words: list[str], now: datetime, tz: str) -> None:
    """Words the grammar knows, in any order, never raise; created windows keep the limits."""
    check(" ".join(words), now, tz)


FAMILY_WORDS = [
    *["christmas", "eve", "new", "year's", "day", "halloween", "thanksgiving", "valentine's"],
    *["early", "mid", "late", "middle", "midweek", "mid-week", "end", "beginning", "of"],
    *["week", "month", "next", "this", "the", "after", "before", "from", "in", "on", "or"],
    *["monday", "friday", "tomorrow", "today", "tonight", "morning", "night", "weekend"],
    *["2", "a", "weeks", "days", "month", "business", "working", "first", "last", "thing"],
    *["twenty", "past", "to", "ten", "five", "half", "quarter", "seven", "thirty", "oh"],
    *["same", "time", "cob", "by", "either", "following", "0930", "2027", "31", "24", "-"],
    *["jan", "20", "feb", "29", "december", "3pm", "midnight", "noon", "around", "later"],
]


@SETTINGS
@given(
    words=st.lists(st.sampled_from(FAMILY_WORDS), max_size=8),
    now=NOWS,
    tz=st.sampled_from(ZONES),
)
def test_family_soup(words: list[str], now: datetime, tz: str) -> None:
    """The words of part three's families (holidays, parts of periods, weeks on, clocks in
    words, alternatives), in any order, never raise; created windows keep the limits."""
    check(" ".join(words), now, tz)
