"""Fixtures for the ACS tests: the emulator on loopback and a raw signed HTTP caller for it."""

from __future__ import annotations

import json
import ssl
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest
from multidict import CIMultiDictProxy
from yarl import URL

from bot.acs.auth import AccessKey, sign
from bot.local.emulator import EmulatorServer


@pytest.fixture(name="emulator")
async def _emulator() -> AsyncIterator[EmulatorServer]:
    async with EmulatorServer() as emulator:
        yield emulator


@dataclass(frozen=True)
class Reply:
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def error(self) -> dict[str, Any]:
        error: dict[str, Any] = self.json()["error"]
        return error


class SignedHttp:
    """Sends requests signed exactly as the service checks them, without any client library.

    *path* may be a path with query or an absolute URL (a `nextLink`); the signed host is the
    endpoint's `host:port`, which is what aiohttp puts in the `Host` header.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        endpoint: str,
        access_key: str,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.session = session
        self.endpoint = endpoint
        self.key = AccessKey.from_base64(access_key)
        self.ssl_context = ssl_context

    @classmethod
    def for_emulator(cls, session: aiohttp.ClientSession, emulator: EmulatorServer) -> SignedHttp:
        return cls(
            session,
            endpoint=emulator.endpoint,
            access_key=emulator.access_key,
            ssl_context=emulator.ssl_context_for_clients,
        )

    async def request(
        self,
        method: str,
        path: str,
        json_body: Any = None,
        *,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        key: AccessKey | None = None,
        content_type: str | None = None,
        date: datetime | None = None,
    ) -> Reply:
        if body is None:
            body = b"" if json_body is None else json.dumps(json_body).encode()
        parts = urlsplit(path)
        path_and_query = parts.path + (f"?{parts.query}" if parts.query else "")
        endpoint = urlsplit(self.endpoint)
        signed = sign(
            method=method,
            path_and_query=path_and_query,
            host=endpoint.netloc,
            date=date or datetime.now(UTC),
            body=body,
            key=key or self.key,
        )
        all_headers = {**signed, **(headers or {})}
        if body:
            all_headers.setdefault("Content-Type", content_type or "application/json")
        url = f"{endpoint.scheme}://{endpoint.netloc}{path_and_query}"
        async with self.session.request(
            method,
            URL(url, encoded=True),
            data=body,
            headers=all_headers,
            ssl=self.ssl_context or True,
        ) as response:
            return Reply(response.status, response.headers, await response.read())


@pytest.fixture(name="make_signed_http")
async def _make_signed_http() -> AsyncIterator[Callable[[EmulatorServer], SignedHttp]]:
    """For tests that start their own emulator (a small page size, faults, TLS)."""
    async with aiohttp.ClientSession() as session:
        yield lambda emulator: SignedHttp.for_emulator(session, emulator)


@pytest.fixture(name="signed_http")
def _signed_http(
    emulator: EmulatorServer, make_signed_http: Callable[[EmulatorServer], SignedHttp]
) -> SignedHttp:
    return make_signed_http(emulator)
