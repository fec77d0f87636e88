"""Keyless access to ACS: Microsoft Entra ID bearer tokens, cached and refreshed before expiry.

Azure shops that forbid long-lived keys give roombot an identity instead (a managed identity in
Azure, a developer's `az login` locally) and `azure-identity`'s `DefaultAzureCredential` turns
it into short-lived tokens for the scope `https://communication.azure.com//.default`.

Asking Entra for a token on every request would add a round trip (or an IMDS call) to each ACS
call and get throttled, so `EntraTokens` keeps the current token and asks for a new one only when
it is within `REFRESH_MARGIN` of its `expires_on`, as azure-core's own bearer policy does.
Concurrent callers share one refresh (a lock, checked again inside). A refresh that fails while
the old token is still valid keeps the old one: Entra hiccups must not fail calls that would
have worked.

The credential is anything shaped like azure-core's `AsyncTokenCredential` (`get_token(*scopes)`
returning `.token` and `.expires_on`), so tests hand in the emulator's local test issuer
(`bot.local.entra`). Tokens are secrets: nothing here logs one or puts one in a repr.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from bot.acs.errors import AcsError

logger = logging.getLogger("roombot.acs")

ACS_SCOPE = "https://communication.azure.com//.default"
"""The scope ACS data-plane tokens are issued for (the resource URI, then `/.default`)."""

REFRESH_MARGIN = 300.0
"""Seconds before `expires_on` at which a token is replaced (azure-core uses the same 5 min)."""

CREDENTIAL_HINT = (
    "roombot could not get a Microsoft Entra ID token for Azure Communication Services "
    "(ACS_ENDPOINT is set, so no access key is used): give it an identity (a managed identity "
    "in Azure; `az login` or AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_CLIENT_SECRET "
    "elsewhere) and try again."
)


class AccessTokenLike(Protocol):
    """What `get_token` returns: azure-core's `AccessToken` named tuple fits."""

    @property
    def token(self) -> str: ...

    @property
    def expires_on(self) -> int: ...


class AsyncTokenCredential(Protocol):
    """The part of azure-core's `AsyncTokenCredential` roombot uses."""

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessTokenLike: ...

    async def close(self) -> None: ...


class AcsCredentialError(AcsError):
    """No token could be had from the credential (no identity, Entra or IMDS unreachable)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, hint=CREDENTIAL_HINT)


class EntraTokens:
    """The current bearer token for one scope, refreshed ahead of its expiry.

    One instance is shared by the Rooms and Identity clients, so both use the same token and
    one refresh serves them both. *clock* returns epoch seconds, like `expires_on`.
    """

    def __init__(
        self,
        credential: AsyncTokenCredential,
        *,
        scope: str = ACS_SCOPE,
        refresh_margin: float = REFRESH_MARGIN,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._credential = credential
        self._scope = scope
        self._margin = refresh_margin
        self._clock = clock
        self._token: AccessTokenLike | None = None
        self._lock = asyncio.Lock()
        self.refreshes = 0  # tokens obtained so far, for tests and metrics

    def __repr__(self) -> str:
        return f"EntraTokens(scope={self._scope!r}, refreshes={self.refreshes})"

    async def authorization(self) -> str:
        """The `Authorization` header value for the next request."""
        token = self._token
        if token is None or self._due(token):
            token = await self._refresh()
        return "Bearer " + token.token

    def rejected(self, authorization: str) -> None:
        """The service refused this header (401): do not send that token again."""
        if self._token is not None and authorization == "Bearer " + self._token.token:
            self._token = None

    def _due(self, token: AccessTokenLike) -> bool:
        return token.expires_on - self._clock() <= self._margin

    def _expired(self, token: AccessTokenLike) -> bool:
        return token.expires_on <= self._clock()

    async def _refresh(self) -> AccessTokenLike:
        async with self._lock:
            current = self._token
            if current is not None and not self._due(current):
                return current  # another caller refreshed while this one waited
            try:
                fresh = await self._credential.get_token(self._scope)
            except Exception as exc:  # azure-identity raises several kinds; all mean "no token"
                reason = _first_line(exc)
                if current is not None and not self._expired(current):
                    left = current.expires_on - self._clock()
                    logger.warning(
                        "could not refresh the Microsoft Entra token (%s); "
                        "the current one is valid for %d s more",
                        reason,
                        left,
                    )
                    return current
                raise AcsCredentialError(f"no Microsoft Entra token: {reason}") from exc
            self._token = fresh
            self.refreshes += 1
            logger.debug(
                "Microsoft Entra token obtained, valid for %d s", fresh.expires_on - self._clock()
            )
            return fresh


def _first_line(exc: Exception) -> str:
    """DefaultAzureCredential's message lists every credential it tried; the first line says
    what failed overall, and never holds a token."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def default_credential() -> AsyncTokenCredential:
    """`DefaultAzureCredential` (managed identity in Azure, developer credentials locally).

    Imported here so deployments with an access key never load azure-identity.
    """
    from azure.identity.aio import DefaultAzureCredential

    credential: AsyncTokenCredential = DefaultAzureCredential()
    return credential


__all__ = [
    "ACS_SCOPE",
    "REFRESH_MARGIN",
    "AccessTokenLike",
    "AcsCredentialError",
    "AsyncTokenCredential",
    "EntraTokens",
    "default_credential",
]
