"""Readers of lengths: ``2 hours``, ``1h30``, ``an hour and a half``, ``a couple of days``.

A length is calendar months, calendar days and elapsed seconds (`Duration`), so ``for 3 days``
keeps the clock time across a DST change while ``for 2 hours`` is two real hours.
"""

from __future__ import annotations

from bot.parsing.commands import Duration, ErrorCode, Refusal
from bot.parsing.timemath import MAX_DAYS
from bot.parsing.vocabulary import (
    COMPACT,
    EXAMPLES,
    FRACTIONS,
    HOURS_MINUTES,
    HUGE_DAYS,
    NUMBER,
    NUMBER_WORDS,
    TENS,
    UNITS,
)
from bot.parsing.words import Found, Words

_AND_A_HALF = ("and", "a", "half")
_AND_AN_HALF = ("and", "an", "half")


def read_duration(w: Words, pos: int, too_big: ErrorCode) -> Found[Duration]:
    """One or more terms (``1 hour and 30 minutes``); a sum over 100 years is refused."""
    start = pos
    months, days, seconds = 0, 0.0, 0.0
    terms = 0
    while True:
        before = pos
        found = _term(w, w.skip(pos, {"and", "+"}) if terms else pos)
        if found is None:
            break
        (kind, amount), pos = found
        if kind == "m":
            if amount != int(amount):
                raise w.refusal(before, " Months must be whole; say weeks or days instead.")
            months += int(amount)
        elif kind == "d":
            days += amount
        else:
            seconds += amount
        terms += 1
    if not terms:
        return None
    if months * 31 + days + seconds / 86_400 > HUGE_DAYS:
        limit = (
            "a room can be set up ahead"
            if too_big is ErrorCode.START_TOO_FAR_AHEAD
            else "a room can stay open"
        )
        message = (
            f"“{w.said(start, pos)}” is far more than {MAX_DAYS} days, the most {limit}. "
            f"Try {EXAMPLES}."
        )
        raise Refusal(too_big, message)
    whole_days = int(days)
    seconds += (days - whole_days) * 86_400
    return Duration(months, whole_days, round(seconds)), pos


def expect_duration(w: Words, pos: int, too_big: ErrorCode) -> tuple[Duration, int]:
    """A length that must come here; refused with an example otherwise."""
    found = read_duration(w, pos, too_big)
    if found is None:
        raise w.refusal(pos, " A length looks like `2 hours`, `90 minutes` or `3 weeks`.")
    return found


def unit_length(word: str) -> Duration:
    """One of a unit: ``hour`` -> 1 hour, ``week`` -> 7 days."""
    kind, size = UNITS[word]
    return Duration(
        months=size if kind == "m" else 0,
        days=size if kind == "d" else 0,
        seconds=size if kind == "s" else 0,
    )


def _term(w: Words, pos: int) -> Found[tuple[str, float]]:
    """One quantity and unit: ``2 hours``, ``1.5h``, ``half an hour``, ``a fortnight``…"""
    word = w.at(pos)
    if match := HOURS_MINUTES.fullmatch(word):  # 1h30
        return ("s", int(match.group(1)) * 3600 + int(match.group(2)) * 60), pos + 1
    if match := COMPACT.fullmatch(word):  # 90min, 1.5h, 2wks
        kind, size = UNITS[match.group(2)]
        return (kind, float(match.group(1)) * size), pos + 1
    found = _quantity(w, pos)
    if found is None:
        return None
    quantity, pos = found
    if (after := _and_a_half(w, pos)) is not None:  # "2 and a half days"
        quantity, pos = quantity + 0.5, after
    unit = UNITS.get(w.at(pos))
    if unit is None:
        return None
    pos += 1
    if (after := _and_a_half(w, pos)) is not None:  # "an hour and a half"
        quantity, pos = quantity + 0.5, after
    kind, size = unit
    return (kind, quantity * size), pos


def _and_a_half(w: Words, pos: int) -> int | None:
    return w.take_words(pos, _AND_A_HALF) or w.take_words(pos, _AND_AN_HALF)


def _quantity(w: Words, pos: int) -> Found[float]:
    """How many: ``2``, ``1.5``, ``half [a]``, ``a half``, ``a couple of``, ``thirty two``."""
    word, following = w.at(pos), w.at(pos + 1)
    if word in {"a", "an"} and following == "half":  # "a half hour"
        return 0.5, pos + 2
    if word == "half":  # "half an hour", "half a day", "half hour"
        return 0.5, w.skip(pos + 1, {"a", "an"})
    if word == "quarter" or (word == "a" and following == "quarter"):  # "a quarter of an hour"
        after = pos + 1 + (word == "a")
        return 0.25, w.skip(w.skip(after, {"of"}), {"a", "an"})
    if following in {"quarters", "quarter"} and NUMBER_WORDS.get(word) == 3:  # three quarters
        return 0.75, w.skip(w.skip(pos + 2, {"of"}), {"a", "an"})
    if word in {"a", "an"} and following == "couple":  # "a couple of days"
        return 2, w.skip(pos + 2, {"of"})
    if NUMBER.fullmatch(word):
        return float(word), pos + 1
    if word in FRACTIONS:  # "1/2 hour"
        return FRACTIONS[word], pos + 1
    if word in NUMBER_WORDS:
        quantity: float = NUMBER_WORDS[word]
        if word == "couple":
            return quantity, w.skip(pos + 1, {"of"})
        if word in TENS and 0 < NUMBER_WORDS.get(following, 10) < 10:
            return quantity + NUMBER_WORDS[following], pos + 2  # "thirty two"
        return quantity, pos + 1
    return None
