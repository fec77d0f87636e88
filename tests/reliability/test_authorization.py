"""Authorization: `ROOMBOT_ALLOWED_CHANNELS` and `ROOMBOT_ADMINS`, read from the settings as
`roombot serve` reads them (`Options.from_settings`).

Only a room's creator, its presenters and admins may extend, change or delete it; each
refusal is tested on its own and must leave ACS, the registry and the channel message as
they were. tests/slack/test_flows.py::test_buttons_work_for_presenters_and_refuse_others
covers the Delete button pressed by an attendee.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest

from bot.config import ConfigError, load_settings
from bot.domain import JournalState, Role
from bot.slack import blocks
from tests.reliability.harness import CHANNEL, ME, TEAM, Bot, running_bot

ADMIN = "U0ADMIN"
ALICE = "U0ALICE"  # a presenter
BOB = "U0BOB"  # an attendee
CAROL = "U0CAROL"  # not in the room
ELSEWHERE = "C0ELSEWHERE"  # a channel roombot is not enabled in
NOT_ENABLED = "not enabled in this channel"
NOT_ALLOWED = "Only the room's creator"


@pytest.fixture(name="guarded")
async def _guarded(sqlite_url: str) -> AsyncIterator[Bot]:
    async with running_bot(
        sqlite_url, admins=f"{ADMIN},U0OTHERADMIN", allowed_channels=f"{CHANNEL},C0SECOND"
    ) as bot:
        for user, name in ((ADMIN, "admin"), (ALICE, "alice"), (BOB, "bob"), (CAROL, "carol")):
            bot.user(user, name)
        bot.channel(ELSEWHERE)
        yield bot


async def create_room(bot: Bot) -> str:
    """A room made by ME in CHANNEL with ALICE presenting and BOB attending; its id."""
    ack = await bot.command(f"create tomorrow <@{ALICE}|alice> presenter <@{BOB}|bob>")
    assert "Creating your room" in ack.text
    await bot.settle()
    entry = (await bot.journal())[-1]
    assert entry.room_id is not None, entry
    return entry.room_id


async def snapshot(bot: Bot, room_id: str) -> tuple[Any, ...]:
    """What a refused change must leave alone: ACS's room and members, the registry, the
    channel message."""
    acs = await bot.runtime.rooms.get_room(room_id)
    members = {p.raw_id: p.role async for p in bot.runtime.rooms.list_participants(room_id)}
    record = await bot.runtime.store.rooms.get(room_id)
    assert record is not None
    message = bot.slack.channel_messages(CHANNEL)[-1]
    return (
        acs.valid_until,
        members,
        record.valid_until,
        record.active,
        record.participants,
        json.dumps(message.blocks),
    )


def refusals_to(bot: Bot, user: str) -> list[str]:
    return [json.dumps(e.blocks) for e in bot.slack.ephemerals if e.user == user]


# --- who may change a room ------------------------------------------------------------------

CHANGES = [
    "extend {room} by 2 days",
    f"add {{room}} <@{ME}|you> attendee",  # demote the creator
    f"add {{room}} <@{BOB}|bob> presenter",  # promote oneself
    f"remove {{room}} <@{ALICE}|alice>",
    "delete {room}",
]


@pytest.mark.parametrize("asker", [BOB, CAROL], ids=["attendee", "stranger"])
@pytest.mark.parametrize("change", CHANGES)
async def test_attendees_and_strangers_may_not_change_a_room(
    guarded: Bot, asker: str, change: str
) -> None:
    room_id = await create_room(guarded)
    before = await snapshot(guarded, room_id)
    updates = len(guarded.slack.calls_to("chat.update"))

    ack = await guarded.command(change.format(room=room_id), user=asker)
    assert ack.status == 200
    await guarded.settle()

    assert await snapshot(guarded, room_id) == before
    assert len(guarded.slack.calls_to("chat.update")) == updates
    refusal = refusals_to(guarded, asker)
    assert len(refusal) == 1
    assert NOT_ALLOWED in refusal[0]
    entry = (await guarded.journal())[-1]
    assert entry.state is JournalState.ANSWERED
    assert entry.error_code == "not_allowed"


def button_press(bot: Bot, action_id: str, room_id: str, *, user: str, channel: str) -> str:
    payload = {
        "type": "block_actions",
        "team": {"id": TEAM, "domain": "local"},
        "user": {"id": user, "team_id": TEAM, "name": user.lower()},
        "api_app_id": "A0LOCAL",
        "channel": {"id": channel, "name": channel.lower()},
        "container": {"type": "message", "channel_id": channel},
        "trigger_id": bot.slack.issue_trigger_id(),
        "response_url": bot.slack.new_response_url(channel, user),
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": f"room:{room_id}",
                "value": room_id,
                "action_ts": str(time.time()),
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)})


@pytest.mark.parametrize("action_id", [blocks.ACTION_EXTEND, blocks.ACTION_DELETE])
async def test_a_strangers_button_press_is_refused(guarded: Bot, action_id: str) -> None:
    room_id = await create_room(guarded)
    before = await snapshot(guarded, room_id)
    await guarded.post_signed(
        button_press(guarded, action_id, room_id, user=CAROL, channel=CHANNEL)
    )
    await guarded.settle()
    assert await snapshot(guarded, room_id) == before
    assert NOT_ALLOWED in refusals_to(guarded, CAROL)[-1]


async def test_a_presenter_may_extend(guarded: Bot) -> None:
    room_id = await create_room(guarded)
    before = await guarded.runtime.store.rooms.get(room_id)
    await guarded.command(f"extend {room_id} by 1 day", user=ALICE)
    await guarded.settle()
    after = await guarded.runtime.store.rooms.get(room_id)
    assert before is not None
    assert after is not None
    assert (after.valid_until - before.valid_until).days == 1
    assert (await guarded.runtime.rooms.get_room(room_id)).valid_until == after.valid_until


async def test_an_admin_may_change_any_room(guarded: Bot) -> None:
    """The admin is neither creator nor participant: extend, add, remove, then delete."""
    room_id = await create_room(guarded)
    before = await guarded.runtime.store.rooms.get(room_id)
    assert before is not None
    for change in (
        f"extend {room_id} by 3 days",
        f"add {room_id} <@{CAROL}|carol> collaborator",
        f"remove {room_id} <@{BOB}|bob>",
    ):
        ack = await guarded.command(change, user=ADMIN)
        assert "Working on it" in ack.text, ack
        await guarded.settle()
    record = await guarded.runtime.store.rooms.get(room_id)
    assert record is not None
    assert (record.valid_until - before.valid_until).days == 3
    roles = {p.slack_user_id: p.role for p in record.participants}
    assert roles == {ME: Role.PRESENTER, ALICE: Role.PRESENTER, CAROL: Role.COLLABORATOR}
    members = {p.raw_id: p.role async for p in guarded.runtime.rooms.list_participants(room_id)}
    assert members == {p.acs_raw_id: p.role for p in record.participants}

    await guarded.post_signed(
        button_press(guarded, blocks.ACTION_DELETE, room_id, user=ADMIN, channel=CHANNEL)
    )
    await guarded.settle()
    gone = await guarded.runtime.store.rooms.get(room_id)
    assert gone is not None
    assert not gone.active
    assert guarded.emulator.state.rooms[room_id].deleted
    assert not [note for note in refusals_to(guarded, ADMIN) if NOT_ALLOWED in note]


async def test_without_roombot_admins_nobody_is_an_admin(sqlite_url: str) -> None:
    async with running_bot(sqlite_url) as bot:
        bot.user(ADMIN, "admin")
        room_id = await create_room(bot)
        await bot.command(f"delete {room_id}", user=ADMIN)
        await bot.settle()
        assert NOT_ALLOWED in refusals_to(bot, ADMIN)[-1]
        assert not bot.emulator.state.rooms[room_id].deleted


# --- where roombot works --------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["create tomorrow", "tomorrow 9am-5pm", "list", "help", "show 99117812428622880", ""],
)
async def test_commands_in_a_channel_not_enabled_are_refused(guarded: Bot, text: str) -> None:
    ack = await guarded.command(text, channel=ELSEWHERE)
    assert ack.status == 200
    assert NOT_ENABLED in ack.text, ack
    await guarded.settle()
    assert await guarded.journal() == []
    assert guarded.emulator.state.requests == 0
    assert guarded.slack.views == []  # `/room` alone did not open the form either


async def test_changes_from_a_channel_not_enabled_are_refused(guarded: Bot) -> None:
    """Typed or pressed there: a room made in an enabled channel cannot be changed from one
    roombot is not enabled in (an old message, a pasted id, a forged payload)."""
    room_id = await create_room(guarded)
    before = await snapshot(guarded, room_id)
    typed = await guarded.command(f"delete {room_id}", channel=ELSEWHERE)
    assert NOT_ENABLED in typed.text
    await guarded.post_signed(
        button_press(guarded, blocks.ACTION_DELETE, room_id, user=ME, channel=ELSEWHERE)
    )
    await guarded.post_signed(
        button_press(guarded, blocks.ACTION_EXTEND, room_id, user=ME, channel=ELSEWHERE)
    )
    await guarded.settle()
    assert await snapshot(guarded, room_id) == before
    assert len(await guarded.journal()) == 1  # only the create
    assert any(NOT_ENABLED in note for note in refusals_to(guarded, ME))


async def test_enabled_channels_work(guarded: Bot) -> None:
    for channel in (CHANNEL, "C0SECOND"):
        guarded.channel(channel)
        ack = await guarded.command("create tomorrow", channel=channel)
        assert "Creating your room" in ack.text
    await guarded.settle()
    assert guarded.emulator.state.rooms_created == 2


async def test_the_form_cannot_post_to_a_channel_not_enabled(guarded: Bot) -> None:
    await guarded.command("")  # `/room` alone: the form
    opened = await guarded.slack.wait_for(lambda s: s.views[-1] if s.views else None)
    view = opened.view
    values = {
        "when": {"text": {"type": "plain_text_input", "value": "tomorrow"}},
        "post_to": {
            "channel": {"type": "conversations_select", "selected_conversation": ELSEWHERE}
        },
    }
    payload = {
        "type": "view_submission",
        "team": {"id": TEAM, "domain": "local"},
        "user": {"id": ME, "team_id": TEAM},
        "api_app_id": "A0LOCAL",
        "view": {**view, "id": opened.id, "team_id": TEAM, "state": {"values": values}},
        "response_urls": [],
    }
    ack = await guarded.post_signed(urlencode({"payload": json.dumps(payload)}))
    assert ack.body.get("response_action") == "errors"
    assert "not enabled" in ack.body["errors"]["post_to"]
    await guarded.settle()
    assert await guarded.journal() == []


async def place_room_in(bot: Bot, channel: str) -> str:
    """A room ME made in *channel* before roombot was limited to other channels: in ACS and in
    the registry, as a create there would have left it; its id."""
    now = bot.clock()
    acs = await bot.runtime.rooms.create_room(
        valid_from=now + timedelta(days=1), valid_until=now + timedelta(days=2)
    )
    await bot.runtime.store.rooms.record_created(
        room_id=acs.id,
        team_id=TEAM,
        channel_id=channel,
        creator_id=ME,
        valid_from=acs.valid_from,
        valid_until=acs.valid_until,
        pstn_dial_out=False,
        participants=[],
        now=now,
    )
    return acs.id


async def test_a_room_in_a_channel_not_enabled_cannot_be_changed_from_an_enabled_one(
    guarded: Bot,
) -> None:
    """The channel typed in is enabled, the room's own channel is not: typed by its creator
    or pressed, the change is refused with the reason and the room stays as it is."""
    room_id = await place_room_in(guarded, ELSEWHERE)
    typed = await guarded.command(f"delete {room_id}", channel=CHANNEL)
    assert typed.status == 200
    await guarded.settle()
    await guarded.command(f"extend {room_id} by 2 days", channel=CHANNEL)
    await guarded.settle()
    for action_id in (blocks.ACTION_EXTEND, blocks.ACTION_DELETE):
        await guarded.post_signed(
            button_press(guarded, action_id, room_id, user=ME, channel=CHANNEL)
        )
        await guarded.settle()

    record = await guarded.runtime.store.rooms.get(room_id)
    assert record is not None
    assert record.active
    assert not guarded.emulator.state.rooms[room_id].deleted
    acs = await guarded.runtime.rooms.get_room(room_id)
    assert acs.valid_until == record.valid_until
    entries = await guarded.journal()
    assert [e.error_code for e in entries] == ["channel_not_enabled"] * 4
    notes = refusals_to(guarded, ME)
    assert len(notes) == 4
    assert all(f"<#{ELSEWHERE}>" in note and NOT_ENABLED_THERE in note for note in notes)


NOT_ENABLED_THERE = "where roombot is not enabled"


async def test_a_payload_that_names_no_team_is_refused(guarded: Bot) -> None:
    """Slack always names the workspace. A signed payload without one (a command with no
    team_id, a button with neither team nor user.team_id) is refused and changes nothing."""
    room_id = await create_room(guarded)
    before = await snapshot(guarded, room_id)
    fields = dict(parse_qsl(guarded.command_body("create tomorrow")))
    for team in (None, ""):
        command = {k: v for k, v in fields.items() if k != "team_id"}
        if team is not None:
            command["team_id"] = team
        ack = await guarded.post_signed(urlencode(command))
        assert ack.status == 400, ack
    press = json.loads(
        dict(
            parse_qsl(
                button_press(guarded, blocks.ACTION_DELETE, room_id, user=ME, channel=CHANNEL)
            )
        )["payload"]
    )
    del press["team"]
    del press["user"]["team_id"]
    ack = await guarded.post_signed(urlencode({"payload": json.dumps(press)}))
    assert ack.status == 400, ack
    # Slack's own SSL check names no team either, and is still answered.
    ack = await guarded.post_signed(urlencode({"ssl_check": "1", "token": "legacy-unused"}))
    assert ack.status == 200, ack
    await guarded.settle()
    assert await snapshot(guarded, room_id) == before
    assert len(await guarded.journal()) == 1  # only the create
    assert guarded.emulator.state.rooms_created == 1


# --- another workspace ----------------------------------------------------------------------


async def test_another_workspaces_command_is_refused(guarded: Bot) -> None:
    """A request for a team the bot's token does not belong to changes nothing here."""
    room_id = await create_room(guarded)
    before = await snapshot(guarded, room_id)
    await guarded.command(f"delete {room_id}", team="T0OTHER")
    await guarded.command("create tomorrow", team="T0OTHER")
    await guarded.settle()
    assert await snapshot(guarded, room_id) == before
    assert len(await guarded.journal()) == 1
    assert guarded.emulator.state.rooms_created == 1


# --- the settings themselves ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ROOMBOT_ADMINS", "alice"),  # a name, not an id
        ("ROOMBOT_ADMINS", "U0123,<@U0456>"),  # a mention, not an id
        ("ROOMBOT_ALLOWED_CHANNELS", "#general"),  # a channel name
        ("ROOMBOT_ALLOWED_CHANNELS", "C0123;C0456"),  # the wrong separator
    ],
)
def test_malformed_lists_stop_start_up_with_one_line(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(name)) as raised:
        load_settings(**{name: value})
    assert "\n" not in str(raised.value)


def test_the_lists_are_read_as_ids() -> None:
    settings = load_settings(ROOMBOT_ADMINS=" U0A , W0B,", ROOMBOT_ALLOWED_CHANNELS="C0A,G0B")
    assert settings.admin_ids == frozenset({"U0A", "W0B"})
    assert settings.allowed_channel_ids == frozenset({"C0A", "G0B"})
