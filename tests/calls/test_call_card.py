"""A room's native Slack call, end to end over HTTP: the bot, the fake Slack's Calls API and
the emulator sending ACS's calling events to `/acs/events` as Event Grid would."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest

from bot.local.fake_slack_calls import FakeCall
from tests.join.helpers import ALICE, BOB, create_room
from tests.reliability.harness import ME, Bot, eventually, running_bot

SECRET = "calls-test-secret-0123456789"


@pytest.fixture(name="bot")
async def _bot(sqlite_url: str) -> AsyncIterator[Bot]:
    async with running_bot(sqlite_url, join="public", events_secret=SECRET) as running:
        yield running


def base(bot: Bot) -> str:
    return f"http://127.0.0.1:{urlsplit(bot.events_url).port}"


def emulator_url(bot: Bot) -> str:
    return bot.emulator.endpoint.rstrip("/")


def the_call(bot: Bot, room_id: str) -> FakeCall:
    calls = bot.slack.slack_calls.by_external_id(room_id)
    assert len(calls) == 1, calls
    return calls[0]


def card_text(bot: Bot) -> str:
    return bot.slack.render_text(bot.slack.channel_messages()[-1])


async def raw_ids(bot: Bot, room_id: str) -> dict[str, str]:
    room = await bot.runtime.store.rooms.get(room_id)
    assert room is not None
    return {p.slack_user_id: p.acs_raw_id for p in room.participants}


async def people(bot: Bot, room_id: str, verb: str, user: str, name: str = "") -> Any:
    """Someone joins or leaves the room's call, through the emulator's admin endpoint."""
    url = f"{emulator_url(bot)}/_emulator/calls/{room_id}/{verb}"
    async with bot.http.post(url, json={"user": user, "displayName": name}) as response:
        assert response.status == 200, await response.text()
        return await response.json()


async def post_events(bot: Bot, events: Any, *, secret: str | None = SECRET) -> tuple[int, Any]:
    query = f"?secret={secret}" if secret is not None else ""
    async with bot.http.post(f"{base(bot)}/acs/events{query}", json=events) as response:
        return response.status, await response.json()


async def test_a_new_room_is_a_slack_call_and_its_card_carries_the_call(bot: Bot) -> None:
    room_id = await create_room(bot)
    call = the_call(bot, room_id)
    assert call.join_url == f"http://localhost:{urlsplit(bot.events_url).port}/rooms/{room_id}"
    assert call.created_by == ME
    assert call.title == f"Room {room_id}"
    room = await bot.runtime.store.rooms.get(room_id)
    assert room is not None
    assert call.date_start == int(room.valid_from.timestamp())
    card = bot.slack.messages[-1]
    assert {"type": "call", "call_id": call.id} in card.blocks
    # The call block sits above the buttons, which stay last.
    assert card.blocks[-1]["type"] == "actions"
    assert len(bot.slack.calls_to("calls.add")) == 1

    await bot.command(f'rename {room_id} "Design review"')
    await bot.settle()
    assert call.title == "Design review"
    assert [kind for kind, _ in call.history] == ["update"]

    await bot.command(f"delete {room_id}")
    await bot.settle()
    assert call.ended
    assert not any(b.get("type") == "call" for b in bot.slack.messages[-1].blocks)


async def test_who_is_in_the_call_shows_in_slack_and_on_the_card(bot: Bot) -> None:
    room_id = await create_room(bot)
    call = the_call(bot, room_id)
    ids = await raw_ids(bot, room_id)
    await eventually(
        lambda: bot.emulator.events and bot.emulator.events.validated, what="handshake"
    )

    await people(bot, room_id, "join", ids[ALICE], "Alice")
    await people(bot, room_id, "join", ids[BOB], "Bob")
    await eventually(lambda: len(call.participants) == 2, what="two in the Slack call")
    assert call.participants == [{"slack_id": ALICE}, {"slack_id": BOB}]
    await eventually(lambda: "2 in the call: @alice, @bob" in card_text(bot), what="card")

    await people(bot, room_id, "leave", ids[ALICE])
    await eventually(lambda: call.participants == [{"slack_id": BOB}], what="Alice left")
    await eventually(lambda: "1 in the call: @bob" in card_text(bot), what="card")

    await people(bot, room_id, "leave", ids[BOB])
    await eventually(lambda: call.participants == [], what="everyone left")
    await eventually(lambda: "Call ended" in card_text(bot), what="card")
    assert ", 0 min" in card_text(bot)
    assert not call.ended  # the room is still open: people may call again


async def test_redelivered_and_reordered_events_tell_slack_once(bot: Bot) -> None:
    room_id = await create_room(bot)
    call = the_call(bot, room_id)
    ids = await raw_ids(bot, room_id)
    emulator = bot.emulator.events
    assert emulator is not None
    made = (await people(bot, room_id, "join", ids[ALICE], "Alice"))["events"]
    made += (await people(bot, room_id, "join", ids[BOB], "Bob"))["events"]
    made += (await people(bot, room_id, "leave", ids[BOB]))["events"]
    await emulator.idle()
    adds = len(bot.slack.calls_to("calls.participants.add"))
    removes = len(bot.slack.calls_to("calls.participants.remove"))
    assert (adds, removes) == (2, 1)
    # Event Grid delivers again, in another order and in other batches.
    for batch in ([*reversed(made)], made[:2], made):
        status, answer = await post_events(bot, batch)
        assert status == 200, answer
        assert answer["changed"] == 0
    assert len(bot.slack.calls_to("calls.participants.add")) == adds
    assert len(bot.slack.calls_to("calls.participants.remove")) == removes
    assert call.participants == [{"slack_id": ALICE}]
    assert "1 in the call: @alice" in card_text(bot)


async def test_a_guest_unknown_to_roombot_is_shown_by_name(bot: Bot) -> None:
    room_id = await create_room(bot)
    call = the_call(bot, room_id)
    guest = "8:acs:guest_0001"
    bot.emulator.state.rooms[room_id].participants[guest] = next(
        iter(bot.emulator.state.rooms[room_id].participants.values())
    )
    await people(bot, room_id, "join", guest, "Dana (guest)")
    await eventually(lambda: call.participants != [], what="the guest in the Slack call")
    assert call.participants == [{"external_id": guest, "display_name": "Dana (guest)"}]
    await eventually(lambda: "1 in the call: Dana (guest)" in card_text(bot), what="card")


async def test_the_webhook_checks_the_secret_and_answers_the_handshake(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    handshake = [
        {
            "id": "2d1781af-3a4c-4d7c-bd0c-e34b19da4e66",
            "topic": "/subscriptions/x",
            "subject": "",
            "data": {"validationCode": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"},
            "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
            "eventTime": "2026-12-02T17:02:38.6905856Z",
            "metadataVersion": "1",
            "dataVersion": "2",
        }
    ]
    status, answer = await post_events(bot, handshake)
    assert (status, answer) == (200, {"validationResponse": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"})
    for wrong in (None, "", "calls-test-secret-0123456780"):
        status, answer = await post_events(bot, handshake, secret=wrong)
        assert status == 401
        assert answer["error"]["code"] == "unauthorized"
    async with bot.http.post(
        f"{base(bot)}/acs/events", json=handshake, headers={"X-Roombot-Events-Secret": SECRET}
    ) as response:
        assert response.status == 200
    status, answer = await post_events(bot, "hello")
    assert status == 400
    assert "expected a JSON array of Event Grid events" in answer["error"]["message"]
    status, answer = await post_events(
        bot,
        [
            {
                "id": "e1",
                "eventType": "Microsoft.Communication.CallStarted",
                "eventTime": "yesterday",
                "data": {"room": {"id": "99000000000000001"}},
            }
        ],
    )
    assert status == 400
    assert "eventTime" in answer["error"]["message"]
    assert "2026-12-02T17:02:38" in answer["error"]["message"]  # an example that works
    assert SECRET not in caplog.text


async def test_a_room_that_closes_ends_its_slack_call(bot: Bot) -> None:
    room_id = await create_room(bot, "now for 1 hour")
    call = the_call(bot, room_id)
    presence = bot.runtime.call_presence
    assert presence is not None
    assert await presence.end_closed() == 0
    bot.clock.advance(timedelta(hours=1, minutes=1))
    assert await presence.end_closed() == 1
    assert call.ended
    assert await presence.end_closed() == 0


async def test_without_calls_write_the_card_is_posted_without_a_call(sqlite_url: str) -> None:
    from bot.local.fake_slack import DEFAULT_SCOPES

    scopes = [s for s in DEFAULT_SCOPES if s != "calls:write"]
    async with running_bot(sqlite_url, join="public", scopes=scopes) as bot:
        room_id = await create_room(bot)
        assert bot.slack.slack_calls.by_external_id(room_id) == []
        assert not any(b.get("type") == "call" for b in bot.slack.messages[-1].blocks)
        assert [c.error for c in bot.slack.calls_to("calls.add")] == ["missing_scope"]


async def test_without_a_public_url_there_is_no_call_and_no_webhook(sqlite_url: str) -> None:
    async with running_bot(sqlite_url, join="external", events_secret=SECRET) as bot:
        await create_room(bot)
        assert bot.slack.calls_to("calls.add") == []
        async with aiohttp.ClientSession() as http:
            url = f"{base(bot)}/acs/events?secret={SECRET}"
            async with http.post(url, data=json.dumps([])) as response:
                assert response.status in (404, 405)


async def test_admitting_a_knock_keeps_the_call_on_the_card(bot: Bot) -> None:
    from bot.slack import join_blocks
    from tests.join.helpers import CAROL, press_join
    from tests.join.test_knock import answer, asks

    room_id = await create_room(bot)
    call = the_call(bot, room_id)
    await press_join(bot, room_id, user=CAROL)
    await answer(bot, asks(bot, ALICE)[0], join_blocks.ACTION_ADMIT, user=ALICE)
    card = bot.slack.channel_messages()[-1]
    assert f"<@{CAROL}>" in json.dumps(card.blocks)  # the card lists her now
    assert {"type": "call", "call_id": call.id} in card.blocks


async def test_on_postgresql_concurrent_redeliveries_tell_slack_once(postgres_url: str) -> None:
    """Event Grid may deliver the same batch to several replicas at once: one change stands."""
    async with running_bot(postgres_url, join="public", events_secret=SECRET) as bot:
        room_id = await create_room(bot)
        call = the_call(bot, room_id)
        ids = await raw_ids(bot, room_id)
        assert bot.emulator.events is not None
        made = (await people(bot, room_id, "join", ids[ALICE], "Alice"))["events"]
        await bot.emulator.events.idle()
        # Bob joins too; ACS's event for it comes to four replicas at once.
        bob = json.loads(json.dumps(made[-1]).replace(ids[ALICE], ids[BOB]))
        bob["id"], bob["data"]["displayName"] = "bob-joined", "Bob"
        # a second later than Alice: the card names people in the order they joined
        joined = datetime.fromisoformat(bob["eventTime"]) + timedelta(seconds=1)
        bob["eventTime"] = joined.isoformat()
        results = await asyncio.gather(*(post_events(bot, [bob]) for _ in range(4)))
        assert all(status == 200 for status, _ in results), results
        assert sum(answer["changed"] for _, answer in results) == 1
        assert call.participants == [{"slack_id": ALICE}, {"slack_id": BOB}]
        assert len(bot.slack.calls_to("calls.participants.add")) == 2
        assert "2 in the call: @alice, @bob" in card_text(bot)


async def test_a_call_event_redraws_the_card_with_the_headline_it_had(bot: Bot) -> None:
    room_id = await create_room(bot)
    call = the_call(bot, room_id)
    ids = await raw_ids(bot, room_id)
    await bot.command(f"extend {room_id} by 1 day", user=ALICE)
    await bot.settle()
    extended = f"*Room extended* by <@{ALICE}>"
    assert extended in json.dumps(bot.slack.channel_messages()[-1].blocks)
    assert bot.emulator.events is not None
    await people(bot, room_id, "join", ids[BOB], "Bob")
    await bot.emulator.events.idle()
    await eventually(lambda: call.participants == [{"slack_id": BOB}], what="Bob in the call")
    card = bot.slack.channel_messages()[-1]
    assert "1 in the call: @bob" in bot.slack.render_text(card)
    assert extended in json.dumps(card.blocks)  # not "Room ready" again
    assert "Room ready" not in json.dumps(card.blocks)


def call_blocks(bot: Bot) -> list[str]:
    """The call ids of every `call` block in the channel's messages."""
    return [
        block["call_id"]
        for message in bot.slack.channel_messages()
        for block in message.blocks
        if block.get("type") == "call"
    ]


async def test_a_lost_calls_add_answer_leaves_one_call_on_the_card(bot: Bot) -> None:
    """Slack registered the call but its answer never came (as after a crash between
    `calls.add` and recording it): the retry registers a second; the card shows only that."""
    bot.slack.lose_next_response("calls.add")
    room_id = await create_room(bot)
    added = bot.slack.slack_calls.by_external_id(room_id)
    assert len(added) == 2  # Slack has no idempotency for calls.add: the first is an orphan
    recorded = await bot.runtime.store.calls.get(room_id)
    assert recorded is not None
    orphan, kept = added
    assert kept.id == recorded.slack_call_id
    assert call_blocks(bot) == [kept.id]  # exactly one call on the card, the recorded one
    assert orphan.id not in json.dumps([m.blocks for m in bot.slack.messages])


async def test_a_call_registered_twice_at_once_keeps_one_and_ends_the_other(
    bot: Bot,
) -> None:
    """Two answers (two replicas) register a room's call at once: one record wins, and the
    call of the other, which roombot knows the id of, is ended rather than left orphaned."""
    bot.slack.fail_next("calls.add", error="not_authorized")  # the card goes without a call
    room_id = await create_room(bot)
    assert call_blocks(bot) == []
    cards = bot.runtime.calls
    room = await bot.runtime.store.rooms.get(room_id)
    assert cards is not None
    assert room is not None
    drawn = await asyncio.gather(
        *(cards.for_card(room, [], verb="rename", created_by=ME) for _ in range(2))
    )
    recorded = await bot.runtime.store.calls.get(room_id)
    assert recorded is not None
    added = bot.slack.slack_calls.by_external_id(room_id)
    assert len(added) == 2
    assert {c.id: c.ended for c in added} == {c.id: c.id != recorded.slack_call_id for c in added}
    for blocks_drawn in drawn:
        assert [b["call_id"] for b in blocks_drawn if b["type"] == "call"] == [
            recorded.slack_call_id
        ]
