"""The wire models read the service's times as the service writes them."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime

import pytest

from bot.acs.models import _FRACTION, RoomModel, _six_fraction_digits


def _by_regex(text: str) -> str:
    return _FRACTION.sub(r"\1", text, count=1)


@pytest.mark.parametrize(
    "text",
    [
        "2026-12-03T14:10:11Z",
        "2026-12-03T14:10:11.1Z",
        "2026-12-03T14:10:11.123456+00:00",
        "2026-12-03T14:10:11.1234567Z",
        "2026-12-03T14:10:11.1234567",
        "2026-12-03T14:10:11.123456789012+00:00",
        "2026-12-03T14:10:11.12345x7Z",
        "1.2.12345678",
        "1.1234567.12345678",
        ".\N{ARABIC-INDIC DIGIT THREE}234567\N{ARABIC-INDIC DIGIT THREE}Z",
        "",
        ".",
    ],
)
def test_fraction_cut_is_the_regex(text: str) -> None:
    assert _six_fraction_digits(text) == _by_regex(text)


def test_fraction_cut_is_the_regex_on_random_text() -> None:
    rng = random.Random(7)
    alphabet = "0123456789" * 4 + ".Z+:-T \N{ARABIC-INDIC DIGIT THREE}\N{SUPERSCRIPT TWO}"
    for length in itertools.chain(range(16), [24, 30, 40]):
        for _ in range(2000):
            text = "".join(rng.choice(alphabet) for _ in range(length))
            assert _six_fraction_digits(text) == _by_regex(text), text


def test_a_room_with_seven_fraction_digits_keeps_six() -> None:
    room = RoomModel.model_validate_json(
        b'{"id":"1","createdAt":"2026-12-03T14:10:11.1234567Z",'
        b'"validFrom":"2026-12-04T09:00:00+00:00","validUntil":"2026-12-04T17:00:00.5Z",'
        b'"pstnDialOutEnabled":false}'
    )
    assert room.created_at == datetime(2026, 12, 3, 14, 10, 11, 123456, tzinfo=UTC)
    assert room.valid_until == datetime(2026, 12, 4, 17, 0, 0, 500000, tzinfo=UTC)
