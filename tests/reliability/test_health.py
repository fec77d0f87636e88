"""`/healthz` reports from the database: whether it takes a write, how many commands are
unanswered and how long the oldest has waited; 503 with the reason when something is wrong.
"""

from __future__ import annotations

import json
import secrets
from datetime import timedelta
from typing import Any

import aiohttp
from sqlalchemy import text
from sqlalchemy.engine import Connection

from bot.local.emulator import EmulatorServer
from bot.local.fake_slack import FakeSlack
from bot.store.engine import open_database
from tests.reliability.harness import (
    BRIEF_RETRY,
    TEAM,
    eventually,
    running_bot,
    serve_env,
    serving,
)


async def health(http: aiohttp.ClientSession, base: str) -> tuple[int, dict[str, Any]]:
    async with http.get(base + "/healthz") as response:
        return response.status, json.loads(await response.text())


# PostgreSQL's answer to a write on a standby or in a read-only transaction (SQLSTATE 25006).
READ_ONLY = """
CREATE FUNCTION refuse_writes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'cannot execute % in a read-only transaction', TG_OP
        USING ERRCODE = 'read_only_sql_transaction';
END $$;
"""


async def make_read_only(postgres_url: str) -> None:
    """Every table of the test's schema refuses writes from now on, as after a failover to a
    read-only server (the database itself is shared with other tests)."""

    def refuse(connection: Connection) -> None:
        connection.execute(text(READ_ONLY))
        tables = connection.scalars(
            text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        )
        for table in list(tables):
            connection.execute(
                text(
                    "CREATE TRIGGER refuse_writes BEFORE INSERT OR UPDATE OR DELETE "
                    f'ON "{table}" FOR EACH STATEMENT EXECUTE FUNCTION refuse_writes()'
                )
            )

    database = open_database(postgres_url)
    try:
        await database.write(refuse)
    finally:
        await database.dispose()


async def test_a_database_that_refuses_writes_makes_healthz_fail_with_the_reason(
    postgres_url: str,
) -> None:
    """`SELECT 1` still works on a read-only server; the health check must not say ok."""
    async with EmulatorServer() as emulator, FakeSlack(team_id=TEAM) as slack:
        env = serve_env(slack, emulator, postgres_url, secrets.token_hex(16))
        async with aiohttp.ClientSession() as http, serving(env) as server:
            status, report = await health(http, server.url)
            assert status == 200, report
            assert report["database"] == "ok"
            await make_read_only(postgres_url)
            status, report = await health(http, server.url)
            assert status == 503, report
            assert report["status"] == "unhealthy"
            assert "refuses writes" in report["database"], report
            assert "read-only" in report["reason"], report


async def test_commands_waiting_between_retries_are_counted_and_a_stuck_one_fails_health(
    sqlite_url: str,
) -> None:
    """ACS is down: the command goes back to the journal between attempts, in no replica's
    memory. /healthz counts it from the database (it reported 0), gives the oldest's age, and
    turns 503 once that is over the limit."""
    async with running_bot(sqlite_url, retry=BRIEF_RETRY) as bot:
        base = bot.events_url.removesuffix("/slack/events")
        bot.emulator.set_faults(fault_rate=1.0)
        ack = await bot.command("create tomorrow")
        assert "Creating your room" in ack.text

        async def waiting_between_attempts() -> bool:
            entries = await bot.journal()
            return bool(entries) and entries[0].attempts >= 1 and bot.runtime.worker.in_flight == 0

        await eventually(waiting_between_attempts, what="the command to wait for a retry")
        status, report = await health(bot.http, base)
        assert status == 200, report
        assert report["pending_commands"] == "1", report
        assert int(report["oldest_pending_seconds"]) >= 0

        bot.runtime.options.stuck_command_after = timedelta(0)
        status, report = await health(bot.http, base)
        assert status == 503, report
        assert "oldest unanswered command has waited" in report["reason"], report
        bot.emulator.set_faults(fault_rate=0.0)
        bot.runtime.options.stuck_command_after = timedelta(minutes=15)
        await bot.settle()
        status, report = await health(bot.http, base)
        assert (status, report["pending_commands"], report["oldest_pending_seconds"]) == (
            200,
            "0",
            "0",
        )
