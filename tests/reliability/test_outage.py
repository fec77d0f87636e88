"""ACS down, then back: what was accepted meanwhile is done once ACS returns, and the people
who asked hear about the delay; what waits too long fails once, in words, and stays undone.

tests/slack/test_behaviour.py covers one command through an outage (with an explicit
`poke`); here many commands ride it out with nothing but the runtime's own recovery watch,
and the time from ACS coming back to the last answer (the recovery time) is measured.
`bench/soak.py` holds ACS down for 30 s.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta

import pytest

from bot.acs.client import RetryPolicy
from bot.domain import JournalState
from tests.reliability.harness import BRIEF_RETRY, ME, eventually, percentile, running_bot
from tests.reliability.test_faults import delay_notes, posted_rooms

DELAYED = "taking longer"


async def test_commands_accepted_while_acs_is_down_finish_when_it_returns(
    sqlite_url: str,
) -> None:
    commands = 12
    async with running_bot(sqlite_url, retry=BRIEF_RETRY) as bot:
        channels = [bot.channel(f"C0DOWN{i:02d}") for i in range(commands)]
        bot.emulator.set_faults(fault_rate=1.0)  # every ACS call fails: 500, 503, 429, drops
        acks = await asyncio.gather(
            *(bot.command("create tomorrow 10am-11am", channel=c) for c in channels)
        )
        assert all("Creating your room" in ack.text for ack in acks)
        assert percentile([ack.seconds for ack in acks], 0.99) < 3.0  # acks do not wait on ACS
        await eventually(
            lambda: all(delay_notes(bot, channel) for channel in channels),
            within=15,
            what="everyone told that their room is taking longer",
        )
        assert bot.emulator.state.rooms_created == 0
        assert bot.slack.messages == []

        bot.emulator.set_faults(fault_rate=0.0)
        back = time.monotonic()
        # No poke from the test: the runtime's recovery watch probes ACS while commands wait
        # and hurries them when it answers (without it, each waits out its own backoff).
        await eventually(
            lambda: all(posted_rooms(bot, channel) for channel in channels),
            within=40,  # MAX_RETRY_DELAY (30 s) bounds the wait even without the watch
            what="every command done after ACS came back",
        )
        recovery = time.monotonic() - back
        await bot.settle()
        print(f"\noutage: {commands} commands, recovered {recovery:.1f} s after ACS came back")

        for channel in channels:
            assert len(posted_rooms(bot, channel)) == 1
            notes = delay_notes(bot, channel)
            assert len(notes) == 1  # told once, not at every retry
        for note in bot.slack.ephemerals:
            assert note.user == ME
        assert bot.emulator.state.rooms_created == commands
        entries = await bot.journal()
        assert {e.state for e in entries} == {JournalState.ANSWERED}
        assert all(e.room_id for e in entries)


@pytest.mark.parametrize(
    ("minutes", "via"),
    [
        (26, "response_url"),  # past the 25-minute deadline, the response_url still good
        (31, "chat.postEphemeral"),  # past the response_url's 30 minutes too
    ],
)
async def test_a_command_that_waits_past_the_deadline_fails_once_in_words(
    sqlite_url: str, minutes: int, via: str
) -> None:
    """The clock is moved, not waited for. After the deadline the command is refused with
    a clear message, once, and ACS coming back later does not resurrect it."""
    async with running_bot(sqlite_url, retry=BRIEF_RETRY) as bot:
        bot.emulator.set_faults(fault_rate=1.0)
        await bot.command("create tomorrow")
        await eventually(lambda: delay_notes(bot, "C0LOCAL"), within=10, what="the delay note")

        bot.clock.advance(timedelta(minutes=minutes))
        await bot.settle(within=15)
        failures = [e for e in bot.slack.ephemerals if "could not be reached" in e.text]
        assert len(failures) == 1
        failure = failures[0]
        assert failure.user == ME
        assert failure.via == via
        assert f"for {minutes} minutes" in json.dumps(failure.blocks)
        entry = (await bot.journal())[-1]
        assert entry.state is JournalState.ANSWERED
        assert entry.error_code == "acs_unavailable"

        bot.emulator.set_faults(fault_rate=0.0)
        await bot.runtime.worker.run_once()
        await bot.settle()
        assert bot.emulator.state.rooms_created == 0
        assert bot.slack.messages == []
        assert len([e for e in bot.slack.ephemerals if "could not be reached" in e.text]) == 1


async def test_commands_queued_behind_one_users_identity_are_all_told_of_the_delay(
    sqlite_url: str,
) -> None:
    """A new user (no ACS identity yet) sends several commands while ACS is down. Their
    identity is created once, under a per-user lock; the commands waiting on that lock must
    not each take their turn at the ACS deadline before the user hears anything. With a
    2 s deadline, six commands must all be told within 6 s (one after another: 12 s)."""
    patient = RetryPolicy(
        max_attempts=100, base_delay=0.05, max_delay=0.2, deadline=2.0, attempt_timeout=1.0
    )
    async with running_bot(sqlite_url, retry=patient) as bot:
        newcomer = bot.user("U0NEWCOMER", "newcomer")
        channels = [bot.channel(f"C0NEW{i}") for i in range(6)]
        bot.emulator.set_faults(fault_rate=1.0)
        started = time.monotonic()
        await asyncio.gather(
            *(bot.command("create tomorrow", user=newcomer, channel=c) for c in channels)
        )
        await eventually(
            lambda: all(delay_notes(bot, channel) for channel in channels),
            within=6,
            what="every one of the newcomer's commands told of the delay",
        )
        told = time.monotonic() - started
        bot.emulator.set_faults(fault_rate=0.0)
        await bot.settle(within=30)
        print(f"\nsix commands of a new user told of the delay within {told:.1f} s")
        assert all(len(posted_rooms(bot, channel)) == 1 for channel in channels)
        live = [i for i in bot.emulator.state.identities.values() if not i.deleted]
        assert len({e.user_id for e in await bot.journal()}) == 1
        assert bot.emulator.state.rooms_created == len(channels)
        assert len(live) >= 1
