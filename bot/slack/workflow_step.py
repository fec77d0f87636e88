"""The Workflow Builder step "Create an ACS room" (manifest.yml `functions.create_acs_room`).

Slack runs the step by sending `function_executed`; Bolt's `app.function` listener gets its
inputs: `window` (words such as "tomorrow 9am-5pm", read as `/room create` reads them),
`people` (user ids, added as attendees), `channel` (where the room's card is posted) and the
optional `creator` (presenter and owner of the room; the first of `people` without one).

The step is a command like any other: read at once in the creator's zone (so the words mean
what they meant when the workflow ran) and journalled resolved, under a key made from the
execution id, so a redelivered event is the same command, done once, and a crash after the
ack loses nothing. The journal worker creates the room and posts its card; `StepAnswerer`
then completes the step with `functions.completeSuccess` (outputs `room_id`, `room_link`), or
ends it with `functions.completeError` and roombot's usual words. Words refused at once (the
parser's refusals, bad inputs) end the step right away with Bolt's `fail`.

The execution's own token (`bot_access_token`, `xwfp-…`) is a secret that lives only as long
as the step runs: Bolt's `fail` uses it in the listener, and the listener leaves it in memory
(`bot.slack.step_tokens`) for `StepAnswerer` to complete the step with, as Bolt's `complete`
would. It is never journalled; a step this process did not receive (another replica, a
restart) is completed with the bot token, and a held token Slack no longer takes is replaced
by the bot token once.

Checked against Slack's documentation and Bolt's source (2026-12):
- Manifest (`manifest.yml`, format v1, no `_metadata`): `functions.<callback_id>` with
  `title`, `description`, `input_parameters` and `output_parameters`, each a map from a
  parameter's name to `{type, title, description, is_required, hint}`. That flat shape is
  the v1 schema's (slackapi/manifest-schema `schemas/manifest.schema.1.0.0.json`,
  `app-manifests.v1.hermes.functions` -> `hermes.types`; copied in
  tests/data/specs/slack-app-manifest.schema.json) and the one Slack's own Bolt for Python
  step template uses (slack-samples/bolt-python-custom-step-template `manifest.json`). The
  `{properties: {...}, required: [...]}` shape of docs.slack.dev's custom-steps guide
  (bolt-python `docs/english/tutorial/custom-steps.md`, "Sample manifest") is manifest v2's
  (`app-manifests.v2.hermes.functions`, `_metadata.major_version: 2`), which the v1 schema
  refuses; the guide itself says `is_required` is the v1 spelling. So no change.
- Event (docs.slack.dev/reference/events/function_executed): `event.function.callback_id`,
  `event.inputs`, `event.function_execution_id`, `event.bot_access_token`; Bolt reads the
  same (`slack_bolt/request/internals.py`: `extract_function_execution_id`,
  `extract_function_bot_access_token`, `extract_function_inputs`) and its `app.function`
  matches `event.function.callback_id`.
- Tokens: `functions.completeSuccess` / `completeError` (docs.slack.dev/reference/methods/
  functions.completeSuccess) need no scope and list bot tokens; Bolt's `AsyncComplete` /
  `AsyncFail` call them with the listener's client, whose token `AsyncAttachingFunctionToken`
  (on by default: `attaching_function_token_enabled=True`) has set to the event's
  `bot_access_token`. This module completes with that token too (it used the bot token
  before); the fake Slack's `function_token_only` refuses any other, so the tests prove it.
- Outputs: `completeSuccess` takes outputs that conform to `output_parameters`; ours are
  `room_id` (required) and `room_link` (only with ROOMBOT_PUBLIC_URL, so not required),
  the manifest's keys (tests/slack/test_manifest_ext.py); the fake refuses others.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from slack_bolt.context.fail.async_fail import AsyncFail
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain import JournalEntry, NewJournalEntry, PostedMessage, Role
from bot.parsing import commands as parsed
from bot.parsing.parser import parse
from bot.service.interpret import resolved_create
from bot.service.outcomes import Outcome, Refused, RoomChanged, ServiceError, TryLater
from bot.service.ports import Answerer
from bot.service.resolved import ResolvedCommand
from bot.service.rooms import refuse_unstorable_ids
from bot.slack.after_ack import after_ack
from bot.slack.errors import error_code
from bot.slack.step_tokens import StepTokens
from bot.slack.unfurl import RoomLinks

if TYPE_CHECKING:  # bot.slack.app imports this module
    from bot.slack.app import SlackDeps

logger = logging.getLogger("roombot.slack.workflow")

FUNCTION = "create_acs_room"
WINDOW, PEOPLE, CHANNEL, CREATOR = "window", "people", "channel", "creator"
ROOM_ID, ROOM_LINK = "room_id", "room_link"
STEP = "workflow_step"
"""Key of a journalled command that a workflow step started: `{"execution": "Fx…"}`."""
MAX_WINDOW = 200
MAX_PEOPLE = 250
_USER = re.compile(r"^[UW][A-Z0-9]{1,20}$")
_CHANNEL = re.compile(r"^[CGD][A-Z0-9]{1,20}$")
_KEY_SPACE = uuid.UUID("0b7c1e8a-5d2f-4c4e-9f1a-776f726b666c")  # journal keys from executions
EXAMPLE = "window: tomorrow 9am-5pm · people: @alice @bob · channel: #team"
GONE = frozenset({"execution_not_in_running_state", "function_execution_not_found"})
"""Completion errors meaning the step has already ended (done before a crash, or timed out):
nothing is left to tell it."""
TOKEN_REFUSED = frozenset(
    {"invalid_auth", "token_expired", "token_revoked", "not_allowed_token_type"}
)
"""Errors for a step's own token that Slack no longer takes: the bot token is tried instead."""


class StepRefused(Exception):
    """Inputs the step cannot run with; *message* is what Workflow Builder shows."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def read_inputs(inputs: Mapping[str, Any]) -> tuple[str, list[str], str, str]:
    """(window, people, channel, creator) from the step's inputs, or StepRefused saying why."""
    window = inputs.get(WINDOW)
    if not isinstance(window, str) or not window.strip():
        raise StepRefused(f"Say when the room is open in “{WINDOW}”, e.g. tomorrow 9am-5pm.")
    if len(window) > MAX_WINDOW:
        raise StepRefused(
            f"“{WINDOW}” is {len(window)} characters long; the limit is {MAX_WINDOW}. "
            "Try: tomorrow 9am-5pm."
        )
    people = inputs.get(PEOPLE) or []
    if isinstance(people, str):
        people = [people]
    if not isinstance(people, list) or not all(isinstance(p, str) for p in people):
        raise StepRefused(f"“{PEOPLE}” must be a list of people picked in Workflow Builder.")
    wrong = [p for p in people if not _USER.match(p)]
    if wrong:
        raise StepRefused(f"“{PEOPLE}” holds {wrong[0][:40]!r}, which is not a Slack user id.")
    people = list(dict.fromkeys(people))
    if len(people) > MAX_PEOPLE:
        raise StepRefused(f"A room holds at most {MAX_PEOPLE} people; {len(people)} were given.")
    channel = inputs.get(CHANNEL)
    if not isinstance(channel, str) or not _CHANNEL.match(channel):
        raise StepRefused(f"Pick the channel the room's card is posted to in “{CHANNEL}”.")
    creator = inputs.get(CREATOR) or (people[0] if people else None)
    if not isinstance(creator, str) or not _USER.match(creator):
        raise StepRefused(
            f"Name the room's creator in “{CREATOR}” (e.g. the person who used this "
            f"workflow), or at least one person in “{PEOPLE}”."
        )
    return window.strip(), people, channel, creator


def step_execution(entry: JournalEntry) -> str | None:
    """The workflow step execution a journal entry answers to, if a step started it."""
    step = entry.command.get(STEP)
    execution = step.get("execution") if isinstance(step, Mapping) else None
    return execution if isinstance(execution, str) and execution else None


class WorkflowStep:
    """The `function_executed` listener for `create_acs_room`: read, journal, return."""

    def __init__(self, deps: SlackDeps, tokens: StepTokens | None = None) -> None:
        self._deps = deps
        self._tokens = tokens

    async def on_function(
        self, body: dict[str, Any], event: dict[str, Any], fail: AsyncFail
    ) -> None:
        deps = self._deps
        execution = str(event.get("function_execution_id") or "")
        team = str(body.get("team_id") or "")
        inputs = event.get("inputs")
        try:
            command, creator, channel = await self._command(
                team, inputs if isinstance(inputs, Mapping) else {}
            )
        except StepRefused as refusal:
            deps.metrics.command("create", "refused")
            await _fail(fail, refusal.message)
            return
        command[STEP] = {"execution": execution}
        if self._tokens is not None:  # before the worker can run it: it completes with this
            self._tokens.keep(execution, str(event.get("bot_access_token") or ""))
        now = deps.clock()
        try:
            accepted = await deps.worker.accept(
                NewJournalEntry(
                    key=str(uuid.uuid5(_KEY_SPACE, f"{team}:{execution}")),
                    command=command,
                    team_id=team,
                    user_id=creator,
                    channel_id=channel,
                    response_url=None,
                    accepted_at=now,
                )
            )
        except Exception:
            logger.exception("could not journal a workflow step; ending it")
            from bot.slack.app import NOT_SAVED  # the same words as for a typed command

            await _fail(fail, NOT_SAVED)
            return
        if accepted is None:
            return  # the same execution delivered again: already journalled
        deps.metrics.command("create", "accepted")
        after_ack(lambda: deps.worker.start_accepted(accepted))

    async def _command(
        self, team: str, inputs: Mapping[str, Any]
    ) -> tuple[dict[str, Any], str, str]:
        deps = self._deps
        window, people, channel, creator = read_inputs(inputs)
        if deps.allowed_channels and channel not in deps.allowed_channels:
            raise StepRefused("roombot is not enabled in that channel; ask an admin.")
        try:
            zone = deps.people.cached_zone(team, creator) or await deps.people.zone(team, creator)
        except TryLater as delay:
            raise StepRefused(f"{delay.reason} Run the workflow again in a minute.") from delay
        result = parse(
            f"create {window}",
            now=deps.clock(),
            tz=zone.tz,
            locale=zone.locale,
            default_length=deps.default_length,
        )
        if isinstance(result, parsed.ParseError):
            raise StepRefused(result.message)
        if not isinstance(result, parsed.CreateRoom):
            raise StepRefused(
                f"“{WINDOW}” should say when the room is open, e.g. tomorrow 9am-5pm."
            )
        resolved = resolved_create(result, tz=zone.tz)
        participants = {p: Role.ATTENDEE for p in people if p != creator}
        participants.update(resolved.participants)  # a role named in the words wins
        try:
            refuse_unstorable_ids(participants)
        except ServiceError as refusal:
            raise StepRefused(refusal.message) from refusal
        command = ResolvedCommand(
            action="create",
            valid_from=resolved.valid_from,
            valid_until=resolved.valid_until,
            participants=participants,
            groups=resolved.groups,
            pstn_dial_out=resolved.pstn_dial_out,
            tz=resolved.tz,
            title=resolved.title,
            zone_note=resolved.zone_note,
        )
        return command.to_json(), creator, channel


async def _fail(fail: AsyncFail, message: str) -> None:
    try:
        await fail(message)
    except SlackApiError as exc:
        logger.warning("could not end a workflow step: %s", error_code(exc))


class StepAnswerer:
    """An `Answerer` that also completes the workflow step a command came from.

    The step is completed before the card is posted: if posting fails and the answer is
    retried, completing again meets `execution_not_in_running_state`, which counts as done.
    """

    def __init__(
        self,
        inner: Answerer,
        *,
        client: AsyncWebClient,
        public_url: str | None,
        tokens: StepTokens | None = None,
    ) -> None:
        self._inner = inner
        self._client = client
        self._links = RoomLinks(public_url) if public_url else None
        self._tokens = tokens or StepTokens()

    async def answer(self, entry: JournalEntry, outcome: Outcome) -> PostedMessage | None:
        execution = step_execution(entry)
        if execution is None:
            return await self._inner.answer(entry, outcome)
        if isinstance(outcome, Refused):
            await self._error(execution, outcome)
            return None
        await self._success(execution, outcome)
        return await self._inner.answer(entry, outcome)

    async def delayed(self, entry: JournalEntry, reason: str) -> None:
        await self._inner.delayed(entry, reason)

    async def last_word(self, entry: JournalEntry, outcome: Outcome) -> bool:
        execution = step_execution(entry)
        if execution is None:
            return await self._inner.last_word(entry, outcome)
        if isinstance(outcome, Refused):
            await self._error(execution, outcome)
        else:
            await self._success(execution, outcome)
        return True

    async def _success(self, execution: str, outcome: RoomChanged) -> None:
        room_id = outcome.room.room_id
        outputs = {ROOM_ID: room_id}
        if self._links is not None:
            outputs[ROOM_LINK] = self._links.link(room_id)
        await self._complete(
            execution,
            lambda **token: self._client.functions_completeSuccess(
                function_execution_id=execution, outputs=outputs, **token
            ),
        )

    async def _error(self, execution: str, refused: Refused) -> None:
        words = refused.message if not refused.example else f"{refused.message} Try: {EXAMPLE}"
        await self._complete(
            execution,
            lambda **token: self._client.functions_completeError(
                function_execution_id=execution, error=words, **token
            ),
        )

    async def _complete(self, execution: str, call: Callable[..., Awaitable[Any]]) -> None:
        """*call* with the step's own token when this process holds it, else the bot's."""
        own = self._tokens.get(execution)
        try:
            try:
                await (call(token=own) if own else call())
            except SlackApiError as exc:
                if not own or error_code(exc) not in TOKEN_REFUSED:
                    raise
                logger.info(
                    "the step's own token was refused (%s); using the bot token", error_code(exc)
                )
                await call()
        except SlackApiError as exc:
            if error_code(exc) not in GONE:
                raise  # the runner retries the answer
            logger.info("workflow step had already ended: %s", error_code(exc))
        self._tokens.forget(execution)
