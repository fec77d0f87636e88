"""Slack on loopback: Web API, response_url sink and Socket Mode, for tests and `roombot dev`.

The bot talks to it exactly as to Slack: slack-sdk's `AsyncWebClient(base_url=fake.api_url)`
over real HTTP, Bolt's `respond()` posting JSON to a minted response_url, and slack-sdk's
`SocketModeClient` over a real WebSocket. Nothing is patched, so what passes here exercised the
same serialisation, authentication, retry and reconnect code that production runs.

What it models, because the bot depends on it: Bearer-token auth (`not_authed`, `invalid_auth`,
`not_allowed_token_type`), bot scopes (`missing_scope`; `x-oauth-scopes` on answers to the bot
token, as Slack reports the granted scopes; the defaults are manifest.yml's), unique increasing
`ts`, trigger ids that expire after 3 s and are single use, response_urls limited to
5 uses and 30 minutes, `chat.update` keeping an edit history, message `metadata` and
`conversations.history` (paged, readable only by a member: `conversations.join`; a DM with
`im:history`), `conversations.open` (the app's stable `D…` DM with a member), and injected
faults such as a 429 with `Retry-After` or a response lost after the work was done. What it
does not model: channel membership beyond the bot's, rate limits other than injected ones, and
most argument validation beyond what a wrong call would trip over.

It ships in the package (only aiohttp and the standard library) because `roombot dev` runs the
bot against it; tokens are compared but never logged or recorded.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import hashlib
import hmac
import itertools
import json
import logging
import re
import secrets
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any, Literal, Self, TypeVar
from zoneinfo import ZoneInfo

from aiohttp import web
from yarl import URL

from bot.local.fake_oauth import AUTHORIZE_PATH, FakeOAuth
from bot.local.fake_slack_calls import FakeCalls
from bot.local.fake_socket_mode import (
    SOCKET_MODE_PATH,
    DisconnectReason,
    Envelope,
    EnvelopeType,
    FakeSocketMode,
)

__all__ = [
    "DEFAULT_CHANNEL_ID",
    "DEFAULT_SCOPES",
    "HISTORY_MANIFEST_SCOPES",
    "ApiCall",
    "Channel",
    "Edit",
    "Envelope",
    "Ephemeral",
    "FakeSlack",
    "Message",
    "User",
    "Usergroup",
    "View",
    "render_text",
]

logger = logging.getLogger("roombot.fake_slack")

DEFAULT_SCOPES = (
    "commands",
    "chat:write",
    "chat:write.public",
    "users:read",
    "usergroups:read",
    "links:read",
    "links:write",
    "calls:write",
)
"""What an install from manifest.yml grants."""
HISTORY_MANIFEST_SCOPES = (
    *DEFAULT_SCOPES,
    "channels:history",
    "groups:history",
    "im:history",
    "mpim:history",
    "channels:join",
    "im:write",
)
"""What an install from manifest.history.yml grants: reading history to find a posted card
or reminder (`im:write`: `conversations.open`, the id of the app's DM with a person)."""
DEFAULT_CHANNEL_ID = "C0LOCAL"
DEFAULT_CHANNEL_NAME = "general"
BOT_USER_ID = "U0LOCALBOT"
BOT_ID = "B0LOCALBOT"
APP_ID = "A0LOCALAPP"
BOT_NAME = "roombot"

RESPONSE_URL_MAX_USES = 5
RESPONSE_URL_LIFETIME = 30 * 60.0
TRIGGER_LIFETIME = 3.0
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_TEXT_LENGTH = 40_000
MAX_VIEW_STACK = 3

T = TypeVar("T")
Params = dict[str, Any]
TokenKind = Literal["bot", "app"]


# --------------------------------------------------------------------------- recorded values


@dataclass(frozen=True, kw_only=True)
class User:
    """A workspace member; `tz_offset=None` means "derive it from `tz` at the time of asking"."""

    id: str
    name: str
    real_name: str
    tz: str
    tz_label: str | None
    tz_offset: int | None
    locale: str
    is_bot: bool
    team_id: str | None = None
    """The member's own workspace when not this one (a Slack Connect guest)."""


@dataclass(kw_only=True)
class Channel:
    """A conversation; the bot reads its history only as a member (`conversations.join`)."""

    id: str
    name: str
    is_private: bool = False
    bot_member: bool = True
    dm_user: str | None = None
    """For the app's direct-message conversation with a member: that member."""


@dataclass(frozen=True, kw_only=True)
class Usergroup:
    id: str
    handle: str
    users: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class Edit:
    """The content a message had before one change, and when that change happened."""

    text: str
    blocks: list[dict[str, Any]]
    at: float


@dataclass(kw_only=True)
class Message:
    """A channel message; `user`/`bot_id` are the author (the bot for everything it posts)."""

    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    attachments: list[dict[str, Any]] = field(default_factory=list)
    user: str | None
    bot_id: str | None
    thread_ts: str | None = None
    metadata: dict[str, Any] | None = None
    via: str
    edits: list[Edit] = field(default_factory=list)
    deleted: bool = False


@dataclass(kw_only=True)
class Ephemeral:
    """A message only `user` sees in `channel` (from `chat.postEphemeral` or a response_url)."""

    channel: str
    user: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    attachments: list[dict[str, Any]] = field(default_factory=list)
    thread_ts: str | None = None
    via: str
    edits: list[Edit] = field(default_factory=list)
    deleted: bool = False


@dataclass(kw_only=True)
class View:
    """A modal as the app last defined it; `history` holds the definitions it replaced."""

    id: str
    view: dict[str, Any]
    hash: str
    trigger_id: str
    user: str | None
    root_view_id: str
    previous_view_id: str | None
    via: str
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def callback_id(self) -> str:
        return str(self.view.get("callback_id", ""))


@dataclass(frozen=True, kw_only=True)
class ApiCall:
    """One request the fake answered: Web API method or `"response_url"`, without the token."""

    method: str
    params: dict[str, Any]
    at: float
    status: int
    error: str | None
    team: str | None = None
    """The workspace (scope) whose token made the call; None for calls without a bot token."""

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.error is None


Posted = Message | Ephemeral


# --------------------------------------------------------------------------- internals

_NO_CHANNEL = Channel(id="", name="")


class _SlackError(Exception):
    def __init__(
        self,
        code: str,
        *,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(code)
        self.code = code
        self.status = status
        self.headers = dict(headers or {})
        self.extra = extra


@dataclass(kw_only=True)
class _Fault:
    error: str
    status: int
    retry_after: int | None
    remaining: int
    plain_text: str | None = None

    def as_error(self) -> _SlackError:
        headers = {} if self.retry_after is None else {"Retry-After": str(self.retry_after)}
        return _SlackError(self.error, status=self.status, headers=headers)


@dataclass(kw_only=True)
class _Trigger:
    id: str
    expires_at: float
    user: str | None
    used: bool = False


@dataclass(kw_only=True)
class _ResponseUrl:
    id: str
    channel: str
    user: str
    created_at: float
    original: Posted | None
    anchored: bool
    uses: int = 0
    expired: bool = False


@dataclass(frozen=True)
class _OidcGrant:
    """An authorization code Sign in with Slack handed out, until it is exchanged."""

    user_id: str
    nonce: str | None
    redirect_uri: str
    issued_at: float


def _b64url_json(value: dict[str, Any]) -> str:
    raw = json.dumps(value, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@dataclass(frozen=True)
class _Method:
    handler: Callable[[Params], dict[str, Any]]
    accepts: TokenKind
    scope: str | None


# --------------------------------------------------------------------------- the fake


class FakeSlack:
    """Slack's Web API, response_urls and Socket Mode, served on loopback and recorded.

    Use as `async with FakeSlack() as fake:`; point clients at `fake.api_url`, mint response
    URLs and trigger ids with `new_response_url` / `issue_trigger_id`, inject failures with
    `fail_next`, and wait for outcomes with `await fake.wait_for(predicate)`. *clock* (seconds
    since the epoch) drives `ts` values and every expiry, so tests can age things without sleeping.
    """

    def __init__(
        self,
        *,
        bot_token: str = "xoxb-fake",  # noqa: S107 - a fake's well-known default, not a secret
        app_token: str = "xapp-fake",  # noqa: S107 - likewise
        team_id: str = "T0LOCAL",
        host: str = "127.0.0.1",
        port: int = 0,
        socket_mode: bool = False,
        scopes: Iterable[str] = DEFAULT_SCOPES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._bot_token = bot_token
        self._app_token = app_token
        self.team_id = team_id
        self._host = host
        self._requested_port = port
        self._port: int | None = None
        self._runner: web.AppRunner | None = None
        self.scopes: tuple[str, ...] = tuple(scopes)
        self.clock = clock

        self.users: dict[str, User] = {}
        self.channels: dict[str, Channel] = {}
        self.usergroups: dict[str, Usergroup] = {}

        self.messages: list[Message] = []
        self.ephemerals: list[Ephemeral] = []
        self.views: list[View] = []
        self.calls: list[ApiCall] = []

        self._faults: dict[str, list[_Fault]] = {}
        self._user_overrides: dict[str, dict[str, Any]] = {}
        self._channel_faults: dict[str, str] = {}
        self._lost_responses: dict[str, int] = {}
        self._triggers: dict[str, _Trigger] = {}
        self._trigger_numbers = itertools.count(1_000_001)
        self._response_urls: dict[str, _ResponseUrl] = {}
        self._last_ts_micros = 0
        self._change = asyncio.Event()

        # Sign in with Slack (OpenID Connect): off until `enable_openid`.
        self._oidc_client: tuple[str, str] | None = None
        self.signed_in: str | None = None  # who "the browser" is signed in to Slack as
        self._oidc_codes: dict[str, _OidcGrant] = {}
        self._oidc_tokens: dict[str, str] = {}

        # "Add to Slack" (OAuth v2): a token per installed workspace, beside `bot_token`.
        self.oauth = FakeOAuth(
            app_id=APP_ID, bot_user_id=BOT_USER_ID, bot_id=BOT_ID, clock=clock, error=_SlackError
        )
        self._socket = FakeSocketMode(app_id=APP_ID, on_change=self._changed, clock=clock)
        self._socket.enabled = socket_mode
        self._methods: dict[str, _Method] = {
            "auth.test": _Method(self._auth_test, "bot", None),
            "users.info": _Method(self._users_info, "bot", "users:read"),
            "chat.postMessage": _Method(self._chat_post_message, "bot", "chat:write"),
            "chat.postEphemeral": _Method(self._chat_post_ephemeral, "bot", "chat:write"),
            "chat.update": _Method(self._chat_update, "bot", "chat:write"),
            "chat.delete": _Method(self._chat_delete, "bot", "chat:write"),
            "views.open": _Method(self._views_open, "bot", None),
            "views.update": _Method(self._views_update, "bot", None),
            "views.push": _Method(self._views_push, "bot", None),
            "usergroups.users.list": _Method(self._usergroups_users_list, "bot", "usergroups:read"),
            "conversations.info": _Method(self._conversations_info, "bot", "channels:read"),
            "conversations.history": _Method(self._conversations_history, "bot", None),
            "conversations.join": _Method(self._conversations_join, "bot", "channels:join"),
            # any of channels:manage, groups:write, im:write, mpim:write: checked by kind
            "conversations.open": _Method(self._conversations_open, "bot", None),
            "apps.connections.open": _Method(self._apps_connections_open, "app", None),
        }
        from bot.local.fake_slack_home import FakeHome  # here: that module imports this one

        self.home = FakeHome(self)  # the App Home: `views.publish`, `app_home_opened`
        self._methods["views.publish"] = _Method(self.home.publish, "bot", None)
        self.slack_calls = FakeCalls(error=_SlackError, users=self.users, clock=clock)
        for name, (handler, scope) in self.slack_calls.methods().items():
            self._methods[name] = _Method(handler, "bot", scope)
        self._openid_methods: dict[str, Callable[[Params, str | None], dict[str, Any]]] = {
            "openid.connect.token": self._openid_token,
            "openid.connect.userInfo": self._openid_user_info,
            **self.oauth.methods(),
        }

        self.add_user(BOT_USER_ID, BOT_NAME, is_bot=True)
        self.add_channel(DEFAULT_CHANNEL_ID, DEFAULT_CHANNEL_NAME)
        from bot.local.fake_slack_ext import SlackExtensions  # it builds on this module

        self.ext = SlackExtensions(self)  # unfurls, message shortcuts, threads, workflow steps

    @property
    def bot_token(self) -> str:
        """The token the fake accepts for Web API calls (give it to the bot; never log it)."""
        return self._bot_token

    @property
    def app_token(self) -> str:
        """The `xapp-` token `apps.connections.open` accepts."""
        return self._app_token

    def __repr__(self) -> str:
        where = self.base_url if self._port is not None else "not started"
        return f"<FakeSlack {where}>"

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        if self._runner is not None:
            raise RuntimeError("this FakeSlack is already started")
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/response/{id}", self._handle_response_url)
        app.router.add_get("/openid/connect/authorize", self._openid_authorize)
        app.router.add_get(AUTHORIZE_PATH, self.oauth.authorize_page)
        app.router.add_get(SOCKET_MODE_PATH, self._socket.handle)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._requested_port)
        await site.start()
        self._runner = runner
        self._port = int(runner.addresses[0][1])
        logger.info("fake Slack listening on %s", self.base_url)

    async def aclose(self) -> None:
        if self._runner is None:
            return
        await self._socket.drop()
        await self._runner.cleanup()
        self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    @property
    def base_url(self) -> str:
        """`http://HOST:PORT/`; raises `RuntimeError` before `start()`."""
        if self._port is None:
            raise RuntimeError("FakeSlack is not started: use `async with FakeSlack() as fake`")
        return f"http://{self._host}:{self._port}/"

    @property
    def api_url(self) -> str:
        """The Web API base to give `AsyncWebClient(base_url=...)`."""
        return self.base_url + "api/"

    # ------------------------------------------------------------------ workspace set-up

    def add_user(
        self,
        user_id: str,
        name: str,
        *,
        tz: str = "UTC",
        tz_label: str | None = None,
        tz_offset: int | None = None,
        locale: str = "en-US",
        is_bot: bool = False,
        real_name: str | None = None,
        team_id: str | None = None,
    ) -> None:
        """Add or replace a member (of another workspace when *team_id* is given).

        Raises `ValueError` when *name* belongs to another user, and
        `zoneinfo.ZoneInfoNotFoundError` for an unknown *tz*, so mistakes surface here."""
        name = name.lstrip("@")
        ZoneInfo(tz)
        other = self.user_by_name(name)
        if other is not None and other != user_id:
            raise ValueError(f"the name {name!r} already belongs to {other}")
        self.users[user_id] = User(
            id=user_id,
            name=name,
            real_name=real_name or name.replace(".", " ").title(),
            tz=tz,
            tz_label=tz_label,
            tz_offset=tz_offset,
            locale=locale,
            is_bot=is_bot,
            team_id=team_id,
        )
        self._user_overrides.pop(user_id, None)

    def override_user(self, user_id: str, **fields: Any) -> None:
        """Make `users.info` answer *fields* as given for *user_id* (any JSON, even a `tz` of
        the wrong type or length): what a misbehaving or hostile upstream might send."""
        if user_id not in self.users:
            raise ValueError(f"unknown user {user_id!r}; add it with add_user()")
        self._user_overrides.setdefault(user_id, {}).update(fields)

    def user_by_name(self, name: str) -> str | None:
        """The id of the member called *name* (case-insensitive, a leading `@` ignored)."""
        wanted = name.lstrip("@").casefold()
        return next((u.id for u in self.users.values() if u.name.casefold() == wanted), None)

    def add_usergroup(self, group_id: str, handle: str, user_ids: Iterable[str]) -> None:
        self.usergroups[group_id] = Usergroup(
            id=group_id, handle=handle.lstrip("@"), users=tuple(user_ids)
        )

    def add_channel(
        self, channel_id: str, name: str, *, is_private: bool = False, bot_member: bool = True
    ) -> None:
        """Add a channel. With *bot_member* false the bot may still post to a public channel
        (`chat:write.public`) but must join it before reading its history."""
        self.channels[channel_id] = Channel(
            id=channel_id, name=name.lstrip("#"), is_private=is_private, bot_member=bot_member
        )

    # ------------------------------------------------------------------ things Slack would mint

    def remove_channel(self, channel_id: str) -> None:
        """Delete a conversation: every call naming it answers `channel_not_found` from now on."""
        del self.channels[channel_id]

    def direct_messages(self, user_id: str) -> list[Message]:
        """What the app posted in its direct-message conversation with *user_id*."""
        return [
            m
            for m in self.messages
            if not m.deleted and self.channels.get(m.channel, _NO_CHANNEL).dm_user == user_id
        ]

    def issue_trigger_id(
        self, *, expires_in: float = TRIGGER_LIFETIME, user_id: str | None = None
    ) -> str:
        """A trigger id for `views.open`/`views.push`: single use, valid for *expires_in* s."""
        trigger_id = f"{next(self._trigger_numbers)}.{secrets.token_hex(12)}"
        self._triggers[trigger_id] = _Trigger(
            id=trigger_id, expires_at=self.clock() + expires_in, user=user_id
        )
        return trigger_id

    def new_response_url(
        self, channel_id: str, user_id: str, *, message_ts: str | None = None
    ) -> str:
        """A response_url for an interaction by *user_id* in *channel_id*.

        With *message_ts* (a block action on a message) `replace_original`/`delete_original`
        act on that message; without it (a slash command) they act on the latest message
        posted through this URL, or shown from the command's ack (`show_ack`). Raises
        `ValueError` for an unknown channel, user or message.
        """
        if channel_id not in self.channels:
            raise ValueError(f"unknown channel {channel_id!r}; add it with add_channel()")
        if user_id not in self.users:
            raise ValueError(f"unknown user {user_id!r}; add it with add_user()")
        original: Posted | None = None
        if message_ts is not None:
            original = self._find_posted(channel_id, message_ts)
            if original is None:
                raise ValueError(f"no message {message_ts} in {channel_id}")
        url_id = secrets.token_urlsafe(16)
        self._response_urls[url_id] = _ResponseUrl(
            id=url_id,
            channel=channel_id,
            user=user_id,
            created_at=self.clock(),
            original=original,
            anchored=original is not None,
        )
        return f"{self.base_url}response/{url_id}"

    def show_ack(self, response_url: str, ack: Mapping[str, Any]) -> Posted | None:
        """Show a slash command's ack body as Slack does, and make it the *response_url*'s original.

        Slack shows a command's ack with text or blocks to the person who typed it (or in the
        channel with `response_type: in_channel`); a later `replace_original` or
        `delete_original` posted to the command's response_url acts on that message. Call this
        with what the app answered; an empty ack shows nothing and returns None.
        """
        entry = self._response_url_entry(response_url)
        # The caller keeps its ack; what the fake stores must not change with it.
        text, blocks, attachments = self._content(copy.deepcopy(dict(ack)))
        if not (text or blocks or attachments):
            return None
        posted = self._post_for(
            entry, ack.get("response_type") == "in_channel", text, blocks, attachments, "ack"
        )
        self._changed()
        return posted

    def expire_response_url(self, url: str) -> None:
        """Make *url* answer 404 `expired_url` from now on, as after its 30 minutes."""
        self._response_url_entry(url).expired = True

    def response_url_uses(self, url: str) -> int:
        return self._response_url_entry(url).uses

    def _response_url_entry(self, url: str) -> _ResponseUrl:
        entry = self._response_urls.get(url.rstrip("/").rsplit("/", 1)[-1])
        if entry is None:
            raise ValueError(f"{url!r} was not minted by this FakeSlack")
        return entry

    # ------------------------------------------------------------------ fault injection

    def fail_next(
        self,
        method: str,
        *,
        error: str | None = None,
        status: int = 200,
        retry_after: int | None = None,
        times: int = 1,
        plain_text: str | None = None,
    ) -> None:
        """Make the next *times* calls of *method* (or `"response_url"`) fail.

        They answer *status* with `{"ok": false, "error": error}` and `Retry-After` when given;
        with *plain_text*, that text as `text/plain` instead (a proxy's 503 page).
        *error* defaults to `ratelimited` for 429 and `internal_error` for other statuses; a
        200 needs an explicit *error*. Faults queue up in the order they were added.
        """
        if times < 1:
            raise ValueError("times must be at least 1")
        if error is None:
            if status == 200:
                raise ValueError("a failure answering 200 needs an error code")
            error = "ratelimited" if status == 429 else "internal_error"
        self._faults.setdefault(method, []).append(
            _Fault(
                error=error,
                status=status,
                retry_after=retry_after,
                remaining=times,
                plain_text=plain_text,
            )
        )

    def clear_faults(self, method: str) -> None:
        """Forget the faults still queued for *method*: it answers normally again."""
        self._faults.pop(method, None)

    def fail_in_channel(self, channel_id: str, error: str | None) -> None:
        """Make every `chat.postMessage` and `chat.postEphemeral` in *channel_id* answer
        *error* (None: stop), as Slack does for a channel it keeps failing on."""
        if error is None:
            self._channel_faults.pop(channel_id, None)
        else:
            self._channel_faults[channel_id] = error

    def lose_next_response(self, method: str, *, times: int = 1) -> None:
        """Carry out the next *times* calls of *method*, then drop the connection unanswered.

        What a client sees when the network fails after Slack did the work: the call happened
        (a message was posted) but the caller cannot know it.
        """
        if times < 1:
            raise ValueError("times must be at least 1")
        self._lost_responses[method] = self._lost_responses.get(method, 0) + times

    def _take_lost_response(self, method: str) -> bool:
        left = self._lost_responses.get(method, 0)
        if left:
            self._lost_responses[method] = left - 1
        return left > 0

    def _take_fault(self, method: str) -> _Fault | None:
        queue = self._faults.get(method)
        if not queue:
            return None
        fault = queue[0]
        fault.remaining -= 1
        if fault.remaining == 0:
            queue.pop(0)
        return fault

    # ------------------------------------------------------------------ reading what happened

    def channel_messages(self, channel: str = DEFAULT_CHANNEL_ID) -> list[Message]:
        """Messages still visible in *channel* (an id, or a name with or without `#`)."""
        channel_id = self._channel_id(channel) or channel
        return [m for m in self.messages if m.channel == channel_id and not m.deleted]

    def ephemerals_for(self, user_id: str, channel: str | None = None) -> list[Ephemeral]:
        channel_id = None if channel is None else (self._channel_id(channel) or channel)
        return [
            e
            for e in self.ephemerals
            if e.user == user_id and not e.deleted and channel_id in (None, e.channel)
        ]

    def view_by_id(self, view_id: str) -> View | None:
        return next((v for v in self.views if v.id == view_id), None)

    def calls_to(self, method: str) -> list[ApiCall]:
        return [c for c in self.calls if c.method == method]

    def render_text(self, message: Posted | Mapping[str, Any]) -> str:
        """`render_text` with every user, channel and user group this fake knows."""
        return render_text(
            message, users=self.users, channels=self.channels, usergroups=self.usergroups
        )

    def describe(self) -> str:
        """A summary of everything recorded, for failure messages."""
        lines = [f"FakeSlack at {self.base_url if self._port else '(not started)'} recorded:"]
        recent = self.calls[-15:]
        shown = ", ".join(f"{c.method} {'ok' if c.ok else c.error}" for c in recent)
        more = f" (last {len(recent)})" if len(self.calls) > len(recent) else ""
        lines.append(f"  calls: {len(self.calls)}{more}: {shown or '-'}")
        lines.append(f"  messages: {len(self.messages)}")
        for m in self.messages[-10:]:
            state = " (deleted)" if m.deleted else f" (edited {len(m.edits)}x)" if m.edits else ""
            lines.append(f"    {self._channel_label(m.channel)} {m.ts}{state}: {self._gist(m)}")
        lines.append(f"  ephemerals: {len(self.ephemerals)}")
        for e in self.ephemerals[-10:]:
            lines.append(f"    {self._channel_label(e.channel)} to {e.user}: {self._gist(e)}")
        lines.append(f"  views: {len(self.views)}")
        for v in self.views[-5:]:
            lines.append(f"    {v.id} callback_id={v.callback_id!r} updated {len(v.history)}x")
        if self._socket.enabled:
            lines.append(
                f"  socket mode: {self.connections} connected, "
                f"{len(self._socket.envelopes)} envelopes sent, {len(self.acks)} acks"
            )
        return "\n".join(lines)

    def _gist(self, posted: Posted) -> str:
        first = " / ".join(line for line in self.render_text(posted).splitlines() if line)
        return repr(first if len(first) <= 100 else first[:99] + "…")

    def _channel_label(self, channel_id: str) -> str:
        channel = self.channels.get(channel_id)
        return f"#{channel.name}" if channel else channel_id

    # ------------------------------------------------------------------ waiting

    def _changed(self) -> None:
        self._change.set()
        self._change = asyncio.Event()

    async def wait_for(
        self,
        predicate: Callable[[FakeSlack], T | None],
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 - the deadline belongs in the message it raises
    ) -> T:
        """The first truthy value of *predicate(self)*, re-checked after every recorded change.

        Raises `TimeoutError` after *timeout* seconds, with `describe()` in the message.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            change = self._change
            value = predicate(self)
            if value:
                return value
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(
                    f"FakeSlack.wait_for: predicate still falsy after {timeout:g} s\n"
                    + self.describe()
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(change.wait(), remaining)

    # ------------------------------------------------------------------ Sign in with Slack

    def enable_openid(self, client_id: str, client_secret: str) -> None:
        """Serve Sign in with Slack for this app: the authorize page and the two methods."""
        self._oidc_client = (client_id, client_secret)

    async def _openid_authorize(self, request: web.Request) -> web.Response:
        """Slack's consent page, approved at once for `signed_in` (or refused without one)."""
        query = request.query
        problems = [
            name
            for name, ok in (
                ("client_id", self._oidc_client and query.get("client_id") == self._oidc_client[0]),
                ("response_type", query.get("response_type") == "code"),
                ("scope", "openid" in query.get("scope", "").split()),
                ("redirect_uri", query.get("redirect_uri", "").startswith(("http://", "https://"))),
                ("state", bool(query.get("state"))),
            )
            if not ok
        ]
        self.calls.append(
            ApiCall(
                method="openid.connect.authorize",
                params=dict(query),
                at=self.clock(),
                status=400 if problems else 302,
                error=",".join(problems) or None,
            )
        )
        self._changed()
        if problems:
            return web.Response(status=400, text=f"bad authorize request: {', '.join(problems)}")
        redirect = URL(query["redirect_uri"])
        if self.signed_in is None:
            target = redirect.update_query(error="access_denied", state=query["state"])
        else:
            code = secrets.token_urlsafe(16)
            self._oidc_codes[code] = _OidcGrant(
                user_id=self.signed_in,
                nonce=query.get("nonce"),
                redirect_uri=query["redirect_uri"],
                issued_at=self.clock(),
            )
            target = redirect.update_query(code=code, state=query["state"])
        raise web.HTTPFound(str(target))

    def _openid_token(self, params: Params, auth: str | None) -> dict[str, Any]:
        if self._oidc_client is None:
            raise _SlackError("invalid_client_id")
        client_id, client_secret = str(params.get("client_id") or ""), ""
        if auth and auth.startswith("Basic "):
            try:
                decoded = base64.b64decode(auth.removeprefix("Basic ")).decode()
            except (ValueError, UnicodeDecodeError):
                raise _SlackError("invalid_client_id") from None
            client_id, _, client_secret = decoded.partition(":")
        else:
            client_secret = str(params.get("client_secret") or "")
        if client_id != self._oidc_client[0]:
            raise _SlackError("invalid_client_id")
        if not secrets.compare_digest(client_secret, self._oidc_client[1]):
            raise _SlackError("bad_client_secret")
        grant = self._oidc_codes.pop(str(params.get("code") or ""), None)
        if grant is None or self.clock() - grant.issued_at > 600:
            raise _SlackError("invalid_code")
        if params.get("redirect_uri") != grant.redirect_uri:
            raise _SlackError("bad_redirect_uri")
        access_token = "xoxp-" + secrets.token_hex(12)
        self._oidc_tokens[access_token] = grant.user_id
        now = int(self.clock())
        claims = {
            "iss": "https://slack.com",
            "sub": grant.user_id,
            "aud": client_id,
            "exp": now + 3600,
            "iat": now,
            "auth_time": now,
            **({"nonce": grant.nonce} if grant.nonce else {}),
            **self._openid_claims(grant.user_id),
        }
        header = _b64url_json({"alg": "HS256", "typ": "JWT"})
        payload = _b64url_json(claims)
        mac = hmac.new(client_secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256)
        signature = base64.urlsafe_b64encode(mac.digest()).decode().rstrip("=")
        return {
            "ok": True,
            "access_token": access_token,
            "token_type": "Bearer",
            "id_token": f"{header}.{payload}.{signature}",
        }

    def _openid_user_info(self, params: Params, token: str | None) -> dict[str, Any]:
        user_id = self._oidc_tokens.get(token or "")
        if user_id is None:
            raise _SlackError("invalid_auth")
        return {"ok": True, "sub": user_id, **self._openid_claims(user_id)}

    def _openid_claims(self, user_id: str) -> dict[str, Any]:
        user = self.users[user_id]
        grid = self._user_overrides.get(user_id, {}).get("enterprise_user")
        return {
            **({"https://slack.com/enterprise_id": grid["enterprise_id"]} if grid else {}),
            "https://slack.com/user_id": user_id,
            "https://slack.com/team_id": user.team_id or self.team_id,
            "name": user.real_name,
            "given_name": user.real_name.split()[0] if user.real_name else user.name,
            "locale": user.locale,
        }

    # ------------------------------------------------------------------ Socket Mode

    def enable_socket_mode(self) -> None:
        """Let `apps.connections.open` hand out URLs to the fake Socket Mode endpoint."""
        self._socket.enabled = True

    @property
    def socket_mode_url(self) -> str:
        """The WebSocket endpoint; connecting needs the ticket `apps.connections.open` adds."""
        return "ws://" + self.base_url.removeprefix("http://").rstrip("/") + SOCKET_MODE_PATH

    @property
    def connections(self) -> int:
        return self._socket.connections

    @property
    def connected(self) -> bool:
        return self._socket.connections > 0

    @property
    def connections_opened(self) -> int:
        return self._socket.connections_opened

    @property
    def acks(self) -> dict[str, dict[str, Any]]:
        """Acks received, by envelope id: `{"envelope_id": ..., "payload": ...?}`."""
        return self._socket.acks

    @property
    def envelopes(self) -> list[Envelope]:
        return self._socket.envelopes

    @property
    def socket_stray_messages(self) -> list[Any]:
        """What clients sent that was not an ack (should stay empty)."""
        return self._socket.stray_messages

    async def socket_send(
        self,
        type: EnvelopeType | str,
        payload: dict[str, Any],
        *,
        accepts_response_payload: bool | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - passed on to wait_for
    ) -> str:
        """Send an envelope to the newest connection, waiting up to *timeout* s for one.

        *accepts_response_payload* defaults to true except for `events_api`. Returns the id.
        """
        if not self._socket.enabled:
            raise RuntimeError("socket mode is not enabled: FakeSlack(socket_mode=True)")
        await self.wait_for(lambda fake: fake.connected, timeout=timeout)
        return await self._socket.send(
            type, payload, accepts_response_payload=accepts_response_payload
        )

    async def wait_for_ack(
        self,
        envelope_id: str,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 - passed on to wait_for
    ) -> dict[str, Any]:
        return await self.wait_for(lambda fake: fake.acks.get(envelope_id), timeout=timeout)

    async def drop_socket_connections(self) -> None:
        """Close every Socket Mode session from the server side (clients should reconnect)."""
        await self._socket.drop()

    async def send_socket_disconnect(self, reason: DisconnectReason = "refresh_requested") -> None:
        """Send Slack's `disconnect` message; the client should open a new session itself."""
        await self._socket.send_disconnect(reason)

    # ------------------------------------------------------------------ HTTP plumbing

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        at = self.clock()
        params: Params = {}
        headers: dict[str, str] = {}
        team: str | None = None
        try:
            params, token = await _read_params(request)
            fault = self._take_fault(method)
            if fault is not None and fault.plain_text is not None:
                self.calls.append(
                    ApiCall(method=method, params=params, at=at, status=fault.status, error="text")
                )
                self._changed()
                return web.Response(
                    text=fault.plain_text, status=fault.status, content_type="text/plain"
                )
            if fault is not None:
                raise fault.as_error()
            openid = self._openid_methods.get(method)
            spec = self._methods.get(method)
            if openid is not None:
                basic = request.headers.get("Authorization", "")
                body = openid(params, basic if basic.startswith("Basic ") else token)
            elif spec is None:
                raise _SlackError("unknown_method", req_method=method)
            else:
                installed = self.oauth.workspace_for(token) if spec.accepts == "bot" else None
                team = installed.scope if installed else self.team_id
                if installed is None:
                    self._authorize(spec, token)
                else:  # a token from an install (`FakeOAuth`), granted the same scopes
                    self._check_scope(spec)
                if spec.accepts == "bot":  # also on a method's own errors, as Slack does
                    headers["X-OAuth-Scopes"] = ",".join(self.scopes)
                body = spec.handler(params)
                if installed is not None:
                    body = self.oauth.as_installed(method, installed, body)
            status, error = 200, None
        except _SlackError as failure:
            body = {"ok": False, "error": failure.code, **failure.extra}
            status, error = failure.status, failure.code
            headers.update(failure.headers)
        self.calls.append(
            ApiCall(method=method, params=params, at=at, status=status, error=error, team=team)
        )
        logger.debug("fake Slack %s -> %s %s", method, status, error or "ok")
        self._changed()
        if error is None and self._take_lost_response(method) and request.transport:
            request.transport.abort()  # done, but the caller never hears so
        return web.json_response(body, status=status, headers=headers)

    def _authorize(self, spec: _Method, token: str | None) -> None:
        if not token:
            raise _SlackError("not_authed")
        expected, other = (
            (self._bot_token, self._app_token)
            if spec.accepts == "bot"
            else (self._app_token, self._bot_token)
        )
        if not secrets.compare_digest(token, expected):
            code = "not_allowed_token_type" if secrets.compare_digest(token, other) else None
            raise _SlackError(code or "invalid_auth")
        self._check_scope(spec)

    def _check_scope(self, spec: _Method) -> None:
        if spec.scope is not None and spec.scope not in self.scopes:
            raise _SlackError("missing_scope", needed=spec.scope, provided=",".join(self.scopes))

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        url_id = request.match_info["id"]
        at = self.clock()
        params: Params = {}
        try:
            raw = await request.text()
            try:
                payload: Any = json.loads(raw) if raw else None
            except json.JSONDecodeError:
                payload = None
            params = dict(payload) if isinstance(payload, dict) else {"body": raw}
            fault = self._take_fault("response_url")
            if fault is not None:
                raise fault.as_error()
            entry = self._response_urls.get(url_id)
            if entry is None:
                raise _SlackError("invalid_url", status=404)
            if entry.expired or at - entry.created_at >= RESPONSE_URL_LIFETIME:
                entry.expired = True
                raise _SlackError("expired_url", status=404)
            if entry.uses >= RESPONSE_URL_MAX_USES:
                raise _SlackError("used_url", status=404)
            if not isinstance(payload, dict):
                raise _SlackError("invalid_payload", status=400)
            try:
                self._respond(entry, payload)
            except _SlackError as failure:
                if failure.status == 200:
                    failure.status = 400
                raise
            entry.uses += 1
            body: dict[str, Any] = {"ok": True}
            status, error = 200, None
        except _SlackError as failure:
            body = {"ok": False, "error": failure.code}
            status, error = failure.status, failure.code
            headers = failure.headers
        else:
            headers = {}
        self.calls.append(
            ApiCall(method="response_url", params=params, at=at, status=status, error=error)
        )
        logger.debug("fake Slack response_url -> %s %s", status, error or "ok")
        self._changed()
        return web.json_response(body, status=status, headers=headers)

    def _respond(self, entry: _ResponseUrl, payload: Params) -> None:
        """Apply one response_url post: delete, replace, or post in channel / ephemerally."""
        if _truthy(payload.get("delete_original")):
            if entry.original is None or entry.original.deleted:
                raise _SlackError("message_not_found", status=404)
            entry.original.deleted = True
            return
        text, blocks, attachments = self._content(payload)
        if not (text or blocks or attachments):
            raise _SlackError("no_text")
        if _truthy(payload.get("replace_original")) and entry.original is not None:
            if entry.original.deleted:
                raise _SlackError("message_not_found", status=404)
            self._edit(entry.original, text=text, blocks=blocks, attachments=attachments)
            return
        in_channel = payload.get("response_type") == "in_channel"
        thread_ts = _opt_str(payload.get("thread_ts"))
        self._post_for(entry, in_channel, text, blocks, attachments, "response_url", thread_ts)

    def _post_for(
        self,
        entry: _ResponseUrl,
        in_channel: bool,
        text: str,
        blocks: list[dict[str, Any]],
        attachments: list[dict[str, Any]],
        via: str,
        thread_ts: str | None = None,
    ) -> Posted:
        """What a response_url (or a command's ack) shows: in the channel, or to its user only;
        the first one becomes the message "replace/delete the original" acts on."""
        posted: Posted
        if in_channel:
            posted = Message(
                channel=entry.channel,
                ts=self._next_ts(),
                text=text,
                blocks=blocks,
                attachments=attachments,
                user=BOT_USER_ID,
                bot_id=BOT_ID,
                thread_ts=thread_ts,
                via=via,
            )
            self.messages.append(posted)
        else:
            posted = Ephemeral(
                channel=entry.channel,
                user=entry.user,
                ts=self._next_ts(),
                text=text,
                blocks=blocks,
                attachments=attachments,
                thread_ts=thread_ts,
                via=via,
            )
            self.ephemerals.append(posted)
        if not entry.anchored:
            entry.original = posted
        return posted

    # ------------------------------------------------------------------ Web API methods

    def _auth_test(self, params: Params) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://roombot-local.slack.com/",
            "team": "roombot local",
            "user": BOT_NAME,
            "team_id": self.team_id,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _users_info(self, params: Params) -> dict[str, Any]:
        user = self.users.get(str(params.get("user") or ""))
        if user is None:
            raise _SlackError("user_not_found")
        return {"ok": True, "user": self._user_json(user, _truthy(params.get("include_locale")))}

    def _user_json(self, user: User, include_locale: bool) -> dict[str, Any]:
        local = datetime.fromtimestamp(self.clock(), ZoneInfo(user.tz))
        offset = local.utcoffset()
        computed_offset = int(offset.total_seconds()) if offset is not None else 0
        profile: dict[str, Any] = {
            "real_name": user.real_name,
            "real_name_normalized": user.real_name,
            "display_name": user.name,
            "display_name_normalized": user.name,
            "team": user.team_id or self.team_id,
        }
        if user.is_bot:
            profile["bot_id"] = BOT_ID if user.id == BOT_USER_ID else f"B{user.id[1:]}"
        body: dict[str, Any] = {
            "id": user.id,
            "team_id": user.team_id or self.team_id,
            "name": user.name,
            "deleted": False,
            "color": "9f69e7",
            "real_name": user.real_name,
            "tz": user.tz,
            "tz_label": user.tz_label or local.tzname() or user.tz,
            "tz_offset": computed_offset if user.tz_offset is None else user.tz_offset,
            "profile": profile,
            "is_admin": False,
            "is_owner": False,
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": user.is_bot,
            "is_app_user": False,
            "updated": 1_700_000_000,
        }
        if include_locale:
            body["locale"] = user.locale
        body.update(copy.deepcopy(self._user_overrides.get(user.id, {})))
        return body

    def _chat_post_message(self, params: Params) -> dict[str, Any]:
        # A user id as the channel posts in the app's direct messages with that member.
        target = params.get("channel")
        channel = (
            self._dm_channel(target)
            if isinstance(target, str) and target in self.users
            else self._require_channel(target)
        )
        text, blocks, attachments = self._content(params)
        if not (text or blocks or attachments):
            raise _SlackError("no_text")
        message = Message(
            channel=channel,
            ts=self._next_ts(),
            text=text,
            blocks=blocks,
            attachments=attachments,
            user=BOT_USER_ID,
            bot_id=BOT_ID,
            thread_ts=_opt_str(params.get("thread_ts")),
            metadata=_message_metadata(params.get("metadata")),
            via="chat.postMessage",
        )
        channel_info = self.channels[channel]
        if channel_info.is_private and not channel_info.bot_member:
            raise _SlackError("not_in_channel")
        if channel in self._channel_faults:
            raise _SlackError(self._channel_faults[channel])
        self.messages.append(message)
        return {
            "ok": True,
            "channel": channel,
            "ts": message.ts,
            "message": self._message_json(message),
        }

    def _chat_post_ephemeral(self, params: Params) -> dict[str, Any]:
        channel = self._require_channel(params.get("channel"))
        if channel in self._channel_faults:
            raise _SlackError(self._channel_faults[channel])
        user = str(params.get("user") or "")
        if user not in self.users:
            raise _SlackError("user_not_found")
        text, blocks, attachments = self._content(params)
        if not (text or blocks or attachments):
            raise _SlackError("no_text")
        ephemeral = Ephemeral(
            channel=channel,
            user=user,
            ts=self._next_ts(),
            text=text,
            blocks=blocks,
            attachments=attachments,
            thread_ts=_opt_str(params.get("thread_ts")),
            via="chat.postEphemeral",
        )
        self.ephemerals.append(ephemeral)
        return {"ok": True, "message_ts": ephemeral.ts}

    def _chat_update(self, params: Params) -> dict[str, Any]:
        channel = self._require_channel(params.get("channel"))
        message = self._find_message(channel, params.get("ts"))
        text, blocks, attachments = self._content(params)
        if "text" not in params and "blocks" not in params and "attachments" not in params:
            raise _SlackError("no_text")
        # Slack keeps what the call leaves out: omitted blocks stay, `blocks: []` removes them.
        self._edit(
            message,
            text=text if "text" in params else message.text,
            blocks=blocks if "blocks" in params else message.blocks,
            attachments=attachments if "attachments" in params else message.attachments,
        )
        return {
            "ok": True,
            "channel": channel,
            "ts": message.ts,
            "text": message.text,
            "message": self._message_json(message),
        }

    def _chat_delete(self, params: Params) -> dict[str, Any]:
        channel = self._require_channel(params.get("channel"))
        message = self._find_message(channel, params.get("ts"))
        message.deleted = True
        return {"ok": True, "channel": channel, "ts": message.ts}

    def _views_open(self, params: Params) -> dict[str, Any]:
        trigger = self._use_trigger(params.get("trigger_id") or params.get("interactivity_pointer"))
        definition = _view_definition(params.get("view"))
        view_id = _new_view_id()
        view = View(
            id=view_id,
            view=definition,
            hash=_new_hash(self.clock()),
            trigger_id=trigger.id,
            user=trigger.user,
            root_view_id=view_id,
            previous_view_id=None,
            via="views.open",
        )
        self.views.append(view)
        return {"ok": True, "view": self._view_json(view)}

    def _views_push(self, params: Params) -> dict[str, Any]:
        trigger = self._use_trigger(params.get("trigger_id") or params.get("interactivity_pointer"))
        definition = _view_definition(params.get("view"))
        candidates = [v for v in self.views if trigger.user is None or v.user == trigger.user]
        if not candidates:
            raise _SlackError("not_found")
        top = candidates[-1]
        depth = sum(1 for v in self.views if v.root_view_id == top.root_view_id)
        if depth >= MAX_VIEW_STACK:
            raise _SlackError("push_limit_reached")
        view = View(
            id=_new_view_id(),
            view=definition,
            hash=_new_hash(self.clock()),
            trigger_id=trigger.id,
            user=trigger.user,
            root_view_id=top.root_view_id,
            previous_view_id=top.id,
            via="views.push",
        )
        self.views.append(view)
        return {"ok": True, "view": self._view_json(view)}

    def _views_update(self, params: Params) -> dict[str, Any]:
        view_id, external_id = params.get("view_id"), params.get("external_id")
        if not view_id and not external_id:
            raise _SlackError("invalid_arguments")
        view = next(
            (
                v
                for v in self.views
                if (view_id and v.id == view_id)
                or (external_id and v.view.get("external_id") == external_id)
            ),
            None,
        )
        if view is None:
            raise _SlackError("not_found")
        expected_hash = params.get("hash")
        if expected_hash and expected_hash != view.hash:
            raise _SlackError("hash_conflict")
        definition = _view_definition(params.get("view"))
        view.history.append(view.view)
        view.view = definition
        view.hash = _new_hash(self.clock())
        return {"ok": True, "view": self._view_json(view)}

    def _usergroups_users_list(self, params: Params) -> dict[str, Any]:
        group = self.usergroups.get(str(params.get("usergroup") or ""))
        if group is None:
            raise _SlackError("no_such_subteam")
        return {"ok": True, "users": list(group.users)}

    def _conversations_info(self, params: Params) -> dict[str, Any]:
        channel = self.channels[self._require_channel(params.get("channel"))]
        return {
            "ok": True,
            "channel": {
                "id": channel.id,
                "name": channel.name,
                "name_normalized": channel.name,
                "is_channel": True,
                "is_group": False,
                "is_im": False,
                "is_private": channel.is_private,
                "is_archived": False,
                "is_general": channel.id == DEFAULT_CHANNEL_ID,
                "is_member": channel.bot_member,
                "created": 1_700_000_000,
            },
        }

    def _conversations_history(self, params: Params) -> dict[str, Any]:
        channel = self.channels[self._require_channel(params.get("channel"))]
        scope = (
            "im:history"
            if channel.dm_user is not None
            else "groups:history"
            if channel.is_private
            else "channels:history"
        )
        if scope not in self.scopes:
            raise _SlackError("missing_scope", needed=scope, provided=",".join(self.scopes))
        if not channel.bot_member:
            raise _SlackError("not_in_channel")
        oldest = float(params.get("oldest") or 0)
        latest = float(params.get("latest") or "inf")
        inclusive = _truthy(params.get("inclusive"))
        limit = min(max(int(params.get("limit") or 100), 1), 999)
        start = int(params.get("cursor") or 0)

        def within(ts: float) -> bool:
            if inclusive:
                return oldest <= ts <= latest
            return oldest < ts < latest

        newest_first = sorted(
            (m for m in self.messages if m.channel == channel.id and not m.deleted),
            key=lambda m: float(m.ts),
            reverse=True,
        )
        found = [m for m in newest_first if within(float(m.ts)) and not m.thread_ts]
        page = found[start : start + limit]
        more = start + limit < len(found)
        body: dict[str, Any] = {
            "ok": True,
            "messages": [
                self._message_json(m, with_metadata=_truthy(params.get("include_all_metadata")))
                for m in page
            ],
            "has_more": more,
        }
        body["response_metadata"] = {"next_cursor": str(start + limit) if more else ""}
        return body

    def _conversations_join(self, params: Params) -> dict[str, Any]:
        channel = self.channels[self._require_channel(params.get("channel"))]
        if channel.is_private:
            raise _SlackError("method_not_supported_for_channel_type")
        already = channel.bot_member
        channel.bot_member = True
        body: dict[str, Any] = {"ok": True, "channel": {"id": channel.id, "name": channel.name}}
        if already:
            body["warning"] = "already_in_channel"
        return body

    def _conversations_open(self, params: Params) -> dict[str, Any]:
        """The app's DM with one member (`users=U…`; a group DM is not faked): its stable
        `D…` id, `no_op`/`already_open` when it existed; `channel=D…` names one directly."""
        users = [u.strip() for u in str(params.get("users") or "").split(",") if u.strip()]
        if not users:
            if not params.get("channel"):
                raise _SlackError("users_list_not_supplied")
            channel_id = self._require_channel(params.get("channel"))
            if self.channels[channel_id].dm_user is None:
                raise _SlackError("method_not_supported_for_channel_type")
            users = [str(self.channels[channel_id].dm_user)]
        if len(users) > 1:
            raise _SlackError("not_implemented", detail="group DMs are not faked")
        if "im:write" not in self.scopes:
            raise _SlackError("missing_scope", needed="im:write", provided=",".join(self.scopes))
        if users[0] not in self.users:
            raise _SlackError("user_not_found")
        existed = "D" + users[0][1:] in self.channels
        channel_id = self._dm_channel(users[0])
        body: dict[str, Any] = {"ok": True, "channel": {"id": channel_id}}
        if _truthy(params.get("return_im")):
            body["channel"] |= {"is_im": True, "user": users[0], "created": 1_700_000_000}
        if existed:
            body |= {"no_op": True, "already_open": True}
        return body

    def _apps_connections_open(self, params: Params) -> dict[str, Any]:
        if not self._socket.enabled:
            raise _SlackError("socket_mode_not_enabled")
        return {"ok": True, "url": self._socket.mint_url(self.socket_mode_url)}

    # ------------------------------------------------------------------ shared helpers

    def _next_ts(self) -> str:
        micros = max(int(self.clock() * 1_000_000), self._last_ts_micros + 1)
        self._last_ts_micros = micros
        return _format_ts(micros / 1_000_000)

    def dm_channel(self, user_id: str) -> str:
        """The bot's direct-message conversation with *user_id* (the app's Messages tab)."""
        return self._dm_channel(user_id)

    def _dm_channel(self, user_id: str) -> str:
        user = self.users[user_id]
        if user.is_bot or user.team_id not in (None, self.team_id):
            raise _SlackError("cannot_dm_bot" if user.is_bot else "channel_not_found")
        channel_id = "D" + user_id[1:]
        if channel_id not in self.channels:
            self.channels[channel_id] = Channel(
                id=channel_id, name=f"@{user.name}", is_private=True, dm_user=user_id
            )
        return channel_id

    def _channel_id(self, value: str) -> str | None:
        if value in self.channels:
            return value
        name = value.lstrip("#")
        return next((c.id for c in self.channels.values() if c.name == name), None)

    def _require_channel(self, value: Any) -> str:
        channel_id = self._channel_id(value) if isinstance(value, str) and value else None
        if channel_id is None:
            raise _SlackError("channel_not_found")
        return channel_id

    def _find_posted(self, channel: str, ts: str) -> Posted | None:
        posted: Iterable[Posted] = itertools.chain(self.messages, self.ephemerals)
        return next((p for p in posted if p.channel == channel and p.ts == ts), None)

    def _find_message(self, channel: str, ts: Any) -> Message:
        message = next(
            (m for m in self.messages if m.channel == channel and m.ts == ts and not m.deleted),
            None,
        )
        if message is None:
            raise _SlackError("message_not_found")
        return message

    def _content(self, params: Params) -> tuple[str, list[dict[str, Any]], list[dict[str, Any]]]:
        text = params.get("text")
        text = "" if text is None else str(text)
        if len(text) > MAX_TEXT_LENGTH:
            raise _SlackError("msg_too_long")
        blocks = _blocks(params.get("blocks"), limit=MAX_MESSAGE_BLOCKS)
        self.slack_calls.check_blocks(blocks)
        attachments = _json_list(params.get("attachments"), "invalid_attachments")
        return text, blocks, attachments

    def _edit(
        self,
        posted: Posted,
        *,
        text: str,
        blocks: list[dict[str, Any]],
        attachments: list[dict[str, Any]],
    ) -> None:
        posted.edits.append(Edit(text=posted.text, blocks=posted.blocks, at=self.clock()))
        posted.text, posted.blocks, posted.attachments = text, blocks, attachments

    def _use_trigger(self, value: Any) -> _Trigger:
        if not isinstance(value, str) or not value:
            raise _SlackError("invalid_arguments")
        trigger = self._triggers.get(value)
        if trigger is None:
            raise _SlackError("invalid_trigger_id")
        if trigger.used:
            raise _SlackError("exchanged_trigger_id")
        if self.clock() >= trigger.expires_at:
            raise _SlackError("expired_trigger_id")
        trigger.used = True
        return trigger

    def _message_json(self, message: Message, *, with_metadata: bool = True) -> dict[str, Any]:
        """*message* as the Web API shows it. Its blocks, attachments and metadata are the
        stored ones, not copies: every caller serialises the body at once (a response, an
        event), and nothing changes a stored list in place (an edit replaces it). Copying them
        was a third of this fake's CPU per posted message in `make bench`, where it shares
        the machine with the server it measures."""
        body: dict[str, Any] = {
            "type": "message",
            "text": message.text,
            "user": message.user,
            "bot_id": message.bot_id,
            "app_id": APP_ID,
            "team": self.team_id,
            "ts": message.ts,
        }
        if message.blocks:
            body["blocks"] = message.blocks
        if message.attachments:
            body["attachments"] = message.attachments
        if message.thread_ts:
            body["thread_ts"] = message.thread_ts
        if message.metadata is not None and with_metadata:
            body["metadata"] = message.metadata
        if message.edits:
            body["edited"] = {"user": message.user, "ts": _format_ts(message.edits[-1].at)}
        return body

    def _view_json(self, view: View) -> dict[str, Any]:
        body = copy.deepcopy(view.view)
        body.update(
            {
                "id": view.id,
                "team_id": self.team_id,
                "app_id": APP_ID,
                "bot_id": BOT_ID,
                "app_installed_team_id": self.team_id,
                "hash": view.hash,
                "root_view_id": view.root_view_id,
                "previous_view_id": view.previous_view_id,
                "state": {"values": {}},
                "private_metadata": view.view.get("private_metadata", ""),
                "callback_id": view.view.get("callback_id", ""),
                "external_id": view.view.get("external_id", ""),
                "clear_on_close": bool(view.view.get("clear_on_close", False)),
                "notify_on_close": bool(view.view.get("notify_on_close", False)),
            }
        )
        return body


# --------------------------------------------------------------------------- request parsing


async def _read_params(request: web.Request) -> tuple[Params, str | None]:
    """Query string, then the form or JSON body, as slack-sdk sends either; the token apart."""
    params: Params = dict(request.query)
    if request.method == "POST" and request.can_read_body:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise _SlackError("invalid_json") from None
            if not isinstance(body, dict):
                raise _SlackError("invalid_json")
            params.update(body)
        else:
            form = await request.post()
            params.update({k: v for k, v in form.items() if isinstance(v, str)})
    body_token = params.pop("token", None)
    token: str | None = None
    authorization = request.headers.get("Authorization", "")
    if authorization.startswith("Bearer "):
        token = authorization.removeprefix("Bearer ").strip()
    elif isinstance(body_token, str):
        token = body_token
    return params, token


def _truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"1", "true"}


def _message_metadata(value: Any) -> dict[str, Any] | None:
    """`chat.postMessage`'s `metadata`: `{"event_type": str, "event_payload": object}`."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise _SlackError("invalid_metadata_format") from None
    if (
        not isinstance(value, dict)
        or not isinstance(value.get("event_type"), str)
        or not isinstance(value.get("event_payload"), dict)
    ):
        raise _SlackError("invalid_metadata_schema")
    return {"event_type": value["event_type"], "event_payload": value["event_payload"]}


def _opt_str(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _json_list(value: Any, error: str) -> list[dict[str, Any]]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise _SlackError(error) from None
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise _SlackError(error)
    return value  # parsed from this request alone (`_read_params`): nobody else holds it


def _blocks(value: Any, *, limit: int) -> list[dict[str, Any]]:
    """Blocks as sent (JSON string in forms, a list in JSON bodies), checked as Slack would."""
    if isinstance(value, str) and value.strip() and not value.strip().startswith("["):
        raise _SlackError("invalid_blocks_format")
    blocks = _json_list(value, "invalid_blocks_format")
    if len(blocks) > limit:
        raise _SlackError("invalid_blocks", errors=[f"no more than {limit} items allowed"])
    seen: set[str] = set()
    for index, block in enumerate(blocks):
        if not isinstance(block.get("type"), str):
            raise _SlackError("invalid_blocks", errors=[f"missing type [json-pointer:/{index}]"])
        block_id = block.get("block_id")
        if isinstance(block_id, str):
            if block_id in seen:
                raise _SlackError("invalid_blocks", errors=[f"duplicate block_id {block_id!r}"])
            seen.add(block_id)
    return blocks


def _view_definition(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise _SlackError("invalid_arguments") from None
    if not isinstance(value, dict):
        raise _SlackError("invalid_arguments")
    problems = []
    if value.get("type") != "modal":
        problems.append("[ERROR] must be 'modal' [json-pointer:/view/type]")
    if not isinstance(value.get("title"), dict):
        problems.append("[ERROR] missing required field: title [json-pointer:/view]")
    if problems:
        raise _SlackError("invalid_arguments", response_metadata={"messages": problems})
    definition = copy.deepcopy(value)
    definition["blocks"] = _blocks(value.get("blocks", []), limit=MAX_VIEW_BLOCKS)
    return definition


def _format_ts(seconds: float) -> str:
    micros = round(seconds * 1_000_000)
    return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


def _new_view_id() -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return "V" + "".join(secrets.choice(alphabet) for _ in range(10))


def _new_hash(now: float) -> str:
    return f"{int(now)}.{secrets.token_hex(4)}"


# --------------------------------------------------------------------------- rendering

_ANGLE = re.compile(r"<([^<>]+)>")


def render_text(
    message: Posted | Mapping[str, Any],
    *,
    users: Mapping[str, User | str] | None = None,
    channels: Mapping[str, Channel | str] | None = None,
    usergroups: Mapping[str, Usergroup | str] | None = None,
) -> str:
    """A message as a terminal would show it: buttons as `[Label]`, dates as their fallback.

    *message* is a recorded `Message`/`Ephemeral` or a dict with `text` and `blocks`. Mentions
    become `@name` through *users* (id -> `User` or name), channels `#name`, user groups
    `@handle`. Without blocks the message `text` is rendered; attachments follow.
    """
    if isinstance(message, Message | Ephemeral):
        text, blocks, attachments = message.text, message.blocks, message.attachments
    else:
        text = str(message.get("text") or "")
        blocks = list(message.get("blocks") or [])
        attachments = list(message.get("attachments") or [])
    renderer = _Renderer(
        users={k: v if isinstance(v, str) else v.name for k, v in (users or {}).items()},
        channels={k: v if isinstance(v, str) else v.name for k, v in (channels or {}).items()},
        groups={k: v if isinstance(v, str) else v.handle for k, v in (usergroups or {}).items()},
    )
    parts = [renderer.message(text, blocks)]
    for attachment in attachments:
        fallback = str(attachment.get("text") or attachment.get("fallback") or "")
        parts.append(renderer.message(fallback, attachment.get("blocks") or []))
    return "\n".join(part for part in parts if part)


@dataclass(frozen=True)
class _Renderer:
    users: Mapping[str, str]
    channels: Mapping[str, str]
    groups: Mapping[str, str]

    def message(self, text: str, blocks: Sequence[Mapping[str, Any]]) -> str:
        if not blocks:
            return self.mrkdwn(text)
        return "\n".join(line for block in blocks for line in self.block(block))

    def mrkdwn(self, text: str) -> str:
        converted = _ANGLE.sub(self._token, text)
        return converted.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")

    def _token(self, match: re.Match[str]) -> str:
        target, _, label = match.group(1).partition("|")
        if target.startswith("@"):
            user_id = target[1:]
            return "@" + self.users.get(user_id, label or user_id)
        if target.startswith("#"):
            channel_id = target[1:]
            return "#" + self.channels.get(channel_id, label or channel_id)
        if target.startswith("!date^"):
            return label or target.split("^")[1]
        if target.startswith("!subteam^"):
            group_id = target.split("^")[1]
            return label or "@" + self.groups.get(group_id, group_id)
        if target.startswith("!"):
            return "@" + target[1:]
        return f"{label} ({target})" if label and label != target else target

    def text(self, obj: Any) -> str:
        if not isinstance(obj, Mapping):
            return ""
        raw = str(obj.get("text", ""))
        return self.mrkdwn(raw) if obj.get("type") == "mrkdwn" else raw

    def element(self, element: Mapping[str, Any]) -> str:
        kind = element.get("type")
        if kind == "button":
            return f"[{self.text(element.get('text'))}]"
        if kind == "image":
            return f"[image: {element.get('alt_text', '')}]"
        if kind == "overflow":
            return "[…]"
        if kind in {"datepicker", "timepicker", "datetimepicker"}:
            initial = element.get("initial_date") or element.get("initial_time")
            return f"[{initial or self.text(element.get('placeholder')) or kind}]"
        if kind in {"mrkdwn", "plain_text"}:
            return self.text(element)
        placeholder = self.text(element.get("placeholder"))
        return f"[{placeholder or kind} ▾]" if "select" in str(kind) else f"[{kind}]"

    def block(self, block: Mapping[str, Any]) -> list[str]:
        kind = block.get("type")
        if kind == "header":
            return [self.text(block.get("text"))]
        if kind == "section":
            lines = [self.text(block.get("text"))] if block.get("text") else []
            lines += [self.text(f) for f in block.get("fields", [])]
            if isinstance(block.get("accessory"), Mapping):
                lines.append(self.element(block["accessory"]))
            return lines
        if kind == "context":
            parts = (self.element(e) for e in block.get("elements", []) if e.get("type") != "image")
            return ["  ".join(parts)]
        if kind == "actions":
            return ["  ".join(self.element(e) for e in block.get("elements", []))]
        if kind == "divider":
            return ["---"]
        if kind == "image":
            return [f"[image: {block.get('alt_text', '')}]"]
        if kind == "input":
            element = block.get("element")
            shown = self.element(element) if isinstance(element, Mapping) else ""
            return [f"{self.text(block.get('label'))}: {shown}"]
        if kind == "rich_text":
            return "".join(self._rich(e) for e in block.get("elements", [])).splitlines()
        return [f"[{kind}]"]

    def _rich(self, element: Mapping[str, Any]) -> str:
        kind = element.get("type")
        children = element.get("elements", [])
        if kind == "rich_text_list":
            return "".join(f"• {self._rich(item)}\n" for item in children)
        if kind in {"rich_text_section", "rich_text_preformatted", "rich_text_quote"}:
            joined = "".join(self._rich(child) for child in children)
            return joined if kind == "rich_text_section" else joined + "\n"
        if kind == "text":
            return str(element.get("text", ""))
        if kind == "link":
            return str(element.get("text") or element.get("url", ""))
        if kind == "user":
            user_id = str(element.get("user_id", ""))
            return "@" + self.users.get(user_id, user_id)
        if kind == "channel":
            channel_id = str(element.get("channel_id", ""))
            return "#" + self.channels.get(channel_id, channel_id)
        if kind == "usergroup":
            group_id = str(element.get("usergroup_id", ""))
            return "@" + self.groups.get(group_id, group_id)
        if kind == "emoji":
            return f":{element.get('name', '')}:"
        if kind == "broadcast":
            return f"@{element.get('range', '')}"
        if kind == "date":
            return str(element.get("fallback", element.get("timestamp", "")))
        return ""
