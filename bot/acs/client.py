"""Async clients for the ACS Rooms (2025-03-13) and Identity (2023-10-01) REST APIs.

Both share one private choke point, `_AcsHttp.send`: serialise once to bytes, sign those bytes
(re-signed on every attempt, so the date stays fresh), send, log `method path status ms`,
retry what is safe to retry, and turn failures into `AcsError`s. Method names mirror the
official `azure-communication-rooms` / `-identity` SDKs so their users feel at home.

Why not the official SDK: it is synchronous-first, several times slower per call, and its
aio `list_rooms` loses `api-version` when it follows `nextLink` on Python 3.11.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any, Protocol, Self, TypeVar
from urllib.parse import quote

import aiohttp
from pydantic import BaseModel, ValidationError
from yarl import URL

from bot.acs.auth import AccessKey, http_date, sign
from bot.acs.connection import host_header, parse_connection_string
from bot.acs.entra import AsyncTokenCredential, EntraTokens
from bot.acs.errors import AcsError, AcsResponseError, AcsTransportError, RoomNotFound
from bot.acs.models import (
    IDENTITY_API_VERSION,
    ROOMS_API_VERSION,
    CommunicationErrorResponse,
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
from bot.domain import Role

logger = logging.getLogger("roombot.acs")

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
_NO_SUCH_ROOM = "99999999999999999"  # the shape of a room id; never issued
_JSON = "application/json"
_MERGE_PATCH = "application/merge-patch+json"
_Model = TypeVar("_Model", bound=BaseModel)


@dataclass(frozen=True)
class RetryPolicy:
    """How long and how often to retry: exponential backoff with full jitter, within a deadline.

    `Retry-After` from the service wins over the computed delay; a wait that would overrun
    *deadline* ends the attempts instead.
    """

    max_attempts: int = 8
    base_delay: float = 0.05
    max_delay: float = 4.0
    deadline: float = 30.0
    attempt_timeout: float = 10.0

    def backoff(self, attempt: int, rng: random.Random) -> float:
        return rng.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))


DEFAULT_RETRY = RetryPolicy()


@dataclass(frozen=True)
class CallRecord:
    """One finished HTTP attempt, for metrics observers (no headers, no body, no secrets)."""

    method: str
    operation: str
    status: int | None
    seconds: float
    attempt: int


Observer = Callable[[CallRecord], None]


def new_session(*, ssl: Any = True, limit: int = 100) -> aiohttp.ClientSession:
    """A session for ACS clients: every attempt goes through our retry policy.

    aiohttp silently re-sends a GET or DELETE once when the server drops the connection;
    that hidden attempt would escape our count (a retried DELETE meeting 404 is success only
    if we know it was retried), our logs and our deadline, so it is switched off.
    """
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=limit, ssl=ssl),
        timeout=aiohttp.ClientTimeout(total=None),
    )
    if hasattr(session, "_retry_connection"):
        session._retry_connection = False
    return session


class _RequestAuth(Protocol):
    """How one attempt proves who we are: an HMAC signature or an Entra bearer token."""

    keyless: bool

    async def headers(
        self, *, method: str, path_and_query: str, host: str, body: bytes
    ) -> dict[str, str]: ...

    def rejected(self, headers: Mapping[str, str]) -> None: ...


class _HmacAuth:
    """The access key signs each attempt, dated by *clock* (so retries stay fresh)."""

    keyless = False

    def __init__(self, key: AccessKey, clock: Callable[[], datetime]) -> None:
        self._key = key
        self._clock = clock

    async def headers(
        self, *, method: str, path_and_query: str, host: str, body: bytes
    ) -> dict[str, str]:
        return sign(
            method=method,
            path_and_query=path_and_query,
            host=host,
            date=http_date(self._clock()),
            body=body,
            key=self._key,
        )

    def rejected(self, headers: Mapping[str, str]) -> None:
        """A refused signature is not cached anywhere: the next attempt signs anew."""


class _BearerAuth:
    """A Microsoft Entra token (`bot.acs.entra`), the same for every attempt until refreshed."""

    keyless = True

    def __init__(self, tokens: EntraTokens) -> None:
        self._tokens = tokens

    async def headers(
        self, *, method: str, path_and_query: str, host: str, body: bytes
    ) -> dict[str, str]:
        return {"Authorization": await self._tokens.authorization()}

    def rejected(self, headers: Mapping[str, str]) -> None:
        self._tokens.rejected(headers.get("Authorization", ""))


class _AcsHttp:
    """Signs, sends, retries and maps errors; the only place that touches aiohttp."""

    def __init__(
        self,
        endpoint: URL,
        auth: _RequestAuth,
        *,
        session: aiohttp.ClientSession | None,
        retry: RetryPolicy,
        ssl: Any,
        clock: Callable[[], datetime],
        observer: Observer | None,
        rng: random.Random | None,
    ) -> None:
        self._endpoint = endpoint
        self._host = host_header(endpoint)
        self._base = str(endpoint).rstrip("/")
        self._auth = auth
        self._owns_session = session is None
        self._session = session
        self._retry = retry
        self._ssl = ssl
        self._clock = clock
        self._observer = observer
        self._rng = rng or random.Random()  # jitter, not security
        self._closed = False

    def _client_session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise RuntimeError("this ACS client is closed")
        if self._session is None:
            # Created lazily so the client can be constructed outside a running loop.
            self._session = new_session(ssl=self._ssl)
        return self._session

    async def aclose(self) -> None:
        self._closed = True
        if self._owns_session and self._session is not None:
            await self._session.close()

    def same_origin(self, url: URL) -> bool:
        """A nextLink must point back at our resource: never send our signature elsewhere."""
        return (url.scheme, url.host, url.port) == (
            self._endpoint.scheme,
            self._endpoint.host,
            self._endpoint.port,
        )

    async def send(
        self,
        method: str,
        path_and_query: str,
        *,
        operation: str,
        body: bytes = b"",
        content_type: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
        ok: frozenset[int] = frozenset({200}),
        not_found: type[AcsResponseError] = AcsResponseError,
        retried_delete_404_is_done: bool = False,
        retry: RetryPolicy | None = None,
    ) -> bytes:
        """Send with retries; the response body on an *ok* status, else an AcsError."""
        session = self._client_session()
        url = URL(self._base + path_and_query, encoded=True)
        policy = retry or self._retry
        loop = asyncio.get_running_loop()
        give_up_at = loop.time() + policy.deadline
        attempt = 0
        while True:
            attempt += 1
            headers = await self._auth.headers(
                method=method, path_and_query=path_and_query, host=self._host, body=body
            )
            if content_type:
                headers["Content-Type"] = content_type
            if extra_headers:
                headers.update(extra_headers)
            started = time.perf_counter()
            status: int | None = None
            retry_after: float | None = None
            failure: AcsError
            remaining = give_up_at - loop.time()
            try:
                async with asyncio.timeout(min(policy.attempt_timeout, max(remaining, 0.001))):
                    async with session.request(
                        method, url, data=body or None, headers=headers
                    ) as response:
                        status = response.status
                        payload = await response.read()
                        self._record(method, operation, status, started, attempt)
                        if status in ok or (
                            status == 404 and retried_delete_404_is_done and attempt > 1
                        ):
                            return payload
                        if status == 401:
                            self._auth.rejected(headers)
                        failure = _response_error(
                            response,
                            payload,
                            method,
                            operation,
                            not_found=not_found,
                            keyless=self._auth.keyless,
                        )
                        if status not in RETRY_STATUSES:
                            raise failure
                        retry_after = _retry_after(response.headers, self._clock)
            except (aiohttp.ClientError, TimeoutError) as exc:
                self._record(method, operation, status, started, attempt)
                kind = "timed out" if isinstance(exc, TimeoutError) else type(exc).__name__
                failure = AcsTransportError(f"{method} {operation}: {kind}")
                failure.__cause__ = exc
            delay = retry_after if retry_after is not None else policy.backoff(attempt, self._rng)
            if attempt >= policy.max_attempts or loop.time() + delay >= give_up_at:
                raise failure
            logger.info(
                "ACS %s %s: %s; retry %d in %.2fs",
                method,
                operation,
                failure.message,
                attempt,
                delay,
            )
            await asyncio.sleep(delay)

    def _record(
        self, method: str, operation: str, status: int | None, started: float, attempt: int
    ) -> None:
        seconds = time.perf_counter() - started
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("ACS %s %s %s %.1fms", method, operation, status, seconds * 1000)
        if self._observer is not None:
            self._observer(CallRecord(method, operation, status, seconds, attempt))


def _response_error(
    response: aiohttp.ClientResponse,
    payload: bytes,
    method: str,
    operation: str,
    *,
    not_found: type[AcsResponseError],
    keyless: bool,
) -> AcsResponseError:
    error = None
    if payload:
        try:
            error = CommunicationErrorResponse.model_validate_json(payload).error
        except ValidationError:
            error = None
    kind = not_found if response.status == 404 else AcsResponseError
    return kind(
        status=response.status,
        method=method,
        path=operation,
        error=error,
        error_code_header=response.headers.get("x-ms-error-code"),
        keyless=keyless,
    )


def _retry_after(headers: Mapping[str, str], clock: Callable[[], datetime]) -> float | None:
    """Seconds to wait from `retry-after-ms`, `x-ms-retry-after-ms` or `Retry-After`."""
    for name in ("retry-after-ms", "x-ms-retry-after-ms"):
        if value := headers.get(name):
            try:
                return max(float(value) / 1000, 0.0)
            except ValueError:
                pass
    value = headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max((when - clock()).total_seconds(), 0.0)


def _dump(model: BaseModel) -> bytes:
    return model.model_dump_json(by_alias=True, exclude_none=True).encode()


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
    """Construction and lifecycle shared by both clients.

    Give either *key* (HMAC, as with a connection string) or *credential* (Microsoft Entra ID):
    an `AsyncTokenCredential`, or an `EntraTokens` to share one token cache between clients.
    The caller owns the credential and closes it; the client never does.
    """

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
    ) -> None:
        endpoint_url = URL(str(endpoint))
        if endpoint_url.scheme not in ("http", "https") or not endpoint_url.host:
            raise ValueError("the ACS endpoint must be an http(s) URL")
        now = clock or (lambda: datetime.now(UTC))
        auth: _RequestAuth
        if (key is None) == (credential is None):
            raise ValueError("give either an access key or a credential, not both or neither")
        if credential is not None:
            tokens = credential if isinstance(credential, EntraTokens) else EntraTokens(credential)
            auth = _BearerAuth(tokens)
        else:
            assert key is not None
            auth = _HmacAuth(key if isinstance(key, AccessKey) else AccessKey.from_base64(key), now)
        self._http = _AcsHttp(
            endpoint_url.with_path("/").with_query(None),
            auth,
            session=session,
            retry=retry,
            ssl=ssl,
            clock=now,
            observer=observer,
            rng=rng,
        )

    @classmethod
    def from_connection_string(cls, connection_string: str, **kwargs: Any) -> Self:
        """A client for `endpoint=…;accesskey=…`; ValueError naming what is missing."""
        connection = parse_connection_string(connection_string)
        return cls(connection.endpoint, connection.key, **kwargs)

    def _query(self) -> str:
        return f"?api-version={self._api_version}"

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
        return f"{type(self).__name__}(endpoint={self._http._base!r})"


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
        first_sent = repeatability_first_sent or datetime.now(UTC)
        headers = {
            "Repeatability-Request-ID": repeatability_request_id or str(uuid.uuid4()),
            "Repeatability-First-Sent": http_date(first_sent),
        }
        payload = await self._http.send(
            "POST",
            "/rooms" + self._query(),
            operation="create_room",
            body=_dump(request),
            content_type=_JSON,
            extra_headers=headers,
            ok=frozenset({200, 201}),
        )
        return _parse(RoomModel, payload, "create_room")

    async def get_room(self, room_id: str) -> RoomModel:
        """The room; RoomNotFound if it does not exist or was deleted."""
        payload = await self._http.send(
            "GET", _room_path(room_id) + self._query(), operation="get_room", not_found=RoomNotFound
        )
        return _parse(RoomModel, payload, "get_room")

    async def probe(self, *, within: float = 5.0) -> bool:
        """Whether the service answers now: one signed GET of a room that cannot exist, no
        retries. Any answer but a transient failure (408, 429, 5xx) counts, a 404 included."""
        once = RetryPolicy(max_attempts=1, deadline=within, attempt_timeout=within)
        try:
            await self._http.send(
                "GET",
                _room_path(_NO_SUCH_ROOM) + self._query(),
                operation="probe",
                not_found=RoomNotFound,
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
        payload = await self._http.send(
            "PATCH",
            _room_path(room_id) + self._query(),
            operation="update_room",
            body=_dump(request),
            content_type=_MERGE_PATCH,
            not_found=RoomNotFound,
        )
        return _parse(RoomModel, payload, "update_room")

    async def delete_room(self, room_id: str) -> None:
        """Delete the room; a retried delete that meets 404 counts as done."""
        await self._http.send(
            "DELETE",
            _room_path(room_id) + self._query(),
            operation="delete_room",
            ok=frozenset({200, 204}),
            not_found=RoomNotFound,
            retried_delete_404_is_done=True,
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
            "PATCH",
            _room_path(room_id) + "/participants" + self._query(),
            operation="update_participants",
            body=_dump(UpdateParticipantsRequest(participants=participants)),
            content_type=_MERGE_PATCH,
            not_found=RoomNotFound,
        )

    async def _pages(
        self, first: str, model: type[RoomsCollection] | type[ParticipantsCollection], op: str
    ) -> AsyncIterator[Any]:
        path_and_query: str | None = first
        while path_and_query is not None:
            payload = await self._http.send(
                "GET", path_and_query, operation=op, not_found=RoomNotFound
            )
            page = _parse(model, payload, op)
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
        payload = await self._http.send(
            "POST",
            _identity_path(raw_id, "/:issueAccessToken") + self._query(),
            operation="get_token",
            body=_dump(request),
            content_type=_JSON,
        )
        return _parse(CommunicationIdentityAccessToken, payload, "get_token")

    async def revoke_tokens(self, raw_id: str) -> None:
        """Revoke every token issued to *raw_id* so far."""
        await self._http.send(
            "POST",
            _identity_path(raw_id, "/:revokeAccessTokens") + self._query(),
            operation="revoke_tokens",
            ok=frozenset({200, 204}),
        )

    async def delete_user(self, raw_id: str) -> None:
        """Delete the identity and revoke its tokens; a retried delete meeting 404 is done."""
        await self._http.send(
            "DELETE",
            _identity_path(raw_id) + self._query(),
            operation="delete_user",
            ok=frozenset({200, 204}),
            retried_delete_404_is_done=True,
        )

    async def _create(
        self, request: CommunicationIdentityCreateRequest
    ) -> CommunicationIdentityAccessTokenResult:
        payload = await self._http.send(
            "POST",
            "/identities" + self._query(),
            operation="create_user",
            body=_dump(request),
            content_type=_JSON,
            ok=frozenset({200, 201}),
        )
        return _parse(CommunicationIdentityAccessTokenResult, payload, "create_user")


def _identity_path(raw_id: str, suffix: str = "") -> str:
    return "/identities/" + quote(raw_id, safe="") + suffix


__all__ = [
    "DEFAULT_RETRY",
    "CallRecord",
    "IdentityClient",
    "RetryPolicy",
    "RoomsClient",
    "new_session",
]
