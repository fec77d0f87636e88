"""Socket Mode while Slack is unreachable: `roombot serve` stops on a signal in every state, and
each failed connection is one warning line, retried with backoff (issue #11, item 12).

The servers are real `roombot serve` processes; "Slack" is a port that refuses connections, a
port that accepts them and never answers, or the fake Slack with Socket Mode on.
"""

from __future__ import annotations

import asyncio
import re
import signal
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.local.emulator import EmulatorServer
from bot.local.fake_slack import FakeSlack
from bot.slack.socket_mode import Backoff, ReconnectingSocketModeClient
from tests.reliability.harness import ServeProcess, eventually, serve_env, serving

FAILED = re.compile(
    r"WARNING roombot\.socket_mode: .*could not connect to Slack .*again in (\d+) s"
)
STOP_WITHIN = 5.0


@pytest.fixture(name="refusing_port")
def _refusing_port() -> Iterator[int]:
    """A loopback port that is bound but not listening: every connection is refused."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield held.getsockname()[1]


@pytest.fixture(name="silent_port")
def _silent_port() -> Iterator[int]:
    """A loopback port that accepts connections (the kernel's backlog) and never answers."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen(16)
        yield held.getsockname()[1]


def _env(
    slack: FakeSlack, emulator: EmulatorServer, tmp_path: Path, api_url: str
) -> dict[str, str]:
    env = serve_env(
        slack,
        emulator,
        f"sqlite+aiosqlite:///{tmp_path}/serve.db",
        "unused-in-socket-mode",
        SLACK_API_URL=api_url,
    )
    env["SLACK_APP_TOKEN"] = slack.app_token  # serve_env leaves it out (HTTP mode)
    return env


async def _stops(server: ServeProcess, signum: signal.Signals) -> None:
    server.process.send_signal(signum)
    async with asyncio.timeout(STOP_WITHIN):
        code = await server.process.wait()
    assert code == 0, "\n".join(server.log)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
async def test_serve_stops_while_slack_refuses_connections(
    tmp_path: Path, refusing_port: int, signum: signal.Signals
) -> None:
    async with EmulatorServer() as emulator, FakeSlack() as slack:
        env = _env(slack, emulator, tmp_path, f"http://127.0.0.1:{refusing_port}/api/")
        async with serving(env) as server:
            await eventually(
                lambda: sum(bool(FAILED.search(line)) for line in server.log) >= 3,
                within=15,
                what="three failed connections logged",
            )
            await _stops(server, signum)
    failures = [FAILED.search(line) for line in server.log]
    delays = [int(found.group(1)) for found in failures if found]
    assert delays == sorted(delays), "the waits between attempts grow"
    assert delays[-1] > delays[0]
    # one line per failed connection: no traceback, no lines from the library's own retries
    assert not any("Traceback" in line or line.startswith(" ") for line in server.log)
    assert not any("retry handler" in line.lower() for line in server.log)
    assert not any(re.search(r"ERROR", line) for line in server.log), server.log


async def test_serve_stops_while_a_connection_attempt_hangs(
    tmp_path: Path, silent_port: int
) -> None:
    async with EmulatorServer() as emulator, FakeSlack() as slack:
        env = _env(slack, emulator, tmp_path, f"http://127.0.0.1:{silent_port}/api/")
        async with serving(env) as server:
            await _stops(server, signal.SIGTERM)


async def test_serve_stops_while_connected(tmp_path: Path) -> None:
    async with EmulatorServer() as emulator, FakeSlack(socket_mode=True) as slack:
        env = _env(slack, emulator, tmp_path, slack.api_url)
        async with serving(env) as server:
            await slack.wait_for(lambda fake: fake.connected, timeout=15)
            await _stops(server, signal.SIGTERM)
    assert any("Socket Mode: connected to Slack" in line for line in server.log)


async def test_failed_connections_back_off_and_the_client_connects_when_slack_returns(
    refusing_port: int,
) -> None:
    """In process, with the waits recorded instead of slept: 1, 2, 4, 8 s, then connected."""
    async with FakeSlack(socket_mode=True) as slack:
        from slack_sdk.web.async_client import AsyncWebClient

        waits: list[float] = []
        api = AsyncWebClient(base_url=f"http://127.0.0.1:{refusing_port}/api/", retry_handlers=[])

        async def sleep(seconds: float) -> None:
            waits.append(seconds)
            if len(waits) == 4:
                api.base_url = slack.api_url  # Slack is back
            await asyncio.sleep(0)

        client = ReconnectingSocketModeClient(
            app_token=slack.app_token,
            web_client=api,
            backoff=Backoff(first=1, most=60, jitter=0.2),
            sleep=sleep,
            rand=lambda: 0.0,
        )
        try:
            async with asyncio.timeout(10):
                await client.connect()
            assert waits == [1, 2, 4, 8]
            assert await client.is_connected()
            assert client.failures == 0
        finally:
            await client.close()  # type: ignore[no-untyped-call]


def test_backoff_doubles_up_to_its_ceiling_with_bounded_jitter() -> None:
    backoff = Backoff(first=1, most=30, jitter=0.2)
    assert [backoff.delay(n, rand=lambda: 0.0) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]
    assert backoff.delay(3, rand=lambda: 1.0) == pytest.approx(3.2)
