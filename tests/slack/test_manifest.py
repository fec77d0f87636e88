"""manifest.yml is a valid Slack app manifest (v1) and asks for exactly what the bot needs.

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

from bot.slack.fake_slack import DEFAULT_SCOPES

MANIFEST_PATH = Path(__file__).resolve().parents[2] / "manifest.yml"
EVENTS_URL = "https://YOUR-HOST/slack/events"


@pytest.fixture(name="manifest", scope="module")
def _manifest() -> dict[str, Any]:
    loaded = yaml.safe_load(MANIFEST_PATH.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


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


def test_manifest_is_valid_against_slacks_schema(
    manifest: dict[str, Any], validator: jsonschema.protocols.Validator
) -> None:
    assert _errors(validator, manifest) == []


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
    (shortcut,) = manifest["features"]["shortcuts"]
    assert (shortcut["name"], shortcut["type"], shortcut["callback_id"]) == (
        "Create a room",
        "global",
        "create_room",
    )


def test_interactivity_goes_to_the_same_endpoint(manifest: dict[str, Any]) -> None:
    assert manifest["settings"]["interactivity"] == {"is_enabled": True, "request_url": EVENTS_URL}


def test_bot_scopes_are_exactly_what_the_bot_uses(manifest: dict[str, Any]) -> None:
    scopes = manifest["oauth_config"]["scopes"]
    assert set(scopes) == {"bot"}  # no user token is ever requested
    assert sorted(scopes["bot"]) == sorted(
        [
            "commands",
            "chat:write",
            "chat:write.public",
            "users:read",
            "usergroups:read",
            # finding a room's message after an interruption, instead of posting it twice
            "channels:history",
            "groups:history",
            "im:history",
            "mpim:history",
            "channels:join",
        ]
    )
    # the local fake grants exactly what an install from the manifest grants
    assert sorted(scopes["bot"]) == sorted(DEFAULT_SCOPES)
    assert len(scopes["bot"]) == len(set(scopes["bot"]))


def test_settings(manifest: dict[str, Any]) -> None:
    settings = manifest["settings"]
    assert settings["org_deploy_enabled"] is False
    assert settings["socket_mode_enabled"] is False  # README explains turning it on
    assert settings["token_rotation_enabled"] is False
    assert manifest["display_information"]["name"] == "roombot"
    assert manifest["features"]["bot_user"]["display_name"] == "roombot"
