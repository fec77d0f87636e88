"""``roombot parse``: one text, JSON Lines on stdin, and bad flags."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main

ROOT = Path(__file__).resolve().parents[2]
FLAGS = ["--now", "2027-01-13T15:10:00", "--tz", "Europe/Paris"]


def parse_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, object]:
    assert main(["parse", *argv]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    result: dict[str, object] = json.loads(out)
    return result


def test_single_text(capsys: pytest.CaptureFixture[str]) -> None:
    """One TEXT prints one JSON object in the issue's shape, window included."""
    got = parse_cli(capsys, *FLAGS, "create tomorrow for 3 days <@U01AAA|ann> presenter")
    assert got == {
        "action": "create",
        "valid_from": "2027-01-14T00:00:00+01:00",
        "valid_until": "2027-01-17T00:00:00+01:00",
        "participants": {"U01AAA": "Presenter"},
        "pstn_dial_out": False,
        "window": {"start": "2027-01-14T00:00:00+01:00", "end": "2027-01-17T00:00:00+01:00"},
    }


def test_words_need_no_quotes(capsys: pytest.CaptureFixture[str]) -> None:
    """Several TEXT words are joined with spaces."""
    got = parse_cli(capsys, *FLAGS, "tomorrow", "9am-5pm")
    assert got["valid_from"] == "2027-01-14T09:00:00+01:00"


def test_literal_window_and_groups(capsys: pytest.CaptureFixture[str]) -> None:
    """`window` is the literal reading: a past start and no end stay as said; groups are listed."""
    got = parse_cli(capsys, *FLAGS, "yesterday to tomorrow <!subteam^S0123ABC|@team>")
    assert got["valid_from"] == "2027-01-13T15:10:00+01:00"
    assert got["window"] == {
        "start": "2027-01-12T00:00:00+01:00",
        "end": "2027-01-15T00:00:00+01:00",
    }
    assert got["groups"] == {"S0123ABC": "Attendee"}
    got = parse_cli(capsys, *FLAGS, "at 9")
    assert got["window"] == {"start": "2027-01-14T09:00:00+01:00", "end": None}


def test_other_verbs(capsys: pytest.CaptureFixture[str]) -> None:
    """Other verbs print their action and room id."""
    assert parse_cli(capsys, *FLAGS, "cancel 99117812428622880") == {
        "action": "delete",
        "room_id": "99117812428622880",
    }
    assert parse_cli(capsys, *FLAGS, "extend 99117812428622880 by 90 minutes") == {
        "action": "extend",
        "room_id": "99117812428622880",
        "by": "PT1H30M",
        "until": None,
    }
    assert parse_cli(capsys, *FLAGS, "") == {"action": "modal"}
    assert parse_cli(capsys, *FLAGS, "end 99117812428622880") == {
        "action": "end",
        "room_id": "99117812428622880",
    }


def test_reschedule_prints_the_new_window(capsys: pytest.CaptureFixture[str]) -> None:
    """``reschedule`` (and ``move``) print the room id and the window, as create does."""
    window = {"start": "2027-01-15T10:00:00+01:00", "end": "2027-01-15T12:00:00+01:00"}
    for verb in ("reschedule", "move"):
        assert parse_cli(capsys, *FLAGS, f"{verb} 99117812428622880 friday 10am-12pm") == {
            "action": "reschedule",
            "room_id": "99117812428622880",
            "valid_from": window["start"],
            "valid_until": window["end"],
            "window": window,
        }


def test_errors_are_results(capsys: pytest.CaptureFixture[str]) -> None:
    """A refusal prints an error object and exits 0; a policy refusal carries its window."""
    got = parse_cli(capsys, *FLAGS, "from aug 1 to aug 3")
    assert got["error"]["code"] == "start_too_far_ahead"  # type: ignore[index]
    assert "Aug 2027" in got["error"]["message"]  # type: ignore[index]
    assert got["window"] == {
        "start": "2027-08-01T00:00:00+02:00",
        "end": "2027-08-04T00:00:00+02:00",
    }
    got = parse_cli(capsys, *FLAGS, "create whenever")
    assert got["error"]["code"] == "unrecognised_time"  # type: ignore[index]
    assert "window" not in got


def test_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    """Without --now and --tz: the current time, in UTC."""
    got = parse_cli(capsys, "for 1 hour")
    assert str(got["valid_from"]).endswith("+00:00")


@pytest.mark.parametrize(
    "argv",
    [
        ["--tz", "Mars/Olympus_Mons", "list"],  # no such zone
        ["--now", "yesterday", "list"],  # not ISO 8601
        ["--bogus", "list"],  # no such flag
    ],
)
def test_bad_flags_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """Bad flags are argparse errors: exit code 2 and a message on stderr."""
    with pytest.raises(SystemExit) as exit_info:
        main(["parse", *argv])
    assert exit_info.value.code == 2
    assert "error" in capsys.readouterr().err


def test_json_lines_on_stdin() -> None:
    """Without TEXT, each JSON line on stdin gives one result line, in a real process."""
    lines = [
        {"text": "create tomorrow", "now": "2027-01-13T15:10:00", "tz": "UTC"},
        {
            "text": "1/2/2028",
            "now": "2027-12-13T15:10:00",
            "tz": "Europe/London",
            "locale": "en-GB",
        },
        {"text": "show", "now": "2027-01-13T15:10:00", "tz": "UTC"},
        {"text": "list"},  # now and tz from the flags
    ]
    stdin = "\n".join(json.dumps(line) for line in lines) + "\n\nnot json\n"
    completed = subprocess.run(
        [sys.executable, "-m", "bot.cli", "parse", "--now", "2027-01-13T15:10:00"],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        timeout=60,
    )
    assert completed.returncode == 0, completed.stderr
    results = [json.loads(line) for line in completed.stdout.splitlines()]
    assert len(results) == 5  # the blank line is skipped, the bad one answered
    assert results[0]["valid_from"] == "2027-01-14T00:00:00+00:00"
    assert results[1]["valid_from"] == "2028-02-01T00:00:00+00:00"  # en-GB: 1 February
    assert results[2]["error"]["code"] == "missing_room_id"
    assert results[3] == {"action": "list"}
    assert results[4]["error"]["code"] == "bad_input"


@pytest.mark.parametrize("length", ["90 minutes", "PT90M", "an hour and a half"])
def test_default_length_flag(capsys: pytest.CaptureFixture[str], length: str) -> None:
    """``--default-length`` takes words or ISO 8601 and lasts an instant with no end."""
    got = parse_cli(capsys, *FLAGS, "--default-length", length, "create 4pm")
    assert (got["valid_from"], got["valid_until"]) == (
        "2027-01-13T16:00:00+01:00",
        "2027-01-13T17:30:00+01:00",
    )


def test_default_length_from_the_environment(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the flag, ROOMBOT_DEFAULT_LENGTH applies; a malformed one is named, exit 2."""
    monkeypatch.setenv("ROOMBOT_DEFAULT_LENGTH", "2 hours")
    got = parse_cli(capsys, *FLAGS, "create 4pm")
    assert got["valid_until"] == "2027-01-13T18:00:00+01:00"
    monkeypatch.setenv("ROOMBOT_DEFAULT_LENGTH", "2 months")
    assert main(["parse", *FLAGS, "create 4pm"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "ROOMBOT_DEFAULT_LENGTH is malformed: months differ in length" in err
