"""Logs of `roombot dev` go to a file, so the console shows only what the channel shows.

slack-sdk, Bolt and roombot itself log warnings a person at the console cannot act on (a
retried call, a card that could not be found); printed between the channel's messages they
read like part of the conversation. The file keeps them, redacted as everywhere else.
"""

from __future__ import annotations

import logging
from pathlib import Path

from bot.logs import RedactingFilter, configure_logging


def route_logs(target: str, level: str) -> None:
    """Send every log record (and Python warnings) to *target*: a file path, or `-` for stderr."""
    if target == "-":
        configure_logging(level)
        return
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8", delay=True)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    logging.captureWarnings(True)  # a library's warnings.warn() would print on stderr too
