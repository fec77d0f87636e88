"""The command line speaks to the people running roombot (issue #11, item 15): a version, help
written for users, the settings in `serve --help`, a quiet normal start, a clean packaging.
"""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
import tomllib
from pathlib import Path

from bot.config import Settings
from bot.local.emulator import EmulatorServer
from bot.local.fake_slack import FakeSlack
from tests.reliability.harness import serve_env, serving

ROOT = Path(__file__).resolve().parents[1]
ROOMBOT = str(Path(sys.executable).with_name("roombot"))


def _roombot(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own console script
        [ROOMBOT, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "COLUMNS": "100"},
    )


def test_version_prints_the_installed_version() -> None:
    result = _roombot("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"roombot {importlib.metadata.version('roombot')}"


def test_help_is_written_for_users() -> None:
    result = _roombot("--help")
    assert result.returncode == 0
    text = result.stdout
    assert "implemented beside its layer" not in text  # the old developer's note
    assert "Azure Communication Services rooms from Slack" in text
    assert "roombot dev" in text  # where to start
    assert "--version" in text
    for command in ("serve", "dev", "emulator", "parse", "db", "identities"):
        assert f"\n    {command}" in text


def test_serve_help_lists_every_setting() -> None:
    result = _roombot("serve", "--help")
    assert result.returncode == 0
    text = result.stdout
    for field_name, field in Settings.model_fields.items():
        env = field.alias or field_name.upper()  # DATABASE_URL has validation aliases only
        assert f"\n  {env} (" in text, env
    assert "not in Socket Mode" in text  # the signing secret's condition
    assert "exit 2" in text


async def test_a_normal_start_logs_no_alembic_lines(tmp_path: Path) -> None:
    """A first start migrates a new database: that is one roombot line, not Alembic's INFO."""
    async with EmulatorServer() as emulator, FakeSlack() as slack:
        env = serve_env(slack, emulator, f"sqlite+aiosqlite:///{tmp_path}/new.db", "secret")
        async with serving(env) as server:
            pass
    assert not [line for line in server.log if "alembic" in line], server.log
    assert any("store open" in line and "schema" in line for line in server.log)


def test_the_license_is_an_spdx_string_for_a_setuptools_that_reads_it() -> None:
    """The table form (`{ text = "MIT" }`) makes setuptools warn on every install (`make run`)."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["license"] == "MIT"
    (requirement,) = [r for r in pyproject["build-system"]["requires"] if "setuptools" in r]
    assert requirement.replace(" ", "") == "setuptools>=77"  # the first to take SPDX strings
