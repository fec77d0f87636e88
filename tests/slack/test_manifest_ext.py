"""manifest.yml's parts for unfurls, the message shortcut and the Workflow Builder step agree
with the code that serves them (issue 16, parts 4-6)."""

from __future__ import annotations

import copy
from typing import Any

import jsonschema
import pytest

from bot.slack import shortcut, unfurl, workflow_step
from tests.slack.test_manifest import (  # the fixtures, shared
    EVENTS_URL,
    _errors,
    _manifest,  # noqa: F401
    _validator,  # noqa: F401
)


def test_the_unfurl_domain_is_the_public_hosts(manifest: dict[str, Any]) -> None:
    """The placeholder is YOUR-HOST's domain as Slack wants it (lower case, host alone), and
    the domain of any ROOMBOT_PUBLIC_URL is found the same way (README, "Link unfurls")."""
    redirects = manifest["oauth_config"]["redirect_urls"]  # sign-in and "Add to Slack"
    domains = {unfurl.unfurl_domain(redirect) for redirect in redirects}
    assert manifest["features"]["unfurl_domains"] == sorted(domains)
    assert manifest["features"]["unfurl_domains"] == ["your-host"]
    assert unfurl.unfurl_domain("https://Rooms.Example.com:8443/roombot") == "rooms.example.com"


def test_the_schema_checks_the_unfurl_domain(
    manifest: dict[str, Any], validator: jsonschema.protocols.Validator
) -> None:
    for wrong in (["YOUR-HOST"], ["https://your-host"], ["your-host:8080"], []):
        broken = copy.deepcopy(manifest)
        broken["features"]["unfurl_domains"] = wrong
        assert _errors(validator, broken) != [], wrong


def test_events_reach_the_same_endpoint(manifest: dict[str, Any]) -> None:
    events = manifest["settings"]["event_subscriptions"]
    assert events["request_url"] == EVENTS_URL
    assert {unfurl.EVENT, "function_executed"} <= set(events["bot_events"])


def test_the_message_shortcut(manifest: dict[str, Any]) -> None:
    (message_shortcut,) = [s for s in manifest["features"]["shortcuts"] if s["type"] == "message"]
    assert message_shortcut["callback_id"] == shortcut.CALLBACK_ID
    assert message_shortcut["name"] == "Room with these people"  # names hold 24 characters
    assert message_shortcut["description"].startswith("Create a room with these people")


def test_the_workflow_step_declares_what_the_code_reads_and_writes(
    manifest: dict[str, Any],
) -> None:
    step = manifest["functions"][workflow_step.FUNCTION]
    assert step["title"] == "Create an ACS room"
    inputs, outputs = step["input_parameters"], step["output_parameters"]
    assert set(inputs) == {
        workflow_step.WINDOW,
        workflow_step.PEOPLE,
        workflow_step.CHANNEL,
        workflow_step.CREATOR,
    }
    required = {name for name, spec in inputs.items() if spec.get("is_required")}
    assert required == {workflow_step.WINDOW, workflow_step.CHANNEL}
    assert inputs[workflow_step.PEOPLE]["items"]["type"] == "slack#/types/user_id"
    assert inputs[workflow_step.CHANNEL]["type"] == "slack#/types/channel_id"
    assert set(outputs) == {workflow_step.ROOM_ID, workflow_step.ROOM_LINK}


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("functions", "create_acs_room", "input_parameters", "window"), {"title": "no type"}),
        (("functions", "create_acs_room", "surprise"), True),
        # manifest v2's shape (`_metadata.major_version: 2`), shown in docs.slack.dev's custom
        # steps guide: a v1 manifest, as ours is, declares each parameter by name instead
        (
            ("functions", "create_acs_room", "input_parameters"),
            {"properties": {"window": {"type": "string"}}, "required": ["window"]},
        ),
        (("features", "shortcuts", 1, "type"), "thread"),
    ],
)
def test_the_schema_checks_the_new_parts(
    manifest: dict[str, Any],
    validator: jsonschema.protocols.Validator,
    path: tuple[str | int, ...],
    value: Any,
) -> None:
    broken = copy.deepcopy(manifest)
    target: Any = broken
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    assert _errors(validator, broken) != []
