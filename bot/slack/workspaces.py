"""Many workspaces, one bot: whose token each Slack call carries.

In multi-workspace mode (`Settings.multi_workspace`) every workspace that installed roombot
has its own bot token in slack-sdk's `slack_bots` table (`bot.slack.install`). Every record
roombot keeps (journal entries, rooms, identities, join codes, knocks) is keyed by a *scope*:

- the workspace id (`T…`) for an ordinary install, and
- the organisation id (`E…`) for an Enterprise Grid org-wide install (`is_enterprise_install`),
  whose one token serves every workspace of the organisation: a room made in one of its
  workspaces is the organisation's, seen and changed from any of them, as its channels and
  people (`W…` ids) are shared across them.

`workspace_scope` reads the scope from a payload; `acting_for` marks the work done on a
scope's behalf (a Bolt request, a journal entry), and `WorkspaceClient` — the one Web API
client the listeners, answerer and people look-ups share — signs each call with that scope's
token. A call made outside any scope fails (`NoWorkspace`) instead of guessing a token, and a
call for a scope that was uninstalled fails with `NotInstalled`.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.async_authorize import AsyncAuthorize
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.request.internals import extract_enterprise_id, extract_is_enterprise_install
from slack_bolt.response import BoltResponse
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse
from sqlalchemy import ColumnElement, Table, and_, delete, desc, or_, select

from bot.slack.scopes import GrantedScopes

logger = logging.getLogger("roombot.slack")

_current: ContextVar[str | None] = ContextVar("roombot_workspace_scope", default=None)

TOKEN_TTL = 10.0
"""Seconds a found token is reused on this replica; an uninstall here forgets it at once (on
another replica Slack refuses it meanwhile, and the command ends as uninstalled). A scope
found not installed is not remembered: an install elsewhere counts at once."""


class NoWorkspace(RuntimeError):
    """A Web API call was made outside `acting_for`: a bug, never a guess at whose token."""


class NotInstalled(Exception):
    """The scope has no installation (any more): nothing may be said to it."""

    def __init__(self, scope: str) -> None:
        super().__init__(f"roombot is not installed for {scope or 'an unnamed workspace'}")
        self.scope = scope


def workspace_scope(payload: Mapping[str, Any], team_id: str) -> str:
    """The key of *payload*'s records: the organisation for an org-wide install, else *team_id*.

    *team_id* is the workspace the caller read from the payload (its rules differ per kind).
    """
    if extract_is_enterprise_install(dict(payload)):
        enterprise = extract_enterprise_id(dict(payload))
        if enterprise:
            return str(enterprise)
    return team_id


def current_scope() -> str | None:
    return _current.get()


@contextlib.contextmanager
def acting_for(scope: str) -> Iterator[None]:
    """Run the block (and the tasks it starts) on *scope*'s behalf."""
    token = _current.set(scope)
    try:
        yield
    finally:
        _current.reset(token)


@dataclass(frozen=True, slots=True)
class InstalledBot:
    """A scope's bot, as its latest installation left it. Its token is never logged."""

    scope: str
    enterprise_id: str | None
    team_id: str | None
    is_enterprise_install: bool
    bot_token: str
    bot_id: str | None
    bot_user_id: str | None
    bot_scopes: str | None

    def __repr__(self) -> str:
        return f"InstalledBot(scope={self.scope!r}, bot_user_id={self.bot_user_id!r})"


class InstalledBots:
    """Bot tokens by scope, from slack-sdk's `slack_bots` table on roombot's own engine.

    slack-sdk's own `async_find_bot` wants the exact (enterprise, team) pair; journal entries
    know only the scope (a team id, or the organisation id of an org-wide install), so the
    look-up is by scope here, on the same table the library writes.
    """

    def __init__(
        self,
        installations: AsyncSQLAlchemyInstallationStore,
        *,
        ttl: float = TOKEN_TTL,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.installations = installations
        self._ttl = ttl
        self._monotonic = monotonic
        self._cache: dict[str, tuple[float, InstalledBot]] = {}

    async def find(self, scope: str) -> InstalledBot | None:
        """The scope's latest bot with a token; None when it is not (or no longer) installed."""
        hit = self._cache.get(scope)
        if hit is not None and self._monotonic() - hit[0] < self._ttl:
            return hit[1]
        bots = self.installations.bots
        query = (
            select(bots)
            .where(self._of(bots, scope), bots.c.bot_token.is_not(None))
            .order_by(desc(bots.c.installed_at), desc(bots.c.id))
            .limit(1)
        )
        async with self.installations.engine.connect() as connection:
            row = (await connection.execute(query)).mappings().first()
        if row is None:
            return None
        bot = InstalledBot(
            scope=scope,
            enterprise_id=row["enterprise_id"],
            team_id=row["team_id"],
            is_enterprise_install=bool(row["is_enterprise_install"]),
            bot_token=str(row["bot_token"]),
            bot_id=row["bot_id"],
            bot_user_id=row["bot_user_id"],
            bot_scopes=row["bot_scopes"],
        )
        self._cache[scope] = (self._monotonic(), bot)
        return bot

    async def remove(self, scope: str) -> int:
        """Delete every installation and bot of *scope*; how many bots there were."""
        self._cache.pop(scope, None)
        removed = 0
        store = self.installations
        async with store.engine.begin() as connection:
            for table in (store.bots, store.installations):
                result = await connection.execute(delete(table).where(self._of(table, scope)))
                if table is store.bots:
                    removed = result.rowcount or 0
        return removed

    def _of(self, table: Table, scope: str) -> ColumnElement[bool]:
        """Rows of this app for *scope*: a workspace's own install, or an organisation's."""
        c = table.c
        return and_(
            c.client_id == self.installations.client_id,
            or_(
                and_(c.team_id == scope, c.is_enterprise_install.is_(False)),
                and_(c.enterprise_id == scope, c.is_enterprise_install.is_(True)),
            ),
        )


class WorkspaceClient(AsyncWebClient):
    """An `AsyncWebClient` whose every call carries the token of the scope it is made for.

    Built without a token; `api_call` (which every method goes through) adds the current
    scope's bot token as the Authorization header. A call with its own credentials (`token=`
    or client id and secret) is left alone.
    """

    def __init__(self, *, bots: InstalledBots, **kwargs: Any) -> None:
        super().__init__(token=None, **kwargs)
        self._bots = bots

    async def api_call(
        self,
        api_method: str,
        *,
        headers: dict[str, str] | None = None,
        auth: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> AsyncSlackResponse:
        headers = dict(headers or {})
        if auth is None and "Authorization" not in headers and not _has_token(kwargs):
            scope = current_scope()
            if scope is None:
                raise NoWorkspace(f"{api_method} was called on behalf of no workspace")
            bot = await self._bots.find(scope)
            if bot is None:
                raise NotInstalled(scope)
            headers["Authorization"] = f"Bearer {bot.bot_token}"
        return await super().api_call(api_method, headers=headers, auth=auth, **kwargs)


def _has_token(kwargs: Mapping[str, Any]) -> bool:
    for part in ("params", "data", "json"):
        values = kwargs.get(part)
        if isinstance(values, Mapping) and values.get("token"):
            return True
    return False


class ScopedAuthorize(AsyncAuthorize):
    """Bolt's authorize for many workspaces: the scope's installed bot, with no `auth.test`.

    Bolt's own `InstallationStoreAuthorize` calls `auth.test` on every request, a round trip
    to Slack inside the 3 seconds of every ack; the table already holds what it would learn.
    """

    def __init__(self, bots: InstalledBots) -> None:
        self._bots = bots

    async def __call__(
        self,
        *,
        context: AsyncBoltContext,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None,
        actor_enterprise_id: str | None = None,
        actor_team_id: str | None = None,
        actor_user_id: str | None = None,
    ) -> AuthorizeResult | None:
        scope = enterprise_id if context.is_enterprise_install else team_id
        bot = await self._bots.find(scope or "")
        if bot is None:
            return None
        return AuthorizeResult(
            enterprise_id=bot.enterprise_id,
            team_id=bot.team_id,
            bot_user_id=bot.bot_user_id,
            bot_id=bot.bot_id,
            bot_token=bot.bot_token,
            bot_scopes=bot.bot_scopes,
            user_id=user_id,
        )


class ScopesPerWorkspace(GrantedScopes):
    """`GrantedScopes` kept per scope: each workspace granted what its installer approved."""

    def __init__(self, client: AsyncWebClient) -> None:
        super().__init__(client)
        self._per_scope: dict[str, GrantedScopes] = {}

    async def current(self) -> frozenset[str]:
        scope = current_scope() or ""
        granted = self._per_scope.get(scope)
        if granted is None:
            granted = self._per_scope[scope] = GrantedScopes(self._client)
        return await granted.current()


def act_for_each_request(app: AsyncApp) -> None:
    """Run every listener of *app* (and the work it starts) for its payload's scope.

    Bolt runs its middleware one after another and the listener after the last (`next` only
    lets the chain go on), so the scope cannot be a block around `next()`: it is set for the
    rest of the dispatch. Each dispatch runs in a context of its own: a task per message in
    Socket Mode, `dispatch_scope` around it over HTTP (`bot.slack.adapter`).
    """
    app.middleware(_ActingForPayload())


class _ActingForPayload(AsyncMiddleware):
    """Sets the payload's scope (`act_for_each_request`). A class (Bolt's documented
    `AsyncMiddleware`), not a function, so no request pays Bolt's kwargs injection for it."""

    async def async_process(
        self,
        *,
        req: AsyncBoltRequest,
        resp: BoltResponse,
        next: Callable[[], Awaitable[BoltResponse]],
    ) -> BoltResponse:
        _current.set(workspace_scope(req.body, req.context.team_id or ""))
        return await next()

    @property
    def name(self) -> str:
        return "roombot.acting_for_payload"


@contextlib.contextmanager
def dispatch_scope() -> Iterator[None]:
    """Confine the scope one dispatch sets (`act_for_each_request`) to that dispatch: over
    HTTP, requests on one keep-alive connection share a task, and so a context."""
    token = _current.set(None)
    try:
        yield
    finally:
        _current.reset(token)


class OneWorkspace(AsyncAuthorize):
    """Bolt's authorize for SLACK_BOT_TOKEN: its workspace, learnt once from `auth.test`.

    Given explicitly because Bolt reads SLACK_CLIENT_ID and SLACK_CLIENT_SECRET from the
    environment by itself: set for Sign in with Slack beside a bot token, they made it ignore
    the token and look for installations in files under $HOME, failing every request.
    """

    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client
        # The answer is the same for every request (one token, learnt once), so it is built
        # once too; Bolt only reads it (`AsyncBoltContext.set_authorize_result`).
        self._result: AuthorizeResult | None = None

    async def __call__(
        self,
        *,
        context: AsyncBoltContext,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None,
        actor_enterprise_id: str | None = None,
        actor_team_id: str | None = None,
        actor_user_id: str | None = None,
    ) -> AuthorizeResult | None:
        if self._result is None:
            self._result = AuthorizeResult.from_auth_test_response(
                auth_test_response=await self._client.auth_test(),
                bot_token=self._client.token,
                user_token=None,
            )
        return self._result
