"""The App Home: a person's upcoming and open rooms, their own defaults, and Create a room.

`app_home_opened` publishes the Home tab (`views.publish`) for the person who opened it, and
records that they have one; that Home is published again whenever a room they are in changes
(`HomeViews.refresh`, called by the room watch after every change), so it never shows a stale
window or a deleted room. People who never opened the tab have no view to refresh and cost a
change nothing.

Each room shows the room card's own buttons (`blocks.room_blocks`), kept to what the person
may do: Join for people on the roster, Extend and Delete for those who may change the room.
Extend and Delete go through the card's listeners (the room's channel stands in for the one a
card press carries); Join from the Home answers in a direct message, since the Home has no
channel to answer in. Rooms are listed a page at a time (`PAGE_SIZE`, well inside Slack's
100 blocks per view) with a Show more button.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.errors import SlackApiError

from bot.domain import DEFAULT_REMINDER_LEAD as DEFAULT_LEAD
from bot.domain import Preferences, RoomRecord
from bot.service.join import JoinRefused, JoinService
from bot.service.outcomes import TryLater
from bot.service.ports import HomeRecords, RoomLookup
from bot.service.worker import JournalWorker
from bot.slack import blocks, join_blocks
from bot.slack.after_ack import after_ack
from bot.slack.errors import error_code
from bot.slack.modal import ModalContext, room_modal
from bot.slack.people import SlackPeople
from bot.slack.reminders import pressed_in_reminder

logger = logging.getLogger("roombot.slack.home")

ACTION_CREATE = "home_create"
ACTION_MORE = "home_more"
ACTION_LENGTH = "home_default_length"
ACTION_REMINDERS = "home_reminders"
HOME_ACTIONS = (ACTION_CREATE, ACTION_MORE, ACTION_LENGTH, ACTION_REMINDERS)

PAGE_SIZE = 20
"""Rooms per page: 3 blocks each plus 8 around them stays well inside Slack's 100."""
MAX_VIEW_BLOCKS = 100
WORKSPACE_DEFAULT = "workspace"
LENGTH_CHOICES = (30, 45, 60, 90, 120, 180, 240, 480, 1440)
"""Default lengths a person can pick, in minutes."""


def length_words(minutes: int) -> str:
    if minutes % 1440 == 0:
        return f"{minutes // 1440} day" + ("s" if minutes > 1440 else "")
    if minutes % 60 == 0:
        return f"{minutes // 60} hour" + ("s" if minutes > 60 else "")
    return f"{minutes} minutes"


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


@dataclass(frozen=True, slots=True)
class HomePage:
    """What one publication of a person's Home shows."""

    user_id: str
    rooms: Sequence[RoomRecord]
    total: int
    page: int
    preferences: Preferences
    tz: str
    now: datetime
    workspace_length: timedelta


def home_view(
    page: HomePage, *, may_change: Callable[[RoomRecord, str], bool], join_url: str | None
) -> dict[str, Any]:
    """The Home tab's view: header, Create, the person's defaults, then their rooms."""
    prefs = page.preferences
    own = prefs.default_length
    length = int((own or page.workspace_length).total_seconds() // 60)
    length_note = "" if own else " (the workspace's default)"
    reminders = (
        f"on, {length_words(int(DEFAULT_LEAD.total_seconds() // 60))} before a room opens "
        "(unless the room says otherwise)"
        if prefs.reminders
        else "off"
    )
    view_blocks: list[blocks.Block] = [
        {"type": "header", "text": _plain("Your rooms")},
        {
            "type": "actions",
            "block_id": "home:create",
            "elements": [
                {
                    "type": "button",
                    "action_id": ACTION_CREATE,
                    "text": _plain("Create a room"),
                    "style": "primary",
                    "value": "create",
                }
            ],
        },
        blocks.section(
            f"*Your defaults* · rooms made with the form last *{length_words(length)}*"
            f"{length_note} · reminders *{reminders}*"
        ),
        _preferences_actions(prefs),
        {"type": "divider"},
    ]
    if not page.rooms:
        view_blocks.append(
            blocks.section(
                "_You have no upcoming rooms._ Press *Create a room*, or type "
                "`/room create tomorrow 9am @alice` in a channel."
            )
        )
    for room in page.rooms:
        view_blocks.extend(_room_blocks(room, page, may_change=may_change, join_url=join_url))
    shown_to = page.page * PAGE_SIZE + len(page.rooms)
    if page.total > len(page.rooms) or page.page > 0:
        view_blocks.append(
            blocks.context(f"Rooms {page.page * PAGE_SIZE + 1}–{shown_to} of {page.total}")
        )
        paging: list[blocks.Block] = []
        if shown_to < page.total:
            paging.append(_button(ACTION_MORE, "Show more", str(page.page + 1)))
        if page.page > 0:
            paging.append(_button(ACTION_MORE, "Back to the first", "0"))
        view_blocks.append({"type": "actions", "block_id": "home:pages", "elements": paging})
    assert len(view_blocks) <= MAX_VIEW_BLOCKS, "PAGE_SIZE keeps the Home inside Slack's limit"
    return {"type": "home", "callback_id": "roombot_home", "blocks": view_blocks}


def _button(action_id: str, text: str, value: str) -> blocks.Block:
    return {"type": "button", "action_id": action_id, "text": _plain(text), "value": value}


def _preferences_actions(prefs: Preferences) -> blocks.Block:
    options = [{"text": _plain("Workspace default"), "value": WORKSPACE_DEFAULT}] + [
        {"text": _plain(length_words(minutes)), "value": str(minutes)} for minutes in LENGTH_CHOICES
    ]
    own = prefs.default_length
    current = str(int(own.total_seconds() // 60)) if own else WORKSPACE_DEFAULT
    initial = next((o for o in options if o["value"] == current), options[0])
    return {
        "type": "actions",
        "block_id": "home:preferences",
        "elements": [
            {
                "type": "static_select",
                "action_id": ACTION_LENGTH,
                "placeholder": _plain("Default length"),
                "options": options,
                "initial_option": initial,
            },
            _button(
                ACTION_REMINDERS,
                "Turn reminders off" if prefs.reminders else "Turn reminders on",
                "off" if prefs.reminders else "on",
            ),
        ],
    }


def _room_blocks(
    room: RoomRecord,
    page: HomePage,
    *,
    may_change: Callable[[RoomRecord, str], bool],
    join_url: str | None,
) -> list[blocks.Block]:
    user = page.user_id
    participant = room.participant(user)
    role = participant.role.value.lower() if participant else "not on the list"
    if user == room.creator_id:
        role += ", you created it"
    title = f"*{room.title}*" if room.title else "*Room*"
    open_now = " · :large_green_circle: *open now*" if room.valid_from <= page.now else ""
    text = (
        f"{title} · `{room.room_id}`{open_now}\n"
        f"{blocks.window_text(room.valid_from, room.valid_until, page.tz)}\n"
        f"You: *{role}* · in <#{room.channel_id}>"
    )
    card = blocks.room_blocks(room, tz=page.tz, join_url=join_url, now=page.now)
    wanted = {blocks.ACTION_EXTEND, blocks.ACTION_DELETE} if may_change(room, user) else set()
    if participant is not None:
        wanted.add(blocks.ACTION_JOIN)
    buttons = [
        element
        for block in card
        if block.get("type") == "actions"
        for element in block["elements"]
        if element.get("action_id") in wanted
    ]
    shown: list[blocks.Block] = [blocks.section(text)]
    if buttons:
        shown.append({"type": "actions", "block_id": f"room:{room.room_id}", "elements": buttons})
    shown.append({"type": "divider"})
    return shown


def pressed_in_home(body: dict[str, Any]) -> bool:
    """Whether a block action came from the Home tab (a view with no channel), not a card."""
    view = body.get("view")
    return isinstance(view, dict) and view.get("type") == "home" and not body.get("channel")


class HomeViews:
    """Publishes people's Home tabs and answers the Home's own buttons."""

    def __init__(
        self,
        *,
        store: HomeRecords,
        registry: RoomLookup,
        people: SlackPeople,
        worker: JournalWorker,
        may_change: Callable[[RoomRecord, str], bool],
        workspace_length: timedelta,
        join_url: str | None = None,
        joins: JoinService | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._registry = registry
        self._people = people
        self._worker = worker
        self._may_change = may_change
        self._workspace_length = workspace_length
        self._join_url = join_url
        self._joins = joins
        self._clock = clock
        self._publishing: set[tuple[str, str]] = set()
        self._stale: set[tuple[str, str]] = set()

    async def personal_length(self, team_id: str, user_id: str) -> timedelta:
        """The length a room made with the form lasts for this person when they name none."""
        own = (await self._store.preferences(team_id, user_id)).default_length
        return own or self._workspace_length

    async def publish(self, team_id: str, user_id: str, page: int = 0) -> None:
        """Publish *user_id*'s Home: page *page* of their rooms (0 is the first)."""
        now = self._clock()
        ids, total = await self._store.room_ids_of(
            team_id, user_id, now=now, limit=PAGE_SIZE, offset=page * PAGE_SIZE
        )
        if not ids and page > 0:  # the rooms of that page are gone: show the first instead
            page = 0
            ids, total = await self._store.room_ids_of(team_id, user_id, now=now, limit=PAGE_SIZE)
        rooms = await self._registry.get_many(ids)
        try:
            tz = (await self._people.zone(team_id, user_id)).tz
        except TryLater:
            tz = "UTC"
        view = home_view(
            HomePage(
                user_id=user_id,
                rooms=rooms,
                total=total,
                page=page,
                preferences=await self._store.preferences(team_id, user_id),
                tz=tz,
                now=now,
                workspace_length=self._workspace_length,
            ),
            may_change=self._may_change,
            join_url=self._join_url,
        )
        await self._people.client.views_publish(user_id=user_id, view=view)

    async def republish(self, team_id: str, users: Iterable[str]) -> None:
        """Publish again the Homes of *users*, whose Homes are known to be opened (a room
        change read that with its reminders: `RoomWatch`).

        A person whose Home is being published already is published once more after it (not
        once per change), so a burst of changes costs each person two publishes at most. Best
        effort, one person at a time: a Home that cannot be published now is published afresh
        when next opened.
        """
        for user in sorted(set(users)):
            key = (team_id, user)
            if key in self._publishing:
                self._stale.add(key)  # the running publish goes round once more
                continue
            self._publishing.add(key)
            try:
                await self._publish_until_fresh(team_id, user)
            finally:
                self._publishing.discard(key)
                self._stale.discard(key)

    async def _publish_until_fresh(self, team_id: str, user: str) -> None:
        while True:
            self._stale.discard((team_id, user))
            try:
                await self.publish(team_id, user)
            except (SlackApiError, TryLater) as exc:
                reason = error_code(exc) if isinstance(exc, SlackApiError) else str(exc)
                logger.info("could not refresh the Home of %s: %s", user, reason)
                return
            if (team_id, user) not in self._stale:
                return

    # --- listeners --------------------------------------------------------------------------

    def register(self, app: AsyncApp) -> None:
        """The Home's event and buttons; call before the card's listeners, so a Join pressed
        in the Home is answered here (Bolt runs the first listener that matches)."""
        app.event("app_home_opened")(self.on_home_opened)
        app.action(ACTION_CREATE)(self.on_create)
        app.action(ACTION_MORE)(self.on_more)
        app.action(ACTION_LENGTH)(self.on_length)
        app.action(ACTION_REMINDERS)(self.on_reminders)
        app.action(blocks.ACTION_JOIN, matchers=[_from_home])(self.on_join)  # and reminders

    async def on_home_opened(self, event: dict[str, Any], body: dict[str, Any]) -> None:
        if event.get("tab") != "home":
            return  # the Messages tab: nothing to publish
        user = str(event.get("user") or "")
        team = str(body.get("team_id") or "")
        if user and team:
            self._later(self._opened(team, user), "home-publish")

    async def on_create(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        team, user = _who(body)
        trigger = str(body.get("trigger_id") or "")
        self._later(self._open_form(trigger, team, user), "home-create")

    async def on_more(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        team, user = _who(body)
        value = str(action.get("value") or "0")
        page = int(value) if value.isdigit() and len(value) < 6 else 0
        self._later(self.publish(team, user, page), "home-page")

    async def on_length(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        team, user = _who(body)
        value = str((action.get("selected_option") or {}).get("value") or "")
        if value != WORKSPACE_DEFAULT and not (value.isdigit() and int(value) in LENGTH_CHOICES):
            logger.warning("ignored a default length that is not one of the Home's choices")
            return
        length = None if value == WORKSPACE_DEFAULT else timedelta(minutes=int(value))

        async def save() -> None:
            prefs = await self._store.preferences(team, user)
            await self._store.set_preferences(
                team,
                user,
                Preferences(default_length=length, reminders=prefs.reminders),
                now=self._clock(),
            )
            await self.publish(team, user)

        self._later(save(), "home-length")

    async def on_reminders(
        self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]
    ) -> None:
        await ack()
        team, user = _who(body)
        wanted = str(action.get("value") or "") == "on"

        async def save() -> None:
            prefs = await self._store.preferences(team, user)
            await self._store.set_preferences(
                team,
                user,
                Preferences(default_length=prefs.default_length, reminders=wanted),
                now=self._clock(),
            )
            await self.publish(team, user)

        self._later(save(), "home-reminders")

    async def on_join(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        if self._join_url:
            return  # the button was a link into the team's own calling app
        team, user = _who(body)
        room = str(action.get("value") or "")
        name = str((body.get("user") or {}).get("name") or user)
        self._later(self._send_link(team, user, room, name), "home-join")

    # --- work after the ack -----------------------------------------------------------------

    def _later(self, work: Awaitable[None], name: str) -> None:
        after_ack(lambda: self._worker.spawn(work, name=name))

    async def _opened(self, team: str, user: str) -> None:
        await self._store.mark_opened(team, user, now=self._clock())
        await self.publish(team, user)

    async def _open_form(self, trigger_id: str, team: str, user: str) -> None:
        zone = await self._people.zone(team, user)
        view = room_modal(
            ModalContext(tz=zone.tz, locale=zone.locale, channel_id=None),
            default_length=await self.personal_length(team, user),
        )
        await self._people.client.views_open(trigger_id=trigger_id, view=view)

    async def _send_link(self, team: str, user: str, room: str, name: str) -> None:
        client = self._people.client
        if self._joins is None:
            await _direct(client, user, join_blocks.NO_PUBLIC_URL)
            return
        try:
            link = await self._joins.mint(
                team_id=team, user_id=user, room_id=room, display_name=name
            )
        except JoinRefused as refusal:
            await _direct(client, user, refusal.message)
            return
        tz = (await self._people.zone(team, user)).tz
        await client.chat_postMessage(
            channel=user,
            text=join_blocks.personal_link_text(link),
            blocks=join_blocks.personal_link_blocks(link, tz=tz),
            unfurl_links=False,
        )


async def _from_home(body: dict[str, Any]) -> bool:
    return pressed_in_home(body) or pressed_in_reminder(body)


async def _direct(client: Any, user: str, message: str) -> None:
    await client.chat_postMessage(channel=user, text=message, blocks=blocks.error_blocks(message))


def _who(body: dict[str, Any]) -> tuple[str, str]:
    """(team, user) of an interaction; the payload's team, not a guest's own."""
    user = body.get("user") or {}
    team = body.get("team")
    team_id = str(team.get("id") or "") if isinstance(team, dict) else ""
    return team_id or str(user.get("team_id") or ""), str(user.get("id") or "")
