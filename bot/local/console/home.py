"""The console's `/home` and the pasted link: the two things a person does outside `/room`.

`/home` is roombot's Home tab opened in Slack's sidebar: the fake Slack sends `app_home_opened`
signed, as Slack does, and the console prints what the bot published with `views.publish`. Its
buttons are then the ones `:press` presses (until another card with buttons is shown), and a
press is the `block_actions` Slack sends from a Home (`container.type` `view`), so the bot
reads it through the code that reads Slack's.

A line with a link in it is a message the person posts to the channel. When Slack would send
`link_shared` for it (a link on the app's unfurl domain), the fake sends it signed, and the
console shows the message with the card the bot unfurled under it; `:press Join` then presses
the unfurl's Join, sent as Slack sends a press in an app's unfurl.

The bot publishes a Home and unfurls a link after its ack, as tracked background work, so
each step waits for that work (`JournalWorker.drain`) and, for the Home, for the publish it
asked for, each with a deadline: a bot that never answers is reported, not waited for.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from bot.local.console import payloads
from bot.local.console.buttons import Button
from bot.local.fake_slack import Message
from bot.local.fake_slack_ext import links_in
from bot.local.fake_slack_home import HomeTab

if TYPE_CHECKING:
    from bot.local.console.session import Session, Step

ANSWER_WITHIN = 10.0  # seconds for the bot's work after the ack (a publish, an unfurl)
UNFURL_WITHIN = 2.0  # seconds; a room link to no room is never unfurled, so this is all it costs
_ROOM_PATH = re.compile(r"/rooms/\d+/?$")
HOME_PREFIX = "(your Home) "
NO_HOME = "  ! The bot published no Home within {within:g} s; see var/dev.log."


def publishes(session: Session) -> int:
    """How many times the bot has published the acting person's Home."""
    user = session.user_id
    return len(
        [c for c in session.bot.slack.calls_to("views.publish") if c.params.get("user_id") == user]
    )


def home_lines(session: Session, tab: HomeTab, *, edited: bool = False) -> list[str]:
    """The Home as text, with the transcript's renderer (emoji, `[Buttons]`, dates)."""
    prefix = HOME_PREFIX + ("(edited) " if edited else "")
    return session.transcript.render_blocks(tab.blocks, prefix)


async def open_home(session: Session, step: Step) -> None:
    """`/home`: Slack's `app_home_opened`, then the Home the bot published for it."""
    bot, user = session.bot, session.user_id
    before = publishes(session)
    event = bot.slack.home.app_home_opened(user)
    ack = await bot.post_signed(json.dumps(event), "application/json")
    if ack.get("error"):
        step.lines.append(f"  ! the bot answered {ack['error']}")
        return
    try:
        await bot.slack.wait_for(lambda _: publishes(session) > before, timeout=ANSWER_WITHIN)
    except TimeoutError:
        step.lines.append(NO_HOME.format(within=ANSWER_WITHIN))
        return
    await bot.runtime.worker.drain(ANSWER_WITHIN)  # a refresh racing this one is done too
    show_home(session, step)


def show_home(session: Session, step: Step) -> None:
    """Print the acting person's Home and make its buttons the ones `:press` presses."""
    tab = session.bot.slack.home.tab(session.user_id)
    if tab is None:
        return
    step.lines += home_lines(session, tab)
    session.mark_home_shown(tab)


async def press_home(session: Session, tab: HomeTab, button: Button) -> dict[str, Any]:
    """A press of *button* on *tab*, posted signed as Slack sends it; returns the bot's ack."""
    element = button.element
    action: dict[str, Any] = {
        "type": "button",
        "action_id": element.get("action_id", ""),
        "block_id": button.block_id,
        "text": dict(element.get("text") or {}),
    }
    for key in ("value", "style", "confirm"):
        if key in element:
            action[key] = element[key]
    payload = session.bot.slack.home.home_action(session.user_id, action)
    return await session.bot.post_signed(
        payloads.form_body(payload), "application/x-www-form-urlencoded"
    )


def is_room_link(session: Session, url: str) -> bool:
    """Whether *url* is a shareable room link of this bot (`{public}/rooms/ROOM_ID`)."""
    public = session.bot.runtime.settings.public_url
    if not public:
        return False
    ours, theirs = urlsplit(public), urlsplit(url)
    same_host = (theirs.hostname or "").lower() == (ours.hostname or "").lower()
    return same_host and _ROOM_PATH.search(theirs.path) is not None


async def paste(session: Session, text: str, step: Step) -> Message | None:
    """The person posts *text* to the channel; a room link on it is unfurled by the bot.

    Returns the message when Slack told the bot about its links (so it may be unfurled)."""
    bot = session.bot
    escaped = bot.escape(text)
    event = bot.slack.ext.share_link(session.user_id, escaped)
    if event is None:
        return None  # no link Slack would tell the app about: the message is all there is
    message = bot.slack.messages[-1]
    ack = await bot.post_signed(json.dumps(event), "application/json")
    if ack.get("error"):
        step.lines.append(f"  ! the bot answered {ack['error']}")
        return message
    await bot.runtime.worker.drain(ANSWER_WITHIN)
    if any(is_room_link(session, url) for url in links_in(escaped)):
        # The unfurl starts once the ack is written; a link to no room is never unfurled.
        # Its task may start a moment after the ack arrives here: wait for it, briefly.
        with contextlib.suppress(TimeoutError):
            await bot.slack.wait_for(
                lambda fake: fake.ext.unfurls_of(message), timeout=UNFURL_WITHIN
            )
        await bot.runtime.worker.drain(ANSWER_WITHIN)
    return message


@dataclass(frozen=True)
class Unfurled:
    """The card the bot unfurled under one link of a person's message: its buttons press."""

    message: Message
    url: str
    blocks: list[dict[str, Any]]


def unfurled(session: Session, message: Message) -> Unfurled | None:
    """The last unfurl under *message* (the one printed last), if the bot made any."""
    shown = session.bot.slack.ext.unfurls_of(message)
    if not shown:
        return None
    url, blocks = list(shown.items())[-1]
    return Unfurled(message, url, blocks)


async def press_unfurl(session: Session, card: Unfurled, button: Button) -> dict[str, Any]:
    """A press in an unfurl, as Slack sends it: the container is the app's unfurl (an
    attachment of the person's message), with the message and a response_url."""
    slack, user = session.bot.slack, session.user_id
    payload = payloads.block_actions(
        slack, card.message, dict(button.element), block_id=button.block_id, user_id=user
    )
    payload["container"] = {
        "type": "message_attachment",
        "message_ts": card.message.ts,
        "attachment_id": 1,
        "channel_id": card.message.channel,
        "is_ephemeral": False,
        "is_app_unfurl": True,
        "app_unfurl_url": card.url,
    }
    return await session.bot.post_signed(
        payloads.form_body(payload), "application/x-www-form-urlencoded"
    )
