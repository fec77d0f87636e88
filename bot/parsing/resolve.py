"""The one resolution step: a frozen `Reading` and the moment it was said -> literal instants.

Why separate from reading: what the words say (`said`) is settled first, whole; only then are the
ends of a range made to lend each other a day or an am/pm (`pair`), years and weekdays fixed
against today and each other (`resolve_days`), and wall-clock times turned into instants in the
user's zone (`timemath`). Every step returns new frozen values.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

from bot.parsing.commands import Duration, ErrorCode, Refusal
from bot.parsing.days import days_in, fixed_day, in_year, next_year
from bot.parsing.said import ClockSaid, DaySaid, PointSaid, Reading
from bot.parsing.timemath import at_wall_clock, utc
from bot.parsing.vocabulary import DAYS_IN_MONTH, END_OF_DAY, NOON, OVERNIGHT
from bot.parsing.words import Words

_WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def resolve(w: Words, reading: Reading) -> tuple[datetime, datetime | None]:
    """The literal start and end (None: no end) that *reading* names."""
    first, last = _part_meridiem(reading.start), _part_meridiem(reading.end)
    if first is not None and last is not None:
        first, last = pair(w, first, last)
    first = _business_hours(w, first, until_a_bare_hour=False)
    last = _business_hours(w, last, until_a_bare_hour=first is None or first.now)
    first, last = _resolve_days(w, first, last)
    if reading.joined:
        _check_joined(w, first, last)
    start, last = _start(w, first, last)
    if reading.open_ended:
        return start, None
    return start, _end(w, first, last, reading.length, start)


def _part_meridiem(point: PointSaid | None) -> PointSaid | None:
    """``tomorrow morning at 8``: the day part gives a bare clock its am/pm."""
    if point is None or point.clock is None or point.day is None or point.day.part is None:
        return point
    if point.clock.word == "midnight" and point.day.part[1] == END_OF_DAY:
        clock = ClockSaid(point.clock.text, END_OF_DAY, 0, word="eod")  # "midnight tonight"
        return point.at_clock(clock, weak=point.weak)
    meridiem = "am" if point.day.part[0] < NOON else "pm"
    return point.at_clock(point.clock.with_meridiem(meridiem), weak=point.weak)


def _business_hours(
    w: Words, point: PointSaid | None, *, until_a_bare_hour: bool
) -> PointSaid | None:
    if point is None:
        return None
    if point.weak and not until_a_bare_hour:  # "until 5" alone is fine
        raise w.refusal(point.at, " Say `at 9` or `9am` for a time.")
    if point.clock is None:
        return point
    clock = point.clock.in_business_hours()
    return point if clock is point.clock else point.at_clock(clock, weak=point.weak)


def pair(w: Words, first: PointSaid, last: PointSaid) -> tuple[PointSaid, PointSaid]:
    """Share what one end of a range says with the other: its day, its am/pm."""
    end_day = last.day
    if (
        first.weak
        and last.clock is None
        and end_day is not None
        and end_day.period_end is None
        and (end_day.month or end_day.resolved)
    ):  # "12 to 16 september", "4-23 next month": days of the end's month
        assert first.clock is not None
        number = first.clock.hour
        if end_day.resolved is not None:
            resolved = end_day.resolved
            if not 1 <= number <= days_in(resolved.replace(day=1)):
                raise w.refusal(first.at, " That day does not exist.")
            day = DaySaid(first.text, first.at, resolved=resolved.replace(day=number))
        else:
            if not 1 <= number <= DAYS_IN_MONTH[end_day.month - 1]:
                raise w.refusal(first.at, " That day does not exist.")
            day = DaySaid(first.text, first.at, month=end_day.month, day=number)
        first = replace(first, day=day, clock=None, weak=False)
    start_day = first.day
    if last.weak and first.clock is None and start_day is not None and start_day.month:
        assert last.clock is not None  # "jan 20-22": days of one month
        day = DaySaid(last.text, last.at, month=start_day.month, day=last.clock.hour)
        last = replace(last, day=day, clock=None, weak=False)
        if not 1 <= day.day <= DAYS_IN_MONTH[start_day.month - 1]:
            raise w.refusal(last.at, " That day does not exist.")
    single_day = first.day is not None and first.day.period_end is None
    if last.clock is not None and last.day is None and first.day is not None and single_day:
        last = last.on(first.day)
    elif first.clock is not None and first.day is None and last.clock is not None:
        first = first.on(last.day)
    if first.clock is not None and last.clock is not None and first.day is last.day:
        start_clock, end_clock = share_meridiem(first.clock, last.clock)
        first = first.at_clock(start_clock, weak=False)
        last = last.at_clock(end_clock, weak=False)
    return first, last


def share_meridiem(first: ClockSaid, last: ClockSaid) -> tuple[ClockSaid, ClockSaid]:
    """One end's am/pm lends itself to an unmarked other end: ``3-5pm`` is 15:00-17:00,
    ``9-5pm`` 09:00-17:00, ``5-6am`` 05:00-06:00; with neither marked, business hours read the
    start (``3 to 4`` is 15:00-16:00) and the end follows it (``6-8`` is 18:00-20:00)."""
    if first.unmarked and not last.unmarked:
        said = last.meridiem or ("pm" if last.hour >= NOON else "am")
        other = "am" if said == "pm" else "pm"
        for meridiem in (said, other):
            if first.hour_with(meridiem) < (last.hour, last.minute):
                return first.with_meridiem(meridiem), last
        return first.with_meridiem(said), last
    if not last.unmarked:
        return first, last
    first = first.in_business_hours()
    said = first.meridiem or ("pm" if first.hour >= NOON else "am")
    other = "am" if said == "pm" else "pm"
    for meridiem in (said, other):
        if last.hour_with(meridiem) > (first.hour, first.minute):
            return first, last.with_meridiem(meridiem)
    return first, last.with_meridiem(said)  # ends the next day: the overnight rule decides


# --- days ---------------------------------------------------------------------------------------


def _resolve_days(
    w: Words, first: PointSaid | None, last: PointSaid | None
) -> tuple[PointSaid | None, PointSaid | None]:
    """Both ends' days fixed to dates: years of month-days, weekdays after the start's day."""
    start_day = first.day if first else None
    end_day = last.day if last else None
    shared = start_day is end_day
    if start_day is not None and end_day is not None and not shared:
        start_day, end_day = _resolve_range(w, start_day, end_day)
    start_day = _checked(w, fixed_day(w, start_day)) if start_day else None
    if shared:
        end_day = start_day
    elif end_day is not None:
        end_day = _checked(w, fixed_day(w, end_day))
    return _on_day(first, start_day), _on_day(last, end_day)


def _on_day(point: PointSaid | None, day: DaySaid | None) -> PointSaid | None:
    if point is None or point.day is day:
        return point
    return point.on(day)


def _resolve_range(w: Words, first: DaySaid, last: DaySaid) -> tuple[DaySaid, DaySaid]:
    if first.floating and last.floating:  # the year that makes the end the next to come
        year = next_year(w, last)
        last = replace(last, resolved=in_year(w, last, year))
        first = replace(first, resolved=in_year(w, first, year - (first.month > last.month)))
        return first, last
    if first.floating:
        last = fixed_day(w, last)
        assert last.resolved is not None
        year = last.resolved.year - (first.month > last.resolved.month)
        return replace(first, resolved=in_year(w, first, year)), last
    first = fixed_day(w, first)
    assert first.resolved is not None
    if last.floating:
        year = first.resolved.year + (last.month < first.resolved.month)
        return first, replace(last, resolved=in_year(w, last, year))
    if last.weekday >= 0:  # the first such day on or after the start's
        ahead = (last.weekday - first.resolved.weekday()) % 7
        return first, replace(last, resolved=first.resolved + timedelta(days=ahead))
    return first, fixed_day(w, last)


def _check_joined(w: Words, first: PointSaid | None, last: PointSaid | None) -> None:
    """``friday and saturday`` is one room across both days; two days apart are two rooms."""
    start_day = first.day.resolved if first is not None and first.day is not None else None
    end_day = last.day.resolved if last is not None and last.day is not None else None
    assert first is not None
    assert last is not None
    if start_day is not None and end_day is not None and (end_day - start_day).days == 1:
        return
    both = w.said(first.at, len(w))
    message = (
        f"“{both}” names two days that are not one after the other, and a room has one window. "
        f"For one room across them say `/room create {first.text} to {last.text}`; "
        "or create one room for each day."
    )
    raise Refusal(ErrorCode.UNRECOGNISED_TIME, message)


def _checked(w: Words, day: DaySaid) -> DaySaid:
    """*day*, if it falls on the weekday said with it (``tue jan 19``)."""
    if day.must_be_weekday >= 0 and day.resolved is not None:
        actual = day.resolved.weekday()
        if actual != day.must_be_weekday:
            name = _WEEKDAY_NAMES[actual]
            raise w.refusal(day.at, f" {day.resolved:%d %b %Y} is a {name}.")
    return day


# --- instants -----------------------------------------------------------------------------------


def _start(
    w: Words, first: PointSaid | None, last: PointSaid | None
) -> tuple[datetime, PointSaid | None]:
    """The start, and the end point (given the day it falls on when both ends are clock times
    alone)."""
    now, zone = w.now, w.now.tzinfo
    assert zone is not None
    if first is None or first.now:
        return now, last
    if first.offset is not None:
        return first.offset.after(now), last
    clock, day = first.clock, first.day
    if day is not None and day.resolved is not None:
        if clock is None and day.part is not None:  # under way: judge moves it to now
            return at_wall_clock(day.resolved, day.part[0], 0, zone), last
        if clock is None:
            return (now if day.is_today else at_wall_clock(day.resolved, 0, 0, zone)), last
        return at_wall_clock(day.resolved, clock.hour_as(end=False), clock.minute, zone), last
    assert clock is not None
    if last is not None and last.clock is not None and last.day is None:
        # both ends are clock times alone: the day that makes the end still to come
        on = w.today
        begin = at_wall_clock(on, clock.hour_as(end=False), clock.minute, zone)
        end_on = on + timedelta(days=_overnight(w, begin, last.clock))
        if utc(_at(w, end_on, last.clock)) <= utc(now):
            on, end_on = on + timedelta(days=1), end_on + timedelta(days=1)
        last = replace(last, day=DaySaid(resolved=end_on))
        return at_wall_clock(on, clock.hour_as(end=False), clock.minute, zone), last
    moment = at_wall_clock(w.today, clock.hour_as(end=False), clock.minute, zone)
    if utc(moment) < utc(now):  # a clock time that has passed today means tomorrow
        moment = at_wall_clock(
            w.today + timedelta(days=1), clock.hour_as(end=False), clock.minute, zone
        )
    return moment, last


def _day_over(w: Words, day: DaySaid) -> datetime:
    """When a day, a part of one (``tomorrow morning``) or a period said as an end is over."""
    assert w.now.tzinfo is not None
    assert day.resolved is not None
    if day.part is not None:
        return at_wall_clock(day.resolved, day.part[1], 0, w.now.tzinfo)
    return at_wall_clock(day.end(), 0, 0, w.now.tzinfo)


def _at(w: Words, on: date, clock: ClockSaid) -> datetime:
    """*clock* as the end of a window on day *on*, in the user's zone."""
    assert w.now.tzinfo is not None
    return at_wall_clock(on, clock.hour_as(end=True), clock.minute, w.now.tzinfo)


def _overnight(w: Words, start: datetime, end: ClockSaid) -> bool:
    """Whether a range ending at *end* on *start*'s day runs into the next day: when it would
    end at or before it starts and the next day makes it at most 12 hours (``11pm-1am``)."""
    same_day = _at(w, start.date(), end)
    if utc(same_day) > utc(start):
        return False
    next_day = _at(w, start.date() + timedelta(days=1), end)
    return utc(next_day) - utc(start) <= OVERNIGHT


def _end_on(w: Words, start: datetime, on: date, clock: ClockSaid) -> datetime:
    """*clock* as the end on day *on*; on *start*'s own day, the next day's when the range runs
    overnight (`_overnight`, with the same-day end computed once: this runs on every range)."""
    same_day = _at(w, on, clock)
    if on != start.date() or utc(same_day) > utc(start):
        return same_day
    next_day = _at(w, on + timedelta(days=1), clock)
    return next_day if utc(next_day) - utc(start) <= OVERNIGHT else same_day


def _end(
    w: Words,
    first: PointSaid | None,
    last: PointSaid | None,
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
        return _day_over(w, first.day)
    if last.now:
        return w.now
    if last.offset is not None:
        return last.offset.after(w.now)
    day, clock = last.day, last.clock
    if day is not None and day.resolved is not None:
        if clock is None:
            return _day_over(w, day)
        return _end_on(w, start, day.resolved, clock)
    assert clock is not None
    on = start.date()  # a clock time alone ends at its next occurrence after the start
    moment = at_wall_clock(on, clock.hour_as(end=True), clock.minute, zone)
    if utc(moment) <= utc(start):
        moment = at_wall_clock(on + timedelta(days=1), clock.hour_as(end=True), clock.minute, zone)
    return moment
