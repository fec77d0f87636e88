"""Slack's answers travel on Slack's own HTTP session, opened and closed by the runtime."""

from __future__ import annotations

import json
from pathlib import Path

from bot.local.dev_cli import LocalBot, local_bot


async def test_response_url_answers_do_not_ride_on_the_acs_session(bot: LocalBot) -> None:
    await bot.runtime.http.close()  # ACS's session: whatever happens to it, Slack still hears
    await bot.command("/room create yesterday for 2 hours")  # refused without calling ACS
    await bot.settle()
    refusal = bot.slack.ephemerals[-1]
    assert "over already" in json.dumps(refusal.blocks)


async def test_the_runtime_closes_the_response_url_session(tmp_path: Path) -> None:
    async with local_bot(f"sqlite+aiosqlite:///{tmp_path}/bot.db") as running:
        session = running.runtime.response_url_http
        assert not session.closed
    assert session.closed
