"""The console loop: read a line, do what it says, print what the channel shows.

It runs on the main thread and only talks to the bot through `BotThread`, so Ctrl-C at the
prompt cancels the line (and while a step runs, only the waiting: what the bot still posts is
shown after the next step), and nothing but this loop prints to the terminal.
"""

from __future__ import annotations

import argparse
import json
import sys
from functools import partial
from pathlib import Path
from typing import Any, TextIO

from bot.local.console import form
from bot.local.console.bot_thread import BotThread
from bot.local.console.buttons import parse_choice
from bot.local.console.logfile import route_logs
from bot.local.console.session import PERSON, Session, Step
from bot.local.console.terminal import LineSource, ScriptLines, Terminal
from bot.local.console.transcript import readable
from bot.local.dev_cli import CHANNEL, DEFAULT_DATABASE, ME, LocalBot, local_bot
from bot.local.fake_slack import View
from bot.local.fake_slack_ext import links_in
from bot.slack.app import COMMAND

PROMPT = "roombot> "
EMULATOR_STATE = Path("var/dev-emulator.json")
PEOPLE_STATE = Path("var/dev-people.json")
WORKSPACE_STATE = Path("var/dev-slack.json")
HISTORY_FILE = Path("var/dev-history")
HELP = """Type a /room command, e.g.
  /room create tomorrow for 2 weeks @alice presenter @bob
  /room list
  /room help
  /room          (the form: answer its fields one per line)
/home opens your roombot Home (your rooms, with their buttons); a line with a room link in it
is a message to #general, and the bot unfurls the link into the room's card under it.
Plain @names become local users. :press 2 or :press Extend presses a button on the last
card, Home or unfurl shown (:press ROOM_ID Delete on a room's card); :as NAME acts as
someone else; :users lists people; help (or :help) shows this; :quit (or Ctrl-D) leaves."""
COMPLETIONS = (
    "/room",
    *(f"/room {verb}" for verb in ("create", "list", "show", "extend", "add", "remove", "delete")),
    "/home",
    *(":press", ":as", ":users", ":help", ":quit"),
)
STOPPED = "  (stopped waiting; what the bot still posts shows after your next command)"
FORM_CLOSED = "  (form closed; nothing was sent)"


def main(args: argparse.Namespace) -> int:
    """`roombot dev`: start the local bot, then read lines until the input ends."""
    route_logs(args.log_file, args.log_level)
    source: LineSource
    if args.script is not None:
        try:
            text = args.script.read_text(encoding="utf-8")
        except OSError as exc:
            print(f"roombot: cannot read {args.script}: {exc.strerror}", file=sys.stderr)
            return 2
        source = ScriptLines(text.splitlines())
    elif sys.stdin.isatty():
        source = Terminal(HISTORY_FILE, words=COMPLETIONS)
    else:
        source = ScriptLines(sys.stdin)
    if not PERSON.fullmatch(args.user.lstrip("@")):
        message = f"{args.user!r} cannot be a person's name here; e.g. --as alice"
        print(f"roombot: --as: {message}", file=sys.stderr)
        return 2
    persistent = args.database == DEFAULT_DATABASE
    try:
        with BotThread(
            lambda: local_bot(
                args.database,
                emulator_state=EMULATOR_STATE if persistent else None,
                people_state=PEOPLE_STATE if persistent else None,
                multi_workspace=args.multi_workspace,
            )
        ) as thread:
            workspace_file = WORKSPACE_STATE if persistent else None
            session = thread.call(
                partial(Session, thread.resource, raw=args.json, workspace_file=workspace_file)
            )
            console = Console(thread, session, source, sys.stdout)
            if thread.resource.install_steps:
                console.say(
                    "Installed roombot in the local workspace:", *thread.resource.install_steps
                )
            if args.user != ME[1]:
                thread.call(session.act_as, args.user)
            return console.run()
    except KeyboardInterrupt:  # before the prompt, or in a script: leave quietly
        print(file=sys.stderr)
        return 130
    finally:
        if isinstance(source, Terminal):
            source.close()


class Console:
    """Reads lines from *source*, runs each as a step on *thread*'s bot, prints to *out*."""

    def __init__(
        self, thread: BotThread[LocalBot], session: Session, source: LineSource, out: TextIO
    ) -> None:
        self._thread = thread
        self._session = session
        self._source = source
        self._out = out

    @property
    def prompt(self) -> str:
        if self._session.user_id == ME[0]:
            return PROMPT
        return f"roombot (@{self._session.user_name})> "

    def say(self, *lines: str) -> None:
        for line in lines:
            print(line, file=self._out)
        self._out.flush()

    def run(self) -> int:
        if self._source.interactive:
            self.say(*self._help())
        while True:
            try:
                line = self._source.read(self.prompt)
            except KeyboardInterrupt:  # as a shell: the line is dropped, a fresh prompt
                self.say("")
                continue
            if line is None:
                return 0
            try:
                if not self.handle(line.strip()):
                    return 0
            except KeyboardInterrupt:
                if not self._source.interactive:
                    raise
                self.say("", STOPPED)

    def handle(self, line: str) -> bool:
        """Do what *line* says; False to leave."""
        if not line or line.startswith("#"):
            return True
        if line in (":quit", ":q", "exit"):
            return False
        self._source.remember(line)
        word, _, rest = line.partition(" ")
        if line == ":users":
            self.say(*self._thread.call(self._session.users))
        elif word in (":help", "help"):
            self.say(*self._help())
        elif word == ":as":
            self._echo(line)
            if not rest.strip():
                self.say(f"  You are @{self._session.user_name}. Say who to be: :as alice")
            else:
                try:
                    self.say(self._thread.call(self._session.act_as, rest.strip().split()[0]))
                except ValueError as wrong:
                    self.say(f"  ! {wrong}")
        elif word == ":press":
            self._echo(line)
            self._press(rest)
        elif line.startswith(":"):
            self.say(f"  Unknown console command {word}; :help lists them.")
        elif word == "/home":
            self._echo(line)
            self._show(self._thread.run(self._session.open_home()))
        elif not line.startswith("/"):
            if not links_in(line):
                self.say("Commands start with /room; a line with a link is a message (help).")
                return True
            self._echo(line)
            self._show(self._thread.run(self._session.paste(line)))
        elif word != COMMAND:  # Slack answers these itself; they never reach an app
            self._echo(line)
            self.say(
                f"  {word} is not a command here: roombot's is {COMMAND} (help lists what the "
                "console takes; :quit or Ctrl-D leaves)."
            )
        else:
            self._echo(line)
            self._show(self._thread.run(self._session.command(line)))
        return True

    def _help(self) -> list[str]:
        """HELP, and what a room link looks like in this run (the bot's own server)."""
        public = self._session.bot.runtime.settings.public_url
        return [HELP, f"Room links here: {public}/rooms/ROOM_ID"] if public else [HELP]

    def _echo(self, line: str) -> None:
        if not self._source.interactive:
            self.say(f"{self.prompt}{line}")

    def _show(self, step: Step) -> None:
        self.say(*step.lines)
        if step.view is not None:
            self._fill(step.view)

    # ------------------------------------------------------------------ buttons

    def _press(self, argument: str) -> None:
        found = self._thread.call(self._session.find_button, parse_choice(argument))
        if isinstance(found, str):
            self.say(f"  ! {found}")
            return
        card, button = found
        confirm = button.element.get("confirm")
        if isinstance(confirm, dict) and not self._confirmed(confirm):
            self.say("  (not pressed)")
            return
        url = button.element.get("url")
        if url:
            self.say(f"  (opens {url})")
        self._show(self._thread.run(self._session.press(card, button)))

    def _confirmed(self, confirm: dict[str, Any]) -> bool:
        """Slack's confirmation dialog, as a question; only yes (or its button's word) goes."""
        title = _plain(confirm.get("title"))
        text = readable(_plain(confirm.get("text")))
        yes, no = _plain(confirm.get("confirm")) or "Yes", _plain(confirm.get("deny")) or "No"
        question = f"  {title} {text} (y: {yes}, n: {no}) "
        try:
            answer = self._ask(question)
        except KeyboardInterrupt:
            self.say("")
            return False
        return answer is not None and answer.strip().casefold() in {"y", "yes", yes.casefold()}

    def _ask(self, question: str) -> str | None:
        answer = self._source.read(question)
        if answer is not None and not self._source.interactive:
            self.say(f"{question}{answer}".rstrip())
        return answer

    # ------------------------------------------------------------------ the modal

    def _fill(self, view: View) -> None:
        """Ask each field, submit as Slack would, show the bot's errors and ask those again."""
        fields = form.fields_of(view.view)
        workspace = form.Workspace(
            tz=self._thread.call(self._session.tz),
            current_channel=CHANNEL,
            user_id=lambda name: self._thread.call(self._session.bot.user, name),
            channel_id=lambda name: self._thread.call(self._session.channel_id, name),
            channel_name=lambda channel: self._thread.call(self._session.channel_name, channel),
        )
        title = _plain(view.view.get("title")) or "Form"
        submit = _plain(view.view.get("submit")) or "Submit"
        self.say(
            f"  📝 {title}: one line per field. Enter leaves a field empty; "
            f":submit sends the form ({submit}) as it is; :cancel closes it."
        )
        if self._session.transcript.raw:
            self.say(json.dumps(view.view, indent=2))
        values = {f.block_id: {f.action_id: form.empty(f, workspace)} for f in fields}
        asking = fields
        while True:
            try:
                finished = self._answer(asking, values, workspace)
            except KeyboardInterrupt:
                self.say("")
                finished = False
            if not finished:
                self._thread.run(self._session.close(view))
                self.say(FORM_CLOSED)
                return
            step = self._thread.run(self._session.submit(view, values, fields))
            errors = step.ack.get("errors") if step.ack.get("response_action") == "errors" else None
            if not isinstance(errors, dict):
                self._show(step)
                return
            labels = {f.block_id: f.label for f in fields}
            for block_id, message in errors.items():
                self.say(f"  ! {labels.get(block_id, block_id)}: {readable(str(message))}")
            asking = [f for f in fields if f.block_id in errors] or fields

    def _answer(
        self, fields: list[form.Field], values: dict[str, Any], workspace: form.Workspace
    ) -> bool:
        """Ask *fields* in turn into *values*; False when the person closes the form."""
        for field in fields:
            if field.hint:
                self.say(f"    {field.hint}")
            while True:
                text = self._ask(form.question(field, workspace))
                if text is None or text.strip() == ":cancel":
                    return False
                if text.strip() == ":submit":
                    return True
                try:
                    values[field.block_id] = {field.action_id: form.answer(field, text, workspace)}
                except form.FieldError as problem:
                    self.say(f"  ! {problem}")
                    continue
                break
        return True


def _plain(obj: Any) -> str:
    return str(obj.get("text", "")) if isinstance(obj, dict) else ""
