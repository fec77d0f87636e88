"""The whole bot on loopback, with the knobs the reliability scenarios turn (and the soak).

`running_bot` is `bot.local.dev_cli.local_bot` opened up: the emulator's fault rate and seed,
the deployer's settings (`ROOMBOT_ADMINS`, `ROOMBOT_ALLOWED_CHANNELS`) read through
`Options.from_settings` exactly as `roombot serve` reads them, quick ACS retries, and a clock
the test can move forward. Requests go over real HTTP to the real `web_app`, signed as Slack
signs them; every ack is timed.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import re
import resource
import secrets
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import select

from bot.acs.client import RetryPolicy
from bot.config import load_settings
from bot.domain import JournalEntry
from bot.local.emulator import EmulatorServer
from bot.local.fake_slack import DEFAULT_SCOPES, FakeSlack
from bot.main import EdgeSite, Options, Runtime, web_app
from bot.store.tables import JournalRow
from tests.database import fetch

TEAM = "T0LOCAL"
CHANNEL = "C0LOCAL"
ME = "U0YOU"
FORM = "application/x-www-form-urlencoded"

# Quick ACS retries: a scenario should not sit through production's 30 s deadline, but with
# enough attempts that a 20% fault rate rarely exhausts them (0.2^8 per call).
QUICK_RETRY = RetryPolicy(
    max_attempts=8, base_delay=0.01, max_delay=0.2, deadline=4.0, attempt_timeout=2.0
)

# For scenarios where ACS is down on purpose: give up on a call within a second, so the
# command goes back to the journal (TryLater) at once.
BRIEF_RETRY = RetryPolicy(
    max_attempts=3, base_delay=0.01, max_delay=0.05, deadline=1.0, attempt_timeout=0.5
)

POSTGRES_URL = os.environ.get(
    "ROOMBOT_TEST_POSTGRES", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)


def slack_signature(secret: str, timestamp: str, body: str | bytes) -> str:
    """Slack's v0 request signature: HMAC-SHA256 over `v0:TIMESTAMP:BODY`, on the bytes."""
    raw = body.encode() if isinstance(body, str) else body
    base = b"v0:" + timestamp.encode() + b":" + raw
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


class Clock:
    """Wall-clock time plus an offset the test can move forward (never back)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, by: timedelta) -> None:
        self.offset += by


@dataclass(frozen=True)
class Ack:
    """What the bot answered to one HTTP request, and how long it took."""

    status: int
    text: str
    seconds: float

    @property
    def body(self) -> dict[str, Any]:
        """The JSON answer, or {} for an empty ack (or one that is not a JSON object)."""
        if not self.text.startswith("{"):
            return {}
        parsed = json.loads(self.text)
        return parsed if isinstance(parsed, dict) else {}


@dataclass
class Bot:
    """The running pieces, for a scenario to drive and inspect."""

    slack: FakeSlack
    emulator: EmulatorServer
    runtime: Runtime
    events_url: str
    signing_secret: str
    http: aiohttp.ClientSession
    clock: Clock
    acks: list[Ack] = field(default_factory=list)
    signatures: list[str] = field(default_factory=list)  # every X-Slack-Signature made

    def channel(self, channel_id: str) -> str:
        if channel_id not in self.slack.channels:
            self.slack.add_channel(channel_id, channel_id.lower())
        return channel_id

    def user(self, user_id: str, name: str | None = None, *, tz: str = "Europe/London") -> str:
        if user_id not in self.slack.users:
            self.slack.add_user(user_id, name or user_id.lower(), tz=tz)
        return user_id

    def sign(
        self,
        body: str | bytes,
        *,
        timestamp: int | None = None,
        secret: str | None = None,
        content_type: str = FORM,
    ) -> dict[str, str]:
        """The headers Slack sends with *body*: content type, timestamp and v0 signature."""
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        signature = slack_signature(secret or self.signing_secret, stamp, body)
        self.signatures.append(signature)
        return {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": signature,
        }

    async def post(self, body: str | bytes, headers: dict[str, str]) -> Ack:
        """POST *body* to /slack/events as given; the ack is timed and recorded."""
        data = body.encode() if isinstance(body, str) else body
        started = time.perf_counter()
        async with self.http.post(self.events_url, data=data, headers=headers) as response:
            answer = await response.text()
            ack = Ack(response.status, answer, time.perf_counter() - started)
        self.acks.append(ack)
        return ack

    async def post_signed(self, body: str, content_type: str = FORM) -> Ack:
        return await self.post(body, self.sign(body, content_type=content_type))

    def command_body(
        self,
        text: str,
        *,
        user: str = ME,
        channel: str = CHANNEL,
        team: str = TEAM,
    ) -> str:
        """A `/room` slash-command form body, with a fresh response_url and trigger id."""
        return urlencode(
            {
                "token": "legacy-unused",
                "team_id": team,
                "team_domain": "local",
                "channel_id": self.channel(channel),
                "channel_name": channel.lower(),
                "user_id": self.user(user),
                "user_name": self.slack.users[user].name,
                "command": "/room",
                "text": text,
                "api_app_id": "A0LOCAL",
                "response_url": self.slack.new_response_url(channel, user),
                "trigger_id": self.slack.issue_trigger_id(),
            }
        )

    async def command(
        self, text: str, *, user: str = ME, channel: str = CHANNEL, team: str = TEAM
    ) -> Ack:
        """`/room TEXT` as Slack sends it."""
        return await self.post_signed(
            self.command_body(text, user=user, channel=channel, team=team)
        )

    async def settle(self, within: float = 30.0) -> None:
        """Wait until every journalled command is answered and no work is in flight.

        Polls with a deadline (claiming what is due each round, as the worker's loop would);
        fails the test, saying what is left, when the deadline passes.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        worker, journal = self.runtime.worker, self.runtime.store.journal
        while loop.time() < deadline:
            await worker.drain(within=max(0.05, min(1.0, deadline - loop.time())))
            if worker.in_flight == 0 and await journal.pending_count() == 0:
                return
            await worker.run_once()
            await asyncio.sleep(0.02)
        left = [
            (e.key, e.state.value, e.last_error)
            for e in await self.journal()
            if e.answered_at is None
        ]
        pytest.fail(f"not settled within {within} s; unfinished: {left[:10]} ({len(left)})")

    async def journal(self) -> list[JournalEntry]:
        """Every journal entry, oldest first (whatever its state)."""
        query = select(JournalRow.key).order_by(JournalRow.accepted_at, JournalRow.key)
        keys = [row.key for row in await fetch(self.runtime.store, query)]
        entries = [await self.runtime.store.journal.get(key) for key in keys]
        return [entry for entry in entries if entry is not None]


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of *values* (0 for none)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(fraction * len(ordered) + 0.5)))
    return ordered[rank - 1]


async def eventually(
    check: Callable[[], Any], *, within: float = 10.0, every: float = 0.02, what: str = ""
) -> Any:
    """The first truthy result of *check()* (sync or async), polled until *within* s pass."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if loop.time() >= deadline:
            pytest.fail(f"not within {within} s: {what or check}")
        await asyncio.sleep(every)


@asynccontextmanager
async def running_bot(
    database: str,
    *,
    fault_rate: float = 0.0,
    seed: int | None = 6,
    admins: str = "",
    allowed_channels: str = "",
    retry: RetryPolicy = QUICK_RETRY,
    bot_token: str = "xoxb-fake",  # noqa: S107 - the fake's well-known token
    access_key: str | None = None,
    bot_access_key: str | None = None,  # the key the bot signs with, when not the emulator's
    slack_accepts: str | None = None,  # the token the fake Slack takes, when not the bot's
    signing_secret: str | None = None,
    worker_poll_interval: float = 0.2,
    lease_seconds: float | None = None,
    scopes: Sequence[str] = DEFAULT_SCOPES,
    join: str = "external",
    sign_in: bool = False,
    keyless: bool = False,
    events_secret: str | None = None,
    events_schema: str = "eventgrid",
) -> AsyncIterator[Bot]:
    """Emulator, fake Slack and the real bot server on loopback ports, as `roombot serve`
    would run them with these settings; Slack grants *scopes* (manifest.yml's by default).

    *join* is how the Join button works: "external" (ROOMBOT_JOIN_URL, a fixed URL), "public"
    (ROOMBOT_PUBLIC_URL is this server's own address, so personal join links work here), or
    "none" (neither is set). With *sign_in*, Sign in with Slack is set up (SLACK_CLIENT_ID and
    SLACK_CLIENT_SECRET) and the fake Slack serves it. With *keyless*, the bot reaches the
    emulator (over TLS) by ACS_ENDPOINT and Microsoft Entra tokens from its local test issuer.
    With *events_secret* the emulator sends calling events to the bot in *events_schema*
    ("eventgrid" or "cloudevents").
    """
    secret = signing_secret or secrets.token_hex(16)
    clock = Clock()
    listener = socket.create_server(("127.0.0.1", 0))
    with listener:
        async with _running_bot(
            database,
            listener=listener,
            join=join,
            sign_in=sign_in,
            keyless=keyless,
            events_secret=events_secret,
            events_schema=events_schema,
            secret=secret,
            clock=clock,
            fault_rate=fault_rate,
            seed=seed,
            admins=admins,
            allowed_channels=allowed_channels,
            retry=retry,
            bot_token=bot_token,
            access_key=access_key,
            bot_access_key=bot_access_key,
            slack_accepts=slack_accepts,
            worker_poll_interval=worker_poll_interval,
            lease_seconds=lease_seconds,
            scopes=scopes,
        ) as bot:
            yield bot


@asynccontextmanager
async def _running_bot(
    database: str,
    *,
    listener: socket.socket,
    join: str,
    sign_in: bool,
    keyless: bool,
    events_secret: str | None,
    events_schema: str,
    secret: str,
    clock: Clock,
    fault_rate: float,
    seed: int | None,
    admins: str,
    allowed_channels: str,
    retry: RetryPolicy,
    bot_token: str,
    access_key: str | None,
    bot_access_key: str | None,
    slack_accepts: str | None,
    worker_poll_interval: float,
    lease_seconds: float | None,
    scopes: Sequence[str],
) -> AsyncIterator[Bot]:
    # With *events_secret*, the emulator sends calling events to the bot's /acs/events.
    port = listener.getsockname()[1]
    events_url = f"http://127.0.0.1:{port}/acs/events?secret={events_secret}"
    async with (
        EmulatorServer(
            fault_rate=fault_rate,
            seed=seed,
            access_key=access_key,
            tls=keyless,
            events_url=events_url if events_secret else None,
            events_schema=events_schema,
        ) as emulator,
        FakeSlack(team_id=TEAM, bot_token=slack_accepts or bot_token, scopes=scopes) as slack,
    ):
        slack.add_user(ME, "you", tz="Europe/London")
        overrides: dict[str, Any] = {
            "SLACK_BOT_TOKEN": bot_token,
            "SLACK_SIGNING_SECRET": secret,
            "SLACK_API_URL": slack.api_url,
            "DATABASE_URL": database,
            "ROOMBOT_ADMINS": admins,
            "ROOMBOT_ALLOWED_CHANNELS": allowed_channels,
        }
        acs_options: dict[str, Any] = {}
        if keyless:
            overrides["ACS_ENDPOINT"] = emulator.endpoint
            acs_options["acs_credential"] = emulator.entra_credential
            acs_options["acs_ssl"] = emulator.ssl_context_for_clients
        else:
            overrides["ACS_CONNECTION_STRING"] = (
                f"endpoint={emulator.endpoint};accesskey={bot_access_key or emulator.access_key}"
            )
        if lease_seconds is not None:
            overrides["ROOMBOT_WORKER_LEASE_SECONDS"] = lease_seconds
        if events_secret is not None:
            overrides["ROOMBOT_EVENTS_SECRET"] = events_secret
        if sign_in:
            client_id, client_secret = "A0LOCAL.0001", secrets.token_hex(16)
            slack.enable_openid(client_id, client_secret)
            overrides["SLACK_CLIENT_ID"] = client_id
            overrides["SLACK_CLIENT_SECRET"] = client_secret
        if join == "public":
            overrides["ROOMBOT_PUBLIC_URL"] = f"http://localhost:{listener.getsockname()[1]}"
        elif join == "external":
            overrides["ROOMBOT_JOIN_URL"] = "https://rooms.example.invalid/join/{room_id}"
        settings = load_settings(**overrides)
        options = Options.from_settings(
            settings,
            acs_retry=retry,
            channel_post_interval=0,
            worker_poll_interval=worker_poll_interval,
            response_url_prefixes=(slack.base_url,),
            clock=clock,
            **acs_options,
        )
        async with Runtime(settings, options) as runtime:
            runner = web.AppRunner(web_app(runtime), access_log=None)
            await runner.setup()
            site = EdgeSite(runner, "127.0.0.1", 0, sock=listener)
            await site.start()
            port = runner.addresses[0][1]
            try:
                async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=200)) as http:
                    yield Bot(
                        slack=slack,
                        emulator=emulator,
                        runtime=runtime,
                        events_url=f"http://127.0.0.1:{port}/slack/events",
                        signing_secret=secret,
                        http=http,
                        clock=clock,
                    )
            finally:
                await runner.cleanup()


# --- `roombot serve` as a separate process, to be killed ------------------------------------

ROOMBOT = str(Path(sys.executable).with_name("roombot"))


@dataclass
class ServeProcess:
    """A running `roombot serve`: its URL, its stderr lines, and how to sign for it."""

    process: asyncio.subprocess.Process
    url: str
    log: list[str]
    signing_secret: str

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)

    async def command(
        self,
        http: aiohttp.ClientSession,
        slack: FakeSlack,
        text: str,
        *,
        channel: str,
        user: str = ME,
        response_url: str | None = None,
    ) -> Ack:
        body = urlencode(
            {
                "team_id": TEAM,
                "channel_id": channel,
                "user_id": user,
                "command": "/room",
                "text": text,
                "response_url": response_url or slack.new_response_url(channel, user),
                "trigger_id": slack.issue_trigger_id(),
            }
        )
        stamp = str(int(time.time()))
        headers = {
            "Content-Type": FORM,
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": slack_signature(self.signing_secret, stamp, body),
        }
        started = time.perf_counter()
        async with http.post(self.url + "/slack/events", data=body, headers=headers) as response:
            return Ack(response.status, await response.text(), time.perf_counter() - started)


def serve_env(
    slack: FakeSlack, emulator: EmulatorServer, database: str, secret: str, **extra: str
) -> dict[str, str]:
    """The environment `roombot serve` reads, pointed at this fake Slack and emulator."""
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": secret,
        "SLACK_API_URL": slack.api_url,
        "ACS_CONNECTION_STRING": emulator.connection_string,
        "DATABASE_URL": database,
        **extra,
    }
    env.pop("SLACK_APP_TOKEN", None)
    return env


@asynccontextmanager
async def serving(
    env: dict[str, str], *, open_files: int | None = None
) -> AsyncIterator[ServeProcess]:
    """`roombot serve` on a free loopback port; killed (if still alive) on the way out.

    *open_files* lowers the process's file-descriptor limit (RLIMIT_NOFILE), so a test can
    reach it with a bounded number of connections.
    """

    def limit_open_files() -> None:
        if open_files is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (open_files, open_files))

    process = await asyncio.create_subprocess_exec(
        ROOMBOT,
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        preexec_fn=limit_open_files if open_files is not None else None,
    )
    log: list[str] = []
    url: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def read_log() -> None:
        assert process.stderr is not None
        async for raw in process.stderr:
            line = raw.decode(errors="replace").rstrip()
            log.append(line)
            found = re.search(r"serving on (http://\S+)", line)
            if found and not url.done():
                url.set_result(found.group(1))
        if not url.done():
            url.set_exception(RuntimeError("roombot serve exited:\n" + "\n".join(log)))

    reader = asyncio.create_task(read_log())
    try:
        async with asyncio.timeout(30):
            started = ServeProcess(process, await url, log, env["SLACK_SIGNING_SECRET"])
        yield started
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()
        await reader
