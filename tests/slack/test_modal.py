"""The modal: opened from `/room` and the shortcut, validated like the text command."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

import pytest

from bot.local.dev_cli import CHANNEL, ME, TEAM, LocalBot
from bot.slack.modal import CALLBACK_ID
from tests.slack.conftest import interaction_body


async def open_modal(bot: LocalBot) -> dict[str, Any]:
    ack = await bot.command("/room")
    assert ack == {}  # an empty ack: the modal opens instead of a message
    opened = await bot.slack.wait_for(lambda s: s.views[-1] if s.views else None)
    return opened.view if hasattr(opened, "view") else opened


def submission(
    view: dict[str, Any],
    values: dict[str, Any],
    *,
    user: str = ME[0],
    channel: str = CHANNEL,
    bot: LocalBot,
) -> str:
    state = {
        "title": {"text": {"type": "plain_text_input", "value": values.get("title")}},
        "when": {"text": {"type": "plain_text_input", "value": values.get("when")}},
        "start": {"at": {"type": "datetimepicker", "selected_date_time": values.get("start")}},
        "end": {"at": {"type": "datetimepicker", "selected_date_time": values.get("end")}},
        "presenters": {
            "users": {"type": "multi_users_select", "selected_users": values.get("presenters", [])}
        },
        "attendees": {
            "users": {"type": "multi_users_select", "selected_users": values.get("attendees", [])}
        },
        "collaborators": {"users": {"type": "multi_users_select", "selected_users": []}},
        "consumers": {"users": {"type": "multi_users_select", "selected_users": []}},
        "dial_out": {
            "enabled": {
                "type": "checkboxes",
                "selected_options": [{"value": "on"}] if values.get("dial_out") else [],
            }
        },
        "post_to": {"channel": {"type": "conversations_select", "selected_conversation": channel}},
    }
    payload = {
        "type": "view_submission",
        "team": {"id": TEAM, "domain": "local"},
        "user": {"id": user, "team_id": TEAM},
        "api_app_id": "A0LOCAL",
        "trigger_id": bot.slack.issue_trigger_id(),
        "view": {**view, "id": "V0TEST", "team_id": TEAM, "state": {"values": state}},
        "response_urls": [
            {
                "block_id": "post_to",
                "action_id": "channel",
                "channel_id": channel,
                "response_url": bot.slack.new_response_url(channel, user),
            }
        ],
    }
    return interaction_body(payload)


async def test_modal_open_then_errors_then_a_valid_room(bot: LocalBot) -> None:
    view = await open_modal(bot)
    assert view["callback_id"] == CALLBACK_ID
    block_ids = {block.get("block_id") for block in view["blocks"]}
    assert {"when", "start", "end", "presenters", "attendees", "dial_out", "post_to"} <= block_ids
    post_to = next(b for b in view["blocks"] if b.get("block_id") == "post_to")
    assert post_to["element"]["default_to_current_conversation"] is True
    assert post_to["element"]["response_url_enabled"] is True

    refused = await bot.post_signed(
        submission(view, {"when": "tomorrow 5pm - 9am"}, bot=bot),
        "application/x-www-form-urlencoded",
    )
    assert refused["response_action"] == "errors"
    assert set(refused["errors"]) == {"when"}
    assert "before" in refused["errors"]["when"]

    alice = bot.user("alice")
    accepted = await bot.post_signed(
        submission(
            view, {"when": "tomorrow 9am-5pm", "presenters": [alice], "dial_out": True}, bot=bot
        ),
        "application/x-www-form-urlencoded",
    )
    assert accepted == {}  # closes the modal
    await bot.settle()
    assert len(bot.slack.messages) == 1
    text = json.dumps(bot.slack.messages[0].blocks)
    assert f"<@{alice}>" in text
    assert "On" in text  # dial-out


async def test_modal_pickers_follow_the_same_rules(bot: LocalBot) -> None:
    view = await open_modal(bot)
    zone = ZoneInfo("Europe/London")
    start = datetime.now(zone).replace(second=0, microsecond=0) + timedelta(days=1)
    too_long = await bot.post_signed(
        submission(
            view,
            {
                "start": int(start.timestamp()),
                "end": int((start + timedelta(days=200)).timestamp()),
            },
            bot=bot,
        ),
        "application/x-www-form-urlencoded",
    )
    assert too_long["response_action"] == "errors"
    assert "180 days" in too_long["errors"]["end"]
    only_start = await bot.post_signed(
        submission(view, {"start": int(start.timestamp())}, bot=bot),
        "application/x-www-form-urlencoded",
    )
    assert only_start["errors"] == {"end": "Pick both a start and an end."}
    fine = await bot.post_signed(
        submission(
            view,
            {"start": int(start.timestamp()), "end": int((start + timedelta(hours=2)).timestamp())},
            bot=bot,
        ),
        "application/x-www-form-urlencoded",
    )
    assert fine == {}
    await bot.settle()
    record = (
        await bot.runtime.store.rooms.list_channel(TEAM, CHANNEL, now=bot.runtime.options.clock())
    )[0]
    assert record.valid_from == start
    assert record.valid_until == start + timedelta(hours=2)


@pytest.mark.parametrize(
    "tamper",
    [
        # private_metadata replaced by garbage
        lambda view: {**view, "private_metadata": "{not json"},
        # another view's callback id
        lambda view: {**view, "callback_id": "someone_elses_modal"},
        # values of the wrong types everywhere
        lambda view: {
            **view,
            "state": {"values": {"when": {"text": {"value": 42}}, "presenters": "U1"}},
        },
        # a block the form never had
        lambda view: {
            **view,
            "state": {"values": {**view["state"]["values"], "admin": {"x": {"value": "1"}}}},
        },
        # another team's user in a role list
        lambda view: {
            **view,
            "state": {
                "values": {
                    **view["state"]["values"],
                    "presenters": {
                        "users": {"type": "multi_users_select", "selected_users": ["not-a-user-id"]}
                    },
                }
            },
        },
    ],
)
async def test_forged_or_malformed_submissions_are_refused_cleanly(
    bot: LocalBot, tamper: Any
) -> None:
    view = await open_modal(bot)
    body = json.loads(parse_qs(submission(view, {"when": "tomorrow"}, bot=bot))["payload"][0])
    body["view"] = tamper(body["view"])
    answer = await bot.post_signed(interaction_body(body), "application/x-www-form-urlencoded")
    # Refused: errors shown in the form, or (for a view no one handles) 404 from Bolt.
    assert answer.get("response_action") == "errors" or answer.get("error") == "HTTP 404"
    await bot.settle()
    assert bot.slack.messages == []
    assert await bot.runtime.store.journal.pending_count() == 0


async def test_a_user_in_two_role_lists_is_refused(bot: LocalBot) -> None:
    view = await open_modal(bot)
    alice = bot.user("alice")
    answer = await bot.post_signed(
        submission(
            view, {"when": "tomorrow", "presenters": [alice], "attendees": [alice]}, bot=bot
        ),
        "application/x-www-form-urlencoded",
    )
    assert answer["response_action"] == "errors"
    assert "one role per person" in answer["errors"]["attendees"]


async def test_the_global_shortcut_opens_the_modal(bot: LocalBot) -> None:
    payload = {
        "type": "shortcut",
        "callback_id": "create_room",
        "team": {"id": TEAM, "domain": "local"},
        "user": {"id": ME[0], "team_id": TEAM},
        "trigger_id": bot.slack.issue_trigger_id(),
        "action_ts": "1",
    }
    answer = await bot.post_signed(interaction_body(payload), "application/x-www-form-urlencoded")
    assert answer == {}
    opened = await bot.slack.wait_for(lambda s: s.views[-1] if s.views else None)
    view = opened.view if hasattr(opened, "view") else opened
    assert view["callback_id"] == CALLBACK_ID


async def test_the_form_takes_a_title_which_heads_the_card(bot: LocalBot) -> None:
    """The form's Title field (raw text, as Slack sends inputs) becomes the room's title."""
    view = await open_modal(bot)
    title_block = next(b for b in view["blocks"] if b.get("block_id") == "title")
    assert title_block["element"]["max_length"] == 100
    when = next(b for b in view["blocks"] if b.get("block_id") == "when")
    assert "opens now for an hour" in when["hint"]["text"]
    accepted = await bot.post_signed(
        submission(view, {"title": "  Q&A   with <leads> ", "when": "tomorrow 9am-5pm"}, bot=bot),
        "application/x-www-form-urlencoded",
    )
    assert accepted == {}
    await bot.settle()
    header = bot.slack.messages[-1].blocks[0]
    assert header == {"type": "header", "text": {"type": "plain_text", "text": "Q&A with <leads>"}}
