"""A local stand-in for Microsoft Entra ID: a test issuer whose tokens the ACS emulator accepts.

With `ACS_ENDPOINT` roombot sends `Authorization: Bearer <JWT>` instead of an HMAC signature.
To test that path end to end over HTTP, like the HMAC path, the emulator needs tokens it can
check. The cloud's are RS256 JWTs signed by Entra; here the emulator and `LocalEntraCredential`
share an HMAC secret (HS256), which keeps what matters to roombot: a signature to check, an
audience derived from the scope asked for, and an expiry.

`LocalEntraCredential` has the shape of azure-core's `AsyncTokenCredential` (`get_token(*scopes)`
returning an `AccessToken`, `close()`), so it goes wherever `DefaultAzureCredential` would.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Callable
from types import TracebackType
from typing import Any, Final, Self

import jwt
from azure.core.credentials import AccessToken

ISSUER: Final = "https://login.microsoftonline.invalid/roombot-emulator/v2.0"
"""`iss` of every local token; `.invalid` so it can never be mistaken for a real tenant."""

ACS_AUDIENCES: Final = frozenset(
    {"https://communication.azure.com", "https://communication.azure.com/"}
)
"""What ACS accepts in `aud`: its resource URI, as a token for `…//.default` carries it."""

DEFAULT_LIFETIME: Final = 3600.0
_ALGORITHM: Final = "HS256"


def random_secret() -> str:
    """A fresh signing secret (256 bits, URL-safe text)."""
    return secrets.token_urlsafe(32)


class TokenRefused(Exception):
    """Why a bearer token was refused; for the emulator's log, never sent (and never the token)."""


class LocalEntraCredential:
    """Mints tokens signed with *secret* that expire *lifetime* seconds after *clock* (epoch s).

    *issued* counts the tokens minted and *closed* tells whether `close()` ran, so tests can see
    the cache refresh and the runtime close. Set *fail_with* to make `get_token` raise it, as
    an unreachable IMDS or a missing `az login` would.
    """

    def __init__(
        self,
        secret: str,
        *,
        lifetime: float = DEFAULT_LIFETIME,
        clock: Callable[[], float] = time.time,
        issuer: str = ISSUER,
    ) -> None:
        self._secret = secret
        self.lifetime = lifetime
        self._clock = clock
        self._issuer = issuer
        self._object_id = str(uuid.uuid4())
        self.issued = 0
        self.closed = False
        self.fail_with: Exception | None = None

    def __repr__(self) -> str:
        return f"LocalEntraCredential(issued={self.issued}, closed={self.closed})"

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        """A token for one `RESOURCE/.default` scope, as azure-identity's credentials take it."""
        if self.fail_with is not None:
            raise self.fail_with
        if len(scopes) != 1 or not scopes[0].endswith("/.default"):
            raise ValueError("give exactly one scope of the form RESOURCE/.default")
        now = self._clock()
        expires_on = int(now + self.lifetime)
        claims = {
            "iss": self._issuer,
            "aud": scopes[0].removesuffix(".default").removesuffix("/"),
            "oid": self._object_id,
            "sub": self._object_id,
            "iat": int(now),
            "nbf": int(now),
            "exp": expires_on,
        }
        self.issued += 1
        return AccessToken(jwt.encode(claims, self._secret, algorithm=_ALGORITHM), expires_on)

    async def close(self) -> None:
        self.closed = True

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


def verify_token(token: str, *, secret: str, now: float, issuer: str = ISSUER) -> None:
    """Raise TokenRefused unless *token* is signed with *secret*, for ACS, and valid at *now*.

    Expiry is checked against *now* (not the wall clock) so tests can move time.
    """
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[_ALGORITHM],
            issuer=issuer,
            options={
                "require": ["exp", "aud", "iss"],
                "verify_aud": False,  # checked below, against both spellings
                "verify_exp": False,  # checked below, against the injected clock
                "verify_nbf": False,
                "verify_iat": False,
            },
        )
    except jwt.InvalidTokenError as exc:
        raise TokenRefused(f"{type(exc).__name__}: {exc}") from None
    if claims["aud"] not in ACS_AUDIENCES:
        raise TokenRefused("the token is for another audience")
    if float(claims["exp"]) <= now:
        raise TokenRefused("the token has expired")
    if float(claims.get("nbf", now)) > now:
        raise TokenRefused("the token is not valid yet")


__all__ = [
    "ACS_AUDIENCES",
    "DEFAULT_LIFETIME",
    "ISSUER",
    "LocalEntraCredential",
    "TokenRefused",
    "random_secret",
    "verify_token",
]
