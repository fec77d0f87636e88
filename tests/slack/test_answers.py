"""What people see in Slack after a command (issue #11 items 16, 19, 20, 22), end to end:
signed HTTP in, the ACS emulator and the fake Slack out, the journal in SQLite."""

from __future__ import annotations

import json
import re
import time
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bot.local.dev_cli import CHANNEL, ME, TEAM, LocalBot, local_bot
from bot.local.fake_slack import Ephemeral
from bot.slack import blocks
from tests.slack.conftest import interaction_body


def dump(message: Any) -> str:
    """Everything a message says, for substring checks."""
    return json.dumps(getattr(message, "blocks", None) or []) + str(getattr(message, "text", ""))


def visible_notes(bot: LocalBot, user: str = ME[0]) -> list[Ephemeral]:
    """The ephemeral messages *user* still sees in the channel (deleted ones are gone)."""
    return bot.slack.ephemerals_for(user, CHANNEL)


async def create(bot: LocalBot, text: str) -> str:
    before = len(bot.slack.messages)
    await bot.command(f"/room create {text}")
    await bot.settle()
    (posted,) = bot.slack.messages[before:]
    found = re.search(r"`(\d{17})`", dump(posted))
    assert found, dump(posted)
    return found.group(1)


async def sent_as_slack_sends(bot: LocalBot, text: str) -> dict[str, Any]:
    """`/room TEXT` with *text* exactly as Slack would send it (already escaped)."""
    response_url = bot.slack.new_response_url(CHANNEL, ME[0])
    form = {
        "team_id": TEAM,
        "channel_id": CHANNEL,
        "user_id": ME[0],
        "command": "/room",
        "text": text,
        "response_url": response_url,
        "trigger_id": bot.slack.issue_trigger_id(),
    }
    ack = await bot.post_signed(urlencode(form), "application/x-www-form-urlencoded")
    bot.slack.show_ack(response_url, ack)
    return ack


# --- 16: the "⏳" note goes once the command is answered ------------------------------------


async def test_the_working_note_is_deleted_once_the_card_is_posted(bot: LocalBot) -> None:
    await bot.command("/room create tomorrow @alice")
    (note,) = visible_notes(bot)
    assert "Creating your room" in dump(note)
    await bot.settle()
    assert len(bot.slack.channel_messages()) == 1
    assert visible_notes(bot) == []
    # Two Slack calls: the card, and one response_url post that deletes the note.
    assert len(bot.slack.calls_to("chat.postMessage")) == 1
    assert [c.params for c in bot.slack.calls_to("response_url")] == [{"delete_original": True}]


async def test_a_change_replaces_its_working_note_with_what_it_did(bot: LocalBot) -> None:
    room_id = await create(bot, "tomorrow")
    await bot.command(f"/room extend {room_id} by 2 days")
    (note,) = visible_notes(bot)
    assert "Working on it" in dump(note)
    await bot.settle()
    (answer,) = visible_notes(bot)
    assert answer is note  # the same message, replaced: nothing left saying "working"
    assert "Working on it" not in dump(answer)
    assert f"Room `{room_id}` now closes" in dump(answer)


async def test_the_delay_note_replaces_the_working_note_and_goes_with_it(bot: LocalBot) -> None:
    bot.emulator.set_faults(fault_rate=1.0)
    await bot.command("/room create tomorrow")
    delayed = await bot.slack.wait_for(
        lambda s: next((e for e in visible_notes(bot) if "taking longer" in dump(e)), None),
        timeout=30,
    )
    assert visible_notes(bot) == [delayed]  # one note: the "⏳ Creating…" became the delay
    bot.emulator.set_faults(fault_rate=0.0)
    bot.runtime.worker.poke()
    await bot.slack.wait_for(lambda s: s.messages[-1] if s.messages else None, timeout=30)
    await bot.settle()
    assert visible_notes(bot) == []


async def test_a_refusal_after_the_ack_replaces_the_working_note(bot: LocalBot) -> None:
    await bot.command("/room create yesterday for 2 hours")  # the zone is not known yet
    await bot.settle()
    (answer,) = visible_notes(bot)
    assert "over already" in dump(answer)
    assert "Creating your room" not in dump(answer)


async def test_a_button_press_never_replaces_the_card_it_was_pressed_on(bot: LocalBot) -> None:
    room_id = await create(bot, "tomorrow")
    (card,) = bot.slack.channel_messages()
    payload = {
        "type": "block_actions",
        "team": {"id": "T0LOCAL", "domain": "local"},
        "user": {"id": ME[0], "team_id": "T0LOCAL", "name": "you"},
        "api_app_id": "A0LOCAL",
        "channel": {"id": CHANNEL, "name": "general"},
        "container": {"type": "message", "channel_id": CHANNEL, "message_ts": card.ts},
        "message": {"ts": card.ts},
        "trigger_id": bot.slack.issue_trigger_id(),
        # Slack's response_url of a button acts on the message the button is on.
        "response_url": bot.slack.new_response_url(CHANNEL, ME[0], message_ts=card.ts),
        "actions": [
            {
                "type": "button",
                "action_id": blocks.ACTION_EXTEND,
                "block_id": f"room:{room_id}",
                "value": room_id,
                "action_ts": str(time.time()),
            }
        ],
    }
    await bot.post_signed(interaction_body(payload), "application/x-www-form-urlencoded")
    await bot.settle()
    (still,) = bot.slack.channel_messages()
    assert still.ts == card.ts
    assert blocks.ACTION_EXTEND in dump(still)  # still the room card, with its buttons
    assert any("now closes" in dump(note) for note in visible_notes(bot))


# --- 19: what a person typed is shown as typed, never as Slack markup -----------------------


async def test_typed_ampersands_and_angle_brackets_are_quoted_escaped(bot: LocalBot) -> None:
    """Slack sends `&lt;b&gt; &amp; co`; the refusal quotes it once escaped, as typed."""
    ack = await bot.command("/room create tomorrow <b> & co")
    text = ack["blocks"][0]["text"]["text"]
    assert "“&lt;b&gt; &amp; co”" in text
    assert "<b>" not in text
    assert "&amp;lt;" not in text  # escaped once, not twice
    assert "<b> & co" in bot.slack.render_text(ack)  # what the reader sees


async def test_a_typed_mention_lookalike_stays_text_and_a_real_mention_stays_live(
    bot: LocalBot,
) -> None:
    room_id = await create(bot, "tomorrow")
    ann = bot.user("ann")
    # What Slack sends when "<@U0FAKE>" is typed as text and @ann picked from the menu:
    ack = await sent_as_slack_sends(bot, f"extend {room_id} by 2 days <@{ann}|ann> &lt;@U0FAKE&gt;")
    await bot.settle()
    (answer,) = visible_notes(bot)
    said = dump(answer) + json.dumps(ack)
    assert f"<@{ann}|ann>" in said  # the person picked from the @ menu: a live mention
    assert "&lt;@U0FAKE&gt;" in said  # typed: text
    assert "<@U0FAKE>" not in said


async def test_the_forms_when_field_is_read_raw_and_its_errors_are_plain_text(
    bot: LocalBot,
) -> None:
    from tests.slack.test_modal import open_modal, submission

    view = await open_modal(bot)
    refused = await bot.post_signed(
        submission(view, {"when": "tomorrow <b> & co"}, bot=bot),
        "application/x-www-form-urlencoded",
    )
    error = refused["errors"]["when"]
    assert "“<b> & co”" in error  # exactly as typed: plain text shows no entities


# --- 20: add and remove say what changed; nothing changed, nothing re-posted ----------------


async def test_add_and_remove_say_person_by_person_what_changed(bot: LocalBot) -> None:
    room_id = await create(bot, "tomorrow @bob")
    bob, carol, dave = bot.user("bob"), bot.user("carol"), bot.user("dave")
    await bot.command(f"/room add {room_id} @carol presenter @bob collaborator")
    await bot.settle()
    added = dump(visible_notes(bot)[-1])
    assert f"Room `{room_id}`: added <@{carol}> as Presenter" in added
    assert f"made <@{bob}> a Collaborator (was an Attendee)" in added

    await bot.command(f"/room remove {room_id} @carol @dave")
    await bot.settle()
    removed = dump(visible_notes(bot)[-1])
    assert f"removed <@{carol}>; <@{dave}> was not in the room." in removed
    record = await bot.runtime.store.rooms.get(room_id)
    assert record is not None
    assert {p.slack_user_id for p in record.participants} == {ME[0], bob}


async def test_a_change_whose_card_is_gone_posts_it_again_and_still_says_what_changed(
    bot: LocalBot,
) -> None:
    room_id = await create(bot, "tomorrow")
    (card,) = bot.slack.channel_messages()
    card.deleted = True  # someone deleted the room's message in Slack
    carol = bot.user("carol")
    await bot.command(f"/room add {room_id} @carol")
    await bot.settle()
    (again,) = bot.slack.channel_messages()
    assert f"<@{carol}>" in dump(again)
    (answer,) = visible_notes(bot)
    assert f"Room `{room_id}`: added <@{carol}> as Attendee." in dump(answer)


async def test_a_change_that_changes_nothing_reposts_nothing(bot: LocalBot) -> None:
    room_id = await create(bot, "tomorrow @bob collaborator")
    bob, dave = bot.user("bob"), bot.user("dave")
    (card,) = bot.slack.channel_messages()
    acs_requests = bot.emulator.state.requests

    await bot.command(f"/room add {room_id} @bob as collaborator")
    await bot.settle()
    assert f"Nothing changed in room `{room_id}`: <@{bob}> was already a Collaborator." in dump(
        visible_notes(bot)[-1]
    )
    await bot.command(f"/room remove {room_id} @dave")
    await bot.settle()
    assert f"Nothing changed in room `{room_id}`: <@{dave}> was not in the room." in dump(
        visible_notes(bot)[-1]
    )
    assert bot.slack.calls_to("chat.update") == []  # the card was not touched
    assert card.edits == []
    assert bot.emulator.state.requests == acs_requests  # nor ACS asked to change anything


async def test_a_refused_change_says_what_was_refused_in_words(bot: LocalBot) -> None:
    room_id = await create(bot, "tomorrow")
    stranger = bot.user("stranger")
    for verb, words in [
        ("add", f"add people to room `{room_id}`"),
        ("remove", f"remove people from room `{room_id}`"),
    ]:
        await bot.command(f"/room {verb} {room_id} @stranger", user_id=stranger)
        await bot.settle()
        assert f"or an admin can {words}." in dump(visible_notes(bot, stranger)[-1])


async def test_examples_in_refusals_name_the_persons_own_room(bot: LocalBot) -> None:
    room_id = await create(bot, "tomorrow")
    ack = await bot.command(f"/room extend {room_id} by a bit")
    text = json.dumps(ack)
    assert f"/room extend {room_id} by 2 hours" in text
    assert "/room create" not in text


async def test_one_person_with_two_roles_gets_the_same_answer_typed_as_in_the_form(
    bot: LocalBot,
) -> None:
    from tests.slack.test_modal import open_modal, submission

    ann = bot.user("ann")
    typed = await bot.command("/room create tomorrow @ann presenter @ann attendee")
    said = "is chosen twice, as presenter and as attendee; choose one role per person"
    assert said in json.dumps(typed)
    view = await open_modal(bot)
    form = await bot.post_signed(
        submission(view, {"when": "tomorrow", "presenters": [ann], "attendees": [ann]}, bot=bot),
        "application/x-www-form-urlencoded",
    )
    assert said in form["errors"]["attendees"]
    await bot.settle()
    assert bot.slack.messages == []  # neither made a room


# --- 22: after a restart, rooms read as before ----------------------------------------------


async def test_after_a_restart_rooms_still_show_names_and_the_creators_zone(
    tmp_path: Path,
) -> None:
    """A restart forgets people's zones (a cache) and, in `roombot dev`, the fake Slack's
    people. Lists, `show` and cards still write dates in the creator's zone, and name people."""

    def start() -> AbstractAsyncContextManager[LocalBot]:
        return local_bot(
            f"sqlite+aiosqlite:///{tmp_path}/bot.db",
            emulator_state=tmp_path / "emulator.json",
            people_state=tmp_path / "people.json",
        )

    async with start() as first:
        first.slack.add_user("U0ANN", "ann", tz="Asia/Kolkata")
        room_id = await create(first, "tomorrow 9am-5pm @ann presenter @zed")
        zed = first.user("zed")
        made = await first.runtime.store.rooms.get(room_id)
        assert made is not None
        assert made.tz == ME[2]  # kept with the room

    async with start() as second:
        listed = second.slack.render_text(await second.command("/room list"))
        assert f"({ME[2]})" in listed  # the creator's zone, named; not UTC
        assert "UTC" not in listed
        shown = await second.command(f"/room show {room_id}")
        assert "<@U0ANN>" in json.dumps(shown)  # a mention Slack names for every reader
        seen = second.slack.render_text(shown)
        assert "@ann" in seen
        assert "@zed" in seen
        assert zed not in seen  # not a raw id
        assert f"({ME[2]})" in seen

        # Ann (another zone) extends it from the card: the card keeps the creator's zone.
        payload = {
            "type": "block_actions",
            "team": {"id": TEAM, "domain": "local"},
            "user": {"id": "U0ANN", "team_id": TEAM, "name": "ann"},
            "api_app_id": "A0LOCAL",
            "channel": {"id": CHANNEL, "name": "general"},
            "container": {"type": "message", "channel_id": CHANNEL},
            "trigger_id": second.slack.issue_trigger_id(),
            "response_url": second.slack.new_response_url(CHANNEL, "U0ANN"),
            "actions": [
                {
                    "type": "button",
                    "action_id": blocks.ACTION_EXTEND,
                    "block_id": f"room:{room_id}",
                    "value": room_id,
                    "action_ts": str(time.time()),
                }
            ],
        }
        await second.post_signed(interaction_body(payload), "application/x-www-form-urlencoded")
        await second.settle()
        extended = await second.runtime.store.rooms.get(room_id)
        assert extended is not None
        assert extended.valid_until > made.valid_until
        (card,) = second.slack.calls_to("chat.update")
        fallback = json.dumps(card.params)
        assert f"({ME[2]})" in fallback
        assert "Asia/Kolkata" not in fallback
