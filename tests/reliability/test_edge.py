"""The HTTP edge of a real `roombot serve`, as an attacker (or an HTTP/2 front end) meets it:
header names in any case, compressed garbage, slow clients, and what reaches the log.

Every request goes over loopback to a `roombot serve` subprocess with its fake Slack and the
ACS emulator; what the process wrote to stderr is read back.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import pytest

from bot.http_edge import HEADER_TIMEOUT, MAX_UNPROVEN
from bot.local.emulator import EmulatorServer
from bot.local.fake_slack import FakeSlack
from tests.reliability.harness import (
    FORM,
    ME,
    TEAM,
    ServeProcess,
    serve_env,
    serving,
    slack_signature,
)

CHANNEL = "C0EDGE"


@dataclass
class Served:
    """One `roombot serve` with its fake Slack and emulator, and a client session."""

    server: ServeProcess
    slack: FakeSlack
    emulator: EmulatorServer
    http: aiohttp.ClientSession

    @property
    def events_url(self) -> str:
        return self.server.url + "/slack/events"

    def body(self, text: str) -> str:
        return urlencode(
            {
                "team_id": TEAM,
                "channel_id": CHANNEL,
                "user_id": ME,
                "command": "/room",
                "text": text,
                "response_url": self.slack.new_response_url(CHANNEL, ME),
                "trigger_id": self.slack.issue_trigger_id(),
            }
        )

    def signed(self, body: str | bytes, *, lower_case: bool = False) -> dict[str, str]:
        stamp = str(int(time.time()))
        headers = {
            "Content-Type": FORM,
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": slack_signature(self.server.signing_secret, stamp, body),
        }
        return {k.lower(): v for k, v in headers.items()} if lower_case else headers

    async def post(self, body: str | bytes, headers: dict[str, str]) -> tuple[int, str]:
        async with self.http.post(self.events_url, data=body, headers=headers) as response:
            return response.status, await response.text()

    async def health(self) -> tuple[int, str]:
        async with self.http.get(self.server.url + "/healthz") as response:
            return response.status, await response.text()


@asynccontextmanager
async def serve(tmp_path: Path, *, open_files: int | None = None) -> AsyncIterator[Served]:
    async with EmulatorServer() as emulator, FakeSlack(team_id=TEAM) as slack:
        slack.add_user(ME, "you", tz="Europe/London")
        slack.add_channel(CHANNEL, "edge")
        env = serve_env(
            slack, emulator, f"sqlite+aiosqlite:///{tmp_path}/bot.db", secrets.token_hex(16)
        )
        async with (
            aiohttp.ClientSession() as http,
            serving(env, open_files=open_files) as server,
        ):
            yield Served(server, slack, emulator, http)


@pytest.fixture(name="served")
async def _served(tmp_path: Path) -> AsyncIterator[Served]:
    async with serve(tmp_path) as served:
        yield served


# --- item 1: header names are case-insensitive ------------------------------------------------


async def test_lower_case_header_names_are_served_once_and_do_not_lock_out_others(
    served: Served,
) -> None:
    """HTTP/2 front ends send `x-slack-signature`. Such a request is served, its replay is
    refused, and the genuine requests after it are served (the guard once keyed them all
    as "", refusing everyone for five minutes and serving replays)."""
    body = served.body("help")
    headers = served.signed(body, lower_case=True)
    assert (await served.post(body, headers))[0] == 200
    assert (await served.post(body, headers))[0] == 401  # the replay, lower-cased
    for _ in range(2):
        other = served.body("help")
        status, text = await served.post(other, served.signed(other, lower_case=True))
        assert status == 200, text
        assert "How to use /room" in text
    mixed = served.body("help")
    assert (await served.post(mixed, served.signed(mixed)))[0] == 200


async def test_a_request_with_two_signatures_is_refused(served: Served) -> None:
    body = served.body("help")
    headers = served.signed(body)
    doubled = [*headers.items(), ("x-slack-signature", "v0=" + "0" * 64)]
    async with served.http.post(served.events_url, data=body, headers=doubled) as response:
        assert response.status == 401


# --- item 4: compressed bodies ------------------------------------------------------------------


async def test_an_unsigned_gzip_body_that_is_not_gzip_gets_a_4xx_and_no_traceback(
    served: Served,
) -> None:
    for _ in range(20):
        headers = {"Content-Type": FORM, "Content-Encoding": "gzip"}
        status, _ = await served.post(b"this is not gzip at all" * 10, headers)
        assert 400 <= status < 500
    status, _ = await served.health()  # and the server is well
    assert status == 200
    assert not [line for line in served.server.log if "Traceback" in line or "ERROR" in line]


MALFORMED_HTTP = [
    b"POST /slack/events HTTP/1.1\r\nHost: roombot\r\nContent-Length: abc\r\n\r\n",
    b"POST /slack/events HTTP/1.1\r\nHost: roombot\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"POST /slack/events HTTP/1.1\r\nHost: roombot\r\nX-Long: " + b"a" * 10_000 + b"\r\n\r\n",
    b"GARBAGE\r\n\r\n",
]


async def test_requests_that_are_not_http_get_400_and_no_traceback(served: Served) -> None:
    """aiohttp logged each at ERROR with a traceback ("Error handling request")."""
    url = served.server.url.removeprefix("http://")
    host, port = url.rsplit(":", 1)
    for raw in MALFORMED_HTTP:
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(raw)
        async with asyncio.timeout(5):
            answer = await reader.read()
        writer.close()
        assert answer.split(b" ", 2)[1] == b"400", (raw[:60], answer[:60])
    status, _ = await served.health()  # also flushes the log lines written so far
    assert status == 200
    assert not [line for line in served.server.log if "Traceback" in line or "ERROR" in line]


# --- item 2: slow clients -----------------------------------------------------------------------

SLOW_CLIENTS = 600
OPEN_FILES = 512  # the server's descriptor limit: fewer than the slow clients


async def open_slow_client(
    host: str, port: int
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A client that starts a request head and never finishes it."""
    async with asyncio.timeout(2):  # a server out of descriptors stops accepting
        reader, writer = await asyncio.open_connection(host, port)
    writer.write(b"POST /slack/events HTTP/1.1\r\nHost: roombot\r\nX-Slow: a")
    await writer.drain()
    return reader, writer


async def closed_by_the_server(reader: asyncio.StreamReader) -> None:
    with contextlib.suppress(ConnectionError):  # aborted: a reset
        await reader.read()  # b"" at EOF


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc and RLIMIT_NOFILE")
async def test_slow_clients_neither_exhaust_the_server_nor_stay(tmp_path: Path) -> None:
    """600 connections that never finish their headers, against a server allowed 512 open
    files: health checks and signed commands are answered meanwhile, the server holds at most
    MAX_UNPROVEN of them, and every one is closed within the header deadline. (Before, they
    exhausted the descriptors: /healthz and commands failed, silently.)"""
    async with serve(tmp_path, open_files=OPEN_FILES) as served:
        url = served.server.url.removeprefix("http://")
        host, port = url.rsplit(":", 1)
        started = time.monotonic()
        clients = []
        for _ in range(SLOW_CLIENTS):
            try:
                clients.append(await open_slow_client(host, int(port)))
            except TimeoutError:
                pytest.fail(f"the server stopped accepting after {len(clients)} slow clients")
        async with asyncio.timeout(3):
            status, _ = await served.health()
            assert status == 200
            body = served.body("help")
            status, text = await served.post(body, served.signed(body))
        assert status == 200, text
        assert "How to use /room" in text
        descriptors = len(os.listdir(f"/proc/{served.server.process.pid}/fd"))
        assert descriptors < MAX_UNPROVEN + 100, descriptors  # + the process's own files

        async with asyncio.timeout(HEADER_TIMEOUT + 5):
            await asyncio.gather(*(closed_by_the_server(reader) for reader, _ in clients))
        assert time.monotonic() - started < HEADER_TIMEOUT + 5
        for _, writer in clients:
            writer.close()
        status, _ = await served.health()
        assert status == 200
        warnings = [line for line in served.server.log if "sent no request head" in line]
        assert len(warnings) == 1, served.server.log[-5:]  # one summary, not one per client
        assert not [line for line in served.server.log if "Traceback" in line]


async def test_a_body_that_does_not_arrive_in_time_gets_408_and_the_connection_closes(
    served: Served,
) -> None:
    url = served.server.url.removeprefix("http://")
    host, port = url.rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    started = time.monotonic()
    writer.write(
        b"POST /slack/events HTTP/1.1\r\nHost: roombot\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n"
        b"command=%2Froom"  # and the rest never comes
    )
    await writer.drain()
    async with asyncio.timeout(HEADER_TIMEOUT + 5):
        answer = await reader.read()
    assert answer.startswith(b"HTTP/1.1 408"), answer[:80]
    assert HEADER_TIMEOUT - 0.5 < time.monotonic() - started < HEADER_TIMEOUT + 5
    writer.close()
