"""The fake Slack's link unfurls, message shortcuts, thread replies and workflow steps.

Kept apart from `fake_slack.py` (which installs it as `fake.ext`): the Web API methods
`chat.unfurl`, `conversations.replies`, `functions.completeSuccess` and
`functions.completeError`, and the payloads Slack would send the app for each (built here; the
test or console posts them signed, as `LocalBot.post_signed` does).

What it models, as Slack documents it:
- `link_shared` is sent only for links on the app's unfurl domains (`unfurl_domains`, as in
  the manifest's `features.unfurl_domains`, subdomains included) and only with `links:read`;
  at most `MAX_LINKS` links per message.
- `chat.unfurl` needs `links:write`; it takes `channel`+`ts` or `unfurl_id`+`source`
  (`cannot_find_message` otherwise), only URLs the message has (`cannot_unfurl_url`), blocks
  within a message's 50 (`invalid_blocks`); a second call for a message replaces its unfurls.
- `conversations.replies` needs the history scope of the conversation's kind.
- A workflow step runs as Slack documents `function_executed`
  (https://docs.slack.dev/reference/events/function_executed/): the event carries the step's
  definition (`function`: `callback_id`, `title`, `description`, `input_parameters` and
  `output_parameters` as lists of `{name, type, title, description, is_required}`, dates),
  its `inputs`, `function_execution_id`, `workflow_execution_id` and `bot_access_token`, the
  execution's own just-in-time `xwfp-` token; the envelope carries `authorizations`.
- `functions.completeSuccess` / `functions.completeError` (no scope; the method reference
  lists bot tokens) take the execution's own token, good until the step completes, or the
  bot token; with `function_token_only` the bot token is refused (`not_allowed_token_type`),
  for a test to prove the step is completed with its own token, as Bolt's `complete`/`fail`
  do. Any other token (another execution's, one whose step ended, a forged one) is
  `invalid_auth`. Only an execution still running (`execution_not_in_running_state`), with
  outputs the step declares and every output it requires (`parameter_validation_failed`),
  and an error text of at most `MAX_ERROR` characters.
"""

from __future__ import annotations

import copy
import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from bot.local.fake_slack import FakeSlack, Message

MAX_LINKS = 5
MAX_UNFURL_BLOCKS = 50
MAX_ERROR = 2000
_LINK = re.compile(r"<(https?://[^<>|\s]+)(?:\|[^<>]*)?>|(?<![<|])(https?://[^\s<>]+)")

Params = dict[str, Any]


@dataclass(kw_only=True)
class Unfurl:
    """What `chat.unfurl` attached to one link of one message."""

    channel: str
    ts: str
    url: str
    blocks: list[dict[str, Any]]


@dataclass(kw_only=True)
class Execution:
    """One run of a workflow step: its inputs, token and how it ended."""

    id: str
    callback_id: str
    inputs: dict[str, Any]
    token: str = field(repr=False)
    outputs_declared: frozenset[str]
    outputs_required: frozenset[str] = frozenset()
    state: str = "running"  # running | completed | failed
    outputs: dict[str, Any] | None = None
    error: str | None = None
    completed_with: list[str] = field(default_factory=list)
    """Which kind of token each completing call carried ("bot" or "function")."""


class SlackExtensions:
    """Installed on a `FakeSlack` as `fake.ext`."""

    def __init__(self, fake: FakeSlack) -> None:
        from bot.local.fake_slack import _Method  # the fake's own method table

        self._fake = fake
        self.unfurl_domains: set[str] = set()
        self.unfurls: dict[tuple[str, str, str], Unfurl] = {}
        self.executions: dict[str, Execution] = {}
        self.function_token_only = False
        """Refuse the bot token in `functions.complete*`: only the execution's own token."""
        self._shared: dict[str, tuple[str, str, tuple[str, ...]]] = {}  # unfurl_id -> message
        fake._methods["chat.unfurl"] = _Method(self._chat_unfurl, "bot", "links:write")
        fake._methods["conversations.replies"] = _Method(self._conversations_replies, "bot", None)
        # Methods that check their own token: these also take a step's `xwfp-` token.
        fake._openid_methods["functions.completeSuccess"] = self._complete_success
        fake._openid_methods["functions.completeError"] = self._complete_error

    # ------------------------------------------------------------------ what people do

    def post_as(
        self,
        user: str,
        text: str,
        *,
        channel: str | None = None,
        blocks: list[dict[str, Any]] | None = None,
        thread_ts: str | None = None,
    ) -> Message:
        """A person's message (not the bot's), as typed in Slack."""
        from bot.local.fake_slack import DEFAULT_CHANNEL_ID, Message

        message = Message(
            channel=channel or DEFAULT_CHANNEL_ID,
            ts=self._fake._next_ts(),
            text=text,
            blocks=blocks or [],
            user=user,
            bot_id=None,
            thread_ts=thread_ts,
            via="user",
        )
        self._fake.messages.append(message)
        self._fake._changed()
        return message

    def share_link(
        self, user: str, text: str, *, channel: str | None = None
    ) -> dict[str, Any] | None:
        """*user* posts *text*; the `link_shared` event Slack sends for it, or None when Slack
        would send none (no link on an unfurl domain, or no `links:read`)."""
        message = self.post_as(user, text, channel=channel)
        links = [
            (host, url)
            for url in links_in(text)
            if (host := (urlsplit(url).hostname or "").lower()) and self._ours(host)
        ][:MAX_LINKS]
        if not links or "links:read" not in self._fake.scopes:
            return None
        unfurl_id = f"{message.channel}.{message.ts}.{secrets.token_hex(6)}"
        self._shared[unfurl_id] = (message.channel, message.ts, tuple(u for _, u in links))
        return self._event_callback(
            {
                "type": "link_shared",
                "channel": message.channel,
                "is_bot_user_member": True,
                "user": user,
                "message_ts": message.ts,
                "unfurl_id": unfurl_id,
                "source": "conversations_history",
                "links": [{"domain": host, "url": url} for host, url in links],
                "event_ts": message.ts,
            }
        )

    def message_action(self, callback_id: str, message: Message, *, user: str) -> dict[str, Any]:
        """The interactivity payload of a message shortcut pressed by *user* on *message*."""
        fake = self._fake
        replies = [m for m in fake.messages if m.thread_ts == message.ts and m.ts != message.ts]
        shown = copy.deepcopy(fake._message_json(message, with_metadata=False))  # the caller's
        if replies:
            shown.update(thread_ts=message.ts, reply_count=len(replies))
        return {
            "type": "message_action",
            "callback_id": callback_id,
            "trigger_id": fake.issue_trigger_id(user_id=user),
            "response_url": fake.new_response_url(message.channel, user),
            "team": {"id": fake.team_id, "domain": "local"},
            "channel": {"id": message.channel, "name": fake.channels[message.channel].name},
            "user": {"id": user, "team_id": fake.team_id, "name": fake.users[user].name},
            "message_ts": message.ts,
            "message": shown,
            "token": "legacy-unused",
            "action_ts": fake._next_ts(),
        }

    def execute_function(
        self, callback_id: str, inputs: dict[str, Any], *, definition: Mapping[str, Any]
    ) -> dict[str, Any]:
        """A workflow reaches the app's step *callback_id*: the `function_executed` event.

        *definition* is the step as the manifest declares it (`functions.<callback_id>`, v1:
        each of `input_parameters` / `output_parameters` maps a name to its type and labels).
        """
        outputs = _parameters(definition.get("output_parameters"))
        execution = Execution(
            id="Fx" + secrets.token_hex(5).upper(),
            callback_id=callback_id,
            inputs=dict(inputs),
            token="xwfp-" + secrets.token_hex(12),
            outputs_declared=frozenset(p["name"] for p in outputs),
            outputs_required=frozenset(p["name"] for p in outputs if p.get("is_required")),
        )
        self.executions[execution.id] = execution
        now = int(self._fake.clock())
        body = self._event_callback(
            {
                "type": "function_executed",
                "function": {
                    "id": "Fn" + secrets.token_hex(5).upper(),
                    "callback_id": callback_id,
                    "title": str(definition.get("title") or callback_id),
                    "description": str(definition.get("description") or ""),
                    "type": "app",
                    "input_parameters": _parameters(definition.get("input_parameters")),
                    "output_parameters": outputs,
                    "app_id": _app_id(),
                    "date_created": now - 86400,
                    "date_updated": now - 3600,
                    "date_deleted": 0,
                },
                "inputs": execution.inputs,
                "function_execution_id": execution.id,
                "workflow_execution_id": "Wx" + secrets.token_hex(5).upper(),
                "event_ts": self._fake._next_ts(),
                "bot_access_token": execution.token,
            }
        )
        body["authorizations"] = [
            {
                "team_id": self._fake.team_id,
                "user_id": _bot_user_id(),
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ]
        return body

    def unfurls_of(self, message: Message) -> dict[str, list[dict[str, Any]]]:
        """URL -> blocks Slack shows under *message*."""
        return {
            u.url: u.blocks
            for u in self.unfurls.values()
            if (u.channel, u.ts) == (message.channel, message.ts)
        }

    # ------------------------------------------------------------------ Web API

    def _chat_unfurl(self, params: Params) -> dict[str, Any]:
        from bot.local.fake_slack import _SlackError

        unfurl_id, source = params.get("unfurl_id"), params.get("source")
        if unfurl_id or source:
            if not (unfurl_id and source in ("composer", "conversations_history")):
                raise _SlackError("invalid_arguments")
            found = self._shared.get(str(unfurl_id))
            if found is None:
                raise _SlackError("cannot_find_message")
            channel, ts, links = found
        else:
            channel, ts = str(params.get("channel") or ""), str(params.get("ts") or "")
            if channel not in self._fake.channels:
                raise _SlackError("cannot_find_channel")
            message = next(
                (m for m in self._fake.messages if (m.channel, m.ts) == (channel, ts)), None
            )
            if message is None:
                raise _SlackError("cannot_find_message")
            links = tuple(links_in(message.text))
        unfurls = params.get("unfurls")
        if isinstance(unfurls, str):
            try:
                unfurls = json.loads(unfurls)
            except ValueError:
                raise _SlackError("invalid_unfurls_format") from None
        if not isinstance(unfurls, dict) or not unfurls:
            raise _SlackError("invalid_unfurls_format")
        for url, shown in unfurls.items():
            if url not in links or not self._ours((urlsplit(url).hostname or "").lower()):
                raise _SlackError("cannot_unfurl_url")
            shown_blocks = shown.get("blocks") if isinstance(shown, dict) else None
            if not isinstance(shown_blocks, list) or not 0 < len(shown_blocks) <= MAX_UNFURL_BLOCKS:
                raise _SlackError("invalid_blocks")
        for url, shown in unfurls.items():
            key = (channel, ts, url)
            self.unfurls[key] = Unfurl(channel=channel, ts=ts, url=url, blocks=shown["blocks"])
        return {"ok": True}

    def _conversations_replies(self, params: Params) -> dict[str, Any]:
        from bot.local.fake_slack import _SlackError

        fake = self._fake
        channel = fake.channels.get(str(params.get("channel") or ""))
        if channel is None:
            raise _SlackError("channel_not_found")
        scope = "groups:history" if channel.is_private else "channels:history"
        if scope not in fake.scopes:
            raise _SlackError("missing_scope", needed=scope, provided=",".join(fake.scopes))
        ts = str(params.get("ts") or "")
        parent = next((m for m in fake.messages if (m.channel, m.ts) == (channel.id, ts)), None)
        if parent is None:
            raise _SlackError("thread_not_found")
        limit = min(max(int(params.get("limit") or 100), 1), 1000)
        thread = [parent] + [
            m for m in fake.messages if m.channel == channel.id and m.thread_ts == ts and m.ts != ts
        ]
        return {
            "ok": True,
            "messages": [fake._message_json(m, with_metadata=False) for m in thread[:limit]],
            "has_more": len(thread) > limit,
        }

    def _complete_success(self, params: Params, token: str | None) -> dict[str, Any]:
        from bot.local.fake_slack import _SlackError

        execution = self._running(params, token)
        outputs = params.get("outputs")
        if isinstance(outputs, str):
            try:
                outputs = json.loads(outputs)
            except ValueError:
                raise _SlackError("invalid_arguments") from None
        if (
            not isinstance(outputs, dict)
            or not set(outputs) <= execution.outputs_declared
            or not execution.outputs_required <= set(outputs)
        ):
            raise _SlackError("parameter_validation_failed")
        execution.state, execution.outputs = "completed", outputs
        self._fake._changed()
        return {"ok": True}

    def _complete_error(self, params: Params, token: str | None) -> dict[str, Any]:
        from bot.local.fake_slack import _SlackError

        execution = self._running(params, token)
        error = params.get("error")
        if not isinstance(error, str) or not error or len(error) > MAX_ERROR:
            raise _SlackError("invalid_arguments")
        execution.state, execution.error = "failed", error
        self._fake._changed()
        return {"ok": True}

    def _running(self, params: Params, token: str | None) -> Execution:
        from bot.local.fake_slack import _SlackError

        execution = self.executions.get(str(params.get("function_execution_id") or ""))
        if not token:
            raise _SlackError("not_authed")
        is_bot = secrets.compare_digest(token, self._fake.bot_token) or (
            self._fake.oauth.workspace_for(token) is not None  # a bot token from an install
        )
        if execution is None:
            if is_bot:
                raise _SlackError("function_execution_not_found")
            raise _SlackError("invalid_auth")
        if not is_bot and not secrets.compare_digest(token, execution.token):
            raise _SlackError("invalid_auth")
        if is_bot and self.function_token_only:
            raise _SlackError("not_allowed_token_type")
        if execution.state != "running":
            if not is_bot:
                raise _SlackError("invalid_auth")  # a step's token ends with the step
            raise _SlackError("execution_not_in_running_state")
        execution.completed_with.append("bot" if is_bot else "function")
        return execution

    # ------------------------------------------------------------------ helpers

    def _ours(self, host: str) -> bool:
        return any(host == d or host.endswith("." + d) for d in self.unfurl_domains)

    def _event_callback(self, event: dict[str, Any]) -> dict[str, Any]:
        return {
            "token": "legacy-unused",
            "team_id": self._fake.team_id,
            "api_app_id": _app_id(),
            "type": "event_callback",
            "event_id": "Ev" + secrets.token_hex(5).upper(),
            "event_time": int(self._fake.clock()),
            "event": event,
        }


def links_in(text: str) -> list[str]:
    """The URLs in a message's text: `<url>` / `<url|label>` as Slack writes them, or bare."""
    found = [a or b for a, b in _LINK.findall(text)]
    return list(dict.fromkeys(found))


def _parameters(declared: Any) -> list[dict[str, Any]]:
    """A manifest's parameters (v1: name -> spec) as the event lists them (with `name`)."""
    if not isinstance(declared, Mapping):
        return []
    return [
        {"name": name, **{k: v for k, v in spec.items() if k != "name"}}
        for name, spec in declared.items()
        if isinstance(spec, Mapping)
    ]


def _bot_user_id() -> str:
    from bot.local.fake_slack import BOT_USER_ID

    return BOT_USER_ID


def _app_id() -> str:
    from bot.local.fake_slack import APP_ID

    return APP_ID


def payload_json(value: Mapping[str, Any]) -> str:
    """An event body as Slack posts it (JSON)."""
    return json.dumps(value)
