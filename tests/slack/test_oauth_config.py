"""Choosing one workspace or many from the environment, with real `roombot serve` processes.

SLACK_BOT_TOKEN: one workspace, as before (SLACK_CLIENT_ID/SECRET beside it only serve Sign in
with Slack). SLACK_CLIENT_ID and SLACK_CLIENT_SECRET without it: any number of workspaces,
installed through `/slack/install`. Half of a pair, or neither, is one line and exit 2.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import aiohttp
import pytest

from bot.local.dev_cli import CHANNEL, TEAM, LocalBot
from bot.local.emulator import EmulatorServer
from bot.local.fake_slack import FakeSlack
from tests.reliability.harness import ME, serve_env, serving
from tests.test_startup_errors import _refused, _valid


def test_a_client_id_without_its_secret_names_the_secret(tmp_path: Path) -> None:
    env = _valid(tmp_path, SLACK_BOT_TOKEN="<unset>", SLACK_CLIENT_ID="1111.2222")
    line = _refused("serve", "--port", "0", env=env)
    assert line.startswith("roombot: SLACK_CLIENT_SECRET is not set")
    assert "SLACK_CLIENT_ID is set" in line


def test_a_client_secret_without_its_id_names_the_id(tmp_path: Path) -> None:
    line = _refused("serve", "--port", "0", env=_valid(tmp_path, SLACK_CLIENT_SECRET="sekrit"))
    assert line.startswith("roombot: SLACK_CLIENT_ID is not set")
    assert "sekrit" not in line


def test_neither_a_bot_token_nor_a_client_id_names_both_ways(tmp_path: Path) -> None:
    line = _refused("serve", "--port", "0", env=_valid(tmp_path, SLACK_BOT_TOKEN="<unset>"))
    assert line.startswith("roombot: SLACK_BOT_TOKEN is not set")
    assert "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET" in line


async def test_a_bot_token_with_sign_in_credentials_stays_one_workspace(tmp_path: Path) -> None:
    """Bolt reads SLACK_CLIENT_ID/SECRET from the environment by itself; beside a bot token
    (for Sign in with Slack) they must not turn it into an app that waits for installs."""
    async with EmulatorServer() as emulator, FakeSlack() as slack:
        slack.add_user(ME, "me")
        env = serve_env(
            slack,
            emulator,
            f"sqlite+aiosqlite:///{tmp_path}/one.db",
            "s3cret",
            SLACK_CLIENT_ID="1111.2222",
            SLACK_CLIENT_SECRET="client-secret",
            HOME=str(tmp_path),  # where Bolt's file installation store would have looked
        )
        async with serving(env) as server, aiohttp.ClientSession() as http:
            ack = await server.command(http, slack, "help", channel=CHANNEL)
            assert ack.status == 200
            assert "How to use /room" in ack.text
            async with http.get(server.url + "/slack/install") as install:
                assert install.status == 404  # no OAuth in single-workspace mode
    assert not (tmp_path / ".bolt-app-installation").exists()


async def test_client_credentials_alone_serve_the_install_page(tmp_path: Path) -> None:
    async with EmulatorServer() as emulator, FakeSlack() as slack:
        slack.add_user(ME, "me")
        env = serve_env(
            slack,
            emulator,
            f"sqlite+aiosqlite:///{tmp_path}/many.db",
            "s3cret",
            SLACK_CLIENT_ID="1111.2222",
            SLACK_CLIENT_SECRET="client-secret",
        )
        del env["SLACK_BOT_TOKEN"]
        async with serving(env) as server, aiohttp.ClientSession() as http:
            async with http.get(server.url + "/slack/install") as install:
                assert install.status == 200
                page = await install.text()
            assert f"{slack.base_url}oauth/v2/authorize?" in page.replace("&amp;", "&")
            assert "client_id=1111.2222" in page
            # a command from a workspace that never installed is answered, not run
            ack = await server.command(http, slack, "help", channel=CHANNEL)
            assert ack.status == 200
            assert "How to use /room" not in ack.text


async def test_one_workspace_acknowledges_an_uninstall_and_says_what_to_do(
    bot: LocalBot, caplog: pytest.LogCaptureFixture
) -> None:
    """The manifest subscribes to app_uninstalled for every deployment: with a bot token it is
    acknowledged (Slack would otherwise retry it) and logged, and nothing is deleted."""
    caplog.set_level(logging.INFO, logger="roombot.slack")
    uninstalled = {
        "type": "event_callback",
        "team_id": TEAM,
        "api_app_id": "A0LOCALAPP",
        "event_id": "Ev0GONE",
        "event_time": 1,
        "event": {"type": "app_uninstalled"},
    }
    assert "error" not in await bot.post_signed(json.dumps(uninstalled), "application/json")
    assert "SLACK_BOT_TOKEN no longer works" in caplog.text
    assert "How to use /room" in str(await bot.command("/room help"))
