"""People through the Slack Web API: who someone is (zone, bot, workspace) and group members.

`users.info` answers with the IANA zone Slack shows the user, their locale, whether they are a
bot and which workspace they belong to; that rarely changes, so it is cached for an hour per
user, and concurrent look-ups of one user share a single call. Its answer is untrusted: a zone
or locale that is not a usable string falls back to UTC and en-US (`bot.parsing.zone_checks`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.parsing.zone_checks import FALLBACK_LOCALE, FALLBACK_TZ, locale_or_default, tz_or_utc
from bot.service.outcomes import ServiceError, TryLater
from bot.service.ports import Person, UserZone
from bot.slack.errors import error_code

ZONE_TTL = 3600.0
_FALLBACK = UserZone(tz=FALLBACK_TZ, locale=FALLBACK_LOCALE)
_NEVER_TOLD = ("user_not_found", "user_not_visible", "missing_scope")
SLACKBOT = "USLACKBOT"
"""Slack's own bot: `users.info` calls it `is_bot: false`, but it is no person."""


class SlackPeople:
    """`People` for the service: people from `users.info`, groups from `usergroups.users.list`."""

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
        self._people: dict[tuple[str, str], tuple[float, Person]] = {}
        self._pending: dict[tuple[str, str], asyncio.Future[Person]] = {}

    @property
    def client(self) -> AsyncWebClient:
        return self._client

    def cached_zone(self, team_id: str, user_id: str) -> UserZone | None:
        """The zone if it is known and fresh, without any I/O (for the ack path)."""
        person = self._cached(team_id, user_id)
        return None if person is None else person.zone

    def remember(self, team_id: str, user_id: str, zone: UserZone) -> None:
        self._people[(team_id, user_id)] = (self._monotonic(), Person(user_id, zone))

    def _cached(self, team_id: str, user_id: str) -> Person | None:
        hit = self._people.get((team_id, user_id))
        if hit is not None and self._monotonic() - hit[0] < self._ttl:
            return hit[1]
        return None

    async def zone(self, team_id: str, user_id: str) -> UserZone:
        """The user's zone and locale; UTC/en-US when Slack cannot tell.

        TryLater when Slack could not be asked (unavailable, rate limited): their words must
        not be read in a zone that may be wrong.
        """
        return (await self.person(team_id, user_id)).zone

    async def person(self, team_id: str, user_id: str) -> Person:
        """What Slack says about *user_id* (cached); TryLater when Slack could not be asked."""
        cached = self._cached(team_id, user_id)
        if cached is not None:
            return cached
        key = (team_id, user_id)
        if key in self._pending:
            return await asyncio.shield(self._pending[key])
        future: asyncio.Future[Person] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            person = await self._fetch(user_id, team_id)
            self._people[key] = (self._monotonic(), person)
            future.set_result(person)
            return person
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters see it, nobody logs it as lost
            raise
        finally:
            del self._pending[key]

    async def _fetch(self, user_id: str, scope: str) -> Person:
        try:
            response = await self._client.users_info(user=user_id, include_locale=True)
        except SlackApiError as exc:
            if error_code(exc) in _NEVER_TOLD:
                return Person(user_id, _FALLBACK, known=False)  # read their words in UTC
            raise TryLater(
                f"Slack did not say which time zone you are in ({error_code(exc)}).",
                service="Slack",
            ) from exc
        user = response.get("user")
        return _person(user_id, user if isinstance(user, Mapping) else {}, scope)

    async def group_members(self, team_id: str, group_id: str) -> list[str]:
        """The members of a user group; ServiceError when Slack will not list them."""
        try:
            response = await self._client.usergroups_users_list(usergroup=group_id)
        except SlackApiError as exc:
            raise ServiceError(
                "unknown_group",
                f"I could not read the members of <!subteam^{group_id}> ({error_code(exc)}).",
                example="/room create tomorrow @alice @bob",
            ) from exc
        users = response.get("users")
        return [u for u in users if isinstance(u, str)] if isinstance(users, list) else []


def _person(user_id: str, user: Mapping[str, Any], scope: str) -> Person:
    """A `users.info` user read defensively: every field may be missing or of another type.

    A member of the organisation an org-wide install serves (`enterprise_user`) belongs to
    its *scope* (the organisation id, `bot.slack.workspaces`), whichever of its workspaces is
    their home.
    """
    profile = user.get("profile")
    profile = profile if isinstance(profile, Mapping) else {}
    team = user.get("team_id") or profile.get("team")
    enterprise = user.get("enterprise_user")
    if isinstance(enterprise, Mapping) and scope and enterprise.get("enterprise_id") == scope:
        team = scope
    return Person(
        user_id=user_id,
        zone=UserZone(tz=tz_or_utc(user.get("tz")), locale=locale_or_default(user.get("locale"))),
        is_bot=user.get("is_bot") is True or user_id == SLACKBOT,
        team_id=team if isinstance(team, str) and team else None,
    )
