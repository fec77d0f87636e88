"""The console's steps, run on the bot's loop: each sends what Slack would and says what changed.

A step posts one signed request to the bot (a slash command, a button press, a modal
submission), waits until everything it started has been answered (`LocalBot.settle`), and
returns the lines the channel now shows, plus the modal it opened, if any. The fake Slack's
workspace is saved after every step, so a later run can manage what this one made.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.local.console import home, payloads, workspace
from bot.local.console.buttons import Button, Choice, Posted, buttons_of, card_for_room, pick
from bot.local.console.form import Field
from bot.local.console.transcript import Transcript
from bot.local.dev_cli import ME, LocalBot, NotSettled
from bot.local.fake_slack import View
from bot.local.fake_slack_home import HomeTab

logger = logging.getLogger("roombot.local.console")
PERSON = re.compile(r"[A-Za-z][\w.-]{0,40}")  # what the console turns into a local person
FORM_OPENS_WITHIN = 5.0  # seconds; Slack's trigger ids last 3


@dataclass
class Step:
    lines: list[str] = field(default_factory=list)
    view: View | None = None
    ack: dict[str, Any] = field(default_factory=dict)


class Session:
    """One person's conversation with the local bot (who they are can change: `act_as`)."""

    def __init__(self, bot: LocalBot, *, raw: bool, workspace_file: Path | None) -> None:
        self.bot = bot
        self.user_id = ME[0]
        self._workspace_file = workspace_file
        if workspace_file is not None:
            workspace.restore(bot.slack, workspace_file)
        self.transcript = Transcript(bot.slack, raw=raw)
        self.home_shown: tuple[str, str] | None = None
        """(person, version) of the Home last printed: its buttons are `:press`'s until a card
        with buttons is shown after it, or someone else acts."""
        self._last_card_then: Posted | None = None
        self._unfurl_shown: home.Unfurled | None = None
        """The unfurl last printed with buttons (under a pasted link); like the Home, its
        buttons are `:press`'s until a card with buttons is shown after it."""

    @property
    def user_name(self) -> str:
        user = self.bot.slack.users.get(self.user_id)
        return user.name if user is not None else self.user_id

    def act_as(self, name: str) -> str:
        """Act as the local person *name* (made if new); returns a line saying who that is.

        Raises ValueError, with what would work, for what cannot be a person's name.
        """
        name = name.lstrip("@")
        if not PERSON.fullmatch(name):
            raise ValueError(f"{name!r} cannot be a person's name here; e.g. :as alice")
        self.user_id = self.bot.user(name)
        user = self.bot.slack.users[self.user_id]
        self._save()
        return f"  You are @{user.name} ({user.tz})."

    def users(self) -> list[str]:
        return [f"  @{user.name} ({user.id}, {user.tz})" for user in self.bot.slack.users.values()]

    async def command(self, line: str) -> Step:
        slack = self.bot.slack
        views, said = len(slack.views), len(slack.ephemerals) + len(slack.messages)
        ack = await self.bot.command(line, user_id=self.user_id)
        step = Step(ack=ack)
        if ack.get("error"):
            step.lines.append(f"  ! the bot answered {ack['error']}")
        # The ack as Slack showed it, before the answer replaces or removes it.
        step.lines += self.transcript.changes(self.user_id)
        await self._settle(step)
        if not ack:  # an empty ack: `/room` opens a form, unless it could not
            step.view = await self._opened_view(views, said)
        step.lines += self._changes()
        return step

    async def _opened_view(self, views_before: int, said: int) -> View | None:
        """The view this person's command opened, or None when the bot said something else."""
        slack = self.bot.slack

        def outcome(fake: Any) -> View | bool | None:
            for view in fake.views[views_before:]:
                if view.user == self.user_id:
                    return view  # type: ignore[no-any-return]
            return len(fake.ephemerals) + len(fake.messages) > said

        try:
            found = await slack.wait_for(outcome, timeout=FORM_OPENS_WITHIN)
        except TimeoutError:
            return None
        return found if isinstance(found, View) else None

    async def open_home(self) -> Step:
        """`/home`: the person opens roombot's Home tab; the Home the bot publishes."""
        step = Step(lines=self._changes())  # anything earlier steps left, before the Home
        await home.open_home(self, step)
        return step

    async def paste(self, text: str) -> Step:
        """The person posts *text* (a room link, say) to the channel; the bot may unfurl it."""
        step = Step()
        message = await home.paste(self, text, step)
        await self._settle(step)
        step.lines += self._changes()
        unfurled = home.unfurled(self, message) if message is not None else None
        if unfurled is not None and buttons_of(unfurled):
            self._unfurl_shown = unfurled
            self.home_shown = None
            self._last_card_then = self.transcript.last_card
        return step

    def mark_home_shown(self, tab: HomeTab) -> None:
        self.home_shown = (tab.user, tab.hash)
        self._unfurl_shown = None
        self._last_card_then = self.transcript.last_card

    def current_home(self) -> HomeTab | None:
        """The Home `:press` acts on: the last thing shown with buttons, and this person's."""
        if self.home_shown is None or self.home_shown[0] != self.user_id:
            return None
        if self.transcript.last_card is not self._last_card_then:
            return None  # a card with buttons was shown since
        return self.bot.slack.home.tab(self.user_id)

    def current_unfurl(self) -> home.Unfurled | None:
        """The unfurl `:press` acts on: the last thing shown with buttons."""
        if self._unfurl_shown is None:
            return None
        if self.transcript.last_card is not self._last_card_then:
            return None
        return self._unfurl_shown

    def find_button(
        self, argument: Choice
    ) -> tuple[Posted | HomeTab | home.Unfurled, Button] | str:
        """The card and button `:press` means, or a sentence saying why there is none."""
        # The Home or an unfurl shown since the last card: what the person is looking at.
        aside = (self.current_unfurl() or self.current_home()) if argument.room_id is None else None
        if aside is not None:
            picked = pick(buttons_of(aside), argument)
            return (aside, picked) if isinstance(picked, Button) else picked
        if argument.room_id is not None:
            card = card_for_room(self.bot.slack, argument.room_id, self.user_id)
            if card is None:
                return (
                    f"No card here shows room {argument.room_id} with buttons; "
                    f"`/room show {argument.room_id}` shows it with its buttons."
                )
        else:
            card = self.transcript.last_card
            if card is None:
                return "No card with buttons yet; create a room first, e.g. /room create tomorrow"
        buttons = buttons_of(card) if not card.deleted else []
        if not buttons:
            return (
                "The last card shown has no buttons any more; "
                "press another by its room id, e.g. :press ROOM_ID Extend"
            )
        chosen = pick(buttons, argument)
        return (card, chosen) if isinstance(chosen, Button) else chosen

    async def press(self, card: Posted | HomeTab | home.Unfurled, button: Button) -> Step:
        slack = self.bot.slack
        views = len(slack.views)
        if isinstance(card, HomeTab):
            ack = await home.press_home(self, card, button)
        elif isinstance(card, home.Unfurled):
            ack = await home.press_unfurl(self, card, button)
        else:
            payload = payloads.block_actions(
                slack, card, dict(button.element), block_id=button.block_id, user_id=self.user_id
            )
            ack = await self.bot.post_signed(
                payloads.form_body(payload), "application/x-www-form-urlencoded"
            )
        step = Step(ack=ack)
        if ack.get("error"):
            step.lines.append(f"  ! the bot answered {ack['error']}")
        await self._settle(step)
        if isinstance(card, HomeTab):
            await self.bot.runtime.worker.drain(home.ANSWER_WITHIN)  # its redraw, its form
        step.view = next((v for v in slack.views[views:] if v.user == self.user_id), None)
        step.lines += self._changes()
        if isinstance(card, HomeTab):
            self._home_again(step)
        return step

    def _home_again(self, step: Step) -> None:
        """After a press in the Home: the Home again if the bot redrew it (Slack redraws it
        in place; the console prints it anew, marked as edited). The person is still looking
        at their Home, so `:press` keeps pressing its buttons."""
        tab = self.bot.slack.home.tab(self.user_id)
        if tab is None:
            return
        if self.home_shown != (tab.user, tab.hash):
            step.lines += home.home_lines(self, tab, edited=True)
        self.mark_home_shown(tab)

    async def submit(self, view: View, values: dict[str, Any], fields: list[Field]) -> Step:
        """Submit *view* with *values*; the ack's `errors` come back in `Step.ack`."""
        slack = self.bot.slack
        response_urls = []
        for item in fields:
            state = values.get(item.block_id, {}).get(item.action_id, {})
            channel = state.get("selected_conversation") or state.get("selected_channel")
            if item.element.get("response_url_enabled") and channel in slack.channels:
                response_urls.append(
                    {
                        "block_id": item.block_id,
                        "action_id": item.action_id,
                        "channel_id": channel,
                        "response_url": slack.new_response_url(channel, self.user_id),
                    }
                )
        payload = payloads.view_submission(
            slack, view, values, user_id=self.user_id, response_urls=response_urls
        )
        ack = await self.bot.post_signed(
            payloads.form_body(payload), "application/x-www-form-urlencoded"
        )
        step = Step(ack=ack)
        if ack.get("error"):
            step.lines.append(f"  ! the bot answered {ack['error']}")
        if ack.get("response_action") == "errors":
            return step
        await self._settle(step)
        step.lines += self._changes()
        return step

    async def close(self, view: View) -> None:
        """The person closed the form: Slack tells the app only if the view asked it to."""
        if view.view.get("notify_on_close"):
            payload = payloads.view_closed(self.bot.slack, view, user_id=self.user_id)
            await self.bot.post_signed(
                payloads.form_body(payload), "application/x-www-form-urlencoded"
            )

    def channel_id(self, name: str) -> str | None:
        slack = self.bot.slack
        wanted = name.lstrip("#")
        if wanted in slack.channels:
            return wanted
        return next((c.id for c in slack.channels.values() if c.name == wanted), None)

    def channel_name(self, channel_id: str) -> str:
        channel = self.bot.slack.channels.get(channel_id)
        return channel.name if channel is not None else channel_id

    def tz(self) -> str:
        user = self.bot.slack.users.get(self.user_id)
        return user.tz if user is not None else "UTC"

    async def _settle(self, step: Step) -> None:
        """Wait for the step's answers; if they are slow, say so and show them when they come."""
        try:
            await self.bot.settle()
        except NotSettled as slow:
            step.lines.append(f"  … {slow}; their answers show after your next step.")

    def _changes(self) -> list[str]:
        lines = self.transcript.changes(self.user_id)
        self._save()
        return lines

    def _save(self) -> None:
        if self._workspace_file is None:
            return
        try:
            workspace.save(self.bot.slack, self._workspace_file)
        except OSError as exc:
            logger.warning("could not save the workspace to %s: %s", self._workspace_file, exc)
