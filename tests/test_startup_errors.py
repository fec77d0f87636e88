"""A missing, malformed or unusable setting or flag stops `roombot` with one line naming it and
exit code 2, never a traceback (issue #11, item 14). Real `roombot` processes throughout.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from bot.local.emulator import EmulatorServer
from bot.local.fake_slack import FakeSlack
from tests.reliability.harness import eventually, serve_env, serving

ROOMBOT = str(Path(sys.executable).with_name("roombot"))
SECRET_PASSWORD = "pw-never-printed"


def _clean_env() -> dict[str, str]:
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "ACS_", "DATABASE_", "ROOMBOT_"))
    }


def _valid(tmp_path: Path, **changes: str) -> dict[str, str]:
    env = {
        **_clean_env(),
        "SLACK_BOT_TOKEN": "xoxb-1-2-3",
        "SLACK_SIGNING_SECRET": "s3cret",
        "ACS_CONNECTION_STRING": "endpoint=http://127.0.0.1:9/;accesskey=AAAA",
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/ok.db",
        **changes,
    }
    return {k: v for k, v in env.items() if v != "<unset>"}


def _refused(*args: str, env: dict[str, str]) -> str:
    """Run `roombot ARGS`; it must exit 2 with one line (argparse: usage, then one line)."""
    result = subprocess.run(  # noqa: S603 - our own console script
        [ROOMBOT, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if not line.startswith(("usage:", " "))]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture(name="refusing_port")
def _refusing_port() -> Iterator[int]:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield held.getsockname()[1]


@pytest.fixture(name="silent_server")
def _silent_server() -> Iterator[socket.socket]:
    """A listening socket whose connections are accepted by the test and never answered."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen(16)
        held.setblocking(False)
        yield held


def test_a_folder_as_the_sqlite_file_names_database_url(tmp_path: Path) -> None:
    line = _refused(
        "serve", "--port", "0", env=_valid(tmp_path, DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}")
    )
    assert line.startswith("roombot: DATABASE_URL: cannot open the database")
    assert "unable to open database file" in line
    assert "writable" in line


def test_a_sqlite_path_under_a_file_names_database_url(tmp_path: Path) -> None:
    (tmp_path / "plain").write_text("not a folder")
    url = f"sqlite+aiosqlite:///{tmp_path}/plain/bot.db"
    line = _refused("serve", "--port", "0", env=_valid(tmp_path, DATABASE_URL=url))
    assert line.startswith("roombot: DATABASE_URL: cannot open the database")
    assert "plain" in line


def test_a_file_that_is_not_a_database_names_database_url(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello, this is not SQLite\n" * 100)
    url = f"sqlite+aiosqlite:///{tmp_path}/notes.txt"
    line = _refused("serve", "--port", "0", env=_valid(tmp_path, DATABASE_URL=url))
    assert line.startswith("roombot: DATABASE_URL: cannot open the database")
    assert "not a database" in line


def test_an_unreachable_postgresql_names_database_url_without_the_password(
    tmp_path: Path, refusing_port: int
) -> None:
    url = f"postgresql+asyncpg://roombot:{SECRET_PASSWORD}@127.0.0.1:{refusing_port}/roombot"
    line = _refused("serve", "--port", "0", env=_valid(tmp_path, DATABASE_URL=url))
    assert line.startswith("roombot: DATABASE_URL: cannot open the database")
    assert "refused" in line.lower()
    assert f"127.0.0.1:{refusing_port}" in line
    assert SECRET_PASSWORD not in line


def test_a_busy_port_names_the_port_flag(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        line = _refused("serve", "--host", "127.0.0.1", "--port", str(port), env=_valid(tmp_path))
    assert line.startswith(f"roombot: --port {port}: ")
    assert "already in use" in line


def test_a_host_that_is_not_this_machines_names_the_host_flag(tmp_path: Path) -> None:
    line = _refused("serve", "--host", "nowhere.invalid", "--port", "0", env=_valid(tmp_path))
    assert line.startswith("roombot: --host nowhere.invalid: ")


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("serve", "--log-level", "nope"), "argument --log-level: 'nope' is not a log level"),
        (("serve", "--port", "99999"), "argument --port: '99999' is not a port"),
        (("emulator", "--port", "99999"), "argument --port: '99999' is not a port"),
        (("emulator", "--port", "http"), "argument --port: 'http' is not a port"),
        (("dev", "--log-level", "loud"), "argument --log-level: 'loud' is not a log level"),
    ],
)
def test_a_bad_flag_is_a_usage_error_naming_it(
    tmp_path: Path, args: tuple[str, ...], named: str
) -> None:
    line = _refused(*args, env=_valid(tmp_path))
    assert named in line
    assert "e.g." in line  # and an example that works


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"SLACK_BOT_TOKEN": "xoxp-user-token"}, "SLACK_BOT_TOKEN is not a bot token"),
        ({"SLACK_BOT_TOKEN": "xapp-1-A-1-x"}, "SLACK_BOT_TOKEN is not a bot token"),
        ({"SLACK_APP_TOKEN": "xoxb-1-2-3"}, "SLACK_APP_TOKEN is not an app-level token"),
        ({"SLACK_BOT_TOKEN": ""}, "SLACK_BOT_TOKEN is not set"),
        ({"SLACK_SIGNING_SECRET": "<unset>"}, "SLACK_SIGNING_SECRET is not set"),
    ],
)
def test_the_wrong_kind_of_token_is_refused_without_quoting_it(
    tmp_path: Path, changes: dict[str, str], expected: str
) -> None:
    line = _refused("serve", "--port", "0", env=_valid(tmp_path, **changes))
    assert line.startswith(f"roombot: {expected}")
    for value in changes.values():
        if len(value) > 8:
            assert value not in line


async def test_socket_mode_needs_no_signing_secret(tmp_path: Path) -> None:
    async with EmulatorServer() as emulator, FakeSlack(socket_mode=True) as slack:
        env = serve_env(slack, emulator, f"sqlite+aiosqlite:///{tmp_path}/sm.db", "")
        env["SLACK_APP_TOKEN"] = slack.app_token
        del env["SLACK_SIGNING_SECRET"]
        env["SLACK_SIGNING_SECRET"] = ""  # blank counts as unset; serving() reads the key
        async with serving(env) as server, aiohttp.ClientSession() as http:
            await slack.wait_for(lambda fake: fake.connected, timeout=15)

            async def healthy() -> bool:
                async with http.get(server.url + "/healthz") as response:
                    return response.status == 200

            await eventually(healthy, within=10, what="healthy over Socket Mode")
            # nothing is signed in Socket Mode, so nothing is taken over HTTP
            async with http.post(server.url + "/slack/events", data="x=1") as response:
                assert response.status in (404, 405)


async def test_a_signal_during_start_up_stops_it(
    tmp_path: Path, silent_server: socket.socket
) -> None:
    """A PostgreSQL that accepts the connection and never answers: SIGTERM still stops it."""
    port = silent_server.getsockname()[1]
    env = _valid(tmp_path, DATABASE_URL=f"postgresql+asyncpg://roombot@127.0.0.1:{port}/roombot")
    process = await asyncio.create_subprocess_exec(
        ROOMBOT,
        "serve",
        "--port",
        "0",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(30):  # start-up has reached the database and waits on it
            connection, _ = await asyncio.get_running_loop().sock_accept(silent_server)
        with connection:  # held open, never answered
            assert process.returncode is None, "still starting"
            process.send_signal(signal.SIGTERM)
            async with asyncio.timeout(5):
                _, err = await process.communicate()
        assert process.returncode == 0, err.decode()
        assert b"Traceback" not in err
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


def test_a_connection_string_and_an_endpoint_together_name_both(tmp_path: Path) -> None:
    env = _valid(tmp_path, ACS_ENDPOINT="https://res.communication.azure.com/")
    line = _refused("serve", "--port", "0", env=env)
    assert line.startswith("roombot: ACS_CONNECTION_STRING and ACS_ENDPOINT are both set")
    assert "set only one" in line


def test_neither_a_connection_string_nor_an_endpoint_names_both(tmp_path: Path) -> None:
    line = _refused("serve", "--port", "0", env=_valid(tmp_path, ACS_CONNECTION_STRING="<unset>"))
    assert line.startswith("roombot: ACS_CONNECTION_STRING is not set")
    assert "ACS_ENDPOINT=https://NAME.communication.azure.com/" in line


@pytest.mark.parametrize(
    "endpoint",
    ["http://res.communication.azure.com/", "res.communication.azure.com", "https://"],
)
def test_an_endpoint_that_is_not_https_names_acs_endpoint(tmp_path: Path, endpoint: str) -> None:
    env = _valid(tmp_path, ACS_CONNECTION_STRING="<unset>", ACS_ENDPOINT=endpoint)
    line = _refused("serve", "--port", "0", env=env)
    assert line.startswith("roombot: ACS_ENDPOINT is malformed: must be an https URL"), line
