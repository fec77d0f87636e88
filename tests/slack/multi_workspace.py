"""roombot in multi-workspace mode on loopback: installed through the fake Slack's OAuth.

The real `Runtime` and HTTP server with SLACK_CLIENT_ID/SECRET and no bot token, the ACS
emulator, and a `FakeSlack` whose `oauth` installs any number of workspaces. Everything goes
over HTTP as in production: the browser's trip through "Add to Slack" (with the state cookie
Bolt sets), signed slash commands and events.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
import secrets
import socket
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from slack_sdk.signature import SignatureVerifier

from bot.config import load_settings
from bot.local.emulator import EmulatorServer
from bot.local.fake_oauth import Workspace
from bot.local.fake_slack import FakeSlack
from bot.main import Options, Runtime, web_app

CLIENT_ID = "1111111111.2222222222"
_INSTALL_LINK = re.compile(r'href="([^"]*/oauth/v2/authorize[^"]*)"')


@dataclass
class InstallResult:
    status: int
    page: str


@dataclass
class MultiBot:
    slack: FakeSlack
    emulator: EmulatorServer
    runtime: Runtime
    public_url: str
    signing_secret: str
    http: aiohttp.ClientSession

    async def install(
        self, workspace: Workspace, *, installer: str = "U0INSTALLER"
    ) -> InstallResult:
        """A person's trip: the "Add to Slack" page, Slack's consent page, back with a code."""
        self.slack.oauth.choose(workspace, installer=installer)
        async with self.http.get(f"{self.public_url}/slack/install") as page:
            assert page.status == 200, await page.text()
            found = _INSTALL_LINK.search(await page.text())
            assert found is not None, "the install page links to Slack's authorize page"
            cookie = page.headers.getall("Set-Cookie")[0].split(";", 1)[0]
        async with self.http.get(html.unescape(found.group(1)), allow_redirects=False) as consent:
            assert consent.status == 302, await consent.text()
            back = consent.headers["Location"]
        async with self.http.get(back, headers={"Cookie": cookie}) as finished:
            return InstallResult(finished.status, await finished.text())

    async def sign_in_to_room(self, room_id: str, user: str) -> tuple[int, str]:
        """Open the room's shareable link signed in to Slack as *user*; the final status and
        where it sends the browser (`/join/…` when it lets them in)."""
        self.slack.signed_in = user
        async with self.http.get(f"{self.public_url}/rooms/{room_id}", allow_redirects=False) as r:
            assert r.status == 302, await r.text()
            authorize = r.headers["Location"]
            cookie = r.headers.getall("Set-Cookie")[0].split(";", 1)[0]
        async with self.http.get(authorize, allow_redirects=False) as consent:
            back = consent.headers["Location"]
        async with self.http.get(back, headers={"Cookie": cookie}, allow_redirects=False) as done:
            return done.status, done.headers.get("Location", await done.text())

    async def post_signed(self, body: str, content_type: str) -> tuple[int, str]:
        stamp = str(int(time.time()))
        signature = SignatureVerifier(self.signing_secret).generate_signature(
            timestamp=stamp, body=body
        )
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": signature or "",
        }
        url = f"{self.public_url}/slack/events"
        async with self.http.post(url, data=body.encode(), headers=headers) as response:
            return response.status, await response.text()

    async def command(
        self,
        text: str,
        *,
        team: str,
        user: str,
        channel: str,
        enterprise: str | None = None,
    ) -> dict[str, Any]:
        """`/room TEXT` as Slack sends it from *team* (of an org-wide install with
        *enterprise*); the ack's JSON, {} for an empty ack."""
        form: dict[str, str] = {
            "token": "legacy-unused",
            "team_id": team,
            "team_domain": team.lower(),
            "channel_id": channel,
            "channel_name": "general",
            "user_id": user,
            "user_name": user.lower(),
            "command": "/room",
            "text": text,
            "api_app_id": "A0LOCALAPP",
            "response_url": self.slack.new_response_url(channel, user),
            "trigger_id": self.slack.issue_trigger_id(user_id=user),
        }
        if enterprise is not None:
            form |= {"enterprise_id": enterprise, "is_enterprise_install": "true"}
        status, body = await self.post_signed(urlencode(form), "application/x-www-form-urlencoded")
        assert status == 200, body
        ack: dict[str, Any] = json.loads(body) if body.startswith("{") else {}
        if ack:
            self.slack.show_ack(form["response_url"], ack)
        return ack

    async def event(self, callback: Mapping[str, Any]) -> int:
        status, _ = await self.post_signed(json.dumps(callback), "application/json")
        return status

    async def settle(self, within: float = 30.0) -> None:
        """Until every accepted command is answered (polled, with a deadline)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while loop.time() < deadline:
            await self.runtime.worker.drain(within=1.0)
            if await self.runtime.store.journal.pending_count() == 0:
                return
            await self.runtime.worker.run_once()
            await asyncio.sleep(0.05)
        raise AssertionError(f"commands still pending after {within} s")

    def teams_calling(self, method: str) -> list[str | None]:
        return [call.team for call in self.slack.calls_to(method)]


@asynccontextmanager
async def multi_bot(
    database: str, *, socket_mode: bool = False, **settings: str
) -> AsyncIterator[MultiBot]:
    """The bot with no workspace installed yet; over Socket Mode with *socket_mode*."""
    signing_secret = secrets.token_hex(16)
    client_secret = secrets.token_hex(16)
    listener = socket.create_server(("127.0.0.1", 0))
    public_url = f"http://localhost:{listener.getsockname()[1]}"
    try:
        async with EmulatorServer() as emulator, FakeSlack(socket_mode=socket_mode) as slack:
            if socket_mode:
                settings = {**settings, "SLACK_APP_TOKEN": slack.app_token}
            slack.oauth.enable(CLIENT_ID, client_secret)
            slack.enable_openid(CLIENT_ID, client_secret)  # the room link's Sign in with Slack
            loaded = load_settings(
                SLACK_CLIENT_ID=CLIENT_ID,
                SLACK_CLIENT_SECRET=client_secret,
                SLACK_SIGNING_SECRET=signing_secret,
                SLACK_API_URL=slack.api_url,
                ACS_CONNECTION_STRING=emulator.connection_string,
                DATABASE_URL=database,
                ROOMBOT_PUBLIC_URL=public_url,
                **settings,
            )
            options = Options(
                channel_post_interval=0,
                worker_poll_interval=0.5,
                response_url_prefixes=(slack.base_url,),
            )
            async with Runtime(loaded, options) as runtime:
                runner = web.AppRunner(web_app(runtime), access_log=None)
                await runner.setup()
                await web.SockSite(runner, listener).start()
                if socket_mode:
                    await runtime.start_socket_mode()
                try:
                    # No cookie jar: the test carries Bolt's state cookie as a browser would.
                    jar = aiohttp.DummyCookieJar()
                    async with aiohttp.ClientSession(cookie_jar=jar) as http:
                        yield MultiBot(slack, emulator, runtime, public_url, signing_secret, http)
                finally:
                    await runner.cleanup()
    finally:
        listener.close()
