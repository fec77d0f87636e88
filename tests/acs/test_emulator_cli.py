"""`roombot emulator` as a real process: one stdout line, signed requests, a clean stop."""

from __future__ import annotations

import asyncio
import base64
import re
import signal
import ssl
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bot.acs.entra import ACS_SCOPE
from bot.local.emulator import EmulatorServer
from bot.local.entra import LocalEntraCredential, random_secret
from tests.acs.conftest import SignedHttp

ROOMS = "/rooms?api-version=2025-03-13"
LINE = re.compile(
    r"ACS_CONNECTION_STRING=endpoint=(?P<endpoint>https?://127\.0\.0\.1:(?P<port>\d+)/)"
    r";accesskey=(?P<key>\S+)\n"
)
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


def command() -> list[str]:
    """The installed console script, or the same entry point through the interpreter."""
    script = Path(sys.executable).with_name("roombot")
    if script.exists():
        return [str(script), "emulator"]
    return [sys.executable, "-m", "bot.cli", "emulator"]


@dataclass
class Running:
    process: asyncio.subprocess.Process
    endpoint: str
    access_key: str
    port: int

    async def stop(self, signum: int = signal.SIGTERM) -> tuple[int, str, str]:
        """Signal it and wait (bounded); returns exit code, the rest of stdout, all of stderr."""
        self.process.send_signal(signum)
        out, err = await asyncio.wait_for(self.process.communicate(), STOP_TIMEOUT)
        assert self.process.returncode is not None
        return self.process.returncode, out.decode(), err.decode()


@asynccontextmanager
async def emulator_process(*args: str) -> AsyncIterator[Running]:
    process = await asyncio.create_subprocess_exec(
        *command(),
        "--port",
        "0",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), START_TIMEOUT)
        match = LINE.fullmatch(line.decode())
        assert match, line
        yield Running(process, match["endpoint"], match["key"], int(match["port"]))
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_prints_one_line_serves_signed_requests_and_stops_on_sigterm() -> None:
    async with emulator_process() as running, aiohttp.ClientSession() as session:
        http = SignedHttp(session, endpoint=running.endpoint, access_key=running.access_key)
        created = await http.request("POST", ROOMS, {})
        assert running.port != 0
        assert created.status == 201, created.body
        await session.close()  # no keep-alive connection left for the server to wait on

        code, rest_of_stdout, stderr = await running.stop()

    assert code == 0
    assert rest_of_stdout == ""
    assert running.access_key not in stderr
    assert "Signature=" not in stderr


async def test_a_state_file_carries_rooms_across_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "acs-state.json"
    key = base64.b64encode(b"cli-test-key-0123456789abcdefghi").decode()
    args = ("--state", str(state), "--access-key", key)
    async with aiohttp.ClientSession() as session:
        async with emulator_process(*args) as running:
            http = SignedHttp(session, endpoint=running.endpoint, access_key=key)
            room = (await http.request("POST", ROOMS, {})).json()
            assert (await running.stop())[0] == 0

        async with emulator_process(*args) as running:
            http = SignedHttp(session, endpoint=running.endpoint, access_key=key)
            fetched = await http.request("GET", f"/rooms/{room['id']}?api-version=2025-03-13")
            listed = await http.request("GET", ROOMS)
            await session.close()
            assert (await running.stop(signal.SIGINT))[0] == 0

    assert fetched.json() == room
    assert [item["id"] for item in listed.json()["value"]] == [room["id"]]


async def test_tls_serves_https_with_a_ca_file_to_trust(tmp_path: Path) -> None:
    ca_file = tmp_path / "ca.pem"
    async with emulator_process("--tls", "--ca-file", str(ca_file)) as running:
        assert running.endpoint.startswith("https://")
        context = ssl.create_default_context(cafile=str(ca_file))
        async with aiohttp.ClientSession() as session:
            http = SignedHttp(
                session,
                endpoint=running.endpoint,
                access_key=running.access_key,
                ssl_context=context,
            )
            created = await http.request("POST", ROOMS, {})
        assert created.status == 201
        assert (await running.stop())[0] == 0


async def test_a_taken_port_is_a_clear_error() -> None:
    async with EmulatorServer() as taken:
        process = await asyncio.create_subprocess_exec(
            *command(),
            "--port",
            str(taken.port),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), START_TIMEOUT)

    assert process.returncode == 1
    assert out == b""
    assert b"could not start" in err


async def test_accepts_entra_tokens_signed_with_the_given_secret_and_never_prints_it() -> None:
    secret = random_secret()
    async with emulator_process("--entra-secret", secret) as running:
        async with aiohttp.ClientSession() as session:
            for credential, status in (
                (LocalEntraCredential(secret), 201),
                (LocalEntraCredential(random_secret()), 401),
            ):
                token = await credential.get_token(ACS_SCOPE)
                async with session.post(
                    running.endpoint.rstrip("/") + ROOMS,
                    json={},
                    headers={"Authorization": f"Bearer {token.token}"},
                ) as response:
                    assert response.status == status
        code, out, err = await running.stop()
    assert code == 0
    assert "LocalEntraCredential(SECRET)" in err
    assert secret not in out + err
