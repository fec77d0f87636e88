"""The one choke point between the ACS clients and the network.

A call is an `AcsRequest` (plain data). `AcsHttp.send` runs its attempts under a
`RetryPolicy`: each attempt is authenticated afresh (`bot.acs.request_auth`: an HMAC signature
carries its date), sent, logged as `method operation status ms`, reported to an observer,
and judged: the body on success, a typed `AcsError` (with the service's code) when it fails
for good, a wait when it may pass.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import aiohttp
from pydantic import ValidationError
from yarl import URL

from bot.acs.connection import host_header
from bot.acs.errors import AcsError, AcsResponseError, AcsTransportError
from bot.acs.models import CommunicationErrorResponse
from bot.acs.request_auth import RequestAuth
from bot.acs.retry import RETRY_STATUSES, Attempts, RetryPolicy, Waiting, retry_after

logger = logging.getLogger("roombot.acs")


@dataclass(frozen=True)
class AcsRequest:
    """One ACS call as data: what to send, and which answers mean it is done."""

    method: str
    path_and_query: str
    operation: str  # the SDK-style name, for logs, metrics and errors (never the path)
    body: bytes = b""
    content_type: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    ok: frozenset[int] = frozenset({200})
    ok_when_retried: frozenset[int] = frozenset()
    """Answers that mean done only after an earlier attempt may have reached the service:
    a retried delete that meets 404 finds the work of the attempt that was cut off."""
    not_found: type[AcsResponseError] = AcsResponseError


@dataclass(frozen=True)
class CallRecord:
    """One finished HTTP attempt, for metrics observers (no headers, no body, no secrets)."""

    method: str
    operation: str
    status: int | None
    seconds: float
    attempt: int


Observer = Callable[[CallRecord], None]


@dataclass(frozen=True)
class _MayPass:
    """An attempt failed in a way that waiting may cure."""

    failure: AcsError
    retry_after: float | None = None


class ConnectionLost(aiohttp.ClientConnectionError):
    """The connection broke after the request went out: it may or may not have been done."""


async def _no_hidden_resend(
    request: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType
) -> aiohttp.ClientResponse:
    """Keep aiohttp from re-sending a GET or DELETE on its own when a connection breaks.

    That hidden attempt would escape our count (a retried DELETE meeting 404 is success only
    if we know it was retried), our logs and our deadline. aiohttp re-sends only on
    `ServerDisconnectedError` or `ClientOSError`; raised as `ConnectionLost`, the failure
    comes straight back to our retry policy, which retries a stale keep-alive connection
    like any other broken one.
    """
    try:
        return await handler(request)
    except aiohttp.ClientConnectorError:
        raise  # never connected, so nothing was sent; aiohttp does not re-send these
    except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as exc:
        raise ConnectionLost(f"{type(exc).__name__}: {exc}") from exc


_ACS_MIDDLEWARES = (_no_hidden_resend,)
_RESENT_BY_AIOHTTP = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})
"""The methods aiohttp re-sends on its own (the idempotent ones of RFC 9110, section 9.2.2);
only their requests need `_no_hidden_resend`.
Building the middleware chain costs each request about 20 µs, and the hot ones (a room's
create, POST; its changes, PATCH) are never re-sent by aiohttp anyway."""


def _middlewares(method: str) -> tuple[aiohttp.ClientMiddlewareType, ...]:
    return _ACS_MIDDLEWARES if method in _RESENT_BY_AIOHTTP else ()


def new_session(*, ssl: Any = True, limit: int = 100) -> aiohttp.ClientSession:
    """A session for ACS clients: keep-alive connections, no session-wide timeout (each
    attempt is bounded by the retry policy instead)."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=limit, ssl=ssl),
        timeout=aiohttp.ClientTimeout(total=None),
    )


class AcsHttp:
    """Signs, sends, retries and maps errors; the only place that touches aiohttp."""

    def __init__(
        self,
        endpoint: URL,
        auth: RequestAuth,
        *,
        session: aiohttp.ClientSession | None,
        retry: RetryPolicy,
        ssl: Any,
        clock: Callable[[], datetime],
        observer: Observer | None,
        rng: random.Random | None,
        waiting: Waiting,
    ) -> None:
        self._endpoint = endpoint
        self._host = host_header(endpoint)
        self.base = str(endpoint).rstrip("/")
        self._auth = auth
        self._owns_session = session is None
        self._session = session
        self._retry = retry
        self._ssl = ssl
        self.clock = clock
        self._observer = observer
        self._rng = rng or random.Random()  # jitter, not security
        self._waiting = waiting
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

    async def send(self, request: AcsRequest, retry: RetryPolicy | None = None) -> bytes:
        """The response body once *request* succeeds; else the last attempt's AcsError."""
        session = self._client_session()
        attempts = Attempts(retry or self._retry, self._waiting, self._rng)
        while True:
            outcome = await self._attempt(session, request, attempts)
            if not isinstance(outcome, _MayPass):
                return outcome
            await attempts.wait_to_retry(outcome.failure, outcome.retry_after)

    async def _attempt(
        self, session: aiohttp.ClientSession, request: AcsRequest, attempts: Attempts
    ) -> bytes | _MayPass:
        """One signed attempt: the body when done, `_MayPass` when worth retrying; raises
        the typed error of an answer that no retry will change."""
        timeout = attempts.begin()
        url = URL(self.base + request.path_and_query, encoded=True)
        started = time.perf_counter()
        status: int | None = None
        headers = await self._headers(request)
        try:
            async with (
                asyncio.timeout(timeout),
                session.request(
                    request.method,
                    url,
                    data=request.body or None,
                    headers=headers,
                    middlewares=_middlewares(request.method),
                ) as response,
            ):
                status = response.status
                payload = await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            self._record(request, status, started, attempts.number)
            return _MayPass(_transport_error(request, exc))
        self._record(request, status, started, attempts.number)
        if status in request.ok or (attempts.number > 1 and status in request.ok_when_retried):
            return payload
        if status == 401:
            self._auth.rejected(headers)
        failure = _response_error(response, payload, request, keyless=self._auth.keyless)
        if status not in RETRY_STATUSES:
            raise failure
        return _MayPass(failure, retry_after(response.headers, self.clock()))

    async def _headers(self, request: AcsRequest) -> dict[str, str]:
        headers = await self._auth.headers(
            method=request.method,
            path_and_query=request.path_and_query,
            host=self._host,
            body=request.body,
        )
        if request.content_type:
            headers["Content-Type"] = request.content_type
        headers.update(request.headers)
        return headers

    def _record(
        self, request: AcsRequest, status: int | None, started: float, attempt: int
    ) -> None:
        seconds = time.perf_counter() - started
        method, operation = request.method, request.operation
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("ACS %s %s %s %.1fms", method, operation, status, seconds * 1000)
        if self._observer is not None:
            self._observer(CallRecord(method, operation, status, seconds, attempt))


def _transport_error(request: AcsRequest, exc: BaseException) -> AcsTransportError:
    kind = "timed out" if isinstance(exc, TimeoutError) else type(exc).__name__
    failure = AcsTransportError(f"{request.method} {request.operation}: {kind}")
    failure.__cause__ = exc
    return failure


def _response_error(
    response: aiohttp.ClientResponse, payload: bytes, request: AcsRequest, *, keyless: bool
) -> AcsResponseError:
    error = None
    if payload:
        try:
            error = CommunicationErrorResponse.model_validate_json(payload).error
        except ValidationError:
            error = None
    kind = request.not_found if response.status == 404 else AcsResponseError
    return kind(
        status=response.status,
        method=request.method,
        path=request.operation,
        error=error,
        error_code_header=response.headers.get("x-ms-error-code"),
        keyless=keyless,
    )
