"""The fake Slack's App Home: `views.publish` and the `app_home_opened` event.

`views.publish` is checked as Slack documents it: the view's `type` must be `home`, at most
100 blocks (with unique block ids), `private_metadata` at most 3,000 characters,
`callback_id` and `external_id` at most 255, a `hash` that no longer matches the published
view is `hash_conflict`, and the user must be a member of the workspace. The whole view is
also held to `MAX_VIEW_BYTES` (Slack refuses very large views; the exact figure is not
documented, 250 kB is the payload size Slack's own tooling warns at).

Events and Home-tab presses are built here, as Slack would send them, for a test or the
console to post signed to the bot (`app_home_opened`, `home_action`).
"""

from __future__ import annotations

import copy
import itertools
import json
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.local.fake_slack import APP_ID, BOT_ID, Params, _blocks, _SlackError

if TYPE_CHECKING:
    from bot.local.fake_slack import FakeSlack

MAX_VIEW_BLOCKS = 100
MAX_PRIVATE_METADATA = 3000
MAX_ID_LENGTH = 255
MAX_VIEW_BYTES = 250_000


@dataclass(kw_only=True)
class HomeTab:
    """A person's Home tab as the app last published it; `history` holds earlier views."""

    id: str
    user: str
    view: dict[str, Any]
    hash: str
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def blocks(self) -> list[dict[str, Any]]:
        return list(self.view.get("blocks") or [])


class FakeHome:
    """The Home tabs of one fake workspace."""

    def __init__(self, slack: FakeSlack) -> None:
        self._slack = slack
        self.tabs: dict[str, HomeTab] = {}
        self._events = itertools.count(1)

    def tab(self, user_id: str) -> HomeTab | None:
        return self.tabs.get(user_id)

    def publish(self, params: Params) -> dict[str, Any]:
        """`views.publish`."""
        user = str(params.get("user_id") or "")
        if not user:
            raise _SlackError("invalid_arguments")
        if user not in self._slack.users:
            raise _SlackError("user_not_found")
        definition = _home_definition(params.get("view"))
        current = self.tabs.get(user)
        expected = params.get("hash")
        if expected and (current is None or expected != current.hash):
            raise _SlackError("hash_conflict")
        new_hash = f"{int(self._slack.clock())}.{secrets.token_hex(4)}"
        if current is None:
            current = HomeTab(id=_view_id(), user=user, view=definition, hash=new_hash)
            self.tabs[user] = current
        else:
            current.history.append(current.view)
            current.view, current.hash = definition, new_hash
        return {"ok": True, "view": self.view_json(current)}

    def view_json(self, tab: HomeTab) -> dict[str, Any]:
        body = copy.deepcopy(tab.view)
        body.update(
            {
                "id": tab.id,
                "team_id": self._slack.team_id,
                "app_id": APP_ID,
                "bot_id": BOT_ID,
                "app_installed_team_id": self._slack.team_id,
                "hash": tab.hash,
                "root_view_id": tab.id,
                "previous_view_id": None,
                "state": {"values": {}},
                "private_metadata": tab.view.get("private_metadata", ""),
                "callback_id": tab.view.get("callback_id", ""),
                "external_id": tab.view.get("external_id", ""),
            }
        )
        return body

    def app_home_opened(self, user_id: str, *, tab: str = "home") -> dict[str, Any]:
        """The Events API request Slack sends when *user_id* opens the app's *tab*."""
        now = self._slack.clock()
        event: dict[str, Any] = {
            "type": "app_home_opened",
            "user": user_id,
            "channel": self._slack.dm_channel(user_id),
            "tab": tab,
            "event_ts": f"{now:.6f}",
        }
        published = self.tabs.get(user_id)
        if tab == "home" and published is not None:
            event["view"] = self.view_json(published)
        return {
            "token": "legacy-unused",
            "team_id": self._slack.team_id,
            "api_app_id": APP_ID,
            "event": event,
            "type": "event_callback",
            "event_id": f"Ev{next(self._events):010d}",
            "event_time": int(now),
        }

    def home_action(
        self, user_id: str, action: dict[str, Any], *, trigger_id: str | None = None
    ) -> dict[str, Any]:
        """The interaction Slack sends when *user_id* uses *action* (an element of their
        published Home: `action_id`, `value` or `selected_option`)."""
        tab = self.tabs.get(user_id)
        if tab is None:
            raise LookupError(f"{user_id} has no published Home")
        user = self._slack.users[user_id]
        return {
            "type": "block_actions",
            "team": {"id": self._slack.team_id, "domain": "local"},
            "user": {"id": user_id, "team_id": self._slack.team_id, "name": user.name},
            "api_app_id": APP_ID,
            "container": {"type": "view", "view_id": tab.id},
            "trigger_id": trigger_id or self._slack.issue_trigger_id(user_id=user_id),
            "view": self.view_json(tab),
            "actions": [{**action, "action_ts": f"{self._slack.clock():.6f}"}],
        }


def _home_definition(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise _SlackError("invalid_arguments") from None
    if not isinstance(value, dict):
        raise _SlackError("invalid_arguments")
    problems = []
    if value.get("type") != "home":
        problems.append("[ERROR] must be 'home' [json-pointer:/view/type]")
    if len(str(value.get("private_metadata") or "")) > MAX_PRIVATE_METADATA:
        problems.append(
            f"[ERROR] must be less than {MAX_PRIVATE_METADATA} characters "
            "[json-pointer:/view/private_metadata]"
        )
    for name in ("callback_id", "external_id"):
        if len(str(value.get(name) or "")) > MAX_ID_LENGTH:
            problems.append(
                f"[ERROR] must be less than {MAX_ID_LENGTH} characters [json-pointer:/view/{name}]"
            )
    if len(json.dumps(value).encode()) > MAX_VIEW_BYTES:
        problems.append(f"[ERROR] the view is larger than {MAX_VIEW_BYTES} bytes")
    if problems:
        raise _SlackError("invalid_arguments", response_metadata={"messages": problems})
    definition = copy.deepcopy(value)
    definition["blocks"] = _blocks(value.get("blocks", []), limit=MAX_VIEW_BLOCKS)
    return definition


def _view_id() -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return "V" + "".join(secrets.choice(alphabet) for _ in range(10))
