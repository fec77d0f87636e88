"""Install to any number of workspaces: Bolt's OAuth flow on roombot's own database.

With `SLACK_CLIENT_ID` and `SLACK_CLIENT_SECRET` and no `SLACK_BOT_TOKEN`, `/slack/install`
shows an "Add to Slack" button, Slack sends the installer back to `/slack/oauth_redirect` with
a code, and Bolt trades it (`oauth.v2.access`) for the workspace's bot token. slack-sdk's
async SQLAlchemy stores keep the installation and the one-use OAuth `state` in tables that
roombot's migrations create (0008), on the same engine as everything else; `InstalledBots`
reads the tokens back by scope (`bot.slack.workspaces`).
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.oauth.async_callback_options import AsyncCallbackOptions, AsyncFailureArgs
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.logs import scrub_at_source
from bot.slack.workspaces import InstalledBots, ScopedAuthorize

logger = logging.getLogger("roombot.slack")

INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
BOT_SCOPES = (
    "commands",
    "chat:write",
    "chat:write.public",
    "users:read",
    "usergroups:read",
    "links:read",  # room links unfurl
    "links:write",
    "calls:write",  # Slack's own call UI on a room's card
)
"""What an install asks for: manifest.yml's bot scopes (tests/slack/test_manifest.py)."""
STATE_LIFETIME = 600
"""Seconds between "Add to Slack" and coming back from Slack's consent page."""
NOT_INSTALLED = (
    "roombot is no longer installed in this workspace, so it cannot do anything here. "
    "Ask a workspace admin to add it again (its Add to Slack page is {install_url})."
)


@dataclass
class Installs:
    """Multi-workspace mode's parts: the stores, the token look-up and the OAuth flow."""

    installations: AsyncSQLAlchemyInstallationStore
    states: AsyncSQLAlchemyOAuthStateStore
    bots: InstalledBots
    flow: AsyncOAuthFlow
    install_url: str

    def bolt_options(self) -> dict[str, Any]:
        """`AsyncApp` keywords: the OAuth flow, and an authorize that finds the scope's bot."""
        return {
            "oauth_flow": self.flow,
            "installation_store": self.installations,
            "authorize": ScopedAuthorize(self.bots),
            "user_facing_authorize_error_message": NOT_INSTALLED.format(
                install_url=self.install_url
            ),
        }


def open_installs(
    *,
    engine: AsyncEngine,
    client_id: str,
    client_secret: str,
    slack_api_url: str,
    slack_web_url: str,
    public_url: str | None,
    session: aiohttp.ClientSession,
) -> Installs:
    """The stores on *engine* (tables made by migration 0008) and Bolt's flow over them.

    *public_url* (ROOMBOT_PUBLIC_URL) names the redirect URL the install asks Slack for;
    without it Slack uses the app's first redirect URL (manifest.yml lists ours).
    """
    # slack-sdk logs each answer at DEBUG; `oauth.v2.access`'s holds the new bot token.
    scrub_at_source("slack_sdk.web.async_base_client")
    installations = AsyncSQLAlchemyInstallationStore(
        client_id=client_id, engine=engine, logger=logging.getLogger("roombot.install")
    )
    states = AsyncSQLAlchemyOAuthStateStore(
        expiration_seconds=STATE_LIFETIME,
        engine=engine,
        logger=logging.getLogger("roombot.install"),
    )
    redirect_uri = f"{public_url}{REDIRECT_PATH}" if public_url else None
    settings = AsyncOAuthSettings(
        client_id=client_id,
        client_secret=client_secret,
        scopes=list(BOT_SCOPES),
        redirect_uri=redirect_uri,
        install_path=INSTALL_PATH,
        redirect_uri_path=REDIRECT_PATH,
        authorization_url=f"{slack_web_url}oauth/v2/authorize",
        installation_store=installations,
        installation_store_bot_only=True,
        state_store=states,
        state_expiration_seconds=STATE_LIFETIME,
        callback_options=AsyncCallbackOptions(success=_installed, failure=_not_installed),
        logger=logging.getLogger("roombot.install"),
    )
    # Its own client: `oauth.v2.access` authenticates with the client secret, `auth.test` with
    # the new token it passes itself; neither belongs to a workspace yet.
    flow = AsyncOAuthFlow(
        client=_ClientSecretClient(base_url=slack_api_url, session=session),
        settings=settings,
        logger=logging.getLogger("roombot.install"),
    )
    return Installs(
        installations=installations,
        states=states,
        bots=InstalledBots(installations),
        flow=flow,
        install_url=f"{public_url or ''}{INSTALL_PATH}",
    )


class _ClientSecretClient(AsyncWebClient):
    """Sends the client id and secret Bolt passes as `auth=` in an Authorization header.

    slack-sdk's own `auth=` path goes through aiohttp's deprecated `BasicAuth`; a header is
    what Slack reads either way, and slack-sdk's debug log redacts it (it logs a form).
    """

    async def api_call(
        self,
        api_method: str,
        *,
        headers: dict[str, str] | None = None,
        auth: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> AsyncSlackResponse:
        if auth is not None:
            credentials = f"{auth['client_id']}:{auth['client_secret']}".encode()
            basic = "Basic " + base64.b64encode(credentials).decode("ascii")
            headers = {**(headers or {}), "Authorization": basic}
        return await super().api_call(api_method, headers=headers, **kwargs)


async def _installed(args: Any) -> BoltResponse:
    installation = args.installation
    scope = (
        installation.enterprise_id if installation.is_enterprise_install else installation.team_id
    )
    logger.info(
        "installed in %s (%s)",
        scope,
        "organisation-wide" if installation.is_enterprise_install else "one workspace",
    )
    return BoltResponse(
        status=200,
        body=_page(
            "roombot is installed",
            "Type <code>/room help</code> in any channel to start. You can close this page.",
        ),
        headers={"Content-Type": "text/html; charset=utf-8"},
    )


async def _not_installed(args: AsyncFailureArgs) -> BoltResponse:
    logger.warning("an install did not finish: %s", args.reason)
    return BoltResponse(
        status=args.suggested_status_code,
        body=_page(
            "roombot was not installed",
            f"Slack's answer: {_escape(args.reason)}. "
            f'<a href="{INSTALL_PATH}">Start again</a> to try once more.',
        ),
        headers={"Content-Type": "text/html; charset=utf-8"},
    )


def _page(title: str, text: str) -> str:
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{title}</title></head><body><h1>{title}</h1><p>{text}</p></body></html>"
    )


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mount(app: web.Application, bolt: AsyncApp) -> None:
    """`GET /slack/install` and `GET /slack/oauth_redirect`, answered by Bolt's OAuth flow."""
    flow = bolt.oauth_flow
    assert flow is not None, "only in multi-workspace mode"

    async def install(request: web.Request) -> web.StreamResponse:
        return _to_aiohttp(await flow.handle_installation(await _bolt_request(request)))

    async def redirect(request: web.Request) -> web.StreamResponse:
        return _to_aiohttp(await flow.handle_callback(await _bolt_request(request)))

    app.router.add_get(INSTALL_PATH, install)
    app.router.add_get(REDIRECT_PATH, redirect)


async def _bolt_request(request: web.Request) -> AsyncBoltRequest:
    return AsyncBoltRequest(
        body="",
        query=request.query_string,
        headers={name: request.headers.getall(name) for name in request.headers},
    )


def _to_aiohttp(response: BoltResponse) -> web.Response:
    answer = web.Response(status=response.status, body=response.body.encode())
    for name, values in response.headers.items():
        for value in values:
            if name.lower() == "set-cookie":
                answer.headers.add("Set-Cookie", value)
            else:
                answer.headers[name] = value
    return answer
