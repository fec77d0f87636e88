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

from bot.domain import JournalState
from bot.local.emulator import EmulatorServer
from bot.local.fake_slack import FakeSlack
from bot.store.store import Store
from bot.store.tables import JournalRow, RoomRow
from tests.database import execute, fetch
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
    return [row.key for row in await fetch(store, select(JournalRow.key))]


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
    await execute(  # the state a SIGKILL leaves
        bot.runtime.store,
        update(JournalRow)
        .where(JournalRow.key == entry.key)
        .values(
            state=JournalState.ROOM_CREATED.value,
            answered_at=None,
            lease_owner=None,
            lease_until=None,
        ),
    )

    await bot.runtime.worker.run_once()
    await bot.settle()
    assert len(bot.slack.messages) == 1, [m.text for m in bot.slack.messages]
    assert [c.params.get("ts") for c in bot.slack.calls_to("chat.update")] == [room.message.ts]
    resumed = await bot.runtime.store.journal.get(entry.key)
    assert resumed is not None
    assert resumed.state is JournalState.ANSWERED
    assert bot.emulator.state.rooms_created == 1


async def crash_after_posting(bot: Bot, channel: str = "C0ROOMS") -> tuple[str, str]:
    """Run a create to its end, then put the database back to what a SIGKILL leaves between
    Slack taking the room card and the bot recording it: the entry room_created and the
    room without a message. Returns the journal key and the posted card's ts."""
    await bot.command("create tomorrow", channel=channel)
    await bot.settle()
    entry = (await bot.journal())[0]
    assert entry.room_id is not None
    [card] = bot.slack.channel_messages(channel)
    await execute(
        bot.runtime.store,
        update(JournalRow)
        .where(JournalRow.key == entry.key)
        .values(
            state=JournalState.ROOM_CREATED.value,
            answered_at=None,
            lease_owner=None,
            lease_until=None,
        ),
        update(RoomRow)
        .where(RoomRow.id == entry.room_id)
        .values(message_channel_id=None, message_ts=None),
    )
    return entry.key, card.ts


async def resume(bot: Bot, key: str) -> None:
    await bot.runtime.worker.run_once()
    await bot.settle()
    resumed = await bot.runtime.store.journal.get(key)
    assert resumed is not None
    assert resumed.state is JournalState.ANSWERED


async def test_a_create_cut_off_after_posting_finds_its_card_instead_of_posting_again(
    history_bot: Bot,
) -> None:
    """The window `make soak` found at about 1 in 100 commands in flight at a SIGKILL: the
    card is in the channel but not on the room's record. The card carries the journal key in
    its metadata, so the resumed command finds it in the channel's history and records it."""
    bot = history_bot
    key, ts = await crash_after_posting(bot)
    await resume(bot, key)

    assert [m.ts for m in bot.slack.channel_messages("C0ROOMS")] == [ts]
    entry = await bot.runtime.store.journal.get(key)
    assert entry is not None
    room = await bot.runtime.store.rooms.get(entry.room_id or "")
    assert room is not None
    assert room.message is not None
    assert (room.message.channel_id, room.message.ts) == ("C0ROOMS", ts)
    assert bot.slack.ephemerals_for(ME) == []  # the card is the answer; nothing else is said
    assert bot.emulator.state.rooms_created == 1
    [lookup] = bot.slack.calls_to("conversations.history")
    assert lookup.params["channel"] == "C0ROOMS"


async def test_the_card_is_found_in_a_public_channel_the_bot_has_to_join_first(
    history_bot: Bot,
) -> None:
    """chat:write.public posts where the bot is not a member; reading needs membership."""
    bot = history_bot
    bot.slack.add_channel("C0PUBLIC", "public", bot_member=False)
    key, ts = await crash_after_posting(bot, "C0PUBLIC")
    await resume(bot, key)

    assert [m.ts for m in bot.slack.channel_messages("C0PUBLIC")] == [ts]
    assert [c.ok for c in bot.slack.calls_to("conversations.history")] == [False, True]
    assert [c.params["channel"] for c in bot.slack.calls_to("conversations.join")] == ["C0PUBLIC"]


async def test_a_card_not_yet_posted_when_the_bot_stopped_is_posted_on_resume(
    history_bot: Bot,
) -> None:
    """The other side of the window: the entry says room_created but Slack never got the
    card. Looking finds nothing, so the card is posted, once."""
    bot = history_bot
    key, ts = await crash_after_posting(bot)
    bot.slack.messages[0].deleted = True  # as if it never reached Slack
    await resume(bot, key)

    [card] = bot.slack.channel_messages("C0ROOMS")
    assert card.ts != ts
    entry = await bot.runtime.store.journal.get(key)
    assert entry is not None
    room = await bot.runtime.store.rooms.get(entry.room_id or "")
    assert room is not None
    assert room.message is not None
    assert room.message.ts == card.ts


async def test_without_the_history_scope_the_card_is_posted_rather_than_lost(bot: Bot) -> None:
    """Installed from manifest.yml (no `*:history`), the bot does not look at all: it asks
    Slack which scopes it has, and posts the card again. Shown twice beats never shown."""
    key, _ = await crash_after_posting(bot)
    await resume(bot, key)

    assert len(bot.slack.channel_messages("C0ROOMS")) == 2
    assert bot.slack.calls_to("conversations.history") == []
    assert bot.slack.calls_to("conversations.join") == []


async def test_a_history_scope_slack_refuses_for_this_channel_posts_the_card(
    history_bot: Bot,
) -> None:
    """A token with some history scopes but not this conversation's: Slack says so, and the
    card is posted rather than lost."""
    bot = history_bot
    key, _ = await crash_after_posting(bot)
    bot.slack.scopes = tuple(s for s in bot.slack.scopes if s != "channels:history")
    await resume(bot, key)

    assert len(bot.slack.channel_messages("C0ROOMS")) == 2
    assert [c.error for c in bot.slack.calls_to("conversations.history")] == ["missing_scope"]


async def test_a_lookup_slack_cannot_answer_now_is_tried_again_not_skipped(
    history_bot: Bot,
) -> None:
    """A history call that fails for a passing reason does not mean "not posted": the answer
    fails and the journal tries it again, when the lookup finds the card."""
    bot = history_bot
    key, ts = await crash_after_posting(bot)
    bot.slack.fail_next("conversations.history", error="fatal_error")
    await resume(bot, key)

    assert [m.ts for m in bot.slack.channel_messages("C0ROOMS")] == [ts]
    assert [c.error for c in bot.slack.calls_to("conversations.history")] == ["fatal_error", None]


async def test_a_post_whose_answer_is_lost_on_the_wire_is_not_posted_again(
    history_bot: Bot,
) -> None:
    """Slack posts the card, then the connection drops before its answer arrives. slack-sdk
    would repeat the call on its own (a second card); the bot looks for the card instead."""
    bot = history_bot
    bot.slack.lose_next_response("chat.postMessage")
    await bot.command("create tomorrow", channel="C0LOST")
    await bot.settle()

    [card] = bot.slack.channel_messages("C0LOST")
    assert len(bot.slack.calls_to("chat.postMessage")) == 1
    [entry] = await bot.journal()
    assert entry.state is JournalState.ANSWERED
    room = await bot.runtime.store.rooms.get(entry.room_id or "")
    assert room is not None
    assert room.message is not None
    assert room.message.ts == card.ts
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
