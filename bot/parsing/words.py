"""The words of a window as the readers see them: an immutable sequence and the moment said.

Why: a reader is a function from a position in these words to ``(frozen value, next position)``
or None. Positions are plain integers, so a reader that does not match simply returns None and
its caller still holds the position it started from: nothing is ever rewound by hand.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TypeAlias, TypeVar

from bot.parsing.commands import ErrorCode, Refusal
from bot.parsing.grammar import Token, did_you_mean, shown
from bot.parsing.vocabulary import DANGLING, EXAMPLES, STOP, VOCABULARY, month_first

T = TypeVar("T")
Found: TypeAlias = tuple[T, int] | None
"""What a reader returns: the value read and the position after it, or None (nothing read)."""
Reader: TypeAlias = Callable[["Words", int], Found[T]]


Said: TypeAlias = tuple[tuple[str, ...], tuple[str, ...]]
"""The case-folded words of some tokens, and the same words as messages quote them."""


def said_of(tokens: Sequence[Token]) -> Said:
    """The words of *tokens* as `Words` holds them (case-folded, and as quoted)."""
    return tuple([token.text for token in tokens]), tuple([shown(token) for token in tokens])


@dataclass(frozen=True, slots=True)
class Words:
    """The case-folded words of a window, as typed for messages, and the moment they were said.

    A reader asks `clock_now` rather than reading *now* when its value depends on more than
    *today* (``same time tomorrow``, ``this evening``): that is recorded, and `windows` keeps
    for reuse only a reading that depended on the words and *today* alone.
    """

    words: tuple[str, ...]
    raws: tuple[str, ...]  # quoted in messages only
    now: datetime  # readers: `clock_now`, never this
    today: date
    month_first: bool
    clock_reads: list[bool] = field(default_factory=list, compare=False, repr=False)
    """One entry per `clock_now` call (shared with copies made by `dataclasses.replace`)."""

    @classmethod
    def of(cls, tokens: Sequence[Token], now: datetime, locale: str) -> Words:
        return cls.of_said(said_of(tokens), now, locale)

    @classmethod
    def of_said(cls, said: Said, now: datetime, locale: str) -> Words:
        """The words of `said_of` (which a caller may keep per text), said at *now*."""
        return cls(said[0], said[1], now, now.date(), month_first(locale))

    def clock_now(self) -> datetime:
        """*now*, for a reader whose value depends on the time of day or the zone, not only on
        *today*; a reading that asked is never reused for another moment."""
        self.clock_reads.append(True)
        return self.now

    def __len__(self) -> int:
        return len(self.words)

    def at(self, pos: int) -> str:
        """The word at *pos*, or "" past the end."""
        try:  # the hot path of every reader: an exception only past the end
            return self.words[pos]
        except IndexError:
            return ""

    def is_in(self, pos: int, options: Collection[str]) -> bool:
        words = self.words
        return pos < len(words) and words[pos] in options

    def take(self, pos: int, options: Collection[str]) -> int | None:
        """The position after the word at *pos* if it is one of *options*, else None."""
        words = self.words
        return pos + 1 if pos < len(words) and words[pos] in options else None

    def skip(self, pos: int, options: Collection[str]) -> int:
        """Past the word at *pos* if it is one of *options*: an optional word."""
        words = self.words
        return pos + 1 if pos < len(words) and words[pos] in options else pos

    def take_words(self, pos: int, words: tuple[str, ...]) -> int | None:
        """The position after *words* if all of them come next, in order, else None."""
        end = pos + len(words)
        return end if self.words[pos:end] == words else None

    def said(self, start: int, end: int) -> str:
        """The words from *start* to *end* as typed, for messages."""
        return " ".join(self.raws[start:end])

    def refusal(self, start: int, why: str = "") -> Refusal:
        """An ``unrecognised_time`` refusal quoting the words from *start* to the next joiner."""
        words = self.words
        end = start + 1
        while end < len(words) and words[end] not in STOP:
            end += 1
        quoted = self.said(start, end) or "(nothing)"
        if start >= len(words):
            quoted = self.said(max(start - 1, 0), start)
            why = why or " It needs something after it."
        understood = self.said(0, start)
        read = f" I read “{understood}” fine." if understood and start < len(words) else ""
        hint = ""
        if why or start >= len(words):
            pass
        elif end == len(words) and words[end - 1] in DANGLING:
            hint = " It needs more after it."
        elif all(word in VOCABULARY for word in words[start:end]):
            hint = " It doesn't fit there."
        elif end - start == 1:
            close = did_you_mean(words[start], VOCABULARY, cutoff=0.75)
            hint = f" Did you mean “{close}”?" if close else ""
        message = (
            f"I couldn't read “{quoted}” as a date, time or length.{why}{hint}{read} "
            f"Try {EXAMPLES}."
        )
        return Refusal(ErrorCode.UNRECOGNISED_TIME, message)


def first_of(w: Words, pos: int, readers: Sequence[Reader[T]]) -> Found[T]:
    """What the first of *readers* to read anything at *pos* reads."""
    for reader in readers:
        found = reader(w, pos)
        if found is not None:
            return found
    return None
