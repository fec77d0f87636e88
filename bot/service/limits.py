"""ACS Rooms' limits on a room's window, checked before the service is called.

Why check what ACS checks anyway: ACS answers a window it will not take with a terse 400 ("The
request could not be understood by the server due to malformed syntax. ValidUntil: …"), which
tells a person neither what was wrong nor what would work. Checked here first, the refusal is
in roombot's words with a command that works (`bot.service.refusals`), and the room card offers
only the buttons that can succeed. The limits are those of the 2025-03-13 Rooms API, as the
emulator (`bot.local.emulator._check_window`) enforces them, in the same order:

- validFrom at most 180 days from now;
- validUntil not in the past;
- validUntil after validFrom, and at most 180 days (elapsed time) after it.

Nothing here reads the clock: *now* is an argument.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

MAX_LIFETIME = timedelta(days=180)
"""How long a room may stay open, and how far ahead it may open: elapsed time, as ACS counts."""

EXTEND_BUTTON_STEP = "1 day"
"""What one press of a card's Extend button asks for: ``extend ROOM by 1 day``."""

_STEP_RANGE = (timedelta(hours=23), timedelta(hours=25))
"""A calendar day in the presser's zone (not known when the card is drawn) across a DST change."""


class WindowProblem(enum.StrEnum):
    """Why ACS would refuse a window; the values are the refusal codes the journal records."""

    START_TOO_FAR_AHEAD = "start_too_far_ahead"
    END_IN_PAST = "window_in_past"
    END_BEFORE_START = "end_before_start"
    TOO_LONG = "window_too_long"


def window_problem(
    valid_from: datetime, valid_until: datetime, now: datetime
) -> WindowProblem | None:
    """What ACS would refuse in the window [*valid_from*, *valid_until*) at *now*, or None."""
    if valid_from > now + MAX_LIFETIME:
        return WindowProblem.START_TOO_FAR_AHEAD
    if valid_until <= now:
        return WindowProblem.END_IN_PAST
    if valid_until <= valid_from:
        return WindowProblem.END_BEFORE_START
    if valid_until - valid_from > MAX_LIFETIME:
        return WindowProblem.TOO_LONG
    return None


def latest_end(valid_from: datetime) -> datetime:
    """The latest a room opening at *valid_from* may close."""
    return valid_from + MAX_LIFETIME


def extend_button_works(valid_from: datetime, valid_until: datetime, now: datetime) -> bool:
    """Whether one press of Extend (one calendar day, 23 to 25 hours) would be taken by ACS."""
    return all(window_problem(valid_from, valid_until + step, now) is None for step in _STEP_RANGE)
