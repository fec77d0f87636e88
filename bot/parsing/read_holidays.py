"""Reader of fixed-date holidays: ``christmas``, ``new year's eve``, ``halloween 2027``.

Why a fixed table (`vocabulary.HOLIDAYS`): a holiday on the same date every year reads as that
month-day, so ``christmas`` is exactly ``dec 25`` (its next occurrence, or the year said). A
holiday whose date moves (``thanksgiving``, ``easter``) is refused with its own answer rather
than computed for one country and silently wrong for another.
"""

from __future__ import annotations

from datetime import timedelta

from bot.parsing.days import checked_date
from bot.parsing.said import DaySaid
from bot.parsing.vocabulary import HOLIDAYS, MOVING_FIRST_WORDS, MOVING_HOLIDAYS, YEAR
from bot.parsing.words import Found, Words

HOLIDAY_LEADS = frozenset(HOLIDAYS) | MOVING_FIRST_WORDS
"""The words a holiday's name can begin with."""


def read_holiday(w: Words, pos: int) -> Found[DaySaid]:
    """A fixed-date holiday, with any year after it; a moving one is refused."""
    start, word = pos, w.at(pos)
    for words, (month, number) in HOLIDAYS.get(word, ()):
        after = w.take_words(pos, words)
        if after is None:
            continue
        if w.at(after) in {"in", "of"} and YEAR.fullmatch(w.at(after + 1)):
            after += 1  # "christmas in 2027"
        if YEAR.fullmatch(w.at(after)):
            resolved = checked_date(w, int(w.at(after)), month, number, start)
            return DaySaid(resolved=resolved), after + 1
        return DaySaid(month=month, day=number), after
    if word in MOVING_FIRST_WORDS:
        for words, name in MOVING_HOLIDAYS.items():
            if w.take_words(pos, words) is not None:
                soon = w.today + timedelta(days=14)  # an example that works whenever said
                why = (
                    f" {name[0].upper()}{name[1:]} falls on a different date from year to year "
                    "(or country to country), so I don't guess it: say its date, "
                    f"e.g. `/room create {soon:%b} {soon.day}`.".lower()
                )
                raise w.refusal(start, why)
    return None
