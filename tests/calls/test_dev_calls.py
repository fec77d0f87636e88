"""`roombot dev`: a Join link used puts its person in the room's call, shown on the card."""

from __future__ import annotations

import re
from pathlib import Path

from bot.local.dev_cli import ME, local_bot
from bot.slack import blocks
from tests.reliability.harness import eventually
from tests.slack.conftest import press
from tests.slack.test_flows import create

LINK = re.compile(r"https?://[^\s|>\"']+/join/[\w-]+")


async def test_a_join_link_used_in_dev_shows_on_the_card(tmp_path: Path) -> None:
    async with local_bot(f"sqlite+aiosqlite:///{tmp_path}/dev.db") as bot:
        room_id = await create(bot, "now for 1 hour")
        await press(bot, blocks.ACTION_JOIN, room_id)
        answer = bot.slack.ephemerals[-1]
        link = LINK.search(f"{answer.text} {answer.blocks}")
        assert link
        async with bot.http.post(link.group(0) + "/token") as token:
            assert token.status == 200

        def card() -> str:
            return bot.slack.render_text(bot.slack.channel_messages()[-1])

        await eventually(lambda: f"1 in the call: @{ME[1]}" in card(), what="the card")
        (call,) = bot.slack.slack_calls.by_external_id(room_id)
        assert call.participants == [{"slack_id": ME[0]}]
