"""`roombot dev --multi-workspace`: the local workspace installs roombot through "Add to Slack".

The bot runs as a multi-workspace deployment does (SLACK_CLIENT_ID/SECRET, no bot token), and
before the console starts, the local workspace goes through the same trip a workspace admin's
browser makes: roombot's install page, the fake Slack's consent page (approved at once), and
back to roombot's redirect with a code that roombot trades for the workspace's own token. Each
step is a line the console shows, so the flow can be seen (and the install page opened in a
browser while the console runs).
"""

from __future__ import annotations

import html
import re

import aiohttp

from bot.slack.install import INSTALL_PATH

_AUTHORIZE_LINK = re.compile(r'href="([^"]*/oauth/v2/authorize[^"]*)"')


class InstallFailed(Exception):
    """The local install did not finish; the message says at which step."""


async def install_through_oauth(http: aiohttp.ClientSession, public_url: str) -> list[str]:
    """Follow "Add to Slack" from *public_url* to the end; the lines that describe it.

    *http* must not keep cookies by itself (`aiohttp.DummyCookieJar`): the state cookie is
    carried as a browser on http://localhost would carry it.
    """
    install_page = f"{public_url}{INSTALL_PATH}"
    async with http.get(install_page) as page:
        found = _AUTHORIZE_LINK.search(await page.text())
        if page.status != 200 or found is None:
            raise InstallFailed(f"{install_page} answered {page.status} without an install link")
        cookie = page.headers.getall("Set-Cookie", [""])[0].split(";", 1)[0]
    authorize = html.unescape(found.group(1))
    async with http.get(authorize, allow_redirects=False) as consent:
        back = consent.headers.get("Location", "")
        if consent.status != 302 or not back:
            raise InstallFailed(f"Slack's consent page answered {consent.status}")
    async with http.get(back, headers={"Cookie": cookie}) as done:
        if done.status != 200:
            raise InstallFailed(f"roombot's redirect answered {done.status}")
    return [
        f"  Add to Slack: {install_page}",
        f"  Slack's consent page: {authorize.split('?', 1)[0]} (approved for the local workspace)",
        f"  back to roombot: {back.split('?', 1)[0]} → installed; the bot now uses that token",
    ]
