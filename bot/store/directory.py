"""The identity directory: the one ACS communication identity of each Slack user (per workspace).

Only the mapping lives here; the service creates identities in ACS (`bot.service.identities`)
and records them with `record`. Two replicas meeting the same new user at once both create
one; the primary key lets exactly one `record` win, and the loser gets the winner's mapping
back, so the service can delete its own surplus identity and the table and ACS agree.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import select, tuple_, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from bot.domain import IdentityMapping, IdentitySource, ImportReport, ImportRow, RowProblem
from bot.store.engine import Database, insert_ignoring_conflicts, orm
from bot.store.errors import ImportRejected
from bot.store.tables import IdentityRow

_CHUNK = 500  # values per IN (...) list: well under SQLite's bound-parameter limit
_T = TypeVar("_T")


def _mapping(row: Any) -> IdentityMapping:
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


class IdentityDirectory:
    """(Slack team id, Slack user id) -> ACS raw id, shared by every replica."""

    def __init__(self, database: Database) -> None:
        self._db = database
        self._insert = insert_ignoring_conflicts(
            database.dialect, IdentityRow, ["team_id", "slack_user_id"]
        )

    async def lookup(self, team_id: str, slack_user_id: str) -> IdentityMapping | None:
        """The user's mapping, or None when they have none yet."""
        found = await self.lookup_many(team_id, [slack_user_id])
        return found.get(slack_user_id)

    async def lookup_many(
        self, team_id: str, slack_user_ids: Iterable[str]
    ) -> dict[str, IdentityMapping]:
        """The mappings that exist among *slack_user_ids*, by Slack user id."""
        return await self._db.read(
            _lookup_many, team_id, builtins.list(dict.fromkeys(slack_user_ids))
        )

    async def record(
        self, team_id: str, slack_user_id: str, acs_raw_id: str, *, now: datetime
    ) -> IdentityMapping:
        """Map the user to the identity the service just created, unless somebody mapped them
        first: the mapping that stands either way (compare its raw id with yours)."""
        return await self._db.write(_record, self._insert, team_id, slack_user_id, acs_raw_id, now)

    async def list(self, team_id: str | None = None) -> builtins.list[IdentityMapping]:
        """Every mapping (of one team, if given), ordered by team then Slack user id."""
        query = select(IdentityRow).order_by(IdentityRow.team_id, IdentityRow.slack_user_id)
        if team_id is not None:
            query = query.where(IdentityRow.team_id == team_id)
        return await self._db.read(_mappings, query)

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
        return await self._db.write(_import, rows, now=now, replace=replace, dry_run=dry_run)


def _lookup_many(
    connection: Connection, team_id: str, wanted: builtins.list[str]
) -> dict[str, IdentityMapping]:
    session = orm(connection)
    found: dict[str, IdentityMapping] = {}
    for chunk in _chunks(wanted):
        rows = session.scalars(
            select(IdentityRow).where(
                IdentityRow.team_id == team_id, IdentityRow.slack_user_id.in_(chunk)
            )
        )
        found.update((row.slack_user_id, _mapping(row)) for row in rows)
    return found


def _mappings(connection: Connection, query: Any) -> builtins.list[IdentityMapping]:
    session = orm(connection)
    return [_mapping(row) for row in session.scalars(query)]


def _record(
    connection: Connection,
    insert: Any,
    team_id: str,
    slack_user_id: str,
    raw_id: str,
    now: datetime,
) -> IdentityMapping:
    session = orm(connection)
    session.execute(
        insert.values(
            team_id=team_id,
            slack_user_id=slack_user_id,
            acs_raw_id=raw_id,
            source=IdentitySource.PROVISIONED.value,
            created_at=now,
        )
    )
    row = session.get(IdentityRow, (team_id, slack_user_id), populate_existing=True)
    if row is None:  # pragma: no cover - the insert or the conflicting row put it there
        raise RuntimeError(f"identity row for {team_id}/{slack_user_id} vanished")
    return _mapping(row)


def _import(
    connection: Connection,
    rows: Sequence[ImportRow],
    *,
    now: datetime,
    replace: bool,
    dry_run: bool,
) -> ImportReport:
    session = orm(connection)
    plan = _plan_import(session, rows, replace=replace)
    if plan.problems:
        raise ImportRejected(plan.problems)
    if not dry_run:
        _apply_import(session, plan, now)
        session.flush()
    return plan.report()


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


def _plan_import(session: Session, rows: Sequence[ImportRow], *, replace: bool) -> _ImportPlan:
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
        for found in session.scalars(query):
            stored_by_user[(found.team_id, found.slack_user_id)] = found
    for raw_chunk in _chunks(raw_ids):
        query = select(IdentityRow).where(IdentityRow.acs_raw_id.in_(raw_chunk))
        for found in session.scalars(query):
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


def _apply_import(session: Session, plan: _ImportPlan, now: datetime) -> None:
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
        session.flush()
    for row in plan.replacements:
        session.execute(
            update(IdentityRow)
            .where(
                IdentityRow.team_id == row.team_id,
                IdentityRow.slack_user_id == row.slack_user_id,
            )
            .values(acs_raw_id=row.acs_raw_id, source=imported, created_at=now)
        )
