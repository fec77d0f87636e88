"""SIGKILL the bot with commands in flight at every journal state; after a restart each command
ends with exactly one room and one answer.

The bot runs as a real `roombot serve` process against the emulator and the fake Slack in this
process. Commands are held at each state by the world around the bot, not by hooks in it:
ACS latency holds creates (state accepted), Slack answering 429 with a long Retry-After holds
answers (state room_created), and some commands are simply allowed to finish (answered).
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import pytest
from slack_sdk.signature import SignatureVerifier

from bot.local.emulator import EmulatorServer
from bot.local.fake_slack import FakeSlack
from bot.store.store import Store
from tests.reliability.harness import ServeProcess
from tests.reliability.harness import serving as running_bot

SECRET = "crash-test-signing-secret"
TEAM = "T0LOCAL"
USER = "U0CRASH"


async def send(
    http: aiohttp.ClientSession, bot: ServeProcess, slack: FakeSlack, channel: str
) -> None:
    body = urlencode(
        {
            "team_id": TEAM,
            "channel_id": channel,
            "user_id": USER,
            "command": "/room",
            "text": "create tomorrow",
            "response_url": slack.new_response_url(channel, USER),
            "trigger_id": slack.issue_trigger_id(),
        }
    )
    stamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": SignatureVerifier(SECRET).generate_signature(
            timestamp=stamp, body=body
        )
        or "",
    }
    async with http.post(bot.url + "/slack/events", data=body, headers=headers) as response:
        assert response.status == 200
        assert "Creating your room" in await response.text()


def answers(slack: FakeSlack, channel: str) -> list[str]:
    """Room ids the channel was told about (posted messages, not counting 429s)."""
    return [
        found.group(1)
        for message in slack.channel_messages(channel)
        if (found := re.search(r"`(\d{17})`", str(message.blocks)))
    ]


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
async def test_sigkill_at_every_state_then_restart_ends_with_one_room_and_one_answer(
    tmp_path: Path,
) -> None:
    database = f"sqlite+aiosqlite:///{tmp_path}/crash.db"
    finished = [f"C0DONE{i}" for i in range(2)]  # answered before the kill
    created = [f"C0MADE{i}" for i in range(3)]  # room made, answer held by Slack 429s
    accepted = [f"C0WAIT{i}" for i in range(4)]  # create held by slow ACS
    channels = finished + created + accepted

    async with EmulatorServer() as emulator, FakeSlack(team_id=TEAM) as slack:
        slack.add_user(USER, "crash", tz="Europe/Berlin")
        for channel in channels:
            slack.add_channel(channel, channel.lower())
        env = {
            **os.environ,
            "SLACK_BOT_TOKEN": slack.bot_token,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": slack.api_url,
            "ACS_CONNECTION_STRING": emulator.connection_string,
            "DATABASE_URL": database,
            "ROOMBOT_WORKER_LEASE_SECONDS": "1",
        }
        env.pop("SLACK_APP_TOKEN", None)
        async with aiohttp.ClientSession() as http:
            async with running_bot(env) as first:
                for channel in finished:
                    await send(http, first, slack, channel)
                await slack.wait_for(
                    lambda s: all(answers(s, c) for c in finished) or None, timeout=20
                )

                slack.fail_next("chat.postMessage", status=429, retry_after=120, times=len(created))
                for channel in created:
                    await send(http, first, slack, channel)
                await slack.wait_for(
                    lambda s: (
                        len([c for c in s.calls_to("chat.postMessage") if c.status == 429])
                        >= len(created)
                        or None
                    ),
                    timeout=20,
                )

                emulator.set_faults(latency_ms=60_000)
                for channel in accepted:
                    await send(http, first, slack, channel)
                first.kill()
                await first.process.wait()

            emulator.set_faults(latency_ms=0)
            async with running_bot(env) as second:
                await slack.wait_for(
                    lambda s: all(answers(s, c) for c in channels) or None, timeout=30
                )
                async with Store.open(database) as store:
                    deadline = time.monotonic() + 20
                    # Another process writes this database: poll it, with a deadline.
                    while await store.journal.pending_count() and time.monotonic() < deadline:  # noqa: ASYNC110
                        await asyncio.sleep(0.05)
                    assert await store.journal.pending_count() == 0
                second.kill()

    per_channel = {channel: answers(slack, channel) for channel in channels}
    assert all(len(ids) == 1 for ids in per_channel.values()), per_channel
    room_ids = {ids[0] for ids in per_channel.values()}
    assert len(room_ids) == len(channels)  # one distinct room per command
    assert emulator.state.rooms_created == len(channels)  # and ACS made no others
    assert room_ids == {rid for rid, room in emulator.state.rooms.items() if not room.deleted}
