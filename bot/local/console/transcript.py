"""What the channel shows, as text: new messages, cards edited in place, notes to one person.

A person's own message (a link pasted at the console) is shown with its author and, under
it, the cards Slack unfurled from its links (`chat.unfurl`), each line marked `┃` as Slack
draws an unfurl's bar.

Slack changes a posted card where it stands (`chat.update`, `replace_original`); a terminal
cannot, so a changed card is printed again, marked `(edited)`. A note to one person that the
bot replaces (the ack's "⏳ Working on it…" by the answer) is printed as the new note; one it
takes back (the "⏳" once the card is posted) simply goes. The transcript remembers what it
has printed, so each step shows exactly what that step changed, and anything a cancelled step
left behind shows with the next one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.local.fake_slack import Ephemeral, FakeSlack, Message

Posted = Message | Ephemeral

_EMOJI = {
    ":hourglass_flowing_sand:": "⏳",
    ":video_camera:": "📹",
    ":warning:": "⚠️ ",
    ":wastebasket:": "🗑️ ",
    ":calendar:": "📅",
    ":busts_in_silhouette:": "👥",
    ":information_source:": "ℹ️ ",
    ":link:": "🔗",
    ":large_green_circle:": "🟢",
    ":checkered_flag:": "🏁",
}
UNFURL_BAR = "  ┃ "
_BOLD = re.compile(r"\*([^*\n]+)\*")


def readable(text: str) -> str:
    """Terminal-friendly mrkdwn: emoji codes as emoji, *bold* markers dropped."""
    for code, emoji in _EMOJI.items():
        text = text.replace(code, emoji)
    return _BOLD.sub(r"\1", text)


def has_buttons(posted: Posted) -> bool:
    return any(
        element.get("type") == "button"
        for block in posted.blocks
        for element in [*block.get("elements", []), block.get("accessory") or {}]
        if isinstance(element, Mapping)
    )


@dataclass
class Transcript:
    """Renders what changed in *slack* since the last call of `changes()`."""

    slack: FakeSlack
    raw: bool = False
    _messages: int = 0
    _ephemerals: int = 0
    _versions: dict[int, tuple[int, bool]] = field(default_factory=dict)
    last_card: Posted | None = None

    def __post_init__(self) -> None:
        self.skip_to_now()

    def skip_to_now(self) -> None:
        """Treat everything recorded so far (e.g. restored from an earlier run) as shown."""
        self._messages = len(self.slack.messages)
        self._ephemerals = len(self.slack.ephemerals)
        everything: list[Posted] = [*self.slack.messages, *self.slack.ephemerals]
        for posted in everything:
            self._versions[id(posted)] = (len(posted.edits), posted.deleted)

    def changes(self, viewer: str) -> list[str]:
        """Lines for everything new or changed; ephemerals are labelled for *viewer*."""
        lines: list[str] = []
        old_ephemerals = self.slack.ephemerals[: self._ephemerals]
        new_ephemerals = self.slack.ephemerals[self._ephemerals :]
        old_messages = self.slack.messages[: self._messages]
        new_messages = self.slack.messages[self._messages :]
        for note in new_ephemerals:
            lines += self._posted(note, self._ephemeral_prefix(note, viewer), edited=False)
        for note in old_ephemerals:
            lines += self._if_changed(note, self._ephemeral_prefix(note, viewer))
        for message in old_messages:
            lines += self._if_changed(message, self._channel_prefix(message))
        for message in new_messages:
            lines += self._posted(message, self._channel_prefix(message), edited=False)
        self._messages += len(new_messages)
        self._ephemerals += len(new_ephemerals)
        return lines

    def _if_changed(self, posted: Posted, prefix: str) -> list[str]:
        seen = self._versions.get(id(posted), (0, False))
        if seen == (len(posted.edits), posted.deleted):
            return []
        return self._posted(posted, prefix, edited=True)

    def _posted(self, posted: Posted, prefix: str, *, edited: bool) -> list[str]:
        self._versions[id(posted)] = (len(posted.edits), posted.deleted)
        note = isinstance(posted, Ephemeral)
        if posted.deleted:  # a note taken back (the ack's "⏳" once answered) just goes
            return [f"  {prefix}(a message was deleted)"] if edited and not note else []
        if has_buttons(posted) or edited:  # `:press` acts on the card last shown, never older
            self.last_card = posted
        # A card changes where it stands; a note replaced (the ack's "⏳") reads as the answer.
        marker = "(edited) " if edited and not note else ""
        if isinstance(posted, Message) and posted.via == "user":
            return self._persons_message(posted, prefix + marker)
        return self._render({"text": posted.text, "blocks": posted.blocks}, prefix + marker)

    def _persons_message(self, message: Message, prefix: str) -> list[str]:
        """A person's message, its author named, with the unfurls Slack shows under it."""
        author = self.slack.users.get(message.user or "")
        who = f"@{author.name if author else message.user}: "
        lines = self._render({"text": message.text, "blocks": message.blocks}, prefix + who)
        for blocks in self.slack.ext.unfurls_of(message).values():
            lines += ["  " + UNFURL_BAR + line[2:] for line in self._render({"blocks": blocks}, "")]
        return lines

    def render_blocks(self, blocks: list[dict[str, Any]], prefix: str) -> list[str]:
        """Lines for *blocks* (a Home, an unfurl) as a message's are shown."""
        return self._render({"blocks": blocks}, prefix)

    def _render(self, message: Mapping[str, Any], prefix: str) -> list[str]:
        if self.raw:
            return [prefix + json.dumps(dict(message), indent=2)]
        text = readable(self.slack.render_text(message))
        return [
            ("  " + prefix if index == 0 else "  ") + line
            for index, line in enumerate(text.splitlines() or [""])
        ]

    def _channel_prefix(self, message: Message) -> str:
        channel = self.slack.channels.get(message.channel)
        return f"#{channel.name if channel else message.channel} "

    def _ephemeral_prefix(self, note: Ephemeral, viewer: str) -> str:
        if note.user == viewer:
            return "(only you) "
        user = self.slack.users.get(note.user)
        return f"(only @{user.name if user else note.user}) "
