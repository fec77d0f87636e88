"""build_app: the Bolt `AsyncApp` with roombot's listeners, built fresh for every caller.

The ack path does only what is fast and local: read the words (in the user's zone when it is
cached, else just to pick the verb), journal a change, and ack. Everything that talks to ACS or
to Slack's Web API runs after the ack in tracked tasks (`JournalWorker`). Bolt runs with
`process_before_response=True`, so an ack goes out when the listener returns instead of after
Bolt's 10 ms polling tick.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain import MAX_SLACK_ID_LENGTH, NewJournalEntry, fits_slack_id, new_journal_key
from bot.parsing import commands as parsed
from bot.parsing.parser import parse
from bot.parsing.timemath import DEFAULT_LENGTH
from bot.service.interpret import resolved_create
from bot.service.join import JoinService
from bot.service.outcomes import ServiceError, TryLater
from bot.service.ports import UserZone
from bot.service.resolved import text_command, with_note_shown
from bot.service.rooms import RoomService, refuse_unstorable_ids
from bot.service.worker import JournalWorker
from bot.slack import blocks, join_blocks, shortcut, unfurl, workflow_step
from bot.slack.after_ack import after_ack
from bot.slack.calls import SlackCallCards
from bot.slack.home import HomeViews, pressed_in_home
from bot.slack.join_button import JoinButton
from bot.slack.metrics import Metrics
from bot.slack.modal import CALLBACK_ID, ModalContext, read_submission, room_modal
from bot.slack.people import SlackPeople
from bot.slack.step_tokens import StepTokens
from bot.slack.workspaces import workspace_scope

logger = logging.getLogger("roombot.slack")

COMMAND = "/room"
SHORTCUT = "create_room"
HANDLED_COMMANDS = (COMMAND,)
HANDLED_SHORTCUTS = (SHORTCUT, shortcut.CALLBACK_ID)
MAX_TEXT_LENGTH = 1500
LIMITS = (
    f"commands up to {MAX_TEXT_LENGTH} characters",
    "at most 250 people in a room",
    "windows up to 180 days, starting within 180 days",
)
_ROOM_ID = re.compile(r"^\d{1,32}$")
# Errors that do not depend on the user's time zone can be answered in the ack itself.
_ZONE_FREE_ERRORS = frozenset(
    {
        parsed.ErrorCode.UNKNOWN_COMMAND,
        parsed.ErrorCode.MISSING_ROOM_ID,
        parsed.ErrorCode.MISSING_MENTION,
        parsed.ErrorCode.UNEXPECTED_ARGUMENT,
        parsed.ErrorCode.UNRESOLVED_MENTION,
        parsed.ErrorCode.ROLE_WITHOUT_MENTION,
        parsed.ErrorCode.UNKNOWN_ROLE,
        parsed.ErrorCode.TWO_ROLES,
        parsed.ErrorCode.UNRECOGNISED_TIME,
        parsed.ErrorCode.RECURRING_NOT_SUPPORTED,
    }
)


@dataclass
class SlackDeps:
    """Everything the listeners use, handed over by `bot.main`."""

    service: RoomService
    worker: JournalWorker
    people: SlackPeople
    metrics: Metrics
    join_url: str | None = None
    default_length: timedelta = DEFAULT_LENGTH
    response_url_prefixes: tuple[str, ...] = ("https://hooks.slack.com/",)
    allowed_channels: frozenset[str] = frozenset()
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    joins: JoinService | None = None  # None without ROOMBOT_PUBLIC_URL
    home: HomeViews | None = None  # the App Home (bot/slack/home.py)
    calls: SlackCallCards | None = None  # likewise: cards carry the room's Slack call
    step_tokens: StepTokens | None = None  # workflow steps' own tokens, for the worker

    def response_url_allowed(self, url: str) -> bool:
        """Only post to Slack's own hooks: a forged payload must not aim the bot elsewhere."""
        return url.startswith(self.response_url_prefixes)


def build_app(
    *,
    client: AsyncWebClient,
    signing_secret: str,
    deps: SlackDeps,
    bolt_options: Mapping[str, Any] | None = None,
) -> AsyncApp:
    """A new Bolt app wired to *deps*; nothing global, so tests build as many as they like.

    *bolt_options* are further `AsyncApp` keywords: multi-workspace mode's OAuth flow and
    authorize (`bot.slack.install.Installs.bolt_options`).
    """
    app = AsyncApp(
        # Without a name Bolt calls inspect.stack(), which reads source files. Bolt makes the
        # logger of that name in the base logger's image (its level, handlers and filters) on
        # every request: named "roombot", it was the parent of all of roombot's loggers.
        name=BOLT_LOGGER,
        logger=_bolt_logger(),
        client=client,
        signing_secret=signing_secret,
        process_before_response=True,
        raise_error_for_unhandled_request=False,
        # Over HTTP our adapter has verified the signature (and refused replays) before Bolt
        # sees the request; Socket Mode requests carry none. Verifying again cost every ack
        # a second HMAC and a pass through Bolt's middleware.
        request_verification_enabled=False,
        **(bolt_options or {}),
    )
    listeners = _Listeners(deps)
    app.middleware(_SameTeam())
    # Bolt tries its listeners in order, each a pass of kwargs injection into its matchers:
    # the slash command, by far the most frequent request, goes first. No other listener
    # matches a slash command, so the order changes nothing else.
    app.command(COMMAND)(listeners.on_command)
    if deps.home is not None:  # before the card's Join: its own answers presses in the Home
        deps.home.register(app)
    app.shortcut(SHORTCUT)(listeners.on_shortcut)
    app.view_submission(CALLBACK_ID)(listeners.on_modal_submit)
    app.view_closed(CALLBACK_ID)(_ack_only)
    join = JoinButton(
        joins=deps.joins,
        join_url=deps.join_url,
        people=deps.people,
        worker=deps.worker,
        allowed_channels=deps.allowed_channels,
        calls=deps.calls,
    )
    app.action(blocks.ACTION_JOIN)(join.on_join)
    app.action(join_blocks.ACTION_OPEN_LINK)(_ack_only)
    app.action(join_blocks.ACTION_ADMIT)(join.on_admit)
    app.action(join_blocks.ACTION_DENY)(join.on_deny)
    app.action(blocks.ACTION_EXTEND)(listeners.on_extend)
    app.action(blocks.ACTION_DELETE)(listeners.on_delete)
    app.error(listeners.on_error)
    _register_extensions(app, deps)
    return app


def _register_extensions(app: AsyncApp, deps: SlackDeps) -> None:
    """Link unfurls, the message shortcut and the Workflow Builder step (issue 16, 4-6)."""
    prefill = shortcut.MessageShortcut(
        people=deps.people, worker=deps.worker, default_length=deps.default_length
    )
    app.message_shortcut(shortcut.CALLBACK_ID)(prefill.on_shortcut)
    step = workflow_step.WorkflowStep(deps, deps.step_tokens)
    app.function(workflow_step.FUNCTION)(step.on_function)
    unfurler = unfurl.Unfurler(  # without ROOMBOT_PUBLIC_URL it acks and unfurls nothing
        service=deps.service,
        links=unfurl.RoomLinks(deps.joins.public_url) if deps.joins else None,
        people=deps.people,
        worker=deps.worker,
        clock=deps.clock,
        join_url=deps.join_url,
        allowed_channels=deps.allowed_channels,
    )
    app.event(unfurl.EVENT)(unfurler.on_link_shared)


BOLT_LOGGER = "roombot.bolt"
"""Bolt's base logger, and its app's name: the logger Bolt configures per request is that one."""


class _ExpectedTokenWarning(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN itself and warns that our client wins; that is the design.

    Likewise it warns that an `authorize` makes it set the client's token aside: ours
    (`bot.slack.workspaces`) answers with that very token, or each workspace's own.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return "`token` will be unused" not in message and "will be ignored" not in message


def _bolt_logger() -> logging.Logger:
    # Bolt's loggers copy this one's level: `bot.logs.LEVEL_TESTED_LOGGERS` says why it is set.
    bolt = logging.getLogger(BOLT_LOGGER)
    if not any(isinstance(f, _ExpectedTokenWarning) for f in bolt.filters):
        bolt.addFilter(_ExpectedTokenWarning())
    return bolt


async def _ack_only(ack: AsyncAck) -> None:
    await ack()


class _SameTeam(AsyncMiddleware):
    """Refuse a payload that names no workspace, or another than the one our token is for.

    Slack always names the team; a payload without one is forged or broken, and journalled
    it would make a command (and a room) that belongs to no workspace.

    A class (Bolt's documented `AsyncMiddleware`), not a function: a function middleware
    costs every request a pass of Bolt's kwargs injection, for two attributes of the context.
    """

    async def async_process(
        self,
        *,
        req: AsyncBoltRequest,
        resp: BoltResponse,
        next: Callable[[], Awaitable[BoltResponse]],
    ) -> BoltResponse | None:
        context = req.context
        authorized = context.authorize_result
        team = context.team_id
        if not team:
            logger.warning("refused a request that names no team")
            return BoltResponse(status=400, body="the payload names no workspace (team)")
        if authorized is not None and authorized.team_id and team != authorized.team_id:
            logger.warning(
                "refused a request for team %s (the bot serves %s)", team, authorized.team_id
            )
            return BoltResponse(status=200, body="")
        return await next()

    @property
    def name(self) -> str:
        return "roombot.same_team"


class _Listeners:
    """The handlers; each is short: read, journal, ack, hand the rest to the worker."""

    def __init__(self, deps: SlackDeps) -> None:
        self._deps = deps

    async def on_command(
        self, ack: AsyncAck, command: dict[str, Any], request: AsyncBoltRequest
    ) -> None:
        deps = self._deps
        text = str(command.get("text") or "").strip()
        team = workspace_scope(command, str(command.get("team_id", "")))
        user = str(command.get("user_id", ""))
        channel = str(command.get("channel_id", ""))
        if deps.allowed_channels and channel not in deps.allowed_channels:
            deps.metrics.command("any", "refused")
            await self._refuse(ack, "roombot is not enabled in this channel; ask an admin.")
            return
        if len(text) > MAX_TEXT_LENGTH:
            deps.metrics.command("any", "refused")
            await self._refuse(
                ack,
                f"That command is {len(text)} characters long; the limit is {MAX_TEXT_LENGTH}.",
                example="/room create tomorrow @alice presenter",
            )
            return
        zone = deps.people.cached_zone(team, user)
        now = deps.clock()
        result = parse(
            text,
            now=now,
            tz=zone.tz if zone else "UTC",
            locale=zone.locale if zone else "en-US",
            default_length=deps.default_length,
        )
        if isinstance(result, parsed.ParseError):
            if zone is not None or result.code in _ZONE_FREE_ERRORS:
                deps.metrics.command("unknown", "refused")
                await self._refuse(ack, result.message)
                return
        elif isinstance(result, parsed.OpenModal):
            await ack()
            trigger = str(command.get("trigger_id", ""))
            after_ack(
                lambda: deps.worker.spawn(
                    self._open_modal(trigger, team, user, channel), name="open-modal"
                )
            )
            deps.metrics.command("modal", "opened")
            return
        elif isinstance(result, parsed.ShowHelp):
            deps.metrics.command("help", "answered")
            await ack(
                response_type="ephemeral",
                blocks=blocks.help_blocks(LIMITS),
                text="How to use /room",
            )
            return
        elif isinstance(result, parsed.ListRooms):
            rooms = await deps.service.channel_rooms(team, channel)
            deps.metrics.command("list", "answered")
            await ack(
                response_type="ephemeral",
                blocks=blocks.rooms_list_blocks(
                    rooms, tz=zone.tz if zone else None, channel_id=channel
                ),
                text=f"{len(rooms)} rooms in this channel",
            )
            return
        elif isinstance(result, parsed.ShowRoom):
            await self._show(ack, team, result.room_id, zone)
            return
        elif isinstance(result, parsed.CreateRoom | parsed.AddParticipants):
            try:
                refuse_unstorable_ids(result.participants)
            except ServiceError as refusal:
                deps.metrics.command(result.action, "refused")
                await self._refuse(ack, refusal.message, example=refusal.example)
                return
        verb = _typed_verb(text) if isinstance(result, parsed.ParseError) else result.action
        response_url = str(command.get("response_url") or "")
        journalled = text_command(text, locale=zone.locale if zone else None)
        if zone is not None and isinstance(result, parsed.CreateRoom):
            # Already read in the asker's (cached) zone at the moment of acceptance, exactly as
            # the worker would read it: journal it resolved, saving the worker a parse and the
            # write that pins it. Without a known zone the worker reads the text later.
            journalled = resolved_create(result, tz=zone.tz).to_json()
        try:
            fresh = await self._accept(
                with_note_shown(journalled),  # the ack below shows a note the answer replaces
                team=team,
                user=user,
                channel=channel,
                response_url=response_url,
                now=now,
                request=request,
            )
        except NotSaved as refusal:
            deps.metrics.command(verb, "not_saved")
            await self._refuse(ack, refusal.message)
            return
        if not fresh:
            await ack()  # the same signed request again: already journalled, nothing more to do
            return
        deps.metrics.command(verb, "accepted")
        working = "Creating your room…" if verb == "create" else "Working on it…"
        await ack(response_type="ephemeral", blocks=blocks.working_blocks(working), text=working)

    async def on_shortcut(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        user = body.get("user") or {}
        team = _team_of(body)
        trigger, user_id = str(body.get("trigger_id", "")), str(user.get("id", ""))
        after_ack(
            lambda: self._deps.worker.spawn(
                self._open_modal(trigger, team, user_id, None), name="open-modal"
            )
        )

    async def on_modal_submit(
        self, ack: AsyncAck, body: dict[str, Any], request: AsyncBoltRequest
    ) -> None:
        deps = self._deps
        view = body.get("view")
        submitter = str((body.get("user") or {}).get("id", ""))
        result = read_submission(
            view if isinstance(view, dict) else {},
            body.get("response_urls"),
            now=deps.clock(),
            response_url_allowed=deps.response_url_allowed,
            default_length=await self._length_for(_team_of(body), submitter),
        )
        if isinstance(result, dict):
            deps.metrics.command("create", "refused")
            await ack(response_action="errors", errors=result)
            return
        user = body.get("user") or {}
        team = _team_of(body)
        if deps.allowed_channels and result.channel_id not in deps.allowed_channels:
            await ack(
                response_action="errors",
                errors={"post_to": "roombot is not enabled in that channel."},
            )
            return
        try:
            await self._accept(
                result.command.to_json(),
                team=team,
                user=str(user.get("id", "")),
                channel=result.channel_id,
                response_url=result.response_url or "",
                now=deps.clock(),
                request=request,
            )
        except NotSaved as refusal:
            await ack(response_action="errors", errors={"when": refusal.message})
            return
        deps.metrics.command("create", "accepted")
        await ack()

    async def on_extend(
        self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], request: AsyncBoltRequest
    ) -> None:
        await self._button(ack, body, action, request, "extend {room} by 1 day")

    async def on_delete(
        self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], request: AsyncBoltRequest
    ) -> None:
        await self._button(ack, body, action, request, "delete {room}")

    async def on_error(self, error: Exception, body: dict[str, Any]) -> None:
        logger.error("listener failed: %s", error, exc_info=error)

    async def _button(
        self,
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        request: AsyncBoltRequest,
        template: str,
    ) -> None:
        await ack()
        room_id = str(action.get("value") or "")
        user = body.get("user") or {}
        channel = str((body.get("channel") or {}).get("id") or "")
        if not channel and _ROOM_ID.match(room_id) and pressed_in_home(body):
            channel = await self._room_channel(_team_of(body), room_id)  # the Home has none
        if not _ROOM_ID.match(room_id) or not channel:
            logger.warning("ignored a button press with a malformed room id or no channel")
            return
        if self._deps.allowed_channels and channel not in self._deps.allowed_channels:
            message = "roombot is not enabled in this channel; ask an admin."
            await self._deps.people.client.chat_postEphemeral(
                channel=channel,
                user=str(user.get("id", "")),
                text=message,
                blocks=blocks.error_blocks(message),
            )
            return
        team = _team_of(body)
        try:
            await self._accept(
                text_command(template.format(room=room_id), locale=None),
                team=team,
                user=str(user.get("id", "")),
                channel=channel,
                response_url=str(body.get("response_url") or ""),
                now=self._deps.clock(),
                request=request,
            )
        except NotSaved as refusal:
            await self._deps.people.client.chat_postEphemeral(
                channel=channel,
                user=str(user.get("id", "")),
                text=refusal.message,
                blocks=blocks.error_blocks(refusal.message),
            )
            return
        self._deps.metrics.command(template.split()[0], "accepted")

    async def _accept(
        self,
        command: dict[str, Any],
        *,
        team: str,
        user: str,
        channel: str,
        response_url: str,
        now: datetime,
        request: AsyncBoltRequest,
    ) -> bool:
        """Journal the command and start it; False when this very request was journalled already.

        The key comes from the request's signature where there is one, so the same signed
        request replayed to another replica is still journalled (and done) only once.
        Raises NotSaved when the journal cannot be written, or a Slack id of the request is
        longer than the journal can hold: nothing is accepted then.
        """
        deps = self._deps
        if not all(fits_slack_id(value) for value in (team, user, channel)):
            raise NotSaved(UNUSABLE_REQUEST)
        signature = (request.headers.get("x-slack-signature") or [""])[0]
        key = str(uuid.uuid5(_KEY_SPACE, signature)) if signature else new_journal_key()
        try:
            accepted = await deps.worker.accept(
                NewJournalEntry(
                    key=key,
                    command=command,
                    team_id=team,
                    user_id=user,
                    channel_id=channel,
                    response_url=response_url if deps.response_url_allowed(response_url) else None,
                    accepted_at=now,
                )
            )
        except Exception as exc:
            logger.exception("could not journal a command; refusing it")
            raise NotSaved from exc
        if accepted is None:
            return False
        after_ack(lambda: deps.worker.start_accepted(accepted))
        return True

    async def _show(self, ack: AsyncAck, team: str, room_id: str, zone: UserZone | None) -> None:
        try:
            room = await self._deps.service.room(team, room_id)
        except ServiceError as refusal:
            self._deps.metrics.command("show", "refused")
            await self._refuse(ack, refusal.message, example=refusal.example)
            return
        self._deps.metrics.command("show", "answered")
        tz = blocks.room_zone(room, zone.tz if zone else None)
        await ack(
            response_type="ephemeral",
            blocks=blocks.room_blocks(
                room,
                tz=tz,
                join_url=self._deps.join_url,
                headline=f":information_source: *Room `{room.room_id}`*",
                now=self._deps.clock(),
            ),
            text=blocks.room_summary(room, tz),
        )

    async def _room_channel(self, team: str, room_id: str) -> str:
        """The channel of a room pressed in the App Home ("" when it is not this team's)."""
        try:
            return (await self._deps.service.room(team, room_id)).channel_id
        except ServiceError:
            return ""

    async def _length_for(self, team: str, user: str) -> timedelta:
        """A form's default length: the person's own (App Home), else the workspace's."""
        home = self._deps.home
        return self._deps.default_length if home is None else await home.personal_length(team, user)

    async def _open_modal(self, trigger_id: str, team: str, user: str, channel: str | None) -> None:
        client = self._deps.people.client
        try:
            zone = await self._deps.people.zone(team, user)
            view = room_modal(
                ModalContext(tz=zone.tz, locale=zone.locale, channel_id=channel),
                default_length=await self._length_for(team, user),
            )
            await client.views_open(trigger_id=trigger_id, view=view)
        except (SlackApiError, TryLater) as exc:
            logger.warning("could not open the room form: %s", exc)
            if channel:
                message = (
                    "The room form could not open in time (Slack allows 3 seconds). "
                    "Try `/room` again, or type the room: `/room create tomorrow 9am-5pm`."
                )
                await client.chat_postEphemeral(
                    channel=channel,
                    user=user,
                    text=message,
                    blocks=blocks.error_blocks(message),
                )

    @staticmethod
    async def _refuse(ack: AsyncAck, message: str, *, example: str | None = None) -> None:
        await ack(
            response_type="ephemeral",
            blocks=blocks.error_blocks(message, example=example),
            text=message[:3000],
        )


_CHANGE_VERBS = {
    "extend": "extend",
    "reschedule": "reschedule",
    "move": "reschedule",
    "end": "end",
    "rename": "rename",
    "add": "add",
    "remove": "remove",
    "delete": "delete",
    "cancel": "delete",
}


def _typed_verb(text: str) -> str:
    """The verb a refused-for-now command starts with, for the words of its ack."""
    first = text.split(maxsplit=1)[0].casefold() if text else ""
    return _CHANGE_VERBS.get(first, "create")


NOT_SAVED = (
    "roombot could not save your command just now (its database did not answer), so nothing "
    "was done. Please try again in a minute."
)
UNUSABLE_REQUEST = (
    "This request names a workspace, person or channel whose Slack id is longer than "
    f"{MAX_SLACK_ID_LENGTH} characters, which roombot cannot record, so nothing was done."
)


class NotSaved(Exception):
    """The command was not journalled, so not accepted; *message* tells the person why."""

    def __init__(self, message: str = NOT_SAVED) -> None:
        super().__init__(message)
        self.message = message


_KEY_SPACE = uuid.UUID("5c1e0b5e-4a0b-4b5e-9a57-726f6f6d626f")  # journal keys from signatures


def _team_of(body: dict[str, Any]) -> str:
    """The workspace the payload came from (the organisation for an org-wide install:
    `bot.slack.workspaces`); a guest's own team (`user.team_id`) is not it."""
    team = body.get("team")
    if isinstance(team, dict) and team.get("id"):
        return workspace_scope(body, str(team["id"]))
    user = body.get("user")
    return workspace_scope(body, str(user.get("team_id") or "") if isinstance(user, dict) else "")
