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
    TENS,
    UNITS,
    YEAR,
)
from bot.parsing.words import Found, Words

_TENS_VALUES = frozenset(TENS.values())
_SUFFIX_LEADS = frozenset(words[0] for words in PART_SUFFIXES)
COB_HOUR = 17  # close of business, as offices and deadlines mean it
_MINUTES_TO_WORDS = frozenset({"quarter", "five", "ten", "twenty", "twenty-five"})
UNIT_WORDS = frozenset(UNITS)


def read_clock(w: Words, pos: int) -> Found[ClockSaid]:
    """A clock time at *pos*, with any am/pm, o'clock or day part after it."""
    start, word = pos, w.at(pos)
    if word in {"noon", "midday"} or word in LUNCH:
        return ClockSaid(word, NOON, 0, word="noon"), pos + 1
    if word == "midnight":
        return ClockSaid(word, 0, 0, word="midnight"), pos + 1
    if (after := close_of_business(w, pos)) is not None:  # "cob": 17:00
        return ClockSaid(w.said(start, after), COB_HOUR, 0, twenty_four=True), after
    if (after := _same_time(w, pos)) is not None:  # "same time tomorrow": the time it is now
        now = w.clock_now()
        return ClockSaid(w.said(start, after), now.hour, now.minute, twenty_four=True), after
    if word == "eod" or (word == "end" and w.at(pos + 1) == "of"):
        skip = 1 if word == "eod" else 3 + (w.at(pos + 2) == "the")
        if word == "eod" or w.at(pos + skip - 1) == "day":
            return ClockSaid(w.said(start, pos + skip), END_OF_DAY, 0, word="eod"), pos + skip
        return None
    if (idiom := _clock_idiom(w, pos)) is not None:
        return idiom
    if (spoken := _spoken_clock(w, pos)) is not None:
        return spoken
    if len(word) == 4 and not YEAR.fullmatch(word) and (found := military(w, pos)):
        return found  # "tomorrow 0930", "1630": a 24-hour time (never a year)
    if word.endswith("ish") and CLOCK.fullmatch(word[:-3]):
        about = _clock_from_word(w, start, pos, word[:-3])  # "8ish": about 8, a time
        return None if about is None else (replace(about[0], bare=False), about[1])
    clock_found = _clock_from_word(w, start, pos, word)
    if clock_found is None:
        return None
    clock, after = clock_found
    if (ish := w.take_words(after, ("-", "ish")) or w.take(after, {"ish"})) is not None:
        return replace(clock, bare=False), ish  # "8pm-ish"
    return clock, after


def _clock_from_word(w: Words, start: int, pos: int, word: str) -> Found[ClockSaid]:
    """The clock time *word* (at *pos*) spells: ``3pm``, ``15:30``, ``9a``, ``15h30``…"""
    match = CLOCK.fullmatch(word)
    french = None if match else FRENCH_CLOCK.fullmatch(word)
    if match is None and french is None:
        hour_word = word not in {"a", "an"} and 1 <= NUMBER_WORDS.get(word, 0) <= NOON
        if hour_word and w.at(pos + 1) not in UNIT_WORDS:  # "seven pm", "at two"
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


def close_of_business(w: Words, pos: int) -> int | None:
    """``cob``, ``close of business``, ``end of business``: the position after it."""
    if w.at(pos) == "cob":
        return pos + 1
    return w.take_words(pos, ("close", "of", "business")) or w.take_words(
        pos, ("end", "of", "business")
    )


def _same_time(w: Words, pos: int) -> int | None:
    """``this time``, ``same time``, ``the same time``."""
    pos = w.skip(pos, {"the"})
    if w.at(pos) in {"this", "same"} and w.at(pos + 1) == "time":
        return pos + 2
    return None


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
    if hour == NOON and not meridiem and not minutes_said and w.at(pos) == "midnight":
        return ClockSaid(w.said(start, pos + 1), 0, 0, word="midnight"), pos + 1
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
    if w.at(pos) not in _SUFFIX_LEADS:
        return clock, pos
    for words, meridiem in PART_SUFFIXES.items():
        after = w.take_words(pos, words)
        if after is not None:
            if words != ("tonight",):  # "tonight" also names the day: read_day takes it
                pos = after
            return replace(clock.with_meridiem(meridiem), bare=False), pos
    return clock, pos


def _clock_idiom(w: Words, pos: int) -> Found[ClockSaid]:
    """``half past seven``, ``quarter to seven``, ``quarter past 8``, ``twenty past four``,
    ``10 to 5``, ``5 minutes past 3``, and the British ``half seven`` (7:30)."""
    start, word = pos, w.at(pos)
    if word in {"half", "quarter"}:
        minutes, after = (30 if word == "half" else 15), pos + 1
    elif (number := _number(word)) is not None and 1 <= number <= 29:
        minutes, after = number, w.skip(pos + 1, {"minutes", "mins", "min"})
    else:
        return None
    relation = w.at(after)
    if relation in {"to", "til"} and not _minutes_to(w, pos, after):
        return None  # "10 to 11" is a range
    if relation not in {"past", "after", "to", "til", "of"}:
        if word != "half" or (hour := _hour_word(w.at(after))) is None:
            return None
        relation, after = "past", after - 1  # "half seven": half past seven
    elif (hour := _hour_word(w.at(after + 1))) is None or (word == "half" and relation != "past"):
        return None
    said_pm = hour in BUSINESS_PM or hour == NOON  # business hours, by the hour said
    if relation in {"to", "til", "of"}:
        hour, minute = (hour - 1) or NOON, 60 - minutes
    else:
        minute = minutes
    clock, pos = _clock_from(w, start, after + 2, hour, minute, minutes_said=True)
    return clock.with_meridiem("pm" if said_pm else "am"), pos


def _minutes_to(w: Words, pos: int, after: int) -> bool:
    """Whether ``… to 5`` counts minutes to an hour (``ten to five``, ``10 minutes to 5``,
    ``quarter to 5``) rather than starting a range (``10 to 11``, ``from ten to five``)."""
    if w.at(pos - 1) in {"from", "between"}:
        return False
    return after > pos + 1 or w.at(pos) in _MINUTES_TO_WORDS


def _spoken_clock(w: Words, pos: int) -> Found[ClockSaid]:
    """``seven thirty``, ``two fifteen pm``, ``nine oh five``: an hour and minutes in words."""
    hour = NUMBER_WORDS.get(w.at(pos)) if w.at(pos) not in {"a", "an"} else None
    if hour is None or not 1 <= hour <= NOON:
        return None
    after = pos + 1
    if w.at(after) in {"oh", "o"} and (unit := NUMBER_WORDS.get(w.at(after + 1), 0)) in range(
        1, 10
    ):
        minute, after = unit, after + 2  # "nine oh five"
    elif (tens := NUMBER_WORDS.get(w.at(after), 0)) in range(10, 60):
        minute, after = tens, after + 1
        if tens in _TENS_VALUES and (unit := NUMBER_WORDS.get(w.at(after), 0)) in range(1, 10):
            minute, after = tens + unit, after + 1  # "seven forty five"
    else:
        return None
    if w.at(after) in UNIT_WORDS:
        return None  # "two twenty minutes" is not a time
    clock, after = _clock_from(w, pos, after, hour, minute, minutes_said=True)
    return clock, after


def _number(word: str) -> int | None:
    if word.isascii() and word.isdigit() and len(word) <= 2:
        return int(word)
    return NUMBER_WORDS.get(word) if word not in {"a", "an", "couple"} else None


def _hour_word(word: str) -> int | None:
    hour = _number(word)
    return hour if hour is not None and 1 <= hour <= NOON else None
