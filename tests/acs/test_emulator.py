"""The emulator speaks the service's dialect: raw signed HTTP against it on loopback.

Error texts are the ones recorded from the real service (azure-sdk-for-python's Rooms and
Identity test recordings); see `bot/local/emulator.py`.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import re
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import aiohttp
import pytest

from bot.acs.auth import AccessKey
from bot.local.emulator import EmulatorServer
from tests.acs.conftest import Reply, SignedHttp

API = "api-version=2025-03-13"
ROOMS = f"/rooms?{API}"
IDENTITIES = "/identities?api-version=2023-10-01"
MERGE_PATCH = "application/merge-patch+json"
RESOURCE = "db75ed0c-e801-41a3-99a4-66a0a119a06c"
MALFORMED = "The request could not be understood by the server due to malformed syntax."
NOT_FOUND = "The server cannot find the requested resource."
DENIED = {"error": {"code": "Denied", "message": "Denied by the resource provider."}}
NOW = datetime.now(UTC)

MakeHttp = Callable[[EmulatorServer], SignedHttp]


def user(n: int) -> str:
    return f"8:acs:{RESOURCE}_00000010-ce28-064a-83fe-{n:012d}"


def room_path(room_id: str, suffix: str = "") -> str:
    return f"/rooms/{room_id}{suffix}?{API}"


def at(delta: timedelta) -> str:
    return (NOW + delta).isoformat()


def repeatable(request_id: str | None = None) -> dict[str, str]:
    return {
        "Repeatability-Request-ID": request_id or str(uuid.uuid4()),
        "Repeatability-First-Sent": format_datetime(datetime.now(UTC), usegmt=True),
    }


async def create_room(http: SignedHttp, body: dict[str, Any] | None = None) -> dict[str, Any]:
    reply = await http.request("POST", ROOMS, body or {}, headers=repeatable())
    assert reply.status == 201, reply.body
    room: dict[str, Any] = reply.json()
    return room


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


# --- rooms ----------------------------------------------------------------------------------


async def test_create_defaults_to_now_for_180_days(signed_http: SignedHttp) -> None:
    """A bare create opens now, closes 180 days later, and answers in the service's form."""
    reply = await signed_http.request("POST", ROOMS, {}, headers=repeatable())

    assert reply.status == 201
    assert reply.headers["Repeatability-Result"] == "accepted"
    assert reply.headers["Content-Type"] == "application/json; charset=utf-8"
    room = reply.json()
    assert set(room) == {"id", "createdAt", "validFrom", "validUntil", "pstnDialOutEnabled"}
    assert re.fullmatch(r"[0-9]{17}", room["id"])
    assert reply.headers["Location"] == room["id"]
    assert all(room[key].endswith("+00:00") for key in ("createdAt", "validFrom", "validUntil"))
    valid_from = parse_time(room["validFrom"])
    assert abs(valid_from - datetime.now(UTC)) < timedelta(minutes=1)
    assert parse_time(room["validUntil"]) - valid_from == timedelta(days=180)
    assert room["pstnDialOutEnabled"] is False


async def test_create_keeps_window_participants_and_pstn(signed_http: SignedHttp) -> None:
    """Given values come back normalised to UTC `+00:00`; participants are listed in order."""
    body = {
        "validFrom": (NOW + timedelta(days=1)).astimezone(UTC).isoformat(),
        "validUntil": None,  # null means "default", as the official SDK sends it
        "pstnDialOutEnabled": True,
        "participants": {
            user(1): {"role": "Presenter"},
            user(2): {"role": "Attendee"},
            user(3): None,  # null on create adds no one
        },
    }
    room = await create_room(signed_http, body)

    assert room["validFrom"] == body["validFrom"]
    assert room["pstnDialOutEnabled"] is True
    listed = await signed_http.request("GET", room_path(room["id"], "/participants"))
    assert listed.status == 200
    assert listed.json() == {
        "value": [
            {"rawId": user(1), "role": "Presenter"},
            {"rawId": user(2), "role": "Attendee"},
        ]
    }
    fetched = await signed_http.request("GET", room_path(room["id"]))
    assert fetched.json() == room


async def test_update_is_a_merge_patch(signed_http: SignedHttp) -> None:
    """Only the properties given change; nulls (the SDK's "not given") change nothing."""
    room = await create_room(signed_http)
    reply = await signed_http.request(
        "PATCH",
        room_path(room["id"]),
        {"validFrom": None, "validUntil": at(timedelta(days=3)), "pstnDialOutEnabled": None},
        content_type=MERGE_PATCH,
    )

    assert reply.status == 200
    updated = reply.json()
    assert updated["validFrom"] == room["validFrom"]
    assert updated["validUntil"] == (NOW + timedelta(days=3)).isoformat()
    assert updated["pstnDialOutEnabled"] is False
    reply = await signed_http.request(
        "PATCH", room_path(room["id"]), {"pstnDialOutEnabled": True}, content_type=MERGE_PATCH
    )
    assert reply.json() == {**updated, "pstnDialOutEnabled": True}


async def test_delete_then_404_and_a_second_delete_still_204(signed_http: SignedHttp) -> None:
    """A deleted room is gone for reads and writes; deleting it again is 204, as recorded."""
    room = await create_room(signed_http)
    path = room_path(room["id"])

    assert (await signed_http.request("DELETE", path)).status == 204
    for method, body, content_type in [
        ("GET", None, None),
        ("PATCH", {"pstnDialOutEnabled": True}, MERGE_PATCH),
    ]:
        reply = await signed_http.request(method, path, body, content_type=content_type)
        assert reply.status == 404
        assert reply.error == {"code": "NotFound", "message": NOT_FOUND}
        assert reply.headers["x-ms-error-code"] == "NotFound"
    assert (await signed_http.request("GET", room_path(room["id"], "/participants"))).status == 404
    assert (await signed_http.request("DELETE", path)).status == 204
    assert (await signed_http.request("DELETE", room_path("99000000000000001"))).status == 404


async def test_participants_patch_is_a_merge_patch(
    signed_http: SignedHttp, emulator: EmulatorServer
) -> None:
    """null removes, unlisted stay, a role changes in place, removing an absent one is fine."""
    room = await create_room(
        signed_http,
        {"participants": {user(1): {"role": "Presenter"}, user(2): {"role": "Attendee"}}},
    )
    reply = await signed_http.request(
        "PATCH",
        room_path(room["id"], "/participants"),
        {
            "participants": {
                user(1): {"role": "Consumer"},
                user(2): None,
                user(3): {"role": "Collaborator"},
                user(9): None,  # never a participant: still 200
                "4:+14255550123": {"role": "Attendee"},
            }
        },
        content_type=MERGE_PATCH,
    )

    assert (reply.status, reply.json()) == (200, {})
    listed = await signed_http.request("GET", room_path(room["id"], "/participants"))
    assert listed.json()["value"] == [
        {"rawId": user(1), "role": "Consumer"},
        {"rawId": user(3), "role": "Collaborator"},
        {"rawId": "4:+14255550123", "role": "Attendee"},
    ]
    assert emulator.state.rooms[room["id"]].participants[user(3)] == "Collaborator"


# --- validation -----------------------------------------------------------------------------

ROOM = "{room}"  # replaced by a freshly created room's id


def detail(target: str, message: str) -> list[dict[str, str]]:
    return [{"code": "BadArgument", "message": message, "target": target}]


RANGE = "The time range is incorrect, or larger than 180 days."


@pytest.mark.parametrize(
    ("method", "path", "body", "content_type", "status", "error"),
    [
        # a window longer than 180 days
        (
            "POST",
            ROOMS,
            {"validFrom": at(timedelta(hours=1)), "validUntil": at(timedelta(days=181))},
            None,
            400,
            {"code": "BadRequest", "message": MALFORMED, "details": detail("ValidUntil", RANGE)},
        ),
        # an end in the past
        (
            "POST",
            ROOMS,
            {"validUntil": at(-timedelta(hours=2))},
            None,
            400,
            {
                "code": "BadRequest",
                "message": MALFORMED,
                "details": detail("ValidUntil", "The time range end is in the past."),
            },
        ),
        # a start more than 180 days ahead (the end defaults to start + 180 days)
        (
            "POST",
            ROOMS,
            {"validFrom": at(timedelta(days=181))},
            None,
            400,
            {
                "code": "BadRequest",
                "message": MALFORMED,
                "details": detail(
                    "ValidFrom", "Value is incorrect or more than 180 days in the future."
                ),
            },
        ),
        # an end before the start
        (
            "POST",
            ROOMS,
            {"validFrom": at(timedelta(days=2)), "validUntil": at(timedelta(days=1))},
            None,
            400,
            {"code": "BadRequest", "message": MALFORMED, "details": detail("ValidUntil", RANGE)},
        ),
        # not a raw id at all
        (
            "POST",
            ROOMS,
            {"participants": {"wrong_mri": {"role": "Attendee"}}},
            None,
            400,
            {"code": "BadRequest", "message": "Invalid format for communication identifier."},
        ),
        # an 8:acs: id whose resource part is not a GUID
        (
            "POST",
            ROOMS,
            {"participants": {"8:acs:123456c_0001": {"role": "Attendee"}}},
            None,
            400,
            {"code": "BadRequest", "message": "Invalid format for communication identifier."},
        ),
        # a role the service does not know
        (
            "POST",
            ROOMS,
            {"participants": {user(1): {"role": "kafka"}}},
            None,
            400,
            {
                "code": "BadRequest",
                "message": MALFORMED,
                "details": detail(
                    f"$.participants.{user(1)}.role",
                    f"The JSON value could not be converted to Role. "
                    f"Path: $.participants.{user(1)}.role.",
                ),
            },
        ),
        # malformed JSON
        ("POST", ROOMS, b'{"validFrom": ', None, 400, {"code": "BadRequest", "message": MALFORMED}),
        # the api-version is required
        (
            "POST",
            "/rooms",
            {},
            None,
            400,
            {
                "code": "MissingApiVersionParameter",
                "message": "The api-version query parameter (?api-version=) is required for "
                "all requests.",
            },
        ),
        # and must be the one implemented
        (
            "GET",
            "/rooms?api-version=2023-06-14",
            None,
            None,
            400,
            {
                "code": "UnsupportedApiVersion",
                "message": "The HTTP resource that matches the request URI does not support the "
                "API version '2023-06-14'.",
            },
        ),
        # room ids of the wrong length
        (
            "GET",
            room_path("123"),
            None,
            None,
            400,
            {"code": "BadRequest", "message": "Invalid room ID length."},
        ),
        (
            "PATCH",
            room_path("invalid_id"),
            {"pstnDialOutEnabled": True},
            MERGE_PATCH,
            400,
            {"code": "BadRequest", "message": "Invalid room ID length."},
        ),
        # the right length but not a number
        (
            "DELETE",
            room_path("f-123456789012345"),
            None,
            None,
            400,
            {"code": "BadRequest", "message": "Room ID is invalid."},
        ),
        # a well-formed id that was never handed out
        (
            "GET",
            room_path("99000000000000001"),
            None,
            None,
            404,
            {"code": "NotFound", "message": NOT_FOUND},
        ),
        # a bad raw id on the participants PATCH, even in a removal
        (
            "PATCH",
            room_path(ROOM, "/participants"),
            {"participants": {user(1): {"role": "Attendee"}, "wrong_mri": None}},
            MERGE_PATCH,
            400,
            {"code": "BadRequest", "message": "Invalid value for the Participants."},
        ),
        # an unknown role on the participants PATCH
        (
            "PATCH",
            room_path(ROOM, "/participants"),
            {"participants": {user(1): {"role": "Boss"}}},
            MERGE_PATCH,
            400,
            {
                "code": "BadRequest",
                "message": MALFORMED,
                "details": detail(
                    f"$.participants.{user(1)}.role",
                    f"The JSON value could not be converted to Role. "
                    f"Path: $.participants.{user(1)}.role.",
                ),
            },
        ),
        # a PATCH must say it is a merge patch
        (
            "PATCH",
            room_path(ROOM),
            {"pstnDialOutEnabled": True},
            "application/json",
            415,
            {
                "code": "UnsupportedMediaType",
                "message": "The content type 'application/json' is not supported; use "
                "'application/merge-patch+json'.",
            },
        ),
        # an update is checked like a create
        (
            "PATCH",
            room_path(ROOM),
            {"validUntil": at(timedelta(days=200))},
            MERGE_PATCH,
            400,
            {"code": "BadRequest", "message": MALFORMED, "details": detail("ValidUntil", RANGE)},
        ),
        # a token lifetime outside [60, 1440] minutes
        (
            "POST",
            IDENTITIES,
            {"createTokenWithScopes": ["chat"], "expiresInMinutes": 59},
            None,
            400,
            {
                "code": "ValidationError",
                "message": "ExpiresInMinutes value 59 is invalid. Value must be within the "
                "[60, 1440] interval.",
                "target": "ExpiresInMinutes",
            },
        ),
        # a scope the service does not know
        (
            "POST",
            IDENTITIES,
            {"createTokenWithScopes": ["admin"]},
            None,
            400,
            {
                "code": "ValidationError",
                "message": "CreateTokenWithScopes must be a list of: chat, chat.join, "
                "chat.join.limited, voip, voip.join.",
                "target": "CreateTokenWithScopes",
            },
        ),
        # a path nobody serves (after the signature check)
        ("GET", f"/meetings?{API}", None, None, 404, {"code": "NotFound", "message": NOT_FOUND}),
    ],
)
async def test_validation_errors_have_the_service_shape(
    signed_http: SignedHttp,
    method: str,
    path: str,
    body: dict[str, Any] | bytes | None,
    content_type: str | None,
    status: int,
    error: dict[str, Any],
) -> None:
    """Each refusal carries the recorded code, message, target and details."""
    if ROOM in path:
        path = path.replace(ROOM, (await create_room(signed_http))["id"])
    raw = body if isinstance(body, bytes) else None
    reply = await signed_http.request(
        method, path, None if raw else body, body=raw, content_type=content_type
    )

    assert reply.status == status
    assert reply.headers["x-ms-error-code"] == error["code"]
    got = reply.error
    if raw is not None:  # the JSON parser's own words are not ours to pin
        assert got["details"][0]["target"] == "$"
        got = {key: got[key] for key in ("code", "message")}
    assert got == error


# --- paging ---------------------------------------------------------------------------------


async def test_rooms_are_listed_newest_first_across_pages(make_signed_http: MakeHttp) -> None:
    """Small pages, linked by absolute nextLinks that keep api-version; deleted rooms skipped."""
    async with EmulatorServer(page_size=3) as emulator:
        http = make_signed_http(emulator)
        created = [(await create_room(http))["id"] for _ in range(8)]
        await http.request("DELETE", room_path(created[4]))
        expected = [room_id for room_id in reversed(created) if room_id != created[4]]

        seen: list[str] = []
        link: str | None = ROOMS
        pages = 0
        while link is not None:
            reply = await http.request("GET", link)
            assert reply.status == 200, reply.body
            page = reply.json()
            seen += [room["id"] for room in page["value"]]
            link = page.get("nextLink")
            pages += 1
            if link is not None:
                parts = urlsplit(link)
                assert f"{parts.scheme}://{parts.netloc}/" == emulator.endpoint
                assert parse_qs(parts.query)["api-version"] == ["2025-03-13"]

    assert seen == expected
    assert pages == 3


async def test_a_next_link_is_checked(make_signed_http: MakeHttp) -> None:
    """Without api-version it is refused; a token that was not ours is a 400, not a crash."""
    async with EmulatorServer(page_size=1) as emulator:
        http = make_signed_http(emulator)
        for _ in range(2):
            await create_room(http)
        link = (await http.request("GET", ROOMS)).json()["nextLink"]
        token = parse_qs(urlsplit(link).query)["nextLink"][0]

        missing = await http.request("GET", f"/rooms?nextLink={token}")
        forged = await http.request("GET", f"/rooms?nextLink=bm90LWEtdG9rZW4&{API}")

    assert missing.error["code"] == "MissingApiVersionParameter"
    assert forged.status == 400
    assert forged.error["details"][0]["target"] == "nextLink"


async def test_participants_are_paged(make_signed_http: MakeHttp) -> None:
    """The participants list follows the same nextLink convention."""
    async with EmulatorServer(page_size=2) as emulator:
        http = make_signed_http(emulator)
        members = {user(n): {"role": "Attendee"} for n in range(5)}
        room = await create_room(http, {"participants": members})
        seen: list[str] = []
        link: str | None = room_path(room["id"], "/participants")
        while link is not None:
            page = (await http.request("GET", link)).json()
            seen += [participant["rawId"] for participant in page["value"]]
            link = page.get("nextLink")

    assert seen == list(members)


# --- repeatability --------------------------------------------------------------------------


async def test_a_replayed_request_id_returns_the_first_room(
    signed_http: SignedHttp, emulator: EmulatorServer
) -> None:
    """Same id, even with another body: the first answer again, and no second room."""
    headers = repeatable()
    first = await signed_http.request("POST", ROOMS, {}, headers=headers)
    again = await signed_http.request("POST", ROOMS, {"pstnDialOutEnabled": True}, headers=headers)

    assert (first.status, again.status) == (201, 201)
    assert again.headers["Repeatability-Result"] == "accepted"
    assert again.json() == first.json()
    assert (emulator.state.rooms_created, emulator.state.replays) == (1, 1)


async def test_concurrent_identical_creates_make_one_room(
    signed_http: SignedHttp, emulator: EmulatorServer
) -> None:
    """Twenty-five copies in flight at once still make exactly one room."""
    headers = repeatable()
    replies = await asyncio.gather(
        *(signed_http.request("POST", ROOMS, {}, headers=headers) for _ in range(25))
    )

    assert {reply.status for reply in replies} == {201}
    assert len({reply.json()["id"] for reply in replies}) == 1
    assert emulator.state.rooms_created == 1


@pytest.mark.parametrize(
    "headers",
    [
        # an id without First-Sent
        {"Repeatability-Request-ID": "0f6f6a8e-3d6b-4bd3-9a39-4b7b8f1ad7a1"},
        # a First-Sent that is not an HTTP date
        {
            "Repeatability-Request-ID": "0f6f6a8e-3d6b-4bd3-9a39-4b7b8f1ad7a1",
            "Repeatability-First-Sent": "yesterday",
        },
    ],
)
async def test_a_request_id_needs_a_first_sent_date(
    signed_http: SignedHttp, emulator: EmulatorServer, headers: dict[str, str]
) -> None:
    reply = await signed_http.request("POST", ROOMS, {}, headers=headers)

    assert reply.status == 400
    assert reply.error["details"][0]["target"] == "Repeatability-First-Sent"
    assert emulator.state.rooms_created == 0


async def test_without_a_request_id_every_create_is_a_new_room(
    signed_http: SignedHttp, emulator: EmulatorServer
) -> None:
    replies = [await signed_http.request("POST", ROOMS, {}) for _ in range(2)]

    assert [reply.status for reply in replies] == [201, 201]
    assert all("Repeatability-Result" not in reply.headers for reply in replies)
    assert emulator.state.rooms_created == 2


# --- authentication -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "tamper",
    [
        # signed with another key
        {"key": AccessKey(b"not-the-emulator-key-0123456789ab")},
        # a body other than the one signed (the content hash no longer matches)
        {"headers": {"x-ms-content-sha256": "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="}},
        # signed 16 minutes ago, outside the 15-minute window
        {"skew": -timedelta(minutes=16)},
        # signed 16 minutes in the future (the clock is read when the test runs, not when it is
        # collected: a suite slower than a minute put a collection-time "+16 min" inside the window)
        {"skew": timedelta(minutes=16)},
        # no Authorization header at all
        {"headers": {"Authorization": ""}},
        # the Host signed is not the Host sent
        {"headers": {"Host": "contoso.communication.azure.com"}},
    ],
)
async def test_requests_not_signed_right_are_denied(
    signed_http: SignedHttp, emulator: EmulatorServer, tamper: dict[str, Any]
) -> None:
    tamper = dict(tamper)
    if "skew" in tamper:
        tamper["date"] = datetime.now(UTC) + tamper.pop("skew")
    reply = await signed_http.request("POST", ROOMS, {}, **tamper)

    assert reply.status == 401
    assert reply.json() == DENIED
    assert emulator.state.rooms_created == 0


async def test_the_signature_is_checked_before_anything_else(signed_http: SignedHttp) -> None:
    """A gateway answers 401 to an unsigned call even on a path nobody serves."""
    async with signed_http.session.get(f"{signed_http.endpoint}nowhere") as response:
        assert response.status == 401
        assert await response.json() == DENIED


async def test_paths_signed_encoded_or_decoded_are_both_accepted(
    signed_http: SignedHttp,
) -> None:
    """The SDKs differ on whether `:` in an identity id is signed as `%3A`; both pass."""
    created = await signed_http.request("POST", IDENTITIES)
    identity = created.json()["identity"]["id"]
    body = {"scopes": ["voip"]}
    encoded = f"/identities/{quote(identity, safe='')}/:issueAccessToken?api-version=2023-10-01"
    decoded = f"/identities/{identity}/:issueAccessToken?api-version=2023-10-01"

    for path in (encoded, decoded):
        reply = await signed_http.request("POST", path, body)
        assert reply.status == 200, (path, reply.body)


# --- identity -------------------------------------------------------------------------------


def jwt_payload(token: str) -> dict[str, Any]:
    header, payload, signature = token.split(".")
    assert header
    assert signature
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * 4))
    return claims


async def test_identity_lifecycle(signed_http: SignedHttp, emulator: EmulatorServer) -> None:
    """Create (with and without a token), issue, revoke, delete; then the identity is gone."""
    bare = await signed_http.request("POST", IDENTITIES)
    assert bare.status == 201
    assert set(bare.json()) == {"identity"}
    identity = bare.json()["identity"]["id"]
    assert re.fullmatch(rf"8:acs:{emulator.state.resource_id}_[0-9a-f-]{{36}}", identity)

    with_token = await signed_http.request(
        "POST", IDENTITIES, {"createTokenWithScopes": ["chat", "voip"], "expiresInMinutes": 60}
    )
    assert with_token.status == 201
    access = with_token.json()["accessToken"]
    expires_on = parse_time(access["expiresOn"])
    assert jwt_payload(access["token"])["exp"] == int(expires_on.timestamp())
    assert timedelta(minutes=59) < expires_on - datetime.now(UTC) <= timedelta(minutes=60)

    base = f"/identities/{quote(identity, safe='')}"
    issued = await signed_http.request(
        "POST", f"{base}/:issueAccessToken?api-version=2023-10-01", {"scopes": ["voip"]}
    )
    assert issued.status == 200
    assert set(issued.json()) == {"token", "expiresOn"}
    assert jwt_payload(issued.json()["token"])["exp"] == int(
        parse_time(issued.json()["expiresOn"]).timestamp()
    )
    revoke = f"{base}/:revokeAccessTokens?api-version=2023-10-01"
    assert (await signed_http.request("POST", revoke)).status == 204
    assert emulator.state.identities[identity].tokens_revoked_at is not None
    delete = f"{base}?api-version=2023-10-01"
    assert (await signed_http.request("DELETE", delete)).status == 204

    after = await signed_http.request(
        "POST", f"{base}/:issueAccessToken?api-version=2023-10-01", {"scopes": ["voip"]}
    )
    assert after.status == 404
    assert after.error["code"] == "IdentityNotFound"
    no_scopes = await signed_http.request(
        "POST", f"/identities/{identity}/:issueAccessToken?api-version=2023-10-01", {}
    )
    assert no_scopes.status == 404  # the identity is checked before the body


async def test_a_token_needs_scopes(signed_http: SignedHttp) -> None:
    identity = (await signed_http.request("POST", IDENTITIES)).json()["identity"]["id"]
    reply = await signed_http.request(
        "POST",
        f"/identities/{identity}/:issueAccessToken?api-version=2023-10-01",
        {"scopes": None, "expiresInMinutes": None},
    )

    assert reply.status == 400
    assert reply.error == {
        "code": "ValidationError",
        "message": "Scopes: The Scopes field is required.",
        "target": "Scopes",
    }


# --- faults ---------------------------------------------------------------------------------


async def outcomes(http: SignedHttp, count: int) -> list[str]:
    """What each of *count* GETs met: a status, or "drop" for a connection cut."""
    seen = []
    for _ in range(count):
        try:
            reply = await http.request("GET", ROOMS)
        except aiohttp.ServerDisconnectedError:
            seen.append("drop")
            continue
        if reply.status in (429, 503):
            assert reply.headers["Retry-After"] in ("0", "1")
        if reply.status >= 500 or reply.status == 429:
            assert reply.error["code"] in (
                "InternalServerError",
                "ServiceUnavailable",
                "TooManyRequests",
            )
        seen.append(str(reply.status))
    return seen


async def test_faults_follow_the_seed(make_signed_http: MakeHttp) -> None:
    """The same seed gives the same storm; all four kinds of fault occur."""
    runs = []
    for _ in range(2):
        async with EmulatorServer(fault_rate=0.5, seed=1234) as emulator:
            runs.append(await outcomes(make_signed_http(emulator), 120))

    assert runs[0] == runs[1]
    kinds = Counter(runs[0])
    assert set(kinds) == {"200", "500", "503", "429", "drop"}
    assert 40 <= 120 - kinds["200"] <= 80


async def test_a_faulted_create_never_makes_a_second_room(make_signed_http: MakeHttp) -> None:
    """Retrying with the same request id through a 50 % storm: one room per id, always.

    Dropped connections come before the work or after it (the answer lost); either way the
    retry finds at most the one room the first attempt made.
    """
    async with EmulatorServer(fault_rate=0.5, seed=99) as emulator:
        http = make_signed_http(emulator)
        rooms: dict[str, str] = {}
        for _ in range(30):
            headers = repeatable()
            for _attempt in range(60):
                try:
                    reply = await http.request("POST", ROOMS, {}, headers=headers)
                except aiohttp.ServerDisconnectedError:
                    continue
                if reply.status == 201:
                    rooms[headers["Repeatability-Request-ID"]] = reply.json()["id"]
                    break
            else:
                pytest.fail("a create never got through")
        state = emulator.state

    assert len(set(rooms.values())) == 30
    assert state.rooms_created == 30
    assert {rid: replay.room_id for rid, replay in state.repeatability.items()} == rooms
    assert state.faults["drop_after"] > 0
    assert state.replays > 0


async def test_faults_and_latency_change_while_serving(
    signed_http: SignedHttp, emulator: EmulatorServer
) -> None:
    """ "ACS is down": every request fails until the faults are turned off again."""
    emulator.set_faults(fault_rate=1.0)
    down = await outcomes(signed_http, 10)
    emulator.set_faults(fault_rate=0.0, latency_ms=80)
    started = time.monotonic()
    up = await signed_http.request("GET", ROOMS)
    elapsed = time.monotonic() - started

    assert "200" not in down
    assert up.status == 200
    assert elapsed >= 0.08
    with pytest.raises(ValueError, match="fault_rate"):
        emulator.set_faults(fault_rate=1.5)


# --- logging and persistence ----------------------------------------------------------------


async def test_logs_never_hold_the_key_or_a_signature(
    signed_http: SignedHttp, emulator: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot.local.emulator")
    good = await signed_http.request("POST", ROOMS, {}, headers=repeatable())
    bad = await signed_http.request("POST", ROOMS, {}, key=AccessKey(b"x" * 32))

    assert (good.status, bad.status) == (201, 401)
    assert "401" in caplog.text
    assert emulator.access_key not in caplog.text
    assert "Signature=" not in caplog.text
    assert emulator.access_key not in repr(emulator)


async def test_a_state_file_survives_a_restart(make_signed_http: MakeHttp, tmp_path: Path) -> None:
    """Rooms (with participants), identities and replays come back; the key is not stored."""
    state_file = tmp_path / "var" / "acs.json"  # a missing folder is made
    key = base64.b64encode(b"k" * 32).decode()
    headers = repeatable()
    async with EmulatorServer(access_key=key, state_file=state_file) as emulator:
        http = make_signed_http(emulator)
        first = await http.request(
            "POST", ROOMS, {"participants": {user(1): {"role": "Presenter"}}}, headers=headers
        )
        gone = await create_room(http)
        await http.request("DELETE", room_path(gone["id"]))
        identity = (await http.request("POST", IDENTITIES)).json()["identity"]["id"]
    assert key not in state_file.read_text()

    async with EmulatorServer(access_key=key, state_file=state_file) as emulator:
        http = make_signed_http(emulator)
        room = await http.request("GET", room_path(first.json()["id"]))
        members = await http.request("GET", room_path(first.json()["id"], "/participants"))
        replay = await http.request("POST", ROOMS, {}, headers=headers)
        deleted = await http.request("GET", room_path(gone["id"]))
        token = await http.request(
            "POST",
            f"/identities/{identity}/:issueAccessToken?api-version=2023-10-01",
            {"scopes": ["chat"]},
        )
        assert emulator.state.rooms_created == 0

    assert room.json() == first.json()
    assert members.json()["value"] == [{"rawId": user(1), "role": "Presenter"}]
    assert replay.json() == first.json()
    assert deleted.status == 404
    assert token.status == 200


async def test_the_state_file_is_written_while_serving(
    make_signed_http: MakeHttp, tmp_path: Path
) -> None:
    """A crash loses at most the last half second: changes are written without a stop."""
    state_file = tmp_path / "acs.json"
    async with EmulatorServer(state_file=state_file) as emulator:
        room = await create_room(make_signed_http(emulator))
        deadline = time.monotonic() + 10
        while room["id"] not in (state_file.read_text() if state_file.exists() else ""):
            assert time.monotonic() < deadline, "the state file was never written"
            await asyncio.sleep(0.05)


async def test_a_corrupt_state_file_stops_the_start(tmp_path: Path) -> None:
    state_file = tmp_path / "acs.json"
    state_file.write_text('{"format": 1, "rooms": "nope"}')

    with pytest.raises(ValueError, match="not an emulator state snapshot"):
        async with EmulatorServer(state_file=state_file):
            pass


async def test_an_empty_emulator_lists_nothing(signed_http: SignedHttp) -> None:
    reply: Reply = await signed_http.request("GET", ROOMS)

    assert reply.json() == {"value": []}  # no nextLink on the last page
