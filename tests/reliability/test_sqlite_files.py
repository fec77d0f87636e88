"""`roombot serve` on SQLite files it cannot write, or that are cut short under it: one clear
line instead of a driver traceback or a silent death (issue #11 item 11).

The health check failing on a database that refuses writes is in test_health.py.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from bot.local.emulator import EmulatorServer
from bot.local.fake_slack import FakeSlack
from bot.store.store import Store
from tests.reliability.harness import ME, ROOMBOT, TEAM, eventually, serve_env, serving

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mounts, SIGBUS")


def run_fixed(*command: str) -> int:
    """A fixed system command (mount, umount) on a path of our own; its exit status."""
    found = shutil.which(command[0])
    if found is None:
        return 127
    args = [found, *command[1:]]
    return subprocess.run(args, capture_output=True, check=False).returncode  # noqa: S603


def mount(*args: str) -> int:
    return run_fixed("mount", *args)


@pytest.fixture(name="read_only_folder")
def _read_only_folder(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """A folder holding a migrated database, then made read-only: a read-only mount when
    running as root (permissions do not stop root), else permissions."""
    folder = tmp_path / "data"
    folder.mkdir()
    mounted = False
    if os.geteuid() == 0:
        if mount("-t", "tmpfs", "-o", "size=8m", "tmpfs", str(folder)) != 0:
            pytest.skip("root, but cannot mount a tmpfs here")
        mounted = True
    database = folder / "bot.db"

    async def migrate() -> None:
        async with Store.open(f"sqlite+aiosqlite:///{database}", migrate=True):
            pass

    asyncio.run(migrate())
    try:
        if mounted:
            assert mount("-o", "remount,ro", str(folder)) == 0
        else:
            for path in folder.iterdir():
                path.chmod(0o444)
            folder.chmod(0o555)
        yield folder, database
    finally:
        if mounted:
            run_fixed("umount", str(folder))
        else:
            folder.chmod(0o755)


def test_an_unwritable_sqlite_database_stops_start_up_with_one_line(
    read_only_folder: tuple[Path, Path],
) -> None:
    folder, database = read_only_folder
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": "xoxb-fake",
        "SLACK_SIGNING_SECRET": secrets.token_hex(16),
        "ACS_CONNECTION_STRING": "endpoint=http://127.0.0.1:9/;accesskey=aGVsbG8=",
        "DATABASE_URL": f"sqlite+aiosqlite:///{database}",
    }
    env.pop("SLACK_APP_TOKEN", None)
    done = subprocess.run(  # noqa: S603 - our own console script
        [ROOMBOT, "serve", "--host", "127.0.0.1", "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2, done.stderr[-2000:]
    lines = done.stderr.strip().splitlines()
    assert lines == [
        # names the setting (issue #11 item 14), as every start-up refusal does
        f"roombot: DATABASE_URL: the SQLite folder {folder} is not writable by this process"
    ]


async def test_a_wal_index_cut_short_under_the_server_is_reported_not_silent(
    tmp_path: Path,
) -> None:
    """SQLite maps its WAL index (`-shm`) into memory, as it must to share it between
    connections; a file cut short under a mapping delivers SIGBUS, which cannot be caught.
    The process still dies, but says why, with the stack, instead of vanishing."""
    database = tmp_path / "bot.db"
    async with EmulatorServer() as emulator, FakeSlack(team_id=TEAM) as slack:
        slack.add_user(ME, "you", tz="Europe/London")
        env = serve_env(slack, emulator, f"sqlite+aiosqlite:///{database}", secrets.token_hex(16))
        async with aiohttp.ClientSession() as http, serving(env) as server:
            async with http.get(server.url + "/healthz") as response:
                assert response.status == 200
            os.truncate(f"{database}-shm", 0)
            try:
                async with http.get(server.url + "/healthz") as response:
                    await response.read()
            except aiohttp.ClientError:
                pass  # the process died under the request
            await asyncio.wait_for(server.process.wait(), 10)

            def said_why() -> bool:
                return any("Fatal Python error: Bus error" in line for line in server.log)

            await eventually(said_why, what="the bus error on stderr")
