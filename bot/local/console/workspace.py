"""The fake Slack's channel messages, kept in a file between `roombot dev` runs.

The database and the emulator's rooms outlive the process (and the local people do:
`local_bot(people_state=…)`); a fresh fake Slack's channel did not. Managing a room from an
earlier run then meant `chat.update` of a card this Slack had never seen (`message_not_found`:
a warning in the console, and the card posted a second time). Real Slack keeps the channel, so
the fake keeps its visible messages too. Ephemeral notes are not kept; Slack forgets them as well.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from bot.local.fake_slack import FakeSlack, Message

logger = logging.getLogger("roombot.local.console")

KEPT_MESSAGES = 500
VERSION = 1


def save(slack: FakeSlack, path: Path) -> None:
    """Write the visible channel messages to *path* (atomically)."""
    messages = [
        {
            "channel": m.channel,
            "ts": m.ts,
            "text": m.text,
            "blocks": m.blocks,
            "attachments": m.attachments,
            "user": m.user,
            "bot_id": m.bot_id,
            "thread_ts": m.thread_ts,
            "metadata": m.metadata,
            "via": m.via,
        }
        for m in slack.messages
        if not m.deleted
    ][-KEPT_MESSAGES:]
    document = {"version": VERSION, "messages": messages}
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".tmp")
    partial.write_text(json.dumps(document), encoding="utf-8")
    os.replace(partial, path)


def restore(slack: FakeSlack, path: Path) -> None:
    """Load what `save` wrote; a missing or unreadable file leaves *slack* as it is."""
    try:
        document: Any = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return
    except (OSError, ValueError) as exc:
        logger.warning("could not read %s (%s); starting with an empty workspace", path, exc)
        return
    if not isinstance(document, dict) or document.get("version") != VERSION:
        logger.warning("%s is not a workspace this version wrote; ignoring it", path)
        return
    try:
        for item in document.get("messages", []):
            if item["channel"] in slack.channels:
                slack.messages.append(Message(**item))
    except (KeyError, TypeError, ValueError) as exc:
        logger.warning("%s is damaged (%s); some of it was not restored", path, exc)
