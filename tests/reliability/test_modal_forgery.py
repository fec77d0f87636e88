"""Modal submissions that are malformed or forged are refused cleanly: errors in the form (or
a silent ack for another workspace), never a 5xx, and nothing journalled, made or posted.

tests/slack/test_modal.py::test_forged_or_malformed_submissions_are_refused_cleanly covers
garbage private_metadata, another view's callback id, wrong types, an unknown block and a
user id that is not one; this adds other teams' ids, values out of range, shapes Slack never
sends, and response_urls aimed elsewhere.
"""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp import web

from tests.reliability.harness import CHANNEL, ME, TEAM, Ack, Bot

Payload = dict[str, Any]


async def open_form(bot: Bot) -> dict[str, Any]:
    ack = await bot.command("")
    assert ack.status == 200
    opened = await bot.slack.wait_for(lambda s: s.views[-1] if s.views else None)
    view: dict[str, Any] = opened.view
    return view


def valid_submission(bot: Bot, view: dict[str, Any]) -> Payload:
    """What Slack sends when ME fills in the form properly (a room tomorrow, alice presenting)."""
    values = {
        "when": {"text": {"type": "plain_text_input", "value": "tomorrow 9am-5pm"}},
        "start": {"at": {"type": "datetimepicker", "selected_date_time": None}},
        "end": {"at": {"type": "datetimepicker", "selected_date_time": None}},
        "presenters": {"users": {"type": "multi_users_select", "selected_users": ["U0ALICE"]}},
        "attendees": {"users": {"type": "multi_users_select", "selected_users": []}},
        "collaborators": {"users": {"type": "multi_users_select", "selected_users": []}},
        "consumers": {"users": {"type": "multi_users_select", "selected_users": []}},
        "dial_out": {"enabled": {"type": "checkboxes", "selected_options": []}},
        "post_to": {"channel": {"type": "conversations_select", "selected_conversation": CHANNEL}},
    }
    return {
        "type": "view_submission",
        "team": {"id": TEAM, "domain": "local"},
        "user": {"id": ME, "team_id": TEAM, "name": "you"},
        "api_app_id": "A0LOCAL",
        "trigger_id": bot.slack.issue_trigger_id(),
        "view": {**view, "id": "V0FORM", "team_id": TEAM, "state": {"values": values}},
        "response_urls": [
            {
                "block_id": "post_to",
                "action_id": "channel",
                "channel_id": CHANNEL,
                "response_url": bot.slack.new_response_url(CHANNEL, ME),
            }
        ],
    }


async def submit(bot: Bot, payload: Payload) -> Ack:
    return await bot.post_signed(urlencode({"payload": json.dumps(payload)}))


def value(block: str, key: str, new: Any) -> Callable[[Payload], None]:
    """Set the submitted *key* of *block* to *new*."""

    def tamper(payload: Payload) -> None:
        action = next(iter(payload["view"]["state"]["values"][block].values()))
        action[key] = new

    return tamper


def at(path: str, new: Any) -> Callable[[Payload], None]:
    """Set the dotted *path* of the payload to *new*."""

    def tamper(payload: Payload) -> None:
        *parents, last = path.split(".")
        node = payload
        for name in parents:
            node = node[name]
        node[last] = new

    return tamper


def both(*tampers: Callable[[Payload], None]) -> Callable[[Payload], None]:
    def tamper(payload: Payload) -> None:
        for each in tampers:
            each(payload)

    return tamper


def pickers(start: Any, end: Any) -> Callable[[Payload], None]:
    """The When text cleared and the start and end pickers set to *start* and *end*."""
    return both(
        value("when", "value", None),
        value("start", "selected_date_time", start),
        value("end", "selected_date_time", end),
    )


UNKNOWN_ZONE = '{"tz": "Mars/Olympus", "locale": "en-US", "channel": "C0LOCAL"}'
A_THOUSAND = [f"U{n:08d}" for n in range(1000)]
TWO_ACTIONS = {"a": {"value": "x"}, "b": {"value": "y"}}

TAMPERS: list[tuple[str, Callable[[Payload], None]]] = [
    # --- another workspace's ids ---
    ("another-team", at("team.id", "T0OTHER")),
    ("another-team-user", both(at("user.team_id", "T0OTHER"), at("team.id", "T0OTHER"))),
    # --- values out of range ---
    ("start-in-year-33658", pickers(10**12, 10**12 + 3600)),  # datetime raised: 500
    ("start-before-1970", pickers(-(10**11), 0)),  # likewise
    ("end-before-start", pickers(4_000_000_000, 3_999_000_000)),
    ("a-thousand-presenters", value("presenters", "selected_users", A_THOUSAND)),
    ("a-huge-when", value("when", "value", "tomorrow " * 5000)),
    ("when-with-nul", value("when", "value", "tomorrow\x00 9am")),
    ("private-metadata-unknown-zone", at("view.private_metadata", UNKNOWN_ZONE)),
    ("private-metadata-a-list", at("view.private_metadata", "[1, 2]")),
    ("private-metadata-huge", at("view.private_metadata", "x" * 100_000)),
    # --- wrong types and shapes Slack never sends ---
    ("values-a-list", at("view.state.values", [1, 2])),
    ("state-a-string", at("view.state", "values")),
    ("view-a-string", at("view", "modal")),  # Bolt raised reading it: 500
    ("view-missing", lambda payload: payload.pop("view")),
    ("user-a-string", at("user", "U0YOU")),  # the listener raised: 500
    ("team-a-list", at("team", [TEAM])),
    ("start-a-string", pickers("1700000000", 1700003600)),
    ("start-a-float", pickers(1.7e9, 1.7e9 + 3600)),
    ("start-a-bool", pickers(True, 1700003600)),
    ("conversation-an-object", value("post_to", "selected_conversation", {"id": CHANNEL})),
    ("conversation-not-a-channel", value("post_to", "selected_conversation", "U0YOU")),
    ("dial-out-options-strings", value("dial_out", "selected_options", ["on"])),
    ("block-with-two-actions", at("view.state.values.when", TWO_ACTIONS)),
    ("response-urls-an-object", at("response_urls", {"channel_id": CHANNEL})),  # Bolt: 500
]


@pytest.mark.parametrize(("name", "tamper"), TAMPERS, ids=[name for name, _ in TAMPERS])
async def test_forged_or_malformed_submissions_are_refused_cleanly(
    bot: Bot, name: str, tamper: Callable[[Payload], None]
) -> None:
    view = await open_form(bot)
    payload = valid_submission(bot, view)
    tamper(payload)
    ack = await submit(bot, payload)
    assert ack.status < 500, (name, ack)
    await bot.settle()
    entries = await bot.journal()
    if ack.body.get("response_action") == "errors":
        assert ack.body["errors"], ack
        assert all(isinstance(m, str) and m.strip() for m in ack.body["errors"].values())
        assert entries == []
    else:
        # Accepted shapes must still end in a clear answer, not a room out of range.
        assert ack.body == {} or 400 <= ack.status < 500, (name, ack)
        for entry in entries:
            assert entry.answered_at is not None, entry
    # Nothing shaped like the tampering reached ACS.
    for room in bot.emulator.state.rooms.values():
        assert len(room.participants) <= 250
        assert (room.valid_until - room.valid_from).days <= 180
    assert not [c for c in bot.slack.calls if c.status >= 500]


async def test_a_submission_for_another_workspace_changes_nothing(bot: Bot) -> None:
    view = await open_form(bot)
    payload = valid_submission(bot, view)
    payload["team"]["id"] = "T0OTHER"
    payload["user"]["team_id"] = "T0OTHER"
    payload["view"]["team_id"] = "T0OTHER"
    ack = await submit(bot, payload)
    assert ack.status == 200
    await bot.settle()
    assert await bot.journal() == []
    assert bot.emulator.state.rooms_created == 0


async def test_a_guests_user_team_does_not_become_the_rooms_team(bot: Bot) -> None:
    """`user.team_id` may differ from `team.id` (a guest from a connected workspace): the
    room still belongs to the workspace the bot serves, so its own people can manage it."""
    view = await open_form(bot)
    payload = valid_submission(bot, view)
    payload["user"]["team_id"] = "T0GUEST"
    ack = await submit(bot, payload)
    assert ack.body == {}
    await bot.settle()
    entries = await bot.journal()
    assert [e.team_id for e in entries] == [TEAM]


@pytest.fixture(name="elsewhere")
async def _elsewhere() -> AsyncIterator[tuple[str, list[str]]]:
    """A server that is not Slack, recording whatever is posted to it."""
    received: list[str] = []

    async def record(request: web.Request) -> web.Response:
        received.append(await request.text())
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/{tail:.*}", record)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/hooks/steal", received
    finally:
        await runner.cleanup()


async def test_a_response_url_aimed_elsewhere_is_never_posted_to(
    bot: Bot, elsewhere: tuple[str, list[str]]
) -> None:
    url, received = elsewhere
    view = await open_form(bot)
    payload = valid_submission(bot, view)
    payload["response_urls"][0]["response_url"] = url
    # And a refusal that would be answered there: a window that is over already.
    refused = copy.deepcopy(payload)
    refused["view"]["state"]["values"]["when"]["text"]["value"] = "yesterday 9am-5pm"
    await submit(bot, payload)
    await submit(bot, refused)
    await bot.settle()
    assert received == []
    assert len(bot.slack.channel_messages(CHANNEL)) == 1  # the room, posted through Slack
