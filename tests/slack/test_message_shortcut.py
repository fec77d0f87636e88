"""The message shortcut "Create a room with these people", end to end over HTTP: the form opens
prefilled with the message's people, bots left out, the thread's repliers added only when the
token may read history; submitted, it makes the room with them."""

from __future__ import annotations

import json
from typing import Any

from bot.local.dev_cli import ME, LocalBot
from bot.local.fake_slack import BOT_USER_ID, HISTORY_MANIFEST_SCOPES, View
from bot.slack.shortcut import CALLBACK_ID, message_people
from tests.slack.conftest import interaction_body
from tests.slack.test_modal import submission


def _attendees(view: dict[str, Any]) -> list[str]:
    block = next(b for b in view["blocks"] if b.get("block_id") == "attendees")
    return list(block["element"].get("initial_users", []))


async def _press(bot: LocalBot, message: Any) -> View:
    views = len(bot.slack.views)
    payload = bot.slack.ext.message_action(CALLBACK_ID, message, user=ME[0])
    ack = await bot.post_signed(interaction_body(payload), "application/x-www-form-urlencoded")
    assert ack == {}
    view = await bot.slack.wait_for(
        lambda fake: fake.views[views] if len(fake.views) > views else None
    )
    await bot.runtime.worker.drain(within=10.0)  # the slow part: bots out, repliers in
    return view


def _people(bot: LocalBot) -> tuple[str, str, str, str, str]:
    alice, bob, carol, dave = (bot.user(n) for n in ("alice", "bob", "carol", "dave"))
    bot.slack.add_user("U0HELPBOT", "helpbot", is_bot=True)
    bot.slack.add_user("U0GUEST", "guest", team_id="T0OTHER")  # a Slack Connect guest
    return alice, bob, carol, dave, "U0HELPBOT"


def _message(bot: LocalBot) -> Any:
    alice, bob, carol, dave, helper = _people(bot)
    rich = [
        {
            "type": "rich_text",
            "elements": [
                {
                    "type": "rich_text_section",
                    "elements": [
                        {"type": "text", "text": "and "},
                        {"type": "user", "user_id": carol},
                    ],
                }
            ],
        }
    ]
    message = bot.slack.ext.post_as(
        alice,
        f"Review with <@{bob}|bob>, <@{helper}>, <@U0GUEST> and <@{BOT_USER_ID}>; "
        f"<@{ME[0]}> decides",
        blocks=rich,
    )
    bot.slack.ext.post_as(dave, "count me in", thread_ts=message.ts)
    bot.slack.ext.post_as(helper, "beep", thread_ts=message.ts).bot_id = "B0HELP"
    return message


async def test_the_form_opens_with_the_messages_people_and_no_bots(bot: LocalBot) -> None:
    message = _message(bot)
    alice, bob, carol, dave = (bot.user(n) for n in ("alice", "bob", "carol", "dave"))
    view = await _press(bot, message)
    # Opened at once with what the message says: not roombot, not the presser (presenter).
    (first,) = view.history  # opened once, then updated once
    assert _attendees(first) == [alice, bob, "U0HELPBOT", "U0GUEST", carol]
    # Then refined: the bot and the other workspace's guest are left out. Without the
    # history scope, no repliers (dave).
    assert _attendees(view.view) == [alice, bob, carol]
    replies = bot.slack.calls_to("conversations.replies")
    assert [c.error for c in replies] == ["missing_scope"]
    # The trigger was used before any slow look-up: views.open precedes them all.
    methods = [c.method for c in bot.slack.calls]
    opened = methods.index("views.open")
    assert "conversations.replies" not in methods[:opened]
    looked_up = [c.params.get("user") for c in bot.slack.calls[:opened] if c.method == "users.info"]
    assert set(looked_up) <= {ME[0]}  # only the presser's zone, for the form's hint

    # Submitted as prefilled, the room has those people as attendees.
    accepted = await bot.post_signed(
        submission(
            view.view, {"when": "tomorrow 9am-5pm", "attendees": _attendees(view.view)}, bot=bot
        ),
        "application/x-www-form-urlencoded",
    )
    assert accepted == {}
    await bot.settle()
    card = json.dumps(bot.slack.messages[-1].blocks)
    for person in (alice, bob, carol):
        assert f"<@{person}>" in card
    assert dave not in card
    assert "U0HELPBOT" not in card


async def test_thread_repliers_join_when_history_may_be_read(bot: LocalBot) -> None:
    bot.slack.scopes = HISTORY_MANIFEST_SCOPES
    message = _message(bot)
    alice, bob, carol, dave = (bot.user(n) for n in ("alice", "bob", "carol", "dave"))
    view = await _press(bot, message)
    assert _attendees(view.view) == [alice, bob, carol, dave]
    (replies,) = bot.slack.calls_to("conversations.replies")
    assert replies.ok
    assert replies.params["ts"] == message.ts


def test_people_of_a_message() -> None:
    message = {
        "user": "U1",
        "text": "hi <@U2|bob> <@W3> <!here> <#C1> <@U2>",
        "blocks": [{"type": "rich_text", "elements": [{"type": "user", "user_id": "U4"}]}],
    }
    assert message_people(message) == ["U1", "U2", "W3", "U4"]
    assert message_people({**message, "bot_id": "B1"}) == ["U2", "W3", "U4"]  # a bot's post
