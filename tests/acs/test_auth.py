"""HMAC-SHA256 signing reproduces the known-answer vectors and verify() accepts exactly them."""

from __future__ import annotations

import json
import locale
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

from bot.acs.auth import (
    AccessKey,
    SignatureError,
    content_hash,
    http_date,
    sign,
    signature,
    string_to_sign,
    verify,
)

KAT = json.loads(
    (Path(__file__).resolve().parents[1] / "data/specs/hmac-kat-vectors.json").read_text()
)
KEY = AccessKey.from_base64(KAT["key_b64"])
SIGNED_AT = datetime(2025, 4, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    "vector", KAT["vectors"], ids=lambda v: f"{v['method']} {v['path_and_query']}"
)
def test_sign_reproduces_every_known_answer_vector(vector: dict[str, Any]) -> None:
    body = vector["body"].encode()
    assert content_hash(body) == vector["x-ms-content-sha256"]
    text = string_to_sign(
        vector["method"], vector["path_and_query"], KAT["date"], KAT["host"], content_hash(body)
    )
    assert text == vector["string_to_sign"]
    headers = sign(
        method=vector["method"],
        path_and_query=vector["path_and_query"],
        host=KAT["host"],
        date=SIGNED_AT,
        body=body,
        key=KEY,
    )
    assert headers == {
        "x-ms-date": vector["x-ms-date"],
        "x-ms-content-sha256": vector["x-ms-content-sha256"],
        "Authorization": vector["Authorization"],
    }


@pytest.mark.parametrize(("text", "expected"), sorted(KAT["sdk_unit_vectors"].items()))
def test_hmac_matches_the_official_sdk_unit_vectors(text: str, expected: str) -> None:
    # The SDK's own unit test signs "banana" and an emoji with the key "pw==".
    word = {"banana": "banana", "emoji": "\N{GRINNING FACE}"}[text]
    assert signature(AccessKey.from_base64("pw=="), word) == expected


def test_http_date_ignores_the_process_locale() -> None:
    previous = locale.setlocale(locale.LC_TIME)
    try:
        for name in ("de_DE.UTF-8", "fr_FR.UTF-8", "C.UTF-8"):
            try:
                locale.setlocale(locale.LC_TIME, name)
            except locale.Error:
                continue
            assert http_date(SIGNED_AT) == "Tue, 01 Apr 2025 12:00:00 GMT"
    finally:
        locale.setlocale(locale.LC_TIME, previous)
    # A non-UTC aware datetime is converted, not mislabelled.
    assert http_date(SIGNED_AT.astimezone()) == "Tue, 01 Apr 2025 12:00:00 GMT"


def test_http_date_is_the_text_of_the_standard_library() -> None:
    # Every weekday and month, single-digit days, years below 1000, odd offsets.
    offsets = [timezone(timedelta(minutes=m)) for m in (-845, -60, 0, 345, 840)]
    moment = datetime(999, 1, 1, tzinfo=UTC)
    while moment.year < 2200:
        for offset in offsets:
            local = moment.astimezone(offset)
            assert http_date(local) == format_datetime(moment, usegmt=True)
        moment += timedelta(days=37, hours=5, minutes=7, seconds=11)


def test_an_empty_body_hashes_like_any_other() -> None:
    assert content_hash(b"") == "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="


def _signed(path: str = "/rooms?api-version=2025-03-13", body: bytes = b"{}") -> dict[str, str]:
    headers = sign(
        method="POST", path_and_query=path, host=KAT["host"], date=SIGNED_AT, body=body, key=KEY
    )
    return {**headers, "Host": KAT["host"]}


def test_verify_accepts_a_correctly_signed_request() -> None:
    verify(
        method="POST",
        path_and_query="/rooms?api-version=2025-03-13",
        headers=_signed(),
        body=b"{}",
        key=KEY,
        now=SIGNED_AT + timedelta(minutes=14),
    )


def test_verify_accepts_the_path_signed_percent_encoded_or_decoded() -> None:
    encoded = "/identities/8%3Aacs%3Aabc_def?api-version=2023-10-01"
    verify(
        method="POST",
        path_and_query=encoded,
        headers=_signed(path="/identities/8:acs:abc_def?api-version=2023-10-01"),
        body=b"{}",
        key=KEY,
        now=SIGNED_AT,
    )
    verify(
        method="POST",
        path_and_query=encoded,
        headers=_signed(path=encoded),
        body=b"{}",
        key=KEY,
        now=SIGNED_AT,
    )


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        # another key signed it
        ({"key": AccessKey(b"another key")}, "signature does not match"),
        # the body was altered after signing
        ({"body": b'{"x": 1}'}, "x-ms-content-sha256"),
        # replayed 16 minutes later
        ({"now": SIGNED_AT + timedelta(minutes=16)}, "clock skew"),
        # signed for a different path
        ({"path_and_query": "/rooms/1?api-version=2025-03-13"}, "signature does not match"),
        # signed for a different host
        ({"headers": {**_signed(), "Host": "evil.example"}}, "signature does not match"),
        # no Authorization header
        (
            {"headers": {k: v for k, v in _signed().items() if k != "Authorization"}},
            "Authorization",
        ),
        # no date
        ({"headers": {k: v for k, v in _signed().items() if k != "x-ms-date"}}, "x-ms-date"),
    ],
)
def test_verify_refuses_anything_else(change: dict[str, Any], reason: str) -> None:
    arguments: dict[str, Any] = {
        "method": "POST",
        "path_and_query": "/rooms?api-version=2025-03-13",
        "headers": _signed(),
        "body": b"{}",
        "key": KEY,
        "now": SIGNED_AT,
    }
    with pytest.raises(SignatureError, match=reason):
        verify(**{**arguments, **change})


def test_the_key_never_appears_in_a_repr() -> None:
    assert KAT["key_b64"] not in repr(KEY)
    assert KAT["key_b64"] not in str(KEY)
    assert "secret" not in repr(KEY)
