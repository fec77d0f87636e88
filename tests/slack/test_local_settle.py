"""`LocalBot.settle` waits for every answer, and says so when one does not come in time."""

from __future__ import annotations

import pytest

from bot.local.dev_cli import LocalBot, NotSettled


async def test_settle_names_what_is_still_unanswered_when_its_deadline_passes(
    bot: LocalBot,
) -> None:
    bot.emulator.state.set_faults(latency_ms=3000)  # ACS holds the create past the deadline
    await bot.command("/room create tomorrow")
    with pytest.raises(NotSettled, match=r"1 command still unanswered after 0\.5 s") as slow:
        await bot.settle(within=0.5)
    assert slow.value.unanswered == 1
    assert bot.slack.messages == []  # returning quietly would have let a caller read this
    bot.emulator.state.set_faults(latency_ms=0)
    await bot.settle()  # the create finishes once ACS answers
    assert len(bot.slack.messages) == 1
