"""The shareable room link: Sign in with Slack (OpenID Connect, through the fake Slack's own
authorize page and methods), then the same checks and the same join page."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest

from tests.join.helpers import ALICE, CAROL, create_room
from tests.reliability.harness import Bot, running_bot


@pytest.fixture(name="bot")
async def _bot(sqlite_url: str) -> AsyncIterator[Bot]:
    async with running_bot(sqlite_url, join="public", sign_in=True) as running:
        yield running


def public(bot: Bot) -> str:
    port = urlsplit(bot.events_url).port
    return f"http://localhost:{port}"


async def open_room_link(http: aiohttp.ClientSession, bot: Bot, room_id: str) -> str:
    """GET the room link; the Slack authorize URL it sends the browser to."""
    async with http.get(f"{public(bot)}/rooms/{room_id}", allow_redirects=False) as response:
        assert response.status == 302
        assert response.headers["Referrer-Policy"] == "no-referrer"
        cookie = response.headers["Set-Cookie"]
        assert "HttpOnly" in cookie
        assert "SameSite=Lax" in cookie
        return response.headers["Location"]


async def at_slack(http: aiohttp.ClientSession, authorize: str) -> str:
    """Slack's consent page (the fake approves for whoever is signed in); where it sends back."""
    async with http.get(authorize, allow_redirects=False) as response:
        assert response.status == 302
        return response.headers["Location"]


async def test_signing_in_leads_to_the_join_page_and_a_token(bot: Bot) -> None:
    room_id = await create_room(bot)
    bot.slack.signed_in = ALICE
    async with aiohttp.ClientSession() as http:
        authorize = await open_room_link(http, bot, room_id)
        query = parse_qs(urlsplit(authorize).query)
        assert authorize.startswith(bot.slack.base_url + "openid/connect/authorize?")
        assert query["scope"] == ["openid profile"]
        assert query["redirect_uri"] == [f"{public(bot)}/rooms/signed-in"]
        assert len(query["state"][0]) >= 22
        assert len(query["nonce"][0]) >= 22
        back = await at_slack(http, authorize)
        async with http.get(back, allow_redirects=False) as response:
            assert response.status == 303, await response.text()
            join = response.headers["Location"]
        assert re.fullmatch(re.escape(public(bot)) + r"/join/[\w-]{22,}", join)
        async with http.get(join) as page:
            assert page.status == 200
            assert "static/join.js" in await page.text()
        async with http.post(join + "/token") as token:
            assert token.status == 200
            session = json.loads(await token.text())
    room = await bot.runtime.store.rooms.get(room_id)
    assert room is not None
    alice = room.participant(ALICE)
    assert alice is not None
    assert session["userId"] == alice.acs_raw_id
    assert [c.method for c in bot.slack.calls if c.method.startswith("openid")] == [
        "openid.connect.authorize",
        "openid.connect.token",
        "openid.connect.userInfo",
    ]


async def test_a_forged_state_is_refused(bot: Bot) -> None:
    room_id = await create_room(bot)
    bot.slack.signed_in = ALICE
    async with aiohttp.ClientSession() as http:
        back = await at_slack(http, await open_room_link(http, bot, room_id))
        forged = re.sub(r"state=[^&]+", "state=forged", back)
        async with http.get(forged, allow_redirects=False) as response:
            assert response.status == 401
            page = await response.text()
    assert 'data-code="sign_in_state"' in page
    assert "Open the room link again" in page
    assert not [c for c in bot.slack.calls if c.method == "openid.connect.token"]


async def test_a_code_from_another_sign_in_is_refused_by_its_nonce(bot: Bot) -> None:
    """An attacker's own code, planted into a victim's sign-in: the state is the victim's,
    but the ID token carries the attacker's nonce."""
    room_id = await create_room(bot)
    bot.slack.signed_in = ALICE
    async with aiohttp.ClientSession() as victim, aiohttp.ClientSession() as attacker:
        victims = parse_qs(urlsplit(await open_room_link(victim, bot, room_id)).query)
        attackers_back = await at_slack(attacker, await open_room_link(attacker, bot, room_id))
        code = parse_qs(urlsplit(attackers_back).query)["code"][0]
        planted = f"{public(bot)}/rooms/signed-in?code={code}&state={victims['state'][0]}"
        async with victim.get(planted, allow_redirects=False) as response:
            assert response.status == 401
            assert 'data-code="sign_in_token"' in await response.text()


async def test_a_stranger_is_sent_to_the_join_button(bot: Bot) -> None:
    room_id = await create_room(bot)
    bot.slack.signed_in = CAROL
    async with aiohttp.ClientSession() as http:
        back = await at_slack(http, await open_room_link(http, bot, room_id))
        async with http.get(back, allow_redirects=False) as response:
            assert response.status == 403
            page = await response.text()
    assert 'data-code="not_invited"' in page
    assert "press Join on the room" in page.replace("Press", "press")


async def test_someone_from_another_workspace_finds_no_room(bot: Bot) -> None:
    room_id = await create_room(bot)
    bot.slack.signed_in = ALICE
    bot.slack.team_id = "T0OTHER"  # Slack now says she signed in to another workspace
    async with aiohttp.ClientSession() as http:
        back = await at_slack(http, await open_room_link(http, bot, room_id))
        async with http.get(back, allow_redirects=False) as response:
            assert response.status == 404
            assert 'data-code="room_not_found"' in await response.text()


async def test_without_sign_in_the_room_link_points_to_the_join_button(sqlite_url: str) -> None:
    async with running_bot(sqlite_url, join="public") as bot:
        room_id = await create_room(bot)
        async with bot.http.get(f"{public(bot)}/rooms/{room_id}") as response:
            assert response.status == 200
            assert response.headers["Cache-Control"] == "no-store"
            page = await response.text()
    assert "press Join" in page
    assert 'data-code="sign_in_not_configured"' in page
