"""Rooms with names, and zones named in the text (issue #13), end to end.

Signed commands into the real server, the fake Slack and the ACS emulator on loopback; the
registry in SQLite. The title lives only in roombot's registry (ACS has no such field).
"""

from __future__ import annotations

import json
from zoneinfo import ZoneInfo

from bot.local.dev_cli import LocalBot
from tests.slack.test_flows import create, dump


def header(message: object) -> str | None:
    """The text of a card's header block (its title), if it has one."""
    for block in getattr(message, "blocks", None) or []:
        if block.get("type") == "header":
            return str(block["text"]["text"])
    return None


async def told(bot: LocalBot, text: str) -> str:
    before = len(bot.slack.ephemerals)
    ack = await bot.command(text)
    await bot.settle()
    return json.dumps(ack) + "".join(dump(e) for e in bot.slack.ephemerals[before:])


async def test_a_title_heads_the_card_and_the_list_and_is_kept_by_roombot(bot: LocalBot) -> None:
    room_id = await create(bot, 'tomorrow 3pm "R&D review" @alice')  # escaped as Slack does
    card = bot.slack.messages[-1]
    assert header(card) == "R&D review"  # plain text: shown as typed
    record = await bot.runtime.store.rooms.get(room_id)
    assert record is not None
    assert record.title == "R&D review"
    listed = await told(bot, "/room list")
    assert f"`{room_id}` \\u201cR&amp;D review\\u201d" in listed  # mrkdwn: escaped once


async def test_rename_changes_the_title_and_the_card(bot: LocalBot) -> None:
    room_id = await create(bot, "tomorrow 3pm")
    assert header(bot.slack.messages[-1]) is None
    updates = len(bot.slack.calls_to("chat.update"))

    answer = await told(bot, f'/room rename {room_id} "Weekly sync"')

    assert f"Room `{room_id}` is now called “Weekly sync”" in answer
    record = await bot.runtime.store.rooms.get(room_id)
    assert record is not None
    assert record.title == "Weekly sync"
    assert len(bot.slack.calls_to("chat.update")) == updates + 1
    updated = bot.slack.calls_to("chat.update")[-1]
    assert "Weekly sync" in json.dumps(updated.params)


async def test_rename_without_a_title_says_how(bot: LocalBot) -> None:
    room_id = await create(bot, "tomorrow 3pm")
    answer = await told(bot, f"/room rename {room_id} weekly sync")
    assert "Put the new title in quotes" in answer
    assert f'/room rename {room_id} \\"Design review\\"' in answer


async def test_a_zone_in_the_text_is_read_and_the_reply_says_how(bot: LocalBot) -> None:
    room_id = await create(bot, "tomorrow 3pm PT")
    record = await bot.runtime.store.rooms.get(room_id)
    assert record is not None
    assert record.valid_from.astimezone(ZoneInfo("America/Los_Angeles")).hour == 15
    replies = "".join(dump(e) for e in bot.slack.ephemerals)
    assert "“PT” read as America/Los_Angeles" in replies
