"""Zones, locales and people that roombot must not take on trust (issue 11, items 5 and 8).

Over real HTTP against the fake Slack and the ACS emulator: a `users.info` zone or locale
that is not a usable string, and a form whose `private_metadata` zone is 300 characters,
fall back to UTC and en-US (or are refused in the form) instead of a 500 or an endless retry;
mentions of bots (roombot itself included) and of other workspaces' users are refused, naming
them, before any ACS identity is made.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.domain import JournalState
from bot.local.fake_slack import BOT_USER_ID
from tests.reliability.harness import CHANNEL, ME, Bot
from tests.reliability.test_faults import posted_rooms
from tests.reliability.test_modal_forgery import open_form, submit, valid_submission


def refusals(bot: Bot, user: str = ME) -> list[str]:
    return [e.text for e in bot.slack.ephemerals if e.user == user and ":warning:" in e.text]


@pytest.mark.parametrize(
    "answer",
    [
        {"tz": 5},
        {"tz": "A" * 300},  # ZoneInfo: OSError, File name too long
        {"tz": ["Europe/Paris"]},
        {"tz": {"name": "Europe/Paris"}},
        {"tz": "Europe/" + "Paris/" * 60},
        {"tz": "../../../../etc/passwd"},
        {"locale": 7},
        {"locale": "en-" + "x" * 300},
        {"locale": ["en-GB"], "tz": None},
    ],
    ids=lambda answer: ",".join(f"{k}={str(v)[:12]}" for k, v in answer.items()),
)
async def test_an_unusable_zone_or_locale_from_slack_reads_the_words_in_utc(
    bot: Bot, answer: dict[str, Any]
) -> None:
    """Before: a zone or locale that was not a string, or too long, raised in the worker, which
    retried the command every 2 s forever. Now it is read in UTC/en-US, at the first try."""
    odd = bot.user("U0ODDZONE", "odd")
    bot.slack.override_user(odd, **answer)
    ack = await bot.command("create tomorrow 9am-10am", user=odd)
    assert "Creating your room" in ack.text
    await bot.settle(within=10)
    [entry] = await bot.journal()
    assert (entry.state, entry.attempts, entry.failures, entry.last_error) == (
        JournalState.ANSWERED,
        1,
        0,
        None,
    )
    [room] = bot.emulator.state.rooms.values()
    tomorrow = (bot.clock() + timedelta(days=1)).astimezone(UTC).date()
    assert room.valid_from == datetime(
        tomorrow.year, tomorrow.month, tomorrow.day, 9, tzinfo=UTC
    )  # 9am read in UTC
    assert len(posted_rooms(bot, CHANNEL)) == 1


@pytest.mark.parametrize(
    ("metadata", "accepted"),
    [
        ({"tz": "A" * 300, "locale": "en-US", "channel": CHANNEL}, False),
        ({"tz": "Europe/" + "Paris/" * 60, "locale": "en-US", "channel": CHANNEL}, False),
        ({"tz": 5, "locale": "en-US", "channel": CHANNEL}, False),
        ({"tz": "Europe/Paris", "locale": "en-" + "x" * 300, "channel": CHANNEL}, True),
        ({"tz": "Europe/Paris", "locale": ["en-GB"], "channel": CHANNEL}, True),
        ({"tz": "Europe/Paris", "locale": "en-US", "channel": ["C0LOCAL"]}, False),
    ],
)
async def test_a_forms_zone_and_locale_are_checked_before_use(
    bot: Bot, metadata: dict[str, Any], accepted: bool
) -> None:
    """Before: a 300-character zone in private_metadata answered 500 (OSError). Now the form
    is refused in its own words; a bad locale falls back to en-US."""
    view = await open_form(bot)
    payload = valid_submission(bot, view)
    payload["view"]["private_metadata"] = json.dumps(metadata)
    ack = await submit(bot, payload)
    assert ack.status == 200, ack
    await bot.settle(within=10)
    if accepted:
        assert ack.body == {}
        assert len(posted_rooms(bot, CHANNEL)) == 1
    else:
        assert ack.body["response_action"] == "errors"
        assert "open it again" in ack.body["errors"]["when"]
        assert await bot.journal() == []


def strangers(bot: Bot) -> dict[str, str]:
    """A bot, a user of another workspace and a person of this one, by name."""
    bot.slack.add_user("U0ROBOT", "robot", is_bot=True)
    bot.slack.add_user("U0GUEST", "guest", team_id="T0OTHER")
    bot.slack.add_user("U0ALICE", "alice", tz="Europe/Paris")
    return {"robot": "U0ROBOT", "guest": "U0GUEST", "alice": "U0ALICE"}


async def test_bots_and_other_workspaces_users_are_refused_by_name(bot: Bot) -> None:
    """Before: roombot itself, another bot and a Slack Connect guest became ACS participants.
    Now the command is refused in one sentence that names each of them; no identity is made."""
    strangers(bot)
    text = (
        f"create tomorrow <@{BOT_USER_ID}|roombot> <@U0ROBOT|robot> presenter "
        "<@U0GUEST|guest> <@U0ALICE|alice>"
    )
    await bot.command(text)
    await bot.settle(within=10)
    [refusal] = refusals(bot)
    assert "Only people of this workspace can join a room" in refusal
    assert f"<@{BOT_USER_ID}> is a bot" in refusal
    assert "<@U0ROBOT> is a bot" in refusal
    assert "<@U0GUEST> is in another workspace" in refusal
    assert "U0ALICE" not in refusal
    assert "Try" in refusal or "/room create" in refusal  # an example that works
    assert bot.emulator.state.rooms_created == 0
    assert bot.emulator.state.identities == {}
    [entry] = await bot.journal()
    assert (entry.state, entry.error_code) == (JournalState.ANSWERED, "not_a_person_here")


async def test_a_bot_cannot_be_added_to_a_room_nor_chosen_in_the_form(bot: Bot) -> None:
    strangers(bot)
    await bot.command("create tomorrow <@U0ALICE|alice>")
    await bot.settle(within=10)
    [room_id] = posted_rooms(bot, CHANNEL)
    await bot.command(f"add {room_id} <@U0ROBOT|robot> <@U0GUEST|guest> presenter")
    await bot.settle(within=10)
    [refusal] = refusals(bot)
    assert "<@U0ROBOT> is a bot and <@U0GUEST> is in another workspace" in refusal
    record = await bot.runtime.store.rooms.get(room_id)
    assert record is not None
    assert {p.slack_user_id for p in record.participants} == {ME, "U0ALICE"}
    assert len(bot.emulator.state.rooms[room_id].participants) == 2

    view = await open_form(bot)
    payload = valid_submission(bot, view)
    payload["view"]["state"]["values"]["presenters"]["users"]["selected_users"] = [BOT_USER_ID]
    assert (await submit(bot, payload)).body == {}
    await bot.settle(within=10)
    assert len(refusals(bot)) == 2
    assert f"<@{BOT_USER_ID}> is a bot" in refusals(bot)[-1]
    assert bot.emulator.state.rooms_created == 1
