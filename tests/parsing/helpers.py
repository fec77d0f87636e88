"""Helpers for the parsing tests: the examples file, and `parse` with ISO strings for now."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.parsing import ParseError, RoomCommand, parse

EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "commands" / "examples.jsonl"
NOW = "2027-01-13T15:10:00"  # a Wednesday, the reference time of the examples file


def examples() -> list[dict[str, Any]]:
    """The cases of ``tests/data/commands/examples.jsonl``."""
    with EXAMPLES.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def run(
    text: str, now: str = NOW, tz: str = "UTC", locale: str = "en-US"
) -> RoomCommand | ParseError:
    """`parse` with *now* given as ISO local time, as the examples file writes it."""
    return parse(text, now=datetime.fromisoformat(now), tz=tz, locale=locale)


_SNIPPET = re.compile(r"`/room ([^`]*)`")


def working_examples(message: str) -> list[str]:
    """The ``/room …`` examples a message offers, as Slack would send them (mentions escaped)."""
    return [
        snippet.replace("@ann", "<@U0ANN|ann>")
        for snippet in _SNIPPET.findall(message)
        if "[" not in snippet and "ROOM_ID" not in snippet and "…" not in snippet
    ]
