"""Which time zone and locale strings roombot will read words in.

Zones and locales arrive from outside: Slack's `users.info`, a modal's `private_metadata`
(which a forged submission controls), a journalled command. `zoneinfo` turns a long or odd key
into a file lookup (`OSError: File name too long`), and a value that is not a string breaks
whatever calls string methods on it, so every one passes through here first. What is not
usable falls back to UTC and en-US, as when Slack does not say.
"""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

FALLBACK_TZ = "UTC"
FALLBACK_LOCALE = "en-US"
MAX_TZ_LENGTH = 64
"""The longest IANA key is 32 characters (`America/Argentina/ComodRivadavia`)."""
MAX_LOCALE_LENGTH = 35
"""BCP 47's practical bound for a language tag; Slack's are five (`en-GB`)."""

_TZ_KEY = re.compile(r"[A-Za-z0-9_+\-]+(?:/[A-Za-z0-9_+\-]+)*")
_LOCALE = re.compile(r"[A-Za-z]{2,8}(?:[-_][A-Za-z0-9]{1,8})*")


def usable_tz(value: object) -> str | None:
    """*value* when it is an IANA zone key this machine knows, else None (never raises)."""
    if not isinstance(value, str) or not 0 < len(value) <= MAX_TZ_LENGTH:
        return None
    if _TZ_KEY.fullmatch(value) is None:  # no `..`, no absolute paths, no NULs
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None
    return value


def usable_locale(value: object) -> str | None:
    """*value* when it looks like a language tag (`en-US`, `pt_BR`), else None."""
    if not isinstance(value, str) or not 0 < len(value) <= MAX_LOCALE_LENGTH:
        return None
    return value if _LOCALE.fullmatch(value) else None


def tz_or_utc(value: object) -> str:
    return usable_tz(value) or FALLBACK_TZ


def locale_or_default(value: object) -> str:
    return usable_locale(value) or FALLBACK_LOCALE
