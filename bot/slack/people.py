"""People through the Slack Web API: time zones (cached) and user-group members.

`users.info` answers with the IANA zone Slack shows the user; it rarely changes, so it is
cached for an hour per user, and concurrent look-ups of one user share a single call.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.service.outcomes import ServiceError, TryLater
from bot.service.ports import UserZone

ZONE_TTL = 3600.0
_FALLBACK = UserZone(tz="UTC", locale="en-US")


class SlackPeople:
    """`People` for the service: zones from `users.info`, groups from `usergroups.users.list`."""

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        ttl: float = ZONE_TTL,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._ttl = ttl
        self._monotonic = monotonic
        self._zones: dict[tuple[str, str], tuple[float, UserZone]] = {}
        self._pending: dict[tuple[str, str], asyncio.Future[UserZone]] = {}

    @property
    def client(self) -> AsyncWebClient:
        return self._client

    def cached_zone(self, team_id: str, user_id: str) -> UserZone | None:
        """The zone if it is known and fresh, without any I/O (for the ack path)."""
        hit = self._zones.get((team_id, user_id))
        if hit is not None and self._monotonic() - hit[0] < self._ttl:
            return hit[1]
        return None

    def remember(self, team_id: str, user_id: str, zone: UserZone) -> None:
        self._zones[(team_id, user_id)] = (self._monotonic(), zone)

    async def zone(self, team_id: str, user_id: str) -> UserZone:
        """The user's zone and locale; UTC/en-US when Slack cannot tell (never raises)."""
        cached = self.cached_zone(team_id, user_id)
        if cached is not None:
            return cached
        key = (team_id, user_id)
        if key in self._pending:
            return await asyncio.shield(self._pending[key])
        future: asyncio.Future[UserZone] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            zone = await self._fetch(user_id)
            self.remember(team_id, user_id, zone)
            future.set_result(zone)
            return zone
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters see it, nobody logs it as lost
            raise
        finally:
            del self._pending[key]

    async def _fetch(self, user_id: str) -> UserZone:
        try:
            response = await self._client.users_info(user=user_id, include_locale=True)
        except SlackApiError as exc:
            if _error(exc) in ("user_not_found", "user_not_visible", "missing_scope"):
                return _FALLBACK  # Slack will never tell; read their words in UTC
            raise TryLater(
                f"Slack did not say which time zone you are in ({_error(exc)})."
            ) from exc
        user = response.get("user") or {}
        tz = user.get("tz") or "UTC"
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            tz = "UTC"
        return UserZone(tz=tz, locale=user.get("locale") or "en-US")

    async def group_members(self, team_id: str, group_id: str) -> list[str]:
        """The members of a user group; ServiceError when Slack will not list them."""
        try:
            response = await self._client.usergroups_users_list(usergroup=group_id)
        except SlackApiError as exc:
            raise ServiceError(
                "unknown_group",
                f"I could not read the members of <!subteam^{group_id}> ({_error(exc)}).",
                example="/room create tomorrow @alice @bob",
            ) from exc
        return list(response.get("users") or [])


def _error(exc: SlackApiError) -> str:
    return str(exc.response.get("error", "error")) if exc.response is not None else "error"
