"""Time windows: "tomorrow for 2 weeks", "friday 10am-12pm", "from jan 20 to jan 22" -> instants.

Why our own grammar: dateparser reads single points only (no ranges, no lengths) and costs about
0.7 ms a call, several times our whole budget. So we read the structure of a window (start,
separator, end or length) and the common atoms ourselves, and ask dateparser only for a date atom
no reader knows (``january the 20th``, `dateparser_atoms`).

How it is built (a new phrase family is one local change):

- `words`: the words as an immutable sequence; a *reader* is a function from a position to
  ``(frozen value, next position)`` or None, so nothing is ever rewound by hand;
- `read_lengths`, `read_clock`, `read_calendar_dates`, `read_dates`, `read_holidays`,
  `read_period_parts`, `read_spans`: the readers, by family, producing the frozen values of
  `said` (`DaySaid`, `ClockSaid`, `PointSaid`, `Reading`); `days` holds their calendar helpers;
- `resolve`: the one step that turns a `Reading` into instants;
- this module: the entry points, and `judge`, which applies the limits.

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

import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import TypeAlias

from bot.parsing.commands import Duration, ErrorCode, Refusal, Window
from bot.parsing.dateparser_atoms import warm_up
from bot.parsing.grammar import Token, tokenize
from bot.parsing.read_lengths import expect_duration, read_duration
from bot.parsing.read_spans import expect_point
from bot.parsing.read_spans import read_window as read_reading
from bot.parsing.resolve import resolve
from bot.parsing.said import Reading
from bot.parsing.timemath import (
    DEFAULT_LENGTH,
    ELAPSED_MAX,
    MAX_DAYS,
    add_elapsed,
    calendar_limit_at,
    elapsed_limit,
    utc,
)
from bot.parsing.vocabulary import (
    ALTERNATIVE,
    END_WORDS,
    EXAMPLES,
    MONTHS,
    UNITS,
    VOCABULARY,
    WEEKDAYS,
    is_window_word,
    month_first,
)
from bot.parsing.words import Said, Words, said_of

__all__ = [
    "EXAMPLES",
    "MONTHS",
    "UNITS",
    "VOCABULARY",
    "WEEKDAYS",
    "Resolved",
    "describe",
    "forget_readings",
    "is_window_word",
    "judge",
    "month_first",
    "read_extension",
    "read_length",
    "read_said_window",
    "read_window",
    "warm_up",
]


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
    return read_said_window(said_of(tokens), now, locale, default_length)


def read_said_window(
    words: Said,
    now: datetime,
    locale: str,
    default_length: timedelta = DEFAULT_LENGTH,
) -> Resolved:
    """`read_window` of the words `said_of` gave (which a caller may keep per text)."""
    w = Words.of_said(words, now, locale)
    refuse_alternatives(w)
    reading, pos = _read_reading(w)
    if pos < len(w):
        raise w.refusal(pos)
    start, end = resolve(w, reading)
    said = tuple(point.text if point else "" for point in (reading.start, reading.end))
    return judge(start, end, now, (said[0], said[1]), default_length)


_READINGS_KEPT = 4096
"""How many readings `_read_reading` keeps (a few hundred bytes each); the oldest goes first."""
_ReadingKey: TypeAlias = tuple[tuple[str, ...], tuple[str, ...], date, tzinfo | None, bool]
_readings: dict[_ReadingKey, tuple[Reading, int]] = {}
_readings_lock = threading.Lock()  # parse is a plain function: any thread may call it


def _read_reading(w: Words) -> tuple[Reading, int]:
    """`read_spans.read_window` from the start of *w*, reused when the same words were read on
    the same day in the same zone.

    Why: reading is most of a command's CPU (every reader is tried at every position) and runs
    on the event loop inside the ack, while people send the same few windows over and over
    (``tomorrow 9am-5pm``, whoever they invite). A reading is a pure function of the words,
    *today* and the locale's date order, except where a reader asked `Words.clock_now` (``same
    time tomorrow``, ``this evening``, dateparser): such readings are never kept. Refusals are
    not kept either (each is raised afresh). The values are frozen, so sharing them is safe;
    resolving them into instants, against the exact *now*, is never reused.
    """
    key = (w.words, w.raws, w.today, w.now.tzinfo, w.month_first)
    kept = _readings.get(key)
    if kept is not None:
        return kept
    found = read_reading(w, 0)
    if not w.clock_reads:
        with _readings_lock:
            if len(_readings) >= _READINGS_KEPT:
                del _readings[next(iter(_readings))]
            _readings[key] = found
    return found


def forget_readings() -> None:
    """Empty what `_read_reading` keeps (`bench.parse_bench` times a first sight with it)."""
    with _readings_lock:
        _readings.clear()


def read_length(text: str) -> timedelta:
    """A length in words (``90 minutes``, ``1 hour and 30 minutes``, ``a day``), as elapsed time.

    For settings such as ``ROOMBOT_DEFAULT_LENGTH``: the same words a command takes after
    ``for``. Months are refused (their length depends on the date). Raises ValueError saying why.
    """
    w = Words.of(tokenize(text), datetime.now(UTC), "en-US")
    try:
        found = read_duration(w, 0, ErrorCode.WINDOW_TOO_LONG)
    except Refusal as refusal:
        raise ValueError(refusal.error.message) from None
    if found is None or found[1] < len(w):
        raise ValueError(f"“{text}” is not a length; e.g. 90 minutes, 1 hour or PT90M")
    length = found[0]
    if length.months:
        raise ValueError("months differ in length; say days or weeks, e.g. 30 days")
    return timedelta(days=length.days, seconds=length.seconds)


def read_extension(
    tokens: Sequence[Token], now: datetime, locale: str
) -> tuple[Duration | None, datetime | None]:
    """``by DURATION`` or ``to WHEN`` for ``extend``: (length, None) or (None, new end).

    Raises `Refusal` for unreadable words, a zero or over-long length, or an end already past.
    """
    w = Words.of(tokens, now, locale)
    if not len(w):
        message = (
            "Tell me how far to extend the room, e.g. `/room extend 99117812428622880 by 2 hours` "
            "or `/room extend 99117812428622880 to friday 5pm`."
        )
        raise Refusal(ErrorCode.UNRECOGNISED_TIME, message)
    refuse_alternatives(w, offer_sides=False)
    length: Duration | None = None
    until: datetime | None = None
    by = w.take(0, {"by", "for", "+"})
    if by is not None or read_duration(w, 0, ErrorCode.WINDOW_TOO_LONG) is not None:
        length, pos = expect_duration(w, by or 0, ErrorCode.WINDOW_TOO_LONG)
    else:
        point, pos = expect_point(w, w.skip(0, END_WORDS))
        until = resolve(w, Reading(end=point))[1]
    if pos < len(w):
        raise w.refusal(pos)
    if length is not None:
        if length.is_zero:
            message = (
                f"Extending by {length} changes nothing; "
                "e.g. `/room extend 99117812428622880 by 2 hours`."
            )
            raise Refusal(ErrorCode.EMPTY_WINDOW, message)
        if utc(length.after(now)) > calendar_limit_at(now):
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


def refuse_alternatives(w: Words, *, offer_sides: bool = True) -> None:
    """``tomorrow or friday``: two windows offered. We never pick one; the person does.

    With *offer_sides*, each side that reads as a window on its own is offered back as a working
    example (for ``create`` and ``reschedule``); else the usual examples are (``extend``).
    """
    if ALTERNATIVE not in w.words:
        return
    sides: list[tuple[int, int]] = []
    begin = 1 if w.words[0] == "either" else 0
    for index, word in enumerate(w.words):
        if word == ALTERNATIVE:
            sides.append((begin, index))
            begin = index + 1
    sides.append((begin, len(w)))
    quoted = w.said(0, len(w))
    examples = [
        f"`/room create {w.said(first, last)}`"
        for first, last in sides
        if offer_sides and first < last and _reads_alone(w, first, last)
    ]
    offer = " or ".join(examples) if len(examples) > 1 else EXAMPLES
    message = (
        f"“{quoted}” offers a choice, and I never pick one for you. Say the one you mean, "
        f"e.g. {offer}."
    )
    raise Refusal(ErrorCode.UNRECOGNISED_TIME, message)


def _reads_alone(w: Words, first: int, last: int) -> bool:
    """Whether the words *first* to *last* read as a window by themselves."""
    part = replace(w, words=w.words[first:last], raws=w.raws[first:last])
    try:
        reading, pos = read_reading(part, 0)
        if pos < len(part):
            return False
        start, end = resolve(part, reading)
        judge(start, end, part.now)
    except Refusal:
        return False
    return True


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
    until_at = end_at if end_at is not None else utc(valid_until)
    if until_at <= now_at:
        message = (
            f"That window is over already: {_literal(window)}, and it is now {describe(now)}. "
            f"Pick a time still to come, e.g. {EXAMPLES}."
        )
        raise Refusal(ErrorCode.WINDOW_IN_PAST, message, window)
    limit_at = calendar_limit_at(now)
    if start_at > limit_at:
        message = (
            f"That window starts {_length(start_at - now_at)} from now ({_literal(window)}); "
            f"a room can be set up at most {MAX_DAYS} days ahead. Pick a closer start, "
            f"e.g. {EXAMPLES}."
        )
        raise Refusal(ErrorCode.START_TOO_FAR_AHEAD, message, window)
    later = start_at > now_at
    valid_from, from_at = (start, start_at) if later else (now, now_at)
    if end_at is not None and end_at > (calendar_limit_at(start) if later else limit_at):
        message = (
            f"That window is {_length(until_at - from_at)} long "
            f"({_literal(window)}); a "
            f"room can stay open at most {MAX_DAYS} days. Shorten it, e.g. "
            f"`/room create tomorrow for {MAX_DAYS} days`."
        )
        raise Refusal(ErrorCode.WINDOW_TOO_LONG, message, window)
    # ACS counts its 180 days in elapsed time: a window of 180 calendar days across a fall-back
    # (180 days and 1 hour) ends that hour sooner; `window` keeps the end as said
    if from_at + ELAPSED_MAX < until_at:
        valid_until = elapsed_limit(valid_from)
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
