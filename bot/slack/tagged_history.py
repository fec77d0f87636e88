"""Finding a message roombot posted, by its metadata, in a conversation's recent history.

A post whose answer was lost (a crash, a dropped connection after Slack took it) may or may
not be in Slack. roombot tags what it must never post twice with message metadata (a room's
card, a reminder) and, when the token may read the conversation, looks for the tag before
posting again. One lookup for both: the same window, the same paging, the same limit.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

LOOKBACK = timedelta(minutes=10)
"""How far before the first attempt to look: Slack's clock and ours may differ."""
PAGES = 10
"""At most this many pages of 200 messages: a busy channel's older history is not read."""

Message = dict[str, Any]


def tagged(message: Message, event_type: str, **payload: Any) -> bool:
    """Whether *message* carries metadata of *event_type* whose payload has these values."""
    metadata = message.get("metadata") or {}
    found = metadata.get("event_payload") or {}
    return metadata.get("event_type") == event_type and all(
        found.get(name) == value for name, value in payload.items()
    )


async def find_tagged(
    client: AsyncWebClient,
    channel: str,
    *,
    since: datetime,
    matches: Callable[[Message], bool],
) -> Message | None:
    """The newest message of *channel* from `since - LOOKBACK` on that *matches*, or None.

    Slack's errors are the caller's to judge (some mean "cannot look", others "try later").
    """
    oldest = f"{(since - LOOKBACK).timestamp():.6f}"
    cursor: str | None = None
    for _ in range(PAGES):
        response = await client.conversations_history(
            channel=channel, oldest=oldest, limit=200, include_all_metadata=True, cursor=cursor
        )
        for message in response.get("messages") or []:
            if matches(message):
                return dict(message)
        cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
        if not response.get("has_more") or cursor is None:
            return None
    return None
