"""Wall-clock arithmetic in an IANA zone, the one place that knows how DST bends it.

Why a module of its own: every rule of the /room language is stated in the user's wall clock
("tomorrow" is 00:00 there, "for 3 days" keeps the clock time across a DST change) while the
room itself is a pair of instants. Python's aware arithmetic adds to the wall clock and keeps the
tzinfo without checking that the result exists, so each wall-clock result passes through
`settle`, which picks the instant a person would expect:

- a time skipped by a spring-forward gap moves forward by the gap (02:30 -> 03:30 EDT), as
  calendar programs and RFC 5545 do;
- a time repeated by a fall-back is its first occurrence (fold=0).

Elapsed time ("for 2 hours") is added in UTC instead. Compare and subtract instants through
`utc`: Python compares two datetimes that share a tzinfo by their wall clocks, ignoring the
fold, so 01:30 EDT and 01:30 EST on a fall-back night would look equal. Nothing here reads the
clock.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta, tzinfo

MAX_DAYS = 180
DEFAULT_LENGTH = timedelta(
    hours=1
)  # how long an instant with no end lasts (ROOMBOT_DEFAULT_LENGTH)
"""The longest a room may stay open, and the furthest ahead one may start (ACS Rooms' limit)."""

_MAX_SECONDS = MAX_DAYS * 86_400
_MAX_DAYS_DELTA = timedelta(days=MAX_DAYS)
ELAPSED_MAX = timedelta(seconds=_MAX_SECONDS)
"""`elapsed_limit` as a span: ``utc(elapsed_limit(start)) == utc(start) + ELAPSED_MAX``."""


def utc(moment: datetime) -> datetime:
    """*moment* in UTC, for comparing and subtracting instants correctly across DST changes."""
    return moment.astimezone(UTC)


def settle(wall: datetime) -> datetime:
    """The instant *wall* (aware, maybe inside a DST gap) names, with the offset in force."""
    zone = wall.tzinfo
    return wall.astimezone(UTC).astimezone(zone)


def at_wall_clock(day: date, hour: int, minute: int, zone: tzinfo) -> datetime:
    """The instant the clock in *zone* shows *day* at *hour*:*minute*; hour 24 is the next 00:00."""
    if hour == 24:  # 24:00 is how "end of day" is spelled
        day, hour = day + timedelta(days=1), 0
    return settle(datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone))


def add_calendar(start: datetime, *, months: int = 0, days: int = 0) -> datetime:
    """*start* moved by whole months (day clamped to the month's end) and days on its wall clock."""
    wall = start
    if months:
        index = wall.month - 1 + months
        year, month = wall.year + index // 12, index % 12 + 1
        day = min(wall.day, calendar.monthrange(year, month)[1])
        wall = wall.replace(year=year, month=month, day=day, fold=0)
    if days:
        wall = wall.replace(fold=0) + timedelta(days=days)
    return settle(wall) if months or days else start


def add_elapsed(start: datetime, seconds: float) -> datetime:
    """*start* plus *seconds* of real elapsed time, shown in *start*'s zone."""
    return (start.astimezone(UTC) + timedelta(seconds=seconds)).astimezone(start.tzinfo)


def calendar_limit_at(start: datetime) -> datetime:
    """The latest instant within 180 days of *start* as the user counts days (on the wall clock),
    in UTC for comparing.

    So "for 180 days" is exactly at the limit in every zone, whatever DST does in between, and a
    minute more is over it. The same instant as ``utc(add_calendar(start, days=MAX_DAYS))``
    (zone -> UTC -> zone -> UTC gives back the first UTC instant, fold included), in one
    conversion instead of three: `windows.judge` asks on every command.
    """
    return (start.replace(fold=0) + _MAX_DAYS_DELTA).astimezone(UTC)


def elapsed_limit(start: datetime) -> datetime:
    """*start* plus 180 x 24 hours: the limit ACS enforces."""
    return add_elapsed(start, _MAX_SECONDS)
