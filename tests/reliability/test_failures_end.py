"""Every failure ends (issue 11, item 9): with backoff, a bounded number of attempts, a final
state, a metric and a message to the person by whatever still reaches them.

Over real HTTP against the fake Slack and the ACS emulator. Backoff is crossed by moving the
bot's clock, not by waiting. Before, any unexpected exception in a command's work released
it to be claimed again at once, every ~2 s, forever, and nobody heard.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from datetime import timedelta
from urllib.parse import parse_qs

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.domain import JournalEntry, JournalState
from bot.local.emulator import EmulatorServer
from bot.local.fake_slack import FakeSlack
from bot.service.runner import MAX_FAILURES
from tests.reliability.harness import (
    CHANNEL,
    ME,
    TEAM,
    Bot,
    running_bot,
    serve_env,
    serving,
)


def failure_counts(bot: Bot) -> dict[str, float]:
    rendered = bot.runtime.render_metrics().decode()
    return {
        sample.labels["outcome"]: sample.value
        for family in text_string_to_metric_families(rendered)
        if family.name == "roombot_command_failures"
        for sample in family.samples
        if sample.name.endswith("_total")
    }


async def command_without_response_url(bot: Bot, text: str, *, channel: str = CHANNEL) -> None:
    """`/room TEXT` whose response_url Slack no longer takes by the time the bot answers."""
    body = bot.command_body(text, channel=channel)
    bot.slack.expire_response_url(parse_qs(body)["response_url"][0])
    ack = await bot.post_signed(body)
    assert ack.status == 200


async def only_entry(bot: Bot) -> JournalEntry:
    [entry] = await bot.journal()
    return entry


async def until_answered(bot: Bot, *, rounds: int = 3 * MAX_FAILURES) -> int:
    """Move the clock past each retry's backoff and let the worker claim it, until the entry
    is answered; returns how many rounds it took (fails the test when it never ends)."""
    worker = bot.runtime.worker
    for done in range(rounds):
        await worker.drain(within=10)
        if (await only_entry(bot)).state is JournalState.ANSWERED:
            return done
        bot.clock.advance(timedelta(seconds=20))
        await worker.run_once()
    pytest.fail(f"still not answered after {rounds} rounds: {await only_entry(bot)}")


async def test_an_answer_slack_keeps_refusing_is_retried_with_backoff_then_ends_in_a_dm(
    bot: Bot,
) -> None:
    """chat.postMessage answers `internal_error` to the room card every time, and the
    response_url has expired: the command is retried MAX_FAILURES times with a growing delay,
    then given up; the person gets the room by direct message, and the metric counts it."""
    bot.slack.fail_next("chat.postMessage", error="internal_error", times=MAX_FAILURES)
    await command_without_response_url(bot, "create tomorrow 10am-11am")
    await bot.runtime.worker.drain(within=10)

    entry = await only_entry(bot)
    assert (entry.state, entry.failures, entry.last_error) == (
        JournalState.ROOM_CREATED,
        1,
        "SlackApiError",
    )
    assert entry.lease_owner is None
    assert entry.lease_until is not None
    assert entry.lease_until >= bot.clock() + timedelta(seconds=1)  # backed off, not due now
    assert await bot.runtime.worker.run_once() == 0  # so the claim loop leaves it alone

    rounds = await until_answered(bot)
    assert rounds >= MAX_FAILURES - 1
    entry = await only_entry(bot)
    assert entry.failures == MAX_FAILURES - 1  # the last failure gave up instead of counting
    posts = [c for c in bot.slack.calls if c.method == "chat.postMessage"]
    assert [c.params["channel"] for c in posts] == [CHANNEL] * MAX_FAILURES + [ME]
    [dm] = bot.slack.direct_messages(ME)
    room_id = entry.room_id
    assert room_id is not None
    assert f"Room `{room_id}` is ready, but I could not show it in <#{CHANNEL}>" in dm.text
    assert room_id in json.dumps(dm.blocks)
    # The room it made still reminds its people before it opens, as an answered one would.
    assert set(await bot.runtime.reminder_schedule.of_room(room_id)) == {ME}
    assert failure_counts(bot) == {"retried": MAX_FAILURES - 1, "gave_up_told": 1}
    assert bot.emulator.state.rooms_created == 1

    # Ended for good: more time and more claims do nothing.
    bot.clock.advance(timedelta(hours=1))
    assert await bot.runtime.worker.run_once() == 0
    assert len([c for c in bot.slack.calls if c.method == "chat.postMessage"]) == len(posts)


async def test_a_refusal_nobody_can_receive_still_ends(bot: Bot) -> None:
    """Every route fails (response_url expired, ephemeral and DM refused): the command ends
    after MAX_FAILURES attempts anyway, answered, and the metric says nobody was told."""
    bot.slack.fail_next("chat.postEphemeral", error="internal_error", times=MAX_FAILURES + 1)
    bot.slack.fail_next("chat.postMessage", error="internal_error", times=1)
    await command_without_response_url(bot, "extend 12345678901234567 by 1 day")
    await until_answered(bot)
    entry = await only_entry(bot)
    assert (entry.state, entry.error_code) == (JournalState.ANSWERED, "room_not_found")
    assert failure_counts(bot) == {"retried": MAX_FAILURES - 1, "gave_up_untold": 1}


async def test_slack_answering_a_text_503_to_users_info_is_a_delay_that_ends(bot: Bot) -> None:
    """Before: the text/plain body made `'str' object has no attribute 'get'`, retried every
    2 s forever. Now it is Slack being unavailable: the person hears of the delay once, and
    after the 25-minute deadline that it failed, in words naming Slack."""
    newcomer = bot.user("U0NEWONE", "newone")  # no zone cached: users.info is asked
    bot.slack.fail_next("users.info", status=503, plain_text="upstream connect error", times=999)
    await bot.command("create tomorrow 10am-11am", user=newcomer)
    await asyncio.wait_for(bot.runtime.worker.drain(within=10), 15)
    [note] = [e for e in bot.slack.ephemerals if e.user == newcomer]
    assert "taking longer" in note.text
    assert "Slack did not say which time zone you are in (http_503)" in note.text

    bot.clock.advance(timedelta(minutes=26))
    await bot.settle(within=15)
    [failure] = [e for e in bot.slack.ephemerals if "could not be reached" in e.text]
    assert "Slack could not be reached for 26 minutes" in failure.text
    assert failure.user == newcomer
    entry = await only_entry(bot)
    assert (entry.state, entry.error_code, entry.failures) == (
        JournalState.ANSWERED,
        "acs_unavailable",
        0,
    )
    assert bot.emulator.state.rooms_created == 0
    # Told of the delay once: the note, since replaced by the failure (or still there).
    said = [e for e in bot.slack.ephemerals if e.user == newcomer]
    texts = [edit.text for e in said for edit in e.edits] + [e.text for e in said]
    assert sum("taking longer" in text for text in texts) == 1


@pytest.mark.parametrize("gone", ["channel_not_found", "not_in_channel"])
async def test_a_room_for_a_channel_that_is_gone_is_sent_by_direct_message(
    bot: Bot, gone: str
) -> None:
    """Before: the room was created, the post failed, and the command was retried every 2 s
    forever while the person heard nothing. Now the card goes to them directly, at once."""
    channel = bot.channel("C0GONE")
    if gone == "not_in_channel":
        bot.slack.channels[channel].is_private = True
        bot.slack.channels[channel].bot_member = False
    body = bot.command_body("create tomorrow 10am-11am", channel=channel)
    bot.slack.expire_response_url(parse_qs(body)["response_url"][0])
    if gone == "channel_not_found":
        bot.slack.remove_channel(channel)
    await bot.post_signed(body)
    await bot.settle(within=10)

    entry = await only_entry(bot)
    assert (entry.state, entry.attempts, entry.failures) == (JournalState.ANSWERED, 1, 0)
    [dm] = bot.slack.direct_messages(ME)
    assert f"I could not post your room in <#{channel}> (`{gone}`)" in dm.text
    assert entry.room_id is not None
    assert entry.room_id in json.dumps(dm.blocks)
    record = await bot.runtime.store.rooms.get(entry.room_id)
    assert record is not None
    assert record.message is not None
    assert record.message.channel_id == dm.channel  # later changes update the card they got
    assert bot.emulator.state.rooms_created == 1


async def test_a_refusal_for_a_channel_that_is_gone_is_sent_by_direct_message(bot: Bot) -> None:
    channel = bot.channel("C0GONE")
    body = bot.command_body("extend 12345678901234567 by 1 day", channel=channel)
    bot.slack.expire_response_url(parse_qs(body)["response_url"][0])
    bot.slack.remove_channel(channel)
    await bot.post_signed(body)
    await bot.settle(within=10)
    entry = await only_entry(bot)
    assert (entry.state, entry.error_code, entry.failures) == (
        JournalState.ANSWERED,
        "room_not_found",
        0,
    )
    [dm] = bot.slack.direct_messages(ME)
    assert "There is no room `12345678901234567` here." in dm.text


LONG_ID = "U" + "A" * 40


async def _long_ids_are_refused_at_the_edge(bot: Bot) -> None:
    ack = await bot.command(f"create tomorrow <@{LONG_ID}|long> presenter")
    assert ack.status == 200
    assert "is not a Slack user id I can use" in ack.text
    assert "at most 32 characters" in ack.text

    ack = await bot.command("create tomorrow", user=LONG_ID)
    assert ack.status == 200
    assert "longer than 32 characters" in ack.text

    await bot.settle(within=10)
    assert await bot.journal() == []
    assert bot.emulator.state.identities == {}
    assert bot.emulator.state.rooms_created == 0


async def test_slack_ids_too_long_to_store_are_refused_at_the_edge(bot: Bot) -> None:
    """Before (SQLite): a 41-character id was stored in a 32-character column."""
    await _long_ids_are_refused_at_the_edge(bot)


async def test_slack_ids_too_long_for_postgresql_are_refused_at_the_edge(
    postgres_url: str,
) -> None:
    """Before (PostgreSQL): an ACS identity was created for the mention, its mapping failed
    to insert, the identity was deleted, and all of it again every 2 s, forever."""
    async with running_bot(postgres_url) as bot:
        await _long_ids_are_refused_at_the_edge(bot)


async def test_roombot_serve_sends_the_room_of_a_deleted_channel_by_direct_message(
    sqlite_url: str,
) -> None:
    """The same through a real `roombot serve` process (production settings)."""
    async with (
        EmulatorServer() as emulator,
        FakeSlack(team_id=TEAM) as slack,
        aiohttp.ClientSession() as http,
    ):
        slack.add_user(ME, "you", tz="Europe/London")
        slack.add_channel("C0GONE", "gone")
        env = serve_env(slack, emulator, sqlite_url, secrets.token_hex(16))
        async with serving(env) as bot:
            url = slack.new_response_url("C0GONE", ME)
            slack.expire_response_url(url)
            slack.remove_channel("C0GONE")
            ack = await bot.command(
                http, slack, "create tomorrow", channel="C0GONE", response_url=url
            )
            assert "Creating your room" in ack.text
            dm = await slack.wait_for(lambda s: s.direct_messages(ME), timeout=20)
        assert "I could not post your room in <#C0GONE> (`channel_not_found`)" in dm[0].text
        assert emulator.state.rooms_created == 1
        assert not [line for line in bot.log if " ERROR " in line or "Traceback" in line]
