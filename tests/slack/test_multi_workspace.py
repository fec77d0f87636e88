"""Multi-workspace mode end to end over HTTP (issue #15): installs through OAuth, two
workspaces side by side each with its own token, an Enterprise Grid org-wide install scoped by
its organisation, and uninstalling one workspace while the other keeps working.

On SQLite and PostgreSQL: the installations live in roombot's own database.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from bot.domain import JournalState, NewJournalEntry, new_journal_key
from bot.local.fake_oauth import Workspace
from bot.service.resolved import text_command
from bot.slack.blocks import ACTION_JOIN
from bot.slack.install import NOT_INSTALLED
from bot.slack.uninstall import ENDED_UNINSTALLED, NOT_INSTALLED_CODE
from tests.slack.multi_workspace import MultiBot, multi_bot
from tests.store.conftest import _backend, _database_url  # noqa: F401 - the fixtures

ALPHA = Workspace(team_id="T0ALPHA", name="Alpha")
BETA = Workspace(team_id="T0BETA", name="Beta")
ORG = Workspace(
    team_id=None,
    name="Org",
    enterprise_id="E0ORG",
    enterprise_name="Org",
    is_enterprise_install=True,
)
ANN, BOB = "U0ANN", "U0BOB"  # of Alpha, of Beta
WES, WIN = "W0WES", "W0WIN"  # of the organisation, homed in two of its workspaces
BOT_METHODS = ("users.info", "chat.postMessage", "chat.postEphemeral", "chat.update", "auth.test")


@pytest.fixture(name="bot")
async def _bot(database_url: str) -> AsyncIterator[MultiBot]:
    async with multi_bot(database_url) as running:
        slack = running.slack
        slack.add_user(ANN, "ann", tz="Europe/Paris", team_id=ALPHA.team_id)
        slack.add_user(BOB, "bob", tz="America/New_York", team_id=BETA.team_id)
        slack.add_channel("C0ALPHA", "alpha-general")
        slack.add_channel("C0BETA", "beta-general")
        slack.add_channel("C0ORG", "org-general")
        for user, name, home in ((WES, "wes", "T0ONE"), (WIN, "win", "T0TWO")):
            slack.add_user(user, name, tz="Asia/Tokyo", team_id=home)
            slack.override_user(
                user, enterprise_user={"enterprise_id": "E0ORG", "teams": ["T0ONE", "T0TWO"]}
            )
        yield running


async def _bots_installed(bot: MultiBot) -> int:
    bots = bot.runtime.installs.installations.bots  # type: ignore[union-attr]
    async with bot.runtime.store.engine.connect() as connection:
        return int((await connection.execute(select(func.count()).select_from(bots))).scalar_one())


def _bot_calls(bot: MultiBot) -> list[tuple[str, str | None]]:
    return [(c.method, c.team) for c in bot.slack.calls if c.method in BOT_METHODS]


async def test_add_to_slack_installs_and_stores_the_workspace(bot: MultiBot) -> None:
    result = await bot.install(ALPHA)
    assert result.status == 200, result.page
    assert "roombot is installed" in result.page
    assert bot.slack.oauth.installs == [ALPHA]
    assert await _bots_installed(bot) == 1
    found = await bot.runtime.installs.bots.find("T0ALPHA")  # type: ignore[union-attr]
    assert found is not None
    assert found.bot_token.startswith("xoxb-")
    assert found.bot_token not in repr(found)
    asked = bot.slack.oauth.authorize_requests[0]
    assert asked["redirect_uri"] == f"{bot.public_url}/slack/oauth_redirect"
    assert set(asked["scope"].split(",")) == {
        "commands",
        "chat:write",
        "chat:write.public",
        "users:read",
        "usergroups:read",
        "links:read",
        "links:write",
        "calls:write",
    }


async def test_an_install_without_the_state_cookie_is_refused(bot: MultiBot) -> None:
    """The state in the URL must match the browser that started: a forged callback stores
    nothing."""
    bot.slack.oauth.choose(ALPHA)
    async with bot.http.get(f"{bot.public_url}/slack/install") as page:
        assert page.status == 200
    async with bot.http.get(
        f"{bot.public_url}/slack/oauth_redirect?code=forged&state=forged"
    ) as back:
        assert back.status == 400
        assert "roombot was not installed" in await back.text()
    assert await _bots_installed(bot) == 0


async def test_a_declined_install_says_so(bot: MultiBot) -> None:
    async with bot.http.get(f"{bot.public_url}/slack/oauth_redirect?error=access_denied") as back:
        assert "access_denied" in await back.text()
    assert await _bots_installed(bot) == 0


async def test_two_workspaces_side_by_side_each_with_its_own_token(bot: MultiBot) -> None:
    await bot.install(ALPHA)
    await bot.install(BETA)
    alpha = await bot.command(
        "create tomorrow 9am-10am", team="T0ALPHA", user=ANN, channel="C0ALPHA"
    )
    beta = await bot.command("create tomorrow 9am-10am", team="T0BETA", user=BOB, channel="C0BETA")
    assert "Creating your room" in str(alpha)
    assert "Creating your room" in str(beta)
    await bot.settle()

    posts = {(c.params["channel"], c.team) for c in bot.slack.calls_to("chat.postMessage")}
    assert posts == {("C0ALPHA", "T0ALPHA"), ("C0BETA", "T0BETA")}
    looked_up = {(c.params["user"], c.team) for c in bot.slack.calls_to("users.info")}
    assert looked_up == {(ANN, "T0ALPHA"), (BOB, "T0BETA")}
    assert all(team in ("T0ALPHA", "T0BETA") for _, team in _bot_calls(bot))
    now = datetime.now(UTC)
    alpha_rooms = await bot.runtime.store.rooms.list_channel("T0ALPHA", "C0ALPHA", now=now)
    beta_rooms = await bot.runtime.store.rooms.list_channel("T0BETA", "C0BETA", now=now)
    assert len(alpha_rooms) == len(beta_rooms) == 1
    # one workspace cannot see or touch the other's room
    other = await bot.command(
        f"show {beta_rooms[0].room_id}", team="T0ALPHA", user=ANN, channel="C0ALPHA"
    )
    assert "beta-general" not in str(other)
    assert "C0BETA" not in str(other)


async def test_uninstalling_one_workspace_leaves_the_other_working(bot: MultiBot) -> None:
    await bot.install(ALPHA)
    await bot.install(BETA)
    assert await bot.event(bot.slack.oauth.uninstall("T0BETA")) == 200
    assert await bot.runtime.installs.bots.find("T0BETA") is None  # type: ignore[union-attr]
    assert await bot.runtime.installs.bots.find("T0ALPHA") is not None  # type: ignore[union-attr]
    calls_before = len(bot.slack.calls)

    # Slack no longer sends Beta's commands; one that still arrives hears why, and is not run.
    ack = await bot.command("create tomorrow 9am-10am", team="T0BETA", user=BOB, channel="C0BETA")
    assert ack == {}
    told = [bot.slack.render_text(e) for e in bot.slack.ephemerals_for(BOB)]
    assert told == [NOT_INSTALLED.format(install_url=f"{bot.public_url}/slack/install")]
    assert await bot.runtime.store.journal.pending_count() == 0

    await bot.command("create tomorrow 9am-10am", team="T0ALPHA", user=ANN, channel="C0ALPHA")
    await bot.settle()
    after = bot.slack.calls[calls_before:]
    assert {c.team for c in after if c.method in BOT_METHODS} == {"T0ALPHA"}
    assert [c.params["channel"] for c in bot.slack.calls_to("chat.postMessage")] == ["C0ALPHA"]


async def test_an_uninstalled_workspaces_pending_work_ends_without_calls(bot: MultiBot) -> None:
    """A command accepted for Beta (left by a replica that stopped) is ended, not run, once
    Beta uninstalls: no ACS room, no Slack call, no retry."""
    await bot.install(BETA)
    key = new_journal_key()
    await bot.runtime.store.journal.accept(
        NewJournalEntry(
            key=key,
            command=text_command("create tomorrow 9am-10am", locale=None),
            team_id="T0BETA",
            user_id=BOB,
            channel_id="C0BETA",
            response_url=None,
            accepted_at=datetime.now(UTC),
        )
    )
    assert await bot.event(bot.slack.oauth.uninstall("T0BETA")) == 200
    calls_before, acs_before = len(bot.slack.calls), bot.emulator.state.requests
    await bot.settle()
    entry = await bot.runtime.store.journal.get(key)
    assert entry is not None
    assert entry.state is JournalState.ANSWERED
    assert entry.error_code == NOT_INSTALLED_CODE
    assert entry.error_message == ENDED_UNINSTALLED
    assert entry.room_id is None
    assert bot.slack.calls[calls_before:] == []
    assert bot.emulator.state.requests == acs_before


async def test_tokens_revoked_removes_the_installation(bot: MultiBot) -> None:
    await bot.install(ALPHA)
    revoked = {
        "type": "event_callback",
        "team_id": "T0ALPHA",
        "api_app_id": "A0LOCALAPP",
        "event_id": "Ev0REVOKED",
        "event_time": 1,
        "event": {"type": "tokens_revoked", "tokens": {"bot": ["U0LOCALBOT"]}},
    }
    assert await bot.event(revoked) == 200
    assert await _bots_installed(bot) == 0


async def test_an_org_wide_install_scopes_everything_by_the_organisation(bot: MultiBot) -> None:
    """Enterprise Grid: one install serves every workspace of the organisation; a room made in
    one of them is the organisation's, with people (W… ids) homed in any of its workspaces."""
    assert (await bot.install(ORG)).status == 200
    ack = await bot.command(
        "create tomorrow 9am-10am <@W0WIN|win> presenter",
        team="T0ONE",
        user=WES,
        channel="C0ORG",
        enterprise="E0ORG",
    )
    assert "Creating your room" in str(ack)
    await bot.settle()
    rooms = await bot.runtime.store.rooms.list_channel("E0ORG", "C0ORG", now=datetime.now(UTC))
    assert len(rooms) == 1
    room = rooms[0]
    assert room.team_id == "E0ORG"
    assert {p.slack_user_id for p in room.participants} >= {WES, WIN}
    assert set(bot.teams_calling("chat.postMessage")) == {"E0ORG"}
    assert set(bot.teams_calling("users.info")) == {"E0ORG"}

    # From the organisation's other workspace, the same room is listed and can be changed.
    listed = await bot.command("list", team="T0TWO", user=WIN, channel="C0ORG", enterprise="E0ORG")
    assert room.room_id in str(listed)
    await bot.command(
        f"extend {room.room_id} by 1 hour",
        team="T0TWO",
        user=WIN,
        channel="C0ORG",
        enterprise="E0ORG",
    )
    await bot.settle()
    changed = await bot.runtime.store.rooms.get(room.room_id)
    assert changed is not None
    assert changed.valid_until > room.valid_until

    # Join on the card, pressed in the organisation's other workspace: a personal link.
    press = {
        "type": "block_actions",
        "team": {"id": "T0TWO", "domain": "two", "enterprise_id": "E0ORG"},
        "enterprise": {"id": "E0ORG", "name": "Org"},
        "is_enterprise_install": True,
        "user": {"id": WIN, "team_id": "T0TWO", "name": "win"},
        "api_app_id": "A0LOCALAPP",
        "channel": {"id": "C0ORG", "name": "org-general"},
        "container": {"type": "message", "channel_id": "C0ORG"},
        "trigger_id": bot.slack.issue_trigger_id(user_id=WIN),
        "response_url": bot.slack.new_response_url("C0ORG", WIN),
        "actions": [
            {
                "type": "button",
                "action_id": ACTION_JOIN,
                "block_id": f"room:{room.room_id}",
                "value": room.room_id,
                "action_ts": "1.0",
            }
        ],
    }
    status, _ = await bot.post_signed(
        urlencode({"payload": json.dumps(press)}), "application/x-www-form-urlencoded"
    )
    assert status == 200
    await bot.slack.wait_for(lambda fake: fake.calls_to("chat.postEphemeral"), timeout=10)
    link = bot.slack.render_text(bot.slack.ephemerals_for(WIN)[-1])
    assert f"{bot.public_url}/join/" in link
    assert set(bot.teams_calling("chat.postEphemeral")) == {"E0ORG"}

    # The room's shareable link signs people in with Slack, which names their workspace and
    # their organisation: the room is found in the organisation's scope.
    status, where = await bot.sign_in_to_room(room.room_id, WIN)
    assert status == 303, where
    assert where.startswith(f"{bot.public_url}/join/")

    # Uninstalled from the organisation: gone for every one of its workspaces.
    assert await bot.event(bot.slack.oauth.uninstall("E0ORG")) == 200
    assert await _bots_installed(bot) == 0


async def test_the_form_opens_with_the_workspaces_own_token(bot: MultiBot) -> None:
    """`/room` alone opens the form after the ack: that work, started once Slack has its
    answer, still acts for the workspace the command came from."""
    await bot.install(ALPHA)
    await bot.install(BETA)
    assert await bot.command("", team="T0BETA", user=BOB, channel="C0BETA") == {}
    await bot.settle()
    await _eventually_called(bot, "views.open")
    assert bot.teams_calling("views.open") == ["T0BETA"]
    assert bot.slack.views[0].user == BOB


async def _eventually_called(bot: MultiBot, method: str, within: float = 10.0) -> None:
    await bot.slack.wait_for(lambda fake: bool(fake.calls_to(method)), timeout=within)


async def test_socket_mode_serves_every_installed_workspace(database_url: str) -> None:
    """One app-level connection carries every workspace's requests; each is answered with
    that workspace's own token."""
    async with multi_bot(database_url, socket_mode=True) as bot:
        bot.slack.add_user(BOB, "bob", tz="America/New_York", team_id=BETA.team_id)
        bot.slack.add_channel("C0BETA", "beta-general")
        await bot.install(ALPHA)
        await bot.install(BETA)
        envelope = await bot.slack.socket_send(
            "slash_commands",
            {
                "team_id": "T0BETA",
                "channel_id": "C0BETA",
                "user_id": BOB,
                "command": "/room",
                "text": "create tomorrow 9am-10am",
                "api_app_id": "A0LOCALAPP",
                "response_url": bot.slack.new_response_url("C0BETA", BOB),
                "trigger_id": bot.slack.issue_trigger_id(user_id=BOB),
            },
        )
        ack = await bot.slack.wait_for_ack(envelope)
        assert "Creating your room" in str(ack.get("payload"))
        await bot.settle()
        assert bot.teams_calling("chat.postMessage") == ["T0BETA"]
        assert set(bot.teams_calling("users.info")) == {"T0BETA"}


async def test_no_token_or_secret_is_logged_even_at_debug(
    bot: MultiBot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await bot.install(ALPHA)
    await bot.command("create tomorrow 9am-10am", team="T0ALPHA", user=ANN, channel="C0ALPHA")
    await bot.settle()
    assert await bot.event(bot.slack.oauth.uninstall("T0ALPHA")) == 200
    secret = bot.runtime.settings.slack_client_secret
    assert secret is not None
    logged = caplog.text
    assert "oauth.v2.access" in logged  # slack-sdk's debug lines were there to leak
    assert re.search(r"xoxb-[0-9a-f]{8}", logged) is None
    assert secret.get_secret_value() not in logged


async def test_work_done_off_any_request_carries_its_workspaces_token(bot: MultiBot) -> None:
    """A reminder is sent by the dispatcher's own loop, not while answering Slack: it still
    goes out with the token of the room's workspace (a call on behalf of no workspace fails)."""
    await bot.install(ALPHA)
    await bot.install(BETA)
    # opens within the reminder's lead, so it reminds at once
    await bot.command(
        "create in 2 minutes for 30 minutes", team="T0ALPHA", user=ANN, channel="C0ALPHA"
    )
    await bot.settle()
    deadline = asyncio.get_running_loop().time() + 10
    while not (
        dms := [c for c in bot.slack.calls_to("chat.postMessage") if c.params["channel"] == ANN]
    ):
        assert asyncio.get_running_loop().time() < deadline, "no reminder was sent"
        await asyncio.sleep(0.02)
    assert [dm.team for dm in dms] == ["T0ALPHA"]
    assert "opens in" in json.dumps(dms[0].params)
