"""Helpers for the join tests: rooms made through /room, Join pressed as Slack sends it."""

from __future__ import annotations

import base64
import json
import re
import time
from typing import Any
from urllib.parse import urlencode

from bot.local.fake_slack import Ephemeral, FakeSlack
from bot.slack import blocks
from tests.reliability.harness import CHANNEL, TEAM, Bot

ALICE, BOB, CAROL = "U0ALICE", "U0BOB", "U0CAROL"
LINK = re.compile(r"(https?://[^\s|>\"]+/join/([A-Za-z0-9_-]+))")
ROOM_ID = re.compile(r"`(\d{17})`")


async def create_room(bot: Bot, words: str = "now for 2 hours") -> str:
    """`/room create WORDS` with Alice (presenter) and Bob invited; the new room's id."""
    bot.user(ALICE, "alice", tz="America/New_York")
    bot.user(BOB, "bob", tz="Asia/Kolkata")
    bot.user(CAROL, "carol")
    before = len(bot.slack.messages)
    await bot.command(f"create {words} <@{ALICE}|alice> presenter <@{BOB}|bob>")
    await bot.settle()
    posted = bot.slack.messages[before:]
    assert len(posted) == 1, [e.text for e in bot.slack.ephemerals]
    found = ROOM_ID.search(json.dumps(posted[0].blocks))
    assert found
    return found.group(1)


def join_press(slack: FakeSlack, room_id: str, *, user: str, team: str = TEAM) -> str:
    """The interactivity body Slack sends when *user* presses a card's Join button."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        "team": {"id": team, "domain": "local"},
        "user": {"id": user, "team_id": team, "name": slack.users[user].name},
        "api_app_id": "A0LOCAL",
        "channel": {"id": CHANNEL, "name": "general"},
        "container": {"type": "message", "channel_id": CHANNEL},
        "trigger_id": slack.issue_trigger_id(),
        "response_url": slack.new_response_url(CHANNEL, user),
        "actions": [
            {
                "type": "button",
                "action_id": blocks.ACTION_JOIN,
                "block_id": f"room:{room_id}",
                "value": room_id,
                "action_ts": str(time.time()),
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)})


async def press_join(bot: Bot, room_id: str, *, user: str) -> Ephemeral:
    """Press Join as *user*; the one ephemeral answer it brought."""
    before = len(bot.slack.ephemerals)
    ack = await bot.post_signed(join_press(bot.slack, room_id, user=user))
    assert ack.status == 200
    await bot.settle()
    answers = bot.slack.ephemerals[before:]
    assert len(answers) == 1, [a.text for a in answers]
    return answers[0]


def said(message: Any) -> str:
    return json.dumps(getattr(message, "blocks", None) or []) + str(getattr(message, "text", ""))


def link_in(message: Any) -> str:
    found = LINK.search(said(message))
    assert found, said(message)
    return found.group(1)


def jwt_claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))
