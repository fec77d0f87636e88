"""The shareable room link, `/rooms/{room_id}`: Sign in with Slack, then the same join page.

Slack's OpenID Connect flow: the link redirects to Slack's authorize page with a fresh
`state` and `nonce`, kept (with the room and a deadline) in a cookie signed with the app's
client secret; Slack redirects back to `/rooms/signed-in` with a code, which roombot exchanges
(`openid.connect.token`) and uses (`openid.connect.userInfo`) to learn who this is and in which
workspace. Then the same checks as the Join button mint a personal code, and the browser goes
on to `/join/{code}`. The ID token is read without checking its signature: it came straight
from Slack's token endpoint over TLS, which OpenID Connect Core §3.1.3.7 allows; its `aud`,
`exp` and `nonce` are checked.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.logs import scrub_at_source

logger = logging.getLogger("roombot.join.signin")

COOKIE = "roombot_signin"
COOKIE_LIFETIME = 600
"""Seconds a person has to finish signing in at Slack."""
SCOPE = "openid profile"


class SignInFailed(Exception):
    """Signing in did not work; *code* is stable, the message says what to do."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Started:
    """Where to send the browser, and the cookie that remembers this attempt."""

    authorize_url: str
    cookie: str


@dataclass(frozen=True, slots=True)
class SignedIn:
    team_id: str
    user_id: str
    name: str
    room_id: str
    enterprise_id: str | None = None
    """The person's Enterprise Grid organisation, if any: an org-wide install keeps its rooms
    under the organisation's id (`bot.slack.workspaces`), not their workspace's."""


class SlackSignIn:
    """Sign in with Slack for the room link."""

    def __init__(
        self,
        *,
        client: AsyncWebClient,
        client_id: str,
        client_secret: str,
        web_url: str,
        public_url: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        scrub_at_source("slack_sdk.web.async_base_client")  # it logs the code and the tokens
        self._client_id = client_id
        self._client_secret = client_secret
        self._authorize = web_url.rstrip("/") + "/openid/connect/authorize"
        self.redirect_uri = public_url.rstrip("/") + "/rooms/signed-in"
        credentials = f"{client_id}:{client_secret}".encode()
        self._basic = "Basic " + base64.b64encode(credentials).decode("ascii")
        self._key = hashlib.sha256(b"roombot room-link cookie:" + client_secret.encode()).digest()
        self._clock = clock

    def start(self, room_id: str) -> Started:
        state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        query = urlencode(
            {
                "response_type": "code",
                "scope": SCOPE,
                "client_id": self._client_id,
                "state": state,
                "nonce": nonce,
                "redirect_uri": self.redirect_uri,
            }
        )
        remembered = {
            "state": state,
            "nonce": nonce,
            "room": room_id,
            "exp": int(self._clock()) + COOKIE_LIFETIME,
        }
        return Started(authorize_url=f"{self._authorize}?{query}", cookie=self._seal(remembered))

    async def finish(self, *, cookie: str | None, state: str, code: str) -> SignedIn:
        """Check the attempt (state, deadline), exchange *code*, check the nonce; who it is."""
        remembered = self._open(cookie)
        if remembered is None or not hmac.compare_digest(str(remembered["state"]), state):
            raise SignInFailed(
                "sign_in_state",
                "This sign-in did not start here or took too long. Open the room link again.",
            )
        try:
            # The client's credentials go in an Authorization header (which slack-sdk's debug
            # log redacts), not the form (which it logs); its own `auth=` path uses aiohttp's
            # deprecated BasicAuth.
            tokens = await self._client.api_call(
                "openid.connect.token",
                data={"code": code, "redirect_uri": self.redirect_uri},
                headers={"Authorization": self._basic},
            )
            claims = _claims(str(tokens.get("id_token") or ""))
            if (
                claims.get("aud") != self._client_id
                or not hmac.compare_digest(str(claims.get("nonce", "")), str(remembered["nonce"]))
                or float(claims.get("exp", 0)) <= self._clock()
            ):
                raise SignInFailed(
                    "sign_in_token", "Slack's answer did not match this sign-in. Try again."
                )
            info = await self._client.openid_connect_userInfo(
                token=str(tokens.get("access_token") or "")
            )
        except SlackApiError as exc:
            error = exc.response.get("error") if exc.response is not None else "error"
            logger.warning("Sign in with Slack failed: %s", error)
            raise SignInFailed(
                "sign_in_failed",
                f"Slack did not confirm who you are ({error}). Open the room link again.",
            ) from exc
        user_id = str(info.get("https://slack.com/user_id") or "")
        team_id = str(info.get("https://slack.com/team_id") or "")
        if not user_id or not team_id or info.get("sub") != claims.get("sub"):
            raise SignInFailed("sign_in_token", "Slack's answer did not say who you are.")
        name = str(info.get("name") or info.get("given_name") or user_id)
        enterprise_id = str(info.get("https://slack.com/enterprise_id") or "") or None
        return SignedIn(
            team_id=team_id,
            user_id=user_id,
            name=name,
            room_id=str(remembered["room"]),
            enterprise_id=enterprise_id,
        )

    def _seal(self, value: dict[str, Any]) -> str:
        body = base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")
        mac = hmac.new(self._key, body.encode(), hashlib.sha256).hexdigest()
        return f"{body}.{mac}"

    def _open(self, sealed: str | None) -> dict[str, Any] | None:
        if not sealed or "." not in sealed:
            return None
        body, _, mac = sealed.rpartition(".")
        expected = hmac.new(self._key, body.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(mac, expected):
            return None
        try:
            value = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        except (ValueError, binascii.Error):
            return None
        if not isinstance(value, dict) or int(value.get("exp", 0)) <= self._clock():
            return None
        return value


def _claims(id_token: str) -> dict[str, Any]:
    parts = id_token.split(".")
    if len(parts) != 3:
        raise SignInFailed("sign_in_token", "Slack's answer had no ID token. Try again.")
    try:
        value = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        raise SignInFailed("sign_in_token", "Slack's ID token was unreadable. Try again.") from None
    if not isinstance(value, dict):
        raise SignInFailed("sign_in_token", "Slack's ID token was unreadable. Try again.")
    return value
