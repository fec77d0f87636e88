"""`roombot identities import FILE.csv` and `roombot identities list`.

Admins whose users already have ACS identities import them so the bot reuses them instead of
creating new ones. The file is `slack_user_id,acs_raw_id[,team_id]`, one mapping per line,
with an optional header line naming those columns. Rows without a team id take `--team`,
which is required only when such a row exists. Every invalid row is reported by its line
number and, if there is any, nothing is imported (exit 1). `list` prints the same CSV, so its
output can be imported elsewhere as it is.

Exit codes: 0 done, 1 invalid rows or database error, 2 configuration error.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from bot.config import ConfigError, load_settings
from bot.domain import ImportReport, ImportRow, RowProblem
from bot.store.errors import ImportRejected, StoreError
from bot.store.store import Store

COLUMNS = ("slack_user_id", "acs_raw_id", "team_id")

SLACK_USER_ID = re.compile(r"[UW][A-Z0-9]{1,31}")
SLACK_TEAM_ID = re.compile(r"T[A-Z0-9]{1,31}")
ACS_RAW_ID = re.compile(r"8:(acs|spool|dod-acs|gcch-acs):[A-Za-z0-9_.:-]{1,240}")
"""Communication-user raw ids: `8:acs:<resource>_<user>` (and the sovereign-cloud prefixes)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    importing = actions.add_parser(
        "import",
        help="import slack_user_id,acs_raw_id[,team_id] rows from a CSV file",
        description="Import Slack user -> ACS identity mappings, all or nothing.",
    )
    importing.add_argument("file", type=Path, metavar="FILE.csv", help="the CSV file ('-': stdin)")
    importing.add_argument(
        "--team", metavar="TEAM_ID", help="team id for rows without a third column (T…)"
    )
    importing.add_argument(
        "--replace",
        action="store_true",
        help="let rows change users who are already mapped (existing rooms keep the old id)",
    )
    importing.add_argument(
        "--dry-run", action="store_true", help="check and count, but write nothing"
    )
    listing = actions.add_parser(
        "list", help="print every mapping as CSV", description="Print mappings as CSV."
    )
    listing.add_argument("--team", metavar="TEAM_ID", help="only this team's mappings")


def run(args: argparse.Namespace) -> int:
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"roombot: {exc}", file=sys.stderr)
        return 2
    try:
        if args.action == "import":
            return asyncio.run(_import(settings.database_url, args))
        return asyncio.run(_list(settings.database_url, args.team))
    except (StoreError, SQLAlchemyError, OSError, ValueError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        print(f"roombot: {reason}", file=sys.stderr)
        return 1


def read_rows(
    lines: Iterable[str], *, default_team: str | None
) -> tuple[list[ImportRow], list[RowProblem]]:
    """The valid rows of a CSV text and a problem for each invalid one, both by line number."""
    rows: list[ImportRow] = []
    problems: list[RowProblem] = []
    reader = csv.reader(lines, skipinitialspace=True)
    first = True
    end = 0
    for fields in reader:
        # A quoted field may span lines; a row is named by the line it starts on.
        line, end = end + 1, reader.line_num
        cells = [cell.strip() for cell in fields]
        if not any(cells):
            continue
        if first and cells[0].casefold() == COLUMNS[0]:
            first = False
            header = tuple(cell.casefold() for cell in cells)
            if header not in (COLUMNS[:2], COLUMNS):
                problems.append(RowProblem(line, f"the header must be {','.join(COLUMNS)}"))
            continue
        first = False
        row = _row(line, cells, default_team)
        if isinstance(row, RowProblem):
            problems.append(row)
        else:
            rows.append(row)
    return rows, problems


def _row(line: int, cells: list[str], default_team: str | None) -> ImportRow | RowProblem:
    if len(cells) not in (2, 3):
        return RowProblem(line, f"expected 2 or 3 columns ({','.join(COLUMNS)}), got {len(cells)}")
    user, raw_id = cells[0], cells[1]
    team = cells[2] if len(cells) == 3 and cells[2] else default_team
    if not SLACK_USER_ID.fullmatch(user):
        return RowProblem(line, f"{user!r} is not a Slack user id (U… or W…)")
    if not ACS_RAW_ID.fullmatch(raw_id):
        return RowProblem(line, f"{raw_id!r} is not an ACS user raw id (8:acs:…)")
    if team is None:
        return RowProblem(line, "no team id: add a third column or pass --team T…")
    if not SLACK_TEAM_ID.fullmatch(team):
        return RowProblem(line, f"{team!r} is not a Slack team id (T…)")
    return ImportRow(line=line, team_id=team, slack_user_id=user, acs_raw_id=raw_id)


def _read_text(path: Path) -> str:
    if str(path) == "-":
        return sys.stdin.read()
    return path.read_text(encoding="utf-8-sig")


async def _import(database_url: str, args: argparse.Namespace) -> int:
    if args.team is not None and not SLACK_TEAM_ID.fullmatch(args.team):
        print(f"roombot: --team {args.team!r} is not a Slack team id (T…)", file=sys.stderr)
        return 2
    rows, problems = read_rows(
        io.StringIO(_read_text(args.file), newline=""), default_team=args.team
    )
    async with Store.open(database_url, migrate=True) as store:
        now = datetime.now(UTC)
        try:
            # With bad lines already found, still check the good ones against the database
            # (without writing) so that one run reports everything that needs fixing.
            report = await store.identities.import_rows(
                rows, now=now, replace=args.replace, dry_run=args.dry_run or bool(problems)
            )
        except ImportRejected as exc:
            problems.extend(exc.problems)
    if problems:
        print(f"{args.file}: nothing imported; fix these rows:", file=sys.stderr)
        for problem in sorted(problems, key=lambda p: p.line):
            print(f"  {problem}", file=sys.stderr)
        return 1
    print(_summary(report, dry_run=args.dry_run))
    return 0


def _summary(report: ImportReport, *, dry_run: bool) -> str:
    verb = "would import" if dry_run else "imported"
    parts = [f"{verb} {report.inserted}", f"{report.unchanged} already present"]
    if report.replaced:
        parts.append(f"{report.replaced} replaced")
    if report.repeated:
        parts.append(f"{report.repeated} repeated rows ignored")
    return ", ".join(parts)


async def _list(database_url: str, team: str | None) -> int:
    async with Store.open(database_url, migrate=True) as store:
        mappings = await store.identities.list(team)
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows((m.slack_user_id, m.acs_raw_id, m.team_id) for m in mappings)
    return 0
