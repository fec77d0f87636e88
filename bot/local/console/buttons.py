"""Finding the button a person means: `:press 2`, `:press Extend`, `:press ROOM_ID Delete`.

A card's buttons are its `actions` blocks' (and sections' accessory) button elements, in the
order Slack draws them. Without a room id the card is the last one the console showed; with
one, the newest visible card whose buttons carry that room id.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from bot.local.fake_slack import Ephemeral, FakeSlack, Message

Posted = Message | Ephemeral


class HasBlocks(Protocol):
    """A card, a note or a Home tab: anything Slack draws from blocks."""

    @property
    def blocks(self) -> list[dict[str, Any]]: ...


_ROOM_ID = re.compile(r"^\d{6,}$")


@dataclass(frozen=True)
class Button:
    label: str
    block_id: str
    element: Mapping[str, Any]


@dataclass(frozen=True)
class Choice:
    """What `:press` was asked: a room id, a button number, a label (each optional)."""

    room_id: str | None
    number: int | None
    label: str


def parse_choice(argument: str) -> Choice:
    room_id: str | None = None
    number: int | None = None
    words: list[str] = []
    for word in argument.split():
        if _ROOM_ID.match(word) and room_id is None:
            room_id = word
        elif word.isdigit() and number is None and not words:
            number = int(word)
        else:
            words.append(word)
    return Choice(room_id, number, " ".join(words))


def buttons_of(posted: HasBlocks) -> list[Button]:
    found = []
    for block in posted.blocks:
        elements = [*block.get("elements", []), block.get("accessory") or {}]
        for element in elements:
            if isinstance(element, Mapping) and element.get("type") == "button":
                text = element.get("text")
                label = str(text.get("text", "")) if isinstance(text, Mapping) else ""
                found.append(Button(label, str(block.get("block_id", "")), element))
    return found


def card_for_room(slack: FakeSlack, room_id: str, viewer: str) -> Posted | None:
    """The newest card still showing buttons for *room_id*: channel first, then *viewer*'s notes."""
    visible: Iterable[Posted] = [
        *reversed([m for m in slack.messages if not m.deleted]),
        *reversed([e for e in slack.ephemerals if e.user == viewer and not e.deleted]),
    ]
    for posted in visible:
        if any(
            b.element.get("value") == room_id or b.block_id == f"room:{room_id}"
            for b in buttons_of(posted)
        ):
            return posted
    return None


def pick(buttons: list[Button], choice: Choice) -> Button | str:
    """The chosen button, or a sentence saying why none is (with the buttons there are)."""
    listed = "  ".join(f"{n} [{b.label}]" for n, b in enumerate(buttons, 1))
    if choice.number is not None and not choice.label:
        if 1 <= choice.number <= len(buttons):
            return buttons[choice.number - 1]
        return f"There is no button {choice.number}; the card has {listed}."
    if not choice.label:
        return f"Which button? The card has {listed}; e.g. :press 2 or :press {buttons[0].label}"
    wanted = choice.label.casefold()
    exact = [b for b in buttons if b.label.casefold() == wanted]
    starting = [b for b in buttons if b.label.casefold().startswith(wanted)]
    matches = exact or starting
    if len(matches) == 1:
        return matches[0]
    if not matches:
        return f"No button is called {choice.label!r}; the card has {listed}."
    return f"{choice.label!r} could be more than one button: {listed}. Use its number."
