"""Link unfurls: a roombot room link pasted in Slack becomes a small card of that room.

Slack sends `link_shared` for links on the app's unfurl domains (manifest.yml's
`features.unfurl_domains`, the host of ROOMBOT_PUBLIC_URL) and shows what `chat.unfurl` returns
under the message. Only the shareable room link (`{ROOMBOT_PUBLIC_URL}/rooms/{room_id}`) is
unfurled, and only for a room of the workspace the link was pasted in: a link to another
workspace's room, or to no room, is left alone, so an unfurl never tells anyone that a room
exists, nor anything about it.

The card says what the room is now (title, window as `<!date>` tokens each reader sees in their
own zone, live state) and carries the card's own Join button, so a press goes through the same
checks as on the room's card (a personal link for people on the roster, a knock for others).
The work happens after the ack: reading the rooms and calling Slack is never in its way.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from slack_sdk.errors import SlackApiError

from bot.domain import RoomRecord, RoomState
from bot.mrkdwn import escape
from bot.service.outcomes import ServiceError
from bot.service.rooms import RoomService
from bot.service.worker import JournalWorker
from bot.slack import blocks
from bot.slack.after_ack import after_ack
from bot.slack.blocks import Block, context, room_zone, window_text
from bot.slack.errors import error_code
from bot.slack.people import SlackPeople

logger = logging.getLogger("roombot.slack.unfurl")

EVENT = "link_shared"
MAX_UNFURLS = 5
"""Links read from one message: Slack itself sends a message's links in one event, a handful at
most; a forged event with hundreds must not cost hundreds of database reads."""
_ROOM_PATH = re.compile(r"^/rooms/(\d{1,32})/?$")


def unfurl_domain(public_url: str) -> str:
    """The domain to list in the manifest's `features.unfurl_domains` for *public_url*.

    Slack matches the host alone (no scheme, port or path), in lower case.
    """
    host = urlsplit(public_url).hostname
    if not host:
        raise ValueError(f"{public_url!r} has no host")
    return host.lower()


class RoomLinks:
    """The shareable room links under one ROOMBOT_PUBLIC_URL: made and recognised."""

    def __init__(self, public_url: str) -> None:
        self._base = public_url.rstrip("/")
        parts = urlsplit(self._base)
        self._scheme = parts.scheme.lower()
        self._netloc = parts.netloc.lower()
        self._path = parts.path

    def link(self, room_id: str) -> str:
        return f"{self._base}/rooms/{room_id}"

    def room_id(self, url: str) -> str | None:
        """The room a pasted link names; None for any other link (another host, path, port)."""
        try:
            parts = urlsplit(url.strip())
        except ValueError:
            return None
        if parts.scheme.lower() != self._scheme or parts.netloc.lower() != self._netloc:
            return None
        if not parts.path.startswith(self._path + "/"):
            return None
        found = _ROOM_PATH.match(parts.path[len(self._path) :])
        return found.group(1) if found else None


def live_state(room: RoomRecord, now: datetime) -> str:
    """What the room is at *now*, in words: upcoming, open, ended or deleted."""
    if room.state is RoomState.ENDED:
        return ":checkered_flag: Ended"
    if not room.active:
        return ":wastebasket: Deleted"
    if now < room.valid_from:
        return ":hourglass_flowing_sand: Not open yet"
    if now < room.valid_until:
        return ":large_green_circle: Open now"
    return ":checkered_flag: Closed"


def unfurl_blocks(
    room: RoomRecord, *, link: str, now: datetime, join_url: str | None
) -> list[Block]:
    """The small card under a pasted room link: title, window, live state, Join."""
    title = escape(room.title) if room.title else f"Room {room.room_id}"
    people = len(room.participants)
    card: list[Block] = [
        blocks.section(f":video_camera: *<{link}|{title}>*"),
        context(
            window_text(room.valid_from, room.valid_until, room_zone(room)),
            f"{live_state(room, now)} · {people} participant{'s' * (people != 1)}",
        ),
    ]
    if room.active and now < room.valid_until:
        join = blocks.join_button(room, join_url)
        card.append({"type": "actions", "block_id": f"room:{room.room_id}", "elements": [join]})
    return card


class Unfurler:
    """The `link_shared` listener: acks, then unfurls the room links of that workspace."""

    def __init__(
        self,
        *,
        service: RoomService,
        links: RoomLinks | None,
        people: SlackPeople,
        worker: JournalWorker,
        clock: Callable[[], datetime],
        join_url: str | None = None,
        allowed_channels: frozenset[str] = frozenset(),
    ) -> None:
        self._service = service
        self._links = links
        self._people = people
        self._worker = worker
        self._clock = clock
        self._join_url = join_url
        self._allowed_channels = allowed_channels

    async def on_link_shared(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        links = self._links
        team = str(body.get("team_id") or "")
        channel = str(event.get("channel") or "")
        if links is None:
            return  # no ROOMBOT_PUBLIC_URL, so no room links: a domain listed by mistake
        if self._allowed_channels and channel not in self._allowed_channels:
            return  # roombot is not enabled there: it says nothing, not even about a room
        urls = [
            str(link.get("url"))
            for link in event.get("links") or []
            if isinstance(link, Mapping) and isinstance(link.get("url"), str)
        ][:MAX_UNFURLS]
        wanted = [(url, room) for url in urls if (room := links.room_id(url)) is not None]
        if not wanted or not team:
            return
        after_ack(
            lambda: self._worker.spawn(self._unfurl(team, event, links, wanted), name="unfurl")
        )

    async def _unfurl(
        self,
        team: str,
        event: Mapping[str, Any],
        links: RoomLinks,
        wanted: list[tuple[str, str]],
    ) -> None:
        now = self._clock()
        unfurls: dict[str, dict[str, Any]] = {}
        for url, room_id in wanted:
            try:
                room = await self._service.room(team, room_id)
            except ServiceError:
                continue  # no such room here: nothing is said about it
            card = unfurl_blocks(room, link=links.link(room_id), now=now, join_url=self._join_url)
            unfurls[url] = {"blocks": card}
        if not unfurls:
            return
        where: dict[str, Any]
        if event.get("unfurl_id") and event.get("source"):
            where = {"unfurl_id": str(event["unfurl_id"]), "source": str(event["source"])}
        else:
            where = {"channel": str(event.get("channel") or ""), "ts": event.get("message_ts")}
        try:
            await self._people.client.chat_unfurl(unfurls=unfurls, **where)
        except SlackApiError as exc:
            logger.warning("could not unfurl %d room links: %s", len(unfurls), error_code(exc))
