"""Debug lines nobody will see are not built: slack-sdk and Bolt ask their logger's own level.

slack-sdk formats each Web API call's request and response (every card's blocks) when
`logger.level <= DEBUG`, the logger's own level, which is NOTSET (0) unless set: it built
those lines on every call only for the handler to drop them. `configure_logging` sets the
level of those loggers (`bot.logs.LEVEL_TESTED_LOGGERS`) to the root's.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import ClassVar

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.local.fake_slack import DEFAULT_CHANNEL_ID, FakeSlack
from bot.logs import LEVEL_TESTED_LOGGERS, configure_logging


class _Watched(str):
    """A string that notes each time its repr is taken (what a formatted debug line does)."""

    reprs: ClassVar[list[str]] = []

    def __repr__(self) -> str:
        self.reprs.append(str(self))
        return super().__repr__()


@pytest.fixture
def fresh_logging() -> Iterator[None]:
    """The loggers' levels as a new process has them; everything restored afterwards."""
    root = logging.getLogger()
    saved = root.level, root.handlers[:]
    levels = {name: logging.getLogger(name).level for name in LEVEL_TESTED_LOGGERS}
    for name in LEVEL_TESTED_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET)
    try:
        yield
    finally:
        root.setLevel(saved[0])
        root.handlers = saved[1]
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


async def _post_watched(slack: FakeSlack) -> list[str]:
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)
    _Watched.reprs = []
    await client.api_call(
        "chat.postMessage", json={"channel": DEFAULT_CHANNEL_ID, "text": _Watched("hello")}
    )
    assert [m.text for m in slack.channel_messages()][-1] == "hello"
    return _Watched.reprs


@pytest.mark.usefixtures("fresh_logging")
async def test_at_info_no_web_api_call_formats_a_debug_line() -> None:
    configure_logging("INFO")
    async with FakeSlack() as slack:
        assert await _post_watched(slack) == []
    for name in LEVEL_TESTED_LOGGERS:
        assert logging.getLogger(name).getEffectiveLevel() == logging.INFO


@pytest.mark.usefixtures("fresh_logging")
async def test_at_debug_the_debug_lines_are_still_written(caplog: pytest.LogCaptureFixture) -> None:
    configure_logging("DEBUG")
    async with FakeSlack() as slack:
        assert await _post_watched(slack) != []
    assert any("chat.postMessage" in record.getMessage() for record in caplog.records)
