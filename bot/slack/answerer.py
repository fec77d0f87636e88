"""Answering a journalled command in Slack.

A new room is posted with `chat.postMessage` so its message has a `ts` that later changes can
`chat.update`; where the bot cannot post (a private channel it is not in, a DM) it falls back
to the command's response_url with `in_channel`. Refusals and notes to the person who asked
go to the response_url while Slack still accepts it (30 minutes, 5 uses — counted in the
journal, atomically across replicas), else `chat.postEphemeral`. Channel posts are paced to
about one a second per channel, as Slack asks.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.service.outcomes import Outcome, Refused, RoomChanged
from bot.slack import blocks
from bot.store.journal import Journal
from bot.store.records import JournalEntry, PostedMessage

logger = logging.getLogger("roombot.slack")

_HEADLINES = {
    "extend": ":calendar: *Room extended* by <@{actor}>",
    "add": ":busts_in_silhouette: *Participants updated* by <@{actor}>",
    "remove": ":busts_in_silhouette: *Participants updated* by <@{actor}>",
}
_CONFIRMATIONS = {
    "create": "Room `{room}` is ready.",
    "extend": "Room `{room}` now closes at {until}.",
    "add": "Room `{room}` participants updated.",
    "remove": "Room `{room}` participants updated.",
    "delete": "Room `{room}` was deleted.",
}


class ChannelPacer:
    """A token bucket per channel: a burst of *burst* posts, then one every *interval* s."""

    def __init__(
        self,
        interval: float = 1.0,
        burst: int = 3,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._interval = interval
        self._burst = burst
        self._monotonic = monotonic
        self._next: dict[str, float] = {}

    async def wait(self, channel: str) -> None:
        if self._interval <= 0:
            return
        now = self._monotonic()
        earliest = now - self._interval * (self._burst - 1)
        slot = max(self._next.get(channel, earliest), earliest)
        self._next[channel] = slot + self._interval
        if slot > now:
            await asyncio.sleep(slot - now)


class SlackAnswerer:
    """The service's `Answerer`, speaking Block Kit."""

    def __init__(
        self,
        *,
        client: AsyncWebClient,
        http: aiohttp.ClientSession,
        journal: Journal,
        join_url: str | None,
        pacer: ChannelPacer | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._client = client
        self._http = http
        self._journal = journal
        self._join_url = join_url
        self._pacer = pacer or ChannelPacer()
        self._clock = clock or (lambda: datetime.now(UTC))

    async def answer(self, entry: JournalEntry, outcome: Outcome) -> PostedMessage | None:
        if isinstance(outcome, Refused):
            await self.tell(entry, blocks.error_blocks(outcome.message, example=outcome.example))
            return None
        return await self._show_room(entry, outcome)

    async def delayed(self, entry: JournalEntry, reason: str) -> None:
        await self.tell(
            entry,
            blocks.working_blocks(
                f"This is taking longer than usual: {reason} I will keep trying and post "
                "here as soon as it is done."
            ),
        )

    async def tell(self, entry: JournalEntry, message_blocks: list[blocks.Block]) -> None:
        """An ephemeral note to the person who asked."""
        text = _plain(message_blocks)
        if await self._post_response(
            entry, {"response_type": "ephemeral", "blocks": message_blocks, "text": text}
        ):
            return
        await self._client.chat_postEphemeral(
            channel=entry.channel_id, user=entry.user_id, blocks=message_blocks, text=text
        )

    async def _show_room(self, entry: JournalEntry, outcome: RoomChanged) -> PostedMessage | None:
        room = outcome.room
        headline = _HEADLINES.get(outcome.verb, "").format(actor=outcome.actor_id) or None
        room_blocks = blocks.room_blocks(
            room, tz=outcome.tz, join_url=self._join_url, headline=headline
        )
        text = blocks.room_summary(room, outcome.tz)
        # A room whose message is known is updated, whatever the verb: a create resumed after a
        # crash between posting and being marked answered must not post the room twice.
        if room.message is not None:
            await self._pacer.wait(room.message.channel_id)
            try:
                await self._client.chat_update(
                    channel=room.message.channel_id,
                    ts=room.message.ts,
                    blocks=room_blocks,
                    text=text,
                )
            except SlackApiError as exc:
                logger.warning("could not update the message of room %s: %s", room.room_id, exc)
            else:
                await self.tell(entry, [blocks.section(self._confirmation(outcome))])
                return None
        return await self._post_room(entry, room_blocks, text)

    async def _post_room(
        self, entry: JournalEntry, room_blocks: list[blocks.Block], text: str
    ) -> PostedMessage | None:
        await self._pacer.wait(entry.channel_id)
        try:
            response = await self._client.chat_postMessage(
                channel=entry.channel_id, blocks=room_blocks, text=text, unfurl_links=False
            )
        except SlackApiError as exc:
            logger.info("chat.postMessage refused (%s); using the response_url", exc)
            payload = {"response_type": "in_channel", "blocks": room_blocks, "text": text}
            if await self._post_response(entry, payload):
                return None
            raise
        return PostedMessage(channel_id=str(response["channel"]), ts=str(response["ts"]))

    def _confirmation(self, outcome: RoomChanged) -> str:
        until = blocks.slack_date(outcome.room.valid_until, outcome.tz)
        template = _CONFIRMATIONS.get(outcome.verb, "Done.")
        return template.format(room=outcome.room.room_id, until=until)

    async def _post_response(self, entry: JournalEntry, payload: dict[str, Any]) -> bool:
        """Post to the response_url if Slack still takes it; False to use the Web API."""
        if entry.response_url is None:
            return False
        if not await self._journal.note_response_url_use(entry.key, now=self._clock()):
            return False
        try:
            async with self._http.post(
                entry.response_url, json=payload, timeout=aiohttp.ClientTimeout(total=10)
            ) as response:
                if response.status == 200:
                    return True
                logger.info("response_url answered %s; using the Web API", response.status)
        except (aiohttp.ClientError, TimeoutError) as exc:
            logger.info("response_url failed (%s); using the Web API", type(exc).__name__)
        return False


def _plain(message_blocks: list[blocks.Block]) -> str:
    parts = []
    for block in message_blocks:
        if "text" in block:
            parts.append(block["text"]["text"])
        for element in block.get("elements", []):
            if element.get("type") == "mrkdwn":
                parts.append(element["text"])
    return " ".join(parts)[:3000]
