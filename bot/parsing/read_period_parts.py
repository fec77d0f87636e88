"""Reader of parts of a week or a month: ``early next week``, ``mid-week``, ``late next month``,
``mid-january``, ``the middle of next week``, ``end of march``.

The parts are fixed and shown in the answer, so a reading is never a surprise: of a week,
*early* is Monday-Tuesday, *mid* Tuesday-Thursday, *late* Thursday-Friday; of a month, *early*
is the 1st-10th, *mid* the 11th-20th, *late* the 21st to its last day. ``end of``/``beginning
of`` a named month are its late and early parts (``end of the month`` stays "until then").
Without ``this``/``next`` the part is the next one not yet over.
"""

from __future__ import annotations

from datetime import date, timedelta

from bot.parsing.days import checked_date, days_in, monday_of, next_month
from bot.parsing.said import DaySaid
from bot.parsing.vocabulary import MONTH_PARTS, MONTHS, WEEK_PARTS, YEAR
from bot.parsing.words import Found, Words

_ONE_WORD = {"midweek": ("mid", "week"), "mid-week": ("mid", "week"), "midmonth": ("mid", "month")}
_EDGES = {"end": "late", "beginning": "early", "start": "early"}
PART_LEADS = frozenset({"the", "middle", *_ONE_WORD, *WEEK_PARTS, *_EDGES})
"""The words a part of a period can begin with."""


def read_period_part(w: Words, pos: int) -> Found[DaySaid]:
    """A part of a week or month, as a period of whole days."""
    start = pos
    pos = w.skip(pos, {"the"})
    word = w.at(pos)
    if word in _ONE_WORD:
        part, unit = _ONE_WORD[word]
        return (
            _week_part(w, part, None, pos + 1)
            if unit == "week"
            else _month_part(w, part, None, w.today.month, None, pos + 1, start)
        )
    if word == "middle" and w.at(pos + 1) == "of":
        part, pos = "mid", pos + 2
    elif word in WEEK_PARTS:
        part, pos = word, w.skip(w.skip(pos + 1, {"-"}), {"of"})
    elif word in _EDGES and w.at(pos + 1) == "of" and w.at(pos + 2) in MONTHS:
        part, pos = _EDGES[word], pos + 2  # "end of march": only a named month here
    else:
        return None
    which = w.at(pos) if w.at(pos) in {"this", "next", "coming", "the"} else None
    pos += which is not None
    unit = w.at(pos)
    if unit == "week":
        return _week_part(w, part, which, pos + 1)
    if unit == "month":
        return _month_part(w, part, which, w.today.month, None, pos + 1, start)
    if unit in MONTHS and which in {None, "the"}:
        year = int(w.at(pos + 1)) if YEAR.fullmatch(w.at(pos + 1)) else None
        after = pos + 1 + (year is not None)
        return _month_part(w, part, "named", MONTHS[unit], year, after, start)
    return None


def _week_part(w: Words, part: str, which: str | None, pos: int) -> Found[DaySaid]:
    first, last = WEEK_PARTS[part]
    monday = monday_of(w.today) + timedelta(days=7 if which in {"next", "coming"} else 0)
    if which in {None, "the"} and monday + timedelta(days=last) < w.today:
        monday += timedelta(days=7)  # "mid-week" said on a Friday: next week's
    begin = monday + timedelta(days=first)
    return DaySaid(resolved=begin, period_end=monday + timedelta(days=last + 1)), pos


def _month_part(
    w: Words, part: str, which: str | None, month: int, year: int | None, pos: int, start: int
) -> Found[DaySaid]:
    first_day, last_day = MONTH_PARTS[part]
    if year is not None:
        first = checked_date(w, year, month, 1, start)
    elif which == "named":
        first = date(w.today.year + (month < w.today.month), month, 1)
    else:
        first = w.today.replace(day=1)
        if which in {"next", "coming"}:
            first = next_month(first)
    end = first.replace(day=min(last_day, days_in(first)))
    if year is None and which in {None, "the", "named"} and end < w.today:
        first = first.replace(year=first.year + 1) if which == "named" else next_month(first)
        end = first.replace(day=min(last_day, days_in(first)))  # over already: the next one
    return DaySaid(resolved=first.replace(day=first_day), period_end=end + timedelta(days=1)), pos
