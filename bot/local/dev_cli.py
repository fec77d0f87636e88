"""`roombot dev`: the whole bot on this machine, no accounts — and a console to talk to it.

One process runs the ACS emulator, SQLite, a fake Slack Web API and the real bot server. A
line typed at the console (`/room create tomorrow @alice presenter`) is sent the way Slack
sends it: a signed form POST to `/slack/events`, with plain `@names` turned into escaped
mentions of local users (made on first use, each with a time zone). The console then shows
what the channel shows, as text (`--json` for the raw Block Kit).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import itertools
import json
import re
import secrets
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from slack_sdk.signature import SignatureVerifier

from bot import mrkdwn
from bot.cli_args import log_level
from bot.config import load_settings
from bot.local.dev_install import install_through_oauth
from bot.local.emulator import EmulatorServer
from bot.local.fake_oauth import Workspace
from bot.local.fake_slack import FakeSlack
from bot.main import Options, Runtime, web_app
from bot.slack.unfurl import unfurl_domain

TEAM = "T0LOCAL"
CHANNEL = "C0LOCAL"
ME = ("U0YOU", "you", "Europe/London")
# Local people get zones round the world, so times in messages show what each reader sees.
ZONES = itertools.cycle(
    ["America/New_York", "Europe/Paris", "Asia/Kolkata", "Australia/Sydney", "America/Los_Angeles"]
)
PICKED = re.compile(r"(<(?:@[UW]|!subteam\^S|#C)[A-Z0-9]+(?:\|[^<>]*)?>)")
PLAIN_MENTION = re.compile(r"(?<![<\w|^;])@([A-Za-z][\w.-]{0,40})")
DEFAULT_DATABASE = "sqlite+aiosqlite:///var/dev.db"
DEV_CLIENT_ID = "1000000000.2000000000"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--script", type=Path, help="run the commands in FILE, then exit")
    parser.add_argument("--json", action="store_true", help="print raw Block Kit JSON")
    parser.add_argument(
        "--database",
        default=DEFAULT_DATABASE,
        help="DATABASE_URL for the local bot (var/dev.db)",
    )
    parser.add_argument(
        "--log-level", type=log_level, default="WARNING", help="log level (WARNING)"
    )
    parser.add_argument(
        "--log-file",
        default="var/dev.log",
        help="where logs go, so the console shows only the channel (var/dev.log; - for stderr)",
    )
    parser.add_argument(
        "--as", dest="user", default=ME[1], help="act as this local user (you); :as switches"
    )
    parser.add_argument(
        "--multi-workspace",
        action="store_true",
        help="run as a multi-workspace deployment: the local workspace installs roombot "
        "through Add to Slack (OAuth) first",
    )


def run(args: argparse.Namespace) -> int:
    from bot.local.console.console import main  # the console needs this module: import it on use

    return main(args)


class NotSettled(Exception):
    """Commands were still unanswered when `LocalBot.settle`'s deadline passed."""

    def __init__(self, *, unanswered: int, running: int, within: float) -> None:
        self.unanswered = unanswered
        self.running = running
        commands = "command" if unanswered == 1 else "commands"
        super().__init__(
            f"{unanswered} {commands} still unanswered after {within:g} s "
            f"({running} being worked on, {max(unanswered - running, 0)} waiting in the "
            "journal to be tried again)"
        )


@dataclass
class LocalBot:
    """The running pieces, for the console (and tests) to drive."""

    slack: FakeSlack
    emulator: EmulatorServer
    runtime: Runtime
    events_url: str
    signing_secret: str
    http: aiohttp.ClientSession
    people_state: Path | None = None
    install_steps: tuple[str, ...] = ()
    """How the local workspace installed roombot (`--multi-workspace`), for the console."""

    def user(self, name: str) -> str:
        """The local user called *name*, made (with the next time zone) if new."""
        found = self.slack.user_by_name(name)
        if found is not None:
            return found
        # Stable per name, so a person keeps their ACS identity across `roombot dev` runs.
        user_id = "U" + hashlib.sha256(name.casefold().encode()).hexdigest()[:9].upper()
        self.slack.add_user(user_id, name, tz=next(ZONES))
        if self.people_state is not None:
            _save_people(self.slack, self.people_state)
        return user_id

    def escape(self, text: str) -> str:
        """The text as Slack sends it with should_escape: plain `@name`s as mentions
        (`<@U…|name>`), mentions already written so (as picked from a menu) kept, and the
        person's own `& < >` escaped."""
        pieces = PICKED.split(text)  # odd pieces are picked mentions, kept as they are
        return "".join(
            piece if index % 2 else self._escape_typed(piece) for index, piece in enumerate(pieces)
        )

    def _escape_typed(self, typed: str) -> str:
        escaped = mrkdwn.escape(typed)
        return PLAIN_MENTION.sub(lambda m: f"<@{self.user(m.group(1))}|{m.group(1)}>", escaped)

    async def command(self, line: str, *, user_id: str = ME[0]) -> dict[str, Any]:
        """Send `/room …` as Slack does; returns the ack's JSON (or {} for an empty ack)."""
        name, _, text = line.strip().partition(" ")
        user = self.slack.users.get(user_id)
        form = {
            "token": "legacy-unused",
            "team_id": TEAM,
            "team_domain": "local",
            "channel_id": CHANNEL,
            "channel_name": "general",
            "user_id": user_id,
            "user_name": user.name if user is not None else ME[1],
            "command": name,
            "text": self.escape(text),
            "api_app_id": "A0LOCAL",
            "response_url": self.slack.new_response_url(CHANNEL, user_id),
            # Slack ties a trigger to the person who acted; the view it opens is theirs.
            "trigger_id": self.slack.issue_trigger_id(user_id=user_id),
        }
        ack = await self.post_signed(urlencode(form), "application/x-www-form-urlencoded")
        if not ack.get("error"):
            self.slack.show_ack(form["response_url"], ack)  # as Slack shows it, to be replaced
        return ack

    async def post_signed(self, body: str, content_type: str) -> dict[str, Any]:
        timestamp = str(int(time.time()))
        signature = (
            SignatureVerifier(self.signing_secret).generate_signature(
                timestamp=timestamp, body=body
            )
            or ""
        )
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": signature,
        }
        async with self.http.post(self.events_url, data=body.encode(), headers=headers) as resp:
            text = await resp.text()
            if resp.status != 200:
                return {"error": f"HTTP {resp.status}", "body": text}
            return json.loads(text) if text.startswith("{") else {}

    async def settle(self, within: float = 30.0) -> None:
        """Wait until every command in flight has been answered (polling, with a deadline).

        Raises NotSettled, saying how many are left and where, when the deadline passes:
        returning quietly would let a caller read a channel the answer has not reached.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        worker, journal = self.runtime.worker, self.runtime.store.journal
        while True:
            await worker.drain(within=min(1.0, max(deadline - loop.time(), 0.0)))
            unanswered = await journal.pending_count()
            if unanswered == 0:
                return
            if loop.time() >= deadline:
                raise NotSettled(unanswered=unanswered, running=worker.in_flight, within=within)
            await worker.run_once()
            await asyncio.sleep(0.05)


def _save_people(slack: FakeSlack, path: Path) -> None:
    people = [
        {"id": user.id, "name": user.name, "tz": user.tz}
        for user in slack.users.values()
        if not user.is_bot
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(people, indent=1), encoding="utf-8")


def _load_people(slack: FakeSlack, path: Path) -> None:
    """The local people of earlier runs, so their rooms still name them (not `@U…`)."""
    try:
        people = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return  # first run, or a file that is not ours: people are made again on use
    for person in people if isinstance(people, list) else []:
        try:
            slack.add_user(str(person["id"]), str(person["name"]), tz=str(person["tz"]))
        except (KeyError, TypeError, ValueError):
            continue  # one bad entry costs that person's name, nothing more


@asynccontextmanager
async def local_bot(
    database: str,
    *,
    emulator_state: Path | None = None,
    people_state: Path | None = None,
    join_url: str | None = None,
    multi_workspace: bool = False,
    **options: Any,
) -> AsyncIterator[LocalBot]:
    """Emulator + fake Slack + the real bot server on loopback ports.

    With *emulator_state*, ACS rooms outlive the process like the database's records do; with
    *people_state*, so do the local people (their names and zones). The bot's public URL is its
    own server, so a Join press gives a link a browser here opens; *join_url* sets
    ROOMBOT_JOIN_URL instead (a team's own calling app). With *multi_workspace* the bot has
    no bot token: the local workspace installs it through OAuth first (`bot.local.dev_install`).
    *options* override `Options` (tests inject the clock and the sleep).
    """
    signing_secret = secrets.token_hex(16)
    listener = socket.create_server(("127.0.0.1", 0))  # its port is in the settings
    # ACS's calling events come to the bot as Event Grid would send them: a Join link opened
    # puts its person in the room's call for ten minutes, shown on the card.
    events_secret = secrets.token_hex(16)
    events_url = f"http://127.0.0.1:{listener.getsockname()[1]}/acs/events?secret={events_secret}"
    try:
        async with (
            EmulatorServer(
                state_file=emulator_state, events_url=events_url, join_on_token=600
            ) as emulator,
            FakeSlack(team_id=TEAM) as slack,
        ):
            slack.add_user(ME[0], ME[1], tz=ME[2])
            if people_state is not None:
                _load_people(slack, people_state)
            overrides = {"ROOMBOT_JOIN_URL": join_url} if join_url else {}
            if multi_workspace:
                client_secret = secrets.token_hex(16)
                slack.oauth.enable(DEV_CLIENT_ID, client_secret)
                slack.oauth.choose(Workspace(team_id=TEAM, name="roombot local"), installer=ME[0])
                overrides |= {
                    "SLACK_CLIENT_ID": DEV_CLIENT_ID,
                    "SLACK_CLIENT_SECRET": client_secret,
                }
            else:
                overrides["SLACK_BOT_TOKEN"] = slack.bot_token
            settings = load_settings(
                SLACK_SIGNING_SECRET=signing_secret,
                SLACK_API_URL=slack.api_url,
                ACS_CONNECTION_STRING=emulator.connection_string,
                DATABASE_URL=database,
                # localhost: the calling SDK wants https or localhost, not 127.0.0.1
                ROOMBOT_PUBLIC_URL=f"http://localhost:{listener.getsockname()[1]}",
                ROOMBOT_EVENTS_SECRET=events_secret,
                **overrides,
            )
            # Slack sends `link_shared` for the domains the manifest lists: ROOMBOT_PUBLIC_URL's.
            slack.ext.unfurl_domains = {unfurl_domain(settings.public_url or "")}
            chosen = Options(
                channel_post_interval=0,
                worker_poll_interval=0.5,
                response_url_prefixes=(slack.base_url,),
                **options,
            )
            async with Runtime(settings, chosen) as runtime:
                runner = web.AppRunner(web_app(runtime), access_log=None)
                await runner.setup()
                site = web.SockSite(runner, listener)
                await site.start()
                port = runner.addresses[0][1]
                try:
                    steps: list[str] = []
                    if multi_workspace:
                        # No cookie jar: the install carries its state cookie as a browser would.
                        jar = aiohttp.DummyCookieJar()
                        async with aiohttp.ClientSession(cookie_jar=jar) as browser:
                            steps = await install_through_oauth(browser, settings.public_url or "")
                    async with aiohttp.ClientSession() as http:
                        yield LocalBot(
                            slack,
                            emulator,
                            runtime,
                            f"http://127.0.0.1:{port}/slack/events",
                            signing_secret,
                            http,
                            people_state,
                            tuple(steps),
                        )
                finally:
                    # The emulator's event sender first: a delivery (or the validation
                    # handshake) still on its way would otherwise meet a closing server and
                    # leave the accepted socket open.
                    if emulator.events is not None:
                        await emulator.events.aclose()
                    await runner.cleanup()
    finally:
        listener.close()
