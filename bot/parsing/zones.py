"""Time zones named in a command: ``3pm PT``, ``tomorrow 9am Europe/Paris``, ``10am UTC+2``.

A zone in the text wins over the user's Slack zone for reading that window. Three forms, and no
guessing beyond them: IANA names (``Europe/Paris``, any case), UTC/GMT offsets written glued
(``UTC+2``, ``GMT-05:00``) and a fixed table of common abbreviations. An abbreviation names a
place, not an offset: ``EST`` in July is read as New York's clock (EDT), which is what people
who write it mean; the answer says how it was read, so a surprising reading is visible.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, available_timezones

from bot.parsing.grammar import Kind, Token

ABBREVIATIONS = {
    **dict.fromkeys(("et", "est", "edt"), "America/New_York"),
    **dict.fromkeys(("ct", "cst", "cdt"), "America/Chicago"),
    **dict.fromkeys(("mt", "mst", "mdt"), "America/Denver"),
    **dict.fromkeys(("pt", "pst", "pdt"), "America/Los_Angeles"),
    **dict.fromkeys(("akst", "akdt"), "America/Anchorage"),
    "hst": "Pacific/Honolulu",
    **dict.fromkeys(("ast", "adt"), "America/Halifax"),
    **dict.fromkeys(("nst", "ndt"), "America/St_Johns"),
    "brt": "America/Sao_Paulo",
    **dict.fromkeys(("utc", "gmt", "z"), "UTC"),
    "bst": "Europe/London",
    **dict.fromkeys(("wet", "west"), "Europe/Lisbon"),
    **dict.fromkeys(("cet", "cest"), "Europe/Paris"),
    **dict.fromkeys(("eet", "eest"), "Europe/Athens"),
    "msk": "Europe/Moscow",
    "sast": "Africa/Johannesburg",
    "ist": "Asia/Kolkata",
    "sgt": "Asia/Singapore",
    "hkt": "Asia/Hong_Kong",
    "pht": "Asia/Manila",
    "wib": "Asia/Jakarta",
    "jst": "Asia/Tokyo",
    "kst": "Asia/Seoul",
    "awst": "Australia/Perth",
    **dict.fromkeys(("acst", "acdt"), "Australia/Adelaide"),
    **dict.fromkeys(("aest", "aedt"), "Australia/Sydney"),
    **dict.fromkeys(("nzst", "nzdt"), "Pacific/Auckland"),
}
_GLUED_OFFSET = re.compile(r"(?:utc|gmt)([+-])([0-9]{1,2})(?::?([0-9]{2}))?")
_OFFSET_LEADS = frozenset({"utc", "gmt"})  # what a glued offset starts with: no regex otherwise
_OFFSET_PART = re.compile(r"([0-9]{1,2})(?::?([0-9]{2}))?")
_MAX_OFFSET = timedelta(hours=14)


@dataclass(frozen=True, slots=True)
class NamedZone:
    """A zone said in the text: *said* as typed, *name* as read (IANA name or ``UTC+02:00``)."""

    said: str
    name: str
    zone: tzinfo

    @property
    def note(self) -> str:
        """How the words were read, for the answer: ``PT, read as America/Los_Angeles``."""
        if self.said.casefold() == self.name.casefold():
            return f"in {self.name}"
        return f"“{self.said}” read as {self.name}"


def take_zone(tokens: Sequence[Token], text: str) -> tuple[list[Token], NamedZone | None]:
    """*tokens* without the one zone they name, and that zone; (tokens, None) when none is named.

    *text* is the command as typed, to tell ``GMT-05:00`` (one word the tokenizer split at its
    hyphen) from ``10am GMT - 3pm`` (a range).
    """
    words = list(tokens)
    for index, token in enumerate(words):
        if token.kind is not Kind.WORD:
            continue
        found = _zone_at(words, index, text)
        if found is not None:
            named, used = found
            return words[:index] + words[index + used :], named
    return words, None


def _zone_at(words: list[Token], index: int, text: str) -> tuple[NamedZone, int] | None:
    word = words[index].text
    if word in ABBREVIATIONS:
        split = _split_offset(words, index, text)
        if split is not None:
            return split
        name = ABBREVIATIONS[word]
        return NamedZone(words[index].raw, name, ZoneInfo(name)), 1
    if "/" in word and (iana := _iana_names().get(word)) is not None:
        return NamedZone(words[index].raw, iana, ZoneInfo(iana)), 1
    if word[:3] in _OFFSET_LEADS and (match := _GLUED_OFFSET.fullmatch(word)):
        sign, hours, minutes = match.groups()
        named = _offset(words[index].raw, sign, hours, minutes)
        return (named, 1) if named is not None else None
    return None


def _split_offset(words: list[Token], index: int, text: str) -> tuple[NamedZone, int] | None:
    """``GMT-05:00``, which the tokenizer split into ``gmt``, ``-``, ``05:00``."""
    if words[index].text not in {"utc", "gmt"} or index + 2 >= len(words):
        return None
    sign, number = words[index + 1], words[index + 2]
    match = _OFFSET_PART.fullmatch(number.text)
    glued = f"{words[index].raw}{sign.raw}{number.raw}".casefold()
    if sign.text != "-" or match is None or glued not in text.casefold():
        return None
    said = f"{words[index].raw}{sign.raw}{number.raw}"
    named = _offset(said, "-", match.group(1), match.group(2))
    return (named, 3) if named is not None else None


def _offset(said: str, sign: str, hours: str, minutes: str | None) -> NamedZone | None:
    span = timedelta(hours=int(hours), minutes=int(minutes or 0))
    if span > _MAX_OFFSET or int(minutes or 0) >= 60:
        return None
    offset = -span if sign == "-" else span
    zone = timezone(offset) if offset else UTC
    total = int(offset.total_seconds()) // 60
    name = f"UTC{'-' if total < 0 else '+'}{abs(total) // 60:02d}:{abs(total) % 60:02d}"
    return NamedZone(said, name if total else "UTC", zone)


@functools.cache
def _iana_names() -> dict[str, str]:
    """Case-folded IANA name -> its spelling; read once, on the first name with a slash."""
    return {name.casefold(): name for name in available_timezones() if "/" in name}
