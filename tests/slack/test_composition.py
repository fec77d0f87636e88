"""How the runtime is put together: what shares what, and who closes it."""

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


async def test_the_runner_writes_under_the_leases_the_worker_claims(bot: LocalBot) -> None:
    """One worker id, chosen before either is built: the journal's writes check the lease
    holder, so a runner with another id would lose every command it ran."""
    runtime = bot.runtime
    assert isinstance(runtime.runner.worker_id, str)
    assert runtime.runner.worker_id == runtime.worker.worker_id
    await bot.command("/room create tomorrow")
    await bot.settle()
    assert len(bot.slack.messages) == 1  # answered under that lease
