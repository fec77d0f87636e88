"""slack-sdk repeats calls whose connection broke; posts must not be repeated blindly."""

from __future__ import annotations

import aiohttp
import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.local.fake_slack import DEFAULT_CHANNEL_ID, FakeSlack
from bot.slack.retry import RepeatableConnectionErrorRetryHandler


async def test_a_post_is_not_repeated_but_a_read_is() -> None:
    async with FakeSlack() as slack:
        slack.add_user("U1", "ann")
        client = AsyncWebClient(
            token=slack.bot_token,
            base_url=slack.api_url,
            retry_handlers=[RepeatableConnectionErrorRetryHandler(max_retry_count=2)],
        )
        slack.lose_next_response("users.info")
        answer = await client.users_info(user="U1")
        assert answer["user"]["name"] == "ann"
        assert len(slack.calls_to("users.info")) == 2  # repeated: reading twice is harmless

        slack.lose_next_response("chat.postMessage")
        with pytest.raises(aiohttp.ClientError):
            await client.chat_postMessage(channel=DEFAULT_CHANNEL_ID, text="once")
        assert len(slack.calls_to("chat.postMessage")) == 1
        assert [m.text for m in slack.channel_messages()] == ["once"]


async def test_a_post_whose_connection_never_opened_is_repeated() -> None:
    """Nothing reached Slack, so repeating the post cannot show it twice."""
    async with FakeSlack() as slack:
        url = slack.api_url
    attempts: list[str] = []

    async def started(*_: object) -> None:
        attempts.append("attempt")

    tracing = aiohttp.TraceConfig()
    tracing.on_request_start.append(started)
    async with aiohttp.ClientSession(trace_configs=[tracing]) as http:
        client = AsyncWebClient(
            token="xoxb-fake",
            base_url=url,  # the fake is gone: connections are refused
            session=http,
            retry_handlers=[RepeatableConnectionErrorRetryHandler(max_retry_count=2)],
        )
        with pytest.raises(aiohttp.ClientConnectorError):
            await client.chat_postMessage(channel=DEFAULT_CHANNEL_ID, text="never sent")
    assert len(attempts) == 3  # the first and two repeats
