"""Each Slack user's ACS identity: read from the directory, created in ACS when missing.

The store only records mappings (`bot.store.directory.IdentityDirectory`); creating the
identity, and deleting it again when another replica mapped the user first, is the
service's work, through the ACS port (`bot.service.ports.AcsIdentities`). Inside one
process a per-user lock and a single flight keep concurrent first mentions from creating
surplus identities in the first place.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime

from bot.domain import IdentityMapping
from bot.service.ports import AcsIdentities
from bot.store.directory import IdentityDirectory

logger = logging.getLogger("roombot.service.identities")

CREATE_CONCURRENCY = 8
"""How many identities one call creates at once, to stay clear of ACS throttling."""

KNOWN_FOR = 60.0
"""Seconds a mapping read from the database is reused without reading it again."""

KNOWN_AT_MOST = 10_000
"""Mappings kept for reuse at most; the one used least recently goes first. Without a bound
every person ever named would stay in memory for the life of the process."""


@dataclass
class _KeyLock:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0


class UserIdentities:
    """Mappings for the people a command names, creating the ACS identities that are missing.

    Mappings almost never change once made (only `roombot identities import --replace`
    changes one), so `get_or_create_many`, on every create's path, reuses what it read or
    made in the last `KNOWN_FOR` seconds (for at most `KNOWN_AT_MOST` people) instead of a
    read transaction per command; a replacement imported while the bot serves takes effect
    within that time.
    """

    def __init__(
        self,
        directory: IdentityDirectory,
        acs: AcsIdentities,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        known_at_most: int = KNOWN_AT_MOST,
    ) -> None:
        self._directory = directory
        self._acs = acs
        self._monotonic = monotonic
        self._locks: dict[tuple[str, str], _KeyLock] = {}
        self._flights: dict[tuple[str, str], asyncio.Future[IdentityMapping]] = {}
        self._known: OrderedDict[tuple[str, str], tuple[IdentityMapping, float]] = OrderedDict()
        self._known_at_most = known_at_most

    def _remember(self, mappings: Iterable[IdentityMapping]) -> None:
        until = self._monotonic() + KNOWN_FOR
        for mapping in mappings:
            key = (mapping.team_id, mapping.slack_user_id)
            self._known[key] = (mapping, until)
            self._known.move_to_end(key)
        while len(self._known) > self._known_at_most:
            self._known.popitem(last=False)

    def _recalled(self, team_id: str, users: Iterable[str]) -> dict[str, IdentityMapping]:
        now = self._monotonic()
        found: dict[str, IdentityMapping] = {}
        for user in users:
            known = self._known.get((team_id, user))
            if known is not None:
                if known[1] > now:
                    found[user] = known[0]
                    self._known.move_to_end((team_id, user))
                else:
                    del self._known[(team_id, user)]
        return found

    async def get_or_create(
        self, team_id: str, slack_user_id: str, *, now: datetime
    ) -> IdentityMapping:
        """The user's mapping, creating their ACS identity if needed.

        Errors from ACS propagate and nothing is stored. A surplus identity (another replica
        mapped the user first) is deleted; if that delete fails it is logged, not raised,
        since the user's own mapping is fine.

        Concurrent calls for one user in this process share a single creation and its
        outcome (a single flight): when ACS is down, every command waiting on a new user's
        identity hears so at once, rather than each in turn after its own deadline.
        """
        existing = await self._directory.lookup(team_id, slack_user_id)
        if existing is not None:
            return existing
        key = (team_id, slack_user_id)
        flight = self._flights.get(key)
        if flight is not None:
            return await asyncio.shield(flight)
        flight = asyncio.get_running_loop().create_future()
        self._flights[key] = flight
        try:
            mapping = await self._create(team_id, slack_user_id, now=now)
        except asyncio.CancelledError:
            flight.cancel()
            raise
        except BaseException as exc:
            flight.set_exception(exc)
            flight.exception()  # retrieved: waiters re-raise it, nobody logs it as lost
            raise
        else:
            flight.set_result(mapping)
            return mapping
        finally:
            del self._flights[key]

    async def _create(self, team_id: str, slack_user_id: str, *, now: datetime) -> IdentityMapping:
        async with self._user_lock(team_id, slack_user_id):
            existing = await self._directory.lookup(team_id, slack_user_id)
            if existing is not None:
                return existing
            identity = await self._acs.create_user()
            try:
                mapping = await self._directory.record(team_id, slack_user_id, identity.id, now=now)
            except Exception:
                await self._discard(identity.id, "its mapping could not be stored")
                raise
            if mapping.acs_raw_id != identity.id:
                await self._discard(identity.id, "another replica mapped the user first")
            else:
                logger.info("new ACS identity for %s/%s", team_id, slack_user_id)
            return mapping

    async def get_or_create_many(
        self, team_id: str, slack_user_ids: Iterable[str], *, now: datetime
    ) -> dict[str, IdentityMapping]:
        """Mappings for all *slack_user_ids* (in their order, once each), creating what is missing.

        Missing identities are created concurrently; every creation runs to its end before
        the first error, if any, is raised, so none is left half-done.
        """
        wanted = list(dict.fromkeys(slack_user_ids))
        found = self._recalled(team_id, wanted)
        unknown = [user for user in wanted if user not in found]
        if unknown:
            read = await self._directory.lookup_many(team_id, unknown)
            self._remember(read.values())
            found.update(read)
        missing = [user for user in wanted if user not in found]
        limit = asyncio.Semaphore(CREATE_CONCURRENCY)

        async def create(user: str) -> IdentityMapping:
            async with limit:
                return await self.get_or_create(team_id, user, now=now)

        results = await asyncio.gather(*(create(user) for user in missing), return_exceptions=True)
        made = [result for result in results if not isinstance(result, BaseException)]
        self._remember(made)  # the next command that names them need not read them back
        for result in results:
            if isinstance(result, BaseException):
                raise result
            found[result.slack_user_id] = result
        return {user: found[user] for user in wanted}

    @asynccontextmanager
    async def _user_lock(self, team_id: str, slack_user_id: str) -> AsyncIterator[None]:
        key = (team_id, slack_user_id)
        entry = self._locks.setdefault(key, _KeyLock())
        entry.users += 1
        try:
            async with entry.lock:
                yield
        finally:
            entry.users -= 1
            if entry.users == 0:
                del self._locks[key]

    async def _discard(self, raw_id: str, why: str) -> None:
        try:
            await self._acs.delete_user(raw_id)
        except Exception:
            logger.warning(
                "could not delete surplus ACS identity %s (%s); delete it by hand",
                raw_id,
                why,
                exc_info=True,
            )
        else:
            logger.info("deleted surplus ACS identity %s: %s", raw_id, why)
