"""Tokens of a /room command: Slack's escaped mentions, plain words, and the roles after mentions.

Why this layer: with "Escape channels, users, and links" on (``should_escape: true`` in the
manifest) Slack sends ``<@U024BE7LH|alice>``, ``<@W…>`` and ``<!subteam^S0123|@team>`` and
escapes the user's own ``& < >`` as ``&amp; &lt; &gt;``. Taking the ``<…>`` escapes out first and
unescaping only the text between them means a user can never type a mention into existence. A
plain ``@alice`` means escaping is off; we refuse it rather than guess a user by name.

Words are case-folded and split where people glue ranges together (``9am-5pm``, ``mon–fri``)
but not inside dates (``2027-01-20``) or ``dial-out``. `read_invitees` then takes out mentions,
their roles and dial-out, and leaves the words of the time window, in order, for `windows`.
"""

from __future__ import annotations

import difflib
import enum
import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.domain import Role
from bot.mrkdwn import escape
from bot.parsing.commands import ErrorCode, Invitee, Mention, Refusal

ESCAPING_HELP = (
    "Ask a Slack admin to turn on “Escape channels, users, and links sent to your app” for the "
    "/room command (should_escape: true in the app manifest), then pick people from Slack's @ menu."
)


class Kind(enum.Enum):
    """What a token is."""

    WORD = "word"
    USER = "user"  # <@U…|name> or <@W…>
    GROUP = "group"  # <!subteam^S…|@team>
    PLAIN_AT = "plain_at"  # @alice typed as text: escaping is off
    NOT_A_PERSON = "not_a_person"  # <#C…>, <!here>, <mailto:…>: cannot join a room


@dataclass(frozen=True, slots=True)
class Token:
    """One token: *text* is the case-folded word or the Slack id; *raw* is as typed."""

    kind: Kind
    text: str
    raw: str
    label: str | None = None


def shown(token: Token) -> str:
    """*token* as a message quotes it, in Slack mrkdwn.

    A person or user group is quoted as Slack sent it (a live mention); anything else was
    unescaped to be read, so its `& < >` are escaped again: "<b>" shows as typed, never as a
    link, and a typed "&lt;@U1&gt;" never becomes a mention.
    """
    raw = token.raw
    if token.kind is Kind.USER or token.kind is Kind.GROUP:
        return raw
    # most words have nothing to escape: skip the two calls (every word of every command)
    return escape(raw) if "&" in raw or "<" in raw or ">" in raw else raw


_PIECE = re.compile(r"<([^<>]*)>|[^\s<]+|<")
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")
_GROUP_ID = re.compile(r"S[A-Z0-9]{2,}")
_DASHES = str.maketrans(dict.fromkeys("‐‑‒–—―−", "-") | {"’": "'", "‘": "'"})
_MERIDIEM_DOTS = re.compile(r"(?<![a-z])([ap])\.m\b\.?", re.IGNORECASE)
_SEPARATORS = re.compile(r"[\s,;]+")
_ISO_TIME = re.compile(r"([0-9]{4}-[0-9]{1,2}-[0-9]{1,2})[Tt]([0-9])")
_EDGE_CHARS = "\"'“”()[]{}"
_TRAILING = ".!?:"
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_SUBTOKEN = re.compile(
    r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?![0-9])"  # ISO 2027-01-20
    r"|[0-9]{1,2}-[0-9]{1,2}-[0-9]{4}(?![0-9])"  # 20-01-2027
    rf"|[0-9]{{1,2}}-{_MONTH}-[0-9]{{2,4}}(?![0-9])"  # 20-jan-2027
    rf"|{_MONTH}-[0-9]{{1,2}}(?:-[0-9]{{4}})?(?![0-9:.])(?=-|$)"  # jan-20
    r"|dial-out"
    r"|(?:twenty|thirty|forty|fifty)-(?:one|two|three|four|five|six|seven|eight|nine)"
    r"|-"
    r"|[^-]+",
    re.IGNORECASE,
)
_PLAIN_WORD = re.compile(r"[A-Za-z0-9:]*[A-Za-z0-9]")
_AT_CLOCK = re.compile(r"[0-9]{1,2}(?:[:.][0-9]{2})?(?:am|pm)?|noon|midnight", re.IGNORECASE)


def _unescape(text: str) -> str:
    if "&" not in text:
        return text
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def tokenize(text: str) -> list[Token]:
    """The tokens of *text* as Slack sent it (mentions escaped, ``& < >`` escaped)."""
    tokens: list[Token] = []
    for match in _PIECE.finditer(text):
        inner = match.group(1)
        if inner is not None:
            tokens.append(_escape_token(inner, match.group(0)))
        else:
            tokens.extend(_piece_tokens(_unescape(match.group(0))))
    return tokens


@functools.lru_cache(maxsize=4096)
def _piece_tokens(piece: str) -> tuple[Token, ...]:
    """The tokens of one piece of text between spaces, kept per piece: the same words come in
    every command (``create``, ``tomorrow``, ``9am-5pm``) around people who differ, and a
    frozen `Token` costs more to build than to look up."""
    tokens: list[Token] = []
    _word_tokens(piece, tokens)
    return tuple(tokens)


def _escape_token(inner: str, raw: str) -> Token:
    target, _, label = inner.partition("|")
    shown = _unescape(label) or None
    if target.startswith("@"):
        user_id = target[1:]
        if _USER_ID.fullmatch(user_id):
            return Token(Kind.USER, user_id, raw, shown)
        return Token(Kind.PLAIN_AT, user_id, _unescape(raw))
    if target.startswith("!subteam^"):
        group_id = target.removeprefix("!subteam^")
        if _GROUP_ID.fullmatch(group_id):
            return Token(Kind.GROUP, group_id, raw, shown)
        return Token(Kind.PLAIN_AT, group_id, _unescape(raw))
    if target.startswith(("#", "!", "mailto:")):
        shown = shown or _unescape(target).replace("!", "@", 1).removeprefix("mailto:")
        return Token(Kind.NOT_A_PERSON, target, shown)
    # a link: not a person and not a time; left as a word so it is quoted as unreadable
    text = shown or _unescape(target)
    return Token(Kind.WORD, text.casefold(), text)


def _word_tokens(piece: str, tokens: list[Token]) -> None:
    if _PLAIN_WORD.fullmatch(piece):  # the common case, nothing to split or strip
        tokens.append(Token(Kind.WORD, piece.casefold(), piece))
        return
    if piece.startswith("@"):
        rest = piece[1:]
        if rest and not _AT_CLOCK.fullmatch(rest):
            tokens.append(Token(Kind.PLAIN_AT, rest, piece))
            return
        tokens.append(Token(Kind.WORD, "at", "@"))  # "@ 3pm", "@3pm"
        piece = rest
    piece = _MERIDIEM_DOTS.sub(r"\1m", piece.translate(_DASHES))
    piece = _ISO_TIME.sub(r"\1 \2", piece)  # 2027-01-20T09:00 -> 2027-01-20 09:00
    for part in _SEPARATORS.split(piece):
        word = part.strip(_EDGE_CHARS).rstrip(_TRAILING).strip(_EDGE_CHARS)
        if not word:
            continue
        if "-" not in word:
            tokens.append(Token(Kind.WORD, word.casefold(), word))
            continue
        for sub in _SUBTOKEN.findall(word):
            tokens.append(Token(Kind.WORD, sub.casefold(), sub))


_AS = "as"
_JOINERS = frozenset({"and", "with", "&", "+", "plus"})
_DIAL_OUT = frozenset({"dial-out", "dialout", "pstn"})
ROLE_NAMES = tuple(role.value.casefold() for role in Role)


@dataclass(frozen=True, slots=True)
class Split:
    """A command's arguments taken apart: who, dial-out, and the remaining (window) words."""

    invitees: tuple[Invitee, ...]
    dial_out: bool
    rest: tuple[Token, ...]
    remind_minutes: int | None = None
    """`remind 15m`: how long before the room opens its people are reminded."""


def read_invitees(tokens: Sequence[Token], is_window_word: Callable[[str], bool]) -> Split:
    """Take mentions, their roles and dial-out out of *tokens*; the other words stay in order.

    A role word applies to the mention right before it (``as presenter`` too); the default is
    Attendee. A mention repeated without a role keeps its earlier role. *is_window_word* tells a
    time word (left for the window) from a word in a role's place (``unknown_role``).

    Raises `Refusal` with ``unresolved_mention``, ``role_without_mention`` or ``unknown_role``.
    """
    mentions: dict[str, Mention] = {}  # by id: the first label Slack showed
    roles: dict[str, Role] = {}
    said: dict[str, Role] = {}  # the roles given in words, by id: one per person
    dial_out = False
    remind_minutes: int | None = None
    rest: list[Token] = []
    last: Mention | None = None  # the mention a role word would apply to
    i, count = 0, len(tokens)
    while i < count:
        token = tokens[i]
        following = tokens[i + 1] if i + 1 < count else None
        i += 1
        kind = token.kind
        if kind is not Kind.WORD:  # one test for the common case: a word
            if kind is Kind.USER or kind is Kind.GROUP:
                last = mentions.setdefault(token.text, Mention(token.text, token.label))
                roles.setdefault(token.text, Role.ATTENDEE)
                continue
            if kind is Kind.PLAIN_AT:
                raise _refuse_plain_mention(token)
            raise _refuse_not_a_person(token)  # Kind.NOT_A_PERSON
        word = token.text
        if word == _REMIND:
            remind_minutes, used = read_reminder(tokens[i:])
            i += used
            last = None
            continue
        if word in _DIAL_OUT or (word == "dial" and following and following.text == "out"):
            dial_out = True
            i += word == "dial"
            last = None
            continue
        if word == _AS and following is not None and following.kind is Kind.WORD:
            skip = 2 if following.text in {"a", "an"} and i + 1 < count else 1  # "as a presenter"
            named = tokens[i + skip - 1]
            if Role.from_word(named.text) is not None or last is not None:
                token, word = named, named.text
                i += skip
                if Role.from_word(word) is None:
                    raise _refuse_unknown_role(token, last)
        role = Role.from_word(word)
        if role is not None:
            if last is None:
                raise _refuse_role_without_mention(token)
            if said.setdefault(last.id, role) is not role:
                raise _refuse_two_roles(last, said[last.id], role)
            roles[last.id] = role
            last = None
            continue
        if word in _JOINERS and following is not None and _joins(following):
            continue
        if last is not None and _in_roles_place(word, following, is_window_word):
            raise _refuse_unknown_role(token, last)
        rest.append(token)
        last = None
    invitees = tuple(Invitee(mentions[key], role) for key, role in roles.items())
    return Split(invitees, dial_out, tuple(rest), remind_minutes)


_REMIND = "remind"
MAX_REMINDER_MINUTES = 24 * 60
_REMINDER_AMOUNT = re.compile(r"([0-9]{1,4})(m|mins?|minutes?|h|hrs?|hours?)?")
_REMINDER_UNITS = {"m": 1, "min": 1, "mins": 1, "minute": 1, "minutes": 1}
_REMINDER_UNITS |= {"h": 60, "hr": 60, "hrs": 60, "hour": 60, "hours": 60}
_REMINDER_FILLERS = frozenset({"before", "ahead", "early", "earlier"})


def read_reminder(tokens: Sequence[Token]) -> tuple[int, int]:
    """The lead time after `remind` (``15m``, ``15 minutes``, ``me 1h before``), in minutes,
    and how many of *tokens* it used; Refusal ``bad_reminder`` when none is there."""
    used = 1 if tokens and tokens[0].text == "me" else 0
    amount = tokens[used] if used < len(tokens) else None
    match = _REMINDER_AMOUNT.fullmatch(amount.text) if amount is not None else None
    if match is None:
        raise _refuse_reminder(amount)
    used += 1
    unit = match.group(2)
    if unit is None and used < len(tokens) and tokens[used].text in _REMINDER_UNITS:
        unit = tokens[used].text
        used += 1
    if unit is None:
        raise _refuse_reminder(amount)
    minutes = int(match.group(1)) * _REMINDER_UNITS[unit]
    if minutes > MAX_REMINDER_MINUTES:
        raise _refuse_reminder(amount, too_long=True)
    if used < len(tokens) and tokens[used].text in _REMINDER_FILLERS:
        used += 1
    return minutes, used


def _refuse_reminder(amount: Token | None, *, too_long: bool = False) -> Refusal:
    said = f" (“{shown(amount)}”)" if amount is not None else ""
    why = "is more than 24 hours" if too_long else "needs a number of minutes or hours"
    message = (
        f"`remind` {why}{said}: say how long before the room opens to remind its people, "
        "e.g. `/room create tomorrow 9am remind 15m`."
    )
    return Refusal(ErrorCode.BAD_REMINDER, message)


_PEOPLE = frozenset({Kind.USER, Kind.GROUP, Kind.PLAIN_AT, Kind.NOT_A_PERSON})


def _joins(following: Token) -> bool:
    """Whether an "and"/"with" before *following* only joins people or dial-out."""
    return following.kind in _PEOPLE or following.text in _DIAL_OUT or following.text == "dial"


def _in_roles_place(
    word: str, following: Token | None, is_window_word: Callable[[str], bool]
) -> bool:
    """Whether *word*, right after a mention, was meant as a role (rather than as a time word)."""
    if is_window_word(word):
        return False
    if following is None or following.kind is not Kind.WORD or following.text in _DIAL_OUT:
        return True
    return _close_role(word) is not None


def _close_role(word: str) -> str | None:
    return did_you_mean(word, ROLE_NAMES, cutoff=0.75)


@functools.lru_cache(maxsize=4096)
def did_you_mean(
    word: str, known: frozenset[str] | tuple[str, ...], *, cutoff: float
) -> str | None:
    """The *known* word closest to *word* (same first letter, similar length), if close enough.

    Kept per word: difflib is most of the cost of a refusal (about 0.1 ms against the whole
    vocabulary), and a misspelling comes back as often as the command that carries it.
    """
    candidates = [
        candidate
        for candidate in known
        if candidate[:1] == word[:1] and abs(len(candidate) - len(word)) <= 2
    ]
    close = difflib.get_close_matches(word, candidates, n=1, cutoff=cutoff)
    return close[0] if close else None


def _refuse_plain_mention(token: Token) -> Refusal:
    message = (
        f"“{shown(token)}” reached me as plain text, so I can't tell who it is, and I never guess "
        f"a person by name. {ESCAPING_HELP} Then `/room create tomorrow @ann presenter` works."
    )
    return Refusal(ErrorCode.UNRESOLVED_MENTION, message)


def _refuse_not_a_person(token: Token) -> Refusal:
    message = (
        f"“{shown(token)}” is not a person, so it can't join a room. Mention people or user groups "
        "with Slack's @ menu, e.g. `/room create tomorrow @ann presenter`."
    )
    return Refusal(ErrorCode.UNRESOLVED_MENTION, message)


def _refuse_role_without_mention(token: Token) -> Refusal:
    message = (
        f"“{shown(token)}” is a role, but no person comes right before it. Put the role after the "
        "person it is for, e.g. `/room create tomorrow @ann presenter`."
    )
    return Refusal(ErrorCode.ROLE_WITHOUT_MENTION, message)


def _refuse_unknown_role(token: Token, mention: Mention | None) -> Refusal:
    whom = f" for {_display(mention)}" if mention is not None else ""
    close = _close_role(token.text)
    hint = f" Did you mean “{close}”?" if close else ""
    message = (
        f"“{shown(token)}”{whom} is not a role I know.{hint} The roles are presenter, attendee "
        "(the default), consumer and collaborator, e.g. `/room create tomorrow @ann presenter`."
    )
    return Refusal(ErrorCode.UNKNOWN_ROLE, message)


def two_roles_message(who: str, first: Role, second: Role) -> str:
    """The refusal for one person given two roles: the same words for text and the form."""
    return (
        f"{who} is chosen twice, as {first.value.lower()} and as {second.value.lower()}; "
        "choose one role per person."
    )


def _refuse_two_roles(mention: Mention, first: Role, second: Role) -> Refusal:
    message = two_roles_message(_display(mention), first, second)
    example = f"`/room create tomorrow {_display(mention)} {first.value.lower()}`"
    return Refusal(ErrorCode.TWO_ROLES, f"{message[:-1]}, e.g. {example}.")


def _display(mention: Mention) -> str:
    if mention.label:
        label = escape(mention.label)
        return label if label.startswith("@") else f"@{label}"
    return f"<@{mention.id}>"


def forget_kept_words() -> None:
    """Empty the kept tokens and suggestions (`bot.parsing.parser.forget_kept`)."""
    _piece_tokens.cache_clear()
    did_you_mean.cache_clear()
