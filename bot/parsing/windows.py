"""Time windows: "tomorrow for 2 weeks", "friday 10am-12pm", "from jan 20 to jan 22" -> instants.

Why our own grammar: dateparser reads single points only (no ranges, no lengths) and costs about
0.7 ms a call, several times our whole budget. So this module reads the structure of a window
(start, separator, end or length) and the common atoms itself, in one pass over the words, and
asks dateparser only for a date atom it does not know (``january the 20th``), with
``languages=['en']`` and explicit settings, never searching the whole text.

The rules (all on the user's wall clock; DST handled by `timemath`):

- Start: none, ``now`` or ``today`` -> now; ``in N units`` -> exactly now + N; a day -> its 00:00;
  a day and a clock time -> that instant; a weekday (``next`` or not) -> the first one after today;
  a month-day without a year -> its next occurrence (in a range: the year that makes the range's end
  the next one to come); a clock time alone -> today, or tomorrow if it has passed.
- End: ``for D`` -> start + D; ``A to/until/till/through/- B``, ``between A and B``: a date-only B
  includes day B, a B with a clock time ends then. ``9am-5pm`` after a day stays in that day; the
  end's am/pm applies to a bare start hour (``3-5pm``). With no end a period covers itself (a day,
  ``next week``, ``this weekend``, ``next month``) and an instant lasts the default length (one
  hour unless ``ROOMBOT_DEFAULT_LENGTH`` says otherwise); so does a start after
  ``from``/``starting`` (``starting monday``).
- The end is computed from the literal start; then a start in the past becomes now. Refusals:
  end_before_start, empty_window, window_in_past, start_too_far_ahead, window_too_long.
- Anything not read is ``unrecognised_time``, quoting the words; never a different window.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bot.parsing.commands import Duration, ErrorCode, Refusal, Window
from bot.parsing.grammar import Token, did_you_mean, shown, tokenize
from bot.parsing.timemath import (
    DEFAULT_LENGTH,
    MAX_DAYS,
    add_elapsed,
    at_wall_clock,
    calendar_limit,
    elapsed_limit,
    utc,
)

# --- vocabulary -------------------------------------------------------------------------------

MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
WEEKDAYS = {
    name: number
    for number, names in enumerate(
        (
            ("mon", "monday"),
            ("tue", "tues", "tuesday"),
            ("wed", "weds", "wednesday"),
            ("thu", "thur", "thurs", "thursday"),
            ("fri", "friday"),
            ("sat", "saturday"),
            ("sun", "sunday"),
        )
    )
    for name in names
}
_RELATIVE_DAYS = {"today": 0, "tonight": 0, "tomorrow": 1, "tmrw": 1, "tmr": 1, "yesterday": -1}
# day parts: (first hour, hour it ends), on the day they follow or today; "tonight" is this evening
DAY_PARTS = {
    "morning": (6, 12),
    "afternoon": (12, 18),
    "evening": (18, 24),
    "tonight": (18, 24),
    "night": (20, 24),
}
# "6 in the morning", "10 at night": a clock time's am/pm from the part of the day it names
_PART_SUFFIXES = {
    ("in", "the", "morning"): "am",
    ("in", "the", "afternoon"): "pm",
    ("in", "the", "evening"): "pm",
    ("at", "night"): "pm",
    ("tonight",): "pm",
}
_HALF_DAYS = {"am": (6, 12), "pm": (12, 18)}
_LUNCH = frozenset({"lunch", "lunchtime", "noon-ish"})
_FILLER = frozenset({"around", "about", "approximately", "approx", "roughly", "~", "sharp"})
_BUSINESS_PM = range(1, 7)  # a bare 1 to 6 is afternoon: "tomorrow 3 to 4" is 15:00-16:00
_OVERNIGHT = timedelta(hours=12)  # "11pm-1am" ends the next day when that is at most this long
_SMALL_NUMBERS = (
    *("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"),
    *("eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen"),
    *("eighteen", "nineteen"),
)
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "ninety": 90}
NUMBER_WORDS: dict[str, int] = (
    {word: value for value, word in enumerate(_SMALL_NUMBERS)}
    | _TENS
    | {
        f"{tens}-{unit}": value + index
        for tens, value in _TENS.items()
        if value <= 50
        for index, unit in enumerate(_SMALL_NUMBERS[1:10], start=1)
    }
    | {"a": 1, "an": 1, "couple": 2}
)
# unit word -> (what it counts, how many): "s" elapsed seconds, "d" calendar days, "m" months
UNITS: dict[str, tuple[str, int]] = (
    dict.fromkeys(("m", "min", "mins", "minute", "minutes"), ("s", 60))
    | dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), ("s", 3600))
    | dict.fromkeys(("d", "day", "days"), ("d", 1))
    | dict.fromkeys(("w", "wk", "wks", "week", "weeks"), ("d", 7))
    | dict.fromkeys(("fortnight", "fortnights"), ("d", 14))
    | dict.fromkeys(("mo", "mos", "mth", "mths", "month", "months"), ("m", 1))
)
_END_WORDS = frozenset({"to", "until", "till", "til", "through", "thru", "-"})
_START_WORDS = frozenset({"from", "starting", "beginning", "start", "after"})
_TODAY_IS_OVER = (
    ["eod"],
    ["later", "today"],
    ["later"],
    ["end", "of", "day"],
    ["end", "of", "the", "day"],
    ["rest", "of", "the", "day"],
    ["rest", "of", "today"],
)
_PERIOD_ENDS = {"eow": "week", "eom": "month"}
_WHOLE_PERIODS = (
    (("the", "whole", "day"), "day"),
    (("the", "rest", "of", "the", "day"), "day"),
    (("the", "day"), "day"),
    (("the", "whole", "week"), "week"),
    (("the", "rest", "of", "the", "week"), "week"),
    (("the", "week"), "week"),
)
_ALL_DAY = (("all", "day"), ("the", "whole", "day"), ("whole", "day"))
_FRACTIONS = {"1/2": 0.5, "1/4": 0.25, "3/4": 0.75}
_LAST = 99
_NTH = {
    "first": 1,
    "1st": 1,
    "second": 2,
    "2nd": 2,
    "third": 3,
    "3rd": 3,
    "fourth": 4,
    "4th": 4,
    "fifth": 5,
    "5th": 5,
    "last": _LAST,
}
_AT = frozenset({"at", "@"})
_NOW = frozenset({"now", "asap", "immediately"})
_PERIODS = frozenset({"week", "weekend", "month"})
_STOP = _END_WORDS | _START_WORDS | _AT | {"and", "for", "between", "in", "on"}
_CLOCK_WORDS = frozenset({"noon", "midday", "midnight", "eod"})
_DANGLING = _STOP | {"next", "this", "coming", "the", "of", "half", "a", "an", "end", "right"}
VOCABULARY = frozenset(
    MONTHS.keys()
    | WEEKDAYS.keys()
    | _RELATIVE_DAYS.keys()
    | NUMBER_WORDS.keys()
    | UNITS.keys()
    | _STOP
    | _NOW
    | _PERIODS
    | _CLOCK_WORDS
    | {"next", "this", "coming", "the", "of", "day", "after", "half", "am", "pm", "o'clock"}
    | {"right", "end", "from", "later", "all", "whole"}
    | DAY_PARTS.keys()
    | {"quarter", "past", "within", "upcoming", "eow", "eom", "plus", "+", "rest"}
    | _NTH.keys()
    | _LUNCH
    | _FILLER
    | {"beginning", "start"}
)

_CLOCK = re.compile(r"([0-9]{1,2})(?:[:.]([0-9]{2})(?::([0-9]{2}))?)?(am|pm|a|p)?")
_FRENCH_CLOCK = re.compile(r"([0-9]{1,2})h([0-9]{2})?")  # 15h, 15h30
_NUMBER = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,3})?")
_COMPACT = re.compile(
    r"([0-9]{1,12}(?:\.[0-9]{1,3})?)(m|mins?|minutes?|h|hrs?|hours?|d|days?|w|wks?|weeks?|mo|mos|months?)"
)
_HOURS_MINUTES = re.compile(r"([0-9]{1,3})h([0-9]{1,2})(?:m|mins?)?")
_ORDINAL = re.compile(r"([0-9]{1,2})(st|nd|rd|th)")
_ISO = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})")
_YEAR_FIRST = re.compile(r"([0-9]{4})[/.]([0-9]{1,2})[/.]([0-9]{1,2})")
_NUMERIC = re.compile(r"([0-9]{1,2})([/.-])([0-9]{1,2})(?:\2([0-9]{4}|[0-9]{2}))?")
_GLUED_MONTH_DAY = re.compile(r"([a-z]{3,9})-([0-9]{1,2})(?:-([0-9]{4}))?")
_GLUED_DAY_MONTH = re.compile(r"([0-9]{1,2})-([a-z]{3,9})-([0-9]{2,4})")
_YEAR = re.compile(r"(19|20|21)[0-9][0-9]")
_MONTH_FIRST_REGIONS = frozenset({"US", "PH", "FM", "MH", "PW", "GU", "AS", "MP", "PR", "UM", "VI"})
_MONTH_FIRST_LANGUAGES = frozenset({"ja", "zh", "ko", "hu", "lt", "mn"})
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_HUGE_DAYS = 36_600  # a hundred years: far past any limit, and safe for datetime arithmetic
_NOON = 12
_LAST_HOUR = 23
_END_OF_DAY = 24
_PAST_YEARS = 100

EXAMPLES = "`/room create tomorrow 9am-5pm` or `/room create next monday for 2 hours`"


def is_window_word(word: str) -> bool:
    """Whether *word* can be part of a time window (so it is not, say, a misspelt role)."""
    return word in VOCABULARY or any(char.isdigit() for char in word)


def month_first(locale: str) -> bool:
    """Whether numeric dates put the month first (``1/2`` = January 2) in *locale* (``en-US``)."""
    language, _, region = locale.replace("_", "-").partition("-")
    region = region.split("-")[-1].upper()
    if region:
        return region in _MONTH_FIRST_REGIONS or language.lower() in _MONTH_FIRST_LANGUAGES
    return language.lower() in {"en", *_MONTH_FIRST_LANGUAGES}


# --- what the words say, before the calendar is consulted ------------------------------------


@dataclass(slots=True)
class _Day:
    """A day (or a longer period) as said; `resolved` is its date once the calendar is consulted."""

    text: str
    at: int = 0  # index of its first word, for messages
    resolved: date | None = None  # a fixed date, or the first day of a period
    month: int = 0  # a month-day with no year: the year comes from context
    day: int = 0
    weekday: int = -1  # a weekday name: the first one after today, or after a range's start
    may_be_today: bool = False  # "this friday" said on a Friday
    period_end: date | None = None  # exclusive end of a week, weekend or month
    is_today: bool = False  # "today" as a start means now
    must_be_weekday: int = -1  # "tue jan 19": the date has to fall on a Tuesday
    part: tuple[int, int] | None = None  # "tomorrow morning": hours [first, end) of that day
    month_free: bool = False  # "the 8th": a day of whichever month comes first

    @property
    def floating(self) -> bool:
        return self.resolved is None and self.month > 0


@dataclass(slots=True)
class _Clock:
    text: str
    hour: int
    minute: int
    meridiem: str | None = None
    word: str | None = None  # noon, midnight, eod
    bare: bool = False  # an hour alone, "3": a time only after "at" or as one end of a range
    twenty_four: bool = False  # "03:00", "0", "15h": written as a 24-hour clock, never moved

    @property
    def unmarked(self) -> bool:
        """No am/pm and not a 24-hour form: business hours or the other end decide."""
        return self.meridiem is None and self.word is None and not self.twenty_four

    def set_meridiem(self, meridiem: str) -> None:
        """Give an unmarked clock its am/pm, as one from a day part or a range's other end."""
        if self.unmarked and 1 <= self.hour <= _NOON:
            self.hour = self.hour % _NOON + (_NOON if meridiem == "pm" else 0)
        if self.unmarked:
            self.meridiem = meridiem

    def business_hours(self) -> None:
        """A bare 1 to 6 is afternoon; 7 to 11 morning; 12 noon."""
        if self.unmarked and self.hour in _BUSINESS_PM:
            self.hour += _NOON
        if self.unmarked:
            self.meridiem = "pm" if self.hour >= _NOON else "am"

    def hour_as(self, *, end: bool) -> int:
        if self.word == "midnight":
            return _END_OF_DAY if end else 0
        return self.hour


@dataclass(slots=True)
class _Point:
    text: str
    at: int
    day: _Day | None = None
    clock: _Clock | None = None
    now: bool = False
    offset: Duration | None = None
    weak: bool = False  # a lone bare hour ("3"): a time only as one end of a range


@dataclass(slots=True)
class _Reading:
    start: _Point | None = None
    end: _Point | None = None
    length: Duration | None = None
    open_ended: bool = False  # "from monday", "starting tomorrow": a start, not a whole day


@dataclass(frozen=True, slots=True)
class Resolved:
    """A window read and judged: what to send to ACS, and the literal *window* it came from."""

    valid_from: datetime
    valid_until: datetime
    window: Window


def read_window(
    tokens: Sequence[Token],
    now: datetime,
    locale: str,
    default_length: timedelta = DEFAULT_LENGTH,
) -> Resolved:
    """The window that *tokens* (the words left after mentions) name, said at *now* (aware, in
    the user's zone); an instant with no end lasts *default_length*. Raises `Refusal` for words
    it cannot read and windows the rules refuse.
    """
    reader = _Reader(tokens, now, locale)
    reading = reader.read_window()
    if not reader.at_end():
        raise reader.refusal(reader.pos)
    start, end = reader.resolve(reading)
    said = tuple(point.text if point else "" for point in (reading.start, reading.end))
    return judge(start, end, now, (said[0], said[1]), default_length)


def read_length(text: str) -> timedelta:
    """A length in words (``90 minutes``, ``1 hour and 30 minutes``, ``a day``), as elapsed time.

    For settings such as ``ROOMBOT_DEFAULT_LENGTH``: the same words a command takes after
    ``for``. Months are refused (their length depends on the date). Raises ValueError saying why.
    """
    reader = _Reader(tokenize(text), datetime.now(UTC), "en-US")
    try:
        length = reader.read_duration(ErrorCode.WINDOW_TOO_LONG)
    except Refusal as refusal:
        raise ValueError(refusal.error.message) from None
    if length is None or not reader.at_end():
        raise ValueError(f"“{text}” is not a length; e.g. 90 minutes, 1 hour or PT90M")
    if length.months:
        raise ValueError("months differ in length; say days or weeks, e.g. 30 days")
    return timedelta(days=length.days, seconds=length.seconds)


def read_extension(
    tokens: Sequence[Token], now: datetime, locale: str
) -> tuple[Duration | None, datetime | None]:
    """``by DURATION`` or ``to WHEN`` for ``extend``: (length, None) or (None, new end).

    Raises `Refusal` for unreadable words, a zero or over-long length, or an end already past.
    """
    reader = _Reader(tokens, now, locale)
    if reader.at_end():
        message = (
            "Tell me how far to extend the room, e.g. `/room extend 99117812428622880 by 2 hours` "
            "or `/room extend 99117812428622880 to friday 5pm`."
        )
        raise Refusal(ErrorCode.UNRECOGNISED_TIME, message)
    length: Duration | None = None
    until: datetime | None = None
    if reader.take({"by", "for", "+"}) or reader.looks_like_duration():
        length = reader.expect_duration(ErrorCode.WINDOW_TOO_LONG)
    else:
        reader.take(_END_WORDS)
        point = reader.expect_point()
        until = reader.resolve(_Reading(end=point))[1]
    if not reader.at_end():
        raise reader.refusal(reader.pos)
    if length is not None:
        if length.is_zero:
            message = (
                f"Extending by {length} changes nothing; "
                "e.g. `/room extend 99117812428622880 by 2 hours`."
            )
            raise Refusal(ErrorCode.EMPTY_WINDOW, message)
        if utc(length.after(now)) > utc(calendar_limit(now)):
            message = (
                f"Extending by {length} is more than a room may last ({MAX_DAYS} days); "
                "e.g. `/room extend 99117812428622880 by 2 weeks`."
            )
            raise Refusal(ErrorCode.WINDOW_TOO_LONG, message)
        return length, None
    if until is None or utc(until) <= utc(now):
        shown = describe(until) if until else "now"
        message = (
            f"The new end, {shown}, has already passed; "
            "e.g. `/room extend 99117812428622880 to friday 5pm`."
        )
        raise Refusal(ErrorCode.WINDOW_IN_PAST, message)
    return None, until


def judge(
    start: datetime,
    end: datetime | None,
    now: datetime,
    said: tuple[str, str] = ("", ""),
    default_length: timedelta = DEFAULT_LENGTH,
) -> Resolved:
    """Apply the rules to the literal window [*start*, *end*): defaults, past starts, limits.

    *said* holds the words of the start and the end, quoted in messages; an instant with no end
    lasts *default_length* of elapsed time. Raises `Refusal`.
    """
    window = Window(start, end)
    start_at, now_at = utc(start), utc(now)
    end_at = utc(end) if end is not None else None
    if end is not None and end_at is not None and end_at < start_at:
        start_words = f" (“{said[0]}”)" if said[0] else ""
        end_words = f" (“{said[1]}”)" if said[1] else ""
        overnight = (
            " A time range after a day stays within that day; for a room that runs overnight "
            "name both days, e.g. `/room create friday 6pm to saturday 8am`."
        )
        message = (
            f"The window would end {describe(end)}{end_words}, before it starts, "
            f"{describe(start)}{start_words}.{overnight if end.date() == start.date() else ''} "
            f"Put the start first, e.g. {EXAMPLES}."
        )
        raise Refusal(ErrorCode.END_BEFORE_START, message, window)
    if end_at == start_at:
        message = (
            f"That window is empty: it starts and ends at {describe(start)}. Give it a length, "
            "e.g. `/room create for 2 hours` or `/room create tomorrow 9am-5pm`."
        )
        raise Refusal(ErrorCode.EMPTY_WINDOW, message, window)
    valid_until = end if end is not None else add_elapsed(start, default_length.total_seconds())
    if utc(valid_until) <= now_at:
        message = (
            f"That window is over already: {_literal(window)}, and it is now {describe(now)}. "
            f"Pick a time still to come, e.g. {EXAMPLES}."
        )
        raise Refusal(ErrorCode.WINDOW_IN_PAST, message, window)
    if start_at > utc(calendar_limit(now)):
        message = (
            f"That window starts {_length(start_at - now_at)} from now ({_literal(window)}); "
            f"a room can be set up at most {MAX_DAYS} days ahead. Pick a closer start, "
            f"e.g. {EXAMPLES}."
        )
        raise Refusal(ErrorCode.START_TOO_FAR_AHEAD, message, window)
    valid_from = start if start_at > now_at else now
    if end is not None and utc(end) > utc(calendar_limit(valid_from)):
        message = (
            f"That window is {_length(utc(valid_until) - utc(valid_from))} long "
            f"({_literal(window)}); a "
            f"room can stay open at most {MAX_DAYS} days. Shorten it, e.g. "
            f"`/room create tomorrow for {MAX_DAYS} days`."
        )
        raise Refusal(ErrorCode.WINDOW_TOO_LONG, message, window)
    # ACS counts its 180 days in elapsed time: a window of 180 calendar days across a fall-back
    # (180 days and 1 hour) ends that hour sooner; `window` keeps the end as said
    valid_until = min(valid_until, elapsed_limit(valid_from), key=utc)
    return Resolved(valid_from, valid_until, window)


def _length(span: timedelta) -> str:
    """``181 days 2 hours 5 minutes``: whole units, zeros left out."""
    hours, rest = divmod(span.seconds, 3600)
    parts = ((span.days, "day"), (hours, "hour"), (rest // 60, "minute"))
    return " ".join(f"{value} {unit}{'' if value == 1 else 's'}" for value, unit in parts if value)


def describe(moment: datetime) -> str:
    """A moment as messages show it: ``Wed 20 Jan 2027 09:00 (UTC+01:00)``."""
    offset = moment.strftime("%z")
    return f"{moment:%a} {moment.day} {moment:%b %Y %H:%M} (UTC{offset[:3]}:{offset[3:]})"


def _literal(window: Window) -> str:
    if window.end is None:
        return f"from {describe(window.start)}, with no end"
    return f"from {describe(window.start)} to {describe(window.end)}"


# --- the reader ----------------------------------------------------------------------------------


class _Reader:
    """A one-pass reader over the window's words; each `read_*` takes what it reads, or nothing."""

    def __init__(self, tokens: Sequence[Token], now: datetime, locale: str) -> None:
        self.words = [token.text for token in tokens]
        self.raws = [shown(token) for token in tokens]  # quoted in messages only
        self.pos = 0
        self.now = now
        self.today = now.date()
        self.month_first = month_first(locale)

    # low-level helpers

    def peek(self, ahead: int = 0) -> str:
        index = self.pos + ahead
        return self.words[index] if index < len(self.words) else ""

    def take(self, options: frozenset[str] | set[str]) -> str | None:
        word = self.peek()
        if word and word in options:
            self.pos += 1
            return word
        return None

    def at_end(self) -> bool:
        return self.pos >= len(self.words)

    def said(self, start: int, end: int | None = None) -> str:
        return " ".join(self.raws[start : self.pos if end is None else end])

    def refusal(self, start: int, why: str = "") -> Refusal:
        """An ``unrecognised_time`` refusal quoting the words from *start* to the next joiner."""
        end = start + 1
        while end < len(self.words) and self.words[end] not in _STOP:
            end += 1
        quoted = self.said(start, end) or "(nothing)"
        if start >= len(self.words):
            quoted = self.said(max(start - 1, 0), start)
            why = why or " It needs something after it."
        understood = self.said(0, start)
        read = f" I read “{understood}” fine." if understood and start < len(self.words) else ""
        hint = ""
        if why or start >= len(self.words):
            pass
        elif end == len(self.words) and self.words[end - 1] in _DANGLING:
            hint = " It needs more after it."
        elif all(word in VOCABULARY for word in self.words[start:end]):
            hint = " It doesn't fit there."
        elif end - start == 1:
            close = did_you_mean(self.words[start], VOCABULARY, cutoff=0.75)
            hint = f" Did you mean “{close}”?" if close else ""
        message = (
            f"I couldn't read “{quoted}” as a date, time or length.{why}{hint}{read} "
            f"Try {EXAMPLES}."
        )
        return Refusal(ErrorCode.UNRECOGNISED_TIME, message)

    # windows

    def read_window(self) -> _Reading:
        if self.at_end():
            return _Reading()
        if self.words[self.pos :] in _TODAY_IS_OVER:  # "eod", "later today": now until midnight
            at = self.pos
            self.pos = len(self.words)
            return _Reading(_Point(self.said(at), at, day=_Day("", resolved=self.today)))
        span = self._span()
        if span is not None:
            return span
        if self.take({"for"}):
            whole = self._whole_day()
            if whole is not None:  # "for the day", "for the rest of the week"
                return _Reading(whole)
            length = self._for_length()  # "for 2 hours", "for the next hour"
            start = None
            if not self.at_end():
                self.take(_START_WORDS)
                start = self.expect_point()
            return _Reading(start=start, length=length)
        if self.take({"between"}):
            first = self.expect_point()
            if not self.take({"and"}):
                raise self.refusal(self.pos, " “between” needs “and”: `between 1pm and 3pm`.")
            return _Reading(first, self.expect_point())
        if self.take(_END_WORDS):
            return _Reading(end=self.expect_point())
        of_a_period = self.peek() in {"beginning", "start"} and self.peek(1) == "of"
        opened = not of_a_period and self.take(_START_WORDS) is not None
        first = self.expect_point()
        if (
            first.day is not None
            and first.clock is None
            and first.day.period_end is None
            and self.peek() in {"from", "between"}
        ):  # "tomorrow from 9 to 5", "friday between 1pm and 3pm"
            inner = self.read_window()
            for point in (inner.start, inner.end):
                if point is not None and point.day is None and point.clock is not None:
                    point.day = first.day
            return inner
        if first.day is not None and _is_week(first.day) and self.peek() in {"from", "between"}:
            inner = self.read_window()  # "this week from tue to thu": weekdays of that week
            assert first.day.resolved is not None
            for point in (inner.start, inner.end):
                if point is not None and point.day is not None and point.day.weekday >= 0:
                    days = timedelta(days=point.day.weekday)
                    point.day.resolved = first.day.resolved + days
            return inner
        if self.take(_END_WORDS):
            last = self.expect_point()
            self._range_year(first, last)
            return _Reading(first, last)
        if self.take({"for"}):
            if first.day is not None and first.clock is None and self._whole_day() is not None:
                return _Reading(first)  # "tomorrow for the whole day": the day covers itself
            return _Reading(first, length=self._for_length())
        return _Reading(first, open_ended=opened)

    def _range_year(self, first: _Point, last: _Point) -> None:
        """``5/1-5/7, 2027``, ``august 10 - 22, 2027``: a year after a range is both ends'."""
        self.take({"in", "of"}) if _YEAR.fullmatch(self.peek(1)) else None
        if not _YEAR.fullmatch(self.peek()):
            return
        year = int(self.words[self.pos])
        self.pos += 1
        self._pair(first, last)
        for point in (first, last):
            day = point.day
            if day is not None and day.floating:
                day.resolved = self._checked_date(year, day.month, day.day, day.at)

    def _for_length(self) -> Duration:
        """The length after ``for``: ``2 hours``, ``the next 2 hours``, ``the next hour``."""
        if self._take_words(("the", "next")) and self.peek() in UNITS:
            kind, size = UNITS[self.words[self.pos]]
            self.pos += 1
            return Duration(
                months=size if kind == "m" else 0,
                days=size if kind == "d" else 0,
                seconds=size if kind == "s" else 0,
            )
        return self.expect_duration(ErrorCode.WINDOW_TOO_LONG)

    def _take_words(self, words: tuple[str, ...]) -> bool:
        """Take *words* if they come next, all of them; else take nothing."""
        if all(self.peek(index) == word for index, word in enumerate(words)):
            self.pos += len(words)
            return True
        return False

    def _whole_day(self) -> _Point | None:
        """After ``for``: ``the day``, ``the whole day``, ``the rest of the day`` (today, as
        a whole), ``the week`` / ``the rest of the week`` (this week); else None."""
        start = self.pos
        for words, unit in _WHOLE_PERIODS:
            if self._take_words(words):
                day = (
                    _Day("", resolved=self.today, is_today=True)
                    if unit == "day"
                    else self._period(unit, coming=False)
                )
                return _Point(self.said(start), start, day=day)
        return None

    def _span(self) -> _Reading | None:
        """A window said as a length: ``2 hours`` (from now), ``within 2 weeks`` (now until
        then), ``next 3 days`` (from tomorrow), ``next 5 hrs`` (from now), ``a week starting
        tomorrow``. None, with nothing consumed, for anything else."""
        start = self.pos
        if self.take({"within"}):
            within = self.expect_duration(ErrorCode.WINDOW_TOO_LONG)
            return _Reading(end=_Point(self.said(start), start, offset=within))
        if self.peek() == "the" and self.peek(1) == "next":
            self.pos += 1
        length: Duration | None
        if self.take({"next"}):
            length = self.read_duration(ErrorCode.WINDOW_TOO_LONG)
            if length is None and self.peek() in {"hour", "minute"}:  # "next hour"
                length = Duration(seconds=UNITS[self.words[self.pos]][1])
                self.pos += 1
            if length is None:
                self.pos = start
                return None
            if length.months or length.days:  # "next 3 days": whole days, from tomorrow
                tomorrow = _Day("", resolved=self.today + timedelta(days=1))
                return _Reading(_Point(self.said(start), start, day=tomorrow), length=length)
            return _Reading(length=length)  # "next 5 hrs": from now
        if (clock := _FRENCH_CLOCK.fullmatch(self.peek())) and int(clock.group(1)) > _NOON:
            return None  # "15h30" is half past three in the afternoon; "1h30" is a length
        length = self.read_duration(ErrorCode.WINDOW_TOO_LONG)
        if length is None:
            return None
        if self.at_end():  # "/room 2 hours", "/room a fortnight"
            return _Reading(length=length)
        if self.take({"starting", "beginning", "from"}) and self.peek() not in {"now", "today"}:
            return _Reading(self.expect_point(), length=length)  # "3 days starting monday"
        self.pos = start
        return None

    def expect_point(self) -> _Point:
        point = self.read_point()
        if point is None:
            raise self.refusal(self.pos)
        return point

    def read_point(self) -> _Point | None:
        start = self.pos
        self.take(_FILLER)  # "around 3pm"
        for words in _ALL_DAY:  # "all day tomorrow" is tomorrow
            if self._take_words(words):
                break
        word = self.peek()
        if word in _NOW or (word == "right" and self.peek(1) == "now"):
            self.pos += 1 + (word == "right")
            if self.take({"+", "plus"}):  # "now + 40 minutes"
                later = self.expect_duration(ErrorCode.START_TOO_FAR_AHEAD)
                return _Point(self.said(start), start, offset=later)
            return _Point(self.said(start), start, now=True)
        offset = self._offset()
        if offset is not None:
            if offset.seconds == 0 and self.words[self.pos - 1] == "today":
                on = _Day(self.said(start), start, resolved=offset.after(self.now).date())
                clock = self._at_clock()  # "3 days from today": that day; "… at 3pm"
                return _Point(self.said(start), start, day=on, clock=clock)
            if offset.seconds == 0 and (clock := self._at_clock()) is not None:
                # "in 2 days at 3pm": that day, at that time
                on = _Day(self.said(start), start, resolved=offset.after(self.now).date())
                return _Point(self.said(start), start, day=on, clock=clock)
            return _Point(self.said(start), start, offset=offset)
        day = self.read_day()
        if day is not None:
            clock = None
            if day.period_end is None:
                clock = self._at_clock()
                if clock is None and self.peek() in {"all", "whole"} and self.peek(1) == "day":
                    self.pos += 2  # "tomorrow all day" is tomorrow
            return _Point(self.said(start), start, day=day, clock=clock)
        at = self.take(_AT)
        clock = (self._military() if at else None) or self.read_clock()
        if clock is None:
            self.pos = start
            return None
        self.take({"sharp"})
        day = self.read_day(periods=False)
        weak = clock.bare and not at and day is None
        return _Point(self.said(start), start, day=day, clock=clock, weak=weak)

    def _offset(self) -> Duration | None:
        """``in 2 hours``, ``2 hours from now``, ``2 hours later``; or None, nothing consumed."""
        start = self.pos
        leading_in = self.take({"in"})
        offset = self.read_duration(ErrorCode.START_TOO_FAR_AHEAD)
        if offset is not None and (
            leading_in
            or (self.take({"from"}) and self.take({"now", "today"}))
            or self.take({"later"})
        ):
            return offset
        self.pos = start
        return None

    def _military(self) -> _Clock | None:
        """``at 1415``: four digits after ``at`` are a 24-hour clock time (not a year)."""
        word = self.peek()
        if len(word) == 4 and word.isascii() and word.isdigit():
            hour, minute = int(word[:2]), int(word[2:])
            if hour <= _LAST_HOUR and minute <= 59:
                self.pos += 1
                return _Clock(word, hour, minute, twenty_four=True)
        return None

    def _at_clock(self) -> _Clock | None:
        """An optional ``at`` and a clock time; an ``at`` with no clock after it is refused."""
        after_at = self.pos
        at = self.take(_AT)
        self.take(_FILLER)
        clock = self._military() if at else None
        clock = clock or self.read_clock()
        self.take({"sharp"})
        if at and clock is None:
            raise self.refusal(min(after_at + 1, len(self.words)))
        return clock

    # days

    def read_day(self, *, periods: bool = True) -> _Day | None:
        start = self.pos
        self.take({"on"})
        day = self._day(periods=periods)
        if day is None and self.peek() in DAY_PARTS:  # "evening": this evening
            day = _Day("", resolved=self.today)
        if day is None:
            self.pos = start
            return None
        if _is_week(day) and self.peek() in WEEKDAYS:  # "next week wednesday"
            assert day.resolved is not None
            day = _Day("", resolved=day.resolved + timedelta(days=WEEKDAYS[self.peek()]))
            self.pos += 1
        if _is_month(day) and self.peek() in {"on", "the"}:  # "next month on the 3rd"
            assert day.resolved is not None
            self.take({"on"})
            self.take({"the"})
            number = _day_number(self.peek())
            if number is None or number > _days_in(day.resolved):
                raise self.refusal(self.pos, " Say which day: `next month on the 3rd`.")
            self.pos += 1
            day = _Day("", resolved=day.resolved.replace(day=number))
        if day.period_end is None and day.part is None and self.peek() in _HALF_DAYS:
            day.part = _HALF_DAYS[self.words[self.pos]]  # "tomorrow am", "wed pm"
            self.pos += 1
        if day.period_end is None and day.part is None and self.peek() in DAY_PARTS:
            day.part = DAY_PARTS[self.words[self.pos]]  # "tomorrow morning", "friday night"
            self.pos += 1
        day.text, day.at = self.said(start), start
        return day

    def _day(self, *, periods: bool) -> _Day | None:
        word, today = self.peek(), self.today
        if (word == "the" and self.peek(1) == "day") or word == "day":
            skip = 1 if word == "day" else 2
            if self.peek(skip) == "after" and self.peek(skip + 1) == "tomorrow":
                self.pos += skip + 2
                return _Day("", resolved=today + timedelta(days=2))
        if word in _RELATIVE_DAYS:
            self.pos += 1
            shift = _RELATIVE_DAYS[word]
            part = DAY_PARTS.get(word)  # "tonight" is this evening
            return _Day("", resolved=today + timedelta(days=shift), is_today=shift == 0, part=part)
        if word == "this" and self.peek(1) in DAY_PARTS:  # "this afternoon"
            self.pos += 2
            return _Day("", resolved=today, part=DAY_PARTS[self.words[self.pos - 1]])
        if word in _PERIOD_ENDS:  # "eow": the rest of this week
            self.pos += 1
            return self._period(_PERIOD_ENDS[word], coming=False)
        if word == "the" and self.peek(1) in {"end", "beginning", "start"} and self.peek(2) == "of":
            self.pos += 1  # "until the end of the month"
            word = self.peek()
        if word in {"end", "beginning", "start"} and self.peek(1) == "of":
            skip = 3 if self.peek(2) in {"the", "this", "next"} else 2
            if self.peek(skip) in {"week", "month"}:
                coming = self.peek(skip - 1) == "next"
                self.pos += skip + 1
                period = self._period(self.words[self.pos - 1], coming=coming)
                assert period.resolved is not None
                if word == "end":  # "end of next week": from now until it is over
                    return _Day("", resolved=today, is_today=True, period_end=period.period_end)
                return _Day("", resolved=period.resolved)  # "beginning of next month": its 1st
        if word == "the" and self.peek(1) in {"next", "coming", "upcoming"}:
            self.pos += 1  # "the coming week"
            word = self.peek()
        if word == "this" and self.peek(1) in {"coming", "upcoming"}:
            self.pos += 1  # "this upcoming friday"
            word = "coming"
        if word == "upcoming":
            word = "coming"
        if word in {"next", "coming"} and self.peek(1) == "day":  # "next day": tomorrow
            self.pos += 2
            return _Day("", resolved=today + timedelta(days=1))
        if word == "in" and self.peek(1) in MONTHS and _day_number(self.peek(2)) is None:
            self.pos += 2  # "in may": the whole month, its next occurrence
            return self._month(MONTHS[self.words[self.pos - 1]])
        if word in {"next", "this", "coming"}:
            following = self.peek(1)
            if following in WEEKDAYS:
                self.pos += 2
                return _Day("", weekday=WEEKDAYS[following], may_be_today=word == "this")
            if periods and following in _PERIODS:
                self.pos += 2
                return self._period(following, coming=word != "this")
            return None
        if periods and (word == "weekend" or (word == "the" and self.peek(1) == "weekend")):
            self.pos += 1 + (word == "the")
            return self._period("weekend", coming=False)
        if word in WEEKDAYS:
            self.pos += 1
            weekday = WEEKDAYS[word]
            in_week = self._week_after_weekday()
            if in_week is not None:  # "tuesday of next week", "friday this week"
                return _Day("", resolved=in_week + timedelta(days=weekday))
            dated = self._date()
            if dated is not None and dated.month_free:  # "tuesday the 8th": the next such 8th
                return self._weekday_on(weekday, dated)
            if dated is not None:  # "tue jan 19", "tuesday 19/1"
                dated.must_be_weekday = weekday
                return dated
            return _Day("", weekday=weekday)
        nth = self._nth_weekday()
        if nth is not None:
            return nth
        return self._date()

    def _week_after_weekday(self) -> date | None:
        """The Monday of ``[of] next week`` / ``this week`` / ``the week`` after a weekday."""
        start = self.pos
        self.take({"of"})
        which = self.take({"next", "this", "the", "coming"})
        if which is not None and self.take({"week"}):
            monday = self.today - timedelta(days=self.today.weekday())
            return monday + timedelta(days=7 if which in {"next", "coming"} else 0)
        self.pos = start
        return None

    def _weekday_on(self, weekday: int, dated: _Day) -> _Day:
        """``tuesday the 8th``: the first 8th to come that is a Tuesday (within a year)."""
        first = self.today.replace(day=1)
        for _ in range(13):
            if dated.day <= _days_in(first):
                candidate = first.replace(day=dated.day)
                if candidate >= self.today and candidate.weekday() == weekday:
                    return _Day("", resolved=candidate)
            first = (first + timedelta(days=32)).replace(day=1)
        raise self.refusal(dated.at, " No such day in the coming year.")

    def _nth_weekday(self) -> _Day | None:
        """``first wednesday of december``, ``last friday of the month``, ``2nd monday of next
        month``; None, with nothing consumed, for anything else."""
        start = self.pos
        self.take({"the"})
        nth = _NTH.get(self.peek())
        if nth is None or self.peek(1) not in WEEKDAYS:
            self.pos = start
            return None
        weekday = WEEKDAYS[self.peek(1)]
        self.pos += 2
        if not self.take({"of", "in"}):
            raise self.refusal(start, " Say which month: `first wednesday of december`.")
        first = self._named_month(start)
        days = [
            first + timedelta(days=offset)
            for offset in range(_days_in(first))
            if (first + timedelta(days=offset)).weekday() == weekday
        ]
        if nth != _LAST and nth > len(days):
            raise self.refusal(start, f" That month has only {len(days)} of them.")
        chosen = days[-1] if nth == _LAST else days[nth - 1]
        if chosen < self.today and self.words[self.pos - 1] in MONTHS:
            year_on = first.replace(year=first.year + 1)  # "first wednesday of january": next
            days = [
                year_on + timedelta(days=offset)
                for offset in range(_days_in(year_on))
                if (year_on + timedelta(days=offset)).weekday() == weekday
            ]
            chosen = days[-1] if nth == _LAST or nth > len(days) else days[nth - 1]
        return _Day("", resolved=chosen)

    def _named_month(self, start: int) -> date:
        """The first day of ``december [2027]``, ``the month``, ``this month``, ``next month``."""
        word = self.peek()
        if word in MONTHS:
            self.pos += 1
            month = MONTHS[word]
            if _YEAR.fullmatch(self.peek()):
                year = int(self.words[self.pos])
                self.pos += 1
                return self._checked_date(year, month, 1, start)
            return date(self.today.year + (month < self.today.month), month, 1)
        if word in {"the", "this", "next"} and self.peek(1) == "month":
            self.pos += 2
            first = self.today.replace(day=1)
            return (first + timedelta(days=32)).replace(day=1) if word == "next" else first
        raise self.refusal(self.pos, " Say which month: `of december` or `of next month`.")

    def _month(self, month: int) -> _Day:
        """A whole month by name: this one (the rest of it) or its next occurrence."""
        year = self.today.year + (month < self.today.month)
        first = date(year, month, 1)
        return _Day("", resolved=first, period_end=(first + timedelta(days=32)).replace(day=1))

    def _period(self, unit: str, *, coming: bool) -> _Day:
        today = self.today
        if unit == "month":
            first = today.replace(day=1)
            if coming:
                first = (first + timedelta(days=32)).replace(day=1)
            return _Day("", resolved=first, period_end=(first + timedelta(days=32)).replace(day=1))
        monday = today - timedelta(days=today.weekday()) + timedelta(days=7 if coming else 0)
        if unit == "week":
            return _Day("", resolved=monday, period_end=monday + timedelta(days=7))
        return _Day("", resolved=monday + timedelta(days=5), period_end=monday + timedelta(days=7))

    def _date(self) -> _Day | None:
        """A calendar date: month names, ordinals, numeric forms; else dateparser, else None."""
        start, word = self.pos, self.peek()
        if word in MONTHS:
            day = _day_number(self.peek(1))
            if day is not None:
                self.pos += 2
                return self._month_day(MONTHS[word], day, start)
        leading_the = word == "the"
        day = _day_number(self.peek(1) if leading_the else word)
        if day is not None:
            self.pos += 1 + leading_the
            self.take({"of"})
            month = MONTHS.get(self.peek())
            if month is not None:
                self.pos += 1
                return self._month_day(month, day, start)
            if self.peek() in {"this", "next"} and self.peek(1) == "month":
                first = self._named_month(start)  # "the 15th of next month", "23 next month"
                if day > _days_in(first):
                    raise self.refusal(start, f" There is no day {day} in that month.")
                return _Day("", resolved=first.replace(day=day))
            if leading_the or _ORDINAL.fullmatch(self.words[start + leading_the]):
                found = self._day_of_month(day, start)  # "the 20th", "20th"
                found.month_free, found.day, found.at = True, day, start
                return found
            self.pos = start
        numeric = self._numeric_date(word)
        if numeric is not None:
            self.pos += 1
            return numeric
        return self._dateparser_date()

    def _month_day(self, month: int, day: int, start: int) -> _Day:
        if day > _DAYS_IN_MONTH[month - 1]:
            raise self.refusal(start, f" There is no day {day} in that month.")
        year = None
        if self.peek() in {"in", "of"} and _YEAR.fullmatch(self.peek(1)):
            self.pos += 1  # "june 28 in 2027"
        if _YEAR.fullmatch(self.peek()):
            year = int(self.peek())
            self.pos += 1
        if year is None:
            return _Day("", month=month, day=day)
        return _Day("", resolved=self._checked_date(year, month, day, start))

    def _day_of_month(self, day: int, start: int) -> _Day:
        first = self.today.replace(day=1)
        for _ in range(3):
            if day <= _days_in(first):
                candidate = first.replace(day=day)
                if candidate >= self.today:
                    return _Day("", resolved=candidate)
            first = (first + timedelta(days=32)).replace(day=1)
        raise self.refusal(start, f" There is no day {day} in the coming months.")

    def _numeric_date(self, word: str) -> _Day | None:
        if not word or not word[0].isalnum():
            return None
        start = self.pos
        if match := _ISO.fullmatch(word) or _YEAR_FIRST.fullmatch(word):
            year, month, day = (int(part) for part in match.groups())
            return _Day("", resolved=self._checked_date(year, month, day, start))
        if match := _NUMERIC.fullmatch(word):
            first, separator, second, year_text = match.groups()
            if separator == "." and year_text is None:
                return None  # "9.30" is a clock time
            if separator == "-" and (year_text is None or len(year_text) != 4):
                return None
            month, day = (int(first), int(second))
            if not self.month_first:
                month, day = day, month
            if month > 12 >= day:  # "24/12" is 24 December whatever the locale
                month, day = day, month
            order = "month/day" if self.month_first else "day/month"
            if not 1 <= month <= 12 or not 1 <= day <= _DAYS_IN_MONTH[month - 1]:
                raise self.refusal(
                    start, f" Numeric dates here are {order}, e.g. `{_example(order)}`."
                )
            if year_text is None:
                return _Day("", month=month, day=day)
            year = int(year_text) + (2000 if len(year_text) == 2 else 0)
            return _Day("", resolved=self._checked_date(year, month, day, start))
        glued = _GLUED_MONTH_DAY.fullmatch(word)
        if glued and glued.group(1) in MONTHS:
            month, day = MONTHS[glued.group(1)], int(glued.group(2))
            return self._glued(month, day, glued.group(3), start)
        glued = _GLUED_DAY_MONTH.fullmatch(word)
        if glued and glued.group(2) in MONTHS:
            month, day = MONTHS[glued.group(2)], int(glued.group(1))
            return self._glued(month, day, glued.group(3), start)
        return None

    def _glued(self, month: int, day: int, year_text: str | None, start: int) -> _Day:
        if not 1 <= day <= _DAYS_IN_MONTH[month - 1]:
            raise self.refusal(start, f" There is no day {day} in that month.")
        if year_text is None:
            return _Day("", month=month, day=day)
        year = int(year_text) + (2000 if len(year_text) == 2 else 0)
        return _Day("", resolved=self._checked_date(year, month, day, start))

    def _checked_date(self, year: int, month: int, day: int, start: int) -> date:
        if abs(year - self.today.year) > _PAST_YEARS:
            raise self.refusal(start, f" The year {year} is too far from now.")
        try:
            return date(year, month, day)
        except ValueError:
            raise self.refusal(start, " That date does not exist.") from None

    def _dateparser_date(self) -> _Day | None:
        """Ask dateparser about a date atom we do not know, e.g. ``january the 20th``."""
        start = self.pos
        end = start
        while end < len(self.words) and self.words[end] not in _STOP:
            if _CLOCK.fullmatch(self.words[end]) and not self.words[end].isdigit():
                break
            if self.words[end] in _CLOCK_WORDS:
                break
            end += 1
        span = self.words[start:end]
        if not any(word[:3] in MONTHS for word in span):
            return None  # only a phrase naming a month can be a date we do not read ourselves
        found = dateparser_date(" ".join(span), self.now, month_first=self.month_first)
        if found is None:
            return None
        self.pos = end
        year, month, day = found
        if year is None:
            return _Day("", month=month, day=day)
        return _Day("", resolved=self._checked_date(year, month, day, start))

    # clocks and lengths

    def read_clock(self) -> _Clock | None:
        start, word = self.pos, self.peek()
        if word in {"noon", "midday"} or word in _LUNCH:
            self.pos += 1
            return _Clock(word, _NOON, 0, word="noon")
        if word == "midnight":
            self.pos += 1
            return _Clock(word, 0, 0, word="midnight")
        if word == "eod" or (word == "end" and self.peek(1) == "of"):
            skip = 1 if word == "eod" else 3 + (self.peek(2) == "the")
            if word == "eod" or self.peek(skip - 1) == "day":
                self.pos += skip
                return _Clock(self.said(start), _END_OF_DAY, 0, word="eod")
            return None
        if (idiom := self._clock_idiom()) is not None:
            return idiom
        match = _CLOCK.fullmatch(word)
        french = None if match else _FRENCH_CLOCK.fullmatch(word)
        if match is None and french is None:
            hour_word = word not in {"a", "an"} and 1 <= NUMBER_WORDS.get(word, 0) <= _NOON
            if hour_word and self.peek(1) in {"am", "pm", "o'clock", "oclock"}:  # "seven pm"
                self.pos += 1
                return self._clock_from(start, NUMBER_WORDS[word], 0, minutes_said=False)
            return None
        self.pos += 1
        if french is not None:
            hour, minute = int(french.group(1)), int(french.group(2) or 0)
            clock = self._clock_from(start, hour, minute, minutes_said=True, meridiem="")
            clock.twenty_four = True
            return clock
        assert match is not None
        hour, minute = int(match.group(1)), int(match.group(2) or 0)
        if match.group(3) is not None and int(match.group(3)) > 59:
            raise self.refusal(start, " Seconds go from 0 to 59.")
        glued = match.group(4)
        meridiem = {"a": "am", "p": "pm"}.get(glued or "", glued)
        clock = self._clock_from(
            start, hour, minute, minutes_said=match.group(2) is not None, meridiem=meridiem
        )
        if (len(match.group(1)) == 2 and match.group(1).startswith("0")) or hour == 0:
            clock.twenty_four = clock.meridiem is None and clock.word is None
        return clock

    def _clock_from(
        self,
        start: int,
        hour: int,
        minute: int,
        *,
        minutes_said: bool,
        meridiem: str | None = None,
    ) -> _Clock:
        """A clock time from its numbers, taking an am/pm, o'clock or day part after it."""
        if meridiem is None:
            meridiem = self.take({"am", "pm"})
        oclock = bool(self.take({"o'clock", "oclock"}))
        if hour == _NOON and not meridiem and not minutes_said and self.take({"noon"}):
            return _Clock(self.said(start), _NOON, 0, word="noon")
        if meridiem:
            if not 1 <= hour <= _NOON:
                raise self.refusal(start, " With am or pm the hour is 1 to 12.")
            hour = hour % _NOON + (_NOON if meridiem == "pm" else 0)
        elif hour == _END_OF_DAY and minute == 0:
            return _Clock(self.said(start), _END_OF_DAY, 0, word="eod")
        elif hour > _LAST_HOUR:
            raise self.refusal(start, " Hours go from 0 to 23.")
        if minute > 59:
            raise self.refusal(start, " Minutes go from 0 to 59.")
        clock = _Clock(
            self.said(start),
            hour,
            minute,
            meridiem=meridiem or None,
            bare=not minutes_said and not meridiem and not oclock,
            twenty_four=hour > _NOON and not meridiem,
        )
        self._part_suffix(clock)
        return clock

    def _part_suffix(self, clock: _Clock) -> None:
        """``6 in the morning``, ``10 at night``, ``8 tonight``: am/pm from the day part."""
        for words, meridiem in _PART_SUFFIXES.items():
            if all(self.peek(index) == word for index, word in enumerate(words)):
                if words != ("tonight",):  # "tonight" also names the day: read_day takes it
                    self.pos += len(words)
                clock.set_meridiem(meridiem)
                clock.bare = False
                return

    def _clock_idiom(self) -> _Clock | None:
        """``half past seven``, ``quarter to seven``, ``quarter past 8``."""
        start, word = self.pos, self.peek()
        if word not in {"half", "quarter"} or self.peek(1) not in {"past", "to"}:
            return None
        if word == "half" and self.peek(1) == "to":
            return None
        hour_word = self.peek(2)
        hour = NUMBER_WORDS.get(hour_word) if hour_word not in {"a", "an"} else None
        if hour is None and hour_word.isdigit() and len(hour_word) <= 2:
            hour = int(hour_word)
        if hour is None or not 1 <= hour <= _NOON:
            return None
        self.pos += 3
        minutes = 30 if word == "half" else 15
        said_pm = hour in _BUSINESS_PM or hour == _NOON  # business hours, by the hour said
        if self.words[start + 1] == "to":
            hour, minute = (hour - 1) or _NOON, 60 - minutes
        else:
            minute = minutes
        clock = self._clock_from(start, hour, minute, minutes_said=True)
        clock.set_meridiem("pm" if said_pm else "am")
        return clock

    def looks_like_duration(self) -> bool:
        start = self.pos
        found = self.read_duration(ErrorCode.WINDOW_TOO_LONG) is not None
        self.pos = start
        return found

    def expect_duration(self, too_big: ErrorCode) -> Duration:
        length = self.read_duration(too_big)
        if length is None:
            raise self.refusal(
                self.pos, " A length looks like `2 hours`, `90 minutes` or `3 weeks`."
            )
        return length

    def read_duration(self, too_big: ErrorCode) -> Duration | None:
        """One or more terms (``1 hour and 30 minutes``), or None with nothing consumed."""
        start = self.pos
        months, days, seconds = 0, 0.0, 0.0
        terms = 0
        while True:
            before = self.pos
            if terms:
                self.take({"and", "+"})
            term = self._term()
            if term is None:
                self.pos = before
                break
            kind, amount = term
            if kind == "m":
                if amount != int(amount):
                    raise self.refusal(before, " Months must be whole; say weeks or days instead.")
                months += int(amount)
            elif kind == "d":
                days += amount
            else:
                seconds += amount
            terms += 1
        if not terms:
            self.pos = start
            return None
        if months * 31 + days + seconds / 86_400 > _HUGE_DAYS:
            limit = (
                "a room can be set up ahead"
                if too_big is ErrorCode.START_TOO_FAR_AHEAD
                else "a room can stay open"
            )
            message = (
                f"“{self.said(start)}” is far more than {MAX_DAYS} days, the most {limit}. "
                f"Try {EXAMPLES}."
            )
            raise Refusal(too_big, message)
        whole_days = int(days)
        seconds += (days - whole_days) * 86_400
        return Duration(months, whole_days, round(seconds))

    def _term(self) -> tuple[str, float] | None:
        """One quantity and unit: ``2 hours``, ``1.5h``, ``half an hour``, ``a fortnight``…"""
        start, word = self.pos, self.peek()
        if match := _HOURS_MINUTES.fullmatch(word):  # 1h30
            self.pos += 1
            return "s", int(match.group(1)) * 3600 + int(match.group(2)) * 60
        if match := _COMPACT.fullmatch(word):  # 90min, 1.5h, 2wks
            self.pos += 1
            kind, size = UNITS[match.group(2)]
            return kind, float(match.group(1)) * size
        quantity: float | None = None
        if word in {"a", "an"} and self.peek(1) == "half":  # "a half hour"
            self.pos += 2
            quantity = 0.5
        elif word == "half":  # "half an hour", "half a day", "half hour"
            self.pos += 1
            self.take({"a", "an"})
            quantity = 0.5
        elif word in {"a", "an"} and self.peek(1) == "couple":  # "a couple of days"
            self.pos += 2
            self.take({"of"})
            quantity = 2
        elif _NUMBER.fullmatch(word):
            self.pos += 1
            quantity = float(word)
        elif word in _FRACTIONS:  # "1/2 hour"
            self.pos += 1
            quantity = _FRACTIONS[word]
        elif word in NUMBER_WORDS:
            self.pos += 1
            quantity = NUMBER_WORDS[word]
            if word == "couple":
                self.take({"of"})
            elif word in _TENS and 0 < NUMBER_WORDS.get(self.peek(), 10) < 10:
                quantity += NUMBER_WORDS[self.words[self.pos]]  # "thirty two"
                self.pos += 1
        if quantity is None:
            return None
        if self.peek() == "and" and self.peek(1) in {"a", "an"} and self.peek(2) == "half":
            self.pos += 3  # "2 and a half days"
            quantity += 0.5
        unit = UNITS.get(self.peek())
        if unit is None:
            self.pos = start
            return None
        self.pos += 1
        if self.peek() == "and" and self.peek(1) in {"a", "an"} and self.peek(2) == "half":
            self.pos += 3  # "an hour and a half"
            quantity += 0.5
        kind, size = unit
        return kind, quantity * size

    # the calendar

    def resolve(self, reading: _Reading) -> tuple[datetime, datetime | None]:
        """The literal start and end (None: no end) that *reading* names."""
        first, last, length = reading.start, reading.end, reading.length
        for point in (first, last):
            if point is not None and point.clock and point.day and point.day.part:
                point.clock.set_meridiem("am" if point.day.part[0] < _NOON else "pm")
        if first is not None and last is not None:
            self._pair(first, last)
        for point in (first, last):
            until_a_bare_hour = point is last and (first is None or first.now)  # "until 5"
            if point is not None and point.weak and not until_a_bare_hour:
                raise self.refusal(point.at, " Say `at 9` or `9am` for a time.")
            if point is not None and point.clock is not None:
                point.clock.business_hours()
        self._resolve_days(first.day if first else None, last.day if last else None)
        start = self._start(first, last)
        if reading.open_ended:
            return start, None
        return start, self._end(first, last, length, start)

    def _pair(self, first: _Point, last: _Point) -> None:
        """Share what one end of a range says with the other: its day, its am/pm."""
        if (
            first.weak
            and last.clock is None
            and last.day is not None
            and last.day.period_end is None
            and (last.day.month or last.day.resolved)
        ):  # "12 to 16 september", "4-23 next month": days of the end's month
            assert first.clock is not None
            number = first.clock.hour
            month = last.day.month or (last.day.resolved.month if last.day.resolved else 0)
            if last.day.resolved is not None:
                resolved = last.day.resolved
                if not 1 <= number <= _days_in(resolved.replace(day=1)):
                    raise self.refusal(first.at, " That day does not exist.")
                first.day = _Day(first.text, first.at, resolved=resolved.replace(day=number))
            else:
                if not 1 <= number <= _DAYS_IN_MONTH[month - 1]:
                    raise self.refusal(first.at, " That day does not exist.")
                first.day = _Day(first.text, first.at, month=month, day=number)
            first.clock, first.weak = None, False
        if last.weak and first.clock is None and first.day is not None and first.day.month:
            assert last.clock is not None
            last.day = _Day(last.text, last.at, month=first.day.month, day=last.clock.hour)
            last.clock, last.weak = None, False  # "jan 20-22": days of one month
            if not 1 <= last.day.day <= _DAYS_IN_MONTH[first.day.month - 1]:
                raise self.refusal(last.at, " That day does not exist.")
        single_day = first.day is not None and first.day.period_end is None
        if last.clock is not None and last.day is None and first.day is not None and single_day:
            last.day = first.day
        elif first.clock is not None and first.day is None and last.clock is not None:
            first.day = last.day
        if first.clock is not None and last.clock is not None and first.day is last.day:
            first.weak = last.weak = False
            _share_meridiem(first.clock, last.clock)

    def _resolve_days(self, first: _Day | None, last: _Day | None) -> None:
        if first is not None and last is not None and first is not last:
            if first.floating and last.floating:  # the year that makes the end the next to come
                year = self._next_year(last)
                last.resolved = self._in_year(last, year)
                first.resolved = self._in_year(first, year - (first.month > last.month))
            elif first.floating:
                self._resolve_alone(last)
                assert last.resolved is not None
                year = last.resolved.year - (first.month > last.resolved.month)
                first.resolved = self._in_year(first, year)
            else:
                self._resolve_alone(first)
                assert first.resolved is not None
                if last.floating:
                    year = first.resolved.year + (last.month < first.resolved.month)
                    last.resolved = self._in_year(last, year)
                elif last.weekday >= 0:  # the first such day on or after the start's day
                    ahead = (last.weekday - first.resolved.weekday()) % 7
                    last.resolved = first.resolved + timedelta(days=ahead)
                else:
                    self._resolve_alone(last)
        for day in (first, last):
            if day is not None:
                self._resolve_alone(day)
                self._check_weekday(day)

    def _resolve_alone(self, day: _Day) -> None:
        if day.resolved is not None:
            return
        if day.weekday >= 0:
            ahead = (day.weekday - self.today.weekday()) % 7
            if ahead == 0 and not day.may_be_today:
                ahead = 7
            day.resolved = self.today + timedelta(days=ahead)
        else:
            day.resolved = self._in_year(day, self._next_year(day))

    def _next_year(self, day: _Day) -> int:
        """The year of the next occurrence (today counts) of a month-day."""
        year = self.today.year
        for candidate in range(year, year + 9):
            if _exists(candidate, day.month, day.day) and (
                date(candidate, day.month, day.day) >= self.today
            ):
                return candidate
        return year  # unreachable: every month-day recurs within 8 years

    def _in_year(self, day: _Day, year: int) -> date:
        if not _exists(year, day.month, day.day):
            raise self.refusal(day.at, f" There is no {day.day} February in {year}.")
        return date(year, day.month, day.day)

    def _check_weekday(self, day: _Day) -> None:
        if day.must_be_weekday >= 0 and day.resolved is not None:
            actual = day.resolved.weekday()
            if actual != day.must_be_weekday:
                names = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
                name = (*names, "Sunday")[actual]
                raise self.refusal(day.at, f" {day.resolved:%d %b %Y} is a {name}.")

    def _start(self, first: _Point | None, last: _Point | None) -> datetime:
        now, zone = self.now, self.now.tzinfo
        assert zone is not None
        if first is None or first.now:
            return now
        if first.offset is not None:
            return first.offset.after(now)
        clock, day = first.clock, first.day
        if day is not None and day.resolved is not None:
            if clock is None and day.part is not None:  # under way: judge moves it to now
                return at_wall_clock(day.resolved, day.part[0], 0, zone)
            if clock is None:
                return now if day.is_today else at_wall_clock(day.resolved, 0, 0, zone)
            return at_wall_clock(day.resolved, clock.hour_as(end=False), clock.minute, zone)
        assert clock is not None
        if last is not None and last.clock is not None and last.day is None:
            # both ends are clock times alone: the day that makes the end still to come
            on = self.today
            begin = at_wall_clock(on, clock.hour_as(end=False), clock.minute, zone)
            end_on = on + timedelta(days=self._overnight(begin, last.clock))
            if utc(self._at(end_on, last.clock)) <= utc(now):
                on, end_on = on + timedelta(days=1), end_on + timedelta(days=1)
            last.day = _Day("", resolved=end_on)
            return at_wall_clock(on, clock.hour_as(end=False), clock.minute, zone)
        moment = at_wall_clock(self.today, clock.hour_as(end=False), clock.minute, zone)
        if utc(moment) < utc(now):  # a clock time that has passed today means tomorrow
            moment = at_wall_clock(
                self.today + timedelta(days=1), clock.hour_as(end=False), clock.minute, zone
            )
        return moment

    def _day_over(self, day: _Day) -> datetime:
        """When a day, a part of one (``tomorrow morning``) or a period said as an end is over."""
        assert self.now.tzinfo is not None
        assert day.resolved is not None
        if day.part is not None:
            return at_wall_clock(day.resolved, day.part[1], 0, self.now.tzinfo)
        return at_wall_clock(_day_end(day), 0, 0, self.now.tzinfo)

    def _at(self, on: date, clock: _Clock) -> datetime:
        """*clock* as the end of a window on day *on*, in the user's zone."""
        assert self.now.tzinfo is not None
        return at_wall_clock(on, clock.hour_as(end=True), clock.minute, self.now.tzinfo)

    def _overnight(self, start: datetime, end: _Clock) -> bool:
        """Whether a range ending at *end* on *start*'s day runs into the next day: when it would
        end at or before it starts and the next day makes it at most 12 hours (``11pm-1am``)."""
        same_day = self._at(start.date(), end)
        if utc(same_day) > utc(start):
            return False
        next_day = self._at(start.date() + timedelta(days=1), end)
        return utc(next_day) - utc(start) <= _OVERNIGHT

    def _end(
        self,
        first: _Point | None,
        last: _Point | None,
        length: Duration | None,
        start: datetime,
    ) -> datetime | None:
        zone = start.tzinfo
        assert zone is not None
        if length is not None:
            return length.after(start)
        if last is None:  # no end said: a day or period covers itself, an instant has none
            if first is None or first.day is None or first.clock is not None:
                return None
            return self._day_over(first.day)
        if last.now:
            return self.now
        if last.offset is not None:
            return last.offset.after(self.now)
        day, clock = last.day, last.clock
        if day is not None and day.resolved is not None:
            if clock is None:
                return self._day_over(day)
            if day.resolved == start.date() and self._overnight(start, clock):
                return self._at(day.resolved + timedelta(days=1), clock)
            return self._at(day.resolved, clock)
        assert clock is not None
        on = start.date()  # a clock time alone ends at its next occurrence after the start
        moment = at_wall_clock(on, clock.hour_as(end=True), clock.minute, zone)
        if utc(moment) <= utc(start):
            moment = at_wall_clock(
                on + timedelta(days=1), clock.hour_as(end=True), clock.minute, zone
            )
        return moment


def _share_meridiem(first: _Clock, last: _Clock) -> None:
    """One end's am/pm lends itself to an unmarked other end: ``3-5pm`` is 15:00-17:00,
    ``9-5pm`` 09:00-17:00, ``5-6am`` 05:00-06:00; with neither marked, business hours read the
    start (``3 to 4`` is 15:00-16:00) and the end follows it (``6-8`` is 18:00-20:00)."""
    if first.unmarked and not last.unmarked:
        said = last.meridiem or ("pm" if last.hour >= _NOON else "am")
        other = "am" if said == "pm" else "pm"
        for meridiem in (said, other):
            if _hour_with(first, meridiem) < (last.hour, last.minute):
                first.set_meridiem(meridiem)
                return
        first.set_meridiem(said)
        return
    if not last.unmarked:
        return
    first.business_hours()
    said = first.meridiem or ("pm" if first.hour >= _NOON else "am")
    other = "am" if said == "pm" else "pm"
    for meridiem in (said, other):
        if _hour_with(last, meridiem) > (first.hour, first.minute):
            last.set_meridiem(meridiem)
            return
    last.set_meridiem(said)  # ends the next day: the overnight rule decides


def _hour_with(clock: _Clock, meridiem: str) -> tuple[int, int]:
    """(hour, minute) that an unmarked *clock* would be with *meridiem*."""
    if not 1 <= clock.hour <= _NOON:
        return clock.hour, clock.minute
    return clock.hour % _NOON + (_NOON if meridiem == "pm" else 0), clock.minute


def _is_month(day: _Day) -> bool:
    """Whether *day* is a whole month (``next month``), whose days a phrase may name."""
    return (
        day.resolved is not None
        and day.period_end is not None
        and day.resolved.day == 1
        and day.period_end.day == 1
        and (day.period_end - day.resolved).days > 7
    )


def _is_week(day: _Day) -> bool:
    """Whether *day* is a whole week (``next week``), whose weekdays a phrase may name."""
    return (
        day.resolved is not None
        and day.period_end is not None
        and (day.period_end - day.resolved).days == 7
        and day.resolved.weekday() == 0
    )


def _day_end(day: _Day) -> date:
    if day.period_end is not None:
        return day.period_end
    assert day.resolved is not None
    return day.resolved + timedelta(days=1)


def _day_number(word: str) -> int | None:
    match = _ORDINAL.fullmatch(word)
    text = match.group(1) if match else word
    if text.isascii() and text.isdigit() and len(text) <= 2 and 1 <= int(text) <= 31:
        return int(text)
    return None


def _days_in(first: date) -> int:
    return ((first + timedelta(days=32)).replace(day=1) - first).days


def _exists(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def _example(order: str) -> str:
    return "1/20" if order == "month/day" else "20/1"


# --- dateparser, for the date atoms the grammar does not know ---------------------------------


def dateparser_date(
    text: str, now: datetime, *, month_first: bool
) -> tuple[int | None, int, int] | None:
    """(year or None, month, day) of a date-only *text* per dateparser, or None if it reads none.

    Times are refused here (our grammar reads those), and so is any result without both a month
    and a day, so dateparser never silently turns a word into a different date.
    """
    import dateparser.date

    settings: dict[str, Any] = {
        "RELATIVE_BASE": now.replace(tzinfo=None),
        "PREFER_DATES_FROM": "future",
        "DATE_ORDER": "MDY" if month_first else "DMY",
        "PREFER_LOCALE_DATE_ORDER": False,
        "STRICT_DATE_ORDER": "all",
        "PARSERS": ["absolute-time"],
        "REQUIRE_PARTS": ["day", "month"],
        "RETURN_AS_TIMEZONE_AWARE": False,
    }
    try:
        parser = dateparser.date.DateDataParser(languages=["en"], settings=settings)
        data = parser.get_date_data(text)
    except Exception:
        return None
    parts = tuple(data.parts or ())
    if data.date_obj is None or "time" in parts or not {"month", "day"} <= set(parts):
        return None
    found: datetime = data.date_obj
    return (found.year if "year" in parts else None), found.month, found.day


def warm_up() -> None:
    """Import dateparser and pay its first-call cost (about 0.1 s) now, not on a user's command."""
    dateparser_date("january the 20th", datetime(2027, 1, 13, 12, 0), month_first=True)
