"""Knocks: Join pressed by someone not on the roster asks the creator and presenters, who
admit (added in ACS as attendee, sent their personal link) or deny; both sides hear it."""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from urllib.parse import urlencode

import pytest

from bot.domain import Role
from bot.local.fake_slack import Message
from bot.slack import join_blocks
from tests.join.helpers import ALICE, BOB, CAROL, create_room, link_in, press_join, said
from tests.reliability.harness import ME, TEAM, Bot, eventually, running_bot


@pytest.fixture(name="bot")
async def _bot(sqlite_url: str) -> AsyncIterator[Bot]:
    async with running_bot(sqlite_url, join="public") as running:
        yield running


def asks(bot: Bot, user: str) -> list[Message]:
    """The knock requests (as they are now) in *user*'s direct messages with the bot."""
    return dms_to(bot, user)


async def answer(bot: Bot, message: Message, action_id: str, *, user: str) -> None:
    """Press Admit or Deny on a knock request in *user*'s DM, as Slack sends it."""
    knock_id = re.search(r'"value": "([0-9a-f-]{36})"', json.dumps(message.blocks))
    assert knock_id
    payload = {
        "type": "block_actions",
        "team": {"id": TEAM, "domain": "local"},
        "user": {"id": user, "team_id": TEAM, "name": bot.slack.users[user].name},
        "api_app_id": "A0LOCAL",
        "channel": {"id": message.channel, "name": "directmessage"},
        "container": {"type": "message", "message_ts": message.ts, "channel_id": message.channel},
        "message": {"ts": message.ts, "text": message.text},
        "trigger_id": bot.slack.issue_trigger_id(),
        "response_url": bot.slack.new_response_url(message.channel, user),
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": f"knock:{knock_id.group(1)}",
                "value": knock_id.group(1),
                "action_ts": str(time.time()),
            }
        ],
    }
    ack = await bot.post_signed(urlencode({"payload": json.dumps(payload)}))
    assert ack.status == 200
    await bot.settle()


def dms_to(bot: Bot, user: str) -> list[Message]:
    channel = "D" + user.removeprefix("U")
    return bot.slack.channel_messages(channel) if channel in bot.slack.channels else []


async def test_a_stranger_knocks_and_the_creator_and_presenters_are_asked(bot: Bot) -> None:
    room_id = await create_room(bot)
    told = await press_join(bot, room_id, user=CAROL)
    assert told.user == CAROL
    assert "asked its creator and presenters (2)" in said(told)
    assert "/join/" not in said(told)
    for decider in (ME, ALICE):  # the creator and the other presenter
        (ask,) = asks(bot, decider)
        assert f"<@{CAROL}>" in said(ask)
        assert room_id in said(ask)
        assert join_blocks.ACTION_DENY in said(ask)
    assert asks(bot, BOB) == []  # an attendee is not asked

    again = await press_join(bot, room_id, user=CAROL)
    assert "You asked to join room" in said(again)
    assert "just now" in said(again)
    assert len(asks(bot, ME)) == 1  # nobody is asked twice


async def test_admit_adds_them_in_acs_and_sends_their_link(bot: Bot) -> None:
    room_id = await create_room(bot)
    await press_join(bot, room_id, user=CAROL)
    card = bot.slack.messages[-1]
    await answer(bot, asks(bot, ALICE)[0], join_blocks.ACTION_ADMIT, user=ALICE)

    room = await bot.runtime.store.rooms.get(room_id)
    assert room is not None
    carol = room.participant(CAROL)
    assert carol is not None
    assert carol.role is Role.ATTENDEE
    members = {p.raw_id: p.role async for p in bot.runtime.rooms.list_participants(room_id)}
    assert members[carol.acs_raw_id] == Role.ATTENDEE

    (welcome,) = dms_to(bot, CAROL)
    assert f"<@{ALICE}> let you into room" in said(welcome)
    async with bot.http.post(link_in(welcome) + "/token") as response:
        assert response.status == 200
        assert json.loads(await response.text())["userId"] == carol.acs_raw_id

    settled = asks(bot, ALICE)[0]
    assert join_blocks.ACTION_ADMIT not in json.dumps(settled.blocks)  # buttons gone
    assert f"<@{ALICE}> let <@{CAROL}> into room" in said(settled)
    assert f"<@{CAROL}>" in json.dumps(card.blocks)  # the card lists her now

    # The creator answers the same knock later: told it was answered, nothing is redone.
    await answer(bot, asks(bot, ME)[0], join_blocks.ACTION_DENY, user=ME)
    assert "answered already" in said(asks(bot, ME)[0])
    assert len(dms_to(bot, CAROL)) == 1
    after = await bot.runtime.store.rooms.get(room_id)
    assert after is not None
    assert after.participant(CAROL) is not None


async def test_someone_admitted_is_reminded_and_sees_the_room_in_their_home(bot: Bot) -> None:
    """Let in by knocking, as if added by `/room add`: their reminder is scheduled (and sent
    when the room is about to open) and their App Home is published with the room."""
    room_id = await create_room(bot, "tomorrow 9am-10am")
    await press_join(bot, room_id, user=CAROL)
    opened = bot.slack.home.app_home_opened(CAROL)  # she has a Home to keep fresh
    await bot.post_signed(json.dumps(opened), "application/json")
    await eventually(lambda: bot.slack.home.tab(CAROL), what="Carol's Home first published")
    tab = bot.slack.home.tab(CAROL)
    assert tab is not None
    assert room_id not in json.dumps(tab.view["blocks"])
    await answer(bot, asks(bot, ALICE)[0], join_blocks.ACTION_ADMIT, user=ALICE)

    room = await bot.runtime.store.rooms.get(room_id)
    assert room is not None
    due = room.valid_from - timedelta(minutes=5)
    schedule = await bot.runtime.reminder_schedule.of_room(room_id)
    assert schedule[CAROL] == ("pending", due)

    def home_shows_room() -> bool:
        tab = bot.slack.home.tab(CAROL)
        return tab is not None and room_id in json.dumps(tab.view["blocks"])

    await eventually(home_shows_room, what="Carol's Home published with the room")

    bot.clock.advance(due - bot.clock())
    await bot.runtime.reminders.run_once()  # (or its own loop, woken meanwhile: either sends)

    def reminders() -> list[Message]:
        return [m for m in dms_to(bot, CAROL) if (m.metadata or {}).get("event_type")]

    (reminder,) = await eventually(reminders, what="Carol's reminder")
    assert "opens in 5 minutes" in said(reminder)
    assert room_id in said(reminder)


async def test_deny_tells_both_sides_and_adds_no_one(bot: Bot) -> None:
    room_id = await create_room(bot)
    await press_join(bot, room_id, user=CAROL)
    await answer(bot, asks(bot, ME)[0], join_blocks.ACTION_DENY, user=ME)
    (told,) = dms_to(bot, CAROL)
    assert f"join room `{room_id}` was declined" in said(told)
    assert f"<@{ME}> declined <@{CAROL}>'s request" in said(asks(bot, ME)[0])
    room = await bot.runtime.store.rooms.get(room_id)
    assert room is not None
    assert room.participant(CAROL) is None
    again = await press_join(bot, room_id, user=CAROL)
    assert "it was answered" in said(again)


async def test_only_the_creator_presenters_or_admins_can_admit(bot: Bot) -> None:
    room_id = await create_room(bot)
    await press_join(bot, room_id, user=CAROL)
    request = asks(bot, ME)[0]
    before = len(bot.slack.ephemerals)
    await answer(bot, request, join_blocks.ACTION_ADMIT, user=BOB)  # an attendee, forging
    refusal = bot.slack.ephemerals[before:]
    assert len(refusal) == 1
    assert refusal[0].user == BOB
    assert "Only room" in said(refusal[0])
    room = await bot.runtime.store.rooms.get(room_id)
    assert room is not None
    assert room.participant(CAROL) is None
    assert dms_to(bot, CAROL) == []
