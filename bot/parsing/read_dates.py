"""Readers of days and periods: ``tomorrow``, ``next friday``, ``next week``, ``tomorrow
morning``, ``first wednesday of december``, ``2 weeks from friday``, ``next business day``.

Each reader is a function ``(words, position) -> (DaySaid, next position) | None``; `read_day`
tries them in order (`_DAY_READERS`, by the word a phrase begins with), then weekdays and the
calendar dates of `read_calendar_dates`. A new family of day phrases is one more reader in that
list.
A day is fixed here when the words fix it (``tomorrow``); a month-day without a year or a bare
weekday is left for `resolve`, which knows the other end of a range.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, timedelta

from bot.parsing.commands import Duration, ErrorCode, Refusal
from bot.parsing.days import checked_date, day_number, days_in, fixed_day, monday_of, next_month
from bot.parsing.read_calendar_dates import (
    first_day,
    named_month,
    period,
    read_date,
    whole_month,
)
from bot.parsing.read_holidays import HOLIDAY_LEADS, read_holiday
from bot.parsing.read_lengths import read_duration
from bot.parsing.read_period_parts import PART_LEADS, read_period_part
from bot.parsing.said import DaySaid
from bot.parsing.timemath import at_wall_clock
from bot.parsing.vocabulary import (
    DAY_PARTS,
    FRACTIONS,
    HALF_DAYS,
    LAST,
    MONTHS,
    NTH,
    NUMBER_WORDS,
    PERIOD_ENDS,
    PERIODS,
    RELATIVE_DAYS,
    WEEKDAYS,
    YEAR,
)
from bot.parsing.words import Found, Words

DayReader = Callable[[Words, int], Found[DaySaid]]


def read_day(w: Words, pos: int, *, periods: bool = True) -> Found[DaySaid]:
    """A day or period at *pos* (after an optional ``on``), with any weekday of a week, day of a
    month or part of the day said after it (``next week wednesday``, ``tomorrow morning``)."""
    start = pos
    pos = w.skip(pos, {"on"})
    pos = w.skip(pos, {"later"})  # "later this week", "later tonight"
    shade = w.at(pos) if w.at(pos) in _SHADES and w.at(pos + 1) not in _SHADE_BLOCKERS else None
    pos += shade is not None  # "early tomorrow", "late friday"
    if shade is None and w.at(pos) == "first" and (after := w.take_words(pos, _FIRST_THING)):
        shade, pos = "early", after  # "first thing tomorrow": its morning
    found = _day(w, pos, periods=periods)
    if found is None and (part := _part_of_day(w, pos)) is not None:  # "(in the) evening"
        later = _day(w, part[1], periods=False)  # "mid morning tomorrow"
        if later is not None and later[0].part is None and later[0].period_end is None:
            return replace(later[0], part=part[0]).said_as(w.said(start, later[1]), start), later[1]
        now = w.clock_now()
        over = at_wall_clock(w.today, part[0][1], 0, now.tzinfo or UTC) <= now
        found = DaySaid(resolved=w.today + timedelta(days=over)), pos  # else tomorrow's
    if found is None:
        return None
    day, pos = found
    if w.at(pos) == "first" and (after := w.take_words(pos, _FIRST_THING)) and not day.period_end:
        day, pos = replace(day, part=day.part or DAY_PARTS["morning"]), after
    weekday_at = w.skip(pos, {"on"})
    if (day.is_week or day.is_weekend) and w.at(weekday_at) in WEEKDAYS:  # "next week wednesday"
        assert day.resolved is not None
        monday = monday_of(day.resolved)
        day = DaySaid(resolved=monday + timedelta(days=WEEKDAYS[w.at(weekday_at)]))
        pos = weekday_at + 1
    if day.is_month and w.at(pos) in {"on", "the"}:  # "next month on the 3rd"
        assert day.resolved is not None
        pos = w.skip(w.skip(pos, {"on"}), {"the"})
        number = day_number(w.at(pos))
        if number is None or number > days_in(day.resolved):
            raise w.refusal(pos, " Say which day: `next month on the 3rd`.")
        day = DaySaid(resolved=day.resolved.replace(day=number))
        pos += 1
    if day.period_end is None and day.part is None and w.at(pos) in HALF_DAYS:
        day = replace(day, part=HALF_DAYS[w.at(pos)])  # "tomorrow am", "wed pm"
        pos += 1
    if day.period_end is None and day.part is None and (part := _part_of_day(w, pos)):
        day = replace(day, part=part[0])  # "tomorrow morning", "friday in the evening"
        pos = part[1]
    if shade is not None and day.period_end is None and day.part in _SHADED:
        day = replace(day, part=_SHADES[shade])  # "early tomorrow": its morning
    return day.said_as(w.said(start, pos), start), pos


_SHADES = {"early": DAY_PARTS["morning"], "late": DAY_PARTS["night"]}
_FIRST_THING = ("first", "thing")
_SHADED = frozenset({None, DAY_PARTS["evening"]})  # "late tonight" is its night
_SHADE_BLOCKERS = frozenset({"next", "this", "week", "month", "-", "of", *MONTHS, *DAY_PARTS}) - {
    "tonight"
}
_PART_SHADES: dict[str, Callable[[int, int], tuple[int, int]]] = {
    "early": lambda first, end: (first, first + (end - first) // 2),
    "mid": lambda first, end: (first + (end - first) // 4, end - (end - first) // 4),
    "late": lambda first, end: (end - (end - first) // 2, end),
}


def _part_of_day(w: Words, pos: int) -> Found[tuple[int, int]]:
    """``morning``, ``in the morning``, ``at night``, ``late afternoon``, ``mid-morning``: hours
    [first, end) of a day; early and late are the first and second half of the part, mid its
    middle."""
    shade = w.at(pos)
    if shade in _PART_SHADES:
        named = w.skip(pos + 1, {"-"})
        if w.at(named) in DAY_PARTS and w.at(named) != "tonight":
            first, end = DAY_PARTS[w.at(named)]
            return _PART_SHADES[shade](first, end), named + 1
        return None
    if w.at(pos) in DAY_PARTS:
        return DAY_PARTS[w.at(pos)], pos + 1
    after = (w.take_words(pos, ("in", "the")) if w.at(pos) == "in" else None) or w.take(pos, {"at"})
    if after is not None and w.at(after) in DAY_PARTS and w.at(after) != "tonight":
        if w.at(after - 1) == "at" and w.at(after) != "night":
            return None
        return DAY_PARTS[w.at(after)], after + 1
    return None


def _day(w: Words, pos: int, *, periods: bool) -> Found[DaySaid]:
    for reader in _LED_READERS.get(w.at(pos), _UNLED_READERS):
        found = reader(w, pos)
        if found is not None:
            return found
    which, after = _which(w, pos)
    if which is not None:  # "next", "this", "coming": only a weekday or a period may follow
        return _next_weekday_or_period(w, which, after, periods=periods)
    if periods and (found := _weekend(w, pos)) is not None:
        return found
    return first_day(w, pos, _DATED_READERS)


# --- days named relative to today -------------------------------------------------------------


def _day_after_tomorrow(w: Words, pos: int) -> Found[DaySaid]:
    """``the day after tomorrow``, ``day after tomorrow``."""
    after = w.take_words(pos, ("the", "day", "after", "tomorrow")) or w.take_words(
        pos, ("day", "after", "tomorrow")
    )
    return None if after is None else (DaySaid(resolved=w.today + timedelta(days=2)), after)


def _relative_day(w: Words, pos: int) -> Found[DaySaid]:
    """``today``, ``tomorrow``, ``tonight`` (this evening), ``yesterday``."""
    word = w.at(pos)
    if word not in RELATIVE_DAYS:
        return None
    shift = RELATIVE_DAYS[word]
    day = DaySaid(
        resolved=w.today + timedelta(days=shift), is_today=shift == 0, part=DAY_PARTS.get(word)
    )
    return day, pos + 1


def _this_day_part(w: Words, pos: int) -> Found[DaySaid]:
    """``this afternoon``."""
    if w.at(pos) == "this" and w.at(pos + 1) in DAY_PARTS:
        return DaySaid(resolved=w.today, part=DAY_PARTS[w.at(pos + 1)]), pos + 2
    return None


def _period_end_word(w: Words, pos: int) -> Found[DaySaid]:
    """``eow``, ``eom``: the rest of this week or month."""
    unit = PERIOD_ENDS.get(w.at(pos))
    return None if unit is None else (period(w, unit, coming=False), pos + 1)


def _edge_of_period(w: Words, pos: int) -> Found[DaySaid]:
    """``[the] end of [the|this|next] week`` (now until it is over), ``beginning of next month``
    (its first day)."""
    if w.at(pos) == "the" and w.at(pos + 1) in {"end", "beginning", "start"}:
        pos += 1
    edge = w.at(pos)
    if edge not in {"end", "beginning", "start"} or w.at(pos + 1) != "of":
        return None
    skip = 3 if w.at(pos + 2) in {"the", "this", "next"} else 2
    unit = w.at(pos + skip)
    if unit not in {"week", "month", "year"}:
        return None
    whole = period(w, unit, coming=w.at(pos + skip - 1) == "next")
    assert whole.resolved is not None
    if edge == "end":  # "end of next week": from now until it is over
        return DaySaid(resolved=w.today, is_today=True, period_end=whole.period_end), pos + skip + 1
    return DaySaid(resolved=whole.resolved), pos + skip + 1


def _which(w: Words, pos: int) -> tuple[str | None, int]:
    """``next``, ``this``, ``coming`` (also ``the next``, ``this upcoming``), and after it."""
    if w.at(pos) == "the" and w.at(pos + 1) in {"next", "coming", "upcoming", "following"}:
        pos += 1  # "the coming week"
    word = w.at(pos)
    if word == "this" and w.at(pos + 1) in {"coming", "upcoming"}:
        return "coming", pos + 2  # "this upcoming friday"
    if word in {"upcoming", "following"}:  # "the following monday"
        word = "coming"
    return (word, pos + 1) if word in {"next", "this", "coming"} else (None, pos)


def _business_day(w: Words, pos: int) -> Found[DaySaid]:
    """``next business day``, ``the next working day``, ``in 2 business days``: Monday to Friday
    (public holidays differ by country and are not counted)."""
    count, after = 1, None
    if w.at(pos) == "in" and (number := NUMBER_WORDS.get(w.at(pos + 1))) is not None:
        count, after = number, pos + 2
    elif w.at(pos) == "in" and w.at(pos + 1).isdigit() and len(w.at(pos + 1)) <= 3:
        count, after = int(w.at(pos + 1)), pos + 2
    else:
        which, after = _which(w, pos)
        if which not in {"next", "coming"}:
            return None
    if w.at(after) not in {"business", "working", "work"} or w.at(after + 1) not in _DAY_WORDS:
        return None
    day = w.today
    while count > 0:
        day += timedelta(days=1)
        count -= day.weekday() < 5
    return DaySaid(resolved=day), after + 2


_DAY_WORDS = frozenset({"day", "days"})
_WEEK_BASES = frozenset({"today", "tomorrow", *WEEKDAYS})


def whole_period(w: Words, pos: int) -> Found[DaySaid]:
    """``the rest of the month`` (from now), ``all week``, ``the whole of next week``,
    ``all next month``: a week, weekend, month or year as a whole."""
    pos = w.skip(pos, {"the"})
    if w.at(pos) in {"rest", "remainder"} and w.at(pos + 1) == "of":
        after = w.skip(pos + 2, {"the", "this"})
        unit = w.at(after)
        if unit not in {"week", "month", "year", "weekend"}:
            return None
        whole = period(w, unit, coming=False)
        return DaySaid(resolved=w.today, is_today=True, period_end=whole.period_end), after + 1
    if w.at(pos) not in {"all", "whole"}:
        return None
    after = w.skip(pos + 1, {"of"})
    which = w.at(after) if w.at(after) in {"this", "next", "the", "coming"} else None
    after += which is not None
    unit = w.at(after)
    if unit not in {"week", "month", "weekend"}:
        return None
    return period(w, unit, coming=which in {"next", "coming"}), after + 1


def _past(w: Words, pos: int) -> Found[DaySaid]:
    """``last week``, ``2 days ago``: in the past, refused as such rather than as unread words."""
    if w.at(pos + 1) in {"week", "month", "weekend", "year", "night"}:
        raise _in_the_past(w, pos, pos + 2)
    return None


def _in_the_past(w: Words, start: int, end: int) -> Refusal:
    message = (
        f"“{w.said(start, end)}” is in the past, and a room can only open from now on. "
        "Pick a time still to come, e.g. `/room create next friday` or `/room create in 2 days`."
    )
    return Refusal(ErrorCode.WINDOW_IN_PAST, message)


def _week_after_next(w: Words, pos: int) -> Found[DaySaid]:
    """``the week after next``: the week after the coming one."""
    at = w.skip(pos, {"the"})
    after = w.take_words(at, ("week", "after", "next"))
    monday = monday_of(w.today) + timedelta(days=14)
    if after is not None:
        return DaySaid(resolved=monday, period_end=monday + timedelta(days=7)), after
    after = w.take_words(at, ("weekend", "after", "next"))
    if after is not None:
        return DaySaid(resolved=monday + timedelta(days=5), period_end=monday + timedelta(7)), after
    return None


def _next_day(w: Words, pos: int) -> Found[DaySaid]:
    """``next day``: tomorrow."""
    which, after = _which(w, pos)
    if which in {"next", "coming"} and w.at(after) == "day":
        return DaySaid(resolved=w.today + timedelta(days=1)), after + 1
    return None


def _in_month(w: Words, pos: int) -> Found[DaySaid]:
    """``in may``: the whole month, its next occurrence."""
    if w.at(pos) == "in" and w.at(pos + 1) in MONTHS and day_number(w.at(pos + 2)) is None:
        return _month_maybe_year(w, pos + 1)
    if w.at(pos) == "in" and YEAR.fullmatch(w.at(pos + 1)):  # "in 2027": the whole year
        first = checked_date(w, int(w.at(pos + 1)), 1, 1, pos + 1)
        return DaySaid(resolved=first, period_end=first.replace(year=first.year + 1)), pos + 2
    return None


def _month_year(w: Words, pos: int) -> Found[DaySaid]:
    """``june 2027``: that whole month."""
    if w.at(pos) in MONTHS and YEAR.fullmatch(w.at(pos + 1)):
        return _month_maybe_year(w, pos)
    return None


def _month_maybe_year(w: Words, pos: int) -> Found[DaySaid]:
    """A month by name (at *pos*), of the year said after it or its next occurrence."""
    month = MONTHS[w.at(pos)]
    if YEAR.fullmatch(w.at(pos + 1)):
        first = checked_date(w, int(w.at(pos + 1)), month, 1, pos)
        return DaySaid(resolved=first, period_end=next_month(first)), pos + 2
    return whole_month(w, month), pos + 1


def _next_weekday_or_period(w: Words, which: str, pos: int, *, periods: bool) -> Found[DaySaid]:
    """After ``next``/``this``/``coming``: a weekday or (where periods are read) a period."""
    following = w.at(pos)
    if following in WEEKDAYS:
        weekday = WEEKDAYS[following]
        dated = read_date(w, pos + 1)
        if dated is not None and dated[0].month_free:  # "next thursday the 21st"
            return _weekday_on(w, weekday, dated[0]), dated[1]
        if dated is not None:  # "this friday jan 15": the date has to be a Friday
            return replace(dated[0], must_be_weekday=weekday), dated[1]
        return DaySaid(weekday=weekday, may_be_today=which == "this"), pos + 1
    if periods and following in PERIODS:
        return period(w, following, coming=which != "this"), pos + 1
    return None


def _weekend(w: Words, pos: int) -> Found[DaySaid]:
    """``weekend``, ``the weekend``: this one."""
    after = w.take_words(pos, ("weekend",)) or w.take_words(pos, ("the", "weekend"))
    return None if after is None else (period(w, "weekend", coming=False), after)


# --- weekdays and dates -----------------------------------------------------------------------


def _weekday(w: Words, pos: int) -> Found[DaySaid]:
    """``friday``, ``tuesday of next week``, ``tuesday the 8th``, ``tue jan 19``."""
    word = w.at(pos)
    if word not in WEEKDAYS:
        return None
    weekday = WEEKDAYS[word]
    pos += 1
    later = _weeks_later(w, weekday, pos)
    if later is not None:  # "monday in 2 weeks", "tuesday after next", "thursday week"
        return later
    in_week = _week_after_weekday(w, pos)
    if in_week is not None:  # "tuesday of next week", "friday this week"
        monday, pos = in_week
        return DaySaid(resolved=monday + timedelta(days=weekday)), pos
    dated = read_date(w, pos)
    if dated is None:
        return DaySaid(weekday=weekday), pos
    day, pos = dated
    if day.month_free:  # "tuesday the 8th": the next such 8th
        return _weekday_on(w, weekday, day), pos
    return replace(day, must_be_weekday=weekday), pos  # "tue jan 19", "tuesday 19/1"


def _weeks_later(w: Words, weekday: int, pos: int) -> Found[DaySaid]:
    """After a weekday: ``in 2 weeks`` / ``2 weeks from now`` (that weekday in the week two weeks
    on), ``after next`` and ``week`` (a week after the next one)."""
    if w.at(pos) == "next" and w.at(pos + 1) not in {"week", "month", "weekend"}:
        return DaySaid(weekday=weekday), pos + 1  # "wednesday next": next wednesday
    if (after := w.take_words(pos, ("after", "next"))) is None and w.at(pos) == "week":
        after = pos + 1 if w.at(pos + 1) not in {"of", "from"} else None  # "thursday week"
    if after is not None:
        first = fixed_day(w, DaySaid(weekday=weekday)).resolved
        assert first is not None
        return DaySaid(resolved=first + timedelta(days=7)), after
    found = _later_by(w, pos)
    if found is None:
        return None
    length, after = found
    return DaySaid(resolved=_weekday_in_week_of(w, length, weekday)), after


def _later_by(w: Words, pos: int) -> Found[Duration]:
    """``in 2 weeks``, ``2 weeks from now``, ``2 weeks later``: whole days only."""
    leading_in = w.take(pos, {"in"})
    found = read_duration(w, leading_in or pos, ErrorCode.START_TOO_FAR_AHEAD)
    if found is None or found[0].seconds:
        return None
    length, after = found
    if leading_in:
        return length, after
    ending = w.take_words(after, ("from", "now")) or w.take_words(after, ("from", "today"))
    return None if ending is None else (length, ending)


def _weekday_in_week_of(w: Words, length: Duration, weekday: int) -> date:
    """The *weekday* of the week that holds today + *length*: ``in 2 weeks on monday``."""
    there = _shifted(w.today, length)
    return monday_of(there) + timedelta(days=weekday)


def weekday_after_offset(w: Words, length: Duration, pos: int) -> Found[DaySaid]:
    """After ``in 2 weeks``: ``[on] monday``, that weekday in the week two weeks on."""
    at = w.skip(pos, {"on"})
    if w.at(at) not in WEEKDAYS or length.seconds:
        return None
    return DaySaid(resolved=_weekday_in_week_of(w, length, WEEKDAYS[w.at(at)])), at + 1


def _shifted(day: date, length: Duration, sign: int = 1) -> date:
    """*day* moved by whole months (day clamped to the month's end) and days."""
    if length.months:
        index = day.month - 1 + sign * length.months
        year, month = day.year + index // 12, index % 12 + 1
        first = date(year, month, 1)
        day = first.replace(day=min(day.day, days_in(first)))
    return day + timedelta(days=sign * length.days)


def _shifted_day(w: Words, pos: int) -> Found[DaySaid]:
    """``2 weeks from friday``, ``a week from tomorrow``, ``3 days after christmas``,
    ``2 days before new year's eve``, ``the day before christmas``, ``a week on thursday``."""
    word = w.at(pos)
    if word in {"the", "day"}:
        after = w.take_words(pos, ("the", "day")) or w.take_words(pos, ("day",))
        found = None if after is None else (Duration(days=1), after)
    elif word in _NOT_A_LENGTH or not (word[:1].isdigit() or word in _LENGTH_LEADS):
        return None
    else:
        found = read_duration(w, pos, ErrorCode.START_TOO_FAR_AHEAD)
    if found is not None and w.at(found[1]) == "ago":  # "2 days ago", "an hour ago"
        raise _in_the_past(w, pos, found[1] + 1)
    if found is None or found[0].seconds:
        return None
    length, after = found
    relation = w.at(after)
    if relation == "on" and w.at(after + 1) in WEEKDAYS:  # "a week on thursday": a week after it
        base = DaySaid(weekday=WEEKDAYS[w.at(after + 1)])
        end = after + 2
    elif relation in _WEEK_BASES and not length.months and length.days % 7 == 0:
        base = DaySaid(resolved=w.today + timedelta(days=relation == "tomorrow"))
        if relation in WEEKDAYS:  # "a week tuesday": a week after tuesday
            base = DaySaid(weekday=WEEKDAYS[relation])
        end = after + 1  # "a week today", "a week tomorrow"
    elif relation in {"from", "after", "before"}:
        said = read_day(w, after + 1)
        if said is None or said[0].period_end is not None:
            return None
        base, end = said
    else:
        return None
    fixed = fixed_day(w, base).resolved
    assert fixed is not None
    shifted = _shifted(fixed, length, -1 if relation == "before" else 1)
    return DaySaid(resolved=shifted, part=base.part), end


_LENGTH_LEADS = frozenset({*NUMBER_WORDS, "half", *FRACTIONS})
_NOT_A_LENGTH = frozenset({*WEEKDAYS, *MONTHS, "next", "this", "today", "tomorrow", "tonight"})


def _week_after_weekday(w: Words, pos: int) -> Found[date]:
    """The Monday of ``[of] next week`` / ``this week`` / ``the week`` after a weekday."""
    pos = w.skip(pos, {"of"})
    which = w.at(pos)
    if which not in {"next", "this", "the", "coming"} or w.at(pos + 1) not in {"week", "weekend"}:
        return None
    monday = w.today - timedelta(days=w.today.weekday())
    return monday + timedelta(days=7 if which in {"next", "coming"} else 0), pos + 2


def _weekday_on(w: Words, weekday: int, dated: DaySaid) -> DaySaid:
    """``tuesday the 8th``: the first 8th to come that is a Tuesday (within a year)."""
    first = w.today.replace(day=1)
    for _ in range(13):
        if dated.day <= days_in(first):
            candidate = first.replace(day=dated.day)
            if candidate >= w.today and candidate.weekday() == weekday:
                return DaySaid(resolved=candidate)
        first = next_month(first)
    raise w.refusal(dated.at, " No such day in the coming year.")


def _nth_weekday(w: Words, pos: int) -> Found[DaySaid]:
    """``first wednesday of december``, ``last friday of the month``, ``2nd monday of next
    month``."""
    start = pos
    pos = w.skip(pos, {"the"})
    nth = NTH.get(w.at(pos))
    if nth is None or w.at(pos + 1) not in WEEKDAYS:
        return None
    weekday = WEEKDAYS[w.at(pos + 1)]
    after = w.take(pos + 2, {"of", "in"})
    if after is None and nth == LAST and start == pos:
        raise _in_the_past(w, start, pos + 2)  # "last friday"
    if after is None:
        raise w.refusal(start, " Say which month: `first wednesday of december`.")
    first, pos = named_month(w, after, start)
    days = _weekdays_in(first, weekday)
    if nth != LAST and nth > len(days):
        raise w.refusal(start, f" That month has only {len(days)} of them.")
    chosen = days[-1] if nth == LAST else days[nth - 1]
    if chosen < w.today and w.at(pos - 1) in MONTHS:  # "first wednesday of january": next
        days = _weekdays_in(first.replace(year=first.year + 1), weekday)
        chosen = days[-1] if nth == LAST or nth > len(days) else days[nth - 1]
    return DaySaid(resolved=chosen), pos


def _nth_of_month(w: Words, pos: int) -> Found[DaySaid]:
    """``the first of next month``, ``first of the month``, ``the last day of february``."""
    start = pos
    pos = w.skip(pos, {"the"})
    nth = NTH.get(w.at(pos))
    if nth is None:
        return None
    after = w.take_words(pos + 1, ("day", "of")) or w.take(pos + 1, {"of"})
    if after is None or not (
        w.at(after) in MONTHS
        or (w.at(after) in {"the", "this", "next"} and w.at(after + 1) == "month")
    ):
        return None
    first, pos = named_month(w, after, start)
    number = days_in(first) if nth == LAST else nth
    chosen = first.replace(day=number)
    if chosen < w.today and w.at(after) in MONTHS and not YEAR.fullmatch(w.at(pos - 1)):
        first = first.replace(year=first.year + 1)  # "the first of january" said in January
        chosen = first.replace(day=days_in(first) if nth == LAST else nth)
    elif chosen < w.today and w.at(after) == "the":  # "first of the month": the next one
        first = next_month(first)
        chosen = first.replace(day=days_in(first) if nth == LAST else nth)
    return DaySaid(resolved=chosen), pos


def _weekdays_in(first: date, weekday: int) -> list[date]:
    every = (first + timedelta(days=offset) for offset in range(days_in(first)))
    return [day for day in every if day.weekday() == weekday]


_DAY_READERS: tuple[tuple[DayReader, frozenset[str] | None], ...] = (
    (_day_after_tomorrow, frozenset({"the", "day"})),
    (_relative_day, frozenset(RELATIVE_DAYS)),
    (_this_day_part, frozenset({"this"})),
    (_period_end_word, frozenset(PERIOD_ENDS)),
    (_edge_of_period, frozenset({"the", "end", "beginning", "start"})),
    (read_period_part, PART_LEADS),
    (_week_after_next, frozenset({"the", "week", "weekend"})),
    (whole_period, frozenset({"the", "rest", "remainder", "all", "whole"})),
    (_past, frozenset({"last"})),
    (_next_day, frozenset({"the", "next", "coming", "upcoming", "this", "following"})),
    (_business_day, frozenset({"the", "next", "in", "following"})),
    (_in_month, frozenset({"in"})),
    (_month_year, frozenset(MONTHS)),
    (read_holiday, HOLIDAY_LEADS),
    (_shifted_day, None),
    (_nth_of_month, frozenset({"the", *NTH})),
)
"""Tried first, in order, each with the words it can begin with (None: any word). A new family
of day phrases is one more line here."""
_UNLED_READERS = tuple(reader for reader, leads in _DAY_READERS if leads is None)
_LED_READERS = {
    word: tuple(reader for reader, leads in _DAY_READERS if leads is None or word in leads)
    for word in frozenset[str]().union(*(leads for _, leads in _DAY_READERS if leads is not None))
}
"""The readers to try by the first word: most words begin no phrase of these families."""
_DATED_READERS: tuple[DayReader, ...] = (_weekday, _nth_weekday, read_date)
"""Tried last: a weekday (with whatever date follows it), an nth weekday, a date."""
