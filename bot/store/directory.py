"""The identity directory: each Slack user (per workspace) has one ACS communication identity.

The first time a user is needed the directory asks a provisioner (the real `IdentityClient`)
for a new identity and stores it. Two replicas meeting the same new user at once both create
one; the primary key lets exactly one insert win, and the loser re-reads the winner's row and
deletes its own identity, so the table and ACS agree. Inside one process a per-user lock keeps
concurrent first mentions from creating surplus identities in the first place.
"""

from __future__ import annotations

import asyncio
import builtins
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, TypeVar

from sqlalchemy import select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import (
    IdentityMapping,
    IdentitySource,
    ImportReport,
    ImportRow,
    RowProblem,
)
from bot.store.engine import Sessions, insert_ignoring_conflicts
from bot.store.errors import ImportRejected
from bot.store.tables import IdentityRow

if TYPE_CHECKING:
    from bot.acs.models import CommunicationIdentity

logger = logging.getLogger("roombot.store.directory")

CREATE_CONCURRENCY = 8
"""How many identities one call creates at once, to stay clear of ACS throttling."""

_CHUNK = 500  # values per IN (...) list: well under SQLite's bound-parameter limit
_T = TypeVar("_T")


class IdentityProvisioner(Protocol):
    """Creates and deletes ACS identities; `bot.acs.client.IdentityClient` is one."""

    async def create_user(self) -> CommunicationIdentity: ...

    async def delete_user(self, raw_id: str) -> None: ...


@dataclass
class _KeyLock:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0


def _mapping(row: IdentityRow) -> IdentityMapping:
    return IdentityMapping(
        team_id=row.team_id,
        slack_user_id=row.slack_user_id,
        acs_raw_id=row.acs_raw_id,
        source=IdentitySource(row.source),
        created_at=row.created_at,
    )


def _chunks(items: Sequence[_T]) -> Iterable[Sequence[_T]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


KNOWN_FOR = 60.0
"""Seconds a mapping read from the database is reused without reading it again."""


class IdentityDirectory:
    """(Slack team id, Slack user id) -> ACS raw id, shared by every replica.

    Mappings almost never change once made (only `roombot identities import --replace` changes
    one), so `get_or_create_many`, on every create's path, reuses what it read in the last
    `KNOWN_FOR` seconds instead of a read transaction per command; a replacement imported
    while the bot serves takes effect within that time.
    """

    def __init__(
        self, sessions: Sessions, *, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._sessions = sessions
        self._locks: dict[tuple[str, str], _KeyLock] = {}
        self._flights: dict[tuple[str, str], asyncio.Future[IdentityMapping]] = {}
        self._known: dict[tuple[str, str], tuple[IdentityMapping, float]] = {}
        self._monotonic = monotonic

    def _remember(self, mappings: Iterable[IdentityMapping]) -> None:
        until = self._monotonic() + KNOWN_FOR
        for mapping in mappings:
            self._known[(mapping.team_id, mapping.slack_user_id)] = (mapping, until)

    def _recalled(self, team_id: str, users: Iterable[str]) -> dict[str, IdentityMapping]:
        now = self._monotonic()
        found: dict[str, IdentityMapping] = {}
        for user in users:
            known = self._known.get((team_id, user))
            if known is not None:
                if known[1] > now:
                    found[user] = known[0]
                else:
                    del self._known[(team_id, user)]
        return found

    async def lookup(self, team_id: str, slack_user_id: str) -> IdentityMapping | None:
        """The user's mapping, or None when they have none yet."""
        async with self._sessions.read() as session:
            row = await session.get(IdentityRow, (team_id, slack_user_id))
            return None if row is None else _mapping(row)

    async def lookup_many(
        self, team_id: str, slack_user_ids: Iterable[str]
    ) -> dict[str, IdentityMapping]:
        """The mappings that exist among *slack_user_ids*, by Slack user id."""
        wanted = builtins.list(dict.fromkeys(slack_user_ids))
        found: dict[str, IdentityMapping] = {}
        async with self._sessions.read() as session:
            for chunk in _chunks(wanted):
                rows = await session.scalars(
                    select(IdentityRow).where(
                        IdentityRow.team_id == team_id, IdentityRow.slack_user_id.in_(chunk)
                    )
                )
                found.update((row.slack_user_id, _mapping(row)) for row in rows)
        return found

    async def get_or_create(
        self,
        team_id: str,
        slack_user_id: str,
        provisioner: IdentityProvisioner,
        *,
        now: datetime,
    ) -> IdentityMapping:
        """The user's mapping, creating their ACS identity through *provisioner* if needed.

        Errors from `provisioner.create_user` propagate and nothing is stored. A surplus
        identity (another replica won the insert) is deleted; if that delete fails it is
        logged, not raised, since the user's own mapping is fine.

        Concurrent calls for one user in this process share a single creation and its
        outcome (a single flight): when ACS is down, every command waiting on a new user's
        identity hears so at once, rather than each in turn after its own deadline.
        """
        existing = await self.lookup(team_id, slack_user_id)
        if existing is not None:
            return existing
        key = (team_id, slack_user_id)
        flight = self._flights.get(key)
        if flight is not None:
            return await asyncio.shield(flight)
        flight = asyncio.get_running_loop().create_future()
        self._flights[key] = flight
        try:
            mapping = await self._create(team_id, slack_user_id, provisioner, now=now)
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

    async def _create(
        self,
        team_id: str,
        slack_user_id: str,
        provisioner: IdentityProvisioner,
        *,
        now: datetime,
    ) -> IdentityMapping:
        async with self._user_lock(team_id, slack_user_id):
            existing = await self.lookup(team_id, slack_user_id)
            if existing is not None:
                return existing
            identity = await provisioner.create_user()
            try:
                mapping = await self._insert_or_read(team_id, slack_user_id, identity.id, now)
            except Exception:
                await _discard(provisioner, identity.id, "its mapping could not be stored")
                raise
            if mapping.acs_raw_id != identity.id:
                await _discard(provisioner, identity.id, "another replica mapped the user first")
            else:
                logger.info("new ACS identity for %s/%s", team_id, slack_user_id)
            return mapping

    async def get_or_create_many(
        self,
        team_id: str,
        slack_user_ids: Iterable[str],
        provisioner: IdentityProvisioner,
        *,
        now: datetime,
    ) -> dict[str, IdentityMapping]:
        """Mappings for all *slack_user_ids* (in their order, once each), creating what is missing.

        Missing identities are created concurrently; every creation runs to its end before
        the first error, if any, is raised, so none is left half-done.
        """
        wanted = builtins.list(dict.fromkeys(slack_user_ids))
        found = self._recalled(team_id, wanted)
        unknown = [user for user in wanted if user not in found]
        if unknown:
            read = await self.lookup_many(team_id, unknown)
            self._remember(read.values())
            found.update(read)
        missing = [user for user in wanted if user not in found]
        limit = asyncio.Semaphore(CREATE_CONCURRENCY)

        async def create(user: str) -> IdentityMapping:
            async with limit:
                return await self.get_or_create(team_id, user, provisioner, now=now)

        results = await asyncio.gather(*(create(user) for user in missing), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
            found[result.slack_user_id] = result
        return {user: found[user] for user in wanted}

    async def list(self, team_id: str | None = None) -> builtins.list[IdentityMapping]:
        """Every mapping (of one team, if given), ordered by team then Slack user id."""
        query = select(IdentityRow).order_by(IdentityRow.team_id, IdentityRow.slack_user_id)
        if team_id is not None:
            query = query.where(IdentityRow.team_id == team_id)
        async with self._sessions.read() as session:
            return [_mapping(row) for row in await session.scalars(query)]

    async def import_rows(
        self,
        rows: Sequence[ImportRow],
        *,
        now: datetime,
        replace: bool = False,
        dry_run: bool = False,
    ) -> ImportReport:
        """Import admin-supplied mappings, all or nothing.

        A row equal to a stored mapping is left as it is; a row that maps an already mapped
        user to a different identity is refused unless *replace*. Raise `ImportRejected`
        naming every refused row (by line) and write nothing; with *dry_run*, check and count
        but never write.
        """
        async with self._sessions.write() as session:
            plan = await _plan_import(session, rows, replace=replace)
            if plan.problems:
                raise ImportRejected(plan.problems)
            if not dry_run:
                await _apply_import(session, plan, now)
                self._known.clear()
            return plan.report()

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

    async def _insert_or_read(
        self, team_id: str, slack_user_id: str, raw_id: str, now: datetime
    ) -> IdentityMapping:
        insert = (
            insert_ignoring_conflicts(
                self._sessions.dialect, IdentityRow, ["team_id", "slack_user_id"]
            )
            .values(
                team_id=team_id,
                slack_user_id=slack_user_id,
                acs_raw_id=raw_id,
                source=IdentitySource.PROVISIONED.value,
                created_at=now,
            )
            .returning(IdentityRow.acs_raw_id)
        )
        async with self._sessions.write() as session:
            await session.execute(insert)
            row = await session.get(IdentityRow, (team_id, slack_user_id), populate_existing=True)
            if row is None:  # pragma: no cover - the insert or the conflicting row put it there
                raise RuntimeError(f"identity row for {team_id}/{slack_user_id} vanished")
            return _mapping(row)


async def _discard(provisioner: IdentityProvisioner, raw_id: str, why: str) -> None:
    try:
        await provisioner.delete_user(raw_id)
    except Exception:
        logger.warning(
            "could not delete surplus ACS identity %s (%s); delete it by hand",
            raw_id,
            why,
            exc_info=True,
        )
    else:
        logger.info("deleted surplus ACS identity %s: %s", raw_id, why)


@dataclass
class _ImportPlan:
    inserts: builtins.list[ImportRow] = field(default_factory=builtins.list)
    replacements: builtins.list[ImportRow] = field(default_factory=builtins.list)
    problems: builtins.list[RowProblem] = field(default_factory=builtins.list)
    unchanged: int = 0
    repeated: int = 0

    def report(self) -> ImportReport:
        return ImportReport(
            inserted=len(self.inserts),
            unchanged=self.unchanged,
            replaced=len(self.replacements),
            repeated=self.repeated,
        )


async def _plan_import(
    session: AsyncSession, rows: Sequence[ImportRow], *, replace: bool
) -> _ImportPlan:
    plan = _ImportPlan()
    by_user: dict[tuple[str, str], ImportRow] = {}
    by_raw_id: dict[str, ImportRow] = {}
    for row in rows:
        user = (row.team_id, row.slack_user_id)
        earlier = by_user.get(user)
        if earlier is not None:
            if earlier.acs_raw_id == row.acs_raw_id:
                plan.repeated += 1
            else:
                plan.problems.append(
                    RowProblem(
                        row.line,
                        f"{row.slack_user_id} (team {row.team_id}) is already given a different "
                        f"ACS id on line {earlier.line}",
                    )
                )
            continue
        other = by_raw_id.get(row.acs_raw_id)
        if other is not None:
            plan.problems.append(
                RowProblem(
                    row.line,
                    f"ACS id {row.acs_raw_id} is already given to {other.slack_user_id} "
                    f"(team {other.team_id}) on line {other.line}",
                )
            )
            continue
        by_user[user] = row
        by_raw_id[row.acs_raw_id] = row

    stored_by_user: dict[tuple[str, str], IdentityRow] = {}
    stored_by_raw_id: dict[str, IdentityRow] = {}
    users = builtins.list(by_user)
    raw_ids = builtins.list(by_raw_id)
    for user_chunk in _chunks(users):
        query = select(IdentityRow).where(
            tuple_(IdentityRow.team_id, IdentityRow.slack_user_id).in_(user_chunk)
        )
        for found in await session.scalars(query):
            stored_by_user[(found.team_id, found.slack_user_id)] = found
    for raw_chunk in _chunks(raw_ids):
        query = select(IdentityRow).where(IdentityRow.acs_raw_id.in_(raw_chunk))
        for found in await session.scalars(query):
            stored_by_raw_id[found.acs_raw_id] = found

    for user, row in by_user.items():
        holder = stored_by_raw_id.get(row.acs_raw_id)
        if holder is not None and (holder.team_id, holder.slack_user_id) != user:
            plan.problems.append(
                RowProblem(
                    row.line,
                    f"ACS id {row.acs_raw_id} is already mapped to {holder.slack_user_id} "
                    f"(team {holder.team_id})",
                )
            )
            continue
        stored = stored_by_user.get(user)
        if stored is None:
            plan.inserts.append(row)
        elif stored.acs_raw_id == row.acs_raw_id:
            plan.unchanged += 1
        elif replace:
            plan.replacements.append(row)
        else:
            plan.problems.append(
                RowProblem(
                    row.line,
                    f"{row.slack_user_id} (team {row.team_id}) is already mapped to "
                    f"{stored.acs_raw_id}; use --replace to change it",
                )
            )
    return plan


async def _apply_import(session: AsyncSession, plan: _ImportPlan, now: datetime) -> None:
    imported = IdentitySource.IMPORTED.value
    if plan.inserts:
        session.add_all(
            IdentityRow(
                team_id=row.team_id,
                slack_user_id=row.slack_user_id,
                acs_raw_id=row.acs_raw_id,
                source=imported,
                created_at=now,
            )
            for row in plan.inserts
        )
        await session.flush()
    for row in plan.replacements:
        await session.execute(
            update(IdentityRow)
            .where(
                IdentityRow.team_id == row.team_id,
                IdentityRow.slack_user_id == row.slack_user_id,
            )
            .values(acs_raw_id=row.acs_raw_id, source=imported, created_at=now)
        )
