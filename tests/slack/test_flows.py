"""/room end to end: signed HTTP in, ACS emulator and fake Slack out, journal in SQLite."""

from __future__ import annotations

import json
import logging
import re
import time
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from slack_sdk.signature import SignatureVerifier
from sqlalchemy import select

from bot.domain import JournalEntry, Role
from bot.local.dev_cli import CHANNEL, ME, TEAM, LocalBot
from bot.slack import blocks
from bot.store.tables import JournalRow
from tests.database import execute, fetch
from tests.slack.conftest import press


def dump(message: Any) -> str:
    """Everything a message says, for substring checks."""
    return json.dumps(getattr(message, "blocks", None) or []) + str(getattr(message, "text", ""))


async def create(bot: LocalBot, text: str) -> str:
    """Run `/room create …` to the end; returns the new room id (from the channel message)."""
    before = len(bot.slack.messages)
    ack = await bot.command(f"/room create {text}")
    assert "Creating your room" in json.dumps(ack)
    await bot.settle()
    posted = bot.slack.messages[before:]
    assert len(posted) == 1, [dump(m) for m in bot.slack.ephemerals]
    found = re.search(r"`(\d{17})`", dump(posted[0]))
    assert found, dump(posted[0])
    return found.group(1)


async def test_create_posts_the_room_and_makes_it_in_acs(bot: LocalBot) -> None:
    room_id = await create(bot, "tomorrow for 2 weeks @alice presenter @bob")
    alice, bob = bot.slack.user_by_name("alice"), bot.slack.user_by_name("bob")
    record = await bot.runtime.store.rooms.get(room_id)
    assert record is not None
    roles = {p.slack_user_id: p.role for p in record.participants}
    assert roles == {ME[0]: Role.PRESENTER, alice: Role.PRESENTER, bob: Role.ATTENDEE}
    assert (record.valid_until - record.valid_from).days == 14
    message = bot.slack.messages[-1]
    text = dump(message)
    assert message.channel == CHANNEL
    assert f"<@{alice}>" in text
    assert f"<@{bob}>" in text
    assert "<!date^" in text
    assert "(Europe/London)" in text or "GMT" in text  # fallback in the invoker's zone
    assert blocks.ACTION_JOIN in text  # answered with a personal link (tests/join)
    assert blocks.ACTION_EXTEND in text
    assert blocks.ACTION_DELETE in text
    # ACS holds the same room with the same three identities.
    acs_room = await bot.runtime.rooms.get_room(room_id)
    assert acs_room.valid_from == record.valid_from
    members = {p.raw_id async for p in bot.runtime.rooms.list_participants(room_id)}
    assert members == {p.acs_raw_id for p in record.participants}
    # Nothing left in the journal.
    assert await bot.runtime.store.journal.pending_count() == 0
    # Bolt configured only its own logger: roombot's are as logging set them up.
    assert logging.getLogger("roombot").filters == []


async def test_identities_are_reused_across_rooms(bot: LocalBot) -> None:
    first = await create(bot, "tomorrow @alice")
    second = await create(bot, "next week @alice")
    one = await bot.runtime.store.rooms.get(first)
    two = await bot.runtime.store.rooms.get(second)
    assert one is not None
    assert two is not None
    assert {p.acs_raw_id for p in one.participants} == {p.acs_raw_id for p in two.participants}


async def test_a_create_from_someone_whose_zone_is_known_is_journalled_resolved(
    bot: LocalBot,
) -> None:
    """The first command of a person is journalled as typed (their zone is not known until
    the worker asks Slack); later ones are read in their zone at once and journalled with
    absolute times, and both mean the same window in that zone."""
    first = await create(bot, "tomorrow 9am-5pm")
    second = await create(bot, "tomorrow 9am-5pm")
    entries = sorted([e for e in await journal_entries(bot)], key=lambda e: (e.accepted_at, e.key))
    assert [e.command["kind"] for e in entries] == ["resolved", "resolved"]
    assert len(bot.slack.calls_to("users.info")) == 1  # the zone, asked once
    pins = [e.command for e in entries]
    assert pins[0]["tz"] == pins[1]["tz"] == ME[2]
    one, two = await bot.runtime.store.rooms.get(first), await bot.runtime.store.rooms.get(second)
    assert one is not None
    assert two is not None
    assert (one.valid_from, one.valid_until) == (two.valid_from, two.valid_until)
    local = one.valid_from.astimezone(ZoneInfo(ME[2]))
    assert (local.hour, local.minute) == (9, 0)


async def journal_entries(bot: LocalBot) -> list[JournalEntry]:
    keys = [row.key for row in await fetch(bot.runtime.store, select(JournalRow.key))]
    found = [await bot.runtime.store.journal.get(key) for key in keys]
    return [entry for entry in found if entry is not None]


async def test_a_form_body_containing_payload_is_still_a_command(bot: LocalBot) -> None:
    """slack-bolt 1.30 answered 404 to any form body with the text "payload" in it."""
    ack = await bot.command("/room create payload review tomorrow")
    assert ack.get("error") is None, ack
    assert "payload review" in json.dumps(ack)  # the words it could not read, quoted back
    room_id = await create(bot, "tomorrow @payload")  # a user called payload
    assert await bot.runtime.store.rooms.get(room_id) is not None


async def test_parse_errors_are_answered_at_once_and_nothing_is_journalled(bot: LocalBot) -> None:
    ack = await bot.command("/room create tomorrow @carol chairperson")
    assert ack["response_type"] == "ephemeral"
    assert "chairperson" in json.dumps(ack)
    await bot.settle()
    assert await bot.runtime.store.journal.pending_count() == 0
    assert bot.slack.messages == []


async def test_zone_dependent_refusals_come_back_ephemerally(bot: LocalBot) -> None:
    await bot.command("/room create yesterday for 2 hours")
    await bot.settle()
    assert bot.slack.messages == []
    refusal = bot.slack.ephemerals[-1]
    assert refusal.user == ME[0]
    assert "over already" in dump(refusal)


async def test_help_and_list(bot: LocalBot) -> None:
    ack = await bot.command("/room help")
    assert ack["response_type"] == "ephemeral"
    assert "/room create" in json.dumps(ack)
    empty = await bot.command("/room list")
    assert "No current or upcoming rooms" in json.dumps(empty)
    room_id = await create(bot, "tomorrow")
    listed = await bot.command("/room list")
    assert room_id in json.dumps(listed)


async def test_lifecycle_verbs_change_acs_and_update_the_message(bot: LocalBot) -> None:
    room_id = await create(bot, "tomorrow @alice @bob")
    posted = bot.slack.messages[-1]
    before = await bot.runtime.store.rooms.get(room_id)
    assert before is not None

    shown = await bot.command(f"/room show {room_id}")
    assert room_id in json.dumps(shown)

    await bot.command(f"/room extend {room_id} by 2 days")
    await bot.settle()
    after = await bot.runtime.store.rooms.get(room_id)
    assert after is not None
    assert (after.valid_until - before.valid_until).days == 2
    assert (await bot.runtime.rooms.get_room(room_id)).valid_until == after.valid_until

    await bot.command(f"/room add {room_id} @carol presenter @bob collaborator")
    await bot.command(f"/room remove {room_id} @alice")
    await bot.settle()
    after = await bot.runtime.store.rooms.get(room_id)
    assert after is not None
    names = {bot.slack.users[p.slack_user_id].name: p.role for p in after.participants}
    assert names == {"you": Role.PRESENTER, "bob": Role.COLLABORATOR, "carol": Role.PRESENTER}
    members = {p.raw_id: p.role async for p in bot.runtime.rooms.list_participants(room_id)}
    assert members == {p.acs_raw_id: p.role for p in after.participants}

    await bot.command(f"/room delete {room_id}")
    await bot.settle()
    gone = await bot.runtime.store.rooms.get(room_id)
    assert gone is not None
    assert not gone.active
    # The one posted message was updated in place each time, never posted again.
    assert len(bot.slack.messages) == 1
    assert bot.slack.messages[0].ts == posted.ts
    assert "deleted" in dump(bot.slack.messages[0])
    updates = [c for c in bot.slack.calls if c.method == "chat.update"]
    assert len(updates) == 4


async def test_buttons_work_for_presenters_and_refuse_others(bot: LocalBot) -> None:
    room_id = await create(bot, "tomorrow @alice presenter @bob")
    record = await bot.runtime.store.rooms.get(room_id)
    assert record is not None
    bob = bot.slack.user_by_name("bob")
    alice = bot.slack.user_by_name("alice")
    assert bob is not None
    assert alice is not None

    await press(bot, blocks.ACTION_DELETE, room_id, user_id=bob)  # an attendee
    refusal = bot.slack.ephemerals[-1]
    assert refusal.user == bob
    assert "Only the room's creator" in dump(refusal)
    still = await bot.runtime.store.rooms.get(room_id)
    assert still is not None
    assert still.active

    await press(bot, blocks.ACTION_EXTEND, room_id, user_id=alice)  # a presenter
    extended = await bot.runtime.store.rooms.get(room_id)
    assert extended is not None
    assert (extended.valid_until - record.valid_until).days == 1

    await press(bot, blocks.ACTION_DELETE, room_id, user_id=ME[0])  # the creator
    deleted = await bot.runtime.store.rooms.get(room_id)
    assert deleted is not None
    assert not deleted.active


async def _signed_raw(
    bot: LocalBot, body: str, *, timestamp: int | None = None, secret: str | None = None
) -> int:
    stamp = str(timestamp if timestamp is not None else int(time.time()))
    signature = SignatureVerifier(secret or bot.signing_secret).generate_signature(
        timestamp=stamp, body=body
    )
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature,
    }
    async with bot.http.post(bot.events_url, data=body.encode(), headers=headers) as response:
        return response.status


def _command_body(bot: LocalBot, text: str) -> str:
    return urlencode(
        {
            "team_id": TEAM,
            "channel_id": CHANNEL,
            "user_id": ME[0],
            "command": "/room",
            "text": text,
            "response_url": bot.slack.new_response_url(CHANNEL, ME[0]),
            "trigger_id": bot.slack.issue_trigger_id(),
        }
    )


async def test_unsigned_forged_and_stale_requests_are_refused(bot: LocalBot) -> None:
    body = _command_body(bot, "create tomorrow")
    assert await _signed_raw(bot, body, secret="not-the-signing-secret") == 401
    assert await _signed_raw(bot, body, timestamp=int(time.time()) - 301) == 401
    async with bot.http.post(bot.events_url, data=body.encode()) as response:
        assert response.status == 401
    await bot.settle()
    assert await bot.runtime.store.journal.pending_count() == 0
    probe = await bot.runtime.store.journal.claim(
        "probe", lease=timedelta(seconds=1), now=bot.runtime.options.clock()
    )
    assert probe == []
    assert bot.slack.messages == []
    assert await _signed_raw(bot, body) == 200  # the same body, signed properly, works


async def test_health_and_metrics(bot: LocalBot) -> None:
    base = bot.events_url.removesuffix("/slack/events")
    async with bot.http.get(base + "/healthz") as response:
        assert response.status == 200
        assert (await response.json())["database"] == "ok"
    await create(bot, "tomorrow")
    async with bot.http.get(base + "/metrics") as response:
        text = await response.text()
    assert 'roombot_commands_total{outcome="accepted",verb="create"} 1.0' in text
    assert "roombot_acs_request_seconds_bucket" in text


async def test_a_replayed_request_is_refused_and_done_only_once(bot: LocalBot) -> None:
    body = _command_body(bot, "create tomorrow")
    stamp = int(time.time())
    assert await _signed_raw(bot, body, timestamp=stamp) == 200
    assert await _signed_raw(bot, body, timestamp=stamp) == 401  # the very same signed request
    await bot.settle()
    assert len(bot.slack.messages) == 1
    assert bot.emulator.state.rooms_created == 1


async def test_the_same_signed_request_is_journalled_once_even_past_one_replicas_guard(
    bot: LocalBot,
) -> None:
    """Another replica has its own replay guard; the journal key from the signature holds."""
    from aiohttp import web

    from bot.slack.adapter import slack_events_handler

    second = web.Application()
    second.router.add_post(
        "/slack/events",
        slack_events_handler(bot.runtime.app, signing_secret=bot.signing_secret),
    )
    runner = web.AppRunner(second)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        body = _command_body(bot, "create tomorrow")
        stamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": SignatureVerifier(bot.signing_secret).generate_signature(
                timestamp=stamp, body=body
            )
            or "",
        }
        for url in (bot.events_url, f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events"):
            async with bot.http.post(url, data=body.encode(), headers=headers) as response:
                assert response.status == 200
        await bot.settle()
    finally:
        await runner.cleanup()
    assert len(bot.slack.messages) == 1
    assert bot.emulator.state.rooms_created == 1


async def test_a_broken_journal_refuses_the_command_in_words(bot: LocalBot) -> None:
    from sqlalchemy import text

    await execute(bot.runtime.store, text("DROP TABLE journal"))
    ack = await bot.command("/room create tomorrow")
    assert "nothing was done" in json.dumps(ack)
    assert bot.emulator.state.rooms_created == 0
