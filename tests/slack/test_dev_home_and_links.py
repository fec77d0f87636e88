"""The console's `/home` and pasted room links, end to end: lines read by the real `Console`,
each sent signed to the real server on loopback (emulator, fake Slack, SQLite in tmp_path),
and what the console printed checked against what the bot did.

The lines are produced while the console runs, so a line can use what an earlier one printed
(a room's id) and the bot's own public URL, which is only known once the server is up.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from functools import partial
from pathlib import Path

from bot.local.console.bot_thread import BotThread
from bot.local.console.console import Console
from bot.local.console.session import Session
from bot.local.console.terminal import ScriptLines
from bot.local.dev_cli import LocalBot, local_bot
from tests.slack.dev_console import room_ids, run_script

Script = Callable[[io.StringIO, str], Iterator[str]]


def _run(tmp_path: Path, script: Script) -> tuple[str, LocalBot, BotThread[LocalBot]]:
    """Run the console on *script*'s lines; the transcript, and the still-running bot's
    thread (the caller closes it) so the test can look at the records."""
    out = io.StringIO()
    thread: BotThread[LocalBot] = BotThread(
        lambda: local_bot(f"sqlite+aiosqlite:///{tmp_path}/console.db")
    )
    thread.__enter__()
    try:
        bot = thread.resource
        session = thread.call(partial(Session, bot, raw=False, workspace_file=None))
        public = bot.runtime.settings.public_url
        assert public is not None
        assert Console(thread, session, ScriptLines(script(out, public)), out).run() == 0
    except BaseException:
        thread.__exit__(None, None, None)
        raise
    return out.getvalue(), bot, thread


def _section(transcript: str, line: str) -> str:
    """What the console printed for the step *line* (up to the next prompt)."""
    start = transcript.index(f"roombot> {line}\n") + len(f"roombot> {line}\n")
    end = transcript.find("roombot> ", start)
    return transcript[start : end if end >= 0 else None]


def test_home_shows_my_rooms_and_its_buttons_work_as_in_slack(tmp_path: Path) -> None:
    def script(out: io.StringIO, public: str) -> Iterator[str]:
        yield '/room create tomorrow 9am-10am @bob "Design review"'
        yield "/home"
        yield ":press Extend"
        yield ":press Create"
        yield ":cancel"

    transcript, bot, thread = _run(tmp_path, script)
    try:
        (room_id,) = set(room_ids(transcript))
        home = _section(transcript, "/home")
        assert home.startswith("  (your Home) Your rooms\n  [Create a room]\n")
        assert f"Design review · `{room_id}`" in home
        assert "You: presenter, you created it · in #general" in home
        assert "[Join]  [Extend 1 day]  [Delete]" in home

        # The Home's Extend (a `view` press, not the card's) extended the room by a day, the
        # card changed in place and the Home was drawn again with the new end.
        room = thread.run(bot.runtime.store.rooms.get(room_id))
        assert room is not None
        assert room.valid_until - room.valid_from == timedelta(days=1, hours=1)
        extended = _section(transcript, ":press Extend")
        assert "#general (edited) Design review" in extended
        redrawn = extended[extended.index("  (your Home) (edited) Your rooms") :]
        assert f"Design review · `{room_id}`" in redrawn
        assert home.split("→")[1].split("\n")[0] not in redrawn  # the old end is gone

        # Create a room, in the Home, opens the form, asked one field a line like `/room`'s.
        assert "📝 Create a room" in _section(transcript, ":press Create")
        assert "(form closed; nothing was sent)" in transcript
    finally:
        thread.__exit__(None, None, None)


def test_home_buttons_are_pressed_only_while_the_home_is_what_was_shown_last(
    tmp_path: Path,
) -> None:
    """A card with buttons shown after the Home takes `:press` back, as the help says."""

    def script(out: io.StringIO, public: str) -> Iterator[str]:
        yield "/room create tomorrow 9am-10am"
        yield "/home"
        yield "/room create friday 9am-10am"
        yield ":press Delete"
        yield "y"

    transcript, bot, thread = _run(tmp_path, script)
    try:
        first, second = room_ids(transcript)[0], room_ids(transcript)[-1]
        assert first != second
        kept = thread.run(bot.runtime.store.rooms.get(first))
        deleted = thread.run(bot.runtime.store.rooms.get(second))
        assert kept is not None
        assert kept.active
        assert deleted is None or not deleted.active
    finally:
        thread.__exit__(None, None, None)


def test_a_pasted_room_link_is_unfurled_under_the_message(tmp_path: Path) -> None:
    def script(out: io.StringIO, public: str) -> Iterator[str]:
        yield '/room create tomorrow 9am-10am @bob "Design review"'
        room_id = room_ids(out.getvalue())[0]
        yield f"We meet here: {public}/rooms/{room_id}"
        yield f"This one is no room: {public}/rooms/12345678"
        yield "no link in this line"
        yield ":as bob"
        yield ":press Join"

    transcript, bot, thread = _run(tmp_path, script)
    try:
        room_id = room_ids(transcript)[0]
        link = f"{bot.runtime.settings.public_url}/rooms/{room_id}"
        pasted = _section(transcript, f"We meet here: {link}").splitlines()
        assert pasted[0] == f"  #general @you: We meet here: {link}"
        assert pasted[1] == f"    ┃ 📹 Design review ({link})"
        assert "⏳ Not open yet · 2 participants" in pasted[2]
        assert pasted[3] == "    ┃ [Join]"
        (call,) = bot.slack.calls_to("chat.unfurl")
        assert call.ok

        # A link to no room is a message and nothing more: the bot says nothing about it.
        public = bot.runtime.settings.public_url
        other = _section(transcript, f"This one is no room: {public}/rooms/12345678")
        assert "┃" not in other
        assert len(bot.slack.calls_to("chat.unfurl")) == 1
        assert "a line with a link is a message" in transcript

        # The unfurl's Join is pressed as Slack sends it (its container the app's unfurl): bob,
        # on the room, gets his personal link, only for him.
        joined = transcript[transcript.index("roombot (@bob)> :press Join") :]
        assert f"(only you) 🔗 Your personal link to room `{room_id}`" in joined
        assert "as attendee" in joined
    finally:
        thread.__exit__(None, None, None)


def test_help_lists_home_and_links_in_a_roombot_dev_run(tmp_path: Path) -> None:
    """The real `roombot dev` process: `help`, then `/home` (no rooms yet) from a pipe."""
    done = run_script(tmp_path, "help\n/home\n")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "/home opens your roombot Home" in out
    assert "a line with a room link in it" in out
    assert re.search(r"Room links here: http://localhost:\d+/rooms/ROOM_ID", out)
    home = out[out.index("roombot> /home") :]
    assert "(your Home) Your rooms" in home
    assert "You have no upcoming rooms" in home
