"""dateparser, for the rare date atoms our readers do not know (``january the 20th``).

Why a module of its own: dateparser costs about 0.7 ms a call, several times our whole budget, so
it is asked only about a phrase naming a month that no reader took, and tests can prove that the
common forms never reach it by replacing `dateparser_date` here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any


def dateparser_date(
    text: str, now: datetime, *, month_first: bool
) -> tuple[int | None, int, int] | None:
    """(year or None, month, day) of a date-only *text* per dateparser, or None if it reads none.

    Times are refused here (our grammar reads those), and so is any result without both a month
    and a day, so dateparser never silently turns a word into a different date.
    """
    import dateparser.date

    settings: dict[str, Any] = {
        "RELATIVE_BASE": now.replace(tzinfo=None),
        "PREFER_DATES_FROM": "future",
        "DATE_ORDER": "MDY" if month_first else "DMY",
        "PREFER_LOCALE_DATE_ORDER": False,
        "STRICT_DATE_ORDER": "all",
        "PARSERS": ["absolute-time"],
        "REQUIRE_PARTS": ["day", "month"],
        "RETURN_AS_TIMEZONE_AWARE": False,
    }
    try:
        parser = dateparser.date.DateDataParser(languages=["en"], settings=settings)
        data = parser.get_date_data(text)
    except Exception:
        return None
    parts = tuple(data.parts or ())
    if data.date_obj is None or "time" in parts or not {"month", "day"} <= set(parts):
        return None
    found: datetime = data.date_obj
    return (found.year if "year" in parts else None), found.month, found.day


def warm_up() -> None:
    """Import dateparser and pay its first-call cost (about 0.1 s) now, not on a user's command."""
    dateparser_date("january the 20th", datetime(2027, 1, 13, 12, 0), month_first=True)
