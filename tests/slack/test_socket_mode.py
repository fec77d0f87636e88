"""Socket Mode: the same listeners over Slack's WebSocket, health reflecting the connection."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.config import load_settings
from bot.local.dev_cli import CHANNEL, ME, TEAM
from bot.local.emulator import EmulatorServer
from bot.local.fake_slack import FakeSlack
from bot.main import Options, Runtime
from tests.reliability.harness import eventually


@pytest.fixture(name="socket_bot")
async def _socket_bot(tmp_path: Path) -> AsyncIterator[tuple[Runtime, FakeSlack]]:
    async with (
        EmulatorServer() as emulator,
        FakeSlack(team_id=TEAM, socket_mode=True) as slack,
    ):
        slack.add_user(ME[0], ME[1], tz=ME[2])
        settings = load_settings(
            SLACK_BOT_TOKEN=slack.bot_token,
            SLACK_SIGNING_SECRET="unused-in-socket-mode",
            SLACK_APP_TOKEN=slack.app_token,
            SLACK_API_URL=slack.api_url,
            ACS_CONNECTION_STRING=emulator.connection_string,
            DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/socket.db",
        )
        options = Options(channel_post_interval=0, response_url_prefixes=(slack.base_url,))
        async with Runtime(settings, options) as runtime:
            await runtime.start_socket_mode()  # connects in the background
            assert runtime.socket_mode is not None
            await eventually(runtime.socket_mode.connected, what="Socket Mode connected")
            yield runtime, slack


def slash_command(slack: FakeSlack, text: str) -> dict[str, str]:
    return {
        "team_id": TEAM,
        "channel_id": CHANNEL,
        "user_id": ME[0],
        "command": "/room",
        "text": text,
        "response_url": slack.new_response_url(CHANNEL, ME[0]),
        "trigger_id": slack.issue_trigger_id(),
    }


async def test_commands_arrive_and_are_acked_over_the_socket(
    socket_bot: tuple[Runtime, FakeSlack],
) -> None:
    runtime, slack = socket_bot
    envelope = await slack.socket_send("slash_commands", slash_command(slack, "create tomorrow"))
    ack = await slack.wait_for_ack(envelope)
    assert "Creating your room" in json.dumps(ack)
    posted = await slack.wait_for(lambda s: s.messages[-1] if s.messages else None, timeout=10)
    assert "Room ready" in json.dumps(posted.blocks)
    healthy, report = await runtime.health()
    assert healthy
    assert report["socket_mode"] == "connected"


async def test_the_client_reconnects_after_the_server_closes_the_session(
    socket_bot: tuple[Runtime, FakeSlack],
) -> None:
    runtime, slack = socket_bot
    opened = slack.connections_opened
    await slack.drop_socket_connections()
    await slack.wait_for(lambda s: s.connections_opened > opened and s.connected, timeout=15)
    envelope = await slack.socket_send("slash_commands", slash_command(slack, "help"))
    ack = await slack.wait_for_ack(envelope)
    assert "/room create" in json.dumps(ack)
    healthy, _ = await runtime.health()
    assert healthy


async def test_healthz_over_http_reports_the_socket(socket_bot: tuple[Runtime, FakeSlack]) -> None:
    from aiohttp import web

    from bot.main import web_app

    runtime, _ = socket_bot
    runner = web.AppRunner(web_app(runtime))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{port}/healthz") as response,
        ):
            assert response.status == 200
            assert (await response.json())["socket_mode"] == "connected"
    finally:
        await runner.cleanup()
