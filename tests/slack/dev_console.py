"""Running `roombot dev` as a person would: a real subprocess in a folder of its own.

Each test gets an empty working folder, so `var/` (database, emulator state, workspace,
history, log) starts empty, and two runs in the same folder see each other's rooms.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOMBOT = str(Path(sys.executable).with_name("roombot"))
RUN_WITHIN = 90.0  # seconds for one whole scripted run; each normally takes about two


def dev_env() -> dict[str, str]:
    """The environment without the settings a developer's shell may have set for `serve`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "ACS_", "ROOMBOT_"))}
    env.pop("DATABASE_URL", None)
    env["TERM"] = "xterm"
    return env


def run_script(folder: Path, script: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`roombot dev ARGS` with *script* piped to its standard input."""
    return subprocess.run(  # noqa: S603 - our own console script, arguments from the test
        [ROOMBOT, "dev", *args],
        input=script,
        capture_output=True,
        text=True,
        cwd=folder,
        env=dev_env(),
        timeout=RUN_WITHIN,
        check=False,
    )


def room_ids(output: str) -> list[str]:
    """The room ids in a transcript, in the order they appear."""
    return re.findall(r"`(\d{6,})`", output)
