"""Pydantic models for every schema of the ACS Rooms (2025-03-13) and Identity (2023-10-01) specs.

Field names are snake_case in Python and camelCase on the wire (by alias). Times are always
timezone-aware: the service sends 0-7 fractional digits with `Z` or `+00:00`, and a naive
datetime handed to a request model is refused rather than guessed.
"""

from __future__ import annotations

import enum
import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer
from pydantic.alias_generators import to_camel

from bot.domain import Role

ROOMS_API_VERSION = "2025-03-13"
IDENTITY_API_VERSION = "2023-10-01"

_FRACTION = re.compile(r"(\.\d{6})\d+")


def _parse_time(value: Any) -> Any:
    """Accept the service's 7-digit fractions (pydantic stops at 6) and reject naive values."""
    if isinstance(value, str):
        return _six_fraction_digits(value)
    if isinstance(value, datetime) and value.tzinfo is None:
        raise ValueError("datetime must be timezone-aware")
    return value


def _six_fraction_digits(text: str) -> str:
    """*text* with the digits after the sixth of its fraction dropped: what
    `_FRACTION.sub(r"\\1", text, count=1)` gives, without the regex in the common cases.

    Every time of every answer comes through here (a room has three), and the regex costs
    about 1.5 µs even when it finds nothing to drop."""
    dot = text.find(".")
    if dot < 0:
        return text  # no fraction: nothing to drop
    if text.find(".", dot + 1) >= 0:
        return _FRACTION.sub(r"\1", text, count=1)  # not a plain time: let the regex judge
    end = dot + 7
    if not text[dot + 1 : end + 1].isdecimal() or len(text) <= end:
        return text  # six digits or fewer (isdecimal is exactly the regex's \d)
    rest = end
    while rest < len(text) and text[rest].isdecimal():
        rest += 1
    return text[:end] + text[rest:]


def format_time(value: datetime) -> str:
    """RFC 3339 in UTC with `+00:00`, the form the service itself returns."""
    return value.astimezone(UTC).isoformat()


AcsTime = Annotated[
    datetime,
    BeforeValidator(_parse_time),
    Field(json_schema_extra={"format": "date-time"}),
    PlainSerializer(format_time, return_type=str),
]


class WireModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, frozen=True, extra="ignore"
    )


# --- common error model (common-2023-11-15.json) ---------------------------------------------


class CommunicationError(WireModel):
    code: str
    message: str
    target: str | None = None
    details: list[CommunicationError] | None = None
    inner_error: CommunicationError | None = Field(default=None, alias="innererror")


class CommunicationErrorResponse(WireModel):
    error: CommunicationError


# --- Rooms ----------------------------------------------------------------------------------


class ParticipantProperties(WireModel):
    role: Role


class RoomParticipant(WireModel):
    raw_id: str
    role: Role


class CreateRoomRequest(WireModel):
    valid_from: AcsTime | None = None
    valid_until: AcsTime | None = None
    pstn_dial_out_enabled: bool | None = None
    participants: dict[str, ParticipantProperties | None] | None = None


class UpdateRoomRequest(WireModel):
    valid_from: AcsTime | None = None
    valid_until: AcsTime | None = None
    pstn_dial_out_enabled: bool | None = None


class RoomModel(WireModel):
    id: str
    created_at: AcsTime
    valid_from: AcsTime
    valid_until: AcsTime
    pstn_dial_out_enabled: bool


class RoomsCollection(WireModel):
    value: list[RoomModel]
    next_link: str | None = None


class ParticipantsCollection(WireModel):
    value: list[RoomParticipant]
    next_link: str | None = None


class UpdateParticipantsRequest(WireModel):
    participants: dict[str, ParticipantProperties | None] | None = None


class UpdateParticipantsResult(WireModel):
    pass


# --- Identity -------------------------------------------------------------------------------


class CommunicationIdentityTokenScope(enum.StrEnum):
    CHAT = "chat"
    VOIP = "voip"
    CHAT_JOIN = "chat.join"
    CHAT_JOIN_LIMITED = "chat.join.limited"
    VOIP_JOIN = "voip.join"


class CommunicationIdentity(WireModel):
    id: str


class CommunicationIdentityAccessToken(WireModel):
    token: str = Field(repr=False)
    expires_on: AcsTime


class CommunicationIdentityAccessTokenRequest(WireModel):
    scopes: list[CommunicationIdentityTokenScope]
    expires_in_minutes: int | None = Field(default=None, ge=60, le=1440)


class CommunicationIdentityCreateRequest(WireModel):
    create_token_with_scopes: list[CommunicationIdentityTokenScope] | None = None
    expires_in_minutes: int | None = Field(default=None, ge=60, le=1440)


class CommunicationIdentityAccessTokenResult(WireModel):
    identity: CommunicationIdentity
    access_token: CommunicationIdentityAccessToken | None = None


class TeamsUserExchangeTokenRequest(WireModel):
    token: str = Field(repr=False)
    app_id: str
    user_id: str


__all__ = [
    "IDENTITY_API_VERSION",
    "ROOMS_API_VERSION",
    "AcsTime",
    "CommunicationError",
    "CommunicationErrorResponse",
    "CommunicationIdentity",
    "CommunicationIdentityAccessToken",
    "CommunicationIdentityAccessTokenRequest",
    "CommunicationIdentityAccessTokenResult",
    "CommunicationIdentityCreateRequest",
    "CommunicationIdentityTokenScope",
    "CreateRoomRequest",
    "ParticipantProperties",
    "ParticipantsCollection",
    "Role",
    "RoomModel",
    "RoomParticipant",
    "RoomsCollection",
    "TeamsUserExchangeTokenRequest",
    "UpdateParticipantsRequest",
    "UpdateParticipantsResult",
    "UpdateRoomRequest",
    "format_time",
]
