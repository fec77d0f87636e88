"""Verbs, the default verb, every error code, and messages whose examples work."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.domain import Role
from bot.parsing import (
    AddParticipants,
    CreateRoom,
    DeleteRoom,
    Duration,
    EndRoom,
    ErrorCode,
    ExtendRoom,
    Invitee,
    ListRooms,
    Mention,
    OpenModal,
    ParseError,
    RemoveParticipants,
    RescheduleRoom,
    RoomCommand,
    ShowHelp,
    ShowRoom,
    parse,
    warm_up,
)
from tests.parsing.helpers import NOW, run, working_examples

ROOM = "99117812428622880"
UTC_ZONE = ZoneInfo("UTC")
ANN = Mention("U01AAA", "ann")
BEN = Mention("U01BBB")
TEAM = Mention("S0123ABC", "@team")

VERBS: list[tuple[str, RoomCommand]] = [
    ("", OpenModal()),  # empty text opens the modal
    ("   ", OpenModal()),  # so does whitespace
    ("list", ListRooms()),
    ("LIST", ListRooms()),  # any case
    ("help", ShowHelp()),
    ("help extend", ShowHelp("extend")),
    ("help cancel", ShowHelp("delete")),  # an alias names its verb
    ("help me please", ShowHelp()),  # help never refuses
    (f"show {ROOM}", ShowRoom(ROOM)),
    (f"delete {ROOM}", DeleteRoom(ROOM)),
    (f"cancel {ROOM}", DeleteRoom(ROOM)),  # alias
    (f"end {ROOM}", EndRoom(ROOM)),
    ("help move", ShowHelp("reschedule")),
    (f"extend {ROOM} by 2 hours", ExtendRoom(ROOM, Duration(seconds=7200), None, UTC_ZONE)),
    (f"extend {ROOM} 1 week", ExtendRoom(ROOM, Duration(days=7), None, UTC_ZONE)),  # "by" implied
    (f"extend {ROOM} for a fortnight", ExtendRoom(ROOM, Duration(days=14), None, UTC_ZONE)),
    (  # fractional days are hours of elapsed time
        f"extend {ROOM} by 1 month and 1.5 days",
        ExtendRoom(ROOM, Duration(months=1, days=1, seconds=43200), None, UTC_ZONE),
    ),
    (
        f"extend {ROOM} to friday 5pm",
        ExtendRoom(ROOM, None, datetime(2027, 1, 15, 17, tzinfo=UTC_ZONE), UTC_ZONE),
    ),
    (  # a date-only end includes the day
        f"extend {ROOM} until jan 30",
        ExtendRoom(ROOM, None, datetime(2027, 1, 31, tzinfo=UTC_ZONE), UTC_ZONE),
    ),
    (  # a clock time alone: its next occurrence
        f"extend {ROOM} till 3pm",
        ExtendRoom(ROOM, None, datetime(2027, 1, 14, 15, tzinfo=UTC_ZONE), UTC_ZONE),
    ),
    (
        f"add {ROOM} <@U01AAA|ann> presenter <@U01BBB> <!subteam^S0123ABC|@team> consumer",
        AddParticipants(
            ROOM,
            (
                Invitee(ANN, Role.PRESENTER),
                Invitee(BEN, Role.ATTENDEE),
                Invitee(TEAM, Role.CONSUMER),
            ),
        ),
    ),
    (  # add also changes a role
        f"add {ROOM} <@U01BBB> as collaborator",
        AddParticipants(ROOM, (Invitee(BEN, Role.COLLABORATOR),)),
    ),
    (
        f"remove {ROOM} <@U01AAA|ann> and <@U01BBB> <!subteam^S0123ABC|@team>",
        RemoveParticipants(ROOM, (ANN, BEN, TEAM)),
    ),
]


@pytest.mark.parametrize(("text", "command"), VERBS, ids=[text or "(empty)" for text, _ in VERBS])
def test_verbs(text: str, command: RoomCommand) -> None:
    """Each verb gives its command."""
    assert run(text) == command


def test_create_is_the_default_verb() -> None:
    """Without a verb the text is a create; with it, the same command."""
    assert run("tomorrow for 1 week <@U01AAA|ann>") == run(
        "create tomorrow for 1 week <@U01AAA|ann>"
    )
    assert isinstance(run("<@U01AAA> presenter"), CreateRoom)  # a mention first
    assert isinstance(run("dial-out"), CreateRoom)


def test_extend_counts_calendar_days_in_the_users_zone() -> None:
    """``extend by 1 day`` keeps the wall-clock time across DST in the user's zone."""
    result = run(f"extend {ROOM} by 1 day", "2027-03-13T09:00:00", "America/New_York")
    assert isinstance(result, ExtendRoom)
    current = datetime.fromisoformat("2027-03-13T17:00:00+00:00")  # 12:00 EST, any zone will do
    assert result.new_valid_until(current).isoformat() == "2027-03-14T12:00:00-04:00"


def test_extend_to_a_moment_ignores_the_current_end() -> None:
    """``extend to WHEN`` is that moment, whatever the room's end is now."""
    result = run(f"extend {ROOM} to friday 5pm")
    assert isinstance(result, ExtendRoom)
    assert (
        result.new_valid_until(datetime.fromisoformat("2027-01-20T00:00:00+00:00")) == result.until
    )


@pytest.mark.parametrize("verb", ["reschedule", "move"])
def test_reschedule_reads_the_window_as_create_does(verb: str) -> None:
    """``reschedule``/``move`` take any window ``create`` takes, read the same way."""
    for window in ("friday 10am-12pm", "tomorrow for 3 days", "in 2 hours", "1/20 - 1/22"):
        created = run(f"create {window}", tz="Europe/Paris")
        moved = run(f"{verb} {ROOM} {window}", tz="Europe/Paris")
        assert isinstance(created, CreateRoom)
        assert isinstance(moved, RescheduleRoom), moved
        assert moved.room_id == ROOM
        assert (moved.valid_from, moved.valid_until, moved.window) == (
            created.valid_from,
            created.valid_until,
            created.window,
        )


@pytest.mark.parametrize("text", ["yesterday", "whenever", "for 7 months", "from aug 1 to aug 3"])
def test_reschedule_refusals_offer_examples_for_that_room(text: str) -> None:
    """A window refused in a reschedule is answered with reschedules of the same room."""
    error = run(f"move {ROOM} {text}")
    assert isinstance(error, ParseError)
    found = working_examples(error.message)
    assert found
    assert all(example.startswith(f"move {ROOM} ") for example in found), found


def test_end_of_day_still_creates() -> None:
    """``end`` became a verb, but ``/room end of day`` is still a window, as before."""
    assert isinstance(run("end of day"), CreateRoom)
    assert isinstance(run(f"end {ROOM}"), EndRoom)


def test_recurring_rooms_are_refused_in_words_with_examples() -> None:
    """``every monday`` is not an unknown command: it says recurring rooms are not supported."""
    error = run("every monday")
    assert isinstance(error, ParseError)
    assert error.code is ErrorCode.RECURRING_NOT_SUPPORTED
    assert "I don't know the command" not in error.message
    assert "Recurring rooms are not supported yet" in error.message
    assert "“every monday”" in error.message
    rescheduled = run(f"move {ROOM} every friday")
    assert isinstance(rescheduled, ParseError)
    assert f"`/room move {ROOM} next monday 9am-10am`" in rescheduled.message


# (text, code): every error code parse can give
ERRORS = [
    ("rename 99117812428622880", ErrorCode.MISSING_TITLE),
    ("rename 99117812428622880 design review", ErrorCode.MISSING_TITLE),
    ("tomorrow 9am remind soon", ErrorCode.BAD_REMINDER),
    (f'create tomorrow "{"x" * 101}"', ErrorCode.TITLE_TOO_LONG),
    ("frobnicate the room", ErrorCode.UNKNOWN_COMMAND),
    ("creat tomorrow", ErrorCode.UNKNOWN_COMMAND),  # did you mean create
    ("show", ErrorCode.MISSING_ROOM_ID),
    ("show tomorrow", ErrorCode.MISSING_ROOM_ID),  # not a room id
    ("delete", ErrorCode.MISSING_ROOM_ID),
    ("extend by 2 hours", ErrorCode.MISSING_ROOM_ID),
    ("add <@U01AAA>", ErrorCode.MISSING_ROOM_ID),
    (f"add {ROOM}", ErrorCode.MISSING_MENTION),
    (f"remove {ROOM}", ErrorCode.MISSING_MENTION),
    ("list all", ErrorCode.UNEXPECTED_ARGUMENT),
    (f"show {ROOM} now", ErrorCode.UNEXPECTED_ARGUMENT),
    (f"add {ROOM} <@U01AAA> tomorrow please", ErrorCode.UNEXPECTED_ARGUMENT),
    (f"add {ROOM} <@U01AAA> dial-out", ErrorCode.UNEXPECTED_ARGUMENT),
    (f"remove {ROOM} <@U01AAA> presenter", ErrorCode.UNEXPECTED_ARGUMENT),  # no roles to remove
    (f"remove {ROOM} <@U01AAA> moderator", ErrorCode.UNEXPECTED_ARGUMENT),
    ("create tomorrow @ann", ErrorCode.UNRESOLVED_MENTION),
    (f"add {ROOM} @ann", ErrorCode.UNRESOLVED_MENTION),
    ("create tomorrow attendee", ErrorCode.ROLE_WITHOUT_MENTION),
    ("create tomorrow <@U01AAA|ann> moderator", ErrorCode.UNKNOWN_ROLE),
    (f"add {ROOM} <@U01AAA|ann> moderator", ErrorCode.UNKNOWN_ROLE),
    ("create tomorrow <@U01AAA|ann> presenter <@U01AAA|ann> attendee", ErrorCode.TWO_ROLES),
    (f"add {ROOM} <@U01AAA|ann> as presenter <@U01AAA|ann> consumer", ErrorCode.TWO_ROLES),
    ("create whenever", ErrorCode.UNRECOGNISED_TIME),
    (f"extend {ROOM}", ErrorCode.UNRECOGNISED_TIME),
    (f"extend {ROOM} by a bit", ErrorCode.UNRECOGNISED_TIME),
    ("create from jan 25 to jan 20", ErrorCode.END_BEFORE_START),
    ("create for 0 minutes", ErrorCode.EMPTY_WINDOW),
    (f"extend {ROOM} by 0 hours", ErrorCode.EMPTY_WINDOW),
    ("create yesterday for 2 hours", ErrorCode.WINDOW_IN_PAST),
    (f"extend {ROOM} to yesterday", ErrorCode.WINDOW_IN_PAST),
    ("create from aug 1 to aug 3", ErrorCode.START_TOO_FAR_AHEAD),
    ("create for 7 months", ErrorCode.WINDOW_TOO_LONG),
    (f"extend {ROOM} by 7 months", ErrorCode.WINDOW_TOO_LONG),
    ("end", ErrorCode.MISSING_ROOM_ID),
    ("reschedule tomorrow", ErrorCode.MISSING_ROOM_ID),
    (f"end {ROOM} now", ErrorCode.UNEXPECTED_ARGUMENT),
    (f"move {ROOM} <@U01AAA> tomorrow", ErrorCode.UNEXPECTED_ARGUMENT),
    (f"reschedule {ROOM}", ErrorCode.UNRECOGNISED_TIME),
    (f"move {ROOM} whenever", ErrorCode.UNRECOGNISED_TIME),
    (f"reschedule {ROOM} yesterday", ErrorCode.WINDOW_IN_PAST),
    (f"move {ROOM} for 7 months", ErrorCode.WINDOW_TOO_LONG),
    ("every monday", ErrorCode.RECURRING_NOT_SUPPORTED),
    ("create every monday 9am-10am <@U01AAA|ann>", ErrorCode.RECURRING_NOT_SUPPORTED),
    ("tomorrow 9am weekly", ErrorCode.RECURRING_NOT_SUPPORTED),
    (f"reschedule {ROOM} daily at 9am", ErrorCode.RECURRING_NOT_SUPPORTED),
]


@pytest.mark.parametrize(("text", "code"), ERRORS)
def test_error_codes(text: str, code: ErrorCode) -> None:
    """Each refusal has its code and a message sentence."""
    error = run(text)
    assert isinstance(error, ParseError), error
    assert error.code is code, error.message
    assert error.message.endswith((".", "collaborator."))


def test_every_error_code_is_tested() -> None:
    """The table above covers every code there is."""
    assert {code for _, code in ERRORS} == set(ErrorCode)


@pytest.mark.parametrize(("text", "code"), ERRORS)
def test_error_examples_work(text: str, code: ErrorCode) -> None:
    """Every example a message offers is a command that works, at the same moment and zone."""
    error = run(text)
    assert isinstance(error, ParseError)
    examples = working_examples(error.message)
    assert examples, f"{code}: no example in {error.message!r}"
    for example in examples:
        result = run(example)
        assert not isinstance(result, ParseError), f"{example!r}: {result.message}"


def test_unknown_command_suggests_a_verb_and_shows_usage() -> None:
    """An unknown verb gets a did-you-mean and the usage."""
    error = run("lsit")
    assert isinstance(error, ParseError)
    assert "Did you mean `list`?" in error.message
    assert "Usage:" in error.message


def test_unresolved_mention_tells_the_admin_what_to_do() -> None:
    """A plain @name tells how to turn Slack's escaping on, and never guesses the person."""
    error = run("create tomorrow @alice presenter")
    assert isinstance(error, ParseError)
    assert "“@alice”" in error.message
    assert "Escape channels, users, and links" in error.message


@pytest.mark.parametrize(
    "now",
    [
        datetime.fromisoformat("2027-01-13T15:10:00"),  # naive: local time in tz
        datetime.fromisoformat("2027-01-13T14:10:00+00:00"),  # aware, another zone
        datetime.fromisoformat("2027-01-13T15:10:00+01:00"),  # aware, same offset
    ],
)
def test_now_naive_or_aware(now: datetime) -> None:
    """*now* may be naive local time or aware in any zone; the result is the same."""
    result = parse("for 1 hour", now=now, tz="Europe/Paris")
    assert isinstance(result, CreateRoom)
    assert result.valid_from.isoformat() == "2027-01-13T15:10:00+01:00"


def test_tz_may_be_a_tzinfo() -> None:
    """*tz* may be a tzinfo as well as an IANA name."""
    now = datetime.fromisoformat(NOW)
    assert parse("tomorrow", now=now, tz=ZoneInfo("Asia/Tokyo")) == parse(
        "tomorrow", now=now, tz="Asia/Tokyo"
    )


@pytest.mark.parametrize("tz", ["Mars/Olympus_Mons", "", "../etc/passwd"])
def test_unknown_zone_is_a_programming_error(tz: str) -> None:
    """An unknown zone is not a user's mistake: ValueError, naming it."""
    with pytest.raises(ValueError, match="unknown time zone"):
        parse("tomorrow", now=datetime.fromisoformat(NOW), tz=tz)


def test_parse_is_pure() -> None:
    """The same arguments give the same answer, whatever the real clock says."""
    now = datetime.fromisoformat("1999-12-31T23:59:59")  # far from today
    first = parse("tomorrow 9am-5pm <@U01AAA>", now=now, tz="Pacific/Kiritimati")
    assert first == parse("tomorrow 9am-5pm <@U01AAA>", now=now, tz="Pacific/Kiritimati")
    assert isinstance(first, CreateRoom)
    assert first.valid_from.isoformat() == "2000-01-01T09:00:00+14:00"


def test_warm_up_then_dateparser_atoms() -> None:
    """`warm_up` runs, and afterwards a date atom only dateparser knows is read."""
    warm_up()
    result = run("20 th january")  # "january the 20th" is our own grammar's since part three
    assert isinstance(result, CreateRoom)
    assert result.valid_from.isoformat() == "2027-01-20T00:00:00+00:00"


def test_duration_formats() -> None:
    """A length prints as ISO 8601 and as words."""
    length = Duration(months=1, days=2, seconds=3 * 3600 + 30 * 60)
    assert length.isoformat() == "P1M2DT3H30M"
    assert str(length) == "1 month 2 days 3 hours 30 minutes"
    assert Duration().isoformat() == "PT0S"
    assert Duration(seconds=61).isoformat() == "PT1M1S"
