"""`/acs/events` with an Event Grid subscription in the CloudEvents 1.0 schema: the OPTIONS
handshake, single and batched deliveries, and the emulator sending CloudEvents end to end to
the fake Slack's Calls API and the card."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.calls.test_call_card import (
    SECRET,
    base,
    card_text,
    people,
    raw_ids,
    the_call,
)
from tests.join.helpers import ALICE, BOB, create_room
from tests.reliability.harness import Bot, eventually, running_bot

SINGLE = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"
ORIGIN = "eventgrid.azure.net"


@pytest.fixture(name="bot")
async def _bot(sqlite_url: str) -> AsyncIterator[Bot]:
    async with running_bot(
        sqlite_url, join="public", events_secret=SECRET, events_schema="cloudevents"
    ) as running:
        yield running


async def send(
    bot: Bot, body: Any, content_type: str, *, secret: str | None = SECRET
) -> tuple[int, Any]:
    query = f"?secret={secret}" if secret is not None else ""
    async with bot.http.post(
        f"{base(bot)}/acs/events{query}",
        data=json.dumps(body),
        headers={"Content-Type": content_type, "Origin": ORIGIN},
    ) as response:
        return response.status, await response.json()


def cloud_event(room_id: str, kind: str, **data: Any) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": f"ce-{kind}",
        "source": "/subscriptions/x/resourceGroups/y/providers/Microsoft.Communication/"
        "communicationServices/z",
        "subject": "call/abc",
        "type": f"Microsoft.Communication.{kind}",
        "time": "2026-12-02T17:02:38.6905856Z",
        "datacontenttype": "application/json",
        "data": {"room": {"id": room_id}, "serverCallId": "abc", **data},
    }


async def test_people_joining_and_leaving_show_in_slack_and_on_the_card(bot: Bot) -> None:
    room_id = await create_room(bot)
    call = the_call(bot, room_id)
    ids = await raw_ids(bot, room_id)
    emulator = bot.emulator.events
    assert emulator is not None
    await eventually(lambda: emulator.validated is not None, what="the OPTIONS handshake")
    assert emulator.validated

    made = (await people(bot, room_id, "join", ids[ALICE], "Alice"))["events"]
    assert [e["type"] for e in made] == [
        "Microsoft.Communication.CallStarted",
        "Microsoft.Communication.CallParticipantAdded",
    ]
    assert all(e["specversion"] == "1.0" and "eventType" not in e for e in made)
    await people(bot, room_id, "join", ids[BOB], "Bob")  # one event alone: not a batch
    await eventually(lambda: len(call.participants) == 2, what="two in the Slack call")
    assert call.participants == [{"slack_id": ALICE}, {"slack_id": BOB}]
    await eventually(lambda: "2 in the call: @alice, @bob" in card_text(bot), what="card")

    await people(bot, room_id, "leave", ids[ALICE])
    await people(bot, room_id, "leave", ids[BOB])
    await eventually(lambda: call.participants == [], what="everyone left")
    await eventually(lambda: "Call ended" in card_text(bot), what="card")
    await emulator.idle()
    assert emulator.delivered == 4
    assert len(bot.slack.calls_to("calls.participants.add")) == 2
    assert len(bot.slack.calls_to("calls.participants.remove")) == 2

    # Event Grid delivers again: as one event, and as a batch; nothing changes.
    for event in emulator.sent:
        status, answer = await send(bot, event, SINGLE)
        assert (status, answer["changed"]) == (200, 0), answer
    status, answer = await send(bot, emulator.sent, BATCH)
    assert (status, answer["events"], answer["changed"]) == (200, 6, 0), answer
    assert len(bot.slack.calls_to("calls.participants.add")) == 2


async def test_the_options_handshake_consents_only_with_the_secret(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    url = f"{base(bot)}/acs/events"
    asking = {"WebHook-Request-Origin": ORIGIN, "WebHook-Request-Rate": "120"}
    async with bot.http.options(f"{url}?secret={SECRET}", headers=asking) as response:
        assert response.status == 200
        assert response.headers["WebHook-Allowed-Origin"] == ORIGIN
        assert response.headers["WebHook-Allowed-Rate"] == "*"
        assert "POST" in response.headers["Allow"]
    async with bot.http.options(
        url, headers={**asking, "X-Roombot-Events-Secret": SECRET}
    ) as response:
        assert response.headers["WebHook-Allowed-Origin"] == ORIGIN
    for wrong in ("", "?secret=calls-test-secret-0123456780"):
        async with bot.http.options(url + wrong, headers=asking) as response:
            assert response.status == 401
            assert "WebHook-Allowed-Origin" not in response.headers
    async with bot.http.options(f"{url}?secret={SECRET}") as response:  # no origin asking
        assert response.status == 200
        assert "WebHook-Allowed-Origin" not in response.headers
    assert SECRET not in caplog.text


async def test_malformed_cloudevents_are_refused_with_what_was_wrong(bot: Bot) -> None:
    room_id = await create_room(bot)
    good = cloud_event(room_id, "CallStarted")
    status, answer = await send(bot, good, SINGLE, secret=None)
    assert status == 401

    cases: list[tuple[Any, str, str]] = [
        ([good], SINGLE, "is one CloudEvent, a JSON object"),
        (good, BATCH, "is a JSON array of CloudEvents"),
        ({**good, "specversion": "0.3"}, SINGLE, "`specversion` must be '1.0'"),
        ({k: v for k, v in good.items() if k != "source"}, SINGLE, "`source` is missing"),
        ([good, {**good, "id": ""}], BATCH, "`id` is missing"),
        ({**good, "time": "yesterday"}, SINGLE, "`time` must be an ISO 8601 time"),
        ({**good, "data": "x"}, SINGLE, "`data` must be an object"),
        ("hello", SINGLE, "is one CloudEvent"),
    ]
    for body, content_type, expected in cases:
        status, answer = await send(bot, body, content_type)
        assert status == 400, (body, answer)
        assert answer["error"]["code"] == "bad_events"
        assert expected in answer["error"]["message"], answer
    async with bot.http.post(
        f"{base(bot)}/acs/events?secret={SECRET}",
        data=b"{not json",
        headers={"Content-Type": SINGLE},
    ) as response:
        assert response.status == 400
    assert bot.slack.calls_to("calls.participants.add") == []

    status, answer = await send(bot, good, SINGLE)  # a well-formed one is taken
    assert (status, answer["events"], answer["changed"]) == (200, 1, 1)
    status, answer = await send(bot, [good], "application/json")  # labelled plainly
    assert (status, answer["events"], answer["changed"]) == (200, 1, 0)
