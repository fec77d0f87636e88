"""Reminders when a room opens, end to end: commands over signed HTTP, the emulator, SQLite,
direct messages in the fake Slack; the bot's clock and the dispatcher's sleep are injected."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.local.dev_cli import ME, LocalBot, local_bot
from bot.service.reminders import ReminderDispatcher
from bot.slack import blocks
from bot.slack.home import ACTION_REMINDERS
from bot.slack.reminders import SlackReminders
from bot.store.reminders import HomeStore
from tests.slack.conftest import interaction_body

YOU = ME[0]
LEAD = timedelta(minutes=5)


class Clock:
    """The bot's time: fixed until a test moves it."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now


class Sleeps:
    """The dispatcher's sleep: records how long it would sleep, and returns only when poked
    (the dispatcher's own `poke`) or when the test ends."""

    def __init__(self) -> None:
        self.asked: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.asked.append(seconds)
        await asyncio.Event().wait()


@pytest.fixture(name="clock")
def _clock() -> Clock:
    return Clock()


@pytest.fixture(name="sleeps")
def _sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture(name="bot")
async def _bot(tmp_path: Path, clock: Clock, sleeps: Sleeps) -> AsyncIterator[LocalBot]:
    async with local_bot(
        f"sqlite+aiosqlite:///{tmp_path}/bot.db", clock=clock, sleep=sleeps
    ) as running:
        yield running


async def _create(bot: LocalBot, words: str) -> str:
    await bot.command(f"/room create {words}")
    await bot.settle()
    card = bot.slack.channel_messages()[-1]
    action = next(b for b in card.blocks if b.get("type") == "actions")
    return str(action["elements"][0]["value"])


async def _run(bot: LocalBot) -> int:
    """One round of this replica's dispatcher, as its loop would run it."""
    return await bot.runtime.reminders.run_once()


async def _due(bot: LocalBot, room: str) -> dict[str, datetime]:
    rows = await bot.runtime.reminder_schedule.of_room(room)
    return {user: due for user, (state, due) in rows.items() if state == "pending"}


async def _opens(bot: LocalBot, room: str) -> datetime:
    record = await bot.runtime.store.rooms.get(room)
    assert record is not None
    return record.valid_from


async def test_everyone_is_reminded_once_five_minutes_before(bot: LocalBot, clock: Clock) -> None:
    bob = bot.user("bob")
    room = await _create(bot, 'tomorrow 9am-10am @bob "Design review"')
    opens = await _opens(bot, room)
    assert await _due(bot, room) == {YOU: opens - LEAD, bob: opens - LEAD}

    clock.now = opens - LEAD - timedelta(seconds=1)
    assert await _run(bot) == 0
    assert bot.slack.direct_messages(bob) == []

    clock.now = opens - LEAD
    assert await _run(bot) == 2
    assert await _run(bot) == 0  # exactly once
    for person in (YOU, bob):
        (message,) = bot.slack.direct_messages(person)
        text = bot.slack.render_text(message)
        assert "Design review* opens in 5 minutes" in text
        assert "[Join]" in text
        assert message.text == "Design review opens soon"
    epoch = int(opens.timestamp())
    assert f"<!date^{epoch}^" in json.dumps(bot.slack.direct_messages(bob)[0].blocks)


async def test_join_in_the_reminder_sends_the_personal_link(bot: LocalBot, clock: Clock) -> None:
    bob = bot.user("bob")
    room = await _create(bot, "tomorrow 9am-10am @bob")
    clock.now = await _opens(bot, room) - LEAD
    await _run(bot)
    (reminder,) = bot.slack.direct_messages(bob)
    join = next(b for b in reminder.blocks if b.get("type") == "actions")
    payload = {
        "type": "block_actions",
        "team": {"id": bot.slack.team_id},
        "user": {"id": bob, "team_id": bot.slack.team_id, "name": "bob"},
        "channel": {"id": reminder.channel},
        "container": {"type": "message", "channel_id": reminder.channel},
        "trigger_id": bot.slack.issue_trigger_id(),
        "actions": [{**join["elements"][0], "block_id": join["block_id"], "action_ts": "1"}],
    }
    await bot.post_signed(interaction_body(payload), "application/x-www-form-urlencoded")
    await bot.slack.wait_for(lambda s: len(s.direct_messages(bob)) > 1)
    messages = bot.slack.direct_messages(bob)
    assert f"Your personal link to room `{room}`" in bot.slack.render_text(messages[-1])


async def test_a_person_who_turned_reminders_off_is_not_reminded(
    bot: LocalBot, clock: Clock
) -> None:
    bob = bot.user("bob")
    room = await _create(bot, "tomorrow 9am-10am @bob")
    event = bot.slack.home.app_home_opened(bob)
    await bot.post_signed(json.dumps(event), "application/json")
    await bot.slack.wait_for(lambda s: s.home.tab(bob))
    press = bot.slack.home.home_action(
        bob, {"action_id": ACTION_REMINDERS, "value": "off", "type": "button"}
    )
    await bot.post_signed(interaction_body(press), "application/x-www-form-urlencoded")
    home = HomeStore(bot.runtime.store.database)
    for _ in range(200):  # poll with a deadline: the press is saved after its ack
        if not (await home.preferences(bot.slack.team_id, bob)).reminders:
            break
        await asyncio.sleep(0.01)
    clock.now = await _opens(bot, room) - LEAD
    assert await _run(bot) == 1
    assert len(bot.slack.direct_messages(YOU)) == 1
    assert bot.slack.direct_messages(bob) == []


async def test_a_rooms_own_lead_time(bot: LocalBot, clock: Clock) -> None:
    room = await _create(bot, "tomorrow 9am-10am remind 15m")
    opens = await _opens(bot, room)
    assert await _due(bot, room) == {YOU: opens - timedelta(minutes=15)}
    clock.now = opens - timedelta(minutes=15)
    assert await _run(bot) == 1
    assert "opens in 15 minutes" in bot.slack.render_text(bot.slack.direct_messages(YOU)[0])


async def test_a_lead_of_zero_reminds_as_the_room_opens(bot: LocalBot, clock: Clock) -> None:
    """`remind 0m` is a lead like any other (not "no lead, so the default")."""
    room = await _create(bot, "tomorrow 9am-10am remind 0m")
    opens = await _opens(bot, room)
    assert await _due(bot, room) == {YOU: opens}
    clock.now = opens - LEAD
    assert await _run(bot) == 0
    clock.now = opens
    assert await _run(bot) == 1


async def test_a_bad_lead_time_is_refused_with_an_example(bot: LocalBot) -> None:
    await bot.command("/room create tomorrow 9am remind soon")
    await bot.settle()
    told = bot.slack.render_text(bot.slack.ephemerals_for(YOU)[-1])
    assert "`remind` needs a number of minutes or hours" in told
    assert "/room create tomorrow 9am remind 15m" in told


async def test_a_room_opening_within_five_minutes_reminds_at_once(
    bot: LocalBot, sleeps: Sleeps
) -> None:
    """Through the dispatcher's own loop: the room change pokes it, no clock moves."""
    bob = bot.user("bob")
    await _create(bot, "in 3 minutes @bob")
    messages = await bot.slack.wait_for(lambda s: s.direct_messages(bob))
    assert "opens in 3 minutes" in bot.slack.render_text(messages[0])
    assert sleeps.asked  # it slept between rounds, through the injected sleep
    assert all(0 <= seconds <= 30 for seconds in sleeps.asked)


async def test_changes_move_add_and_cancel_reminders(bot: LocalBot, clock: Clock) -> None:
    bob, cy = bot.user("bob"), bot.user("cy")
    room = await _create(bot, "tomorrow 9am-10am @bob")
    opens = await _opens(bot, room)
    await bot.command(f"/room extend {room} by 1 hour")  # the opening stays: so does the due
    await bot.settle()
    assert await _due(bot, room) == {YOU: opens - LEAD, bob: opens - LEAD}
    await bot.command(f"/room reschedule {room} tomorrow 11am-12pm")
    await bot.settle()
    moved = await _opens(bot, room)
    assert moved == opens + timedelta(hours=2)
    assert await _due(bot, room) == {YOU: moved - LEAD, bob: moved - LEAD}
    await bot.command(f"/room add {room} <@{cy}>")
    await bot.command(f"/room remove {room} <@{bob}>")
    await bot.settle()
    assert await _due(bot, room) == {YOU: moved - LEAD, cy: moved - LEAD}
    clock.now = opens - LEAD  # the old time: nothing is due any more
    assert await _run(bot) == 0
    await bot.command(f"/room delete {room}")
    await bot.settle()
    assert await _due(bot, room) == {}
    clock.now = moved
    assert await _run(bot) == 0
    assert bot.slack.direct_messages(bob) == []


async def test_two_replicas_send_each_reminder_once_and_a_dead_ones_lease_runs_out(
    bot: LocalBot, clock: Clock
) -> None:
    people = [bot.user(name) for name in ("ann", "bob", "cy", "dee", "eve")]
    mentions = " ".join(f"<@{p}>" for p in people)
    room = await _create(bot, f"tomorrow 9am-10am {mentions}")
    runtime = bot.runtime

    def replica(worker_id: str) -> ReminderDispatcher:
        return ReminderDispatcher(
            schedule=runtime.reminder_schedule,
            registry=runtime.store.rooms,
            preferences=HomeStore(runtime.store.database),
            sender=SlackReminders(runtime.people),
            worker_id=worker_id,
            clock=clock,
            batch=2,
        )

    clock.now = await _opens(bot, room) - LEAD
    # A replica that dies holding a lease on two reminders: they wait for the lease to end.
    held = await runtime.reminder_schedule.claim(
        "dead", lease=timedelta(minutes=1), now=clock(), limit=2
    )
    assert len(held) == 2
    first, second = replica("one"), replica("two")
    while sum(await asyncio.gather(first.run_once(), second.run_once())):
        pass  # both claim at once, two at a time, until nothing is due
    assert first.sent + second.sent == 4
    clock.now += timedelta(minutes=1)
    assert sum(await asyncio.gather(first.run_once(), second.run_once())) == 2
    for person in [*people, YOU]:
        assert len(bot.slack.direct_messages(person)) == 1, person
    assert blocks.ACTION_JOIN in json.dumps(bot.slack.direct_messages(YOU)[0].blocks)
