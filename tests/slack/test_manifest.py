"""manifest.yml is a valid Slack app manifest (v1) and asks for exactly what the bot needs;
manifest.history.yml, the optional variant, is valid too and adds only the history scopes
(and `im:write`, to find a reminder's DM).

Slack only validates a manifest when an admin pastes it, so a typo would surface at the worst
moment; the official schema catches it here instead.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from bot.local.fake_slack import DEFAULT_SCOPES, HISTORY_MANIFEST_SCOPES

ROOT = Path(__file__).resolve().parents[2]
MANIFEST_PATH = ROOT / "manifest.yml"
HISTORY_MANIFEST_PATH = ROOT / "manifest.history.yml"
EVENTS_URL = "https://YOUR-HOST/slack/events"
HISTORY_SCOPES = ["channels:history", "groups:history", "im:history", "mpim:history"]


def _load(path: Path) -> dict[str, Any]:
    loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture(name="manifest", scope="module")
def _manifest() -> dict[str, Any]:
    return _load(MANIFEST_PATH)


@pytest.fixture(name="history_manifest", scope="module")
def _history_manifest() -> dict[str, Any]:
    return _load(HISTORY_MANIFEST_PATH)


@pytest.fixture(name="validator", scope="module")
def _validator(data: Path) -> jsonschema.protocols.Validator:
    """The validator the schema itself asks for ($schema: draft-07), with formats checked.

    Its $refs all point inside the file (#/definitions/...), so no registry of remote
    documents is needed; a remote $ref would fail here rather than be fetched.
    """
    schema = json.loads((data / "specs" / "slack-app-manifest.schema.json").read_text())
    validator_class = jsonschema.validators.validator_for(schema)
    assert validator_class is jsonschema.Draft7Validator
    validator_class.check_schema(schema)
    return validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)


def _errors(validator: jsonschema.protocols.Validator, instance: Any) -> list[str]:
    found = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    return [f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}" for e in found]


@pytest.mark.parametrize("path", [MANIFEST_PATH, HISTORY_MANIFEST_PATH], ids=lambda p: p.name)
def test_manifest_is_valid_against_slacks_schema(
    path: Path, validator: jsonschema.protocols.Validator
) -> None:
    assert _errors(validator, _load(path)) == []


@pytest.mark.parametrize(
    ("path", "value"),
    [
        # a misspelt key is refused (additionalProperties: false)
        (("features", "slash_commands", 0, "shoud_escape"), True),
        # a type error is refused
        (("features", "slash_commands", 0, "should_escape"), "yes"),
        # a command must start with a slash
        (("features", "slash_commands", 0, "command"), "room"),
        # shortcut names are at most 24 characters
        (("features", "shortcuts", 0, "name"), "Create a room for my whole team"),
    ],
)
def test_the_schema_really_checks_the_manifest(
    manifest: dict[str, Any],
    validator: jsonschema.protocols.Validator,
    path: tuple[str | int, ...],
    value: Any,
) -> None:
    """Guards the test above against a validator that accepts anything."""
    broken = copy.deepcopy(manifest)
    target: Any = broken
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    assert _errors(validator, broken) != []


def test_room_command(manifest: dict[str, Any]) -> None:
    (command,) = manifest["features"]["slash_commands"]
    assert command["command"] == "/room"
    assert command["should_escape"] is True  # mentions arrive as <@U…|name>, which we resolve
    assert command["url"] == EVENTS_URL
    assert "list" in command["usage_hint"]
    assert command["description"]


def test_create_room_shortcut(manifest: dict[str, Any]) -> None:
    shortcut, _message_shortcut = manifest["features"]["shortcuts"]
    assert (shortcut["name"], shortcut["type"], shortcut["callback_id"]) == (
        "Create a room",
        "global",
        "create_room",
    )


def test_interactivity_goes_to_the_same_endpoint(manifest: dict[str, Any]) -> None:
    assert manifest["settings"]["interactivity"] == {"is_enabled": True, "request_url": EVENTS_URL}


def test_bot_scopes_are_exactly_what_the_bot_uses(manifest: dict[str, Any]) -> None:
    """Least privilege: nothing that reads conversations (that is the optional variant)."""
    scopes = manifest["oauth_config"]["scopes"]
    assert set(scopes) == {"bot"}  # no user token is ever requested
    assert sorted(scopes["bot"]) == sorted(
        [
            "commands",
            "chat:write",
            "chat:write.public",
            "users:read",
            "usergroups:read",
            "links:read",  # link_shared: room links unfurl
            "links:write",  # chat.unfurl
            "calls:write",
        ]
    )
    assert not any(scope.endswith(":history") for scope in scopes["bot"])
    # the local fake grants exactly what an install from the manifest grants
    assert sorted(scopes["bot"]) == sorted(DEFAULT_SCOPES)
    assert len(scopes["bot"]) == len(set(scopes["bot"]))


def test_the_history_variant_adds_only_the_history_scopes(
    manifest: dict[str, Any], history_manifest: dict[str, Any]
) -> None:
    """Finding a room's card after an interruption, instead of posting it twice, needs to read
    the channel (and to join a public one the bot posted to without being a member); finding a
    reminder, to open the person's DM (`conversations.open`: im:write) and read it."""
    added = sorted(
        set(history_manifest["oauth_config"]["scopes"]["bot"])
        - set(manifest["oauth_config"]["scopes"]["bot"])
    )
    assert added == sorted([*HISTORY_SCOPES, "channels:join", "im:write"])
    assert sorted(history_manifest["oauth_config"]["scopes"]["bot"]) == sorted(
        HISTORY_MANIFEST_SCOPES
    )
    same_otherwise = {k: v for k, v in history_manifest.items() if k != "oauth_config"}
    assert same_otherwise == {k: v for k, v in manifest.items() if k != "oauth_config"}


def test_settings(manifest: dict[str, Any]) -> None:
    settings = manifest["settings"]
    # Workflow Builder steps need an org-ready app whose functions run here
    assert settings["org_deploy_enabled"] is True
    assert settings["function_runtime"] == "remote"
    assert settings["socket_mode_enabled"] is False  # README explains turning it on
    assert settings["token_rotation_enabled"] is False
    assert manifest["display_information"]["name"] == "roombot"
    assert manifest["features"]["bot_user"]["display_name"] == "roombot"


def test_app_home_and_its_event(manifest: dict[str, Any]) -> None:
    """The Home tab is on and `app_home_opened` reaches the bot, with no scope asked for it."""
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert manifest["features"]["app_home"]["messages_tab_enabled"] is True  # reminders
    events = manifest["settings"]["event_subscriptions"]
    assert events["request_url"] == EVENTS_URL
    # exactly the events some feature handles: the Home, unfurls, the Workflow Builder step,
    # and the two that remove roombot
    assert sorted(events["bot_events"]) == [
        "app_home_opened",
        "app_uninstalled",
        "function_executed",
        "link_shared",
        "tokens_revoked",
    ]


def test_oauth_redirects_and_uninstall_events(manifest: dict[str, Any]) -> None:
    """ "Add to Slack" comes back to Bolt's redirect path; the events that remove the app
    (they need no scope), delivered where everything else is."""
    from bot.slack.install import BOT_SCOPES, REDIRECT_PATH

    assert f"https://YOUR-HOST{REDIRECT_PATH}" in manifest["oauth_config"]["redirect_urls"]
    assert "https://YOUR-HOST/rooms/signed-in" in manifest["oauth_config"]["redirect_urls"]
    events = manifest["settings"]["event_subscriptions"]
    assert events["request_url"] == EVENTS_URL
    assert {"app_uninstalled", "tokens_revoked"} <= set(events["bot_events"])
    assert "user_events" not in events
    # an install asks for exactly the manifest's scopes
    assert sorted(BOT_SCOPES) == sorted(manifest["oauth_config"]["scopes"]["bot"])
