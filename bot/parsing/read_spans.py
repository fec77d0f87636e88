"""Readers of whole windows: a start, a separator, an end or a length.

``tomorrow 9am-5pm``, ``from jan 20 to jan 22``, ``between 1pm and 3pm``, ``for 2 hours``,
``next 3 days``, ``within 2 weeks``, ``3 days starting monday``. `read_window` returns a frozen
`Reading`; `resolve` turns it into instants. Points (one end) are read by `read_point` from the day
readers (`read_dates`), the clock readers (`read_clock`) and the length readers
(`read_lengths`).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from bot.parsing.commands import Duration, ErrorCode
from bot.parsing.days import checked_date, day_number, days_in, next_month
from bot.parsing.read_calendar_dates import period, whole_month
from bot.parsing.read_clock import at_clock, military, read_clock
from bot.parsing.read_dates import read_day, weekday_after_offset, whole_period
from bot.parsing.read_lengths import expect_duration, read_duration, unit_length
from bot.parsing.resolve import pair
from bot.parsing.said import ClockSaid, DaySaid, PointSaid, Reading
from bot.parsing.vocabulary import (
    ALL_DAY,
    AT,
    DAYS_IN_MONTH,
    END_WORDS,
    FILLER,
    FRENCH_CLOCK,
    MONTHS,
    NOON,
    NOW,
    NOW_PHRASES,
    START_WORDS,
    TODAY_IS_OVER,
    UNITS,
    WHOLE_PERIODS,
    YEAR,
)
from bot.parsing.words import Found, Words


def read_window(w: Words, pos: int) -> tuple[Reading, int]:
    """The window said from *pos*: its ends, its length, or nothing (now, for the default
    length). Refuses words that must be a point or a length and are not."""
    if pos >= len(w):
        return Reading(), pos
    if w.words[pos:] in TODAY_IS_OVER:  # "eod", "later today": now until midnight
        point = PointSaid(w.said(pos, len(w)), pos, day=DaySaid(resolved=w.today))
        return Reading(point), len(w)
    span = _span(w, pos)
    if span is not None:
        return span
    if (after := w.take(pos, {"for"})) is not None:
        return _for_window(w, after)
    if (after := w.take(pos, {"between"})) is not None:
        first, pos = expect_point(w, after)
        after = w.take(pos, {"and"})
        if after is None:
            raise w.refusal(pos, " “between” needs “and”: `between 1pm and 3pm`.")
        last, pos = expect_point(w, after)
        return Reading(first, last), pos
    if (after := w.take(pos, END_WORDS | _DEADLINES)) is not None:
        last, pos = expect_point(w, after)
        if w.at(after - 1) == "before":  # "before friday": until friday starts
            last = _start_of(last)
        return Reading(end=last), pos
    of_a_period = w.at(pos) in {"beginning", "start"} and w.at(pos + 1) == "of"
    opened = not of_a_period and w.is_in(pos, START_WORDS)
    if (months := _month_range(w, pos + opened)) is not None:  # "from may to june"
        return months
    first, pos = expect_point(w, pos + opened)
    day = first.day
    if day is not None and w.at(pos) in {"from", "between"}:
        if first.clock is None and day.period_end is None:
            # "tomorrow from 9 to 5", "friday between 1pm and 3pm": clock times on that day
            inner, pos = read_window(w, pos)
            return replace(inner, start=_on(inner.start, day), end=_on(inner.end, day)), pos
        if day.is_week:  # "this week from tue to thu": weekdays of that week
            inner, pos = read_window(w, pos)
            start, end = _in_week(inner.start, day), _in_week(inner.end, day)
            return replace(inner, start=start, end=end), pos
    if day is not None and first.clock is None and day.period_end is None and w.at(pos) == "and":
        last, after = expect_point(w, pos + 1)  # "friday and saturday", "today and tomorrow"
        if last.clock is None and last.day is not None and last.day.period_end is None:
            return Reading(first, last, joined=True), after
        raise w.refusal(pos)
    if (after := w.take(pos, END_WORDS)) is not None:
        found = _day_of_same_month(w, after, first) or expect_point(w, after)
        return _range_year(w, found[1], first, found[0])
    if (after := w.take(pos, {"for"})) is not None:
        if day is not None and first.clock is None:
            whole = _whole_day(w, after)
            if whole is not None:  # "tomorrow for the whole day": the day covers itself
                return Reading(first), whole[1]
        length, pos = _for_length(w, after)
        return Reading(first, length=length), pos
    return Reading(first, open_ended=opened), pos


_DEADLINES = frozenset({"by", "before"})
_NEXT = frozenset({"next", "following"})
_ALL_DAY_LEADS = frozenset(words[0] for words in ALL_DAY)
_NOW_LEADS = frozenset(words[0] for words in NOW_PHRASES)
_WITHIN_THE_NEXT = frozenset({"in", "over", "during", "within"})


def _start_of(point: PointSaid) -> PointSaid:
    """A day as the end of ``before …``: the moment it starts (its part's first hour)."""
    day = point.day
    if day is None or point.clock is not None or day.is_today:
        return point  # a time is its own start; "before the end of next week" is its end
    hour = day.part[0] if day.part is not None else 0
    day = replace(day, part=None, period_end=None)
    return replace(point, day=day, clock=ClockSaid(point.text, hour, 0, twenty_four=True))


def _day_of_same_month(w: Words, pos: int, first: PointSaid) -> Found[PointSaid]:
    """``jan 20-25``, ``january 20 to 31``: a bare number ending a range of days of one month.

    Only a number a clock cannot be (24 to 31); 1 to 23 stay weak clock times that `resolve.pair`
    reads as days of the month when the start is a month-day.
    """
    day, word = first.day, w.at(pos)
    if day is None or first.clock is not None or day.period_end is not None:
        return None
    if not (word.isascii() and word.isdigit() and 24 <= int(word) <= 31):
        return None
    if w.at(pos + 1) not in {"", "in", "of"} and not YEAR.fullmatch(w.at(pos + 1)):
        return None
    number = int(word)
    if day.resolved is not None:
        first_of = day.resolved.replace(day=1)
        if number > days_in(first_of):
            raise w.refusal(pos, " That day does not exist.")
        end = DaySaid(word, pos, resolved=first_of.replace(day=number))
    elif day.month:
        if number > DAYS_IN_MONTH[day.month - 1]:
            raise w.refusal(pos, " That day does not exist.")
        end = DaySaid(word, pos, month=day.month, day=number)
    else:
        return None
    return PointSaid(word, pos, day=end), pos + 1


def _for_window(w: Words, pos: int) -> tuple[Reading, int]:
    """After ``for``: ``the day`` / ``the rest of the week``, or a length and maybe a start."""
    whole = _whole_day(w, pos)
    if whole is not None:  # "for the day", "for the rest of the week"
        return Reading(whole[0]), whole[1]
    if (found := whole_period(w, pos)) is not None:  # "for the rest of the month"
        return Reading(PointSaid(w.said(pos, found[1]), pos, day=found[0])), found[1]
    length, pos = _for_length(w, pos)  # "for 2 hours", "for the next hour"
    start = None
    if pos < len(w):
        start, pos = expect_point(w, w.skip(pos, START_WORDS))
    return Reading(start=start, length=length), pos


def _on(point: PointSaid | None, day: DaySaid) -> PointSaid | None:
    """A clock time alone, put on *day* (the same value for both ends)."""
    if point is not None and point.day is None and point.clock is not None:
        return replace(point, day=day)
    return point


def _in_week(point: PointSaid | None, week: DaySaid) -> PointSaid | None:
    """A weekday, put in *week*."""
    if point is None or point.day is None or point.day.weekday < 0:
        return point
    assert week.resolved is not None
    resolved = week.resolved + timedelta(days=point.day.weekday)
    return replace(point, day=replace(point.day, resolved=resolved))


def _range_year(w: Words, pos: int, first: PointSaid, last: PointSaid) -> tuple[Reading, int]:
    """``5/1-5/7, 2027``, ``august 10 - 22, 2027``: a year after a range is both ends'."""
    if YEAR.fullmatch(w.at(pos + 1)):
        pos = w.skip(pos, {"in", "of"})
    if not YEAR.fullmatch(w.at(pos)):
        return Reading(first, last), pos
    year = int(w.at(pos))
    first, last = pair(w, first, last)
    shared = first.day is last.day
    first = _in_year(w, first, year)
    last = replace(last, day=first.day) if shared else _in_year(w, last, year)
    return Reading(first, last), pos + 1


def _in_year(w: Words, point: PointSaid, year: int) -> PointSaid:
    day = point.day
    if day is None or not day.floating:
        return point
    resolved = checked_date(w, year, day.month, day.day, day.at)
    return replace(point, day=replace(day, resolved=resolved))


def _for_length(w: Words, pos: int) -> tuple[Duration, int]:
    """The length after ``for``: ``2 hours``, ``the next 2 hours``, ``the next hour``."""
    after = w.take_words(pos, ("the", "next"))
    if after is not None:
        if w.at(after) in UNITS:
            return unit_length(w.at(after)), after + 1
        pos = after
    return expect_duration(w, pos, ErrorCode.WINDOW_TOO_LONG)


def _whole_day(w: Words, pos: int) -> Found[PointSaid]:
    """After ``for``: ``the day``, ``the whole day``, ``the rest of the day`` (today, as a
    whole), ``the week`` / ``the rest of the week`` (this week); else None."""
    for words, unit in WHOLE_PERIODS if w.at(pos) == "the" else ():
        after = w.take_words(pos, words)
        if after is not None:
            day = (
                DaySaid(resolved=w.today, is_today=True)
                if unit == "day"
                else period(w, unit, coming=False)
            )
            return PointSaid(w.said(pos, after), pos, day=day), after
    return None


def _span(w: Words, pos: int) -> Found[Reading]:
    """A window said as a length: ``2 hours`` (from now), ``within 2 weeks`` (now until
    then), ``next 3 days`` (from tomorrow), ``next 5 hrs`` (from now), ``a week starting
    tomorrow``. None for anything else."""
    start = pos
    if w.at(pos) in _WITHIN_THE_NEXT and w.at(pos + 1) == "the" and w.at(pos + 2) == "next":
        pos += 1  # "in the next hour", "over the next 3 days", "within the next 2 weeks"
    elif (after := w.take(pos, {"within"})) is not None:
        if w.at(after) == "the" and w.at(after + 1) in {"hour", "day", "week"}:
            within, pos = unit_length(w.at(after + 1)), after + 2  # "within the hour"
        else:
            within, pos = expect_duration(w, after, ErrorCode.WINDOW_TOO_LONG)
        return Reading(end=PointSaid(w.said(start, pos), start, offset=within)), pos
    after_the = pos + 1 if w.at(pos) == "the" and w.at(pos + 1) in _NEXT else pos
    if (after := w.take(after_the, _NEXT)) is not None:
        found = read_duration(w, after, ErrorCode.WINDOW_TOO_LONG)
        if found is None and w.at(after) in {"hour", "minute"}:  # "next hour"
            found = unit_length(w.at(after)), after + 1
        if found is None:
            return None
        length, pos = found
        if length.months or length.days:  # "next 3 days": whole days, from tomorrow
            tomorrow = DaySaid(resolved=w.today + timedelta(days=1))
            return Reading(PointSaid(w.said(start, pos), start, day=tomorrow), length=length), pos
        return Reading(length=length), pos  # "next 5 hrs": from now
    if (clock := FRENCH_CLOCK.fullmatch(w.at(pos))) and int(clock.group(1)) > NOON:
        return None  # "15h30" is half past three in the afternoon; "1h30" is a length
    found = read_duration(w, pos, ErrorCode.WINDOW_TOO_LONG)
    if found is None:
        return None
    length, pos = found
    if pos >= len(w):  # "/room 2 hours", "/room a fortnight"
        return Reading(length=length), pos
    after = w.take(pos, {"starting", "beginning", "from"})
    if w.at(pos) == "from" and not length.seconds:
        return None  # "2 weeks from friday" is a day (read_dates), not a fortnight from friday
    if after is not None and w.at(after) not in {"now", "today"}:
        point, pos = expect_point(w, after)  # "3 days starting monday"
        return Reading(point, length=length), pos
    return None


def expect_point(w: Words, pos: int) -> tuple[PointSaid, int]:
    """A point that must come here; refused, quoting the words, otherwise."""
    found = read_point(w, pos)
    if found is None:
        raise w.refusal(pos)
    return found


def read_point(w: Words, pos: int) -> Found[PointSaid]:
    """One end of a window: now (``+ 40 minutes``), an offset, a day with a time, or a time."""
    start = pos
    pos = w.skip(pos, FILLER)  # "around 3pm"
    for words in ALL_DAY if w.at(pos) in _ALL_DAY_LEADS else ():  # "all day tomorrow"
        after = w.take_words(pos, words)
        if after is not None:
            pos = after
            break
    word = w.at(pos)
    now_at = pos + 1 if word in NOW else _now_phrase(w, pos)
    if now_at is not None:
        pos = now_at
        if (after := w.take(pos, {"+", "plus"})) is not None:  # "now + 40 minutes"
            later, pos = expect_duration(w, after, ErrorCode.START_TOO_FAR_AHEAD)
            return PointSaid(w.said(start, pos), start, offset=later), pos
        return PointSaid(w.said(start, pos), start, now=True), pos
    if (offset_found := _offset(w, pos)) is not None:
        return _offset_point(w, start, *offset_found)
    if (day_found := read_day(w, pos)) is not None:
        day, pos = day_found
        clock = None
        if day.period_end is None:
            clock, pos = at_clock(w, pos)
            if clock is None and w.at(pos) in {"all", "whole"} and w.at(pos + 1) == "day":
                pos += 2  # "tomorrow all day" is tomorrow
        return PointSaid(w.said(start, pos), start, day=day, clock=clock), pos
    filler = pos > start  # "around 3": a time, as "at 3" is
    at = w.take(pos, AT)
    if at is not None:
        at = w.skip(at, FILLER)  # "at about 3pm"
    clock_found = (military(w, at) if at else None) or read_clock(w, at or pos)
    if clock_found is None:
        return None
    clock, pos = clock_found
    pos = w.skip(pos, {"sharp"})
    on: DaySaid | None = None
    if (day_found := read_day(w, pos, periods=False)) is not None:
        on, pos = day_found
    weak = clock.bare and not at and not filler and on is None
    return PointSaid(w.said(start, pos), start, day=on, clock=clock, weak=weak), pos


def _month_range(w: Words, pos: int) -> Found[Reading]:
    """``may to june``, ``march through may 2027``: whole months, the end's the next to come
    (or of the year said) and the start's the one before it."""
    begin, end_at = w.at(pos), pos + 2
    if begin not in MONTHS or w.at(pos + 1) not in END_WORDS or w.at(end_at) not in MONTHS:
        return None
    if day_number(w.at(end_at + 1)) is not None:
        return None  # "may to june 5": not whole months
    year_said = YEAR.fullmatch(w.at(end_at + 1))
    last = whole_month(w, MONTHS[w.at(end_at)])
    if year_said:
        first_of = checked_date(w, int(w.at(end_at + 1)), MONTHS[w.at(end_at)], 1, end_at)
        last = DaySaid(resolved=first_of, period_end=next_month(first_of))
    assert last.resolved is not None
    first_month = MONTHS[begin]
    year = last.resolved.year - (first_month > last.resolved.month)
    first = DaySaid(resolved=date(year, first_month, 1))
    after = end_at + 1 + bool(year_said)
    start = PointSaid(w.said(pos, pos + 1), pos, day=first)
    return Reading(start, PointSaid(w.said(end_at, after), end_at, day=last)), after


def _now_phrase(w: Words, pos: int) -> int | None:
    """``right now``, ``right away``, ``straight away``."""
    if w.at(pos) not in _NOW_LEADS:
        return None
    for words in NOW_PHRASES:
        if (after := w.take_words(pos, words)) is not None:
            return after
    return None


def _offset_point(w: Words, start: int, offset: Duration, pos: int) -> tuple[PointSaid, int]:
    """``in 2 hours`` (an instant); ``3 days from today``, ``in 2 days at 3pm`` (a day)."""
    if offset.seconds == 0 and w.at(pos - 1) == "today":
        on = DaySaid(w.said(start, pos), start, resolved=offset.after(w.clock_now()).date())
        clock, pos = at_clock(w, pos)  # "3 days from today": that day; "… at 3pm"
        return PointSaid(w.said(start, pos), start, day=on, clock=clock), pos
    if offset.seconds == 0 and (on_weekday := weekday_after_offset(w, offset, pos)):
        day, pos = on_weekday  # "in 2 weeks on monday"
        clock, pos = at_clock(w, pos)
        return PointSaid(w.said(start, pos), start, day=day, clock=clock), pos
    if offset.seconds == 0:
        clock, pos = at_clock(w, pos)
        if clock is not None:  # "in 2 days at 3pm": that day, at that time
            on = DaySaid(w.said(start, pos), start, resolved=offset.after(w.clock_now()).date())
            return PointSaid(w.said(start, pos), start, day=on, clock=clock), pos
    return PointSaid(w.said(start, pos), start, offset=offset), pos


def _offset(w: Words, pos: int) -> Found[Duration]:
    """``in 2 hours``, ``2 hours from now``, ``2 hours later``."""
    leading_in = w.take(pos, {"in"})
    found = read_duration(w, leading_in or pos, ErrorCode.START_TOO_FAR_AHEAD)
    if found is None:
        return None
    offset, pos = found
    if leading_in:  # "in 2 hours time", "in 2 weeks from now"
        return offset, w.take_words(pos, ("from", "now")) or w.skip(pos, {"time"})
    after = w.take_words(pos, ("from", "now")) or w.take_words(pos, ("from", "today"))
    after = after or w.take(pos, {"later"})
    return None if after is None else (offset, after)
