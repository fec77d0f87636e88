"""The Workflow Builder step "Create an ACS room", end to end over HTTP: `function_executed`
posted signed to the real server, the room made in the emulator, the step completed in the fake
Slack with the room's id and link, or ended with roombot's words."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml

from bot.local.dev_cli import CHANNEL, ME, LocalBot
from bot.local.fake_slack_ext import Execution
from bot.parsing import commands as parsed
from bot.parsing.parser import parse
from bot.slack.workflow_step import FUNCTION
from bot.store.tables import JournalRow
from tests.reliability.test_secrets import Recorder, _recorder  # noqa: F401 - the fixture

MANIFEST = yaml.safe_load((Path(__file__).resolve().parents[2] / "manifest.yml").read_text())
STEP = MANIFEST["functions"][FUNCTION]


async def _run(bot: LocalBot, inputs: dict[str, Any]) -> tuple[dict[str, Any], Execution]:
    event = bot.slack.ext.execute_function(FUNCTION, inputs, definition=STEP)
    ack = await bot.post_signed(json.dumps(event), "application/json")
    assert ack == {}
    await bot.settle()
    execution = bot.slack.ext.executions[event["event"]["function_execution_id"]]
    return event, execution


async def test_the_step_creates_the_room_and_completes_with_its_id_and_link(
    bot: LocalBot,
) -> None:
    alice, bob = bot.user("alice"), bot.user("bob")
    inputs = {
        "window": 'tomorrow 9am-5pm "Weekly sync"',
        "people": [alice, bob],
        "channel": CHANNEL,
        "creator": ME[0],
    }
    assert set(inputs) <= set(STEP["input_parameters"])  # what the manifest declares
    bot.slack.ext.function_token_only = True  # a completion with the bot token is refused
    event, execution = await _run(bot, inputs)
    assert execution.state == "completed", execution.error
    assert execution.completed_with == ["function"]  # the step's own token, as Bolt's complete
    outputs = execution.outputs
    assert outputs is not None
    room = await bot.runtime.store.rooms.get(outputs["room_id"])
    assert room is not None
    assert room.title == "Weekly sync"
    assert room.creator_id == ME[0]
    roles = {p.slack_user_id: p.role.value for p in room.participants}
    assert roles == {ME[0]: "Presenter", alice: "Attendee", bob: "Attendee"}
    assert outputs["room_link"] == f"{bot.runtime.settings.public_url}/rooms/{room.room_id}"
    (card,) = bot.slack.channel_messages(CHANNEL)
    assert room.room_id in json.dumps(card.blocks)
    # The journal holds no token of the step's (a secret that ends with it).
    assert event["event"]["bot_access_token"] not in json.dumps(
        bot.slack.calls_to("functions.completeSuccess")[0].params
    )

    # Slack delivers the same event again (a retry): the same command, done once.
    await bot.post_signed(json.dumps(event), "application/json")
    await bot.settle()
    assert len(bot.slack.channel_messages(CHANNEL)) == 1
    assert len(bot.slack.calls_to("functions.completeSuccess")) == 1
    assert await bot.runtime.store.journal.pending_count() == 0


async def test_words_refused_by_the_parser_end_the_step_with_its_message(bot: LocalBot) -> None:
    bot.slack.ext.function_token_only = True
    _, execution = await _run(
        bot, {"window": "every monday 9am", "people": [bot.user("alice")], "channel": CHANNEL}
    )
    expected = parse("create every monday 9am", now=datetime.now(UTC), tz="UTC")
    assert isinstance(expected, parsed.ParseError)
    assert execution.state == "failed"
    assert execution.error == expected.message
    assert execution.completed_with == ["function"]  # Bolt's fail, with the step's token
    assert bot.slack.messages == []


async def test_bad_inputs_end_the_step_with_what_to_change(bot: LocalBot) -> None:
    cases = [
        ({"window": "tomorrow", "people": [], "channel": CHANNEL}, "Name the room's creator"),
        ({"window": "", "channel": CHANNEL, "creator": ME[0]}, "Say when the room is open"),
        ({"window": "tomorrow", "creator": ME[0]}, "Pick the channel"),
        (
            {"window": "tomorrow", "people": ["not-a-user"], "channel": CHANNEL},
            "not a Slack user id",
        ),
    ]
    for inputs, words in cases:
        _, execution = await _run(bot, inputs)
        assert execution.state == "failed", inputs
        assert execution.error is not None
        assert words in execution.error, execution.error


async def test_a_refusal_after_acceptance_ends_the_step_too(bot: LocalBot) -> None:
    """The service refuses a bot as a participant once the command runs: the step hears it."""
    bot.slack.add_user("U0HELPBOT", "helpbot", is_bot=True)
    _, execution = await _run(
        bot,
        {"window": "tomorrow", "people": ["U0HELPBOT"], "channel": CHANNEL, "creator": ME[0]},
    )
    assert execution.state == "failed"
    assert execution.error is not None
    assert "is a bot" in execution.error
    assert execution.completed_with == ["function"]
    assert bot.slack.messages == []


async def test_slack_unavailable_when_the_step_arrives_ends_it_in_words(bot: LocalBot) -> None:
    """The creator's zone cannot be read (users.info fails): nothing is journalled half-read;
    the step ends at once saying to run the workflow again."""
    bot.slack.fail_next("users.info", status=500, times=3)
    _, execution = await _run(
        bot, {"window": "tomorrow", "people": [bot.user("alice")], "channel": CHANNEL}
    )
    assert execution.state == "failed"
    assert execution.error is not None
    assert "Run the workflow again in a minute." in execution.error
    assert await bot.runtime.store.journal.pending_count() == 0
    assert bot.slack.messages == []


async def test_a_completion_slack_loses_is_retried_and_the_room_made_once(bot: LocalBot) -> None:
    bot.slack.fail_next("functions.completeSuccess", status=500)
    _, execution = await _run(
        bot,
        {"window": "tomorrow", "people": [bot.user("alice")], "channel": CHANNEL, "creator": ME[0]},
    )
    assert execution.state == "completed"
    completions = bot.slack.calls_to("functions.completeSuccess")
    assert [c.status for c in completions] == [500, 200]
    assert len(bot.slack.channel_messages(CHANNEL)) == 1
    assert bot.emulator.state.rooms_created == 1


async def test_the_steps_token_reaches_no_log_line_and_no_record(
    bot: LocalBot, recorder: Recorder
) -> None:
    """Every logger at DEBUG: the execution's `xwfp-` token (used by Bolt's fail) is a secret."""
    tokens = []
    for inputs in (
        {"window": "every monday", "people": [bot.user("alice")], "channel": CHANNEL},
        {"window": "tomorrow", "people": [bot.user("alice")], "channel": CHANNEL},
    ):
        event, execution = await _run(bot, inputs)
        assert execution.state in ("failed", "completed")
        tokens.append(event["event"]["bot_access_token"])
    logged = "\n".join(recorder.lines)
    assert "functions.completeError" in logged  # the calls were logged, at DEBUG
    for token in tokens:
        assert token not in logged
        assert token.removeprefix("xwfp-") not in logged
    async with bot.runtime.store.engine.connect() as connection:
        rows = (await connection.execute(sa.select(JournalRow.command))).scalars().all()
    journal = json.dumps(list(rows))
    assert '"workflow_step"' in journal  # the step that got that far is journalled
    assert not any(token in journal for token in tokens)


async def test_the_event_has_slacks_shape_and_bolt_reads_it(bot: LocalBot) -> None:
    """`function_executed` as docs.slack.dev/reference/events/function_executed shows it: the
    step's definition with its parameters listed by name, the execution's own token."""
    event = bot.slack.ext.execute_function(FUNCTION, {"window": "tomorrow"}, definition=STEP)
    body = event["event"]
    function = body["function"]
    assert (function["callback_id"], function["type"]) == (FUNCTION, "app")
    assert function["title"] == STEP["title"]
    assert [p["name"] for p in function["input_parameters"]] == list(STEP["input_parameters"])
    assert [p["name"] for p in function["output_parameters"]] == ["room_id", "room_link"]
    assert {p["name"]: p["is_required"] for p in function["output_parameters"]} == {
        "room_id": True,
        "room_link": False,
    }
    assert body["bot_access_token"].startswith("xwfp-")
    assert body["function_execution_id"].startswith("Fx")
    assert body["workflow_execution_id"].startswith("Wx")
    assert event["authorizations"][0]["is_bot"] is True


async def test_a_step_this_process_did_not_receive_is_completed_with_the_bot_token(
    bot: LocalBot,
) -> None:
    """After a restart (or on another replica) the step's token is not held: the bot token,
    which `functions.completeSuccess` lists, completes it; the token was never stored."""
    bot.runtime.step_tokens.keep = lambda execution, token: None  # type: ignore[method-assign]
    _, execution = await _run(
        bot,
        {"window": "tomorrow", "people": [bot.user("alice")], "channel": CHANNEL, "creator": ME[0]},
    )
    assert execution.state == "completed", execution.error
    assert execution.completed_with == ["bot"]


async def test_a_held_token_slack_refuses_gives_way_to_the_bot_token_once(bot: LocalBot) -> None:
    bot.slack.fail_next("functions.completeSuccess", error="invalid_auth")
    _, execution = await _run(
        bot,
        {"window": "tomorrow", "people": [bot.user("alice")], "channel": CHANNEL, "creator": ME[0]},
    )
    assert execution.state == "completed"
    assert execution.completed_with == ["bot"]
    completions = bot.slack.calls_to("functions.completeSuccess")
    assert [c.error for c in completions] == ["invalid_auth", None]
    assert len(bot.slack.channel_messages(CHANNEL)) == 1
