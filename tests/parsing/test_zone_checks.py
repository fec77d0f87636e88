"""Which zone and locale strings are read as given, and which fall back to UTC / en-US."""

from __future__ import annotations

import pytest

from bot.parsing.zone_checks import locale_or_default, tz_or_utc, usable_locale, usable_tz


@pytest.mark.parametrize(
    "zone", ["UTC", "Europe/London", "America/Argentina/ComodRivadavia", "Etc/GMT+5"]
)
def test_real_zones_are_kept(zone: str) -> None:
    assert usable_tz(zone) == zone


@pytest.mark.parametrize(
    "zone",
    [
        None,
        5,
        ["Europe/Paris"],
        "",
        "A" * 300,  # ZoneInfo raised OSError: File name too long
        "Europe/" + "Paris/" * 60,
        "Mars/Olympus",
        "../../../../etc/passwd",
        "/etc/localtime",
        "Europe/Paris\x00",
    ],
)
def test_unusable_zones_fall_back_to_utc(zone: object) -> None:
    assert usable_tz(zone) is None
    assert tz_or_utc(zone) == "UTC"


@pytest.mark.parametrize("locale", ["en-US", "en-GB", "pt_BR", "zh-Hant-TW"])
def test_language_tags_are_kept(locale: str) -> None:
    assert usable_locale(locale) == locale


@pytest.mark.parametrize("locale", [None, 7, ["en-GB"], "", "en-" + "x" * 300, "en US", "1/2"])
def test_other_locales_fall_back_to_en_us(locale: object) -> None:
    assert usable_locale(locale) is None
    assert locale_or_default(locale) == "en-US"
