"""The smaller promises of the Slack app: zones, groups, roles, delays, rate limits, fallbacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.domain import Role
from bot.local.dev_cli import CHANNEL, ME, LocalBot
from bot.slack import blocks
from bot.slack.answerer import ChannelPacer
from tests.slack.test_flows import create, dump

ROOMBOT = str(Path(sys.executable).with_name("roombot"))


async def test_the_time_zone_is_looked_up_once_and_cached(bot: LocalBot) -> None:
    await create(bot, "tomorrow")
    await create(bot, "next week")
    await bot.command("/room list")
    lookups = [c for c in bot.slack.calls_to("users.info") if c.params.get("user") == ME[0]]
    assert len(lookups) == 1


async def test_words_are_read_in_the_invokers_zone(bot: LocalBot) -> None:
    bot.slack.add_user("U0TOKYO", "kenji", tz="Asia/Tokyo")
    before = len(bot.slack.messages)
    await bot.command("/room create tomorrow 9am-5pm", user_id="U0TOKYO")
    await bot.settle()
    assert len(bot.slack.messages) == before + 1
    record = (await bot.runtime.service.channel_rooms("T0LOCAL", CHANNEL))[-1]
    local = record.valid_from.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Tokyo"))
    assert (local.hour, local.minute) == (9, 0)
    assert "JST" in dump(bot.slack.messages[-1])  # the fallback names the invoker's zone


async def test_user_groups_are_expanded_and_named_people_keep_their_role(bot: LocalBot) -> None:
    ann, ben = bot.user("ann"), bot.user("ben")
    bot.slack.add_usergroup("S0DESIGN", "design", [ann, ben])
    room_id = await create(bot, f"tomorrow <!subteam^S0DESIGN|@design> <@{ann}|ann> presenter")
    record = await bot.runtime.store.rooms.get(room_id)
    assert record is not None
    roles = {p.slack_user_id: p.role for p in record.participants}
    assert roles == {ME[0]: Role.PRESENTER, ann: Role.PRESENTER, ben: Role.ATTENDEE}
    assert bot.slack.calls_to("usergroups.users.list")


async def test_the_invoker_keeps_a_role_they_give_themselves(bot: LocalBot) -> None:
    room_id = await create(bot, f"tomorrow <@{ME[0]}|you> attendee @alice presenter")
    record = await bot.runtime.store.rooms.get(room_id)
    assert record is not None
    assert record.participant(ME[0]) is not None
    assert record.participant(ME[0]).role is Role.ATTENDEE  # type: ignore[union-attr]


async def test_an_acs_limit_is_told_in_roombots_words_before_acs_is_asked(bot: LocalBot) -> None:
    room_id = await create(bot, "tomorrow for 100 days")
    # The words are fine (100 days), but the room would then last 200: ACS would refuse that,
    # so roombot refuses first, in its own words, with the latest end that works (issue #11).
    ack = await bot.command(f"/room extend {room_id} by 100 days")
    assert "Working on it" in json.dumps(ack)
    await bot.settle()
    refusal = dump(bot.slack.ephemerals[-1])
    assert "could not be understood" not in refusal
    assert "it can close at the latest" in refusal
    assert f"/room extend {room_id} to " in refusal
    assert "180 days" in refusal
    record = await bot.runtime.store.rooms.get(room_id)
    assert record is not None
    assert (record.valid_until - record.valid_from).days == 100  # unchanged


async def test_while_acs_is_down_the_user_hears_of_the_delay_then_gets_the_room(
    bot: LocalBot,
) -> None:
    bot.emulator.set_faults(fault_rate=1.0)
    await bot.command("/room create tomorrow")
    note = await bot.slack.wait_for(
        lambda s: next((e for e in s.ephemerals if "taking longer" in dump(e)), None), timeout=60
    )
    assert note.user == ME[0]
    assert bot.slack.messages == []
    bot.emulator.set_faults(fault_rate=0.0)
    bot.runtime.worker.poke()
    posted = await bot.slack.wait_for(lambda s: s.messages[-1] if s.messages else None, timeout=60)
    assert "Room ready" in dump(posted)
    await bot.settle()
    assert len(bot.slack.messages) == 1
    assert bot.emulator.state.rooms_created == 1


async def test_slack_rate_limits_are_retried_and_the_room_is_posted_once(bot: LocalBot) -> None:
    bot.slack.fail_next("chat.postMessage", status=429, retry_after=1)
    await create(bot, "tomorrow")
    posts = bot.slack.calls_to("chat.postMessage")
    assert [c.status for c in posts] == [429, 200]


async def test_an_expired_response_url_falls_back_to_the_web_api(bot: LocalBot) -> None:
    original = bot.slack.new_response_url

    def expired(channel: str, user: str, **kwargs: Any) -> str:
        url = original(channel, user, **kwargs)
        bot.slack.expire_response_url(url)
        return url

    bot.slack.new_response_url = expired  # type: ignore[method-assign]
    await bot.command("/room create yesterday for 2 hours")
    await bot.settle()
    refusal = bot.slack.ephemerals[-1]
    assert refusal.via != "response_url"
    assert refusal.user == ME[0]


async def test_an_expired_trigger_tells_the_user_instead_of_failing_silently(
    bot: LocalBot,
) -> None:
    bot.slack.fail_next("views.open", error="expired_trigger_id")
    await bot.command("/room")
    note = await bot.slack.wait_for(lambda s: s.ephemerals[-1] if s.ephemerals else None)
    assert "could not open in time" in dump(note)


async def test_over_long_commands_are_refused_with_the_limit(bot: LocalBot) -> None:
    ack = await bot.command("/room create tomorrow " + "x" * 2000)
    assert "limit is 1500" in json.dumps(ack)
    assert await bot.runtime.store.journal.pending_count() == 0


def test_every_card_has_join_and_only_a_join_url_makes_it_a_link() -> None:
    """Changed with issue #12: a card without ROOMBOT_JOIN_URL still has Join (roombot answers
    the press with a personal link); before, it had no Join button at all."""
    from datetime import UTC, datetime, timedelta

    from bot.domain import RoomRecord, RoomState

    now = datetime(2027, 1, 1, tzinfo=UTC)
    room = RoomRecord(
        room_id="99117812428622880",
        team_id="T",
        channel_id="C",
        creator_id="U",
        valid_from=now,
        valid_until=now + timedelta(days=1),
        pstn_dial_out=False,
        participants=(),
        message=None,
        state=RoomState.ACTIVE,
        created_at=now,
        updated_at=now,
    )
    with_url = json.dumps(blocks.room_blocks(room, tz="UTC", join_url="https://x/{room_id}"))
    without = json.dumps(blocks.room_blocks(room, tz="UTC", join_url=None))
    assert blocks.ACTION_JOIN in with_url
    assert "https://x/99117812428622880" in with_url
    assert blocks.ACTION_JOIN in without
    assert "https://" not in without  # pressing it asks roombot, which answers the presser
    assert "99117812428622880" in without  # the id is still shown


async def test_the_pacer_spaces_posts_to_one_channel() -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(round(seconds, 3))

    # The clock stands still: each wait is measured from the same instant.
    pacer = ChannelPacer(interval=1.0, burst=2, monotonic=lambda: 0.0, sleep=sleep)
    for _ in range(4):
        await pacer.wait("C1")
    await pacer.wait("C2")  # another channel is not held back
    assert slept == [1.0, 2.0]


@pytest.mark.parametrize(
    ("env", "line"),
    [
        ({}, "SLACK_BOT_TOKEN is not set"),
        (
            {
                "SLACK_BOT_TOKEN": "xoxb-1",
                "SLACK_SIGNING_SECRET": "s",
                "ACS_CONNECTION_STRING": "endpoint=https://x/",
            },
            "ACS_CONNECTION_STRING has no accesskey=",
        ),
        (
            {
                "SLACK_BOT_TOKEN": "xoxb-1",
                "SLACK_SIGNING_SECRET": "s",
                "ACS_CONNECTION_STRING": "endpoint=https://x/;accesskey=AAAA",
                "DATABASE_URL": "mysql://x",
            },
            "DATABASE_URL is malformed",
        ),
    ],
)
def test_serve_stops_with_one_line_naming_a_bad_setting(env: dict[str, str], line: str) -> None:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "ACS_", "DATABASE_", "ROOMBOT_"))
    }
    result = subprocess.run(  # noqa: S603 - our own console script
        [ROOMBOT, "serve", "--port", "0"],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert line in result.stderr
    assert "Traceback" not in result.stderr
