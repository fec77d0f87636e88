"""Crashes: two replicas on one PostgreSQL database, one SIGKILLed with commands in flight;
the survivor finishes its own work and the dead one's, each command once.

tests/test_crash_recovery.py kills a single replica at every journal state and restarts it
(SQLite); `bench/soak.py` kills one with 100 commands in flight. Both replicas here are real
`roombot serve` processes, with the 1 s lease a deployment that wants quick take-over sets.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import sys
import time
from urllib.parse import urlencode

import aiohttp
import pytest
from sqlalchemy import select, update

from bot.acs.emulator import EmulatorServer
from bot.slack.fake_slack import FakeSlack
from bot.store.records import JournalState
from bot.store.store import Store
from bot.store.tables import JournalRow
from tests.reliability.harness import (
    ME,
    TEAM,
    Bot,
    eventually,
    serve_env,
    serving,
    slack_signature,
)

ROOM_ID = re.compile(r"`(\d{17})`")


def answered_rooms(slack: FakeSlack, channel: str) -> list[str]:
    return [
        found.group(1)
        for message in slack.channel_messages(channel)
        if (found := ROOM_ID.search(json.dumps(message.blocks)))
    ]


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
async def test_a_replica_killed_mid_work_is_taken_over_by_the_other(postgres_url: str) -> None:
    on_a = [f"C0ONA{i:02d}" for i in range(10)]
    on_b = [f"C0ONB{i:02d}" for i in range(5)]
    secret = secrets.token_hex(16)
    async with EmulatorServer() as emulator, FakeSlack(team_id=TEAM) as slack:
        slack.add_user(ME, "you", tz="Europe/Berlin")
        for channel in on_a + on_b:
            slack.add_channel(channel, channel.lower())
        env = serve_env(slack, emulator, postgres_url, secret, ROOMBOT_WORKER_LEASE_SECONDS="1")
        # B starts once A has put the schema in place: contexts are entered in order.
        async with aiohttp.ClientSession() as http, serving(env) as a, serving(env) as b:
            emulator.set_faults(latency_ms=5_000)  # ACS holds every call for 5 s
            acks = await asyncio.gather(
                *(a.command(http, slack, "create tomorrow", channel=c) for c in on_a),
                *(b.command(http, slack, "create tomorrow", channel=c) for c in on_b),
            )
            assert all(ack.status == 200 and "Creating" in ack.text for ack in acks), acks
            assert slack.messages == []  # every command is in flight, waiting on ACS
            a.kill()
            await a.process.wait()
            killed = time.monotonic()
            emulator.set_faults(latency_ms=0)

            await slack.wait_for(
                lambda s: all(answered_rooms(s, c) for c in on_a + on_b) or None, timeout=30
            )
            recovery = time.monotonic() - killed
            async with Store.open(postgres_url) as store:
                # The answer goes out just before the journal records it: poll, with a deadline.
                async def settled() -> bool:
                    return await store.journal.pending_count() == 0

                await eventually(settled, within=10, what="the journal to settle")
                entries = [await store.journal.get(key) for key in await journal_keys(store)]
            b.kill()

    print(f"\ntwo replicas: A killed with 10 in flight, B finished all in {recovery:.1f} s")
    per_channel = {c: answered_rooms(slack, c) for c in on_a + on_b}
    assert all(len(ids) == 1 for ids in per_channel.values()), per_channel
    assert len({ids[0] for ids in per_channel.values()}) == len(per_channel)
    assert emulator.state.rooms_created == len(per_channel)
    assert len(entries) == len(per_channel)
    assert all(e is not None and e.state is JournalState.ANSWERED for e in entries)
    assert {e.room_id for e in entries if e} == {ids[0] for ids in per_channel.values()}


async def journal_keys(store: Store) -> list[str]:
    async with store.engine.connect() as connection:
        return list(await connection.scalars(select(JournalRow.key)))


async def test_a_create_resumed_after_its_room_was_posted_is_not_posted_again(bot: Bot) -> None:
    """The crash point between telling the channel and recording that it was told: the room
    is in the channel (and its message on the room's record), the journal entry still says
    room_created. `bench/soak.py` found a quarter of the commands in flight at a SIGKILL
    answered twice. On resume the answer must update that message, not post a second one."""
    await bot.command("create tomorrow")
    await bot.settle()
    entry = (await bot.journal())[0]
    room = await bot.runtime.store.rooms.get(entry.room_id or "")
    assert room is not None
    assert room.message is not None
    assert len(bot.slack.messages) == 1
    async with bot.runtime.store.engine.begin() as connection:  # the state a SIGKILL leaves
        await connection.execute(
            update(JournalRow)
            .where(JournalRow.key == entry.key)
            .values(
                state=JournalState.ROOM_CREATED.value,
                answered_at=None,
                lease_owner=None,
                lease_until=None,
            )
        )

    await bot.runtime.worker.run_once()
    await bot.settle()
    assert len(bot.slack.messages) == 1, [m.text for m in bot.slack.messages]
    assert [c.params.get("ts") for c in bot.slack.calls_to("chat.update")] == [room.message.ts]
    resumed = await bot.runtime.store.journal.get(entry.key)
    assert resumed is not None
    assert resumed.state is JournalState.ANSWERED
    assert bot.emulator.state.rooms_created == 1


async def test_a_request_replayed_to_the_other_replica_is_done_once(postgres_url: str) -> None:
    """Each replica refuses a signature it has seen (401); the other replica has not seen
    it, so there the journal key derived from the signature makes the copy a no-op."""
    secret = secrets.token_hex(16)
    async with EmulatorServer() as emulator, FakeSlack(team_id=TEAM) as slack:
        slack.add_user(ME, "you", tz="Europe/Berlin")
        env = serve_env(slack, emulator, postgres_url, secret)
        async with aiohttp.ClientSession() as http, serving(env) as a, serving(env) as b:
            body = urlencode(
                {
                    "team_id": TEAM,
                    "channel_id": "C0LOCAL",
                    "user_id": ME,
                    "command": "/room",
                    "text": "create tomorrow",
                    "response_url": slack.new_response_url("C0LOCAL", ME),
                }
            )
            stamp = str(int(time.time()))
            headers = {
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Slack-Request-Timestamp": stamp,
                "X-Slack-Signature": slack_signature(secret, stamp, body),
            }
            answers = []
            for replica in (a, b, a, b):
                async with http.post(
                    replica.url + "/slack/events", data=body, headers=headers
                ) as r:
                    answers.append((r.status, "Creating" in await r.text()))
            await slack.wait_for(lambda s: answered_rooms(s, "C0LOCAL") or None, timeout=20)
            async with Store.open(postgres_url) as store:
                keys = await journal_keys(store)
    assert answers == [(200, True), (200, False), (401, False), (401, False)]
    assert len(keys) == 1
    assert emulator.state.rooms_created == 1
    assert len(answered_rooms(slack, "C0LOCAL")) == 1
