"""Tokens, Slack's escaped mentions, roles and dial-out."""

from __future__ import annotations

import pytest

from bot.domain import Role
from bot.parsing import CreateRoom, ErrorCode, Mention, ParseError
from bot.parsing.grammar import Kind, tokenize
from tests.parsing.helpers import run


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("9am-5pm", ["9am", "-", "5pm"]),  # a glued range is split
        ("3-5pm", ["3", "-", "5pm"]),
        ("mon–fri", ["mon", "-", "fri"]),  # en-dash
        ("mon—fri", ["mon", "-", "fri"]),  # em-dash
        ("2027-01-20", ["2027-01-20"]),  # an ISO date is not
        ("2027-01-20-2027-01-22", ["2027-01-20", "-", "2027-01-22"]),
        ("20-01-2027", ["20-01-2027"]),
        ("20-jan-2027", ["20-jan-2027"]),
        ("jan-20", ["jan-20"]),
        ("nov 20-dec 5", ["nov", "20", "-", "dec", "5"]),
        ("dial-out", ["dial-out"]),
        ("forty-five", ["forty-five"]),
        ("Tomorrow, 9 A.M.", ["tomorrow", "9", "am"]),  # case, commas, dotted meridiem
        ("(friday).", ["friday"]),  # brackets and a full stop
        ("2027-01-20T09:00", ["2027-01-20", "09:00"]),
        ("@3pm", ["at", "3pm"]),  # "@" as "at"
        ("@ noon", ["at", "noon"]),
        ("’til friday", ["til", "friday"]),  # quotes at the edges go
    ],
)
def test_words(text: str, words: list[str]) -> None:
    """Words are case-folded and split where people glue ranges, never inside dates."""
    tokens = tokenize(text)
    assert all(token.kind is Kind.WORD for token in tokens)
    assert [token.text for token in tokens] == words


@pytest.mark.parametrize(
    ("text", "kind", "ident", "label"),
    [
        ("<@U024BE7LH|alice>", Kind.USER, "U024BE7LH", "alice"),
        ("<@U024BE7LH>", Kind.USER, "U024BE7LH", None),  # bare form
        ("<@W0123ABCD|dee>", Kind.USER, "W0123ABCD", "dee"),  # Enterprise Grid
        ("<!subteam^S0123ABC|@team>", Kind.GROUP, "S0123ABC", "@team"),
        ("<!subteam^S0123ABC>", Kind.GROUP, "S0123ABC", None),
        ("<@U024BE7LH|b&amp;b>", Kind.USER, "U024BE7LH", "b&b"),  # escaped label
        ("<#C0123|general>", Kind.NOT_A_PERSON, "#C0123", "general"),
        ("<!here>", Kind.NOT_A_PERSON, "!here", None),
        ("@alice", Kind.PLAIN_AT, "alice", None),  # escaping is off
        ("<@alice>", Kind.PLAIN_AT, "alice", None),  # not an id
    ],
)
def test_escapes(text: str, kind: Kind, ident: str, label: str | None) -> None:
    """Slack's escapes become mention tokens; anything else that looks like one does not."""
    (token,) = tokenize(text)
    assert (token.kind, token.text) == (kind, ident)
    if kind is not Kind.NOT_A_PERSON:
        assert token.label == label


def test_escaped_text_never_becomes_a_mention() -> None:
    """``&lt;@U1&gt;`` is what a user typing ``<@U1>`` sends: text, not a mention."""
    tokens = tokenize("&lt;@U024BE7LH&gt;")
    assert [token.kind for token in tokens] == [Kind.WORD]
    assert tokens[0].raw == "<@U024BE7LH>"


def test_link_is_a_word() -> None:
    """A link is neither a person nor a time; it stays a word, so it is quoted as unreadable."""
    error = run("create tomorrow <https://example.com|example.com>")
    assert isinstance(error, ParseError)
    assert error.code is ErrorCode.UNRECOGNISED_TIME
    assert "example.com" in error.message


# (text, users -> role, groups -> role, dial-out)
INVITEES = [
    # the default role is Attendee
    ("tomorrow <@U01AAA|ann>", {"U01AAA": Role.ATTENDEE}, {}, False),
    # a role word applies to the mention right before it, in any case
    (
        "tomorrow <@U01AAA|ann> PRESENTER <@U01BBB|ben>",
        {"U01AAA": Role.PRESENTER, "U01BBB": Role.ATTENDEE},
        {},
        False,
    ),
    # "as presenter", "as a collaborator"
    (
        "tomorrow <@U01AAA> as presenter <@U01BBB> as a collaborator",
        {"U01AAA": Role.PRESENTER, "U01BBB": Role.COLLABORATOR},
        {},
        False,
    ),
    # mentions first, and between the window's words
    ("<@U01AAA> consumer tomorrow 9am-5pm", {"U01AAA": Role.CONSUMER}, {}, False),
    ("tomorrow <@U01AAA> for 2 hours", {"U01AAA": Role.ATTENDEE}, {}, False),
    # "and", "with" and commas join people
    (
        "tomorrow with <@U01AAA>, <@U01BBB> and <@U01CCC> presenter",
        {"U01AAA": Role.ATTENDEE, "U01BBB": Role.ATTENDEE, "U01CCC": Role.PRESENTER},
        {},
        False,
    ),
    # a repeated mention keeps its role unless it is given a new one
    ("tomorrow <@U01AAA> presenter <@U01AAA>", {"U01AAA": Role.PRESENTER}, {}, False),
    ("tomorrow <@U01AAA> <@U01AAA> consumer", {"U01AAA": Role.CONSUMER}, {}, False),
    # the same person with and without a label is one person
    ("tomorrow <@U01AAA|ann> presenter <@U01AAA>", {"U01AAA": Role.PRESENTER}, {}, False),
    # user groups stay groups, with roles
    ("tomorrow <!subteam^S0123ABC|@team> presenter", {}, {"S0123ABC": Role.PRESENTER}, False),
    # dial-out, pstn, "dial out", "with dial-out"
    ("tomorrow dial-out", {}, {}, True),
    ("tomorrow PSTN", {}, {}, True),
    ("tomorrow <@U01AAA> with dial out", {"U01AAA": Role.ATTENDEE}, {}, True),
    # Enterprise Grid ids
    ("<@W01DDD|dee> presenter", {"W01DDD": Role.PRESENTER}, {}, False),
]


@pytest.mark.parametrize(("text", "users", "groups", "dial_out"), INVITEES)
def test_invitees(
    text: str, users: dict[str, Role], groups: dict[str, Role], dial_out: bool
) -> None:
    """Who is invited, with which role, and whether dial-out is on."""
    result = run(text)
    assert isinstance(result, CreateRoom), getattr(result, "message", result)
    assert result.participants == users
    assert list(result.participants) == list(users)  # in the order mentioned
    assert result.groups == groups
    assert result.pstn_dial_out is dial_out


def test_labels_are_kept() -> None:
    """The name Slack showed is kept beside the id, for messages."""
    result = run("tomorrow <@U01AAA|ann> <!subteam^S0123ABC|@team>")
    assert isinstance(result, CreateRoom)
    assert [item.who for item in result.invitees] == [
        Mention("U01AAA", "ann"),
        Mention("S0123ABC", "@team"),
    ]


# (text, code, words the message must contain)
REFUSALS = [
    (
        "create tomorrow @ann presenter",
        ErrorCode.UNRESOLVED_MENTION,
        "Escape channels, users, and links",
    ),
    ("create tomorrow <@ann>", ErrorCode.UNRESOLVED_MENTION, "should_escape"),
    ("create tomorrow <#C0123|general>", ErrorCode.UNRESOLVED_MENTION, "“general” is not a person"),
    ("create tomorrow <!here>", ErrorCode.UNRESOLVED_MENTION, "“@here” is not a person"),
    ("create tomorrow <mailto:a@b.co|a@b.co>", ErrorCode.UNRESOLVED_MENTION, "“a@b.co”"),
    ("create tomorrow attendee", ErrorCode.ROLE_WITHOUT_MENTION, "“attendee”"),
    ("create tomorrow presenter <@U01AAA>", ErrorCode.ROLE_WITHOUT_MENTION, "after the person"),
    ("create <@U01AAA> presenter attendee", ErrorCode.ROLE_WITHOUT_MENTION, "“attendee”"),
    ("create as presenter", ErrorCode.ROLE_WITHOUT_MENTION, "“presenter”"),
    ("create tomorrow <@U01AAA|ann> moderator", ErrorCode.UNKNOWN_ROLE, "“moderator” for @ann"),
    (
        "create tomorrow <@U01AAA|ann> presentor 9am-5pm",
        ErrorCode.UNKNOWN_ROLE,
        "Did you mean “presenter”?",
    ),
    ("create tomorrow <@U01AAA> as host", ErrorCode.UNKNOWN_ROLE, "“host”"),
    ("create tomorrow <@U01AAA> moderator <@U01BBB>", ErrorCode.UNKNOWN_ROLE, "“moderator”"),
    # "as" with no mention before it and no role after it is just an unknown time phrase
    ("create as soon as possible", ErrorCode.UNRECOGNISED_TIME, "“as soon as possible”"),
]


@pytest.mark.parametrize(("text", "code", "words"), REFUSALS)
def test_refusals(text: str, code: ErrorCode, words: str) -> None:
    """Mentions that cannot be resolved and roles out of place are refused, saying why."""
    error = run(text)
    assert isinstance(error, ParseError)
    assert error.code is code, error.message
    assert words in error.message


def test_a_time_word_after_a_mention_is_not_a_role() -> None:
    """After a mention, a time word belongs to the window (so an odd one is a time error)."""
    result = run("create <@U01AAA> whenever for 2 hours")
    assert isinstance(result, ParseError)
    assert result.code is ErrorCode.UNRECOGNISED_TIME
