"""The whole bot on loopback: emulator, fake Slack, SQLite in tmp_path, the real HTTP server."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from bot.local.dev_cli import CHANNEL, ME, TEAM, LocalBot, local_bot


@pytest.fixture(name="bot")
async def _bot(tmp_path: Path) -> AsyncIterator[LocalBot]:
    async with local_bot(f"sqlite+aiosqlite:///{tmp_path}/bot.db") as running:
        yield running


def interaction_body(payload: dict[str, Any]) -> str:
    """A Slack interactivity request body: the payload as JSON in one form field."""
    return urlencode({"payload": json.dumps(payload)})


def block_action(
    bot: LocalBot, action_id: str, value: str, *, user_id: str, channel: str = CHANNEL
) -> dict[str, Any]:
    return {
        "type": "block_actions",
        "team": {"id": TEAM, "domain": "local"},
        "user": {"id": user_id, "team_id": TEAM, "name": "someone"},
        "api_app_id": "A0LOCAL",
        "channel": {"id": channel, "name": "general"},
        "container": {"type": "message", "channel_id": channel},
        "trigger_id": bot.slack.issue_trigger_id(),
        "response_url": bot.slack.new_response_url(channel, user_id),
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": f"room:{value}",
                "value": value,
                "action_ts": str(time.time()),
            }
        ],
    }


async def press(bot: LocalBot, action_id: str, value: str, *, user_id: str = ME[0]) -> None:
    body = interaction_body(block_action(bot, action_id, value, user_id=user_id))
    await bot.post_signed(body, "application/x-www-form-urlencoded")
    await bot.settle()
