"""Faults: ACS failing 20% of calls and Slack answering 429 still give one room per command.

Every command is sent in a channel of its own, so "one room per channel" is "one room per
command", and compared three ways: the journal (each key holds one room id), the emulator
(each key's Repeatability-Request-ID answered one room, and it made no others) and the
channels (each shows exactly one room message). `bench/soak.py` runs the same at 1,000.
"""

from __future__ import annotations

import asyncio
import json
import re

import pytest

from bot.acs.client import RetryPolicy
from bot.domain import JournalState, NewJournalEntry, new_journal_key
from bot.service.resolved import text_command
from tests.reliability.harness import (
    BRIEF_RETRY,
    ME,
    TEAM,
    Bot,
    eventually,
    percentile,
    running_bot,
)

ROOM_ID = re.compile(r"`(\d{17})`")


def posted_rooms(bot: Bot, channel: str) -> list[str]:
    """Room ids announced in *channel* (one per message that shows a room)."""
    found: list[str] = []
    for message in bot.slack.channel_messages(channel):
        match = ROOM_ID.search(json.dumps(message.blocks))
        if match:
            found.append(match.group(1))
    return found


async def send_all(bot: Bot, channels: list[str], *, concurrency: int) -> None:
    gate = asyncio.Semaphore(concurrency)

    async def one(channel: str) -> None:
        async with gate:
            ack = await bot.command("create tomorrow 9am-5pm", channel=channel)
        assert ack.status == 200, ack
        assert "Creating your room" in ack.text, ack

    await asyncio.gather(*(one(channel) for channel in channels))


async def assert_one_room_per_command(bot: Bot, channels: list[str], *, warmed: int = 0) -> None:
    """Journal, emulator and channels agree: one room and one answer per command, no others."""
    entries = [e for e in await bot.journal() if e.channel_id in channels]
    assert len(entries) == len(channels)
    assert {e.channel_id for e in entries} == set(channels)
    assert all(e.state is JournalState.ANSWERED and e.error_code is None for e in entries), [
        (e.channel_id, e.state, e.error_code) for e in entries if e.error_code
    ]
    by_key = {e.key: e.room_id for e in entries}
    assert None not in by_key.values()
    assert len(set(by_key.values())) == len(entries), "two commands got the same room"
    state = bot.emulator.state
    assert state.rooms_created == len(entries) + warmed, "ACS made a room nobody asked for"
    for key, room_id in by_key.items():  # what ACS answered for each journal key
        assert state.repeatability[key].room_id == room_id
    for entry in entries:
        assert posted_rooms(bot, entry.channel_id) == [entry.room_id], entry.channel_id


async def test_a_storm_of_acs_faults_and_slack_429s_gives_one_room_per_command(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """60 creates, 50 at a time, with 20% of ACS calls failing (500, 503, 429 with
    Retry-After, connections dropped before the work or after it, the answer lost) and Slack
    answering 429 now and then: exactly 60 rooms, one answer each, acks within Slack's 3 s.

    After a warm-up (the user's ACS identity) every ACS call is a create, so the seeded
    emulator draws the same faults each run: seed 7 gives 18 faults, 6 of them answers lost
    after the room was made, each of which must come back as a replay, not a second room.
    """
    commands, concurrency = 60, 50
    # A long lease: a command the worker drops on the floor would wait it out and miss the
    # settle deadline below, instead of being quietly picked up again.
    async with running_bot(sqlite_url, seed=7, lease_seconds=60) as bot:
        warm = bot.channel("C0WARM")
        await bot.command("create tomorrow", channel=warm)
        await bot.settle()
        bot.acks.clear()
        channels = [bot.channel(f"C0STORM{i:03d}") for i in range(commands)]
        bot.emulator.set_faults(fault_rate=0.2)
        bot.slack.fail_next("chat.postMessage", status=429, retry_after=1)

        async def slack_429_now_and_then() -> None:
            for after in (15, 30, 45):
                await bot.slack.wait_for(
                    lambda s, n=after: len(s.calls_to("chat.postMessage")) >= n or None,  # type: ignore[misc]
                    timeout=60,
                )
                bot.slack.fail_next("chat.postMessage", status=429, retry_after=1)

        injector = asyncio.create_task(slack_429_now_and_then())
        await send_all(bot, channels, concurrency=concurrency)
        await bot.settle(within=20)
        await injector

        await assert_one_room_per_command(bot, channels, warmed=1)
        state = bot.emulator.state
        assert state.faults["drop_after"] >= 3, dict(state.faults)  # the storm happened
        assert state.replays == state.faults["drop_after"]  # each lost answer was replayed
        limited = [c for c in bot.slack.calls_to("chat.postMessage") if c.status == 429]
        assert len(limited) == 4  # every injected 429 was met, and retried past
        seconds = [ack.seconds for ack in bot.acks]
        p50, p99 = percentile(seconds, 0.50), percentile(seconds, 0.99)
        print(
            f"\nstorm: {commands} commands, {state.rooms_created - 1} rooms, "
            f"{state.create_requests - 1} create requests, faults {dict(state.faults)}, "
            f"replays {state.replays}, ack p50 {p50 * 1000:.0f} ms p99 {p99 * 1000:.0f} ms"
        )
        assert p99 < 3.0
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]


async def test_acs_timeouts_are_retried_with_the_same_key_until_acs_answers(
    sqlite_url: str,
) -> None:
    """ACS slower than the client's per-attempt timeout: every create times out, again and
    again. Nothing is made twice: when ACS is quick again each command gets one room."""
    timeouts = RetryPolicy(
        max_attempts=200, base_delay=0.01, max_delay=0.1, deadline=20.0, attempt_timeout=0.15
    )
    commands = 8
    async with running_bot(sqlite_url, retry=timeouts) as bot:
        warm = bot.channel("C0WARM")
        await bot.command("create tomorrow", channel=warm)  # the user's ACS identity, once
        await bot.settle()
        state = bot.emulator.state
        assert state.rooms_created == 1

        bot.emulator.set_faults(latency_ms=400)
        channels = [bot.channel(f"C0SLOW{i}") for i in range(commands)]
        await send_all(bot, channels, concurrency=commands)
        await eventually(
            lambda: state.create_requests >= 1 + 3 * commands,
            within=20,
            what="every create to time out at least three times",
        )
        assert not any(posted_rooms(bot, channel) for channel in channels)
        bot.emulator.set_faults(latency_ms=0)
        await bot.settle(within=30)

        await assert_one_room_per_command(bot, channels, warmed=1)


async def test_a_command_the_claim_loop_meets_while_its_own_task_starts_is_run_once_promptly(
    sqlite_url: str,
) -> None:
    """The listener journals a command leased to its worker and starts it; the worker's claim
    loop may tick at that very moment. The loop must leave the leased entry alone and the
    listener's task must run it, as one attempt: an entry leased but run by nobody waits out
    the whole lease (15 s by default), and one counted twice on its first run skips the
    "taking longer" note (sent on the first attempt only). With ACS down, each of these
    commands must get its note at once; when ACS is back, its room, well inside the 60 s
    lease."""
    async with running_bot(
        sqlite_url, retry=BRIEF_RETRY, lease_seconds=60, worker_poll_interval=600
    ) as bot:
        worker = bot.runtime.worker
        bot.emulator.set_faults(fault_rate=1.0)
        channels = [bot.channel(f"C0RACE{i}") for i in range(5)]
        for channel in channels:
            entry = await worker.accept(
                NewJournalEntry(
                    key=new_journal_key(),
                    command=text_command("create tomorrow", locale=None),
                    team_id=TEAM,
                    user_id=ME,
                    channel_id=channel,
                    response_url=bot.slack.new_response_url(channel, ME),
                    accepted_at=bot.clock(),
                )
            )
            assert entry is not None
            assert await worker.run_once() == 0  # the claim loop ticks: the entry is leased
            worker.start_accepted(entry)  # what the listener does after the ack
        await eventually(
            lambda: all(delay_notes(bot, channel) for channel in channels),
            within=15,
            what="each user told of the delay on the command's first attempt",
        )
        bot.emulator.set_faults(fault_rate=0.0)
        await bot.settle(within=15)
        for channel in channels:
            assert len(posted_rooms(bot, channel)) == 1
            assert len(delay_notes(bot, channel)) == 1


def delay_notes(bot: Bot, channel: str) -> list[str]:
    return [
        e.text for e in bot.slack.ephemerals if e.channel == channel and "taking longer" in e.text
    ]
