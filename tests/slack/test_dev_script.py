"""`roombot dev` driven through its standard input: the form, the buttons, `--as`, and rooms
from an earlier run. Each test is a real `roombot dev` process: the emulator, SQLite, the fake
Slack and the bot server over loopback, with every request signed as Slack signs it."""

from __future__ import annotations

import re
from pathlib import Path

from tests.slack.dev_console import room_ids, run_script


def test_a_script_prints_a_transcript_as_before(tmp_path: Path) -> None:
    done = run_script(tmp_path, "/room create tomorrow @alice\n/room list\n")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "roombot> /room create tomorrow @alice"
    assert lines[1] == "  (only you) ⏳ Creating your room…"
    assert lines[2] == "  #general 📹 Room ready — created by @you"
    assert "roombot> /room list" in lines
    assert "Type a /room command" not in done.stdout  # no greeting, no prompts: a transcript
    assert done.stderr == ""


def test_the_form_is_filled_one_line_per_field_and_errors_are_asked_again(
    tmp_path: Path,
) -> None:
    script = "\n".join(
        [
            "/room",
            "Stand-up",  # Title
            "tomorrow 5pm - 9am",  # When: the bot refuses it
            "tomorrow",  # Starts: not a date-time the picker could give
            "",  # Starts, again: left empty
            "",  # Ends
            "",  # Presenters (you are one anyway)
            "@ann",  # Collaborators
            "",  # Attendees
            "",  # Consumers
            "maybe",  # Phone: a checkbox is y or n
            "y",
            "#nowhere",  # Post to: no such channel
            "",  # Post to: the default, this channel
            "tomorrow 9am-5pm",  # When, asked again after the bot's error
            "/room list",
        ]
    )
    done = run_script(tmp_path, script + "\n")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "📝 Create a room" in out
    assert "  When: tomorrow 5pm - 9am" in out
    assert "  ! Write Starts as 2026-12-03 14:00." in out
    assert "  ! Answer Phone with y or n." in out
    assert "  ! There is no channel #nowhere; try #general." in out
    refusal = next(line for line in out.splitlines() if line.startswith("  ! When:"))
    assert "before it starts" in refusal
    after_refusal = out[out.index(refusal) :]
    assert "  When: tomorrow 9am-5pm" in after_refusal
    assert "Starts" not in after_refusal.split("#general")[0]  # only the refused field again
    card = after_refusal[after_refusal.index("#general Stand-up\n  📹 Room ready") :]
    assert "Presenters: @you" in card
    assert "Collaborators: @ann" in card
    assert "Dial-out (PSTN)\n  On" in card
    assert re.search(r"Opens\n  \w{3}, \w{3} \d+ \d{4} 09:00 (GMT|BST)", card)
    assert re.search(r"Closes\n  \w{3}, \w{3} \d+ \d{4} 17:00 (GMT|BST)", card)
    assert "Rooms in #general (1)" in out


def test_a_form_can_be_sent_as_it_is_or_closed(tmp_path: Path) -> None:
    script = "/room\n:cancel\n/room list\n/room\n\nin 2 hours\n:submit\n/room list\n"
    done = run_script(tmp_path, script)
    assert done.returncode == 0, done.stderr
    first_list, second_list = done.stdout.split("roombot> /room list")[1:]
    assert "(form closed; nothing was sent)" in done.stdout
    assert "No current or upcoming rooms" in first_list
    assert "#general 📹 Room ready — created by @you" in first_list  # from the :submit form
    assert "Rooms in #general (1)" in second_list


def test_input_ending_inside_the_form_closes_it(tmp_path: Path) -> None:
    done = run_script(tmp_path, "/room\ntomorrow\n")
    assert done.returncode == 0, done.stderr
    assert "(form closed; nothing was sent)" in done.stdout
    assert "Room ready" not in done.stdout


def test_card_buttons_are_pressed_by_number_label_or_room_id(tmp_path: Path) -> None:
    script = "\n".join(
        [
            "/room create tomorrow @alice",
            ":press",  # which one? lists them
            ":press Extend",
            ":press 3",  # Delete asks first
            "n",
            ":press 7",
            "/room create friday @bob",
            ":press {first} delete",
            "y",
            ":press 2",  # the last card shown is the deleted one
        ]
    )
    first_run = run_script(tmp_path, "/room create tomorrow @carol\n")
    first = room_ids(first_run.stdout)[0]
    done = run_script(tmp_path, script.replace("{first}", first) + "\n")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    room = room_ids(out)[0]
    assert room != first
    assert "1 [Join]  2 [Extend 1 day]  3 [Delete]" in out
    extended = out[out.index("roombot> :press Extend") : out.index("roombot> :press 3")]
    assert f"(only you) Room `{room}` now closes at" in extended
    assert "#general (edited) 📅 Room extended by @you" in extended
    kept = out[out.index("roombot> :press 3") : out.index("roombot> :press 7")]
    assert "Delete this room?" in kept
    assert "(not pressed)" in kept
    assert "deleted" not in kept.split("(y: Delete, n: Keep it)")[1]
    assert "There is no button 7" in out
    deleted = out[out.index(f"roombot> :press {first} delete") : out.index("roombot> :press 2")]
    assert f"(only you) Room `{first}` was deleted." in deleted
    assert f"#general (edited) 🗑️  ~Room `{first}`~ was deleted." in deleted
    assert out.rstrip().endswith(
        "! The last card shown has no buttons any more; "
        "press another by its room id, e.g. :press ROOM_ID Extend"
    )


def test_commands_and_presses_go_as_the_chosen_user(tmp_path: Path) -> None:
    script = "/room create tomorrow\n:as 42\n:as bob\n:press Delete\ny\n:as alice\n:press 2\n"
    done = run_script(tmp_path, script, "--as", "alice")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "roombot (@alice)> /room create tomorrow" in out
    assert "#general 📹 Room ready — created by @alice" in out
    assert "Presenters: @alice" in out
    assert "  ! '42' cannot be a person's name here; e.g. :as alice" in out
    assert "roombot (@alice)> :as bob" in out  # still alice after the refusal
    assert "  You are @bob (" in out
    refused = out[out.index("roombot (@bob)> :press Delete") : out.index("roombot (@bob)> :as")]
    assert "(only you) ⚠️  Only the room's creator (@alice)" in refused
    assert "(edited)" not in refused
    extended = out[out.index("roombot (@alice)> :press 2") :]
    assert "#general (edited) 📅 Room extended by @alice" in extended


def test_a_room_from_an_earlier_run_is_managed_in_place_without_warnings(
    tmp_path: Path,
) -> None:
    first = run_script(tmp_path, "/room create tomorrow @alice\n")
    room = room_ids(first.stdout)[0]
    second = run_script(tmp_path, f"/room extend {room} by 1 day\n:press {room} Delete\ny\n")
    assert second.returncode == 0, second.stderr
    assert second.stderr == ""
    out = second.stdout
    for noise in ("WARNING", "message_not_found", "Traceback", "slack"):
        assert noise not in out
    # The card the first run posted is updated where it stands, with the people's names.
    assert "#general (edited) 📅 Room extended by @you" in out
    assert "Attendees: @alice" in out
    assert "#general 📹" not in out  # not posted a second time
    assert f"#general (edited) 🗑️  ~Room `{room}`~ was deleted." in out


def test_without_the_kept_workspace_library_warnings_go_to_the_log_file(tmp_path: Path) -> None:
    first = run_script(tmp_path, "/room create tomorrow\n")
    room = room_ids(first.stdout)[0]
    (tmp_path / "var" / "dev-slack.json").unlink()  # e.g. a var/ from before it was kept
    second = run_script(tmp_path, f"/room extend {room} by 1 day\n")
    assert second.returncode == 0, second.stderr
    assert second.stderr == ""
    assert "WARNING" not in second.stdout
    assert "#general 📅 Room extended by @you" in second.stdout  # posted again: Slack forgot it
    log = (tmp_path / "var" / "dev.log").read_text()
    assert "could not update the message of room" in log
    assert "message_not_found" in log


def test_as_refuses_what_cannot_be_a_name(tmp_path: Path) -> None:
    done = run_script(tmp_path, "/room list\n", "--as", "4ever")
    assert done.returncode == 2
    assert done.stderr == (
        "roombot: --as: '4ever' cannot be a person's name here; e.g. --as alice\n"
    )
    assert done.stdout == ""


def test_after_room_show_a_press_means_the_room_shown(tmp_path: Path) -> None:
    first = room_ids(run_script(tmp_path, "/room create tomorrow\n").stdout)[0]
    script = f"/room create friday\n/room show {first}\n:press Extend\n"
    done = run_script(tmp_path, script)
    assert done.returncode == 0, done.stderr
    pressed = done.stdout[done.stdout.index("roombot> :press Extend") :]
    assert f"(only you) Room `{first}` now closes at" in pressed
    assert f"`{first}`" in pressed.split("(edited)")[1]


def test_a_slash_command_that_is_not_roombots_is_answered_by_the_console(tmp_path: Path) -> None:
    """As in Slack, only /room reaches the bot: another slash command (a newcomer's /quit)
    gets a plain answer naming the right one, not the bot's HTTP 404."""
    done = run_script(tmp_path, "/quit\n/room list\n")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[:2] == [
        "roombot> /quit",
        "  /quit is not a command here: roombot's is /room (help lists what the console "
        "takes; :quit or Ctrl-D leaves).",
    ]
    assert "HTTP 404" not in done.stdout
    assert "roombot> /room list" in lines  # and the session goes on
