"""`parse`: the text of a /room command, the moment and the user's zone -> a command or a refusal.

Why a pure function: the Slack listener calls it before ``ack()``, the journal replays it, and
``roombot parse`` runs thousands of cases in one process; so the clock and the zone are arguments,
nothing is read from the environment, and nothing slow runs on the common path (dateparser only
for rare date atoms, and `warm_up` pays its first-call cost at start-up). What does not depend on
the moment (a text's tokens, people and zone; the reading of its window, per day) is kept in
bounded caches, so a command said again costs a fraction of the first time; answers never change.

The verb comes first and ``create`` is the default: ``/room tomorrow for 1 week @ann`` creates.
An empty text opens the modal; an unknown first word gets a did-you-mean and the usage.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import re
from collections.abc import Sequence
from datetime import datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from bot.mrkdwn import escape
from bot.parsing.commands import (
    AddParticipants,
    CreateRoom,
    DeleteRoom,
    EndRoom,
    ErrorCode,
    ExtendRoom,
    ListRooms,
    OpenModal,
    ParseError,
    Refusal,
    RemoveParticipants,
    RenameRoom,
    RescheduleRoom,
    RoomCommand,
    ShowHelp,
    ShowRoom,
)
from bot.parsing.grammar import (
    ROLE_NAMES,
    Kind,
    Split,
    Token,
    did_you_mean,
    forget_kept_words,
    read_invitees,
    shown,
    tokenize,
)
from bot.parsing.timemath import DEFAULT_LENGTH
from bot.parsing.titles import take_title
from bot.parsing.windows import (
    EXAMPLES,
    VOCABULARY,
    forget_readings,
    is_window_word,
    read_extension,
    read_said_window,
    read_window,
)
from bot.parsing.windows import (
    warm_up as _warm_up_windows,
)
from bot.parsing.words import Said, said_of
from bot.parsing.zones import ABBREVIATIONS, NamedZone, take_zone

VERBS = {
    "create": "create",
    "list": "list",
    "show": "show",
    "extend": "extend",
    "reschedule": "reschedule",
    "move": "reschedule",
    "end": "end",
    "rename": "rename",
    "add": "add",
    "remove": "remove",
    "delete": "delete",
    "cancel": "delete",
    "help": "help",
}
"""Each verb a user may type -> the command it names (``cancel`` is ``delete``, ``move`` is
``reschedule``)."""

USAGE = (
    "Usage: `/room [create] [WHEN] [@person [role]]… [dial-out]` · `/room list` · "
    "`/room show ROOM_ID` · `/room extend ROOM_ID by 2 hours` (or `to friday 5pm`) · "
    "`/room reschedule ROOM_ID WHEN` · `/room end ROOM_ID` · "
    '`/room rename ROOM_ID "title"` · '
    "`/room add ROOM_ID @person [role]…` · `/room remove ROOM_ID @person…` · "
    "`/room delete ROOM_ID` · `/room help`. Roles: presenter, attendee (default), consumer, "
    "collaborator."
)
_ROOM_ID = re.compile(r"[0-9]{1,40}")
_ROOM_EXAMPLE = "99117812428622880"
_CREATE_STARTERS = frozenset(
    {"as", "with", "dial", "dial-out", "dialout", "pstn", "remind", *ROLE_NAMES}
)
_RECURRING = frozenset(
    {
        "every",
        "everyday",
        "daily",
        "weekly",
        "biweekly",
        "fortnightly",
        "monthly",
        "recurring",
        "repeating",
        "repeat",
        "each",  # "each monday"
        "once",  # "once a week"
    }
)
"""Words that ask for a room that repeats: refused in words, never read as a one-off window."""
_EXAMPLE_TAILS = {
    "extend": "by 2 hours",
    "reschedule": "tomorrow 9am-5pm",
    "add": "@ann presenter",
    "remove": "@ann",
    "rename": '"Design review"',
}


def parse(
    text: str,
    *,
    now: datetime,
    tz: str | tzinfo,
    locale: str = "en-US",
    default_length: timedelta = DEFAULT_LENGTH,
) -> RoomCommand | ParseError:
    """Read the slash-command *text* said at *now* by a user in zone *tz* (IANA name or tzinfo).

    *now* may be aware (any zone) or naive local time in *tz*; *locale* (Slack's, e.g. ``en-GB``)
    decides whether ``1/2`` is January 2 or 1 February; an instant with no end (``3pm``, no window
    at all) lasts *default_length*. Returns a command, or a `ParseError`
    for anything refused. Raises ValueError only for a *tz* that is not a known zone.
    """
    zone = _zone(tz)
    local_now = _local(now, zone)
    tokens: Sequence[Token] = ()  # what was read, for the refusal's examples
    try:
        words, title = take_title(text)
        if title is not None and not words.strip():
            words = "create"  # `/room "Standup"`: a room now, with that title
        tokens = _tokens(words)
        command = _parse(tokens, local_now, zone, locale, default_length, words)
        if isinstance(command, CreateRoom | RenameRoom) and title is not None:
            return dataclasses.replace(command, title=title)
        if isinstance(command, RenameRoom):
            message = (
                "Give the room's new title in quotes, e.g. "
                f'`/room rename {command.room_id} "Design review"`.'
            )
            return ParseError(ErrorCode.MISSING_TITLE, message)
        if title is not None and not isinstance(command, CreateRoom | OpenModal):
            message = (
                f"Only a new room takes a title (“{escape(title)}”), e.g. "
                '`/room create tomorrow 3pm "Design review"`.'
            )
            return ParseError(ErrorCode.UNEXPECTED_ARGUMENT, message)
        return command
    except Refusal as refusal:
        return _in_the_users_room(refusal.error, tokens)


def warm_up() -> None:
    """Pay dateparser's import and first-call cost (about 0.1 s) now; call it once at start-up."""
    _warm_up_windows()


def forget_kept() -> None:
    """Forget every kept reading, token and suggestion, so the next parse of any text costs
    what its first did. For measuring that first time (`bench.parse_bench`); the answers are
    the same either way."""
    _tokens.cache_clear()
    _window_words.cache_clear()
    forget_kept_words()
    forget_readings()


def _zone(tz: str | tzinfo) -> tzinfo:
    return tz if not isinstance(tz, str) else _named_zone(tz)


@functools.lru_cache(maxsize=1024)
def _named_zone(tz: str) -> tzinfo:
    """ZoneInfo keeps only 8 zones strongly cached; a Slack workspace spans more."""
    try:
        return ZoneInfo(tz)
    except (KeyError, ValueError, OSError) as exc:  # ZoneInfoNotFoundError is a KeyError
        msg = f"unknown time zone {tz!r}"
        raise ValueError(msg) from exc


def _local(now: datetime, zone: tzinfo) -> datetime:
    """*now* on the wall clock of *zone*, to the second (ACS and our messages show no fractions)."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=zone)
    return now.astimezone(zone).replace(microsecond=0)


_TEXTS_KEPT = 1024
"""How many texts `_tokens` and `_window_words` keep (a few kilobytes each at most)."""


@functools.lru_cache(maxsize=_TEXTS_KEPT)
def _tokens(words: str) -> tuple[Token, ...]:
    """`tokenize`, kept per text: the same few commands come again and again (tokens are frozen)."""
    return tuple(tokenize(words))


@dataclasses.dataclass(frozen=True, slots=True)
class _WindowWords:
    """A create's arguments taken apart: who, dial-out, the zone named, and the window's words."""

    split: Split
    named: NamedZone | None
    said: Said


@functools.lru_cache(maxsize=_TEXTS_KEPT)
def _window_words(words: str, skip: int) -> _WindowWords:
    """The tokens of *words* after the first *skip* (the verb), read as `_create` reads them.

    Kept per text, as `_tokens` is: none of it depends on the moment. A refusal is raised afresh
    each time (`lru_cache` keeps only values).
    """
    split = read_invitees(_tokens(words)[skip:], _window_or_zone_word)
    _refuse_recurring(split.rest, "create")
    window_words, named = take_zone(split.rest, words)
    return _WindowWords(split, named, said_of(window_words))


def _parse(
    tokens: Sequence[Token],
    now: datetime,
    zone: tzinfo,
    locale: str,
    default_length: timedelta,
    text: str,
) -> RoomCommand:
    if not tokens:
        return OpenModal()
    first = tokens[0]
    verb = VERBS.get(first.text) if first.kind is Kind.WORD else None
    if verb == "end" and _names_a_window(tokens[1:]):
        verb = None  # "end of the week" is a window, as it was before `end` was a verb
    if verb is None:
        if first.kind is Kind.WORD and first.text in _RECURRING:
            raise _recurring(tokens, "create")
        if first.kind is Kind.WORD and not _starts_create(first.text):
            raise _unknown_command(first)
        verb, arguments = "create", tokens
    else:
        arguments = tokens[1:]
    if verb == "create":
        return _create(len(tokens) - len(arguments), now, locale, default_length, text)
    if verb == "list":
        _nothing_after("list", arguments)
        return ListRooms()
    if verb == "help":
        topic = VERBS.get(arguments[0].text) if arguments else None
        return ShowHelp(topic)
    room_id = _room_id(verb, arguments)
    rest = arguments[1:]
    if verb == "show":
        _nothing_after("show", rest)
        return ShowRoom(room_id)
    if verb == "delete":
        _nothing_after(first.text, rest)
        return DeleteRoom(room_id)
    if verb == "end":
        _nothing_after("end", rest)
        return EndRoom(room_id)
    if verb == "rename":  # the title was taken out of the text before it was read
        if rest:
            words = " ".join(shown(token) for token in rest)
            message = (
                f"Put the new title in quotes (“{words}”), e.g. "
                f'`/room rename {room_id} "Design review"`.'
            )
            raise Refusal(ErrorCode.MISSING_TITLE, message)
        return RenameRoom(room_id)
    if verb == "reschedule":
        return _reschedule(first.text, room_id, rest, now, locale, default_length)
    if verb == "extend":
        by, until = read_extension(rest, now, locale)
        return ExtendRoom(room_id, by, until, zone)
    # after a mention, any word is a role's place for add, and never for remove
    split = read_invitees(rest, lambda _word: verb == "remove")
    if not split.invitees:
        raise _missing_mention(verb, room_id)
    extra = split.dial_out or split.remind_minutes is not None
    if split.rest or extra or (verb == "remove" and _has_role(rest)):
        words = " ".join(shown(token) for token in split.rest) or "roles, dial-out or reminders"
        example = f"`/room {verb} {room_id} @ann" + (" presenter`" if verb == "add" else "`")
        message = f"`{verb}` takes only people{' and roles' * (verb == 'add')}, not “{words}”; "
        raise Refusal(ErrorCode.UNEXPECTED_ARGUMENT, message + f"e.g. {example}.")
    if verb == "add":
        return AddParticipants(room_id, split.invitees)
    return RemoveParticipants(room_id, tuple(item.who for item in split.invitees))


def _create(
    skip: int, now: datetime, locale: str, default_length: timedelta, text: str
) -> CreateRoom:
    """The room that the tokens of *text* after the first *skip* (the verb, if typed) ask for."""
    read = _window_words(text, skip)
    split, named = read.split, read.named
    if named is not None:  # a zone in the text wins over the user's
        now = now.astimezone(named.zone)
    window = read_said_window(read.said, now, locale, default_length)
    return CreateRoom(
        valid_from=window.valid_from,
        valid_until=window.valid_until,
        invitees=split.invitees,
        pstn_dial_out=split.dial_out,
        remind_minutes=split.remind_minutes,
        window=window.window,
        zone_note=named.note if named is not None else None,
    )


def _reschedule(
    typed: str,
    room_id: str,
    rest: Sequence[Token],
    now: datetime,
    locale: str,
    default_length: timedelta,
) -> RescheduleRoom:
    """The room's new window, read exactly as `create` reads one (the same words, limits, zone)."""
    example = f"`/room {typed} {room_id} tomorrow 9am-5pm`"
    if not rest:
        message = f"Tell me the room's new window, e.g. {example}."
        raise Refusal(ErrorCode.UNRECOGNISED_TIME, message)
    for token in rest:
        if token.kind is not Kind.WORD:
            message = (
                f"`{typed}` takes only the new window, not “{shown(token)}”; e.g. {example}. "
                f"To change who is in the room, `/room add {room_id} @ann presenter`."
            )
            raise Refusal(ErrorCode.UNEXPECTED_ARGUMENT, message)
    _refuse_recurring(rest, typed, room_id)
    try:
        window = read_window(rest, now, locale, default_length)
    except Refusal as refusal:
        # The window reader's examples are creates; the same windows work here, for this room.
        error = refusal.error
        message = error.message.replace("`/room create ", f"`/room {typed} {room_id} ")
        raise Refusal(error.code, message, error.window) from None
    return RescheduleRoom(room_id, window.valid_from, window.valid_until, window.window)


def _refuse_recurring(tokens: Sequence[Token], verb: str, room_id: str | None = None) -> None:
    if any(token.kind is Kind.WORD and token.text in _RECURRING for token in tokens):
        raise _recurring(tokens, verb, room_id)


def _recurring(tokens: Sequence[Token], verb: str, room_id: str | None = None) -> Refusal:
    """Why "every monday" is refused: rooms have one window; what to do instead."""
    said = " ".join(shown(token) for token in tokens if token.kind is Kind.WORD)
    target = f"{verb} {room_id}" if room_id else "create"
    message = (
        f"Recurring rooms are not supported yet (“{said}”): a room has one window, of at most "
        f"180 days. Create one room for the next meeting, e.g. `/room {target} next monday "
        f"9am-10am`, or one room that stays open across the weeks, e.g. "
        f"`/room {target} next monday for 4 weeks`."
    )
    return Refusal(ErrorCode.RECURRING_NOT_SUPPORTED, message)


def _names_a_window(arguments: Sequence[Token]) -> bool:
    """Whether the words after ``end`` are a time window rather than a room id."""
    return bool(arguments) and arguments[0].kind is Kind.WORD and arguments[0].text == "of"


def _window_or_zone_word(word: str) -> bool:
    """A word of the window, or a zone named with it (so not a misspelt role)."""
    return is_window_word(word) or word in ABBREVIATIONS or "/" in word


_ROOM_VERB_EXAMPLES = {
    "extend": ("by 2 hours", "to friday 5pm"),
    "add": ("@ann presenter",),
    "remove": ("@ann",),
}
"""What follows the room id in the examples of a refusal about that verb."""
_CREATE_EXAMPLE = re.compile(r"`/room create [^`]*`")


def _in_the_users_room(error: ParseError, tokens: Sequence[Token]) -> ParseError:
    """*error* with its examples about the room the person named, not a made-up one.

    The refusals are written where the words are read (grammar, windows), which know neither
    the verb nor the room; a person who typed `/room extend 123 by a lot` should be shown
    `/room extend 123 by 2 hours`, not `/room create …` or another room's id.
    """
    if len(tokens) < 2 or tokens[0].kind is not Kind.WORD or tokens[1].kind is not Kind.WORD:
        return error
    verb, room_id = VERBS.get(tokens[0].text), tokens[1].raw
    if verb in (None, "create", "list", "help") or not _ROOM_ID.fullmatch(room_id):
        return error
    message = error.message.replace(_ROOM_EXAMPLE, room_id)
    tails = _ROOM_VERB_EXAMPLES.get(str(verb))
    if tails:
        ours = [f"`/room {verb} {room_id} {tail}`" for tail in tails]
        message = message.replace(EXAMPLES, " or ".join(ours))
        message = _CREATE_EXAMPLE.sub(ours[0], message)
    return dataclasses.replace(error, message=message)


def _starts_create(word: str) -> bool:
    return is_window_word(word) or word in _CREATE_STARTERS


def _has_role(tokens: Sequence[Token]) -> bool:
    return any(token.kind is Kind.WORD and token.text in ROLE_NAMES for token in tokens)


def _room_id(verb: str, arguments: Sequence[Token]) -> str:
    if arguments and arguments[0].kind is Kind.WORD and _ROOM_ID.fullmatch(arguments[0].raw):
        return arguments[0].raw
    got = f" “{shown(arguments[0])}” is not one." if arguments else ""
    example = f"`/room {verb} {_ROOM_EXAMPLE}`"
    if verb in _EXAMPLE_TAILS:
        tail = _EXAMPLE_TAILS[verb]
        example = f"`/room {verb} {_ROOM_EXAMPLE} {tail}`"
    message = (
        f"`{verb}` needs a room id first (the number `/room list` shows).{got} "
        f"For example {example}."
    )
    raise Refusal(ErrorCode.MISSING_ROOM_ID, message)


def _nothing_after(verb: str, rest: Sequence[Token]) -> None:
    if rest:
        words = " ".join(shown(token) for token in rest)
        message = f"`{verb}` takes nothing more, not “{words}”; e.g. `/room {verb}"
        example = f" {_ROOM_EXAMPLE}`." if verb != "list" else "`."
        raise Refusal(ErrorCode.UNEXPECTED_ARGUMENT, message + example)


def _missing_mention(verb: str, room_id: str) -> Refusal:
    role = " presenter" if verb == "add" else ""
    message = (
        f"`{verb}` needs at least one person, picked from Slack's @ menu, e.g. "
        f"`/room {verb} {room_id} @ann{role}`."
    )
    return Refusal(ErrorCode.MISSING_MENTION, message)


def _unknown_command(first: Token) -> Refusal:
    close = difflib.get_close_matches(first.text, VERBS, n=1, cutoff=0.6)
    guess = f" Did you mean `{close[0]}`?" if close else ""
    time_word = None if close else did_you_mean(first.text, VOCABULARY, cutoff=0.8)
    if time_word is not None:  # a misspelt time word: "tomorow"
        guess = f" Did you mean “{time_word}”?"
    message = (
        f"I don't know the command “{shown(first)}”.{guess} To create a room, say when, e.g. "
        f"{EXAMPLES}. {USAGE}"
    )
    return Refusal(ErrorCode.UNKNOWN_COMMAND, message)


__all__ = ["USAGE", "VERBS", "parse", "warm_up"]
