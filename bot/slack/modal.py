"""The "Create a room" modal: the view, and reading a submission into a command or errors.

A submission is untrusted input: every value is read defensively (a forged or malformed
payload gets errors keyed by block id, never an exception), and the window goes through the
same parser, with the same messages, as `/room create` typed as text.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain import Role
from bot.mrkdwn import escape, unescape
from bot.parsing import commands as parsed
from bot.parsing.grammar import two_roles_message
from bot.parsing.parser import parse
from bot.parsing.timemath import DEFAULT_LENGTH
from bot.parsing.titles import MAX_TITLE
from bot.parsing.zone_checks import locale_or_default, usable_tz
from bot.service.resolved import ResolvedCommand

CALLBACK_ID = "create_room_modal"
WHEN, START, END, DIAL_OUT, POST_TO = "when", "start", "end", "dial_out", "post_to"
TITLE = "title"
ROLE_BLOCKS = {
    "presenters": Role.PRESENTER,
    "collaborators": Role.COLLABORATOR,
    "attendees": Role.ATTENDEE,
    "consumers": Role.CONSUMER,
}
MAX_WHEN_LENGTH = 200
MAX_PREFILLED = 100
"""People a picker is opened with, at most: a message naming more is cut short, not refused."""
_PICKER_RANGE = (946_684_800, 4_102_444_800)  # 2000-01-01 .. 2100-01-01: any real pick


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def _input(
    block_id: str,
    label: str,
    element: dict[str, Any],
    *,
    hint: str | None = None,
    optional: bool = True,
) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "input",
        "block_id": block_id,
        "label": _plain(label),
        "element": element,
        "optional": optional,
    }
    if hint:
        block["hint"] = _plain(hint)
    return block


@dataclass(frozen=True, slots=True)
class ModalContext:
    """What the modal remembers between opening and submission (in `private_metadata`)."""

    tz: str
    locale: str
    channel_id: str | None

    def dump(self) -> str:
        return json.dumps({"tz": self.tz, "locale": self.locale, "channel": self.channel_id})

    @classmethod
    def load(cls, text: str) -> ModalContext | None:
        """The context the form was opened with; None when it was not roombot's.

        A forged submission controls `private_metadata`: the zone must be a usable IANA key
        (a 300-character one made `ZoneInfo` fail with `OSError`), the locale a language tag
        (else en-US, as when Slack does not say).
        """
        try:
            data = json.loads(text)
        except ValueError:
            return None
        if not isinstance(data, dict):
            return None
        tz = usable_tz(data.get("tz"))
        channel = data.get("channel")
        if tz is None or not (channel is None or isinstance(channel, str)):
            return None
        return cls(tz, locale_or_default(data.get("locale")), channel or None)


def room_modal(
    context: ModalContext,
    *,
    when: str = "",
    default_length: timedelta = DEFAULT_LENGTH,
    attendees: Sequence[str] = (),
) -> dict[str, Any]:
    """The modal view; *when* pre-fills the natural-language field, *attendees* the
    Attendees picker (the message shortcut's people)."""
    when_element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": "text",
        "max_length": MAX_WHEN_LENGTH,
        "placeholder": _plain("tomorrow 9am-5pm · next week · jan 20 - jan 22"),
    }
    if when:
        when_element["initial_value"] = when[:MAX_WHEN_LENGTH]
    blocks: list[dict[str, Any]] = [
        _input(
            TITLE,
            "Title",
            {
                "type": "plain_text_input",
                "action_id": "text",
                "max_length": MAX_TITLE,
                "placeholder": _plain("Design review"),
            },
            hint="Heads the room's card and list; optional.",
        ),
        _input(
            WHEN,
            "When",
            when_element,
            hint=f"In your time zone ({context.tz}). Or leave it empty and pick a start and end "
            f"below; with neither, the room opens now for {_length_words(default_length)}.",
        ),
        _input(START, "Starts", {"type": "datetimepicker", "action_id": "at"}),
        _input(END, "Ends", {"type": "datetimepicker", "action_id": "at"}),
    ]
    for block_id, role in ROLE_BLOCKS.items():
        picker: dict[str, Any] = {
            "type": "multi_users_select",
            "action_id": "users",
            "placeholder": _plain("Choose people"),
        }
        if role is Role.ATTENDEE and attendees:
            picker["initial_users"] = list(dict.fromkeys(attendees))[:MAX_PREFILLED]
        blocks.append(_input(block_id, f"{role.value}s", picker))
    blocks.append(
        _input(
            DIAL_OUT,
            "Phone",
            {
                "type": "checkboxes",
                "action_id": "enabled",
                "options": [
                    {"text": _plain("Allow dialling out to phone numbers (PSTN)"), "value": "on"}
                ],
            },
        )
    )
    blocks.append(
        _input(
            POST_TO,
            "Post to",
            {
                "type": "conversations_select",
                "action_id": "channel",
                "default_to_current_conversation": True,
                "response_url_enabled": True,
                "filter": {
                    "include": ["public", "private", "im", "mpim"],
                    "exclude_bot_users": True,
                },
            },
            optional=False,
        )
    )
    return {
        "type": "modal",
        "callback_id": CALLBACK_ID,
        "title": _plain("Create a room"),
        "submit": _plain("Create"),
        "close": _plain("Cancel"),
        "private_metadata": context.dump(),
        "blocks": blocks,
    }


# block id -> (the key its value is under, the type that value must have)
_EXPECTED: dict[str, tuple[str, type]] = {
    TITLE: ("value", str),
    WHEN: ("value", str),
    START: ("selected_date_time", int),
    END: ("selected_date_time", int),
    **{block_id: ("selected_users", list) for block_id in ROLE_BLOCKS},
    DIAL_OUT: ("selected_options", list),
    POST_TO: ("selected_conversation", str),
}


def _well_typed(block: Any, expected: tuple[str, type]) -> bool:
    """True when *block* is `{action_id: {…, key: value-or-null}}` with value of the right type."""
    key, kind = expected
    if not isinstance(block, Mapping) or len(block) != 1:
        return False
    action = next(iter(block.values()))
    if not isinstance(action, Mapping):
        return False
    value = action.get(key)
    return value is None or (isinstance(value, kind) and not isinstance(value, bool))


@dataclass(frozen=True, slots=True)
class Submission:
    """A valid submission: the change to make and where to post it."""

    command: ResolvedCommand
    channel_id: str
    response_url: str | None


def read_submission(
    view: Mapping[str, Any],
    response_urls: Any,
    *,
    now: datetime,
    response_url_allowed: Callable[[str], bool],
    default_length: timedelta = DEFAULT_LENGTH,
) -> Submission | dict[str, str]:
    """The submission as a command, or `{block_id: message}` errors for `response_action`."""
    context = ModalContext.load(str(view.get("private_metadata") or ""))
    if context is None or view.get("callback_id") != CALLBACK_ID:
        return {WHEN: "This form has expired or was changed; please open it again with /room."}
    state = view.get("state")
    values = state.get("values") if isinstance(state, Mapping) else None
    if not isinstance(values, Mapping):
        return {WHEN: "The form's values could not be read; please open it again with /room."}
    errors: dict[str, str] = {}
    for block_id in values:
        if block_id not in _EXPECTED:
            errors[WHEN] = "This form has fields roombot did not ask for; open it again with /room."
        elif not _well_typed(values[block_id], _EXPECTED[block_id]):
            errors[block_id if block_id in _EXPECTED else WHEN] = (
                "This field's value could not be read; please choose it again."
            )
    if errors:
        return errors

    window = _window(values, context, now=now, errors=errors, default_length=default_length)
    people: dict[str, Role] = {}
    for block_id, role in ROLE_BLOCKS.items():
        users = _field(values, block_id, "selected_users", list) or []
        for user in users:
            if not isinstance(user, str) or user[:1] not in ("U", "W"):
                errors[block_id] = "That is not a Slack user."
            elif user in people and people[user] is not role:
                errors[block_id] = two_roles_message("Someone here", people[user], role)
            else:
                people[user] = role
    options = _field(values, DIAL_OUT, "selected_options", list) or []
    dial_out = any(isinstance(o, Mapping) and o.get("value") == "on" for o in options)
    channel = _field(values, POST_TO, "selected_conversation", str) or context.channel_id
    if not channel or channel[:1] not in ("C", "G", "D"):
        errors[POST_TO] = "Choose a conversation to post the room in."
    title = " ".join((_field(values, TITLE, "value", str) or "").split()) or None
    if title is not None and len(title) > MAX_TITLE:  # the field's max_length, forged past
        errors[TITLE] = f"A title may have at most {MAX_TITLE} characters."
    if errors or window is None or not channel:
        return errors or {WHEN: "Please say when the room should be open."}
    command = ResolvedCommand(
        action="create",
        valid_from=window[0],
        valid_until=window[1],
        participants=people,
        pstn_dial_out=dial_out,
        tz=context.tz,
        title=title,
    )
    return Submission(command, channel, _response_url(response_urls, channel, response_url_allowed))


def _window(
    values: Mapping[str, Any],
    context: ModalContext,
    *,
    now: datetime,
    errors: dict[str, str],
    default_length: timedelta = DEFAULT_LENGTH,
) -> tuple[datetime, datetime] | None:
    when = _field(values, WHEN, "value", str) or ""
    start = _field(values, START, "selected_date_time", int)
    end = _field(values, END, "selected_date_time", int)
    if when.strip():
        if start is not None or end is not None:
            errors[WHEN] = "Use either the When text or the start and end pickers, not both."
            return None
        # A form field arrives raw; the parser reads text as a slash command sends it
        # (`& < >` escaped), so "<@U1>" typed here stays words and "&amp;" stays as typed.
        text = f"create {escape(when.strip()[:MAX_WHEN_LENGTH])}"
        block = WHEN
    elif start is not None or end is not None:
        if start is None or end is None:
            errors[START if start is None else END] = "Pick both a start and an end."
            return None
        for block_id, moment in ((START, start), (END, end)):
            if not _PICKER_RANGE[0] <= moment <= _PICKER_RANGE[1]:
                errors[block_id] = "That date cannot be right; pick it again."
        if errors:
            return None
        zone = ZoneInfo(context.tz)
        begin = datetime.fromtimestamp(start, UTC).astimezone(zone)
        finish = datetime.fromtimestamp(end, UTC).astimezone(zone)
        text = f"create from {begin:%Y-%m-%d %H:%M} to {finish:%Y-%m-%d %H:%M}"
        block = END
    else:
        text = "create now"
        block = WHEN
    result = parse(
        text, now=now, tz=context.tz, locale=context.locale, default_length=default_length
    )
    if isinstance(result, parsed.ParseError):
        errors[block] = unescape(result.message)[:2000]  # field errors are plain text
        return None
    if not isinstance(result, parsed.CreateRoom) or result.invitees:
        errors[block] = "Put only a time in When; choose people in the lists below."
        return None
    return result.valid_from, result.valid_until


def _length_words(length: timedelta) -> str:
    """``an hour``, ``90 minutes``, ``2 days``: the default length as the hint says it."""
    minutes = int(length.total_seconds() // 60)
    if minutes == 60:
        return "an hour"
    if minutes % 1440 == 0:
        return f"{minutes // 1440} day{'s' * (minutes != 1440)}"
    if minutes % 60 == 0:
        return f"{minutes // 60} hours"
    return f"{minutes} minutes"


def _field(values: Mapping[str, Any], block_id: str, key: str, kind: type) -> Any:
    """One value from the submitted state, or None when absent or of the wrong type."""
    block = values.get(block_id)
    if not isinstance(block, Mapping):
        return None
    for action in block.values():
        if isinstance(action, Mapping) and isinstance(action.get(key), kind):
            return action[key]
    return None


def _response_url(response_urls: Any, channel: str, allowed: Callable[[str], bool]) -> str | None:
    if not isinstance(response_urls, list):
        return None
    for item in response_urls:
        if isinstance(item, Mapping) and item.get("channel_id") == channel:
            url = item.get("response_url")
            return url if isinstance(url, str) and allowed(url) else None
    return None
