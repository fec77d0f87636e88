"""The fake Slack's Calls API: `calls.add`, `update`, `end`, `participants.add` / `remove`.

Argument checks as Slack documents them (docs.slack.dev/reference/methods/calls.add and
siblings): `external_unique_id` and `join_url` are required for `calls.add`, and `created_by`
too with a bot token; users are `{"slack_id"}` or `{"external_id", "display_name"}`; an
unknown call id is `invalid_call_id`, an ended call `inactive_call`; adding someone already in
the call (or removing someone who is not) answers `ok: true` with `error: bad_users`, as
Slack's own example shows. Every method needs `calls:write`. A message's `call` block must name
a call id (`R…`); one this fake does not know is taken, as Slack keeps calls that a restarted
fake (`roombot dev`) forgot.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

Params = dict[str, Any]
Handler = Callable[[Params], dict[str, Any]]
SCOPE = "calls:write"
CALL_ID = re.compile(r"R[0-9A-Z]{6,20}")


@dataclass
class FakeCall:
    """A call as Slack keeps it: its participants and whether it ended."""

    id: str
    external_unique_id: str
    join_url: str
    created_by: str
    title: str
    date_start: int
    participants: list[dict[str, str]] = field(default_factory=list)
    ended: bool = False
    duration: int | None = None
    history: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def slack_ids(self) -> list[str]:
        return [p["slack_id"] for p in self.participants if "slack_id" in p]


class FakeCalls:
    """The Calls API's state and methods; *error(code)* makes the fake's Slack error."""

    def __init__(
        self,
        *,
        error: Callable[[str], Exception],
        users: Mapping[str, object],
        clock: Callable[[], float],
    ) -> None:
        self._error = error
        self._users = users
        self._clock = clock
        self._numbers = itertools.count(1)
        self.calls: dict[str, FakeCall] = {}

    def methods(self) -> dict[str, tuple[Handler, str]]:
        """Method name -> (handler, scope), for the fake's method table."""
        return {
            "calls.add": (self._add, SCOPE),
            "calls.update": (self._update, SCOPE),
            "calls.end": (self._end, SCOPE),
            "calls.participants.add": (self._participants_add, SCOPE),
            "calls.participants.remove": (self._participants_remove, SCOPE),
        }

    def by_external_id(self, external_unique_id: str) -> list[FakeCall]:
        return [c for c in self.calls.values() if c.external_unique_id == external_unique_id]

    def check_blocks(self, blocks: Iterable[Mapping[str, Any]]) -> None:
        """A `call` block must name a call id, as `calls.add` answers it."""
        for block in blocks:
            if block.get("type") != "call":
                continue
            call_id = block.get("call_id")
            if not isinstance(call_id, str) or not CALL_ID.fullmatch(call_id):
                raise self._error("invalid_blocks")

    # --- methods --------------------------------------------------------------------------

    def _add(self, params: Params) -> dict[str, Any]:
        external = _required(params, "external_unique_id", self._error)
        join_url = _required(params, "join_url", self._error)
        if urlsplit(join_url).scheme not in ("http", "https"):
            raise self._error("invalid_arguments")
        created_by = _required(params, "created_by", self._error)  # required with a bot token
        if created_by not in self._users:
            raise self._error("user_not_found")
        users = self._users_arg(params.get("users"), required=False)
        date_start = params.get("date_start")
        try:
            start = int(date_start) if date_start not in (None, "") else int(self._clock())
        except (TypeError, ValueError):
            raise self._error("invalid_arguments") from None
        call = FakeCall(
            id=f"R{next(self._numbers):03d}{secrets.token_hex(4).upper()}",
            external_unique_id=external,
            join_url=join_url,
            created_by=created_by,
            title=str(params.get("title") or ""),
            date_start=start,
            participants=users,
        )
        self.calls[call.id] = call
        return {"ok": True, "call": self._json(call)}

    def _update(self, params: Params) -> dict[str, Any]:
        call = self._live(params)
        for name in ("title", "join_url", "desktop_app_join_url"):
            value = params.get(name)
            if value not in (None, ""):
                if name == "join_url" and urlsplit(str(value)).scheme not in ("http", "https"):
                    raise self._error("invalid_arguments")
                if hasattr(call, name):
                    setattr(call, name, str(value))
        call.history.append(("update", dict(params)))
        return {"ok": True, "call": self._json(call)}

    def _end(self, params: Params) -> dict[str, Any]:
        call = self._live(params)
        duration = params.get("duration")
        try:
            call.duration = int(duration) if duration not in (None, "") else None
        except (TypeError, ValueError):
            raise self._error("invalid_arguments") from None
        call.ended = True
        call.history.append(("end", dict(params)))
        return {"ok": True}

    def _participants_add(self, params: Params) -> dict[str, Any]:
        call = self._live(params)
        users = self._users_arg(params.get("users"), required=True)
        if any(user in call.participants for user in users):
            return {"ok": True, "error": "bad_users"}
        call.participants.extend(users)
        call.history.append(("participants.add", {"users": users}))
        return {"ok": True}

    def _participants_remove(self, params: Params) -> dict[str, Any]:
        call = self._live(params)
        users = self._users_arg(params.get("users"), required=True)
        keys = [_key(user) for user in users]
        if any(key not in map(_key, call.participants) for key in keys):
            return {"ok": True, "error": "bad_users"}
        call.participants = [p for p in call.participants if _key(p) not in keys]
        call.history.append(("participants.remove", {"users": users}))
        return {"ok": True}

    # --- checks -----------------------------------------------------------------------------

    def _live(self, params: Params) -> FakeCall:
        call_id = _required(params, "id", self._error)
        call = self.calls.get(call_id)
        if call is None:
            raise self._error("invalid_call_id")
        if call.ended:
            raise self._error("inactive_call")
        return call

    def _users_arg(self, value: Any, *, required: bool) -> list[dict[str, str]]:
        if value in (None, "", []):
            if required:
                raise self._error("invalid_arguments")
            return []
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise self._error("invalid_arguments") from None
        if not isinstance(value, list):
            raise self._error("invalid_arguments")
        users: list[dict[str, str]] = []
        for user in value:
            if not isinstance(user, dict):
                raise self._error("invalid_arguments")
            if "slack_id" in user:
                if user["slack_id"] not in self._users:
                    raise self._error("user_not_found")
                users.append({"slack_id": str(user["slack_id"])})
            elif user.get("external_id") and user.get("display_name"):
                users.append(
                    {"external_id": str(user["external_id"]), "display_name": user["display_name"]}
                )
            else:  # an external user needs both its id and a name to show
                raise self._error("invalid_arguments")
        return users

    def _json(self, call: FakeCall) -> dict[str, Any]:
        return {
            "id": call.id,
            "external_unique_id": call.external_unique_id,
            "join_url": call.join_url,
            "created_by": call.created_by,
            "title": call.title,
            "date_start": call.date_start,
            "users": copy.deepcopy(call.participants),
        }


def _key(user: Mapping[str, str]) -> str:
    return user.get("slack_id") or user.get("external_id") or ""


def _required(params: Params, name: str, error: Callable[[str], Exception]) -> str:
    value = params.get(name)
    if value in (None, ""):
        raise error("invalid_arguments")
    return str(value)
