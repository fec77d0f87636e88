"""Hostile command texts through the real HTTP path: no 5xx, no exception, and every one
answered with a command or a clear error; what was accepted is answered once more, later.

tests/parsing/test_fuzz.py feeds the parser alone; here the texts go through the signature,
Bolt, the ack path, the journal, the worker, ACS and Slack. `bench/soak.py` sends 10,000.
"""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from bot.domain import JournalState
from bot.slack.app import MAX_TEXT_LENGTH
from tests.reliability.harness import Bot
from tests.reliability.hostile import Verdict, generate, judge_ack
from tests.reliability.test_faults import posted_rooms

EXAMPLES = 300


def final_answers(bot: Bot, channel: str) -> list[str]:
    """What *channel* was finally told about its command: rooms posted, refusals."""
    refusals = [
        json.dumps(e.blocks)
        for e in bot.slack.ephemerals
        if e.channel == channel and ":warning:" in json.dumps(e.blocks)
    ]
    return posted_rooms(bot, channel) + refusals


async def test_hostile_texts_get_a_command_or_a_clear_error(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    texts = generate(EXAMPLES)
    gate = asyncio.Semaphore(25)
    verdicts: dict[str, Verdict] = {}

    async def send(index: int, text: str) -> None:
        channel = bot.channel(f"C0H{index:04d}")
        async with gate:
            ack = await bot.command(text, channel=channel)
        try:
            verdicts[channel] = judge_ack(ack.status, ack.body, ack.text)
        except AssertionError as exc:
            raise AssertionError(f"{text[:200]!r}: {exc}") from None
        if len(text.strip()) > MAX_TEXT_LENGTH:
            assert verdicts[channel].kind == "refused", text[:200]
            assert f"limit is {MAX_TEXT_LENGTH}" in ack.text

    await asyncio.gather(*(send(i, text) for i, text in enumerate(texts)))
    await bot.settle(within=60)

    accepted = [channel for channel, verdict in verdicts.items() if verdict.kind == "accepted"]
    for channel in accepted:
        answers = final_answers(bot, channel)
        assert len(answers) == 1, (channel, answers)
    entries = await bot.journal()
    assert len(entries) == len(accepted)
    assert {e.state for e in entries} <= {JournalState.ANSWERED}
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage()[:300] for r in errors]
    kinds = [verdict.kind for verdict in verdicts.values()]
    print(
        f"\nhostile: {len(texts)} texts; "
        + ", ".join(f"{kind} {kinds.count(kind)}" for kind in sorted(set(kinds)))
        + f"; rooms {bot.emulator.state.rooms_created}"
    )
    assert kinds.count("accepted") >= 10  # the worker path was exercised, not just the ack


async def test_help_states_the_limits(bot: Bot) -> None:
    ack = await bot.command("help")
    assert f"{MAX_TEXT_LENGTH:,}" in ack.text or str(MAX_TEXT_LENGTH) in ack.text
    assert "250 people" in ack.text


async def test_a_group_bigger_than_a_room_is_refused_with_the_limit(bot: Bot) -> None:
    """The participant limit is reachable through a user group, not through typing."""
    bot.slack.add_usergroup("S0HUGE", "everyone", [f"U{n:08d}" for n in range(300)])
    ack = await bot.command("create tomorrow <!subteam^S0HUGE|@everyone>")
    assert "Creating your room" in ack.text
    await bot.settle()
    refusal = final_answers(bot, "C0LOCAL")
    assert len(refusal) == 1
    assert "at most 250" in refusal[0]
    assert bot.emulator.state.rooms_created == 0
    assert bot.emulator.state.identities == {}  # refused before any identity was made
