"""The App Home end to end: signed events and presses over HTTP, the fake Slack's
`views.publish`, the emulator and SQLite behind the real server."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError

from bot.local.dev_cli import ME, LocalBot
from bot.local.fake_slack import FakeSlack
from bot.slack import blocks
from bot.slack.home import (
    ACTION_CREATE,
    ACTION_LENGTH,
    ACTION_MORE,
    ACTION_REMINDERS,
    MAX_VIEW_BLOCKS,
    PAGE_SIZE,
)
from tests.slack.conftest import interaction_body

YOU = ME[0]


async def _open_home(bot: LocalBot, user: str = YOU) -> str:
    await bot.settle()
    await bot.runtime.worker.drain()  # earlier refreshes are done: the next publish is ours
    before = _publishes(bot.slack, user)
    event = bot.slack.home.app_home_opened(user)
    ack = await bot.post_signed(json.dumps(event), "application/json")
    assert "error" not in ack
    return await _published_after(bot, user, before)


def _home_text(slack: FakeSlack, user: str) -> str:
    tab = slack.home.tab(user)
    assert tab is not None
    return slack.render_text({"blocks": tab.blocks})


def _buttons(slack: FakeSlack, user: str, room_id: str) -> list[str]:
    tab = slack.home.tab(user)
    assert tab is not None
    for block in tab.blocks:
        if block.get("block_id") == f"room:{room_id}":
            return [element["action_id"] for element in block["elements"]]
    return []


async def _press(bot: LocalBot, user: str, action: dict[str, Any]) -> None:
    payload = bot.slack.home.home_action(user, action)
    await bot.post_signed(interaction_body(payload), "application/x-www-form-urlencoded")


async def _create(bot: LocalBot, words: str) -> str:
    await bot.command(f"/room create {words}")
    await bot.settle()
    card = bot.slack.channel_messages()[-1]
    action = next(b for b in card.blocks if b.get("type") == "actions")
    return str(action["elements"][0]["value"])


async def _published_after(bot: LocalBot, user: str, count: int) -> str:
    """The Home's text once published more than *count* times and nothing else is in flight."""
    await bot.slack.wait_for(lambda s: _publishes(s, user) > count)
    await bot.runtime.worker.drain()
    return _home_text(bot.slack, user)


def _publishes(slack: FakeSlack, user: str) -> int:
    return len([c for c in slack.calls_to("views.publish") if c.params["user_id"] == user])


async def test_home_lists_my_rooms_with_my_rights(bot: LocalBot) -> None:
    bob = bot.user("bob")
    await _open_home(bot, bob)  # an empty Home, kept fresh from now on
    room = await _create(bot, 'tomorrow 9am-10am @bob "Design review"')
    text = await _open_home(bot)
    assert "Your rooms" in text
    assert "Design review" in text
    assert room in text
    assert "presenter, you created it" in text
    assert "#general" in text
    assert _buttons(bot.slack, YOU, room) == [
        blocks.ACTION_JOIN,
        blocks.ACTION_EXTEND,
        blocks.ACTION_DELETE,
    ]
    # Bob was refreshed when the room was made (he is in it), without opening his Home again.
    await bot.slack.wait_for(lambda s: "Design review" in _home_text(s, bob))
    bob_text = _home_text(bot.slack, bob)
    assert "Design review" in bob_text
    assert "attendee" in bob_text
    assert _buttons(bot.slack, bob, room) == [blocks.ACTION_JOIN]


async def test_a_person_who_never_opened_the_home_is_not_published_to(bot: LocalBot) -> None:
    """Only an opened Home has a view to refresh: a room change publishes nothing for Bob
    until he opens the tab, and then his Home shows the room."""
    bob = bot.user("bob")
    room = await _create(bot, "tomorrow 9am-10am @bob")
    await _open_home(bot)  # someone else's Home is published: the refreshes have run
    await bot.command(f"/room extend {room} by 30m")
    await bot.settle()
    await bot.runtime.worker.drain()
    assert _publishes(bot.slack, YOU) >= 2  # opened, then refreshed by the extend
    assert _publishes(bot.slack, bob) == 0
    assert room in await _open_home(bot, bob)


async def test_a_burst_of_changes_publishes_each_home_at_most_twice(bot: LocalBot) -> None:
    """Changes that come while a person's Home is being published are folded into one more
    publish, not one each."""
    room = await _create(bot, "tomorrow 9am-10am")
    await _open_home(bot)
    before = _publishes(bot.slack, YOU)
    watch = bot.runtime.home
    assert watch is not None
    await asyncio.gather(*(watch.republish(bot.slack.team_id, [YOU]) for _ in range(10)))
    assert 1 <= _publishes(bot.slack, YOU) - before <= 2
    assert room in _home_text(bot.slack, YOU)


async def test_the_messages_tab_publishes_nothing(bot: LocalBot) -> None:
    event = bot.slack.home.app_home_opened(YOU, tab="messages")
    await bot.post_signed(json.dumps(event), "application/json")
    await bot.settle()
    await bot.runtime.worker.drain()
    assert bot.slack.calls_to("views.publish") == []


async def test_extend_and_delete_from_the_home_change_the_room_and_redraw(bot: LocalBot) -> None:
    bob = bot.user("bob")
    room = await _create(bot, "tomorrow 9am-10am @bob")
    await _open_home(bot, bob)
    await _open_home(bot)
    before = bot.runtime.store.rooms
    until = (await before.get(room)).valid_until  # type: ignore[union-attr]
    seen = _publishes(bot.slack, YOU), _publishes(bot.slack, bob)
    await _press(bot, YOU, {"action_id": blocks.ACTION_EXTEND, "value": room, "type": "button"})
    await bot.settle()
    extended = await bot.runtime.store.rooms.get(room)
    assert extended is not None
    assert extended.valid_until > until
    await _published_after(bot, YOU, seen[0])
    await _published_after(bot, bob, seen[1])
    epoch = int(extended.valid_until.timestamp())
    tab = bot.slack.home.tab(YOU)
    assert tab is not None
    assert f"<!date^{epoch}^" in json.dumps(tab.blocks)

    seen = _publishes(bot.slack, YOU), _publishes(bot.slack, bob)
    await _press(bot, YOU, {"action_id": blocks.ACTION_DELETE, "value": room, "type": "button"})
    await bot.settle()
    text = await _published_after(bot, YOU, seen[0])
    assert room not in text
    assert "You have no upcoming rooms" in text
    assert room not in await _published_after(bot, bob, seen[1])
    # The room's card in the channel says so, as after a press on the card itself.
    assert "was deleted" in bot.slack.render_text(bot.slack.channel_messages()[0])


async def test_an_attendee_cannot_delete_from_a_forged_home_press(bot: LocalBot) -> None:
    bob = bot.user("bob")
    room = await _create(bot, "tomorrow 9am-10am @bob")
    await _open_home(bot, bob)
    await _press(bot, bob, {"action_id": blocks.ACTION_DELETE, "value": room, "type": "button"})
    await bot.settle()
    kept = await bot.runtime.store.rooms.get(room)
    assert kept is not None
    assert kept.active
    refusal = bot.slack.ephemerals_for(bob)[-1]
    assert "Only the room's creator" in bot.slack.render_text(refusal)


async def test_join_from_the_home_sends_a_personal_link_directly(bot: LocalBot) -> None:
    bob = bot.user("bob")
    room = await _create(bot, "tomorrow 9am-10am @bob")
    await _open_home(bot, bob)
    await _press(bot, bob, {"action_id": blocks.ACTION_JOIN, "value": room, "type": "button"})
    message = await bot.slack.wait_for(lambda s: s.direct_messages(bob))
    text = bot.slack.render_text(message[-1])
    assert f"Your personal link to room `{room}`" in text
    assert "attendee" in text


async def test_defaults_are_kept_per_person_and_used_by_the_form(bot: LocalBot) -> None:
    text = await _open_home(bot)
    assert "last *1 hour* (the workspace's default)" in text
    assert "reminders *on" in text
    seen = _publishes(bot.slack, YOU)
    await _press(
        bot,
        YOU,
        {
            "action_id": ACTION_LENGTH,
            "type": "static_select",
            "selected_option": {"value": "90", "text": {"type": "plain_text", "text": "90"}},
        },
    )
    text = await _published_after(bot, YOU, seen)
    assert "last *90 minutes* ·" in text
    seen = _publishes(bot.slack, YOU)
    await _press(bot, YOU, {"action_id": ACTION_REMINDERS, "value": "off", "type": "button"})
    text = await _published_after(bot, YOU, seen)
    assert "reminders *off*" in text
    assert "[Turn reminders on]" in text
    # Create a room opens the form, whose default length is the person's own.
    await _press(bot, YOU, {"action_id": ACTION_CREATE, "value": "create", "type": "button"})
    view = await bot.slack.wait_for(lambda s: s.views)
    hint = json.dumps(view[-1].view)
    assert "opens now for 90 minutes" in hint
    # Another person keeps the workspace's defaults.
    other = await _open_home(bot, bot.user("cy"))
    assert "*1 hour* (the workspace's default)" in other
    assert "reminders *on" in other


async def test_many_rooms_page_inside_slacks_block_limit(bot: LocalBot) -> None:
    rooms = [await _create(bot, f"in {day + 1} days 9am-10am") for day in range(PAGE_SIZE + 2)]
    await _open_home(bot)
    tab = bot.slack.home.tab(YOU)
    assert tab is not None
    assert len(tab.blocks) <= MAX_VIEW_BLOCKS
    text = _home_text(bot.slack, YOU)
    assert rooms[0] in text
    assert rooms[PAGE_SIZE - 1] in text
    assert rooms[PAGE_SIZE] not in text
    assert f"Rooms 1–{PAGE_SIZE} of {PAGE_SIZE + 2}" in text
    assert "[Show more]" in text
    seen = _publishes(bot.slack, YOU)
    await _press(bot, YOU, {"action_id": ACTION_MORE, "value": "1", "type": "button"})
    text = await _published_after(bot, YOU, seen)
    assert rooms[PAGE_SIZE] in text
    assert rooms[0] not in text
    assert "[Back to the first]" in text
    assert f"Rooms {PAGE_SIZE + 1}–{PAGE_SIZE + 2} of {PAGE_SIZE + 2}" in text


async def test_fake_views_publish_keeps_slacks_limits(bot: LocalBot) -> None:
    client = bot.runtime.slack
    too_many = [{"type": "divider"}] * (MAX_VIEW_BLOCKS + 1)
    for view, error in (
        ({"type": "modal", "title": {"type": "plain_text", "text": "x"}}, "invalid_arguments"),
        ({"type": "home", "blocks": too_many}, "invalid_blocks"),
        ({"type": "home", "private_metadata": "x" * 3001}, "invalid_arguments"),
    ):
        with pytest.raises(SlackApiError) as refused:
            await client.views_publish(user_id=YOU, view=view)
        assert refused.value.response["error"] == error
    with pytest.raises(SlackApiError) as unknown:
        await client.views_publish(user_id="UNOBODY", view={"type": "home", "blocks": []})
    assert unknown.value.response["error"] == "user_not_found"
    published = await client.views_publish(user_id=YOU, view={"type": "home", "blocks": []})
    assert published["view"]["type"] == "home"
