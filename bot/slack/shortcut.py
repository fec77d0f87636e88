"""The message shortcut "Create a room with these people": the room form, prefilled.

On any message, the shortcut opens the same "Create a room" modal as `/room` (`modal.py`) with
its Attendees picker already holding the message's author and everyone the message mentions
(`<@U…>` in its text and its rich_text blocks), and, when the token may read history (the
optional `*:history` scopes), the people who replied in its thread.

Slack's trigger_id lives 3 seconds, so the form opens first, with what the payload itself says;
only then does the slow work run (who among those people is a bot, the thread's repliers), and
the form is updated with `views.update` (guarded by the view's hash, so an edit the person made
in between is never overwritten by a stale view) when the list changed. Bots, Slackbot,
roombot itself and guests from other workspaces are left out; so is the person pressing the
shortcut, who is the room's presenter anyway (as for `/room create`).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import timedelta
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.errors import SlackApiError

from bot.parsing.timemath import DEFAULT_LENGTH
from bot.service.outcomes import TryLater
from bot.service.worker import JournalWorker
from bot.slack.after_ack import after_ack
from bot.slack.errors import error_code
from bot.slack.modal import MAX_PREFILLED, ModalContext, room_modal
from bot.slack.people import SLACKBOT, SlackPeople

logger = logging.getLogger("roombot.slack.shortcut")

CALLBACK_ID = "create_room_with_people"
_MENTION = re.compile(r"<@([UW][A-Z0-9]{1,20})(?:\|[^<>]*)?>")
MAX_REPLIES = 200
"""Thread replies read for their authors: one page of `conversations.replies`."""


def message_people(message: Mapping[str, Any]) -> list[str]:
    """The message's author (unless a bot posted it) and the people it mentions, in order."""
    found: list[str] = []
    author = message.get("user")
    if isinstance(author, str) and not message.get("bot_id"):
        found.append(author)
    text = message.get("text")
    if isinstance(text, str):
        found += _MENTION.findall(text)
    found += _rich_text_users(message.get("blocks"))
    return list(dict.fromkeys(found))


def _rich_text_users(value: Any) -> Iterator[str]:
    """`user` elements anywhere inside rich_text blocks (sections, lists, quotes)."""
    if isinstance(value, Mapping):
        if value.get("type") == "user" and isinstance(value.get("user_id"), str):
            yield str(value["user_id"])
        for key in ("elements", "blocks"):
            yield from _rich_text_users(value.get(key))
    elif isinstance(value, list):
        for item in value:
            yield from _rich_text_users(item)


class MessageShortcut:
    """The listener, and the work after its ack: open the form, then refine its people."""

    def __init__(
        self,
        *,
        people: SlackPeople,
        worker: JournalWorker,
        default_length: timedelta = DEFAULT_LENGTH,
    ) -> None:
        self._people = people
        self._worker = worker
        self._default_length = default_length

    async def on_shortcut(
        self, ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        await ack()
        message = body.get("message")
        message = message if isinstance(message, Mapping) else {}
        user = body.get("user") or {}
        team = str((body.get("team") or {}).get("id") or user.get("team_id") or "")
        channel = str((body.get("channel") or {}).get("id") or "")
        presser = str(user.get("id") or "")
        leave_out = {presser, SLACKBOT, context.bot_user_id or ""}
        start = [p for p in message_people(message) if p not in leave_out]
        trigger = str(body.get("trigger_id") or "")
        thread = str(message.get("thread_ts") or message.get("ts") or "")
        has_thread = bool(message.get("thread_ts") or message.get("reply_count"))
        after_ack(
            lambda: self._worker.spawn(
                self._open(
                    trigger,
                    team=team,
                    user=presser,
                    channel=channel or None,
                    people=start,
                    thread=thread if has_thread and channel else None,
                    leave_out=leave_out,
                ),
                name="open-shortcut-modal",
            )
        )

    async def _open(
        self,
        trigger: str,
        *,
        team: str,
        user: str,
        channel: str | None,
        people: list[str],
        thread: str | None,
        leave_out: set[str],
    ) -> None:
        client = self._people.client
        try:
            zone = self._people.cached_zone(team, user) or await self._people.zone(team, user)
            modal_context = ModalContext(tz=zone.tz, locale=zone.locale, channel_id=channel)
            opened = await client.views_open(
                trigger_id=trigger, view=self._view(modal_context, people)
            )
        except (SlackApiError, TryLater) as exc:
            logger.warning("could not open the room form from a message: %s", exc)
            if channel:
                message = (
                    "The room form could not open in time (Slack allows 3 seconds). "
                    "Try the shortcut again, or type the room: `/room create tomorrow @alice`."
                )
                await client.chat_postEphemeral(channel=channel, user=user, text=message)
            return
        # The form is open: now the slow part, which may take longer than a trigger lives.
        candidates = list(people)
        if thread is not None and channel is not None:
            candidates += [p for p in await self._repliers(channel, thread) if p not in leave_out]
        wanted = await self._people_only(team, list(dict.fromkeys(candidates)))
        if wanted == people[:MAX_PREFILLED]:
            return
        view = opened.get("view") or {}
        try:
            await client.views_update(
                view_id=str(view.get("id") or ""),
                hash=str(view.get("hash") or ""),
                view=self._view(modal_context, wanted),
            )
        except SlackApiError as exc:
            # hash_conflict: the person changed the form first; theirs stands.
            logger.info("left the room form as it was: %s", error_code(exc))

    def _view(self, context: ModalContext, people: Sequence[str]) -> dict[str, Any]:
        return room_modal(context, default_length=self._default_length, attendees=people)

    async def _repliers(self, channel: str, thread: str) -> list[str]:
        """Who wrote in the thread; nothing when the token may not read it (no history scope)."""
        try:
            response = await self._people.client.conversations_replies(
                channel=channel, ts=thread, limit=MAX_REPLIES
            )
        except SlackApiError as exc:
            logger.info("thread repliers skipped: %s", error_code(exc))
            return []
        messages = response.get("messages")
        return [
            str(m["user"])
            for m in (messages if isinstance(messages, list) else [])
            if isinstance(m, Mapping) and isinstance(m.get("user"), str) and not m.get("bot_id")
        ]

    async def _people_only(self, team: str, candidates: list[str]) -> list[str]:
        """*candidates* without bots or people of other workspaces (Slack Connect guests, whom
        a room of this workspace refuses), looked up together (answers are cached an hour)."""
        candidates = candidates[:MAX_PREFILLED]
        found = await asyncio.gather(
            *(self._people.person(team, c) for c in candidates), return_exceptions=True
        )
        # A look-up that failed keeps the person: the form shows them, and a submission is
        # checked again (bots and other workspaces are refused there with a reason).
        return [
            c
            for c, person in zip(candidates, found, strict=True)
            if isinstance(person, BaseException)
            or (not person.is_bot and person.team_id in (None, team))
        ]
