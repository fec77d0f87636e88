"""Start-up does not pay for Alembic when the schema is already current."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bot.store import migrate


def test_the_head_constant_is_the_scripts_head() -> None:
    assert migrate.head_revision() == migrate.HEAD
    assert migrate.revisions()[-1] == migrate.HEAD


def _open_and_report(url: str) -> str:
    code = (
        "import asyncio, sys\n"
        "from bot.store.store import Store\n"
        "async def main():\n"
        f"    async with Store.open({url!r}, migrate=True) as store:\n"
        "        await store.ping()\n"
        "asyncio.run(main())\n"
        "print('alembic' in sys.modules)\n"
    )
    result = subprocess.run(  # noqa: S603 - this interpreter, our own code
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    return result.stdout.strip()


def test_a_current_database_opens_without_importing_alembic(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/fast.db"
    assert _open_and_report(url) == "True"  # a new database is migrated, with Alembic
    assert _open_and_report(url) == "False"  # from then on it is not needed
