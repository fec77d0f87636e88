"""The manifest and the app agree: every command and shortcut it declares is handled, and back."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import yaml

from bot.local.dev_cli import CHANNEL, ME, TEAM, LocalBot
from bot.slack.app import HANDLED_COMMANDS, HANDLED_SHORTCUTS
from tests.slack.conftest import interaction_body

MANIFEST = yaml.safe_load((Path(__file__).resolve().parents[2] / "manifest.yml").read_text())


def _declared() -> tuple[set[str], set[str]]:
    features: dict[str, Any] = MANIFEST["features"]
    commands = {c["command"] for c in features.get("slash_commands", [])}
    shortcuts = {s["callback_id"] for s in features.get("shortcuts", [])}
    return commands, shortcuts


def test_everything_the_app_handles_is_declared() -> None:
    commands, shortcuts = _declared()
    assert set(HANDLED_COMMANDS) == commands
    assert set(HANDLED_SHORTCUTS) == shortcuts


async def _status(bot: LocalBot, body: str) -> int:
    import time

    from slack_sdk.signature import SignatureVerifier

    stamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": SignatureVerifier(bot.signing_secret).generate_signature(
            timestamp=stamp, body=body
        ),
    }
    async with bot.http.post(bot.events_url, data=body.encode(), headers=headers) as response:
        return response.status


def _command(bot: LocalBot, name: str) -> str:
    return urlencode(
        {
            "team_id": TEAM,
            "channel_id": CHANNEL,
            "user_id": ME[0],
            "command": name,
            "text": "help",
            "response_url": bot.slack.new_response_url(CHANNEL, ME[0]),
            "trigger_id": bot.slack.issue_trigger_id(),
        }
    )


def _shortcut(bot: LocalBot, callback_id: str) -> str:
    declared = {s["callback_id"]: s["type"] for s in MANIFEST["features"]["shortcuts"]}
    kind = "message_action" if declared.get(callback_id) == "message" else "shortcut"
    return interaction_body(
        {
            "type": kind,
            "callback_id": callback_id,
            "team": {"id": TEAM},
            "user": {"id": ME[0], "team_id": TEAM},
            "trigger_id": bot.slack.issue_trigger_id(),
        }
    )


async def test_every_declared_command_and_shortcut_has_a_handler(bot: LocalBot) -> None:
    commands, shortcuts = _declared()
    for command in commands:
        assert await _status(bot, _command(bot, command)) == 200, command
    for shortcut in shortcuts:
        assert await _status(bot, _shortcut(bot, shortcut)) == 200, shortcut
    # The check can fail: what nobody handles is answered 404.
    assert await _status(bot, _command(bot, "/not-ours")) == 404
    assert await _status(bot, _shortcut(bot, "not_ours")) == 404
