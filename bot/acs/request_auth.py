"""How one ACS attempt proves who we are: an HMAC signature, or a Microsoft Entra bearer token.

`AcsHttp` asks for the headers afresh on every attempt (an HMAC signature carries the date, so
a retry must be signed again) and reports a 401 back, so a refused token is not used again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Protocol

from bot.acs.auth import AccessKey, http_date, sign
from bot.acs.entra import EntraTokens


class RequestAuth(Protocol):
    """The headers that authenticate one attempt, and what to do when they are refused."""

    keyless: bool

    async def headers(
        self, *, method: str, path_and_query: str, host: str, body: bytes
    ) -> dict[str, str]: ...

    def rejected(self, headers: Mapping[str, str]) -> None: ...


class HmacAuth:
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


class BearerAuth:
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
