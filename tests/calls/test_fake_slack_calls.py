"""The fake Slack's Calls API checks its arguments as Slack documents, over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.local.fake_slack import DEFAULT_CHANNEL_ID, FakeSlack

ANN = "U0ANN"


@pytest.fixture(name="slack")
async def _slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        fake.add_user(ANN, "ann")
        yield fake


def client(slack: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)


async def refused(call: object) -> str:
    with pytest.raises(SlackApiError) as caught:
        await call  # type: ignore[misc]
    return str(caught.value.response["error"])


async def test_calls_add_wants_its_required_arguments(slack: FakeSlack) -> None:
    web = client(slack)
    url = "https://bot.example/rooms/1"
    assert await refused(web.calls_add(external_unique_id="1", join_url=url)) == (
        "invalid_arguments"  # created_by is required with a bot token
    )
    assert await refused(web.calls_add(external_unique_id="", join_url=url, created_by=ANN)) == (
        "invalid_arguments"
    )
    assert await refused(
        web.calls_add(external_unique_id="1", join_url="ftp://x", created_by=ANN)
    ) == ("invalid_arguments")
    assert await refused(
        web.calls_add(external_unique_id="1", join_url=url, created_by="U0NOBODY")
    ) == ("user_not_found")
    added = await web.calls_add(
        external_unique_id="1", join_url=url, created_by=ANN, title="Design review"
    )
    call = added["call"]
    assert (call["external_unique_id"], call["join_url"], call["title"]) == (
        "1",
        url,
        "Design review",
    )


async def test_participants_and_end(slack: FakeSlack) -> None:
    web = client(slack)
    call_id = (
        await web.calls_add(external_unique_id="1", join_url="https://b/r/1", created_by=ANN)
    )["call"]["id"]
    assert await refused(web.calls_participants_add(id="R404", users=[{"slack_id": ANN}])) == (
        "invalid_call_id"
    )
    assert await refused(web.calls_participants_add(id=call_id, users=[{"external_id": "x"}])) == (
        "invalid_arguments"  # an external user needs a display name
    )
    assert (await web.calls_participants_add(id=call_id, users=[{"slack_id": ANN}]))["ok"]
    again = await web.calls_participants_add(id=call_id, users=[{"slack_id": ANN}])
    assert (again["ok"], again["error"]) == (True, "bad_users")  # as Slack's own example
    assert (await web.calls_participants_remove(id=call_id, users=[{"slack_id": ANN}]))["ok"]
    assert slack.slack_calls.calls[call_id].participants == []
    assert (await web.calls_end(id=call_id, duration=60))["ok"]
    assert await refused(web.calls_update(id=call_id, title="x")) == "inactive_call"
    assert await refused(web.calls_end(id=call_id)) == "inactive_call"


async def test_a_call_block_must_name_a_registered_call(slack: FakeSlack) -> None:
    web = client(slack)
    unknown = [{"type": "call", "call_id": "not a call"}]
    assert await refused(
        web.chat_postMessage(channel=DEFAULT_CHANNEL_ID, blocks=unknown, text="x")
    ) == ("invalid_blocks")
    call_id = (
        await web.calls_add(external_unique_id="1", join_url="https://b/r/1", created_by=ANN)
    )["call"]["id"]
    known = [{"type": "call", "call_id": call_id}]
    assert (await web.chat_postMessage(channel=DEFAULT_CHANNEL_ID, blocks=known, text="x"))["ok"]


async def test_calls_need_the_calls_write_scope() -> None:
    async with FakeSlack(scopes=("chat:write",)) as slack:
        slack.add_user(ANN, "ann")
        web = client(slack)
        error = await refused(
            web.calls_add(external_unique_id="1", join_url="https://b/r/1", created_by=ANN)
        )
        assert error == "missing_scope"
