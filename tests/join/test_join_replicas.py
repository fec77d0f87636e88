"""Join codes live in the database: a link works after a restart between click and use, and
on another replica than the one that made it (two `roombot serve` processes, one PostgreSQL)."""

from __future__ import annotations

import json
import re
import secrets
import time

import aiohttp

from bot.local.emulator import EmulatorServer
from bot.local.fake_slack import FakeSlack
from tests.join.helpers import ALICE, LINK, ROOM_ID, join_press
from tests.reliability.harness import (
    CHANNEL,
    FORM,
    ME,
    TEAM,
    ServeProcess,
    serve_env,
    serving,
    slack_signature,
)

PUBLIC_URL = "https://roombot.example.test/base"


async def make_room(http: aiohttp.ClientSession, slack: FakeSlack, server: ServeProcess) -> str:
    ack = await server.command(
        http, slack, f"create now for 2 hours <@{ALICE}|alice>", channel=CHANNEL
    )
    assert ack.status == 200, ack
    card = await slack.wait_for(
        lambda s: next((m for m in s.messages if ROOM_ID.search(json.dumps(m.blocks))), None),
        timeout=20,
    )
    found = ROOM_ID.search(json.dumps(card.blocks))
    assert found
    return found.group(1)


async def click_join(
    http: aiohttp.ClientSession, slack: FakeSlack, server: ServeProcess, room_id: str
) -> str:
    """Press Join on *server* as Alice; the code from the link she is sent."""
    before = len(slack.ephemerals)
    body = join_press(slack, room_id, user=ALICE)
    stamp = str(int(time.time()))
    headers = {
        "Content-Type": FORM,
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": slack_signature(server.signing_secret, stamp, body),
    }
    async with http.post(server.url + "/slack/events", data=body, headers=headers) as response:
        assert response.status == 200
    note = await slack.wait_for(lambda s: s.ephemerals[before:] or None, timeout=20)
    found = LINK.search(json.dumps(note[0].blocks))
    assert found, note[0].blocks
    assert found.group(1).startswith(PUBLIC_URL + "/join/")
    return found.group(2)


async def redeem(http: aiohttp.ClientSession, server: ServeProcess, code: str) -> tuple[int, str]:
    async with http.post(f"{server.url}/join/{code}/token") as response:
        return response.status, await response.text()


def fake_world(slack: FakeSlack) -> None:
    slack.add_user(ME, "you", tz="Europe/Berlin")
    slack.add_user(ALICE, "alice", tz="America/New_York")


async def test_a_link_made_before_a_restart_works_after_it(sqlite_url: str) -> None:
    secret = secrets.token_hex(16)
    async with EmulatorServer() as emulator, FakeSlack(team_id=TEAM) as slack:
        fake_world(slack)
        env = serve_env(slack, emulator, sqlite_url, secret, ROOMBOT_PUBLIC_URL=PUBLIC_URL)
        async with aiohttp.ClientSession() as http:
            async with serving(env) as before:
                room_id = await make_room(http, slack, before)
                code = await click_join(http, slack, before, room_id)
                before.kill()
                await before.process.wait()
            async with serving(env) as after:
                status, body = await redeem(http, after, code)
                assert status == 200, body
                assert json.loads(body)["roomId"] == room_id
                status, body = await redeem(http, after, code)
                assert status == 410
                assert json.loads(body)["error"]["code"] == "code_used"
            log = "\n".join(before.log + after.log)
            assert code not in log
            assert not re.search(r"eyJ[\w-]{8,}\.[\w-]{8,}\.", log)


async def test_a_link_made_on_one_replica_works_once_on_either(postgres_url: str) -> None:
    secret = secrets.token_hex(16)
    async with EmulatorServer() as emulator, FakeSlack(team_id=TEAM) as slack:
        fake_world(slack)
        env = serve_env(slack, emulator, postgres_url, secret, ROOMBOT_PUBLIC_URL=PUBLIC_URL)
        async with aiohttp.ClientSession() as http, serving(env) as a, serving(env) as b:
            room_id = await make_room(http, slack, a)
            code = await click_join(http, slack, a, room_id)
            first, second = await redeem(http, b, code), await redeem(http, a, code)
            assert first[0] == 200, first
            assert json.loads(first[1])["roomId"] == room_id
            assert second[0] == 410
            assert json.loads(second[1])["error"]["code"] == "code_used"
