"""A modal's input blocks as questions a console can ask, and the answers as Slack's state.

Slack's client turns a person's clicks into `view.state.values`: `{block_id: {action_id:
{"type": element type, <value key>: value}}}`. Here each input block becomes one question,
answered with one line of text, read per element type (`@alice @bob` for a users select,
`y` for a single checkbox, `2026-12-03 14:00` for a date-time picker in the person's zone…).
What Slack's own client would refuse before sending (a malformed date, a channel that does not
exist, an empty required field) is refused here with `FieldError`, and asked again at once.
Anything the bot refuses comes back as `response_action: errors`, shown by the console.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

DATE_TIME_FORMAT = "%Y-%m-%d %H:%M"
YES = frozenset({"y", "yes", "on", "true", "1", "x"})
NO = frozenset({"", "n", "no", "off", "false", "0"})


class FieldError(ValueError):
    """An answer the Slack client itself would not accept; the message says what works."""


@dataclass(frozen=True)
class Field:
    """One input block of a modal."""

    block_id: str
    action_id: str
    kind: str
    label: str
    optional: bool
    hint: str
    element: Mapping[str, Any]

    @property
    def options(self) -> list[Mapping[str, Any]]:
        return [o for o in self.element.get("options", []) if isinstance(o, Mapping)]


@dataclass(frozen=True)
class Workspace:
    """What reading answers needs to know of the person and their workspace."""

    tz: str
    current_channel: str
    user_id: Callable[[str], str]  # a person's name -> their id (made if new)
    channel_id: Callable[[str], str | None]  # a channel's name -> its id
    channel_name: Callable[[str], str]  # an id -> the name


def _plain(obj: Any) -> str:
    return str(obj.get("text", "")) if isinstance(obj, Mapping) else ""


def fields_of(view: Mapping[str, Any]) -> list[Field]:
    """The modal's input blocks, in order."""
    fields = []
    for block in view.get("blocks", []):
        element = block.get("element") if isinstance(block, Mapping) else None
        if block.get("type") != "input" or not isinstance(element, Mapping):
            continue
        fields.append(
            Field(
                block_id=str(block.get("block_id", "")),
                action_id=str(element.get("action_id", "")),
                kind=str(element.get("type", "")),
                label=_plain(block.get("label")),
                optional=bool(block.get("optional", False)),
                hint=_plain(block.get("hint")),
                element=element,
            )
        )
    return fields


def question(field: Field, workspace: Workspace) -> str:
    """The prompt for *field*, saying what an answer looks like."""
    kind = field.kind
    if kind == "datetimepicker":
        shape = f"YYYY-MM-DD HH:MM, {workspace.tz}"
    elif kind == "datepicker":
        shape = "YYYY-MM-DD"
    elif kind == "timepicker":
        shape = "HH:MM"
    elif kind == "multi_users_select":
        shape = "@names"
    elif kind == "users_select":
        shape = "@name"
    elif kind in {"conversations_select", "channels_select"}:
        default = _default_channel(field, workspace)
        shape = "#channel" + (f"; Enter: #{workspace.channel_name(default)}" if default else "")
    elif kind == "checkboxes" and len(field.options) == 1:
        shape = f"{_plain(field.options[0].get('text'))}? y/N"
    elif kind in {"checkboxes", "static_select", "radio_buttons", "multi_static_select"}:
        shape = ", ".join(f"{n} {_plain(o.get('text'))}" for n, o in enumerate(field.options, 1))
    else:
        shape = ""
    has_default = field.kind in {"conversations_select", "channels_select"} and bool(
        _default_channel(field, workspace)
    )
    notes = [note for note in (shape, "" if field.optional or has_default else "required") if note]
    described = f" ({'; '.join(notes)})" if notes else ""
    return f"  {field.label}{described}: "


def _default_channel(field: Field, workspace: Workspace) -> str | None:
    if field.element.get("default_to_current_conversation"):
        return workspace.current_channel
    initial = field.element.get("initial_conversation") or field.element.get("initial_channel")
    return str(initial) if initial else None


def answer(field: Field, text: str, workspace: Workspace) -> dict[str, Any]:
    """The element state for *text*; raises FieldError for what Slack's client would refuse."""
    text = text.strip()
    reader = _READERS.get(field.kind)
    if reader is None:
        state: dict[str, Any] = {}
    else:
        state = reader(field, text, workspace)
    if not field.optional and all(v in (None, [], "") for v in state.values()):
        raise FieldError(f"{field.label} is required.")
    return {"type": field.kind, **state}


def empty(field: Field, workspace: Workspace) -> dict[str, Any]:
    """The state of a field left alone (its initial value, if any)."""
    try:
        return answer(field, "", workspace)
    except FieldError:
        return {"type": field.kind}


def _text(field: Field, text: str, workspace: Workspace) -> dict[str, Any]:
    initial = field.element.get("initial_value")
    limit = field.element.get("max_length")
    if isinstance(limit, int) and len(text) > limit:
        raise FieldError(f"{field.label} takes at most {limit} characters.")
    return {"value": text or initial or None}


def _moment(text: str, fmt: str, example: str, field: Field) -> datetime:
    try:
        return datetime.strptime(text, fmt)
    except ValueError:
        raise FieldError(f"Write {field.label} as {example}.") from None


def _date_time(field: Field, text: str, workspace: Workspace) -> dict[str, Any]:
    if not text:
        return {"selected_date_time": field.element.get("initial_date_time")}
    local = _moment(text, DATE_TIME_FORMAT, "2026-12-03 14:00", field)
    return {"selected_date_time": int(local.replace(tzinfo=ZoneInfo(workspace.tz)).timestamp())}


def _date(field: Field, text: str, workspace: Workspace) -> dict[str, Any]:
    if not text:
        return {"selected_date": field.element.get("initial_date")}
    return {"selected_date": f"{_moment(text, '%Y-%m-%d', '2026-12-03', field):%Y-%m-%d}"}


def _time(field: Field, text: str, workspace: Workspace) -> dict[str, Any]:
    if not text:
        return {"selected_time": field.element.get("initial_time")}
    return {"selected_time": f"{_moment(text, '%H:%M', '14:00', field):%H:%M}"}


_PERSON = re.compile(r"[A-Za-z][\w.-]{0,40}")


def _names(text: str) -> list[str]:
    names = [n.lstrip("@") for n in text.replace(",", " ").split() if n.lstrip("@")]
    wrong = [n for n in names if not _PERSON.fullmatch(n)]
    if wrong:
        raise FieldError(f"{wrong[0]!r} is not a person's name; name people as @alice @bob.")
    return names


def _users(field: Field, text: str, workspace: Workspace) -> dict[str, Any]:
    if not text:
        return {"selected_users": list(field.element.get("initial_users") or [])}
    ids: list[str] = []
    for name in _names(text):
        user = workspace.user_id(name)
        if user not in ids:
            ids.append(user)
    return {"selected_users": ids}


def _user(field: Field, text: str, workspace: Workspace) -> dict[str, Any]:
    names = _names(text)
    if len(names) > 1:
        raise FieldError(f"{field.label} takes one person, e.g. @alice.")
    selected = workspace.user_id(names[0]) if names else field.element.get("initial_user")
    return {"selected_user": selected}


def _channel(field: Field, text: str, workspace: Workspace) -> dict[str, Any]:
    key = "selected_conversation" if field.kind == "conversations_select" else "selected_channel"
    if not text:
        return {key: _default_channel(field, workspace)}
    channel = workspace.channel_id(text.lstrip("#"))
    if channel is None:
        raise FieldError(f"There is no channel {text}; try #general.")
    return {key: channel}


def _picked(field: Field, text: str) -> list[Mapping[str, Any]]:
    """Options chosen by number or by (the start of) their text."""
    options = field.options
    chosen: list[Mapping[str, Any]] = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        if part.isdigit() and 1 <= int(part) <= len(options):
            found = [options[int(part) - 1]]
        else:
            found = [
                o for o in options if _plain(o.get("text")).casefold().startswith(part.casefold())
            ]
        if len(found) != 1:
            numbers = ", ".join(f"{n} {_plain(o.get('text'))}" for n, o in enumerate(options, 1))
            raise FieldError(f"Choose {field.label} by number: {numbers}.")
        chosen.append(found[0])
    return chosen


def _checkboxes(field: Field, text: str, workspace: Workspace) -> dict[str, Any]:
    options = field.options
    if len(options) == 1:
        word = text.casefold()
        if word not in YES | NO:
            raise FieldError(f"Answer {field.label} with y or n.")
        return {"selected_options": [dict(options[0])] if word in YES else []}
    return {"selected_options": [dict(o) for o in _picked(field, text)]}


def _select(field: Field, text: str, workspace: Workspace) -> dict[str, Any]:
    if field.kind == "multi_static_select":
        return {"selected_options": [dict(o) for o in _picked(field, text)]}
    picked = _picked(field, text)
    if len(picked) > 1:
        raise FieldError(f"{field.label} takes one choice.")
    return {"selected_option": dict(picked[0]) if picked else None}


_READERS: dict[str, Callable[[Field, str, Workspace], dict[str, Any]]] = {
    "plain_text_input": _text,
    "number_input": _text,
    "email_text_input": _text,
    "url_text_input": _text,
    "datetimepicker": _date_time,
    "datepicker": _date,
    "timepicker": _time,
    "multi_users_select": _users,
    "users_select": _user,
    "conversations_select": _channel,
    "channels_select": _channel,
    "checkboxes": _checkboxes,
    "static_select": _select,
    "radio_buttons": _select,
    "multi_static_select": _select,
}
