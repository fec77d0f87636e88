"""argparse types shared by the sub-commands: a bad flag is a usage error naming it, no traceback.

argparse turns the `ArgumentTypeError` into `roombot X: error: argument --port: …` and exit
code 2, the same code a bad setting gets.
"""

from __future__ import annotations

import argparse

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def log_level(value: str) -> str:
    """A logging level name, in any case; returned upper-case."""
    level = value.strip().upper()
    if level not in LOG_LEVELS:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a log level: use one of {', '.join(LOG_LEVELS)} (e.g. INFO)"
        )
    return level


def port_number(value: str) -> int:
    """A TCP port: 0 (any free one) to 65535."""
    try:
        number = int(value)
    except ValueError:
        number = -1
    if not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a port: use a number from 0 to 65535 (e.g. 3000)"
        )
    return number
