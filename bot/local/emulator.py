"""A local Azure Communication Services: the Rooms (2025-03-13) and Identity (2023-10-01) APIs.

The bot, our client and the official SDKs are tested against this instead of the cloud, so it
answers the way the service does rather than the way we wish it did: every request must be
HMAC-signed (`bot.acs.auth.verify`) or carry a bearer token from the local Microsoft Entra
stand-in (`bot.local.entra`), validation failures carry the error bodies recorded from
the real service, room ids are 17 digits, pages are linked by an opaque `nextLink`, and a
replayed `Repeatability-Request-ID` returns the first answer instead of a second room.

    EmulatorOptions --> EmulatorState --> build_app() --> web.Application
                       (rooms, identities,                 served by EmulatorServer on
                        counters, fault knobs)             loopback (optionally TLS)

Faults are injected before a request is handled (500, 503 or 429 with `Retry-After`, or a
connection dropped without an answer) or after it (the connection dropped once the work is
done, the answer lost), drawn from a seeded generator so a test can replay the same storm.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import logging
import os
import random
import re
import secrets
import ssl
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Final, Literal, TypeAlias, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from bot.acs.auth import AccessKey, SignatureError, verify
from bot.acs.models import (
    IDENTITY_API_VERSION,
    ROOMS_API_VERSION,
    CommunicationError,
    CommunicationErrorResponse,
    CommunicationIdentity,
    CommunicationIdentityAccessToken,
    CommunicationIdentityAccessTokenResult,
    CreateRoomRequest,
    ParticipantProperties,
    ParticipantsCollection,
    RoomModel,
    RoomParticipant,
    RoomsCollection,
    UpdateParticipantsRequest,
    UpdateRoomRequest,
    format_time,
)
from bot.domain import Role
from bot.local import emulator_events
from bot.local.entra import LocalEntraCredential, TokenRefused, random_secret, verify_token

log = logging.getLogger(__name__)

MAX_ROOM_LIFETIME: Final = timedelta(days=180)
DEFAULT_PAGE_SIZE: Final = 50
DEFAULT_TOKEN_MINUTES: Final = 1440
STATE_FORMAT: Final = 1

_JSON = "application/json"
_MERGE_PATCH = "application/merge-patch+json"
_JSON_UTF8 = "application/json; charset=utf-8"
_MALFORMED = "The request could not be understood by the server due to malformed syntax."
_NOT_FOUND = "The server cannot find the requested resource."

# Raw ids (https://learn.microsoft.com/azure/communication-services/concepts/identifiers).
# Communication users are checked strictly: the resource's GUID, `_`, then the user part.
_GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_RAW_ID = re.compile(
    rf"8:(?:acs|spool|gcch-acs|dod-acs):{_GUID}_[^\s]+"  # communication users
    r"|4:\+?[1-9][0-9]{1,14}"  # phone numbers, E.164
    rf"|8:(?:orgid|gcch|dod|gcch-global|dod-global):{_GUID}"  # Microsoft Teams users
    r"|8:teamsvisitor:[^\s]+"  # anonymous Teams users
    rf"|28:(?:orgid:|gcch:|dod:|gcch-global:|dod-global:)?{_GUID}"  # Teams apps and bots
)
_ROOM_ID_LENGTHS = range(16, 19)  # the service hands out 16-18 digits; we make 17
_TOKEN_SCOPES = frozenset({"chat", "voip", "chat.join", "chat.join.limited", "voip.join"})

FaultKind: TypeAlias = Literal["500", "503", "429", "drop", "drop_after"]
_FAULT_STATUSES: Final[tuple[FaultKind, ...]] = ("500", "503", "429", "drop")
_FAULT_BODIES: Final[dict[str, tuple[int, str, str]]] = {
    "500": (500, "InternalServerError", "The server encountered an internal error."),
    "503": (503, "ServiceUnavailable", "The service is temporarily unavailable."),
    "429": (429, "TooManyRequests", "Too many requests; retry after Retry-After seconds."),
}

_M = TypeVar("_M", bound=BaseModel)


# --- errors ---------------------------------------------------------------------------------


class ServiceError(Exception):
    """An error answer in the service's CommunicationErrorResponse shape.

    Handlers raise it; the gateway middleware turns it into the response, with the code also
    in `x-ms-error-code` as the service sends it.
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        target: str | None = None,
        details: list[CommunicationError] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.error = CommunicationError(
            code=code, message=message, target=target, details=details or None
        )
        self.headers = dict(headers or {})

    def response(self) -> web.Response:
        body = CommunicationErrorResponse(error=self.error).model_dump_json(
            by_alias=True, exclude_none=True
        )
        return _error_response(self.status, self.error.code, body.encode(), self.headers)


def _error_response(
    status: int, code: str, body: bytes, headers: Mapping[str, str] | None = None
) -> web.Response:
    return web.Response(
        status=status,
        body=body,
        headers={"Content-Type": _JSON_UTF8, "x-ms-error-code": code, **(headers or {})},
    )


def _bad_argument(target: str, message: str) -> ServiceError:
    return ServiceError(
        400,
        "BadRequest",
        _MALFORMED,
        details=[CommunicationError(code="BadArgument", message=message, target=target)],
    )


def _not_found() -> ServiceError:
    return ServiceError(404, "NotFound", _NOT_FOUND)


_DENIED_BODY: Final = b'{"error":{"code":"Denied","message":"Denied by the resource provider."}}'


# --- state ----------------------------------------------------------------------------------


@dataclass(eq=False)
class Room:
    """One room as the service keeps it; deleted rooms stay, flagged, so they answer 404."""

    id: str
    created_at: datetime
    valid_from: datetime
    valid_until: datetime
    pstn_dial_out_enabled: bool = False
    participants: dict[str, Role] = field(default_factory=dict)
    deleted: bool = False

    def to_model(self) -> RoomModel:
        # The fields are already valid; skipping validation saves a third of an answer's cost.
        return RoomModel.model_construct(
            id=self.id,
            created_at=self.created_at,
            valid_from=self.valid_from,
            valid_until=self.valid_until,
            pstn_dial_out_enabled=self.pstn_dial_out_enabled,
        )


@dataclass(eq=False)
class Identity:
    """A communication user; tokens are not stored, only when they were last revoked."""

    id: str
    created_at: datetime
    deleted: bool = False
    tokens_issued: int = 0
    tokens_revoked_at: datetime | None = None


@dataclass(frozen=True)
class Replay:
    """What a Repeatability-Request-ID was first answered with, to answer a replay the same."""

    room_id: str
    body: bytes = field(repr=False)


@dataclass(frozen=True)
class EmulatorOptions:
    """How an emulator starts: the key it checks signatures with, page size and faults.

    *access_key* is base64 (as in a connection string); None picks a random 32-byte key.
    *entra_secret* signs the bearer tokens it accepts (`bot.local.entra`); None picks one.
    *token_clock* (epoch seconds) is what token expiry is checked against.
    *seed* makes fault draws and generated ids reproducible.
    """

    access_key: str | None = field(default=None, repr=False)
    entra_secret: str | None = field(default=None, repr=False)
    token_clock: Callable[[], float] = time.time
    page_size: int = DEFAULT_PAGE_SIZE
    latency_ms: float = 0.0
    fault_rate: float = 0.0
    seed: int | None = None
    events_url: str | None = field(default=None, repr=False)  # may carry the webhook's secret
    events_twice: bool = False
    events_schema: str = emulator_events.EVENT_GRID  # or CLOUD_EVENTS: how events are sent
    join_on_token: float | None = None  # a VoIP token joins its person's open rooms' calls

    def __post_init__(self) -> None:
        if self.page_size < 1:
            raise ValueError("page_size must be at least 1")
        _check_faults(self.fault_rate, self.latency_ms)


def _check_faults(fault_rate: float, latency_ms: float) -> None:
    if not 0.0 <= fault_rate <= 1.0:
        raise ValueError("fault_rate must be between 0 and 1")
    if latency_ms < 0:
        raise ValueError("latency_ms must not be negative")


def random_access_key() -> str:
    """A fresh random key in the connection string's base64 form."""
    return base64.b64encode(secrets.token_bytes(32)).decode("ascii")


class EmulatorState:
    """Everything the emulator knows: rooms, identities, replays, counters and fault knobs.

    Only the event loop that serves the app touches it. Each handler checks and mutates it
    without awaiting in between, which is what makes concurrent identical creates safe.
    """

    def __init__(self, options: EmulatorOptions | None = None) -> None:
        options = options or EmulatorOptions()
        self.options = options
        self.access_key: str = options.access_key or random_access_key()
        self.key = AccessKey.from_base64(self.access_key)
        self.entra_secret: str = options.entra_secret or random_secret()
        self.token_clock = options.token_clock
        self.page_size = options.page_size
        self.latency_ms = float(options.latency_ms)
        self.fault_rate = float(options.fault_rate)
        seed = options.seed
        self._fault_rng = random.Random(seed)
        self._id_rng = random.Random(None if seed is None else f"ids:{seed}")
        self.resource_id = str(uuid.UUID(int=self._id_rng.getrandbits(128), version=4))

        self.rooms: dict[str, Room] = {}
        self.room_order: list[str] = []  # creation order, append-only: what pages index into
        self.identities: dict[str, Identity] = {}
        self.repeatability: dict[str, Replay] = {}

        self.requests = 0
        self.create_requests = 0  # POST /rooms received, whatever became of them
        self.rooms_created = 0
        self.replays = 0
        self.denied = 0
        self.bearer_accepted = 0  # requests let in by a Microsoft Entra token, not a signature
        self.faults: Counter[str] = Counter()
        self.version = 0  # bumped on every change, so persistence knows when to write

    def __repr__(self) -> str:
        return (
            f"EmulatorState(rooms={len(self.rooms)}, identities={len(self.identities)}, "
            f"requests={self.requests})"
        )

    def set_faults(
        self, *, fault_rate: float | None = None, latency_ms: float | None = None
    ) -> None:
        """Change the fault rate and/or the added latency; applies to the next request."""
        _check_faults(
            self.fault_rate if fault_rate is None else fault_rate,
            self.latency_ms if latency_ms is None else latency_ms,
        )
        if fault_rate is not None:
            self.fault_rate = float(fault_rate)
        if latency_ms is not None:
            self.latency_ms = float(latency_ms)

    def draw_fault(self) -> FaultKind | None:
        if self.fault_rate <= 0.0 or self._fault_rng.random() >= self.fault_rate:
            return None
        kind = self._fault_rng.choice(_FAULT_STATUSES)
        if kind == "drop" and self._fault_rng.random() < 0.5:
            return "drop_after"
        return kind

    def retry_after(self) -> str:
        return str(self._fault_rng.randint(0, 1))

    # -- rooms --

    def new_room_id(self) -> str:
        while True:
            room_id = f"99{self._id_rng.randrange(10**15):015d}"
            if room_id not in self.rooms:
                return room_id

    def add_room(self, room: Room) -> None:
        self.rooms[room.id] = room
        self.room_order.append(room.id)
        self.rooms_created += 1
        self.version += 1

    def live_room(self, room_id: str) -> Room:
        room = self.rooms.get(room_id)
        if room is None or room.deleted:
            raise _not_found()
        return room

    # -- identities --

    def new_identity_id(self) -> str:
        user = uuid.UUID(int=self._id_rng.getrandbits(128), version=4)
        return f"8:acs:{self.resource_id}_{user}"

    # -- persistence --

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready snapshot; the key is configuration and is never written."""
        return {
            "format": STATE_FORMAT,
            "resourceId": self.resource_id,
            "rooms": [
                {
                    "id": room.id,
                    "createdAt": format_time(room.created_at),
                    "validFrom": format_time(room.valid_from),
                    "validUntil": format_time(room.valid_until),
                    "pstnDialOutEnabled": room.pstn_dial_out_enabled,
                    "participants": {raw: role.value for raw, role in room.participants.items()},
                    "deleted": room.deleted,
                }
                for room in (self.rooms[room_id] for room_id in self.room_order)
            ],
            "identities": [
                {
                    "id": identity.id,
                    "createdAt": format_time(identity.created_at),
                    "deleted": identity.deleted,
                    "tokensIssued": identity.tokens_issued,
                    "tokensRevokedAt": (
                        format_time(identity.tokens_revoked_at)
                        if identity.tokens_revoked_at
                        else None
                    ),
                }
                for identity in self.identities.values()
            ],
            "repeatability": {
                request_id: {"roomId": replay.room_id, "body": replay.body.decode()}
                for request_id, replay in self.repeatability.items()
            },
        }

    def load_json(self, data: Mapping[str, Any]) -> None:
        """Replace rooms, identities and replays with a snapshot from `to_json`.

        Raises ValueError when *data* is not such a snapshot.
        """
        try:
            if data.get("format") != STATE_FORMAT:
                raise ValueError(f"unknown state format {data.get('format')!r}")
            rooms = [
                Room(
                    id=str(item["id"]),
                    created_at=datetime.fromisoformat(item["createdAt"]),
                    valid_from=datetime.fromisoformat(item["validFrom"]),
                    valid_until=datetime.fromisoformat(item["validUntil"]),
                    pstn_dial_out_enabled=bool(item["pstnDialOutEnabled"]),
                    participants={raw: Role(role) for raw, role in item["participants"].items()},
                    deleted=bool(item["deleted"]),
                )
                for item in data["rooms"]
            ]
            identities = [
                Identity(
                    id=str(item["id"]),
                    created_at=datetime.fromisoformat(item["createdAt"]),
                    deleted=bool(item["deleted"]),
                    tokens_issued=int(item.get("tokensIssued", 0)),
                    tokens_revoked_at=(
                        datetime.fromisoformat(item["tokensRevokedAt"])
                        if item.get("tokensRevokedAt")
                        else None
                    ),
                )
                for item in data["identities"]
            ]
            replays = {
                str(request_id): Replay(str(item["roomId"]), str(item["body"]).encode())
                for request_id, item in data["repeatability"].items()
            }
            resource_id = str(data["resourceId"])
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not an emulator state snapshot ({exc!r})") from None
        self.resource_id = resource_id
        self.rooms = {room.id: room for room in rooms}
        self.room_order = [room.id for room in rooms]
        self.identities = {identity.id: identity for identity in identities}
        self.repeatability = replays
        self.version += 1


# --- the application ------------------------------------------------------------------------

STATE_KEY: Final = web.AppKey("acs_emulator_state", EmulatorState)

_Handler: TypeAlias = Callable[[web.Request], Awaitable[web.StreamResponse]]


def build_app(state_or_options: EmulatorState | EmulatorOptions | None = None) -> web.Application:
    """The emulator as an aiohttp application, to serve or to embed in another app.

    Pass an *EmulatorState* to keep a handle on rooms, counters and faults, or just
    *EmulatorOptions*; the state is also at `app[STATE_KEY]`.
    """
    state = (
        state_or_options
        if isinstance(state_or_options, EmulatorState)
        else EmulatorState(state_or_options)
    )
    app = web.Application(middlewares=[_gateway])
    app[STATE_KEY] = state
    router = app.router
    router.add_post("/rooms", _create_room)
    router.add_get("/rooms", _list_rooms, allow_head=False)
    router.add_get("/rooms/{room_id}", _get_room, allow_head=False)
    router.add_patch("/rooms/{room_id}", _update_room)
    router.add_delete("/rooms/{room_id}", _delete_room)
    router.add_get("/rooms/{room_id}/participants", _list_participants, allow_head=False)
    router.add_patch("/rooms/{room_id}/participants", _update_participants)
    router.add_post("/identities", _create_identity)
    router.add_delete("/identities/{identity_id}", _delete_identity)
    router.add_post("/identities/{identity_id}/:revokeAccessTokens", _revoke_tokens)
    router.add_post("/identities/{identity_id}/:issueAccessToken", _issue_token)
    events = emulator_events.CallEvents(
        state.options.events_url,
        twice=state.options.events_twice,
        schema=state.options.events_schema,
        join_on_token=state.options.join_on_token,
    )
    emulator_events.mount(app, events, lambda room, user: _call_refusal(state, room, user))
    return app


def _call_refusal(state: EmulatorState, room_id: str, raw_id: str) -> str | None:
    """Why *raw_id* may not join the room's call now (ACS's rules for a rooms call), or None."""
    room = state.rooms.get(room_id)
    if room is None or room.deleted:
        return f"room {room_id} does not exist"
    if raw_id not in room.participants:
        return f"{raw_id} is not a participant of room {room_id}"
    now = datetime.now(UTC)
    if not room.valid_from <= now < room.valid_until:
        return f"room {room_id} is open from {room.valid_from} to {room.valid_until}, not now"
    return None


@web.middleware
async def _gateway(request: web.Request, handler: _Handler) -> web.StreamResponse:
    """What the service's front door does before and after the operation itself.

    Order: added latency, an injected fault, the signature (401 before anything else the
    service could say), then the handler, whose ServiceError becomes the error body.
    """
    if request.path.startswith(emulator_events.ADMIN_PREFIX):
        return await handler(request)  # people joining calls, not a signed ACS request
    state = request.app[STATE_KEY]
    state.requests += 1
    if request.method == "POST" and request.path == "/rooms":
        state.create_requests += 1
    if state.latency_ms > 0:
        await asyncio.sleep(state.latency_ms / 1000)
    fault = state.draw_fault()
    if fault is not None:
        state.faults[fault] += 1
        if fault != "drop_after":
            log.debug("fault %s for %s %s", fault, request.method, request.path)
            return _fault_response(request, fault, state)

    body = await request.read()
    authorization = request.headers.get("Authorization", "")
    try:
        if authorization.startswith("Bearer "):
            verify_token(
                authorization.removeprefix("Bearer ").strip(),
                secret=state.entra_secret,
                now=state.token_clock(),
            )
            state.bearer_accepted += 1
        else:
            verify(
                method=request.method,
                path_and_query=request.raw_path,
                headers=request.headers,
                body=body,
                key=state.key,
                now=datetime.now(UTC),
            )
    except (SignatureError, TokenRefused) as exc:
        # The same answer for a bad signature and a bad token: the service says no more.
        state.denied += 1
        log.info("401 %s %s: %s", request.method, request.path, exc)
        return _error_response(401, "Denied", _DENIED_BODY)

    try:
        response = await handler(request)
    except ServiceError as exc:
        response = exc.response()
    except web.HTTPMethodNotAllowed:
        response = ServiceError(
            405, "MethodNotAllowed", f"The method {request.method} is not allowed here."
        ).response()
    except web.HTTPNotFound:
        response = ServiceError(404, "NotFound", _NOT_FOUND).response()

    if fault == "drop_after":
        log.debug("fault drop_after for %s %s", request.method, request.path)
        _drop(request)
    elif log.isEnabledFor(logging.DEBUG):
        log.debug("%s %s -> %d", request.method, request.path, response.status)
    return response


def _fault_response(request: web.Request, fault: FaultKind, state: EmulatorState) -> web.Response:
    if fault in ("drop", "drop_after"):
        _drop(request)
        return web.Response(status=500)  # never sent: the connection is gone
    status, code, message = _FAULT_BODIES[fault]
    headers = {"Retry-After": state.retry_after()} if status in (429, 503) else {}
    return ServiceError(status, code, message, headers=headers).response()


def _drop(request: web.Request) -> None:
    """Abort the connection without answering, as a crashed front end or a cut cable would."""
    if request.transport is not None:
        request.transport.abort()


# --- request helpers ------------------------------------------------------------------------


def _require_api_version(request: web.Request, version: str) -> None:
    given = request.query.get("api-version")
    if given is None:
        raise ServiceError(
            400,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
            headers={"api-supported-versions": version},
        )
    if given != version:
        raise ServiceError(
            400,
            "UnsupportedApiVersion",
            f"The HTTP resource that matches the request URI does not support the API version "
            f"'{given}'.",
            headers={"api-supported-versions": version},
        )


async def _parse_body(request: web.Request, model: type[_M], media_type: str) -> _M:
    """The body validated by *model*, or the 400/415 the service would answer.

    Names are matched by their wire (camelCase) alias only, as the service ignores
    snake_case names; an empty body is refused as the service's model binder does.
    """
    body = await request.read()
    if request.content_type != media_type:
        raise ServiceError(
            415,
            "UnsupportedMediaType",
            f"The content type '{request.content_type}' is not supported; use '{media_type}'.",
        )
    if not body.strip():
        raise _bad_argument("$", "A non-empty request body is required.")
    try:
        return model.model_validate_json(body, by_alias=True, by_name=False)
    except ValidationError as exc:
        raise _validation_error(exc) from None


def _validation_error(exc: ValidationError) -> ServiceError:
    """Pydantic's complaints in the service's shape: one BadArgument per JSON path."""
    details = []
    for error in exc.errors(include_url=False, include_input=False):
        path = "$" + "".join(
            f"[{part}]" if isinstance(part, int) else f".{part}" for part in error["loc"]
        )
        if error["type"] == "json_invalid":
            message = f"The request body is not valid JSON: {error['msg']}."
        elif path.endswith(".role") and error["type"] == "enum":
            message = f"The JSON value could not be converted to Role. Path: {path}."
        else:
            message = f"{error['msg']}. Path: {path}."
        details.append(CommunicationError(code="BadArgument", message=message, target=path))
    return ServiceError(400, "BadRequest", _MALFORMED, details=details)


def _json_response(model: BaseModel, status: int = 200, **headers: str) -> web.Response:
    body = model.model_dump_json(by_alias=True, exclude_none=True)
    return web.Response(
        status=status, body=body.encode(), headers={"Content-Type": _JSON_UTF8, **headers}
    )


def _utc(moment: datetime) -> datetime:
    """Times without an offset are read as UTC, as the service (running in UTC) reads them."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _check_window(valid_from: datetime, valid_until: datetime, now: datetime) -> None:
    """The service's three time checks, with its messages, most specific first."""
    if valid_from > now + MAX_ROOM_LIFETIME:
        raise _bad_argument("ValidFrom", "Value is incorrect or more than 180 days in the future.")
    if valid_until < now:
        raise _bad_argument("ValidUntil", "The time range end is in the past.")
    if valid_until <= valid_from or valid_until - valid_from > MAX_ROOM_LIFETIME:
        raise _bad_argument("ValidUntil", "The time range is incorrect, or larger than 180 days.")


def _room_id(request: web.Request) -> str:
    room_id = request.match_info["room_id"]
    if len(room_id) not in _ROOM_ID_LENGTHS:
        raise ServiceError(400, "BadRequest", "Invalid room ID length.")
    if not (room_id.isascii() and room_id.isdigit()):
        raise ServiceError(400, "BadRequest", "Room ID is invalid.")
    return room_id


def _valid_raw_id(raw_id: str) -> bool:
    return _RAW_ID.fullmatch(raw_id) is not None


def _encode_page_token(kind: str, position: int) -> str:
    """Opaque to clients; base64url without padding, so it survives any re-quoting."""
    raw = json.dumps({"k": kind, "p": position}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _decode_page_token(request: web.Request, kind: str) -> int | None:
    token = request.query.get("nextLink")
    if token is None:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        position = data["p"]
        if data["k"] != kind or not isinstance(position, int) or position < 0:
            raise ValueError(kind)
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise _bad_argument("nextLink", "The continuation token is invalid.") from None
    return position


def _next_link(request: web.Request, path: str, token: str, api_version: str) -> str:
    """Absolute, like the service's: this server's scheme and the Host the client used."""
    return f"{request.scheme}://{request.host}{path}?nextLink={token}&api-version={api_version}"


# --- Rooms ----------------------------------------------------------------------------------


async def _create_room(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    _require_api_version(request, ROOMS_API_VERSION)
    request_id = request.headers.get("Repeatability-Request-ID")
    if request_id is not None:
        if not request_id.strip():
            raise _bad_argument("Repeatability-Request-ID", "Repeatability-Request-ID is empty.")
        _check_first_sent(request.headers.get("Repeatability-First-Sent"))
    parsed = await _parse_body(request, CreateRoomRequest, _JSON)

    # No await from here on: the replay lookup and the insert are one step for the loop.
    if request_id is not None and (replay := state.repeatability.get(request_id)) is not None:
        state.replays += 1
        return _room_created(replay.body, replay.room_id, repeatable=True)
    now = datetime.now(UTC)
    valid_from = _utc(parsed.valid_from) if parsed.valid_from else now
    valid_until = _utc(parsed.valid_until) if parsed.valid_until else valid_from + MAX_ROOM_LIFETIME
    _check_window(valid_from, valid_until, now)
    participants: dict[str, Role] = {}
    for raw_id, properties in (parsed.participants or {}).items():
        if not _valid_raw_id(raw_id):
            raise ServiceError(400, "BadRequest", "Invalid format for communication identifier.")
        if properties is not None:
            participants[raw_id] = properties.role
    room = Room(
        id=state.new_room_id(),
        created_at=now,
        valid_from=valid_from,
        valid_until=valid_until,
        pstn_dial_out_enabled=bool(parsed.pstn_dial_out_enabled),
        participants=participants,
    )
    state.add_room(room)
    body = room.to_model().model_dump_json(by_alias=True).encode()
    if request_id is not None:
        state.repeatability[request_id] = Replay(room.id, body)
    return _room_created(body, room.id, repeatable=request_id is not None)


def _room_created(body: bytes, room_id: str, *, repeatable: bool) -> web.Response:
    headers = {"Content-Type": _JSON_UTF8, "Location": room_id}
    if repeatable:
        headers["Repeatability-Result"] = "accepted"
    return web.Response(status=201, body=body, headers=headers)


def _check_first_sent(value: str | None) -> None:
    if value is None:
        raise _bad_argument(
            "Repeatability-First-Sent",
            "Repeatability-First-Sent is required when Repeatability-Request-ID is given.",
        )
    try:
        parsedate_to_datetime(value)
    except (TypeError, ValueError):
        raise _bad_argument(
            "Repeatability-First-Sent",
            "Repeatability-First-Sent must be an IMF-fixdate, e.g. "
            "'Tue, 01 Apr 2025 12:00:00 GMT'.",
        ) from None


async def _list_rooms(request: web.Request) -> web.Response:
    """Newest first; the token is a position in creation order, so new rooms never shift it."""
    state = request.app[STATE_KEY]
    _require_api_version(request, ROOMS_API_VERSION)
    start = _decode_page_token(request, "rooms")
    position = len(state.room_order) - 1 if start is None else min(start, len(state.room_order) - 1)
    page: list[RoomModel] = []
    next_link = None
    while position >= 0:
        room = state.rooms[state.room_order[position]]
        if not room.deleted:
            if len(page) == state.page_size:
                token = _encode_page_token("rooms", position)
                next_link = _next_link(request, "/rooms", token, ROOMS_API_VERSION)
                break
            page.append(room.to_model())
        position -= 1
    return _json_response(RoomsCollection(value=page, next_link=next_link))


async def _get_room(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    _require_api_version(request, ROOMS_API_VERSION)
    return _json_response(state.live_room(_room_id(request)).to_model())


async def _update_room(request: web.Request) -> web.Response:
    """Merge-patch: absent or null properties keep their value (the SDK sends nulls)."""
    state = request.app[STATE_KEY]
    _require_api_version(request, ROOMS_API_VERSION)
    room_id = _room_id(request)
    patch = await _parse_body(request, UpdateRoomRequest, _MERGE_PATCH)
    room = state.live_room(room_id)
    if patch.valid_from is not None or patch.valid_until is not None:
        valid_from = _utc(patch.valid_from) if patch.valid_from else room.valid_from
        valid_until = _utc(patch.valid_until) if patch.valid_until else room.valid_until
        _check_window(valid_from, valid_until, datetime.now(UTC))
        room.valid_from, room.valid_until = valid_from, valid_until
    if patch.pstn_dial_out_enabled is not None:
        room.pstn_dial_out_enabled = patch.pstn_dial_out_enabled
    state.version += 1
    return _json_response(room.to_model())


async def _delete_room(request: web.Request) -> web.Response:
    """204, and 204 again for a room already deleted, as recorded from the service."""
    state = request.app[STATE_KEY]
    _require_api_version(request, ROOMS_API_VERSION)
    room = state.rooms.get(_room_id(request))
    if room is None:
        raise _not_found()
    if not room.deleted:
        room.deleted = True
        state.version += 1
        request.app[emulator_events.EVENTS_KEY].end_room(room.id)
    return web.Response(status=204)


async def _list_participants(request: web.Request) -> web.Response:
    """Pages by position in the room's participant order (a dict keeps insertion order)."""
    state = request.app[STATE_KEY]
    _require_api_version(request, ROOMS_API_VERSION)
    room_id = _room_id(request)
    room = state.live_room(room_id)
    kind = f"participants:{room_id}"
    start = _decode_page_token(request, kind) or 0
    items = list(room.participants.items())
    page = [
        RoomParticipant(raw_id=raw, role=role) for raw, role in items[start:][: state.page_size]
    ]
    next_link = None
    if start + state.page_size < len(items):
        token = _encode_page_token(kind, start + state.page_size)
        path = f"/rooms/{room_id}/participants"
        next_link = _next_link(request, path, token, ROOMS_API_VERSION)
    return _json_response(ParticipantsCollection(value=page, next_link=next_link))


async def _update_participants(request: web.Request) -> web.Response:
    """Merge-patch of the participant map: null removes, unlisted ones stay, all or nothing."""
    state = request.app[STATE_KEY]
    _require_api_version(request, ROOMS_API_VERSION)
    room_id = _room_id(request)
    patch = await _parse_body(request, UpdateParticipantsRequest, _MERGE_PATCH)
    room = state.live_room(room_id)
    changes: dict[str, ParticipantProperties | None] = patch.participants or {}
    if not all(_valid_raw_id(raw_id) for raw_id in changes):
        raise ServiceError(400, "BadRequest", "Invalid value for the Participants.")
    for raw_id, properties in changes.items():
        if properties is None:
            room.participants.pop(raw_id, None)
        else:
            room.participants[raw_id] = properties.role
    state.version += 1
    return web.Response(status=200, body=b"{}", headers={"Content-Type": _JSON_UTF8})


# --- Identity -------------------------------------------------------------------------------


def _identity_error(message: str, target: str) -> ServiceError:
    return ServiceError(400, "ValidationError", message, target=target)


def _minutes(value: Any) -> int:
    if value is None:
        return DEFAULT_TOKEN_MINUTES
    if isinstance(value, bool) or not isinstance(value, int):
        raise _identity_error("ExpiresInMinutes must be an integer.", "ExpiresInMinutes")
    if not 60 <= value <= 1440:
        raise _identity_error(
            f"ExpiresInMinutes value {value} is invalid. "
            "Value must be within the [60, 1440] interval.",
            "ExpiresInMinutes",
        )
    return value


async def _identity_body(request: web.Request) -> dict[str, Any]:
    """The raw JSON object; identity bodies are checked by hand for the service's messages."""
    body = await request.read()
    if not body.strip():
        return {}
    if request.content_type != _JSON:
        raise ServiceError(
            415,
            "UnsupportedMediaType",
            f"The content type '{request.content_type}' is not supported; use '{_JSON}'.",
        )
    try:
        data = json.loads(body)
    except ValueError:
        raise _identity_error("The request body is not valid JSON.", "body") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise _identity_error("The request body must be a JSON object.", "body")
    return data


def _scopes(value: Any, target: str, *, required: bool) -> list[str] | None:
    if value is None or value == []:
        if required:
            raise _identity_error(f"{target}: The {target} field is required.", target)
        return None
    if not isinstance(value, list) or not all(
        isinstance(scope, str) and scope in _TOKEN_SCOPES for scope in value
    ):
        raise _identity_error(
            f"{target} must be a list of: {', '.join(sorted(_TOKEN_SCOPES))}.", target
        )
    return list(value)


def _issue(
    state: EmulatorState, identity: Identity, scopes: list[str], minutes: int
) -> CommunicationIdentityAccessToken:
    """A JWT-shaped token (HS256 over the access key) and its expiry, as response JSON.

    The payload is plain ASCII JSON without `>`, `?` or `~`, so its base64url form has no
    `-` or `_`: the official SDK decodes it with standard base64 to read `exp`.
    """
    issued = datetime.now(UTC).replace(microsecond=0)
    expires = issued + timedelta(minutes=minutes)
    claims = {
        "skypeid": identity.id.removeprefix("8:"),
        "scp": 1792,
        "csi": str(int(issued.timestamp())),
        "exp": int(expires.timestamp()),
        "rgn": "emulator",
        "acsScope": ",".join(scopes),
        "resourceId": state.resource_id,
        "iat": int(issued.timestamp()),
    }
    header = _b64url(b'{"alg":"HS256","typ":"JWT"}')
    payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
    mac = hmac.new(state.key.secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    identity.tokens_issued += 1
    state.version += 1
    return CommunicationIdentityAccessToken(
        token=f"{header}.{payload}.{_b64url(mac)}", expires_on=expires
    )


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _identity(state: EmulatorState, request: web.Request) -> Identity:
    identity_id = request.match_info["identity_id"]
    if not identity_id.startswith("8:acs:") or not _valid_raw_id(identity_id):
        raise _identity_error("Identifier format is invalid.", "id")
    identity = state.identities.get(identity_id)
    if identity is None or identity.deleted:
        raise ServiceError(404, "IdentityNotFound", "The identity was not found.")
    return identity


async def _create_identity(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    _require_api_version(request, IDENTITY_API_VERSION)
    data = await _identity_body(request)
    scopes = _scopes(data.get("createTokenWithScopes"), "CreateTokenWithScopes", required=False)
    minutes = _minutes(data.get("expiresInMinutes"))
    identity = Identity(id=state.new_identity_id(), created_at=datetime.now(UTC))
    state.identities[identity.id] = identity
    state.version += 1
    token = _issue(state, identity, scopes, minutes) if scopes else None
    result = CommunicationIdentityAccessTokenResult(
        identity=CommunicationIdentity(id=identity.id), access_token=token
    )
    return _json_response(result, status=201)


async def _delete_identity(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    _require_api_version(request, IDENTITY_API_VERSION)
    _identity(state, request).deleted = True
    state.version += 1
    return web.Response(status=204)


async def _revoke_tokens(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    _require_api_version(request, IDENTITY_API_VERSION)
    _identity(state, request).tokens_revoked_at = datetime.now(UTC)
    state.version += 1
    return web.Response(status=204)


async def _issue_token(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    _require_api_version(request, IDENTITY_API_VERSION)
    identity = _identity(state, request)
    data = await _identity_body(request)
    scopes = _scopes(data.get("scopes"), "Scopes", required=True) or []
    minutes = _minutes(data.get("expiresInMinutes"))
    issued = _issue(state, identity, scopes, minutes)
    if "voip" in scopes:
        open_rooms = [r for r in state.rooms if _call_refusal(state, r, identity.id) is None]
        request.app[emulator_events.EVENTS_KEY].token_issued(identity.id, open_rooms)
    return _json_response(issued)


# --- serving --------------------------------------------------------------------------------

_WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::"})  # noqa: S104 (names, not a bind)


def _url_host(host: str) -> str:
    """The host a client should dial: loopback for a wildcard bind, brackets for IPv6."""
    if host in _WILDCARD_HOSTS:
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


@dataclass(frozen=True)
class _Tls:
    server: ssl.SSLContext
    client: ssl.SSLContext
    ca_file: str
    owns_ca_file: bool


def _self_signed_tls(host: str, ca_file: str | Path | None) -> _Tls:
    """A throwaway CA and a certificate for loopback (and *host*), valid for this run only.

    The CA is written as PEM to *ca_file* (or a temporary file) because the official SDKs
    take a CA bundle path (`connection_verify=`), not an SSLContext.
    """
    try:
        import trustme  # only --tls needs it, so it is imported here
    except ImportError:
        raise RuntimeError("TLS needs the 'trustme' package: pip install trustme") from None
    ca = trustme.CA(organization_name="roombot ACS emulator")
    names = ["127.0.0.1", "localhost", "::1"]
    if host not in names and host not in _WILDCARD_HOSTS:
        names.append(host)
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*names).configure_cert(server)
    client = ssl.create_default_context()
    ca.configure_trust(client)
    pem = ca.cert_pem.bytes()
    if ca_file is not None:
        Path(ca_file).write_bytes(pem)
        return _Tls(server, client, str(ca_file), owns_ca_file=False)
    fd, path = tempfile.mkstemp(prefix="acs-emulator-ca-", suffix=".pem")
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    return _Tls(server, client, path, owns_ca_file=True)


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class EmulatorServer:
    """The emulator on a real socket: `async with EmulatorServer() as emu:` in tests.

    After start, *endpoint* and *connection_string* name the bound port (port 0 picks a free
    one); *ssl_context_for_clients* and *ca_file* trust the self-signed certificate when
    *tls* is set. With *state_file*, state is loaded at start and written when it changed
    (checked twice a second, off the request path) and once more at close.
    """

    SAVE_INTERVAL: Final = 0.5

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        access_key: str | None = None,
        entra_secret: str | None = None,
        token_clock: Callable[[], float] = time.time,
        page_size: int = DEFAULT_PAGE_SIZE,
        latency_ms: float = 0,
        fault_rate: float = 0.0,
        seed: int | None = None,
        tls: bool = False,
        state_file: str | Path | None = None,
        ca_file: str | Path | None = None,
        events_url: str | None = None,
        events_twice: bool = False,
        events_schema: str = emulator_events.EVENT_GRID,
        join_on_token: float | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.tls = tls
        self.state_file = Path(state_file) if state_file is not None else None
        self.state = EmulatorState(
            EmulatorOptions(
                access_key=access_key,
                entra_secret=entra_secret,
                token_clock=token_clock,
                page_size=page_size,
                latency_ms=latency_ms,
                fault_rate=fault_rate,
                seed=seed,
                events_url=events_url,
                events_twice=events_twice,
                events_schema=events_schema,
                join_on_token=join_on_token,
            )
        )
        self.events: emulator_events.CallEvents | None = None  # set at start
        self.endpoint = ""
        self.ssl_context_for_clients: ssl.SSLContext | None = None
        self.ca_file: str | None = None
        self._requested_ca_file = ca_file
        self._tls: _Tls | None = None
        self._runner: web.AppRunner | None = None
        self._saver: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._saved_version = -1

    def __repr__(self) -> str:
        return f"EmulatorServer(endpoint={self.endpoint!r}, state={self.state!r})"

    @property
    def access_key(self) -> str:
        return self.state.access_key

    @property
    def connection_string(self) -> str:
        return f"endpoint={self.endpoint};accesskey={self.state.access_key}"

    @property
    def entra_secret(self) -> str:
        """The secret `bot.local.entra.LocalEntraCredential` signs accepted tokens with."""
        return self.state.entra_secret

    def entra_credential(self, **kwargs: Any) -> LocalEntraCredential:
        """A credential whose tokens this emulator accepts (keyless mode, `ACS_ENDPOINT`)."""
        return LocalEntraCredential(self.state.entra_secret, **kwargs)

    def set_faults(
        self, *, fault_rate: float | None = None, latency_ms: float | None = None
    ) -> None:
        """Change faults while serving, e.g. `set_faults(fault_rate=1.0)` for "ACS is down"."""
        self.state.set_faults(fault_rate=fault_rate, latency_ms=latency_ms)

    async def __aenter__(self) -> EmulatorServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Load state (if any), bind and serve. Raises OSError when the port is taken and
        ValueError when the state file is not a snapshot."""
        if self.state_file is not None and self.state_file.exists():
            self.state.load_json(json.loads(self.state_file.read_text(encoding="utf-8")))
            log.info("loaded %d rooms from %s", len(self.state.rooms), self.state_file)
        self._saved_version = self.state.version
        self._stopping = asyncio.Event()
        if self.tls:
            self._tls = _self_signed_tls(self.host, self._requested_ca_file)
            self.ssl_context_for_clients = self._tls.client
            self.ca_file = self._tls.ca_file
        app = build_app(self.state)
        self.events = app[emulator_events.EVENTS_KEY]
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        self._runner = runner
        try:
            site = web.TCPSite(
                runner, self.host, self.port, ssl_context=self._tls.server if self._tls else None
            )
            await site.start()
        except BaseException:
            await self.close()
            raise
        self.port = int(runner.addresses[0][1])
        scheme = "https" if self._tls else "http"
        self.endpoint = f"{scheme}://{_url_host(self.host)}:{self.port}/"
        if self.state_file is not None:
            self._saver = asyncio.create_task(self._save_periodically())
        log.info("ACS emulator serving %s", self.endpoint)

    async def close(self) -> None:
        """Stop serving; writes the state file a last time when there is one."""
        self._stopping.set()
        if self._saver is not None:
            await self._saver
            self._saver = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._tls is not None and self._tls.owns_ca_file:
            with contextlib.suppress(OSError):
                os.unlink(self._tls.ca_file)
        self._tls = None

    async def save_state(self) -> None:
        """Write the state file now if anything changed since the last write."""
        if self.state_file is None or self.state.version == self._saved_version:
            return
        version = self.state.version
        text = json.dumps(self.state.to_json(), separators=(",", ":"))
        await asyncio.to_thread(_write_atomically, self.state_file, text)
        self._saved_version = version

    async def _save_periodically(self) -> None:
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.SAVE_INTERVAL)
            try:
                await self.save_state()
            except OSError:
                log.exception("could not write the emulator state to %s", self.state_file)


__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_ROOM_LIFETIME",
    "STATE_KEY",
    "EmulatorOptions",
    "EmulatorServer",
    "EmulatorState",
    "Identity",
    "Replay",
    "Room",
    "ServiceError",
    "build_app",
    "random_access_key",
]
