"""The fake Slack's unfurls, thread replies and workflow steps keep Slack's documented limits,
driven through slack-sdk's `AsyncWebClient` as the bot drives them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.local.fake_slack import DEFAULT_CHANNEL_ID, HISTORY_MANIFEST_SCOPES, FakeSlack
from bot.local.fake_slack_ext import MAX_LINKS, MAX_UNFURL_BLOCKS, links_in

ALICE = "U1ALICE"
CARD = [{"type": "section", "text": {"type": "mrkdwn", "text": "a room"}}]


@pytest.fixture(name="fake")
async def _fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        fake.add_user(ALICE, "alice")
        fake.ext.unfurl_domains = {"rooms.example.com"}
        yield fake


def _client(fake: FakeSlack, token: str | None = None) -> AsyncWebClient:
    return AsyncWebClient(token=token or fake.bot_token, base_url=fake.api_url)


async def _error(call: object) -> str:
    with pytest.raises(SlackApiError) as failed:
        await call  # type: ignore[misc]
    return str(failed.value.response["error"])


async def test_link_shared_only_for_unfurl_domains_and_at_most_five_links(
    fake: FakeSlack,
) -> None:
    assert fake.ext.share_link(ALICE, "see <https://example.org/x>") is None
    many = " ".join(f"<https://sub.rooms.example.com/rooms/{n}>" for n in range(8))
    event = fake.ext.share_link(ALICE, many)
    assert event is not None
    assert len(event["event"]["links"]) == MAX_LINKS
    assert event["event"]["links"][0]["domain"] == "sub.rooms.example.com"
    assert links_in("<https://a.b/c|label> and https://d.e/f") == ["https://a.b/c", "https://d.e/f"]


async def test_chat_unfurl_keeps_slacks_rules(fake: FakeSlack) -> None:
    link = "https://rooms.example.com/rooms/1"
    event = fake.ext.share_link(ALICE, f"<{link}>")
    assert event is not None
    unfurl_id = event["event"]["unfurl_id"]
    client = _client(fake)
    where = {"unfurl_id": unfurl_id, "source": "conversations_history"}
    other = {"https://rooms.example.com/rooms/2": {"blocks": CARD}}
    assert await _error(client.chat_unfurl(unfurls=other, **where)) == "cannot_unfurl_url"
    too_many = {link: {"blocks": CARD * (MAX_UNFURL_BLOCKS + 1)}}
    assert await _error(client.chat_unfurl(unfurls=too_many, **where)) == "invalid_blocks"
    assert (
        await _error(
            client.chat_unfurl(
                unfurls={link: {"blocks": CARD}}, unfurl_id="nope", source="composer"
            )
        )
        == "cannot_find_message"
    )
    await client.chat_unfurl(unfurls={link: {"blocks": CARD}}, **where)
    message = fake.messages[-1]
    # channel + ts reach the same message; a second unfurl replaces the first
    again = [{"type": "section", "text": {"type": "mrkdwn", "text": "updated"}}]
    await client.chat_unfurl(
        channel=DEFAULT_CHANNEL_ID, ts=message.ts, unfurls={link: {"blocks": again}}
    )
    assert fake.ext.unfurls_of(message) == {link: again}
    fake.scopes = tuple(s for s in fake.scopes if s != "links:write")
    assert (
        await _error(client.chat_unfurl(unfurls={link: {"blocks": CARD}}, **where))
        == "missing_scope"
    )


async def test_conversations_replies_needs_the_history_scope(fake: FakeSlack) -> None:
    parent = fake.ext.post_as(ALICE, "thread")
    fake.ext.post_as(ALICE, "reply", thread_ts=parent.ts)
    client = _client(fake)
    replies = client.conversations_replies(channel=DEFAULT_CHANNEL_ID, ts=parent.ts)
    assert await _error(replies) == "missing_scope"
    fake.scopes = HISTORY_MANIFEST_SCOPES
    answer = await client.conversations_replies(channel=DEFAULT_CHANNEL_ID, ts=parent.ts)
    assert [m["text"] for m in answer["messages"]] == ["thread", "reply"]


async def test_a_step_completes_once_with_declared_outputs(fake: FakeSlack) -> None:
    declared = {"room_id": {"type": "string", "is_required": True}, "note": {"type": "string"}}
    event = fake.ext.execute_function(
        "step", {"a": 1}, definition={"title": "Step", "output_parameters": declared}
    )
    execution_id = event["event"]["function_execution_id"]
    step_client = _client(fake, event["event"]["bot_access_token"])
    bot_client = _client(fake)
    wrong = step_client.functions_completeSuccess(
        function_execution_id=execution_id, outputs={"surprise": "x"}
    )
    assert await _error(wrong) == "parameter_validation_failed"
    missing = step_client.functions_completeSuccess(
        function_execution_id=execution_id, outputs={"note": "no room id"}
    )
    assert await _error(missing) == "parameter_validation_failed"  # a required output
    fake.ext.function_token_only = True
    with_bot_token = bot_client.functions_completeSuccess(
        function_execution_id=execution_id, outputs={"room_id": "1"}
    )
    assert await _error(with_bot_token) == "not_allowed_token_type"
    fake.ext.function_token_only = False
    await step_client.functions_completeSuccess(
        function_execution_id=execution_id, outputs={"room_id": "1"}
    )
    assert fake.ext.executions[execution_id].state == "completed"
    # the step's token ended with the step; the bot token hears that it already ended
    again = step_client.functions_completeError(function_execution_id=execution_id, error="x")
    assert await _error(again) == "invalid_auth"
    again = bot_client.functions_completeError(function_execution_id=execution_id, error="x")
    assert await _error(again) == "execution_not_in_running_state"
    unknown = bot_client.functions_completeError(function_execution_id="Fx0", error="x")
    assert await _error(unknown) == "function_execution_not_found"
    forged = _client(fake, "xwfp-forged").functions_completeError(
        function_execution_id=execution_id, error="x"
    )
    assert await _error(forged) == "invalid_auth"
