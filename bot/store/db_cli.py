"""`roombot db upgrade` and `roombot db current`: schema maintenance without starting the bot.

The bot upgrades on start as well; this is for deployments that migrate in a separate step
(several replicas, a release job). An existing database is only ever upgraded, never dropped.

Exit codes: 0 done, 1 database error, 2 configuration error.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from bot.config import ConfigError, load_settings
from bot.store import migrate


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    upgrading = actions.add_parser(
        "upgrade",
        help="apply pending migrations (DATABASE_URL)",
        description="Apply pending migrations to the database named by DATABASE_URL.",
    )
    upgrading.add_argument(
        "revision", nargs="?", default="head", help="target revision (default: head)"
    )
    actions.add_parser(
        "current",
        help="print the database's revision and this code's head",
        description="Print the database's schema revision and this code's head revision.",
    )


def run(args: argparse.Namespace) -> int:
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"roombot: {exc}", file=sys.stderr)
        return 2
    # Which database was checked, always said, never with its password.
    where = make_url(settings.database_url).render_as_string(hide_password=True)
    try:
        status = asyncio.run(_run(settings.database_url, args.action, args))
    except (SQLAlchemyError, OSError, ValueError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        print(f"roombot: DATABASE_URL: cannot open the database {where}: {reason}", file=sys.stderr)
        return 1
    schema = "empty" if status.current is None else f"{status.current} ({status.state.value})"
    print(f"database {where}: schema {schema}; this code's head: {status.head}")
    return 0


async def _run(url: str, action: str, args: argparse.Namespace) -> migrate.SchemaStatus:
    if action == "upgrade":
        return await migrate.upgrade_database(url, args.revision)
    return await migrate.database_status(url)
