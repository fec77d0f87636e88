"""Join end to end: the card's button, the personal link, the page and its token, through the
fake Slack and the ACS emulator, on the real HTTP server (issue #12)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from bot.domain import JoinGrant, Role
from bot.join.routes import SECURITY_HEADERS
from tests.database import execute
from tests.join.helpers import (
    ALICE,
    BOB,
    CAROL,
    create_room,
    join_press,
    jwt_claims,
    link_in,
    press_join,
    said,
)
from tests.reliability.harness import Bot, running_bot


@pytest.fixture(name="bot")
async def _bot(sqlite_url: str) -> AsyncIterator[Bot]:
    async with running_bot(sqlite_url, join="public") as running:
        yield running


async def post_token(bot: Bot, link: str) -> tuple[int, dict[str, object]]:
    async with bot.http.post(link + "/token") as response:
        assert response.headers["Cache-Control"] == "no-store"
        return response.status, json.loads(await response.text())


async def test_a_participant_gets_a_personal_link_that_works_once(bot: Bot) -> None:
    room_id = await create_room(bot)
    answer = await press_join(bot, room_id, user=ALICE)
    assert answer.user == ALICE  # only the presser sees it
    link = link_in(answer)
    port = bot.events_url.split(":")[2].split("/")[0]
    # localhost: the calling SDK wants https or localhost (not 127.0.0.1) for its media
    assert link.startswith(f"http://localhost:{port}/join/")
    code = link.rsplit("/", 1)[1]
    assert len(code) >= 22  # 128+ bits in url-safe base64
    text = said(answer)
    assert "presenter" in text
    assert "<!date^" in text
    room = await bot.runtime.store.rooms.get(room_id)
    assert room is not None
    alice = room.participant(ALICE)
    assert alice is not None
    assert alice.acs_raw_id not in text  # no ACS id in the link or the message

    # Link scanners GET the page: that consumes nothing.
    for _ in range(2):
        async with bot.http.get(link) as page:
            assert page.status == 200
            assert page.content_type == "text/html"
            body = await page.text()
            for name, value in SECURITY_HEADERS.items():
                assert page.headers[name] == value
    assert code not in body
    assert "static/join.js" in body

    status, session = await post_token(bot, link)
    assert status == 200, session
    assert set(session) == {
        "token",
        "expiresOn",
        "userId",
        "roomId",
        "role",
        "displayName",
        "validFrom",
        "validUntil",
        "title",
    }
    assert session["roomId"] == room_id
    assert session["userId"] == alice.acs_raw_id
    assert session["role"] == Role.PRESENTER.value
    assert session["displayName"] == "alice"
    assert session["title"] is None
    token = str(session["token"])
    claims = jwt_claims(token)
    assert "8:" + claims["skypeid"] == alice.acs_raw_id
    assert claims["acsScope"] == "voip"
    expires = datetime.fromisoformat(str(session["expiresOn"]).replace("Z", "+00:00"))
    until = datetime.fromisoformat(str(session["validUntil"]).replace("Z", "+00:00"))
    assert expires >= until  # covers the rest of the window (2 hours, within 60-1440 min)
    assert expires - datetime.now(UTC) <= timedelta(minutes=1441)

    status, again = await post_token(bot, link)
    assert status == 410
    assert again["error"] == {
        "code": "code_used",
        "message": again["error"]["message"],  # type: ignore[index]
    }
    assert "Press Join" in str(again)


@pytest.mark.parametrize(
    ("change", "code", "status"),
    [
        ("remove", "not_invited", 403),
        ("delete", "room_deleted", 410),
        ("expire", "code_expired", 410),
        ("close", "room_closed", 410),
        ("end", "room_closed", 410),
    ],
)
async def test_the_room_is_checked_again_when_the_link_is_used(
    bot: Bot, change: str, code: str, status: int
) -> None:
    room_id = await create_room(bot)
    if change == "close":
        bot.clock.advance(timedelta(hours=1, minutes=58))  # two minutes before it closes
    link = link_in(await press_join(bot, room_id, user=BOB))
    if change == "remove":
        await bot.command(f"remove {room_id} <@{BOB}|bob>")
        await bot.settle()
    elif change in ("delete", "end"):
        await bot.command(f"{change} {room_id}")
        await bot.settle()
    elif change == "expire":
        bot.clock.advance(timedelta(minutes=5))
    elif change == "close":
        bot.clock.advance(timedelta(minutes=3))
    answer, refusal = await post_token(bot, link)
    assert answer == status, refusal
    error = refusal["error"]
    assert isinstance(error, dict)
    assert error["code"] == code
    assert error["message"]
    assert "token" not in refusal


async def test_an_unknown_code_and_another_workspaces_code_are_refused(bot: Bot) -> None:
    room_id = await create_room(bot)
    base = link_in(await press_join(bot, room_id, user=BOB)).rsplit("/", 1)[0]
    status, refusal = await post_token(bot, base + "/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
    assert (status, refusal["error"]["code"]) == (404, "code_unknown")  # type: ignore[index]
    status, refusal = await post_token(bot, base + "/not a code")
    assert (status, refusal["error"]["code"]) == (404, "code_unknown")  # type: ignore[index]
    # A code minted in another workspace for this room's id (a second install of the app).
    await bot.runtime.store.join_codes.add(
        "OtherWorkspaceCode0123456789abcdef",
        JoinGrant(
            team_id="T0OTHER",
            user_id=BOB,
            room_id=room_id,
            display_name="bob",
            expires_at=bot.clock() + timedelta(minutes=5),
        ),
        now=bot.clock(),
    )
    status, refusal = await post_token(bot, base + "/OtherWorkspaceCode0123456789abcdef")
    assert (status, refusal["error"]["code"]) == (403, "wrong_workspace")  # type: ignore[index]


async def test_links_are_rate_limited_per_person(bot: Bot) -> None:
    room_id = await create_room(bot)
    for _ in range(10):
        link_in(await press_join(bot, room_id, user=BOB))
    refusal = await press_join(bot, room_id, user=BOB)
    assert "wait a few minutes" in said(refusal)
    link_in(await press_join(bot, room_id, user=ALICE))  # others are not held up
    bot.clock.advance(timedelta(minutes=10))
    link_in(await press_join(bot, room_id, user=BOB))


async def test_a_room_that_opens_later_gives_a_token_and_its_window(bot: Bot) -> None:
    room_id = await create_room(bot, "in 2 hours for 1 hour")
    status, session = await post_token(bot, link_in(await press_join(bot, room_id, user=BOB)))
    assert status == 200
    opens = datetime.fromisoformat(str(session["validFrom"]).replace("Z", "+00:00"))
    assert opens > datetime.now(UTC) + timedelta(minutes=100)
    assert session["role"] == "Attendee"


async def test_without_a_public_url_join_says_an_admin_must_set_it(sqlite_url: str) -> None:
    async with running_bot(sqlite_url, join="none") as bot:
        room_id = await create_room(bot)
        card = json.dumps(bot.slack.messages[-1].blocks)
        assert "room_join" in card
        answer = await press_join(bot, room_id, user=ALICE)
        assert "ROOMBOT_PUBLIC_URL" in said(answer)
        assert "admin" in said(answer)
        async with bot.http.post(bot.events_url.replace("/slack/events", "/join/x/token")) as r:
            assert r.status == 503


async def test_with_a_join_url_the_button_opens_it_and_roombot_adds_nothing(
    sqlite_url: str,
) -> None:
    async with running_bot(sqlite_url) as bot:
        room_id = await create_room(bot)
        assert f"https://rooms.example.invalid/join/{room_id}" in json.dumps(
            bot.slack.messages[-1].blocks
        )
        before = len(bot.slack.ephemerals)
        ack = await bot.post_signed(join_press(bot.slack, room_id, user=ALICE))
        await bot.settle()
        assert ack.status == 200
        assert len(bot.slack.ephemerals) == before


async def test_a_stranger_hears_they_are_not_on_the_room(bot: Bot) -> None:
    room_id = await create_room(bot)
    answer = await press_join(bot, room_id, user=CAROL)
    assert answer.user == CAROL
    assert "/join/" not in said(answer)


async def test_guessing_is_turned_away_but_real_links_from_one_address_are_not(bot: Bot) -> None:
    """Refused codes from one address are limited (20 a minute); working links are not."""
    room_id = await create_room(bot)
    base = link_in(await press_join(bot, room_id, user=BOB)).rsplit("/", 1)[0]
    for n in range(20):
        status, _ = await post_token(bot, f"{base}/Guess{n:04d}xxxxxxxxxxxxxxxxxxx")
        assert status == 404
    status, refusal = await post_token(bot, f"{base}/Guess9999xxxxxxxxxxxxxxxxxxx")
    assert (status, refusal["error"]["code"]) == (429, "rate_limited")  # type: ignore[index]


async def test_many_people_behind_one_address_all_get_in(bot: Bot) -> None:
    room_id = await create_room(bot, "now for 8 hours")
    for _ in range(2):
        for _ in range(10):  # each person's limit of links per 10 minutes
            for user in (ALICE, BOB):
                link = link_in(await press_join(bot, room_id, user=user))
                status, _ = await post_token(bot, link)
                assert status == 200
        bot.clock.advance(timedelta(minutes=11))


async def test_when_the_database_fails_the_presser_and_the_page_still_hear(bot: Bot) -> None:
    room_id = await create_room(bot)
    link = link_in(await press_join(bot, room_id, user=ALICE))
    await execute(bot.runtime.store, text("DROP TABLE join_codes"))  # every code write now fails
    told = await press_join(bot, room_id, user=ALICE)
    assert told.user == ALICE
    assert "could not do that just now" in said(told)
    status, refusal = await post_token(bot, link)
    assert (status, refusal["error"]["code"]) == (503, "unavailable")  # type: ignore[index]


async def test_only_the_pages_own_files_are_served_and_with_the_headers(bot: Bot) -> None:
    base = bot.events_url.removesuffix("/slack/events") + "/join/static/"
    async with bot.http.get(base + "join.js") as script:
        assert script.status == 200
        assert script.content_type == "text/javascript"
        assert (
            script.headers["Content-Security-Policy"] == SECURITY_HEADERS["Content-Security-Policy"]
        )
        assert "RoombotCall" in await script.text()
        assert script.headers["Cache-Control"] == "no-cache"  # revalidated by ETag
    for name in ("page.py", "..%2Fpage.py", "join.js.map"):
        async with bot.http.get(base + name) as missing:
            assert missing.status == 404, name
            assert missing.headers["Referrer-Policy"] == "no-referrer"


async def test_the_token_carries_the_rooms_title(bot: Bot) -> None:
    room_id = await create_room(bot, '"Design review" now for 1 hour')
    status, session = await post_token(bot, link_in(await press_join(bot, room_id, user=BOB)))
    assert status == 200
    assert session["title"] == "Design review"
