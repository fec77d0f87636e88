"""Answering a journalled command in Slack.

A new room is posted with `chat.postMessage` so its message has a `ts` that later changes can
`chat.update`; where the bot cannot post (a private channel it is not in, a DM) it falls back
to the command's response_url with `in_channel`. Refusals and notes to the person who asked
go to the response_url while Slack still accepts it (30 minutes, 5 uses — counted in the
journal, atomically across replicas), else `chat.postEphemeral`. Channel posts are paced to
about one a second per channel, as Slack asks.

A typed command is acked with a working note ("⏳ Creating your room…"); its answer replaces
that note (`replace_original`: a refusal, a delay, what a change did), or, for a create whose
card is in the channel, deletes it (`delete_original`). Button presses and forms show no note,
and their response_url's original is never replaced.

Slack has no idempotency key for posts, so every room card carries the journal key in its
message metadata. When a post may already have happened (an earlier attempt was cut off after
recording the room, or the connection broke after Slack took the post), the bot looks for that
card in the channel's history before posting, and records it instead of posting again. It looks
only when the token has the `*:history` scopes of manifest.history.yml; installed from the
default manifest.yml, it posts the card again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain import CardChange, JournalEntry, JournalState, PostedMessage
from bot.mrkdwn import escape
from bot.service.outcomes import Outcome, Refused, RoomChanged
from bot.service.ports import ResponseUrlUses
from bot.service.resolved import note_shown
from bot.slack import blocks
from bot.slack.errors import error_code
from bot.slack.scopes import GrantedScopes
from bot.slack.tagged_history import find_tagged, tagged

if TYPE_CHECKING:
    from bot.slack.calls import SlackCallCards

logger = logging.getLogger("roombot.slack")

_CONFIRMATIONS = {
    "create": "Room `{room}` is ready.",
    "extend": "Room `{room}` now closes at {until}.",
    "reschedule": "Room `{room}` now opens at {opens} and closes at {until}.",
    "end": "Room `{room}` has ended; nobody can join it any more.",
    "rename": "Room `{room}` is now called “{title}”.",
    "add": "Room `{room}` participants updated.",
    "remove": "Room `{room}` participants updated.",
    "delete": "Room `{room}` was deleted.",
}

ROOM_POSTED_EVENT = "roombot_room_posted"
"""The metadata event type on every room card; its payload names the journal key and room."""
CANNOT_LOOK = frozenset(
    {
        "missing_scope",  # installed from an older manifest
        "not_in_channel",  # and could not join: a private conversation, an archived channel
        "channel_not_found",
        "method_not_supported_for_channel_type",
        "not_allowed_token_type",
    }
)
"""History errors that will not go away by waiting: the card is posted instead. Any other
error (rate limits, Slack unavailable) fails the answer, which the journal retries."""
CHANNEL_GONE = frozenset(
    {"channel_not_found", "not_in_channel", "is_archived", "channel_is_archived"}
)
"""Posting errors that waiting will not cure: the conversation was deleted or archived, or the
bot was removed from it. With no usable response_url either, the person hears by direct
message (`chat.postMessage` to their user id: the app's DM, which `chat:write` allows)."""


class ChannelPacer:
    """A token bucket per channel: a burst of *burst* posts, then one every *interval* s."""

    def __init__(
        self,
        interval: float = 1.0,
        burst: int = 3,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._interval = interval
        self._burst = burst
        self._monotonic = monotonic
        self._sleep = sleep
        self._next: dict[str, float] = {}

    async def wait(self, channel: str) -> None:
        if self._interval <= 0:
            return
        now = self._monotonic()
        earliest = now - self._interval * (self._burst - 1)
        slot = max(self._next.get(channel, earliest), earliest)
        self._next[channel] = slot + self._interval
        if slot > now:
            await self._sleep(slot - now)


class SlackAnswerer:
    """The service's `Answerer`, speaking Block Kit."""

    def __init__(
        self,
        *,
        client: AsyncWebClient,
        http: aiohttp.ClientSession,
        response_urls: ResponseUrlUses,
        join_url: str | None,
        pacer: ChannelPacer | None = None,
        clock: Callable[[], datetime] | None = None,
        scopes: GrantedScopes | None = None,
        calls: SlackCallCards | None = None,
    ) -> None:
        self._client = client
        self._calls = calls  # with ROOMBOT_PUBLIC_URL: cards carry the room's Slack call
        self._scopes = scopes or GrantedScopes(client)
        self._http = http
        self._response_urls = response_urls
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
                f"This is taking longer than usual: {escape(reason)} I will keep trying and post "
                "here as soon as it is done."
            ),
        )

    async def tell(self, entry: JournalEntry, message_blocks: list[blocks.Block]) -> None:
        """An ephemeral note to the person who asked; it replaces the ack's working note, and
        is a direct message when the channel is gone.

        Replacing costs the same one post as a new note, and leaves no "⏳" behind.
        """
        text = _plain(message_blocks)
        payload: dict[str, Any] = {"response_type": "ephemeral", "blocks": message_blocks}
        if note_shown(entry.command):
            payload["replace_original"] = True
        if await self._post_response(entry, {**payload, "text": text}):
            return
        try:
            await self._client.chat_postEphemeral(
                channel=entry.channel_id, user=entry.user_id, blocks=message_blocks, text=text
            )
        except SlackApiError as exc:
            if error_code(exc) not in CHANNEL_GONE:
                raise
            await self._direct(entry, message_blocks, text, error_code(exc))

    async def last_word(self, entry: JournalEntry, outcome: Outcome) -> bool:
        """After the journal gave up on *entry*: tell its person how it ended by any route
        still open (response_url, ephemeral, direct message); False when none was."""
        if isinstance(outcome, Refused):
            message_blocks = blocks.error_blocks(outcome.message, example=outcome.example)
            routes: tuple[str, ...] = ("tell", "direct")
        else:
            message_blocks = [
                blocks.section(
                    f"Room `{outcome.room.room_id}` is ready, but I could not show it in "
                    f"<#{entry.channel_id}>, so here it is."
                ),
                *blocks.room_blocks(outcome.room, tz=outcome.tz, join_url=self._join_url),
            ]
            routes = ("direct",)
        text = _plain(message_blocks)
        for route in routes:
            try:
                if route == "tell":
                    await self.tell(entry, message_blocks)
                else:
                    await self._direct(entry, message_blocks, text, "gave up")
            except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
                logger.warning("command %s: could not tell by %s (%s)", entry.key, route, exc)
                continue
            return True
        return False

    async def _direct(
        self, entry: JournalEntry, message_blocks: list[blocks.Block], text: str, why: str
    ) -> PostedMessage:
        """A direct message from the app to the person who asked."""
        logger.info("command %s: telling its person directly (%s)", entry.key, why)
        response = await self._client.chat_postMessage(
            channel=entry.user_id, blocks=message_blocks, text=text, unfurl_links=False
        )
        return PostedMessage(channel_id=str(response["channel"]), ts=str(response["ts"]))

    async def _show_room(self, entry: JournalEntry, outcome: RoomChanged) -> PostedMessage | None:
        room = outcome.room
        headline = blocks.change_headline(CardChange(outcome.verb, outcome.actor_id))
        # The card is everyone's: its dates' fallback is in the creator's zone, whoever acted.
        tz = room.tz or outcome.tz
        room_blocks = blocks.room_blocks(
            room, tz=tz, join_url=self._join_url, headline=headline, now=self._clock()
        )
        text = blocks.room_summary(room, tz)
        if self._calls is not None and outcome.card_changed:
            room_blocks = await self._calls.for_card(
                room, room_blocks, verb=outcome.verb, created_by=entry.user_id
            )
        if not outcome.card_changed:  # the command changed nothing: the card already shows it
            await self.tell(entry, [blocks.section(self._confirmation(outcome))])
            return None
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
                await self._card_shown(entry, outcome)
                return None
        if entry.state is JournalState.ROOM_CREATED:
            # An earlier attempt got as far as answering and may have posted before it stopped.
            found = await self._find_room_post(entry)
            if found is not None:
                logger.info("command %s: its room card was already posted", entry.key)
                await self._card_shown(entry, outcome)
                return found
        return await self._post_room(entry, outcome, room_blocks, text)

    async def _card_shown(self, entry: JournalEntry, outcome: RoomChanged) -> None:
        """The card now shows the room: a create's working note goes (the card is its answer);
        a change's note is replaced by what it did."""
        if outcome.verb == "create" and outcome.zone_note:  # the times as the words were read
            note = (
                f"Room `{outcome.room.room_id}` is ready; its times: {escape(outcome.zone_note)}."
            )
            await self.tell(entry, [blocks.context(note)])
        elif outcome.verb == "create":
            await self._drop_note(entry)
        else:
            await self.tell(entry, [blocks.section(self._confirmation(outcome))])

    async def _post_room(
        self,
        entry: JournalEntry,
        outcome: RoomChanged,
        room_blocks: list[blocks.Block],
        text: str,
    ) -> PostedMessage | None:
        room_id = outcome.room.room_id
        await self._pacer.wait(entry.channel_id)
        metadata = {
            "event_type": ROOM_POSTED_EVENT,
            "event_payload": {"journal_key": entry.key, "room_id": room_id},
        }
        try:
            # `api_call`, the Web API client's generic method, with what `chat_postMessage`
            # would send: its wrapper spreads nineteen arguments into a dict, drops the unset,
            # and walks the blocks for Block Kit objects, on every card; ours are plain dicts.
            response = await self._client.api_call(
                "chat.postMessage",
                json={
                    "channel": entry.channel_id,
                    "blocks": room_blocks,
                    "text": text,
                    "unfurl_links": False,
                    "metadata": metadata,
                },
            )
        except SlackApiError as exc:
            logger.info("chat.postMessage refused (%s); using the response_url", error_code(exc))
            # First: once the card is posted through the response_url it is that URL's latest
            # message, and "delete" or "replace the original" would take the card, not the
            # note; so the note goes now, and the card's headline is the whole answer.
            await self._drop_note(entry)
            payload = {"response_type": "in_channel", "blocks": room_blocks, "text": text}
            if await self._post_response(entry, payload):
                return None
            if error_code(exc) not in CHANNEL_GONE:
                raise
            lead = (
                f"I could not post your room in <#{entry.channel_id}> "
                f"(`{error_code(exc)}`), so here it is."
            )
            return await self._direct(
                entry, [blocks.section(lead), *room_blocks], f"{lead} {text}", error_code(exc)
            )
        except (aiohttp.ClientError, TimeoutError):
            # Slack may have posted it and only its answer was lost: look before trying again.
            found = await self._find_room_post(entry)
            if found is not None:
                await self._card_shown(entry, outcome)
                return found
            raise
        await self._card_shown(entry, outcome)
        return PostedMessage(channel_id=str(response["channel"]), ts=str(response["ts"]))

    async def _drop_note(self, entry: JournalEntry) -> None:
        """Delete the ack's "⏳ Creating your room…" once the card shows the room.

        An ephemeral message can only be deleted through the response_url that made it; when
        that is used up or expired the note stays (Slack drops it on reload), nothing else.
        """
        if not note_shown(entry.command) or not entry.response_url_usable(self._clock()):
            return
        # Not reserved in the journal (a database write on every create's hot path): it is the
        # command's last post, and should a later one find the URL used up, it falls back.
        if not await self._post_response(entry, {"delete_original": True}, reserve=False):
            logger.info("command %s: its working note could not be deleted", entry.key)

    async def _find_room_post(self, entry: JournalEntry) -> PostedMessage | None:
        """The room card posted for *entry*, found by its metadata; None if it is not there.

        None also when the bot may not look (installed from the default manifest, without the
        `*:history` scopes of manifest.history.yml; a conversation it cannot join): then the
        caller posts, preferring a card shown twice to a card never shown.
        """
        if not await self._scopes.can_read_history():
            # The default manifest does not ask to read conversations (manifest.history.yml
            # does): without the scopes the lookup is not tried at all.
            logger.info(
                "command %s: no *:history scope granted, so its room card is posted without "
                "looking for an earlier one",
                entry.key,
            )
            return None

        def is_its_card(message: dict[str, Any]) -> bool:
            return tagged(message, ROOM_POSTED_EVENT, journal_key=entry.key)

        joined = False
        while True:
            try:
                found = await find_tagged(
                    self._client, entry.channel_id, since=entry.accepted_at, matches=is_its_card
                )
            except SlackApiError as exc:
                error = error_code(exc)
                if error == "not_in_channel" and not joined:
                    joined = await self._join(entry.channel_id)
                    if joined:
                        continue
                if error not in CANNOT_LOOK:
                    raise  # rate limited, Slack down: try the whole answer again later
                logger.warning(
                    "could not look for command %s's room card in %s (%s); posting it",
                    entry.key,
                    entry.channel_id,
                    error,
                )
                return None
            if found is None:
                return None
            return PostedMessage(channel_id=entry.channel_id, ts=str(found["ts"]))

    async def _join(self, channel_id: str) -> bool:
        try:
            await self._client.conversations_join(channel=channel_id)
        except SlackApiError as exc:
            logger.info("could not join %s to read it (%s)", channel_id, error_code(exc))
            return False
        return True

    def _confirmation(self, outcome: RoomChanged) -> str:
        if outcome.changes is not None:
            return blocks.participant_changes_text(outcome.room.room_id, outcome.changes)
        until = blocks.slack_date(outcome.room.valid_until, outcome.tz)
        opens = blocks.slack_date(outcome.room.valid_from, outcome.tz)
        template = _CONFIRMATIONS.get(outcome.verb, "Done.")
        title = escape(outcome.room.title or "")
        return template.format(room=outcome.room.room_id, until=until, opens=opens, title=title)

    async def _post_response(
        self, entry: JournalEntry, payload: dict[str, Any], *, reserve: bool = True
    ) -> bool:
        """Post to the response_url if Slack still takes it; False to use the Web API."""
        if entry.response_url is None:
            return False
        if reserve and not await self._response_urls.reserve(entry.key):
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
