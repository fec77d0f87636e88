"""Link unfurls end to end: a room link pasted in Slack (fake), `link_shared` posted signed to
the real server, `chat.unfurl` back to the fake, and the card Slack would show."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from bot.local.dev_cli import ME, LocalBot
from bot.slack import blocks
from bot.slack.unfurl import RoomLinks, live_state, unfurl_domain
from bot.store.tables import RoomRow
from tests.reliability.harness import Bot, running_bot
from tests.slack.conftest import press
from tests.slack.test_flows import create


def _public(bot: LocalBot | Bot) -> str:
    public = bot.runtime.settings.public_url
    assert public is not None
    bot.slack.ext.unfurl_domains = {unfurl_domain(public)}  # as the manifest lists it
    return public


async def test_a_pasted_room_link_unfurls_into_its_card(bot: LocalBot) -> None:
    public = _public(bot)
    room_id = await create(bot, 'tomorrow 9am-5pm "Design review" @alice')
    link = f"{public}/rooms/{room_id}"
    event = bot.slack.ext.share_link(ME[0], f"Our review: <{link}>")
    assert event is not None
    assert await bot.post_signed(json.dumps(event), "application/json") == {}
    message = bot.slack.messages[-1]
    shown = await bot.slack.wait_for(lambda fake: fake.ext.unfurls_of(message))
    card = json.dumps(shown[link])
    assert "Design review" in card
    assert "<!date^" in card  # each reader sees the window in their own zone
    assert "Not open yet" in card  # live state
    assert "2 participants" in card
    (actions,) = [b for b in shown[link] if b["type"] == "actions"]
    (join,) = actions["elements"]
    assert (join["action_id"], join["value"]) == (blocks.ACTION_JOIN, room_id)
    (call,) = bot.slack.calls_to("chat.unfurl")
    assert call.ok
    assert call.params["source"] == "conversations_history"  # Slack's unfurl_id route

    # The card's Join works as the room card's does: alice (invited) gets her personal link.
    alice = bot.slack.user_by_name("alice")
    assert alice is not None
    await press(bot, blocks.ACTION_JOIN, room_id, user_id=alice)
    said = await bot.slack.wait_for(lambda fake: fake.ephemerals_for(alice))
    assert "/join/" in json.dumps(said[-1].blocks)


async def test_unknown_foreign_and_other_links_do_not_unfurl(bot: LocalBot) -> None:
    """No leak: a room of another workspace, no room, or another site's link says nothing."""
    public = _public(bot)
    ours = await create(bot, "tomorrow")
    theirs = await create(bot, "tomorrow")
    async with bot.runtime.store.engine.begin() as connection:
        await connection.execute(
            sa.update(RoomRow).where(RoomRow.id == theirs).values(team_id="T0OTHER")
        )
    links = [f"{public}/rooms/{room}" for room in (ours, theirs, "12345678901234567")]
    text = " ".join(f"<{link}>" for link in [*links, "https://example.com/rooms/1"])
    bot.slack.ext.unfurl_domains.add("example.com")  # even on a domain Slack would send
    event = bot.slack.ext.share_link(ME[0], text)
    assert event is not None
    await bot.post_signed(json.dumps(event), "application/json")
    message = bot.slack.messages[-1]
    shown = await bot.slack.wait_for(lambda fake: fake.ext.unfurls_of(message))
    await bot.settle()
    assert list(shown) == [links[0]]
    assert theirs not in json.dumps(bot.slack.calls_to("chat.unfurl")[-1].params)

    # A message with no room of this workspace: chat.unfurl is never called for it.
    calls = len(bot.slack.calls_to("chat.unfurl"))
    event = bot.slack.ext.share_link(ME[0], f"<{links[1]}> <{links[2]}>")
    assert event is not None
    await bot.post_signed(json.dumps(event), "application/json")
    await bot.runtime.worker.drain(within=5.0)
    assert len(bot.slack.calls_to("chat.unfurl")) == calls


async def test_slack_sends_nothing_without_the_links_scope(bot: LocalBot) -> None:
    public = _public(bot)
    bot.slack.scopes = tuple(s for s in bot.slack.scopes if s != "links:read")
    assert bot.slack.ext.share_link(ME[0], f"<{public}/rooms/12345678901234567>") is None


def test_room_links_are_recognised_exactly() -> None:
    links = RoomLinks("https://Rooms.Example.com/bot")
    assert links.link("123") == "https://Rooms.Example.com/bot/rooms/123"
    assert links.room_id("https://rooms.example.com/bot/rooms/123") == "123"
    assert links.room_id("https://rooms.example.com/bot/rooms/123/") == "123"
    for other in (
        "http://rooms.example.com/bot/rooms/123",  # another scheme
        "https://rooms.example.com:8443/bot/rooms/123",  # another port
        "https://rooms.example.com/rooms/123",  # outside the base path
        "https://rooms.example.com/bot/rooms/12x",
        "https://rooms.example.com/bot/join/abc",
        "https://evil.example.com/bot/rooms/123",
        "https://rooms.example.com.evil.com/bot/rooms/123",
    ):
        assert links.room_id(other) is None, other
    assert unfurl_domain("https://Rooms.Example.com:8443/bot") == "rooms.example.com"


async def test_live_state_follows_the_clock(bot: LocalBot) -> None:
    room_id = await create(bot, "tomorrow 9am-5pm")
    room = await bot.runtime.store.rooms.get(room_id)
    assert room is not None
    before = room.valid_from - timedelta(hours=1)
    assert live_state(room, before) == ":hourglass_flowing_sand: Not open yet"
    assert (
        live_state(room, room.valid_from + timedelta(minutes=1)) == ":large_green_circle: Open now"
    )
    assert live_state(room, room.valid_until) == ":checkered_flag: Closed"
    assert datetime.now(UTC) < room.valid_from


async def _shared_in(bot: Bot, link: str) -> int:
    """Share *link* in the default channel; the HTTP status of the event's ack."""
    event = bot.slack.ext.share_link(bot.user("U0ANN", "ann"), f"<{link}>")
    assert event is not None
    ack = await bot.post_signed(json.dumps(event), "application/json")
    await bot.settle()
    await bot.runtime.worker.drain(within=5.0)
    return ack.status


async def test_without_a_public_url_link_events_are_acked_and_nothing_unfurls(
    tmp_path: Path,
) -> None:
    async with running_bot(f"sqlite+aiosqlite:///{tmp_path}/bot.db", join="none") as bot:
        bot.slack.ext.unfurl_domains = {"rooms.example.com"}  # listed by mistake
        assert await _shared_in(bot, "https://rooms.example.com/rooms/12345678901234567") == 200
        assert bot.slack.calls_to("chat.unfurl") == []


async def test_channels_roombot_is_not_enabled_in_get_no_unfurl(tmp_path: Path) -> None:
    async with running_bot(
        f"sqlite+aiosqlite:///{tmp_path}/bot.db", join="public", allowed_channels="C0ELSEWHERE"
    ) as bot:
        public = _public(bot)
        bot.slack.add_channel("C0ELSEWHERE", "elsewhere")
        await bot.command("create tomorrow", channel="C0ELSEWHERE")
        await bot.settle()
        card = json.dumps(bot.slack.channel_messages("C0ELSEWHERE")[-1].blocks)
        found = re.search(r"`(\d{17})`", card)
        assert found, card
        assert await _shared_in(bot, f"{public}/rooms/{found.group(1)}") == 200  # in #general
        assert bot.slack.calls_to("chat.unfurl") == []
