"""The interactivity payloads Slack sends when a person presses a button or submits a modal.

Shaped as Slack documents them (`block_actions`, `view_submission`, `view_closed`), with the
ids this local workspace uses, so the bot reads them through exactly the code that reads
Slack's. Each gets a fresh trigger id, and a response_url where Slack would mint one.
"""

from __future__ import annotations

import copy
import json
import time
from typing import Any
from urllib.parse import urlencode

from bot.local.fake_slack import Ephemeral, FakeSlack, Message, View

APP_ID = "A0LOCAL"


def form_body(payload: dict[str, Any]) -> str:
    """Slack's interactivity request body: the payload as JSON in one form field."""

    return urlencode({"payload": json.dumps(payload)})


def _user(slack: FakeSlack, user_id: str) -> dict[str, Any]:
    user = slack.users.get(user_id)
    name = user.name if user is not None else user_id
    return {"id": user_id, "username": name, "name": name, "team_id": slack.team_id}


def _team(slack: FakeSlack) -> dict[str, Any]:
    return {"id": slack.team_id, "domain": "local"}


def block_actions(
    slack: FakeSlack,
    posted: Message | Ephemeral,
    button: dict[str, Any],
    *,
    block_id: str,
    user_id: str,
) -> dict[str, Any]:
    """A press of *button* (a block element) in *posted*, by *user_id*."""
    channel = slack.channels[posted.channel]
    ephemeral = isinstance(posted, Ephemeral)
    action = {
        "type": "button",
        "action_id": button.get("action_id", ""),
        "block_id": block_id,
        "text": copy.deepcopy(button.get("text") or {}),
        "action_ts": f"{time.time():.6f}",
    }
    for key in ("value", "style", "url", "confirm"):
        if key in button:
            action[key] = copy.deepcopy(button[key])
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": _user(slack, user_id),
        "api_app_id": APP_ID,
        "token": "legacy-unused",
        "container": {
            "type": "message",
            "message_ts": posted.ts,
            "channel_id": posted.channel,
            "is_ephemeral": ephemeral,
        },
        "trigger_id": slack.issue_trigger_id(user_id=user_id),
        "team": _team(slack),
        "is_enterprise_install": False,
        "channel": {"id": channel.id, "name": channel.name},
        "state": {"values": {}},
        "response_url": slack.new_response_url(posted.channel, user_id, message_ts=posted.ts),
        "actions": [action],
    }
    if isinstance(posted, Message):  # Slack sends the message itself only for one everybody can see
        payload["message"] = {
            "type": "message",
            "user": posted.user,
            "bot_id": posted.bot_id,
            "text": posted.text,
            "ts": posted.ts,
            "blocks": copy.deepcopy(posted.blocks),
        }
    return payload


def _view(slack: FakeSlack, view: View, values: dict[str, Any] | None) -> dict[str, Any]:
    body = copy.deepcopy(view.view)
    body.update(
        {
            "id": view.id,
            "team_id": slack.team_id,
            "app_id": APP_ID,
            "hash": view.hash,
            "root_view_id": view.root_view_id,
            "previous_view_id": view.previous_view_id,
            "private_metadata": view.view.get("private_metadata", ""),
            "callback_id": view.view.get("callback_id", ""),
            "state": {"values": values or {}},
        }
    )
    return body


def view_submission(
    slack: FakeSlack,
    view: View,
    values: dict[str, Any],
    *,
    user_id: str,
    response_urls: list[dict[str, Any]],
) -> dict[str, Any]:
    """The modal *view* submitted with *values* (`state.values`) by *user_id*."""
    return {
        "type": "view_submission",
        "team": _team(slack),
        "user": _user(slack, user_id),
        "api_app_id": APP_ID,
        "token": "legacy-unused",
        "trigger_id": slack.issue_trigger_id(user_id=user_id),
        "view": _view(slack, view, values),
        "response_urls": response_urls,
        "is_enterprise_install": False,
    }


def view_closed(slack: FakeSlack, view: View, *, user_id: str) -> dict[str, Any]:
    """The modal closed without submitting (sent only when it asked: `notify_on_close`)."""
    return {
        "type": "view_closed",
        "team": _team(slack),
        "user": _user(slack, user_id),
        "api_app_id": APP_ID,
        "token": "legacy-unused",
        "view": _view(slack, view, None),
        "is_cleared": False,
        "is_enterprise_install": False,
    }
