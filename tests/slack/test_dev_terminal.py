"""`roombot dev` at a terminal: a real process on a pseudo-terminal, keys sent as typed.

Ctrl-C must cancel the line being typed (as a shell does) and leave the console working;
readline gives line editing and a history that outlives the process. Every wait is an
expect with a deadline; nothing sleeps.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

from tests.slack.dev_console import ROOMBOT, dev_env

PROMPT = "roombot> "
WITHIN = 30.0  # seconds for any one thing to appear
HOME, RIGHT, UP = "\x01", "\x1b[C", "\x1b[A"  # Ctrl-A, the arrow keys as an xterm sends them


@pytest.fixture(name="terminal")
def _terminal(tmp_path: Path) -> Iterator[pexpect.spawn]:
    console = start(tmp_path)
    yield console
    if console.isalive():
        console.terminate(force=True)


def start(folder: Path) -> pexpect.spawn:
    console = pexpect.spawn(
        ROOMBOT,
        ["dev"],
        cwd=str(folder),
        env=dev_env(),
        encoding="utf-8",
        timeout=WITHIN,
        dimensions=(50, 200),
    )
    console.expect_exact(PROMPT)  # after the greeting
    return console


def leave(console: pexpect.spawn, keys: str = ":quit\r") -> str:
    """Send *keys*, wait for the process to end, and return everything it printed last."""
    console.send(keys)
    console.expect(pexpect.EOF)
    console.close()
    assert console.exitstatus == 0, console.before
    return str(console.before)


def test_ctrl_c_cancels_the_line_and_the_next_command_still_runs(
    terminal: pexpect.spawn,
) -> None:
    terminal.send("/room create tomorrow @al")
    # As a person does: Ctrl-C once the typed words show. Keys sent within the same instant
    # as the prompt is drawn are flushed by readline's terminal set-up, before it reads.
    terminal.expect_exact("@al")
    terminal.sendintr()
    terminal.expect_exact(PROMPT)  # a fresh prompt, the half-typed line gone
    terminal.sendintr()  # at an empty prompt too
    terminal.expect_exact(PROMPT)
    terminal.send("/room list\r")
    terminal.expect_exact("No current or upcoming rooms in #general.")
    terminal.expect_exact(PROMPT)
    assert "Traceback" not in str(terminal.before)
    rest = leave(terminal, "\x04")  # Ctrl-D leaves cleanly
    assert "Traceback" not in rest


def test_ctrl_c_in_the_form_closes_it_and_nothing_is_sent(terminal: pexpect.spawn) -> None:
    terminal.send("/room\r")
    terminal.expect_exact("  Title: ")
    terminal.send("tomorrow 9am")
    terminal.expect_exact("9am")  # the words show, then Ctrl-C, as a person does
    terminal.sendintr()
    terminal.expect_exact("(form closed; nothing was sent)")
    terminal.expect_exact(PROMPT)
    terminal.send("/room list\r")
    terminal.expect_exact("No current or upcoming rooms in #general.")
    terminal.expect_exact(PROMPT)
    leave(terminal)


def test_lines_can_be_edited_and_the_history_outlives_the_process(tmp_path: Path) -> None:
    console = start(tmp_path)
    # Typed with a typo, then mended: to the start, six to the right, insert the missing h.
    console.send(f"/room elp{HOME}{RIGHT * 6}h\r")
    console.expect_exact("  (only you) Create a room (the verb is optional):")
    console.expect_exact(PROMPT)
    console.send("/room li\t\r")  # Tab completes the verb
    console.expect_exact("  (only you) No current or upcoming rooms in #general.")
    console.expect_exact(PROMPT)
    leave(console)
    history = (tmp_path / "var" / "dev-history").read_text().splitlines()
    assert history[-2:] == ["/room help", "/room list"]

    again = start(tmp_path)
    again.send(f"{UP}{UP}\r")  # the previous run's last but one command
    again.expect_exact("  (only you) Create a room (the verb is optional):")
    again.expect_exact(PROMPT)
    leave(again)
