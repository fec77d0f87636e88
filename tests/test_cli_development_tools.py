"""Without bot/local (the production image), `roombot dev` and `roombot emulator` say in one line
that they are development tools, exit 2; every other command works, and a module missing for any
other reason is not dressed up as that (issue #15). Run in a child interpreter where importing
bot.local fails as it does when the package is not installed.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

BLOCK = """
import importlib.abc, sys
class NoPackage(importlib.abc.MetaPathFinder):
    def __init__(self, name): self.name = name
    def find_spec(self, fullname, path=None, target=None):
        if fullname == self.name or fullname.startswith(self.name + "."):
            raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)
        return None
sys.meta_path.insert(0, NoPackage(sys.argv[1]))
from bot.cli import main
raise SystemExit(main(sys.argv[2:]))
"""


def _roombot(missing: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", BLOCK, missing, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("command", ["dev", "emulator"])
def test_a_development_tool_that_is_not_installed_says_so_in_one_line(command: str) -> None:
    result = _roombot("bot.local", command)
    assert result.returncode == 2
    assert result.stderr == (
        f"roombot: roombot {command} is a development tool, not included in this image; "
        f"run it from a source checkout (pip install -e . then roombot {command})\n"
    )


def test_the_other_commands_do_not_need_the_development_tools() -> None:
    result = _roombot("bot.local", "parse", "create tomorrow 9am-5pm")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("{")


def test_another_missing_module_is_not_mistaken_for_an_absent_tool() -> None:
    result = _roombot("jwt", "emulator", "--port", "0")
    assert result.returncode != 0
    assert "ModuleNotFoundError" in result.stderr
    assert "development tool" not in result.stderr
