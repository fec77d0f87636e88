"""The fake Slack's OAuth v2: installs into any number of workspaces, each with its own token.

Plugged into `FakeSlack` as `fake.oauth`. What it models, because multi-workspace mode depends
on it: the consent page (`GET /oauth/v2/authorize`, approved at once for the workspace
`choose` picked — a person's click — or refused with `access_denied`), the one-use code it hands
back (10 minutes, bound to its redirect_uri), `oauth.v2.access` (client id and secret, as HTTP
Basic or form fields) minting a distinct `xoxb-` token per install, `auth.test` answering for
the token's own workspace, organisation-wide installs on Enterprise Grid (`enterprise`, no
`team`, `is_enterprise_install`), and uninstalling: the workspace's tokens are revoked
(`token_revoked` from then on) and `uninstall` returns the `app_uninstalled` event Slack would
send. Tokens are compared, never logged or recorded; calls are recorded with their workspace.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from yarl import URL

AUTHORIZE_PATH = "/oauth/v2/authorize"
CODE_LIFETIME = 600.0


@dataclass(frozen=True)
class Workspace:
    """Where an install goes: one workspace, or (org-wide) a whole Enterprise Grid organisation."""

    team_id: str | None
    name: str
    enterprise_id: str | None = None
    enterprise_name: str | None = None
    is_enterprise_install: bool = False

    @property
    def scope(self) -> str:
        """What roombot keys its records by: the organisation for an org-wide install."""
        if self.is_enterprise_install and self.enterprise_id:
            return self.enterprise_id
        return self.team_id or ""


@dataclass(frozen=True)
class _Code:
    workspace: Workspace
    installer: str
    redirect_uri: str
    scopes: str
    issued_at: float


class FakeOAuth:
    """Slack's side of "Add to Slack" for one app (see the module docstring)."""

    def __init__(
        self,
        *,
        app_id: str,
        bot_user_id: str,
        bot_id: str,
        clock: Callable[[], float],
        error: Callable[[str], Exception],
    ) -> None:
        self._app_id = app_id
        self._bot_user_id = bot_user_id
        self._bot_id = bot_id
        self._clock = clock
        self._error = error
        self._client: tuple[str, str] | None = None
        self._chosen: tuple[Workspace, str] | None = None
        self._codes: dict[str, _Code] = {}
        self._tokens: dict[str, Workspace] = {}
        self._revoked: set[str] = set()
        self.installs: list[Workspace] = []
        """Every finished install, in order (a reinstall is listed again)."""
        self.authorize_requests: list[dict[str, str]] = []

    def enable(self, client_id: str, client_secret: str) -> None:
        """Serve OAuth for the app with these credentials (give them to the bot)."""
        self._client = (client_id, client_secret)

    def choose(self, workspace: Workspace, *, installer: str = "U0INSTALLER") -> None:
        """What the person on the consent page picks (and approves) from now on."""
        self._chosen = (workspace, installer)

    def methods(self) -> dict[str, Callable[[dict[str, Any], str | None], dict[str, Any]]]:
        """Web API methods that authenticate themselves (client secret or their own token)."""
        return {"oauth.v2.access": self._access, "apps.uninstall": self._apps_uninstall}

    # ------------------------------------------------------------------ tokens

    def workspace_for(self, token: str | None) -> Workspace | None:
        """The workspace an installed token is for; None for any other token.

        Raises Slack's `token_revoked` for a token of an uninstalled workspace.
        """
        if not token:
            return None
        for revoked in self._revoked:
            if secrets.compare_digest(token, revoked):
                raise self._error("token_revoked")
        for known, workspace in self._tokens.items():
            if secrets.compare_digest(token, known):
                return workspace
        return None

    def installed(self, scope: str) -> bool:
        return any(w.scope == scope for w in self._tokens.values())

    def as_installed(
        self, method: str, workspace: Workspace, body: dict[str, Any]
    ) -> dict[str, Any]:
        """A method's answer as the token's own workspace sees it (`auth.test`)."""
        if method != "auth.test":
            return body
        return {
            **body,
            "team_id": workspace.team_id or workspace.enterprise_id,
            "team": workspace.name,
            "enterprise_id": workspace.enterprise_id,
            "is_enterprise_install": workspace.is_enterprise_install,
        }

    def uninstall(self, scope: str) -> dict[str, Any]:
        """Remove the app from *scope*: its tokens stop working at once. Returns the
        `app_uninstalled` event callback Slack sends the app (deliver it signed)."""
        workspace = self._revoke(scope)
        return {
            "token": "legacy-unused",
            "team_id": workspace.team_id or workspace.enterprise_id,
            "enterprise_id": workspace.enterprise_id,
            "is_enterprise_install": workspace.is_enterprise_install,
            "api_app_id": self._app_id,
            "type": "event_callback",
            "event_id": "Ev" + secrets.token_hex(5).upper(),
            "event_time": int(self._clock()),
            "event": {"type": "app_uninstalled"},
        }

    def _revoke(self, scope: str) -> Workspace:
        found = [(t, w) for t, w in self._tokens.items() if w.scope == scope]
        if not found:
            raise KeyError(f"the app is not installed in {scope}")
        for token, _workspace in found:
            del self._tokens[token]
            self._revoked.add(token)
        return found[0][1]

    # ------------------------------------------------------------------ the consent page

    async def authorize_page(self, request: web.Request) -> web.Response:
        """Slack's "Add to Slack" consent page, approved at once for the chosen workspace."""
        query = request.query
        self.authorize_requests.append(dict(query))
        problems = [
            name
            for name, ok in (
                ("client_id", self._client and query.get("client_id") == self._client[0]),
                ("scope", bool(query.get("scope"))),
                ("state", bool(query.get("state"))),
                ("redirect_uri", query.get("redirect_uri", "").startswith(("http://", "https://"))),
            )
            if not ok
        ]
        if problems:
            return web.Response(status=400, text=f"bad authorize request: {', '.join(problems)}")
        redirect = URL(query["redirect_uri"])
        if self._chosen is None:
            target = redirect.update_query(error="access_denied", state=query["state"])
        else:
            code = secrets.token_urlsafe(16)
            workspace, installer = self._chosen
            self._codes[code] = _Code(
                workspace=workspace,
                installer=installer,
                redirect_uri=query["redirect_uri"],
                scopes=query["scope"],
                issued_at=self._clock(),
            )
            target = redirect.update_query(code=code, state=query["state"])
        raise web.HTTPFound(str(target))

    # ------------------------------------------------------------------ Web API

    def _access(self, params: dict[str, Any], auth: str | None) -> dict[str, Any]:
        self._check_client(params, auth)
        grant = self._codes.pop(str(params.get("code") or ""), None)
        if grant is None or self._clock() - grant.issued_at > CODE_LIFETIME:
            raise self._error("invalid_code")
        if params.get("redirect_uri") and params["redirect_uri"] != grant.redirect_uri:
            raise self._error("bad_redirect_uri")
        token = "xoxb-" + secrets.token_hex(16)
        workspace = grant.workspace
        self._tokens[token] = workspace
        self.installs.append(workspace)
        team = (
            None
            if workspace.is_enterprise_install
            else {"id": workspace.team_id, "name": workspace.name}
        )
        enterprise = (
            {"id": workspace.enterprise_id, "name": workspace.enterprise_name or workspace.name}
            if workspace.enterprise_id
            else None
        )
        return {
            "ok": True,
            "app_id": self._app_id,
            "authed_user": {"id": grant.installer},
            "scope": grant.scopes,
            "token_type": "bot",
            "access_token": token,
            "bot_user_id": self._bot_user_id,
            "team": team,
            "enterprise": enterprise,
            "is_enterprise_install": workspace.is_enterprise_install,
        }

    def _apps_uninstall(self, params: dict[str, Any], auth: str | None) -> dict[str, Any]:
        bearer = auth if auth and not auth.startswith("Basic ") else None
        self._check_client(params, None if bearer else auth)
        workspace = self.workspace_for(bearer or str(params.get("token") or ""))
        if workspace is None:
            raise self._error("invalid_auth")
        self._revoke(workspace.scope)
        return {"ok": True}

    def _check_client(self, params: dict[str, Any], auth: str | None) -> None:
        if self._client is None:
            raise self._error("invalid_client_id")
        client_id = str(params.get("client_id") or "")
        client_secret = str(params.get("client_secret") or "")
        if auth and auth.startswith("Basic "):
            try:
                decoded = base64.b64decode(auth.removeprefix("Basic ")).decode()
            except (ValueError, UnicodeDecodeError):
                raise self._error("invalid_client_id") from None
            client_id, _, client_secret = decoded.partition(":")
        if client_id != self._client[0]:
            raise self._error("invalid_client_id")
        if not secrets.compare_digest(client_secret, self._client[1]):
            raise self._error("bad_client_secret")
