"""Calendar helpers the readers and `resolve` share: checked dates, month lengths, next years.

Why a module of its own: a reader that fixes a day as it reads (``2 weeks from friday``) and the
resolution step that fixes the days of a range must agree on what "the next jan 20" is.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from bot.parsing.said import DaySaid
from bot.parsing.vocabulary import ORDINAL, ORDINAL_WORDS, PAST_YEARS
from bot.parsing.words import Words


def checked_date(w: Words, year: int, month: int, number: int, start: int) -> date:
    """The date, or a refusal quoting the words from *start* if it is absurd or does not exist."""
    if abs(year - w.today.year) > PAST_YEARS:
        raise w.refusal(start, f" The year {year} is too far from now.")
    try:
        return date(year, month, number)
    except ValueError:
        raise w.refusal(start, " That date does not exist.") from None


def day_number(word: str) -> int | None:
    """1 to 31 from ``20``, ``20th`` or ``twentieth``; else None."""
    if word in ORDINAL_WORDS:
        return ORDINAL_WORDS[word]
    match = ORDINAL.fullmatch(word)
    text = match.group(1) if match else word
    if text.isascii() and text.isdigit() and len(text) <= 2 and 1 <= int(text) <= 31:
        return int(text)
    return None


def next_month(first: date) -> date:
    """The first day of the month after *first*'s."""
    return (first + timedelta(days=32)).replace(day=1)


def days_in(first: date) -> int:
    return (next_month(first) - first).days


def exists(year: int, month: int, number: int) -> bool:
    try:
        date(year, month, number)
    except ValueError:
        return False
    return True


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def fixed_day(w: Words, day: DaySaid) -> DaySaid:
    """*day* with its date: a weekday's next occurrence, a month-day's next occurrence."""
    if day.resolved is not None:
        return day
    if day.weekday >= 0:
        ahead = (day.weekday - w.today.weekday()) % 7
        if ahead == 0 and not day.may_be_today:
            ahead = 7
        return replace(day, resolved=w.today + timedelta(days=ahead))
    return replace(day, resolved=in_year(w, day, next_year(w, day)))


def next_year(w: Words, day: DaySaid) -> int:
    """The year of the next occurrence (today counts) of a month-day."""
    year = w.today.year
    for candidate in range(year, year + 9):
        if exists(candidate, day.month, day.day) and (
            date(candidate, day.month, day.day) >= w.today
        ):
            return candidate
    return year  # unreachable: every month-day recurs within 8 years


def in_year(w: Words, day: DaySaid, year: int) -> date:
    if not exists(year, day.month, day.day):
        raise w.refusal(day.at, f" There is no {day.day} February in {year}.")
    return date(year, day.month, day.day)
