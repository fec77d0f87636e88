"""What the words of a window say, before the calendar is consulted: frozen values.

Why frozen: the readers build these and the resolution step (`resolve`) turns them into instants.
A value read never changes afterwards; where a range's ends lend each other a day or an am/pm,
`resolve` makes new values with `dataclasses.replace`, so what was read stays what was said.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from bot.parsing.commands import Duration
from bot.parsing.vocabulary import BUSINESS_PM, END_OF_DAY, NOON


@dataclass(frozen=True, slots=True)
class DaySaid:
    """A day (or a longer period) as said; *resolved* is its date when the words fix it."""

    text: str = ""
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
        """A month-day with no year yet."""
        return self.resolved is None and self.month > 0

    @property
    def is_week(self) -> bool:
        """A whole week (``next week``), whose weekdays a phrase may name."""
        return (
            self.resolved is not None
            and self.period_end is not None
            and (self.period_end - self.resolved).days == 7
            and self.resolved.weekday() == 0
        )

    @property
    def is_weekend(self) -> bool:
        """A whole weekend (``this weekend``), whose days a phrase may name."""
        return (
            self.resolved is not None
            and self.period_end is not None
            and (self.period_end - self.resolved).days == 2
            and self.resolved.weekday() == 5
        )

    @property
    def is_month(self) -> bool:
        """A whole month (``next month``), whose days a phrase may name."""
        return (
            self.resolved is not None
            and self.period_end is not None
            and self.resolved.day == 1
            and self.period_end.day == 1
            and (self.period_end - self.resolved).days > 7
        )

    def said_as(self, text: str, at: int) -> DaySaid:
        """This day with the words that said it (`replace` is slow on a hot path)."""
        return DaySaid(
            text,
            at,
            self.resolved,
            self.month,
            self.day,
            self.weekday,
            self.may_be_today,
            self.period_end,
            self.is_today,
            self.must_be_weekday,
            self.part,
            self.month_free,
        )

    def end(self) -> date:
        """The (exclusive) day after the day or period."""
        if self.period_end is not None:
            return self.period_end
        assert self.resolved is not None
        return self.resolved + timedelta(days=1)


@dataclass(frozen=True, slots=True)
class ClockSaid:
    """A clock time as said: the numbers, and whatever fixed (or did not fix) its am/pm."""

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

    def with_meridiem(self, meridiem: str) -> ClockSaid:
        """An unmarked clock given its am/pm, as one from a day part or a range's other end."""
        if not self.unmarked:
            return self
        hour = self.hour
        if 1 <= hour <= NOON:
            hour = hour % NOON + (NOON if meridiem == "pm" else 0)
        return ClockSaid(self.text, hour, self.minute, meridiem, None, self.bare, False)

    def in_business_hours(self) -> ClockSaid:
        """A bare 1 to 6 is afternoon; 7 to 11 morning; 12 noon."""
        if not self.unmarked:
            return self
        hour = self.hour + NOON if self.hour in BUSINESS_PM else self.hour
        meridiem = "pm" if hour >= NOON else "am"
        return ClockSaid(self.text, hour, self.minute, meridiem, None, self.bare, False)

    def hour_as(self, *, end: bool) -> int:
        if self.word == "midnight":
            return END_OF_DAY if end else 0
        return self.hour

    def hour_with(self, meridiem: str) -> tuple[int, int]:
        """(hour, minute) that this clock, unmarked, would be with *meridiem*."""
        if not 1 <= self.hour <= NOON:
            return self.hour, self.minute
        return self.hour % NOON + (NOON if meridiem == "pm" else 0), self.minute


@dataclass(frozen=True, slots=True)
class PointSaid:
    """One end of a window: a day, a clock time, both, now, or an offset from now."""

    text: str
    at: int
    day: DaySaid | None = None
    clock: ClockSaid | None = None
    now: bool = False
    offset: Duration | None = None
    weak: bool = False  # a lone bare hour ("3"): a time only as one end of a range

    def on(self, day: DaySaid | None) -> PointSaid:
        """This point on *day* (`replace` is slow on a hot path)."""
        return PointSaid(self.text, self.at, day, self.clock, self.now, self.offset, self.weak)

    def at_clock(self, clock: ClockSaid | None, *, weak: bool) -> PointSaid:
        """This point at *clock*."""
        return PointSaid(self.text, self.at, self.day, clock, self.now, self.offset, weak)


@dataclass(frozen=True, slots=True)
class Reading:
    """A whole window as said: its ends and/or its length."""

    start: PointSaid | None = None
    end: PointSaid | None = None
    length: Duration | None = None
    open_ended: bool = False  # "from monday", "starting tomorrow": a start, not a whole day
    joined: bool = False  # "friday and saturday": two days that must follow one another
