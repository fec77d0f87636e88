"""The scopes Slack granted the installed bot token, as Slack reports them.

Slack names a token's scopes in the `x-oauth-scopes` header of its Web API answers; `auth.test`
is the cheapest call that gets one. The default manifest asks only for what the bot needs to
work; the history lookups after an interruption need scopes of the optional
`manifest.history.yml`, and run only when the token has them: a room's card (`SlackAnswerer`)
any `*:history` scope, a reminder's direct message (`SlackReminders`) `im:history` to read the
person's DM and `im:write` to find it (`conversations.open`).

Scopes change only when an admin reinstalls the app, so the answer is kept for `TTL` seconds:
a reinstall is noticed within that time, and a busy bot asks Slack once in a while.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from slack_sdk.web.async_client import AsyncWebClient

HISTORY_SCOPES = frozenset({"channels:history", "groups:history", "im:history", "mpim:history"})
"""Reading a conversation's history, one scope per kind of conversation."""
DIRECT_MESSAGE_SCOPES = frozenset({"im:history", "im:write"})
"""Finding the app's DM with a person (`conversations.open`) and reading it."""

TTL = 600.0


class GrantedScopes:
    """What the token may do, from `auth.test`'s `x-oauth-scopes`; kept for *ttl* seconds.

    A failed `auth.test` (Slack unavailable) raises: the caller's answer is tried again later
    rather than decided on a guess.
    """

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        ttl: float = TTL,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._ttl = ttl
        self._monotonic = monotonic
        self._scopes: frozenset[str] | None = None
        self._checked_at = 0.0

    async def current(self) -> frozenset[str]:
        now = self._monotonic()
        if self._scopes is None or now - self._checked_at >= self._ttl:
            response = await self._client.auth_test()
            header = response.headers.get("x-oauth-scopes") or ""
            self._scopes = frozenset(s.strip() for s in header.split(",") if s.strip())
            self._checked_at = now
        return self._scopes

    async def can_read_history(self) -> bool:
        """Whether the token may read any kind of conversation's history."""
        return bool(await self.current() & HISTORY_SCOPES)

    async def can_read_direct_messages(self) -> bool:
        """Whether the token may open the app's DM with a person and read it."""
        return DIRECT_MESSAGE_SCOPES.issubset(await self.current())
