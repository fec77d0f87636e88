"""`roombot dev`: pressing Join shows a personal link served by the dev server itself."""

from __future__ import annotations

import re
from pathlib import Path

from bot.local.dev_cli import local_bot
from bot.slack import blocks
from tests.slack.conftest import press
from tests.slack.test_flows import create


async def test_join_in_the_dev_bot_prints_a_link_its_own_server_answers(tmp_path: Path) -> None:
    async with local_bot(f"sqlite+aiosqlite:///{tmp_path}/dev.db") as bot:
        room_id = await create(bot, "now for 1 hour")
        await press(bot, blocks.ACTION_JOIN, room_id)
        printed = bot.slack.render_text(
            {"text": bot.slack.ephemerals[-1].text, "blocks": bot.slack.ephemerals[-1].blocks}
        )
        base = bot.events_url.removesuffix("/slack/events").replace("127.0.0.1", "localhost")
        found = re.search(re.escape(base) + r"/join/[\w-]+", printed)
        assert found, printed
        async with bot.http.get(found.group(0)) as page:
            assert page.status == 200
        async with bot.http.post(found.group(0) + "/token") as token:
            assert token.status == 200
