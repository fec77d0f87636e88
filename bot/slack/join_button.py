"""The room card's Join button, and the knock it becomes for people who were not invited.

Pressed by someone on the room's roster, Join mints a personal link (`JoinService.mint`) and
posts it ephemerally with their role and the window in their zone. Pressed by anyone else, it
knocks: the room's creator and presenters get a direct message with Admit as attendee / Deny,
and the person hears that they were asked. Admit adds them in ACS and sends them their link;
both sides hear every outcome. Everything is answered after the ack (it writes to the
database and may call ACS), as every slow step in roombot is.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.errors import SlackApiError

from bot.logs import scrub_at_source
from bot.service.join import JoinRefused, JoinService, NotInvited
from bot.service.outcomes import TryLater
from bot.service.worker import JournalWorker
from bot.slack import blocks, join_blocks
from bot.slack.after_ack import after_ack
from bot.slack.people import SlackPeople
from bot.slack.workspaces import workspace_scope

if TYPE_CHECKING:
    from bot.slack.calls import SlackCallCards

logger = logging.getLogger("roombot.slack.join")

_ROOM_ID = re.compile(r"^\d{1,32}$")
NOT_DONE = (
    "roombot could not do that just now (its database or Slack did not answer), so nothing "
    "changed. Press the button again in a minute."
)


class JoinButton:
    """Listeners for Join (on the card) and Open the call (on the personal link)."""

    def __init__(
        self,
        *,
        joins: JoinService | None,
        join_url: str | None,
        people: SlackPeople,
        worker: JournalWorker,
        allowed_channels: frozenset[str] = frozenset(),
        calls: SlackCallCards | None = None,
    ) -> None:
        self._joins = joins
        self._calls = calls
        self._join_url = join_url
        self._people = people
        self._worker = worker
        self._allowed_channels = allowed_channels
        scrub_at_source("slack_sdk.web.async_base_client")  # it logs the link's post at DEBUG

    async def on_join(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        if self._join_url:
            return  # the button was a link into the team's own calling app; nothing to add
        room_id = str(action.get("value") or "")
        user = body.get("user") or {}
        user_id = str(user.get("id") or "")
        channel = str((body.get("channel") or {}).get("id") or "")
        if not _ROOM_ID.match(room_id) or not channel or not user_id:
            logger.warning("ignored a Join press with a malformed room id, no channel or user")
            return
        team = _team_of(body)
        name = str(user.get("name") or user.get("username") or user_id)
        answer = self._answer(team=team, user_id=user_id, name=name, channel=channel, room=room_id)
        after_ack(
            lambda: self._worker.spawn(self._heard(answer, channel, user_id), name="join-link")
        )

    async def _answer(self, *, team: str, user_id: str, name: str, channel: str, room: str) -> None:
        if self._allowed_channels and channel not in self._allowed_channels:
            await self._tell(
                channel, user_id, "roombot is not enabled in this channel; ask an admin."
            )
            return
        if self._joins is None:
            await self._tell(channel, user_id, join_blocks.NO_PUBLIC_URL)
            return
        try:
            link = await self._joins.mint(
                team_id=team, user_id=user_id, room_id=room, display_name=name
            )
        except NotInvited:
            await self._knock(team=team, user_id=user_id, name=name, channel=channel, room=room)
            return
        except JoinRefused as refusal:
            await self._tell(channel, user_id, refusal.message)
            return
        tz = await self._tz(team, user_id)
        await self._people.client.chat_postEphemeral(
            channel=channel,
            user=user_id,
            text=join_blocks.personal_link_text(link),
            blocks=join_blocks.personal_link_blocks(link, tz=tz),
        )

    async def _knock(self, *, team: str, user_id: str, name: str, channel: str, room: str) -> None:
        assert self._joins is not None, "only with joins"
        try:
            sent = await self._joins.knock(
                team_id=team, user_id=user_id, room_id=room, display_name=name
            )
        except JoinRefused as refusal:
            await self._tell(channel, user_id, refusal.message)
            return
        asked = 0
        for decider in sent.deciders:
            try:
                await self._people.client.chat_postMessage(
                    channel=decider,
                    text=join_blocks.knock_request_text(sent.knock, sent.room),
                    blocks=join_blocks.knock_request_blocks(
                        sent.knock, sent.room, tz=await self._tz(team, decider)
                    ),
                )
                asked += 1
            except SlackApiError as exc:
                logger.warning("could not ask %s about a knock: %s", decider, _error(exc))
        await self._tell(channel, user_id, join_blocks.knock_sent_message(room, asked), warn=False)

    async def on_admit(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await self._on_decision(ack, body, action, admit=True)

    async def on_deny(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await self._on_decision(ack, body, action, admit=False)

    async def _on_decision(
        self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], *, admit: bool
    ) -> None:
        await ack()
        knock_id = str(action.get("value") or "")
        presser = str((body.get("user") or {}).get("id") or "")
        container = body.get("container") or {}
        channel = str(container.get("channel_id") or (body.get("channel") or {}).get("id") or "")
        message_ts = str(container.get("message_ts") or (body.get("message") or {}).get("ts") or "")
        if not knock_id or not presser or not channel or self._joins is None:
            logger.warning("ignored a knock answer without a knock, a presser or a channel")
            return
        team = _team_of(body)
        decision = self._decide(
            team=team,
            knock_id=knock_id,
            presser=presser,
            channel=channel,
            message_ts=message_ts,
            admit=admit,
        )
        after_ack(
            lambda: self._worker.spawn(self._heard(decision, channel, presser), name="knock-answer")
        )

    async def _heard(self, work: Awaitable[None], channel: str, user_id: str) -> None:
        """Run *work*; if it fails unexpectedly (the database down), the presser still hears."""
        try:
            await work
        except Exception:
            logger.exception("a Join or knock answer failed")
            await self._tell(channel, user_id, NOT_DONE)

    async def _decide(
        self,
        *,
        team: str,
        knock_id: str,
        presser: str,
        channel: str,
        message_ts: str,
        admit: bool,
    ) -> None:
        assert self._joins is not None, "checked by the listener"
        client = self._people.client
        try:
            if admit:
                decided = await self._joins.admit(knock_id=knock_id, team_id=team, by=presser)
            else:
                decided = await self._joins.deny(knock_id=knock_id, team_id=team, by=presser)
        except JoinRefused as refusal:
            await self._tell(channel, presser, refusal.message)
            return
        knock = decided.knock
        if message_ts:
            try:
                await client.chat_update(
                    channel=channel,
                    ts=message_ts,
                    text=f"Request from <@{knock.user_id}> to join room {knock.room_id}: "
                    f"{knock.state.value}",
                    blocks=join_blocks.knock_settled_blocks(knock, first=decided.first),
                )
            except SlackApiError as exc:
                logger.warning("could not update a knock message: %s", _error(exc))
        if not decided.first:
            return
        tz = await self._tz(team, knock.user_id)
        if decided.link is not None:
            await self._direct(
                knock.user_id,
                join_blocks.personal_link_text(decided.link),
                join_blocks.admitted_blocks(decided.link, presser, tz=tz),
            )
        else:
            message = join_blocks.denied_message(knock.room_id)
            await self._direct(knock.user_id, message, [blocks.section(message)])
        room = decided.room
        if room is not None and room.message is not None:
            try:  # the card lists the new attendee, as after `/room add`
                if self._calls is not None:  # with the call block and who is in the call
                    await self._calls.refresh_card(room)
                    return
                await client.chat_update(
                    channel=room.message.channel_id,
                    ts=room.message.ts,
                    text=blocks.room_summary(room, tz),
                    blocks=blocks.room_blocks(room, tz=tz, join_url=self._join_url),
                )
            except SlackApiError as exc:
                logger.warning("could not update the room's card: %s", _error(exc))

    async def _direct(self, user_id: str, text: str, message: list[blocks.Block]) -> None:
        try:
            await self._people.client.chat_postMessage(channel=user_id, text=text, blocks=message)
        except SlackApiError as exc:
            logger.warning("could not message %s: %s", user_id, _error(exc))

    async def _tz(self, team: str, user_id: str) -> str:
        try:
            return (await self._people.zone(team, user_id)).tz
        except TryLater:
            return "UTC"  # the message matters more than the zone its times are written in

    async def _tell(self, channel: str, user_id: str, message: str, *, warn: bool = True) -> None:
        try:
            await self._people.client.chat_postEphemeral(
                channel=channel,
                user=user_id,
                text=message,
                blocks=blocks.error_blocks(message) if warn else [blocks.section(message)],
            )
        except SlackApiError as exc:
            logger.warning("could not answer a Join press: %s", _error(exc))


def _team_of(body: dict[str, Any]) -> str:
    """The payload's scope: its workspace, or the organisation of an org-wide install."""
    team = body.get("team")
    if isinstance(team, dict) and team.get("id"):
        return workspace_scope(body, str(team["id"]))
    user = body.get("user")
    return workspace_scope(body, str(user.get("team_id") or "") if isinstance(user, dict) else "")


def _error(exc: SlackApiError) -> str:
    return str(exc.response.get("error", "error")) if exc.response is not None else "error"
