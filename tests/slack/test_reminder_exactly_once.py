"""A reminder whose sending was interrupted after Slack took it, end to end: the bot over
loopback, the emulator, SQLite, the fake Slack's direct messages; time moves by the injected
clock, never by sleeping.

The crash is a replica that claims the due reminders, hands one to the real Slack sender
(Slack takes the message) and dies before recording it: nothing of it runs again, its lease
just runs out. Installed from manifest.history.yml the next replica finds that message by
its metadata in the person's DM and does not send it again; installed from manifest.yml it
cannot look, says so, and sends it again (a second copy, never a missing one).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.local.dev_cli import ME, LocalBot, local_bot
from bot.local.fake_slack import DEFAULT_SCOPES, HISTORY_MANIFEST_SCOPES
from bot.service.reminders import FIRST_RETRY, LEASE
from bot.slack.reminders import REMINDER_EVENT, SlackReminders

YOU = ME[0]
LEAD = timedelta(minutes=5)
SENT_AGAIN = "cannot be read, so it is sent again"


class Clock:
    """The bot's time: fixed until a test moves it."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now


async def _never(seconds: float) -> None:
    """The dispatcher loop's sleep: the tests run its rounds themselves."""
    await asyncio.Event().wait()


@pytest.fixture(name="clock")
def _clock() -> Clock:
    return Clock()


@pytest.fixture(name="bot")
async def _bot(tmp_path: Path, clock: Clock) -> AsyncIterator[LocalBot]:
    async with local_bot(
        f"sqlite+aiosqlite:///{tmp_path}/bot.db", clock=clock, sleep=_never
    ) as running:
        # Slack and the bot share one time, as they do (near enough) for real: a message's
        # `ts` is within the look-back of the reminder's first claim.
        running.slack.clock = lambda: clock.now.timestamp()
        yield running


async def _room_due_now(bot: LocalBot, clock: Clock, words: str) -> str:
    """`/room create WORDS`; the clock then stands at its reminders' due time."""
    await bot.command(f"/room create {words}")
    await bot.settle()
    card = bot.slack.channel_messages()[-1]
    action = next(b for b in card.blocks if b.get("type") == "actions")
    record = await bot.runtime.store.rooms.get(str(action["elements"][0]["value"]))
    assert record is not None
    clock.now = record.valid_from - LEAD
    return record.room_id


async def _crash_after_slack_took(bot: LocalBot, clock: Clock, user: str) -> None:
    """A replica claims every due reminder, delivers *user*'s through the real sender and
    dies before recording it (and before sending the others)."""
    runtime = bot.runtime
    held = await runtime.reminder_schedule.claim("doomed", lease=LEASE, now=clock(), limit=20)
    reminder = next(r for r in held if r.user_id == user)
    room = await runtime.store.rooms.get(reminder.room_id)
    assert room is not None
    await SlackReminders(runtime.people).remind(reminder, room, now=clock())


async def _states(bot: LocalBot, room_id: str) -> dict[str, str]:
    rows = await bot.runtime.reminder_schedule.of_room(room_id)
    return {user: state for user, (state, _due) in rows.items()}


async def test_with_the_history_scopes_a_crashed_send_is_found_not_repeated(
    bot: LocalBot, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    bot.slack.scopes = HISTORY_MANIFEST_SCOPES
    bob = bot.user("bob")
    room = await _room_due_now(bot, clock, "tomorrow 9am-10am @bob")
    await _crash_after_slack_took(bot, clock, bob)
    (delivered,) = bot.slack.direct_messages(bob)
    assert delivered.metadata is not None
    assert delivered.metadata["event_type"] == REMINDER_EVENT
    assert delivered.metadata["event_payload"]["room_id"] == room

    dispatcher = bot.runtime.reminders
    assert await dispatcher.run_once() == 0  # the dead replica's leases still hold
    clock.now += LEASE
    with caplog.at_level(logging.INFO, logger="roombot.reminders"):
        assert await dispatcher.run_once() == 1  # yours: looked for, not there, sent
    assert dispatcher.found == 1  # Bob's: there, marked sent
    assert SENT_AGAIN not in caplog.text
    for person in (YOU, bob):
        assert len(bot.slack.direct_messages(person)) == 1, person
    assert await _states(bot, room) == {YOU: "sent", bob: "sent"}

    opened = bot.slack.calls_to("conversations.open")
    assert sorted(call.params["users"] for call in opened) == sorted([YOU, bob])
    history = bot.slack.calls_to("conversations.history")
    assert {call.params["channel"] for call in history} == {
        bot.slack.dm_channel(YOU),
        bot.slack.dm_channel(bob),
    }
    assert all(call.params["include_all_metadata"] in (True, "1", "true") for call in history)
    clock.now += LEASE
    assert await dispatcher.run_once() == 0


async def test_without_them_a_crashed_send_is_sent_again_and_the_log_says_why(
    bot: LocalBot, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    assert bot.slack.scopes == DEFAULT_SCOPES  # manifest.yml's
    bob = bot.user("bob")
    room = await _room_due_now(bot, clock, "tomorrow 9am-10am @bob")
    await _crash_after_slack_took(bot, clock, bob)
    clock.now += LEASE
    with caplog.at_level(logging.INFO, logger="roombot.reminders"):
        assert await bot.runtime.reminders.run_once() == 2
    assert len(bot.slack.direct_messages(bob)) == 2  # at most twice
    assert len(bot.slack.direct_messages(YOU)) == 1
    assert caplog.text.count(SENT_AGAIN) == 2  # both outcomes were unknown
    assert bot.slack.calls_to("conversations.open") == []  # not even tried
    assert await _states(bot, room) == {YOU: "sent", bob: "sent"}


async def test_a_lost_answer_from_slack_is_looked_for_before_sending_again(
    bot: LocalBot, clock: Clock
) -> None:
    """No crash: the connection broke after Slack posted the DM. The attempt is given back
    as unknown, and the next one finds the message."""
    bot.slack.scopes = HISTORY_MANIFEST_SCOPES
    room = await _room_due_now(bot, clock, "tomorrow 9am-10am")
    bot.slack.lose_next_response("chat.postMessage")
    dispatcher = bot.runtime.reminders
    assert await dispatcher.run_once() == 0
    assert len(bot.slack.direct_messages(YOU)) == 1
    assert await _states(bot, room) == {YOU: "pending"}
    clock.now += FIRST_RETRY
    assert await dispatcher.run_once() == 0
    assert dispatcher.found == 1
    assert len(bot.slack.direct_messages(YOU)) == 1
    assert await _states(bot, room) == {YOU: "sent"}


async def test_a_refusal_is_known_and_the_next_attempt_does_not_look(
    bot: LocalBot, clock: Clock
) -> None:
    """Slack answered with an error: nothing was posted, so nothing is looked for."""
    bot.slack.scopes = HISTORY_MANIFEST_SCOPES
    room = await _room_due_now(bot, clock, "tomorrow 9am-10am")
    bot.slack.fail_next("chat.postMessage", error="fatal_error")
    dispatcher = bot.runtime.reminders
    assert await dispatcher.run_once() == 0
    assert bot.slack.direct_messages(YOU) == []
    clock.now += FIRST_RETRY
    assert await dispatcher.run_once() == 1
    assert bot.slack.calls_to("conversations.open") == []
    assert len(bot.slack.direct_messages(YOU)) == 1
    assert await _states(bot, room) == {YOU: "sent"}
