"""Readers of calendar dates and named periods: ``jan 20``, ``20/1``, ``2027-01-20``,
``the 15th of next month``, ``next month``, ``this weekend``.

Why apart from `read_dates`: these read a date from its own words alone, never another day
phrase, so `read_dates` (which reads "2 weeks from friday" by reading a day inside a day) builds on
them without a cycle. A date is fixed when the words fix it; a month-day without a year is left
for `resolve`, which knows the other end of a range.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta

from bot.parsing import dateparser_atoms
from bot.parsing.days import checked_date, day_number, days_in, next_month
from bot.parsing.said import DaySaid
from bot.parsing.vocabulary import (
    CLOCK,
    CLOCK_WORDS,
    DAYS_IN_MONTH,
    GLUED_DAY_MONTH,
    GLUED_MONTH_DAY,
    ISO,
    MONTHS,
    NUMERIC,
    ORDINAL,
    STOP,
    YEAR,
    YEAR_FIRST,
)
from bot.parsing.words import Found, Words


def first_day(
    w: Words, pos: int, readers: tuple[Callable[[Words, int], Found[DaySaid]], ...]
) -> Found[DaySaid]:
    """What the first of *readers* to read a day at *pos* reads."""
    for reader in readers:
        found = reader(w, pos)
        if found is not None:
            return found
    return None


def named_month(w: Words, pos: int, start: int) -> tuple[date, int]:
    """The first day of ``december [2027]``, ``the month``, ``this month``, ``next month``."""
    word = w.at(pos)
    if word in MONTHS:
        month = MONTHS[word]
        if YEAR.fullmatch(w.at(pos + 1)):
            return checked_date(w, int(w.at(pos + 1)), month, 1, start), pos + 2
        return date(w.today.year + (month < w.today.month), month, 1), pos + 1
    if word in {"the", "this", "next"} and w.at(pos + 1) == "month":
        first = w.today.replace(day=1)
        return (next_month(first) if word == "next" else first), pos + 2
    raise w.refusal(pos, " Say which month: `of december` or `of next month`.")


def whole_month(w: Words, month: int) -> DaySaid:
    """A whole month by name: this one (the rest of it) or its next occurrence."""
    first = date(w.today.year + (month < w.today.month), month, 1)
    return DaySaid(resolved=first, period_end=next_month(first))


def period(w: Words, unit: str, *, coming: bool) -> DaySaid:
    """This or the coming ``week``, ``weekend`` or ``month``, as a period."""
    today = w.today
    if unit == "year":  # "end of the year"
        first = date(today.year + coming, 1, 1)
        return DaySaid(resolved=first, period_end=first.replace(year=first.year + 1))
    if unit == "month":
        first = today.replace(day=1)
        if coming:
            first = next_month(first)
        return DaySaid(resolved=first, period_end=next_month(first))
    monday = today - timedelta(days=today.weekday()) + timedelta(days=7 if coming else 0)
    if unit == "week":
        return DaySaid(resolved=monday, period_end=monday + timedelta(days=7))
    return DaySaid(resolved=monday + timedelta(days=5), period_end=monday + timedelta(days=7))


def read_date(w: Words, pos: int) -> Found[DaySaid]:
    """A calendar date: month names, ordinals, numeric forms; else dateparser."""
    return first_day(w, pos, (_month_then_day, _day_then_month, _numeric_date, _dateparser_date))


def _month_then_day(w: Words, pos: int) -> Found[DaySaid]:
    """``jan 20``, ``june 28, 2027``."""
    month = MONTHS.get(w.at(pos))
    at = pos + 1 + (w.at(pos + 1) == "the")  # "february the 14th"
    number = day_number(w.at(at))
    if month is None or number is None:
        return None
    return _month_day(w, at + 1, month, number, pos)


def _day_then_month(w: Words, pos: int) -> Found[DaySaid]:
    """``20 jan``, ``the 20th of june``, ``the 15th of next month``, ``the 20th``."""
    start = pos
    leading_the = w.at(pos) == "the"
    number = day_number(w.at(pos + leading_the))
    if number is None:
        return None
    pos = w.skip(pos + 1 + leading_the, {"of"})
    month = MONTHS.get(w.at(pos))
    if month is not None:
        return _month_day(w, pos + 1, month, number, start)
    if w.at(pos) in {"this", "next"} and w.at(pos + 1) == "month":
        first, pos = named_month(w, pos, start)  # "the 15th of next month", "23 next month"
        if number > days_in(first):
            raise w.refusal(start, f" There is no day {number} in that month.")
        return DaySaid(resolved=first.replace(day=number)), pos
    if leading_the or ORDINAL.fullmatch(w.at(start)):
        found = _day_of_month(w, number, start)  # "the 20th", "20th"
        return replace(found, month_free=True, day=number, at=start), pos
    return None


def _month_day(w: Words, pos: int, month: int, number: int, start: int) -> Found[DaySaid]:
    """A month and day read (up to *pos*), with any year after them."""
    if number > DAYS_IN_MONTH[month - 1]:
        raise w.refusal(start, f" There is no day {number} in that month.")
    if w.at(pos) in {"in", "of"} and YEAR.fullmatch(w.at(pos + 1)):
        pos += 1  # "june 28 in 2027"
    if YEAR.fullmatch(w.at(pos)):
        return DaySaid(resolved=checked_date(w, int(w.at(pos)), month, number, start)), pos + 1
    return DaySaid(month=month, day=number), pos


def _day_of_month(w: Words, number: int, start: int) -> DaySaid:
    first = w.today.replace(day=1)
    for _ in range(3):
        if number <= days_in(first):
            candidate = first.replace(day=number)
            if candidate >= w.today:
                return DaySaid(resolved=candidate)
        first = next_month(first)
    raise w.refusal(start, f" There is no day {number} in the coming months.")


def _numeric_date(w: Words, pos: int) -> Found[DaySaid]:
    """``2027-01-20``, ``2027/1/20``, ``20/1``, ``1/20/27``, ``jan-20``, ``20-jan-2027``."""
    word = w.at(pos)
    if not word or not word[0].isalnum():
        return None
    if match := ISO.fullmatch(word) or YEAR_FIRST.fullmatch(word):
        year, month, number = (int(part) for part in match.groups())
        return DaySaid(resolved=checked_date(w, year, month, number, pos)), pos + 1
    if match := NUMERIC.fullmatch(word):
        first, separator, second, year_text = match.groups()
        if separator == "." and year_text is None:
            return None  # "9.30" is a clock time
        if separator == "-" and (year_text is None or len(year_text) != 4):
            return None
        month, number = int(first), int(second)
        if not w.month_first:
            month, number = number, month
        if month > 12 >= number:  # "24/12" is 24 December whatever the locale
            month, number = number, month
        order = "month/day" if w.month_first else "day/month"
        if not 1 <= month <= 12 or not 1 <= number <= DAYS_IN_MONTH[month - 1]:
            example = "1/20" if order == "month/day" else "20/1"
            raise w.refusal(pos, f" Numeric dates here are {order}, e.g. `{example}`.")
        return _with_year(w, month, number, year_text, pos), pos + 1
    glued = GLUED_MONTH_DAY.fullmatch(word)
    if glued and glued.group(1) in MONTHS:
        month, number = MONTHS[glued.group(1)], int(glued.group(2))
        return _glued(w, month, number, glued.group(3), pos), pos + 1
    glued = GLUED_DAY_MONTH.fullmatch(word)
    if glued and glued.group(2) in MONTHS:
        month, number = MONTHS[glued.group(2)], int(glued.group(1))
        return _glued(w, month, number, glued.group(3), pos), pos + 1
    return None


def _glued(w: Words, month: int, number: int, year_text: str | None, start: int) -> DaySaid:
    if not 1 <= number <= DAYS_IN_MONTH[month - 1]:
        raise w.refusal(start, f" There is no day {number} in that month.")
    return _with_year(w, month, number, year_text, start)


def _with_year(w: Words, month: int, number: int, year_text: str | None, start: int) -> DaySaid:
    if year_text is None:
        return DaySaid(month=month, day=number)
    year = int(year_text) + (2000 if len(year_text) == 2 else 0)
    return DaySaid(resolved=checked_date(w, year, month, number, start))


def _dateparser_date(w: Words, pos: int) -> Found[DaySaid]:
    """Ask dateparser about a date atom we do not know, e.g. ``january the 20th``."""
    end = pos
    while end < len(w) and w.words[end] not in STOP:
        word = w.words[end]
        if (CLOCK.fullmatch(word) and not word.isdigit()) or word in CLOCK_WORDS:
            break
        end += 1
    span = w.words[pos:end]
    if not any(word[:3] in MONTHS for word in span):
        return None  # only a phrase naming a month can be a date we do not read ourselves
    found = dateparser_atoms.dateparser_date(
        " ".join(span), w.clock_now(), month_first=w.month_first
    )
    if found is None:
        return None
    year, month, number = found
    if year is None:
        return DaySaid(month=month, day=number), end
    return DaySaid(resolved=checked_date(w, year, month, number, pos)), end
