"""Readers of clock times: ``3pm``, ``15:30``, ``9a``, ``15h30``, ``noon``, ``half past seven``.

A clock is read as said (`ClockSaid`); whether a bare ``3`` is 03:00 or 15:00 is settled later,
by a day part, the other end of a range or business hours (`resolve`).
"""

from __future__ import annotations

from dataclasses import replace

from bot.parsing.said import ClockSaid
from bot.parsing.vocabulary import (
    AT,
    BUSINESS_PM,
    CLOCK,
    END_OF_DAY,
    FILLER,
    FRENCH_CLOCK,
    LAST_HOUR,
    LUNCH,
    NOON,
    NUMBER_WORDS,
    PART_SUFFIXES,
)
from bot.parsing.words import Found, Words


def read_clock(w: Words, pos: int) -> Found[ClockSaid]:
    """A clock time at *pos*, with any am/pm, o'clock or day part after it."""
    start, word = pos, w.at(pos)
    if word in {"noon", "midday"} or word in LUNCH:
        return ClockSaid(word, NOON, 0, word="noon"), pos + 1
    if word == "midnight":
        return ClockSaid(word, 0, 0, word="midnight"), pos + 1
    if word == "eod" or (word == "end" and w.at(pos + 1) == "of"):
        skip = 1 if word == "eod" else 3 + (w.at(pos + 2) == "the")
        if word == "eod" or w.at(pos + skip - 1) == "day":
            return ClockSaid(w.said(start, pos + skip), END_OF_DAY, 0, word="eod"), pos + skip
        return None
    if (idiom := _clock_idiom(w, pos)) is not None:
        return idiom
    match = CLOCK.fullmatch(word)
    french = None if match else FRENCH_CLOCK.fullmatch(word)
    if match is None and french is None:
        hour_word = word not in {"a", "an"} and 1 <= NUMBER_WORDS.get(word, 0) <= NOON
        if hour_word and w.at(pos + 1) in {"am", "pm", "o'clock", "oclock"}:  # "seven pm"
            return _clock_from(w, start, pos + 1, NUMBER_WORDS[word], 0, minutes_said=False)
        return None
    if french is not None:
        hour, minute = int(french.group(1)), int(french.group(2) or 0)
        clock, pos = _clock_from(w, start, pos + 1, hour, minute, minutes_said=True, meridiem="")
        return replace(clock, twenty_four=True), pos
    assert match is not None
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    if match.group(3) is not None and int(match.group(3)) > 59:
        raise w.refusal(start, " Seconds go from 0 to 59.")
    glued = match.group(4)
    meridiem = {"a": "am", "p": "pm"}.get(glued or "", glued)
    clock, pos = _clock_from(
        w, start, pos + 1, hour, minute, minutes_said=match.group(2) is not None, meridiem=meridiem
    )
    if (len(match.group(1)) == 2 and match.group(1).startswith("0")) or hour == 0:
        clock = replace(clock, twenty_four=clock.meridiem is None and clock.word is None)
    return clock, pos


def military(w: Words, pos: int) -> Found[ClockSaid]:
    """``at 1415``: four digits after ``at`` are a 24-hour clock time (not a year)."""
    word = w.at(pos)
    if len(word) == 4 and word.isascii() and word.isdigit():
        hour, minute = int(word[:2]), int(word[2:])
        if hour <= LAST_HOUR and minute <= 59:
            return ClockSaid(word, hour, minute, twenty_four=True), pos + 1
    return None


def at_clock(w: Words, pos: int) -> tuple[ClockSaid | None, int]:
    """An optional ``at`` and a clock time; an ``at`` with no clock after it is refused.

    Always returns a position: a filler word (``around``) is taken even with no clock after it.
    """
    after_at = pos
    at = w.take(pos, AT)
    pos = w.skip(at or pos, FILLER)
    found = (military(w, pos) if at else None) or read_clock(w, pos)
    if found is None:
        if at:
            raise w.refusal(min(after_at + 1, len(w)))
        return None, w.skip(pos, {"sharp"})
    clock, pos = found
    return clock, w.skip(pos, {"sharp"})


def _clock_from(
    w: Words,
    start: int,
    pos: int,
    hour: int,
    minute: int,
    *,
    minutes_said: bool,
    meridiem: str | None = None,
) -> tuple[ClockSaid, int]:
    """A clock time from its numbers (read from *start* to *pos*), taking an am/pm, o'clock or
    day part after them."""
    if meridiem is None and w.is_in(pos, {"am", "pm"}):
        meridiem, pos = w.at(pos), pos + 1
    oclock = w.is_in(pos, {"o'clock", "oclock"})
    pos += oclock
    if hour == NOON and not meridiem and not minutes_said and w.at(pos) == "noon":
        return ClockSaid(w.said(start, pos + 1), NOON, 0, word="noon"), pos + 1
    if meridiem:
        if not 1 <= hour <= NOON:
            raise w.refusal(start, " With am or pm the hour is 1 to 12.")
        hour = hour % NOON + (NOON if meridiem == "pm" else 0)
    elif hour == END_OF_DAY and minute == 0:
        return ClockSaid(w.said(start, pos), END_OF_DAY, 0, word="eod"), pos
    elif hour > LAST_HOUR:
        raise w.refusal(start, " Hours go from 0 to 23.")
    if minute > 59:
        raise w.refusal(start, " Minutes go from 0 to 59.")
    clock = ClockSaid(
        w.said(start, pos),
        hour,
        minute,
        meridiem=meridiem or None,
        bare=not minutes_said and not meridiem and not oclock,
        twenty_four=hour > NOON and not meridiem,
    )
    return _part_suffix(w, pos, clock)


def _part_suffix(w: Words, pos: int, clock: ClockSaid) -> tuple[ClockSaid, int]:
    """``6 in the morning``, ``10 at night``, ``8 tonight``: am/pm from the day part."""
    for words, meridiem in PART_SUFFIXES.items():
        after = w.take_words(pos, words)
        if after is not None:
            if words != ("tonight",):  # "tonight" also names the day: read_day takes it
                pos = after
            return replace(clock.with_meridiem(meridiem), bare=False), pos
    return clock, pos


def _clock_idiom(w: Words, pos: int) -> Found[ClockSaid]:
    """``half past seven``, ``quarter to seven``, ``quarter past 8``."""
    start, word, relation = pos, w.at(pos), w.at(pos + 1)
    if word not in {"half", "quarter"} or relation not in {"past", "to"}:
        return None
    if word == "half" and relation == "to":
        return None
    hour_word = w.at(pos + 2)
    hour = NUMBER_WORDS.get(hour_word) if hour_word not in {"a", "an"} else None
    if hour is None and hour_word.isdigit() and len(hour_word) <= 2:
        hour = int(hour_word)
    if hour is None or not 1 <= hour <= NOON:
        return None
    minutes = 30 if word == "half" else 15
    said_pm = hour in BUSINESS_PM or hour == NOON  # business hours, by the hour said
    if relation == "to":
        hour, minute = (hour - 1) or NOON, 60 - minutes
    else:
        minute = minutes
    clock, pos = _clock_from(w, start, pos + 3, hour, minute, minutes_said=True)
    return clock.with_meridiem("pm" if said_pm else "am"), pos
