"""The room card's Join button: answers the person who pressed it, and only them.

Pressed by someone on the room's roster, it mints a personal link (`JoinService.mint`) and
posts it ephemerally with their role and the window in their zone. The answer is posted after
the ack (minting writes to the database), as every slow step in roombot is.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.errors import SlackApiError

from bot.logs import scrub_at_source
from bot.service.join import JoinRefused, JoinService
from bot.service.outcomes import TryLater
from bot.service.worker import JournalWorker
from bot.slack import blocks, join_blocks
from bot.slack.after_ack import after_ack
from bot.slack.people import SlackPeople

logger = logging.getLogger("roombot.slack.join")

_ROOM_ID = re.compile(r"^\d{1,32}$")


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
    ) -> None:
        self._joins = joins
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
        after_ack(
            lambda: self._worker.spawn(
                self._answer(team=team, user_id=user_id, name=name, channel=channel, room=room_id),
                name="join-link",
            )
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
        except JoinRefused as refusal:
            await self._tell(channel, user_id, refusal.message)
            return
        try:
            tz = (await self._people.zone(team, user_id)).tz
        except TryLater:
            tz = "UTC"  # the link matters more than the zone its times are written in
        await self._people.client.chat_postEphemeral(
            channel=channel,
            user=user_id,
            text=join_blocks.personal_link_text(link),
            blocks=join_blocks.personal_link_blocks(link, tz=tz),
        )

    async def _tell(self, channel: str, user_id: str, message: str) -> None:
        try:
            await self._people.client.chat_postEphemeral(
                channel=channel, user=user_id, text=message, blocks=blocks.error_blocks(message)
            )
        except SlackApiError as exc:
            logger.warning("could not answer a Join press: %s", exc.response.get("error"))


def _team_of(body: dict[str, Any]) -> str:
    team = body.get("team")
    if isinstance(team, dict) and team.get("id"):
        return str(team["id"])
    user = body.get("user")
    return str(user.get("team_id") or "") if isinstance(user, dict) else ""
