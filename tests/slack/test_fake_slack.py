"""The fake Slack answers the real clients the bot uses the way Slack does.

Driven only through slack-sdk's `AsyncWebClient`, `AsyncWebhookClient` (what Bolt's `respond`
uses) and `SocketModeClient`, plus raw aiohttp where the wire format itself is the point.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.local.fake_slack import (
    BOT_ID,
    BOT_USER_ID,
    DEFAULT_CHANNEL_ID,
    DEFAULT_SCOPES,
    HISTORY_MANIFEST_SCOPES,
    FakeSlack,
    Message,
    render_text,
)

WINTER = 1_736_000_000.0  # 2025-01-04 14:13 UTC: New York is on EST, UTC-5
SUMMER = 1_751_000_000.0  # 2025-06-27: New York is on EDT, UTC-4
ALICE, BOB = "U1ALICE", "U2BOB"
SECTION = {"type": "section", "text": {"type": "mrkdwn", "text": "Room *123* for <@U1ALICE>"}}


class ManualClock:
    """Seconds since the epoch that move only when a test says so."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(name="clock")
def _clock() -> ManualClock:
    return ManualClock(WINTER)


@pytest.fixture(name="fake")
async def _fake(clock: ManualClock) -> AsyncIterator[FakeSlack]:
    async with FakeSlack(clock=clock, socket_mode=True) as fake:
        fake.add_user(ALICE, "alice", tz="America/New_York", locale="en-GB")
        fake.add_user(BOB, "bob", tz="Asia/Kolkata")
        yield fake


@pytest.fixture(name="client")
def _client(fake: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)


async def slack_error(call: Any) -> str:
    """The Slack error code a client call fails with."""
    with pytest.raises(SlackApiError) as caught:
        await call
    return str(caught.value.response["error"])


async def post_json(url: str, body: Any) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as http, http.post(url, json=body) as resp:
        return resp.status, await resp.json()


# --------------------------------------------------------------------------- auth


async def test_auth_test_names_the_bot_and_the_granted_scopes(client: AsyncWebClient) -> None:
    """Bolt builds its authorize result from these fields and the X-OAuth-Scopes header."""
    response = await client.auth_test()
    assert response["user_id"] == BOT_USER_ID
    assert response["bot_id"] == BOT_ID
    assert response["team_id"] == "T0LOCAL"
    assert response.headers["x-oauth-scopes"] == ",".join(DEFAULT_SCOPES)


@pytest.mark.parametrize(
    ("token", "error"),
    [
        (None, "not_authed"),  # no Authorization header at all
        ("xoxb-someone-else", "invalid_auth"),  # a token the workspace does not know
        ("xapp-fake", "not_allowed_token_type"),  # the app-level token is for Socket Mode only
    ],
)
async def test_web_api_calls_need_the_bot_token(
    fake: FakeSlack, token: str | None, error: str
) -> None:
    client = AsyncWebClient(token=token, base_url=fake.api_url)
    assert await slack_error(client.chat_postMessage(channel="C0LOCAL", text="hi")) == error
    assert fake.messages == []


async def test_calls_are_recorded_without_the_token(
    fake: FakeSlack, client: AsyncWebClient, clock: ManualClock
) -> None:
    await client.users_info(user=ALICE)
    await slack_error(client.users_info(user="U404"))
    ok, failed = fake.calls
    assert (ok.method, ok.params, ok.at, ok.ok) == ("users.info", {"user": ALICE}, WINTER, True)
    assert (failed.status, failed.error) == (200, "user_not_found")
    assert "xoxb-fake" not in repr(fake.calls)
    assert "xoxb-fake" not in repr(fake)


async def test_unknown_methods_are_refused(client: AsyncWebClient) -> None:
    assert await slack_error(client.api_call("rooms.teleport")) == "unknown_method"


async def test_methods_outside_the_granted_scopes_answer_missing_scope(clock: ManualClock) -> None:
    """conversations.info needs channels:read, which the manifest does not ask for."""
    async with FakeSlack(clock=clock) as narrow:
        client = AsyncWebClient(token=narrow.bot_token, base_url=narrow.api_url)
        with pytest.raises(SlackApiError) as caught:
            await client.conversations_info(channel=DEFAULT_CHANNEL_ID)
        assert caught.value.response["error"] == "missing_scope"
        assert caught.value.response["needed"] == "channels:read"
    async with FakeSlack(clock=clock, scopes=(*DEFAULT_SCOPES, "channels:read")) as wide:
        client = AsyncWebClient(token=wide.bot_token, base_url=wide.api_url)
        channel = (await client.conversations_info(channel=DEFAULT_CHANNEL_ID))["channel"]
        assert (channel["id"], channel["name"]) == (DEFAULT_CHANNEL_ID, "general")


# --------------------------------------------------------------------------- users and groups


async def test_users_info_answers_slacks_shape_with_the_zone_of_the_moment(
    client: AsyncWebClient, clock: ManualClock
) -> None:
    user = (await client.users_info(user=ALICE))["user"]
    assert (user["id"], user["name"], user["real_name"]) == (ALICE, "alice", "Alice")
    assert user["profile"]["display_name"] == "alice"
    assert (user["tz"], user["tz_label"], user["tz_offset"]) == ("America/New_York", "EST", -18000)
    assert "locale" not in user
    assert (await client.users_info(user=ALICE, include_locale=True))["user"]["locale"] == "en-GB"
    clock.now = SUMMER
    user = (await client.users_info(user=ALICE))["user"]
    assert (user["tz_label"], user["tz_offset"]) == ("EDT", -14400)


async def test_users_info_keeps_an_explicit_label_and_offset(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    fake.add_user("U3CAROL", "carol", tz="Europe/Paris", tz_label="Paris time", tz_offset=7200)
    user = (await client.users_info(user="U3CAROL"))["user"]
    assert (user["tz_label"], user["tz_offset"]) == ("Paris time", 7200)


async def test_users_info_accepts_a_form_post(fake: FakeSlack) -> None:
    """Older clients POST form bodies; the token may travel in the form too."""
    async with (
        aiohttp.ClientSession() as http,
        http.post(fake.api_url + "users.info", data={"user": BOB, "token": fake.bot_token}) as resp,
    ):
        body = await resp.json()
    assert (body["ok"], body["user"]["tz"], body["user"]["tz_offset"]) == (
        True,
        "Asia/Kolkata",
        19800,
    )
    assert fake.calls[-1].params == {"user": BOB}  # the form's token is not recorded


async def test_users_are_found_by_name_and_names_stay_unique(fake: FakeSlack) -> None:
    assert fake.user_by_name("@Alice") == ALICE
    assert fake.user_by_name("nobody") is None
    with pytest.raises(ValueError, match="already belongs"):
        fake.add_user("U9OTHER", "alice")


async def test_usergroups_users_list(fake: FakeSlack, client: AsyncWebClient) -> None:
    fake.add_usergroup("S1TEAM", "@team", [ALICE, BOB])
    assert (await client.usergroups_users_list(usergroup="S1TEAM"))["users"] == [ALICE, BOB]
    assert await slack_error(client.usergroups_users_list(usergroup="S404")) == "no_such_subteam"


# --------------------------------------------------------------------------- messages


async def test_post_message_records_the_message_with_unique_increasing_ts(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    """The clock stands still, yet every ts is new and later than the one before."""
    answers = [
        await client.chat_postMessage(channel=DEFAULT_CHANNEL_ID, text=f"n{i}", blocks=[SECTION])
        for i in range(3)
    ]
    stamps = [a["ts"] for a in answers]
    assert sorted(stamps, key=float) == stamps
    assert len(set(stamps)) == 3
    first = fake.channel_messages(DEFAULT_CHANNEL_ID)[0]
    assert (first.ts, first.text, first.blocks) == (stamps[0], "n0", [SECTION])
    assert (first.user, first.bot_id, first.via) == (BOT_USER_ID, BOT_ID, "chat.postMessage")
    assert answers[0]["channel"] == DEFAULT_CHANNEL_ID
    assert answers[0]["message"]["blocks"] == [SECTION]


async def test_post_message_accepts_a_channel_name_and_form_encoded_blocks(
    fake: FakeSlack,
) -> None:
    form = {"channel": "#general", "text": "fallback", "blocks": json.dumps([SECTION])}
    headers = {"Authorization": f"Bearer {fake.bot_token}"}
    async with (
        aiohttp.ClientSession() as http,
        http.post(fake.api_url + "chat.postMessage", data=form, headers=headers) as resp,
    ):
        assert (await resp.json())["channel"] == DEFAULT_CHANNEL_ID
    assert fake.messages[0].blocks == [SECTION]


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({"channel": "C404", "text": "hi"}, "channel_not_found"),
        ({"channel": DEFAULT_CHANNEL_ID}, "no_text"),
        ({"channel": DEFAULT_CHANNEL_ID, "blocks": [{"text": "no type"}]}, "invalid_blocks"),
        ({"channel": DEFAULT_CHANNEL_ID, "blocks": [SECTION] * 51}, "invalid_blocks"),
        ({"channel": DEFAULT_CHANNEL_ID, "text": "x" * 40_001}, "msg_too_long"),
        (  # two blocks with one block_id
            {"channel": DEFAULT_CHANNEL_ID, "blocks": [{"type": "divider", "block_id": "a"}] * 2},
            "invalid_blocks",
        ),
    ],
)
async def test_post_message_refuses_what_slack_refuses(
    fake: FakeSlack, client: AsyncWebClient, arguments: dict[str, Any], error: str
) -> None:
    """Sent with api_call, as chat_postMessage would warn about the missing text first."""
    assert await slack_error(client.api_call("chat.postMessage", json=arguments)) == error
    assert fake.messages == []


async def test_post_ephemeral_records_the_recipient(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    answer = await client.chat_postEphemeral(channel=DEFAULT_CHANNEL_ID, user=BOB, text="psst")
    (ephemeral,) = fake.ephemerals_for(BOB)
    assert (ephemeral.channel, ephemeral.text, ephemeral.ts) == (
        DEFAULT_CHANNEL_ID,
        "psst",
        answer["message_ts"],
    )
    assert fake.ephemerals_for(ALICE) == []
    assert (
        await slack_error(
            client.chat_postEphemeral(channel=DEFAULT_CHANNEL_ID, user="U404", text="x")
        )
        == "user_not_found"
    )


async def test_chat_update_edits_in_place_and_keeps_the_history(
    fake: FakeSlack, client: AsyncWebClient, clock: ManualClock
) -> None:
    posted = await client.chat_postMessage(channel=DEFAULT_CHANNEL_ID, text="v1", blocks=[SECTION])
    clock.now += 60
    updated = await client.chat_update(channel=DEFAULT_CHANNEL_ID, ts=posted["ts"], text="v2")
    (message,) = fake.channel_messages()
    assert updated["ts"] == message.ts == posted["ts"]
    assert (message.text, message.blocks) == ("v2", [SECTION])  # omitted blocks are kept
    assert [(e.text, e.at) for e in message.edits] == [("v1", WINTER + 60)]
    await client.chat_update(channel=DEFAULT_CHANNEL_ID, ts=posted["ts"], text="v3", blocks=[])
    assert (message.text, message.blocks, len(message.edits)) == ("v3", [], 2)
    missing = client.chat_update(channel=DEFAULT_CHANNEL_ID, ts="1.000001", text="x")
    assert await slack_error(missing) == "message_not_found"


async def test_chat_delete_hides_the_message(fake: FakeSlack, client: AsyncWebClient) -> None:
    posted = await client.chat_postMessage(channel=DEFAULT_CHANNEL_ID, text="bye")
    await client.chat_delete(channel=DEFAULT_CHANNEL_ID, ts=posted["ts"])
    assert fake.channel_messages() == []
    assert fake.messages[0].deleted
    again = client.chat_delete(channel=DEFAULT_CHANNEL_ID, ts=posted["ts"])
    assert await slack_error(again) == "message_not_found"


# --------------------------------------------------------------------------- history


async def test_history_pages_newest_first_and_carries_message_metadata(
    fake: FakeSlack, client: AsyncWebClient, clock: ManualClock
) -> None:
    fake.scopes = HISTORY_MANIFEST_SCOPES  # reading history is the variant's
    tagged = {"event_type": "room_posted", "event_payload": {"key": "k1"}}
    posted = []
    for n in range(5):
        clock.now += 1
        metadata = tagged if n == 3 else None
        posted.append(
            await client.chat_postMessage(
                channel=DEFAULT_CHANNEL_ID, text=f"m{n}", metadata=metadata
            )
        )
    first = await client.conversations_history(
        channel=DEFAULT_CHANNEL_ID, oldest=posted[0]["ts"], limit=2, include_all_metadata=True
    )
    assert [m["text"] for m in first["messages"]] == ["m4", "m3"]  # `oldest` is exclusive
    assert first["messages"][1]["metadata"] == tagged
    assert "metadata" not in first["messages"][0]
    assert first["has_more"] is True
    rest = await client.conversations_history(
        channel=DEFAULT_CHANNEL_ID,
        oldest=posted[0]["ts"],
        limit=2,
        cursor=first["response_metadata"]["next_cursor"],
    )
    assert [m["text"] for m in rest["messages"]] == ["m2", "m1"]
    assert rest["has_more"] is False
    assert rest["response_metadata"]["next_cursor"] == ""


async def test_post_message_refuses_malformed_metadata(client: AsyncWebClient) -> None:
    bad = client.chat_postMessage(channel=DEFAULT_CHANNEL_ID, text="x", metadata={"a": 1})
    assert await slack_error(bad) == "invalid_metadata_schema"


async def test_history_needs_membership_and_the_scope_of_the_channel_type(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    fake.scopes = HISTORY_MANIFEST_SCOPES  # reading history is the variant's
    fake.add_channel("C0OUTSIDE", "outside", bot_member=False)
    fake.add_channel("G0SECRET", "secret", is_private=True, bot_member=False)
    await client.chat_postMessage(channel="C0OUTSIDE", text="chat:write.public posts anyway")
    outside = client.conversations_history(channel="C0OUTSIDE")
    assert await slack_error(outside) == "not_in_channel"
    secret = client.chat_postMessage(channel="G0SECRET", text="no")
    assert await slack_error(secret) == "not_in_channel"
    assert await slack_error(client.conversations_join(channel="G0SECRET")) == (
        "method_not_supported_for_channel_type"
    )

    joined = await client.conversations_join(channel="C0OUTSIDE")
    assert "warning" not in joined
    history = await client.conversations_history(channel="C0OUTSIDE")
    assert [m["text"] for m in history["messages"]] == ["chat:write.public posts anyway"]
    again = await client.conversations_join(channel="C0OUTSIDE")
    assert again["warning"] == "already_in_channel"

    async with FakeSlack(scopes=("chat:write",)) as narrow:
        reader = AsyncWebClient(token=narrow.bot_token, base_url=narrow.api_url)
        no_scope = reader.conversations_history(channel=DEFAULT_CHANNEL_ID)
        assert await slack_error(no_scope) == "missing_scope"


async def test_a_direct_message_is_one_stable_conversation_opened_and_read_by_scope(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    """`chat.postMessage` to a user id answers with the app's DM with them (`D…`);
    `conversations.open` needs `im:write` and names that same conversation (`already_open`
    once it exists); reading it needs `im:history`, and carries the message's metadata."""
    tagged = {"event_type": "roombot_reminder", "event_payload": {"reminder_id": "r1"}}
    posted = await client.chat_postMessage(channel=ALICE, text="soon", metadata=tagged)
    dm = posted["channel"]
    assert dm.startswith("D")
    assert [m.text for m in fake.direct_messages(ALICE)] == ["soon"]

    assert await slack_error(client.conversations_open(users=ALICE)) == "missing_scope"
    assert await slack_error(client.conversations_history(channel=dm)) == "missing_scope"
    fake.scopes = HISTORY_MANIFEST_SCOPES
    opened = await client.conversations_open(users=ALICE)
    assert opened["channel"]["id"] == dm
    assert opened["already_open"] is True
    history = await client.conversations_history(channel=dm, include_all_metadata=True)
    assert [m["metadata"] for m in history["messages"]] == [tagged]

    fake.add_user(BOB, "bob")
    fresh = await client.conversations_open(users=BOB, return_im=True)
    assert fresh["channel"]["id"] == "D" + BOB[1:]
    assert fresh["channel"]["user"] == BOB
    assert "already_open" not in fresh
    assert (await client.conversations_open(users=BOB))["channel"]["id"] == fresh["channel"]["id"]
    assert await slack_error(client.conversations_open(users="U0NOBODY")) == "user_not_found"
    assert await slack_error(client.conversations_open(users=BOT_USER_ID)) == "cannot_dm_bot"
    assert await slack_error(client.api_call("conversations.open")) == "users_list_not_supplied"
    fake.scopes = tuple(s for s in HISTORY_MANIFEST_SCOPES if s != "im:history")
    assert await slack_error(client.conversations_history(channel=dm)) == "missing_scope"


async def test_a_lost_response_still_does_the_work(fake: FakeSlack) -> None:
    """The connection drops after the post is made: the caller gets an error, Slack has it."""
    fake.lose_next_response("chat.postMessage")
    no_retries = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url, retry_handlers=[])
    with pytest.raises(aiohttp.ClientError):
        await no_retries.chat_postMessage(channel=DEFAULT_CHANNEL_ID, text="did it land?")
    assert [m.text for m in fake.channel_messages()] == ["did it land?"]
    await no_retries.chat_postMessage(channel=DEFAULT_CHANNEL_ID, text="next one answers")
    assert len(fake.channel_messages()) == 2


# --------------------------------------------------------------------------- views

MODAL = {
    "type": "modal",
    "callback_id": "create_room_modal",
    "title": {"type": "plain_text", "text": "Create a room"},
    "blocks": [SECTION],
}


async def test_views_open_needs_a_fresh_unused_trigger(
    fake: FakeSlack, client: AsyncWebClient, clock: ManualClock
) -> None:
    trigger = fake.issue_trigger_id(user_id=ALICE)
    view = (await client.views_open(trigger_id=trigger, view=MODAL))["view"]
    assert view["id"].startswith("V")
    assert (view["callback_id"], view["root_view_id"]) == ("create_room_modal", view["id"])
    (recorded,) = fake.views
    assert (recorded.id, recorded.user, recorded.callback_id) == (
        view["id"],
        ALICE,
        "create_room_modal",
    )
    assert await slack_error(client.views_open(trigger_id=trigger, view=MODAL)) == (
        "exchanged_trigger_id"
    )
    late = fake.issue_trigger_id()
    clock.now += 3
    assert await slack_error(client.views_open(trigger_id=late, view=MODAL)) == (
        "expired_trigger_id"
    )
    assert await slack_error(client.views_open(trigger_id="1.2.3", view=MODAL)) == (
        "invalid_trigger_id"
    )
    assert len(fake.views) == 1


async def test_views_open_refuses_a_view_that_is_not_a_modal(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    bad = {**MODAL, "type": "home"}
    error = client.views_open(trigger_id=fake.issue_trigger_id(), view=bad)
    assert await slack_error(error) == "invalid_arguments"


async def test_views_update_replaces_the_definition_and_checks_the_hash(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    opened = (await client.views_open(trigger_id=fake.issue_trigger_id(), view=MODAL))["view"]
    changed = {**MODAL, "blocks": []}
    updated = (await client.views_update(view_id=opened["id"], hash=opened["hash"], view=changed))[
        "view"
    ]
    assert updated["id"] == opened["id"]
    assert updated["hash"] != opened["hash"]
    (view,) = fake.views
    assert (view.view["blocks"], view.history) == ([], [MODAL])
    stale = client.views_update(view_id=opened["id"], hash=opened["hash"], view=MODAL)
    assert await slack_error(stale) == "hash_conflict"
    assert await slack_error(client.views_update(view_id="V404", view=MODAL)) == "not_found"


async def test_views_push_stacks_on_the_users_modal(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    root = await client.views_open(trigger_id=fake.issue_trigger_id(user_id=ALICE), view=MODAL)
    pushed = (await client.views_push(trigger_id=fake.issue_trigger_id(user_id=ALICE), view=MODAL))[
        "view"
    ]
    assert pushed["root_view_id"] == root["view"]["id"]
    assert pushed["previous_view_id"] == root["view"]["id"]
    await client.views_push(trigger_id=fake.issue_trigger_id(user_id=ALICE), view=MODAL)
    fourth = client.views_push(trigger_id=fake.issue_trigger_id(user_id=ALICE), view=MODAL)
    assert await slack_error(fourth) == "push_limit_reached"


# --------------------------------------------------------------------------- injected faults


async def test_an_injected_429_is_retried_by_the_rate_limit_handler(
    fake: FakeSlack,
) -> None:
    fake.fail_next("chat.postMessage", status=429, retry_after=0)
    client = AsyncWebClient(
        token=fake.bot_token,
        base_url=fake.api_url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)],
    )
    await client.chat_postMessage(channel=DEFAULT_CHANNEL_ID, text="eventually")
    attempts = fake.calls_to("chat.postMessage")
    assert [(c.status, c.error) for c in attempts] == [(429, "ratelimited"), (200, None)]
    assert [m.text for m in fake.channel_messages()] == ["eventually"]


async def test_an_injected_429_carries_retry_after(fake: FakeSlack, client: AsyncWebClient) -> None:
    fake.fail_next("chat.postMessage", status=429, retry_after=7)
    with pytest.raises(SlackApiError) as caught:
        await client.chat_postMessage(channel=DEFAULT_CHANNEL_ID, text="too fast")
    assert caught.value.response.status_code == 429
    assert caught.value.response.headers["Retry-After"] == "7"
    assert caught.value.response["error"] == "ratelimited"
    assert fake.messages == []


async def test_injected_errors_come_first_then_the_real_answers(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    """The trigger survives an injected failure, so a caller's retry can still use it."""
    fake.fail_next("views.open", error="expired_trigger_id")
    fake.fail_next("auth.test", error="invalid_auth", times=2)
    trigger = fake.issue_trigger_id()
    assert await slack_error(client.views_open(trigger_id=trigger, view=MODAL)) == (
        "expired_trigger_id"
    )
    assert (await client.views_open(trigger_id=trigger, view=MODAL))["ok"]
    assert await slack_error(client.auth_test()) == "invalid_auth"
    assert await slack_error(client.auth_test()) == "invalid_auth"
    assert (await client.auth_test())["ok"]


def test_a_fault_answering_200_needs_an_error_code(fake: FakeSlack) -> None:
    with pytest.raises(ValueError, match="error code"):
        fake.fail_next("chat.postMessage")
    with pytest.raises(ValueError, match="at least 1"):
        fake.fail_next("chat.postMessage", error="fatal_error", times=0)


# --------------------------------------------------------------------------- response_url


async def test_response_url_posts_ephemerally_unless_in_channel(fake: FakeSlack) -> None:
    """Bolt's respond() goes through AsyncWebhookClient; this is that path."""
    url = fake.new_response_url(DEFAULT_CHANNEL_ID, ALICE)
    webhook = AsyncWebhookClient(url)
    first = await webhook.send(text="Creating your room…")
    assert first.status_code == 200
    (ephemeral,) = fake.ephemerals_for(ALICE, DEFAULT_CHANNEL_ID)
    assert (ephemeral.text, ephemeral.via) == ("Creating your room…", "response_url")
    await webhook.send(text="Room 123", blocks=[SECTION], response_type="in_channel")
    (message,) = fake.channel_messages()
    assert (message.text, message.blocks, message.user) == ("Room 123", [SECTION], BOT_USER_ID)
    assert fake.calls[-1].method == "response_url"
    assert fake.calls[-1].params["response_type"] == "in_channel"


async def test_replace_and_delete_original_act_on_the_last_post_of_a_command_url(
    fake: FakeSlack,
) -> None:
    url = fake.new_response_url(DEFAULT_CHANNEL_ID, ALICE)
    assert (await post_json(url, {"text": "Creating your room…"}))[0] == 200
    assert (await post_json(url, {"text": "Created", "replace_original": True}))[0] == 200
    (ephemeral,) = fake.ephemerals
    assert (ephemeral.text, [e.text for e in ephemeral.edits]) == (
        "Created",
        ["Creating your room…"],
    )
    assert (await post_json(url, {"delete_original": True}))[0] == 200
    assert ephemeral.deleted
    assert fake.ephemerals_for(ALICE) == []
    assert await post_json(url, {"delete_original": True}) == (
        404,
        {"ok": False, "error": "message_not_found"},
    )


async def test_a_button_url_acts_on_the_message_holding_the_button(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    posted = await client.chat_postMessage(channel=DEFAULT_CHANNEL_ID, text="room", blocks=[])
    url = fake.new_response_url(DEFAULT_CHANNEL_ID, BOB, message_ts=posted["ts"])
    await post_json(url, {"text": "only Alice may do that"})
    await post_json(url, {"replace_original": True, "text": "extended", "blocks": [SECTION]})
    (message,) = fake.channel_messages()
    assert (message.ts, message.text, message.blocks) == (posted["ts"], "extended", [SECTION])
    assert [e.text for e in fake.ephemerals_for(BOB)] == ["only Alice may do that"]
    with pytest.raises(ValueError, match="no message"):
        fake.new_response_url(DEFAULT_CHANNEL_ID, BOB, message_ts="1.000001")


async def test_a_slash_commands_ack_is_the_response_urls_original(fake: FakeSlack) -> None:
    """Slack shows the ack to its author; replace_original/delete_original then act on it."""
    url = fake.new_response_url(DEFAULT_CHANNEL_ID, ALICE)
    assert fake.show_ack(url, {}) is None  # an empty ack shows nothing
    note = fake.show_ack(url, {"response_type": "ephemeral", "text": "working"})
    assert note is not None
    assert fake.ephemerals_for(ALICE) == [note]
    assert (await post_json(url, {"replace_original": True, "text": "done"}))[0] == 200
    assert [e.text for e in fake.ephemerals_for(ALICE)] == ["done"]
    assert [edit.text for edit in note.edits] == ["working"]
    assert (await post_json(url, {"delete_original": True}))[0] == 200
    assert fake.ephemerals_for(ALICE) == []
    assert await post_json(url, {"delete_original": True}) == (
        404,
        {"ok": False, "error": "message_not_found"},
    )


async def test_an_ack_shown_is_kept_as_it_was(fake: FakeSlack) -> None:
    """The fake keeps its own copy of an ack's blocks: the caller changing its dict afterwards
    does not change what Slack shows (the fake keeps parsed request bodies without copying)."""
    url = fake.new_response_url(DEFAULT_CHANNEL_ID, ALICE)
    ack = {"response_type": "ephemeral", "text": "working", "blocks": [dict(SECTION)]}
    note = fake.show_ack(url, ack)
    assert note is not None
    ack["blocks"][0]["block_id"] = "changed"
    assert note.blocks == [SECTION]


async def test_response_url_allows_five_uses(fake: FakeSlack) -> None:
    url = fake.new_response_url(DEFAULT_CHANNEL_ID, ALICE)
    for n in range(5):
        assert (await post_json(url, {"text": f"update {n}"}))[0] == 200
    assert await post_json(url, {"text": "one too many"}) == (
        404,
        {"ok": False, "error": "used_url"},
    )
    assert fake.response_url_uses(url) == 5
    assert len(fake.ephemerals) == 5


async def test_response_url_expires_after_thirty_minutes(
    fake: FakeSlack, clock: ManualClock
) -> None:
    aged = fake.new_response_url(DEFAULT_CHANNEL_ID, ALICE)
    marked = fake.new_response_url(DEFAULT_CHANNEL_ID, ALICE)
    clock.now += 29 * 60
    assert (await post_json(aged, {"text": "still in time"}))[0] == 200
    fake.expire_response_url(marked)
    assert await post_json(marked, {"text": "x"}) == (404, {"ok": False, "error": "expired_url"})
    clock.now += 60
    assert await post_json(aged, {"text": "x"}) == (404, {"ok": False, "error": "expired_url"})


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({}, "no_text"),
        ({"blocks": [{"no": "type"}]}, "invalid_blocks"),
        ([1, 2], "invalid_payload"),
    ],
)
async def test_response_url_refuses_bad_payloads_without_using_it_up(
    fake: FakeSlack, body: Any, error: str
) -> None:
    url = fake.new_response_url(DEFAULT_CHANNEL_ID, ALICE)
    assert await post_json(url, body) == (400, {"ok": False, "error": error})
    assert fake.response_url_uses(url) == 0


async def test_response_url_faults_are_injected_too(fake: FakeSlack) -> None:
    url = fake.new_response_url(DEFAULT_CHANNEL_ID, ALICE)
    fake.fail_next("response_url", status=500)
    assert await post_json(url, {"text": "x"}) == (500, {"ok": False, "error": "internal_error"})
    assert (await post_json(url, {"text": "x"}))[0] == 200
    assert fake.response_url_uses(url) == 1


async def test_unknown_response_urls_answer_404(fake: FakeSlack) -> None:
    status, _ = await post_json(fake.base_url + "response/nope", {"text": "x"})
    assert status == 404
    with pytest.raises(ValueError, match="unknown channel"):
        fake.new_response_url("C404", ALICE)
    with pytest.raises(ValueError, match="unknown user"):
        fake.new_response_url(DEFAULT_CHANNEL_ID, "U404")


# --------------------------------------------------------------------------- waiting


async def test_wait_for_wakes_on_the_change_it_waits_for(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    def posted(f: FakeSlack) -> Message | None:
        return next((m for m in f.messages if m.text == "later"), None)

    task = asyncio.create_task(client.chat_postMessage(channel=DEFAULT_CHANNEL_ID, text="later"))
    message = await fake.wait_for(posted, timeout=5)
    assert message.text == "later"
    await task


async def test_wait_for_times_out_with_what_was_recorded(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    await client.chat_postMessage(channel=DEFAULT_CHANNEL_ID, blocks=[SECTION], text="x")
    with pytest.raises(TimeoutError) as caught:
        await fake.wait_for(lambda f: f.ephemerals, timeout=0.05)
    report = str(caught.value)
    assert "chat.postMessage ok" in report
    assert "#general" in report
    assert "Room *123* for @alice" in report


# --------------------------------------------------------------------------- rendering

JOIN = {"type": "button", "text": {"type": "plain_text", "text": "Join"}, "url": "https://x"}
EXTEND = {"type": "button", "text": {"type": "plain_text", "text": "Extend 1 day"}}


@pytest.mark.parametrize(
    ("blocks", "expected"),
    [
        # the date token shows its fallback, the mention the user's name
        (
            [
                {
                    "type": "section",
                    "text": {
                        "type": "mrkdwn",
                        "text": "From <!date^1736000000^{date_short_pretty} at {time}|"
                        "Sat 4 Jan 09:13 EST> for <@U1ALICE>",
                    },
                }
            ],
            "From Sat 4 Jan 09:13 EST for @alice",
        ),
        # header, fields, divider, buttons as [Label]
        (
            [
                {"type": "header", "text": {"type": "plain_text", "text": "Room 123"}},
                {
                    "type": "section",
                    "fields": [
                        {"type": "mrkdwn", "text": "*Presenters*\n<@U2BOB>"},
                        {"type": "mrkdwn", "text": "*Dial-out*\nno"},
                    ],
                },
                {"type": "divider"},
                {"type": "actions", "elements": [JOIN, EXTEND]},
            ],
            "Room 123\n*Presenters*\n@bob\n*Dial-out*\nno\n---\n[Join]  [Extend 1 day]",
        ),
        # context, links, channels, groups, an escaped mention with its label, entities
        (
            [
                {
                    "type": "context",
                    "elements": [
                        {"type": "image", "image_url": "https://i", "alt_text": "icon"},
                        {"type": "mrkdwn", "text": "in <#C0LOCAL> by <@U9ZED|zed>"},
                        {"type": "mrkdwn", "text": "<!subteam^S1TEAM> &amp; <https://a.b|docs>"},
                    ],
                }
            ],
            "in #general by @zed  @team & docs (https://a.b)",
        ),
        # a section with a button accessory; plain_text is not mrkdwn-parsed
        (
            [
                {
                    "type": "section",
                    "text": {"type": "plain_text", "text": "a <b>"},
                    "accessory": EXTEND,
                }
            ],
            "a <b>\n[Extend 1 day]",
        ),
        # rich text with a user and a list
        (
            [
                {
                    "type": "rich_text",
                    "elements": [
                        {
                            "type": "rich_text_section",
                            "elements": [
                                {"type": "text", "text": "hi "},
                                {"type": "user", "user_id": "U1ALICE"},
                            ],
                        },
                        {
                            "type": "rich_text_list",
                            "elements": [
                                {
                                    "type": "rich_text_section",
                                    "elements": [{"type": "text", "text": "one"}],
                                }
                            ],
                        },
                    ],
                }
            ],
            "hi @alice• one",
        ),
    ],
)
def test_render_text(fake: FakeSlack, blocks: list[dict[str, Any]], expected: str) -> None:
    fake.add_usergroup("S1TEAM", "team", [ALICE])
    assert fake.render_text({"text": "fallback", "blocks": blocks}) == expected


def test_render_text_without_blocks_renders_the_text(fake: FakeSlack) -> None:
    message = {"text": "Hello <@U1ALICE> &lt;3"}
    assert render_text(message, users=fake.users) == "Hello @alice <3"
    assert render_text(message) == "Hello @U1ALICE <3"


# --------------------------------------------------------------------------- Socket Mode


async def reply_to_every_request(
    client: AsyncBaseSocketModeClient, request: SocketModeRequest
) -> None:
    payload = {"text": f"got {request.type}: {request.payload.get('text')}"}
    await client.send_socket_mode_response(SocketModeResponse(request.envelope_id, payload))


@pytest.fixture(name="socket_client")
async def _socket_client(fake: FakeSlack) -> AsyncIterator[SocketModeClient]:
    client = SocketModeClient(
        app_token=fake.app_token,
        web_client=AsyncWebClient(base_url=fake.api_url),
        ping_interval=1,
    )
    client.socket_mode_request_listeners.append(reply_to_every_request)
    try:
        yield client
    finally:
        await client.close()


async def test_socket_mode_client_connects_gets_hello_and_acks(
    fake: FakeSlack, socket_client: SocketModeClient
) -> None:
    seen: list[dict[str, Any]] = []

    async def remember(_: AsyncBaseSocketModeClient, message: dict[str, Any], __: Any) -> None:
        seen.append(message)

    socket_client.message_listeners.append(remember)
    await socket_client.connect()
    await fake.wait_for(lambda f: f.connected)
    envelope_id = await fake.socket_send("slash_commands", {"command": "/room", "text": "list"})
    ack = await fake.wait_for_ack(envelope_id)
    assert ack == {"envelope_id": envelope_id, "payload": {"text": "got slash_commands: list"}}
    assert seen[0]["type"] == "hello"
    assert seen[0]["connection_info"] == {"app_id": "A0LOCALAPP"}
    assert seen[1]["accepts_response_payload"] is True
    assert fake.socket_stray_messages == []


async def test_socket_mode_client_reconnects_after_the_server_drops_it(
    fake: FakeSlack, socket_client: SocketModeClient
) -> None:
    await socket_client.connect()
    await fake.wait_for(lambda f: f.connected)
    await fake.drop_socket_connections()
    await fake.wait_for(lambda f: f.connections_opened == 2 and f.connections == 1)
    assert len(fake.calls_to("apps.connections.open")) == 2
    envelope_id = await fake.socket_send("interactive", {"type": "block_actions", "text": "x"})
    assert (await fake.wait_for_ack(envelope_id))["payload"] == {"text": "got interactive: x"}


async def test_socket_mode_client_moves_on_after_a_disconnect_message(
    fake: FakeSlack, socket_client: SocketModeClient
) -> None:
    await socket_client.connect()
    await fake.wait_for(lambda f: f.connected)
    await fake.send_socket_disconnect("refresh_requested")
    await fake.wait_for(lambda f: f.connections_opened == 2 and f.connections == 1)
    envelope_id = await fake.socket_send("events_api", {"text": "event"})
    assert (await fake.wait_for_ack(envelope_id))["envelope_id"] == envelope_id
    assert fake.envelopes[-1].accepts_response_payload is False


async def test_socket_mode_urls_come_only_from_apps_connections_open(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    assert await slack_error(client.apps_connections_open(app_token=fake.bot_token)) == (
        "not_allowed_token_type"
    )
    url = (await client.apps_connections_open(app_token=fake.app_token))["url"]
    assert url.startswith(fake.socket_mode_url + "?ticket=")
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
            await http.ws_connect(fake.socket_mode_url)
        assert caught.value.status == 401
        async with http.ws_connect(url) as ws:
            assert (await ws.receive_json())["type"] == "hello"
            assert fake.connections == 1


async def test_socket_mode_is_off_unless_enabled(clock: ManualClock) -> None:
    async with FakeSlack(clock=clock) as fake:
        client = AsyncWebClient(base_url=fake.api_url)
        opening = client.apps_connections_open(app_token=fake.app_token)
        assert await slack_error(opening) == "socket_mode_not_enabled"
        with pytest.raises(RuntimeError, match="not enabled"):
            await fake.socket_send("slash_commands", {})
        fake.enable_socket_mode()
        assert (await client.apps_connections_open(app_token=fake.app_token))["ok"]


async def test_a_post_to_a_user_id_is_a_direct_message() -> None:
    """As in Slack: chat.postMessage with a user id as channel posts in the bot's DM with them."""
    async with FakeSlack() as fake:
        fake.add_user("U0ANN", "ann")
        client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
        answer = await client.chat_postMessage(channel="U0ANN", text="hello")
        assert answer["channel"] == fake.dm_channel("U0ANN")
        assert answer["channel"].startswith("D")
        assert [m.text for m in fake.channel_messages(fake.dm_channel("U0ANN"))] == ["hello"]
