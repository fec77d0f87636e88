"""Refusals speak about the command the person typed (issue #11 items 19 and 20)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.parsing.commands import AddParticipants, CreateRoom, ErrorCode, ParseError
from bot.parsing.parser import parse

NOW = datetime(2027, 1, 14, 9, 0, tzinfo=UTC)
MINE = "31415926535897932"


def refused(text: str) -> ParseError:
    result = parse(text, now=NOW, tz="Europe/Paris")
    assert isinstance(result, ParseError), result
    return result


@pytest.mark.parametrize(
    ("text", "example"),
    [
        (f"extend {MINE} by a bit", f"`/room extend {MINE} by 2 hours`"),
        (f"extend {MINE} by 0 hours", f"`/room extend {MINE} by 2 hours`"),
        (f"extend {MINE} by 7 months", f"`/room extend {MINE} by 2 weeks`"),
        (f"extend {MINE} to yesterday", f"`/room extend {MINE} to friday 5pm`"),
        (f"extend {MINE}", f"`/room extend {MINE} to friday 5pm`"),
        (f"delete {MINE} now", f"`/room delete {MINE}`"),
        (f"show {MINE} now", f"`/room show {MINE}`"),
        (f"add {MINE} <@U01AAA|ann> moderator", f"`/room add {MINE} @ann presenter`"),
        (f"add {MINE} presenter <@U01AAA|ann>", f"`/room add {MINE} @ann presenter`"),
        (f"add {MINE} @ann", f"`/room add {MINE} @ann presenter`"),
        (f"remove {MINE} <#C01|general>", f"`/room remove {MINE} @ann`"),
    ],
)
def test_examples_in_a_refusal_use_the_persons_own_room(text: str, example: str) -> None:
    message = refused(text).message
    assert example in message
    assert "99117812428622880" not in message  # not a room the person never named
    assert "/room create" not in message


def test_one_person_with_two_roles_is_refused_as_the_form_refuses_it() -> None:
    error = refused("create tomorrow <@U01AAA|ann> presenter <@U01AAA|ann> attendee")
    assert error.code is ErrorCode.TWO_ROLES
    assert error.message.startswith(
        "@ann is chosen twice, as presenter and as attendee; choose one role per person"
    )
    # Naming someone again without a role, or with the same role, is not a conflict.
    again = parse("create tomorrow <@U01AAA|ann> presenter <@U01AAA|ann>", now=NOW, tz="UTC")
    assert isinstance(again, CreateRoom)
    same = parse(f"add {MINE} <@U01AAA> consumer <@U01AAA> as consumer", now=NOW, tz="UTC")
    assert isinstance(same, AddParticipants)


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ("create tomorrow &lt;b&gt; &amp; co", "“&lt;b&gt; &amp; co”"),
        ("frobnicate&lt;x&gt;", "“frobnicate&lt;x&gt;”"),
        (f"delete {MINE} &lt;!here&gt;", "“&lt;!here&gt;”"),
        ("create tomorrow <@U01AAA|a&amp;b> chair&amp;man", "“chair&amp;man” for @a&amp;b"),
        (f"extend {MINE} by 2 days <@U01AAA|ann>", "“<@U01AAA|ann>”"),  # picked: stays live
        ("create every monday &lt;b&gt;", "“every monday &lt;b&gt;”"),
        (f"reschedule {MINE} tomorrow <#C01|a&amp;b>", "“a&amp;b”"),
        (f'delete {MINE} "R&amp;D &lt;x&gt;"', "“R&amp;D &lt;x&gt;”"),  # a title where none goes
    ],
)
def test_typed_words_are_quoted_escaped_once(text: str, quoted: str) -> None:
    message = refused(text).message
    assert quoted in message
    assert "&amp;amp;" not in message
    assert "&amp;lt;" not in message
