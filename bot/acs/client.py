"""Async clients for the ACS Rooms (2025-03-13) and Identity (2023-10-01) REST APIs.

Each method serialises its request once to bytes and hands an `AcsRequest` to the one choke
point, `bot.acs.transport.AcsHttp`, which signs every attempt afresh, retries what is safe to
retry (`bot.acs.retry`) and turns failures into `AcsError`s. Method names mirror the official
`azure-communication-rooms` / `-identity` SDKs so their users feel at home.

Why not the official SDK: it is synchronous-first, several times slower per call, and its
aio `list_rooms` loses `api-version` when it follows `nextLink` on Python 3.11.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self, TypeVar
from urllib.parse import quote

import aiohttp
from pydantic import BaseModel, ValidationError
from yarl import URL

from bot.acs.auth import AccessKey, http_date
from bot.acs.connection import parse_connection_string
from bot.acs.entra import AsyncTokenCredential, EntraTokens
from bot.acs.errors import AcsError, AcsResponseError, RoomNotFound
from bot.acs.models import (
    IDENTITY_API_VERSION,
    ROOMS_API_VERSION,
    CommunicationIdentity,
    CommunicationIdentityAccessToken,
    CommunicationIdentityAccessTokenRequest,
    CommunicationIdentityAccessTokenResult,
    CommunicationIdentityCreateRequest,
    CommunicationIdentityTokenScope,
    CreateRoomRequest,
    ParticipantProperties,
    ParticipantsCollection,
    RoomModel,
    RoomParticipant,
    RoomsCollection,
    UpdateParticipantsRequest,
    UpdateRoomRequest,
)
from bot.acs.request_auth import BearerAuth, HmacAuth, RequestAuth
from bot.acs.retry import DEFAULT_RETRY, RETRY_STATUSES, RetryPolicy, Waiting
from bot.acs.transport import AcsHttp, AcsRequest, CallRecord, Observer, new_session
from bot.domain import Role

_NO_SUCH_ROOM = "99999999999999999"  # the shape of a room id; never issued
_JSON = "application/json"
_MERGE_PATCH = "application/merge-patch+json"
_Model = TypeVar("_Model", bound=BaseModel)
_CREATED = frozenset({200, 201})
_DONE = frozenset({200, 204})  # done, with or without a body
_ALREADY_GONE = frozenset({404})


def _dump(model: BaseModel) -> bytes:
    """The JSON body, as bytes straight from pydantic-core (what `model_dump_json` gives,
    without its wrapper and the str round trip: it decodes the bytes, we encoded them again)."""
    return model.__pydantic_serializer__.to_json(model, by_alias=True, exclude_none=True)


def _json_request(
    method: str,
    path_and_query: str,
    operation: str,
    model: BaseModel,
    *,
    content_type: str = _JSON,
    **options: Any,
) -> AcsRequest:
    """A request whose body is *model*, serialised once: every attempt signs the same bytes."""
    return AcsRequest(
        method, path_and_query, operation, body=_dump(model), content_type=content_type, **options
    )


def _delete_request(
    path_and_query: str, operation: str, *, not_found: type[AcsResponseError] = AcsResponseError
) -> AcsRequest:
    """A DELETE, done on 200 or 204, or on a 404 met by a retry: the cut-off attempt did it."""
    return AcsRequest(
        "DELETE",
        path_and_query,
        operation,
        ok=_DONE,
        ok_when_retried=_ALREADY_GONE,
        not_found=not_found,
    )


def _parse(model: type[_Model], payload: bytes, operation: str) -> _Model:
    try:
        return model.model_validate_json(payload)
    except ValidationError as exc:
        raise AcsError(
            f"{operation}: the service's answer did not match the API schema",
            hint="Azure Communication Services answered in an unexpected form; "
            "check that the endpoint is a Communication Services resource.",
        ) from exc


def _room_path(room_id: str) -> str:
    return "/rooms/" + quote(str(room_id), safe="")


class _BaseClient:
    """Construction and lifecycle shared by both clients."""

    _api_version: str

    def __init__(
        self,
        endpoint: str | URL,
        key: AccessKey | str | None = None,
        *,
        credential: AsyncTokenCredential | EntraTokens | None = None,
        session: aiohttp.ClientSession | None = None,
        retry: RetryPolicy = DEFAULT_RETRY,
        ssl: Any = True,
        clock: Callable[[], datetime] | None = None,
        observer: Observer | None = None,
        rng: random.Random | None = None,
        waiting: Waiting | None = None,
    ) -> None:
        """*clock* dates signatures and reads `Retry-After` dates; *waiting* (a sleep and a
        monotonic clock) paces retries; *rng* jitters them. All default to the real ones.

        Give either *key* (HMAC, as with a connection string) or *credential* (Microsoft Entra
        ID): an `AsyncTokenCredential`, or an `EntraTokens` to share one token cache between
        clients. The caller owns the credential and closes it; the client never does."""
        endpoint_url = URL(str(endpoint))
        if endpoint_url.scheme not in ("http", "https") or not endpoint_url.host:
            raise ValueError("the ACS endpoint must be an http(s) URL")
        now = clock or (lambda: datetime.now(UTC))
        auth: RequestAuth
        if (key is None) == (credential is None):
            raise ValueError("give either an access key or a credential, not both or neither")
        if credential is not None:
            tokens = credential if isinstance(credential, EntraTokens) else EntraTokens(credential)
            auth = BearerAuth(tokens)
        else:
            assert key is not None
            auth = HmacAuth(key if isinstance(key, AccessKey) else AccessKey.from_base64(key), now)
        self._http = AcsHttp(
            endpoint_url.with_path("/").with_query(None),
            auth,
            session=session,
            retry=retry,
            ssl=ssl,
            clock=now,
            observer=observer,
            rng=rng,
            waiting=waiting or Waiting(),
        )

    @classmethod
    def from_connection_string(cls, connection_string: str, **kwargs: Any) -> Self:
        """A client for `endpoint=…;accesskey=…`; ValueError naming what is missing."""
        connection = parse_connection_string(connection_string)
        return cls(connection.endpoint, connection.key, **kwargs)

    def _query(self) -> str:
        return f"?api-version={self._api_version}"

    async def _fetch(self, model: type[_Model], request: AcsRequest) -> _Model:
        """Send *request*; its answer, read as *model*."""
        return _parse(model, await self._http.send(request), request.operation)

    async def aclose(self) -> None:
        """Close the HTTP session if this client created it; later calls raise."""
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(endpoint={self._http.base!r})"


class RoomsClient(_BaseClient):
    """The whole ACS Rooms API; see the module docstring for retries and errors."""

    _api_version = ROOMS_API_VERSION

    async def create_room(
        self,
        *,
        valid_from: datetime | None = None,
        valid_until: datetime | None = None,
        participants: Mapping[str, Role | str] | None = None,
        pstn_dial_out_enabled: bool | None = None,
        repeatability_request_id: str | None = None,
        repeatability_first_sent: datetime | None = None,
    ) -> RoomModel:
        """Create a room; retries reuse one Repeatability-Request-ID, so at most one is made.

        Pass your own *repeatability_request_id* (and its *repeatability_first_sent*) to make
        the create idempotent across processes: the service returns the original room.
        """
        request = CreateRoomRequest(
            valid_from=valid_from,
            valid_until=valid_until,
            pstn_dial_out_enabled=pstn_dial_out_enabled,
            participants=_participants(participants) if participants else None,
        )
        first_sent = repeatability_first_sent or self._http.clock()
        headers = {
            "Repeatability-Request-ID": repeatability_request_id or str(uuid.uuid4()),
            "Repeatability-First-Sent": http_date(first_sent),
        }
        return await self._fetch(
            RoomModel,
            _json_request(
                "POST",
                "/rooms" + self._query(),
                "create_room",
                request,
                headers=headers,
                ok=_CREATED,
            ),
        )

    async def get_room(self, room_id: str) -> RoomModel:
        """The room; RoomNotFound if it does not exist or was deleted."""
        return await self._fetch(
            RoomModel,
            AcsRequest(
                "GET", _room_path(room_id) + self._query(), "get_room", not_found=RoomNotFound
            ),
        )

    async def probe(self, *, within: float = 5.0) -> bool:
        """Whether the service answers now: one signed GET of a room that cannot exist, no
        retries. Any answer but a transient failure (408, 429, 5xx) counts, a 404 included."""
        once = RetryPolicy(max_attempts=1, deadline=within, attempt_timeout=within)
        try:
            await self._http.send(
                AcsRequest(
                    "GET",
                    _room_path(_NO_SUCH_ROOM) + self._query(),
                    "probe",
                    not_found=RoomNotFound,
                ),
                retry=once,
            )
        except AcsResponseError as exc:
            return exc.status not in RETRY_STATUSES
        except AcsError:
            return False
        return True

    async def update_room(
        self,
        room_id: str,
        *,
        valid_from: datetime | None = None,
        valid_until: datetime | None = None,
        pstn_dial_out_enabled: bool | None = None,
    ) -> RoomModel:
        """Merge-patch the room: only the arguments given change."""
        request = UpdateRoomRequest(
            valid_from=valid_from,
            valid_until=valid_until,
            pstn_dial_out_enabled=pstn_dial_out_enabled,
        )
        return await self._fetch(
            RoomModel,
            _json_request(
                "PATCH",
                _room_path(room_id) + self._query(),
                "update_room",
                request,
                content_type=_MERGE_PATCH,
                not_found=RoomNotFound,
            ),
        )

    async def delete_room(self, room_id: str) -> None:
        """Delete the room; a retried delete that meets 404 counts as done."""
        await self._http.send(
            _delete_request(
                _room_path(room_id) + self._query(), "delete_room", not_found=RoomNotFound
            )
        )

    async def list_rooms(self) -> AsyncIterator[RoomModel]:
        """Every room of the resource, following `nextLink` page by page."""
        async for page in self._pages("/rooms" + self._query(), RoomsCollection, "list_rooms"):
            for room in page.value:
                yield room

    async def add_or_update_participants(
        self, room_id: str, participants: Mapping[str, Role | str]
    ) -> None:
        """Add these raw ids with their roles, or change the roles of those already in."""
        await self._patch_participants(room_id, _participants(participants))

    async def remove_participants(self, room_id: str, raw_ids: Iterable[str]) -> None:
        """Remove these raw ids; removing one who is not in the room succeeds."""
        await self._patch_participants(room_id, dict.fromkeys(raw_ids))

    async def list_participants(self, room_id: str) -> AsyncIterator[RoomParticipant]:
        """Every participant of the room, following `nextLink`."""
        path = _room_path(room_id) + "/participants" + self._query()
        async for page in self._pages(path, ParticipantsCollection, "list_participants"):
            for participant in page.value:
                yield participant

    async def _patch_participants(
        self, room_id: str, participants: dict[str, ParticipantProperties | None]
    ) -> None:
        await self._http.send(
            _json_request(
                "PATCH",
                _room_path(room_id) + "/participants" + self._query(),
                "update_participants",
                UpdateParticipantsRequest(participants=participants),
                content_type=_MERGE_PATCH,
                not_found=RoomNotFound,
            )
        )

    async def _pages(
        self, first: str, model: type[RoomsCollection] | type[ParticipantsCollection], op: str
    ) -> AsyncIterator[Any]:
        path_and_query: str | None = first
        while path_and_query is not None:
            request = AcsRequest("GET", path_and_query, op, not_found=RoomNotFound)
            page = await self._fetch(model, request)
            yield page
            path_and_query = self._next(page.next_link, op)

    def _next(self, next_link: str | None, op: str) -> str | None:
        """The signed path of the next page, keeping api-version even if the link drops it."""
        if not next_link:
            return None
        url = URL(next_link, encoded=True)
        if url.is_absolute() and not self._http.same_origin(url):
            raise AcsError(
                f"{op}: nextLink points at another host",
                hint="The service's paging link left this resource; refusing to follow it.",
            )
        if "api-version" not in url.query:
            url = url.update_query({"api-version": self._api_version})
        return url.raw_path_qs


def _participants(
    participants: Mapping[str, Role | str],
) -> dict[str, ParticipantProperties | None]:
    return {raw_id: ParticipantProperties(role=Role(role)) for raw_id, role in participants.items()}


class IdentityClient(_BaseClient):
    """The Identity calls roombot needs: users, tokens, revocation."""

    _api_version = IDENTITY_API_VERSION

    async def create_user(self) -> CommunicationIdentity:
        """A new ACS communication user (its raw id is `.id`)."""
        result = await self._create(CommunicationIdentityCreateRequest())
        return result.identity

    async def create_user_and_token(
        self,
        scopes: Iterable[CommunicationIdentityTokenScope | str],
        expires_in_minutes: int | None = None,
    ) -> CommunicationIdentityAccessTokenResult:
        """A new user and an access token for it, in one call."""
        return await self._create(
            CommunicationIdentityCreateRequest(
                create_token_with_scopes=[CommunicationIdentityTokenScope(s) for s in scopes],
                expires_in_minutes=expires_in_minutes,
            )
        )

    async def get_token(
        self,
        raw_id: str,
        scopes: Iterable[CommunicationIdentityTokenScope | str],
        expires_in_minutes: int | None = None,
    ) -> CommunicationIdentityAccessToken:
        """An access token for *raw_id* (60-1440 minutes; the service's default is 1440)."""
        request = CommunicationIdentityAccessTokenRequest(
            scopes=[CommunicationIdentityTokenScope(s) for s in scopes],
            expires_in_minutes=expires_in_minutes,
        )
        return await self._fetch(
            CommunicationIdentityAccessToken,
            _json_request(
                "POST",
                _identity_path(raw_id, "/:issueAccessToken") + self._query(),
                "get_token",
                request,
            ),
        )

    async def revoke_tokens(self, raw_id: str) -> None:
        """Revoke every token issued to *raw_id* so far."""
        await self._http.send(
            AcsRequest(
                "POST",
                _identity_path(raw_id, "/:revokeAccessTokens") + self._query(),
                operation="revoke_tokens",
                ok=_DONE,
            )
        )

    async def delete_user(self, raw_id: str) -> None:
        """Delete the identity and revoke its tokens; a retried delete meeting 404 is done."""
        await self._http.send(
            _delete_request(_identity_path(raw_id) + self._query(), "delete_user")
        )

    async def _create(
        self, request: CommunicationIdentityCreateRequest
    ) -> CommunicationIdentityAccessTokenResult:
        return await self._fetch(
            CommunicationIdentityAccessTokenResult,
            _json_request(
                "POST",
                "/identities" + self._query(),
                "create_user",
                request,
                ok=_CREATED,
            ),
        )


def _identity_path(raw_id: str, suffix: str = "") -> str:
    return "/identities/" + quote(raw_id, safe="") + suffix


__all__ = [
    "DEFAULT_RETRY",
    "CallRecord",
    "IdentityClient",
    "Observer",
    "RetryPolicy",
    "RoomsClient",
    "Waiting",
    "new_session",
]
