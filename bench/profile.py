"""Sampling a running server with py-spy, and the summary the report prints.

py-spy attaches to the child by pid for a fixed window and samples only the thread holding
the GIL (`--gil`), so the shares below are shares of Python CPU time, idle waits excluded.
It is optional: without a `py-spy` beside this interpreter or on PATH the profile is skipped.

Run a profile by hand: ``python -m bench.throughput_bench --profile``.
"""

from __future__ import annotations

import asyncio
import collections
import re
import shutil
import signal
from dataclasses import dataclass
from pathlib import Path

from bench.common import PYTHON

_FRAME = re.compile(r"^(?P<function>.*?) \((?P<file>[^():]*?)(?::\d+)?\)$")
# What a sample was doing: the first component any of its frames belongs to, in this order
# (a store call made by a listener counts as store, not as the listener).
_COMPONENTS = (
    (
        "store (bot/store, SQLAlchemy, sqlite3)",
        ("bot/store/", "sqlalchemy", "aiosqlite", "sqlite3"),
    ),
    ("parsing (bot/parsing)", ("bot/parsing/",)),
    ("ACS client (bot/acs)", ("bot/acs/",)),
    ("Slack Web API client (slack-sdk)", ("slack_sdk",)),
    (
        "Bolt and the ack path (slack-bolt, adapter, listeners)",
        ("slack_bolt", "bot/slack/app", "bot/slack/adapter"),
    ),
    ("other roombot code (worker, service, answerer)", ("bot/",)),
    ("HTTP (aiohttp)", ("aiohttp", "yarl", "multidict")),
    ("asyncio event loop", ("asyncio", "selectors")),
)
_ENTRY_POINTS = ("bot/cli.py", "bot/slack/serve_cli.py", "roombot")
# Where a leaf frame's time goes, by the first path fragment that matches.
_PACKAGES = (
    ("sqlalchemy", "SQLAlchemy"),
    ("aiosqlite", "aiosqlite (SQLite driver)"),
    ("sqlite3", "aiosqlite (SQLite driver)"),
    ("slack_bolt", "slack-bolt"),
    ("slack_sdk", "slack-sdk"),
    ("aiohttp", "aiohttp"),
    ("yarl", "aiohttp"),
    ("multidict", "aiohttp"),
    ("pydantic", "pydantic"),
    ("dateparser", "dateparser"),
    ("asyncio", "asyncio event loop"),
    ("selectors", "asyncio event loop"),
    ("bot/", "roombot's own code"),
    ("json", "json"),
    ("logging", "logging"),
)


def py_spy() -> str | None:
    beside = Path(PYTHON).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


@dataclass
class Profile:
    samples: int
    components: list[tuple[str, float]]
    packages: list[tuple[str, float]]
    functions: list[tuple[str, float]]

    def lines(self, top: int = 12) -> list[str]:
        out = [
            f"{self.samples} samples of the thread holding the GIL (py-spy --gil), i.e. "
            "shares of the server's Python CPU time.",
            "",
            "| doing what (any frame of the sample) | share |",
            "|---|---|",
        ]
        out += [f"| {name} | {share:.0%} |" for name, share in self.components]
        out += ["", "| in which package (the sample's leaf frame) | share |", "|---|---|"]
        out += [f"| {name} | {share:.0%} |" for name, share in self.packages[:8]]
        out += ["", "| roombot function (inclusive) | share |", "|---|---|"]
        out += [f"| `{name}` | {share:.0%} |" for name, share in self.functions[:top]]
        out += [
            "",
            "SQLAlchemy's async layer runs each statement in a greenlet whose stack does not "
            "reach back to the roombot function that asked for it, so store time shows fully "
            "in the first table but only partly under the store's functions in the last.",
        ]
        return out


def summarise(raw: Path) -> Profile:
    """Shares by leaf package and by roombot function (inclusive) from py-spy's raw output."""
    components: collections.Counter[str] = collections.Counter()
    packages: collections.Counter[str] = collections.Counter()
    functions: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = [_FRAME.match(frame) for frame in stack.split(";")]
        files = [
            frame.group("file")
            for frame in frames
            if frame and not frame.group("file").startswith(_ENTRY_POINTS)
        ]
        components[_component(files)] += count
        leaf = frames[-1]
        leaf_file = leaf.group("file") if leaf else ""
        packages[next((name for key, name in _PACKAGES if key in leaf_file), "other")] += count
        seen: set[str] = set()
        for frame in frames:
            if (
                frame
                and frame.group("file").startswith("bot/")
                and not frame.group("file").startswith(_ENTRY_POINTS)
            ):
                name = f"{frame.group('file')}: {frame.group('function')}"
                if name not in seen:
                    seen.add(name)
                    functions[name] += count
    if not total:
        return Profile(0, [], [], [])
    return Profile(
        samples=total,
        components=[(name, count / total) for name, count in components.most_common()],
        packages=[(name, count / total) for name, count in packages.most_common()],
        functions=[(name, count / total) for name, count in functions.most_common()],
    )


def _component(files: list[str]) -> str:
    for name, fragments in _COMPONENTS:
        if any(fragment in file for file in files for fragment in fragments):
            return name
    return "other"


class Sampler:
    """`py-spy record --pid PID --gil` for as long as the `async with` block runs."""

    def __init__(self, pid: int, output: Path, rate: int = 250) -> None:
        self._argv = [
            py_spy() or "py-spy",
            "record",
            "--pid",
            str(pid),
            "--gil",
            "--rate",
            str(rate),
            "--format",
            "raw",
            "--output",
            str(output),
        ]
        self.output = output
        self._process: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> Sampler:
        self._process = await asyncio.create_subprocess_exec(
            *self._argv, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
        )
        await asyncio.sleep(0.5)  # let it attach
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._process is None:
            return
        if self._process.returncode is None:
            self._process.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
        try:
            await asyncio.wait_for(self._process.wait(), 30)
        except TimeoutError:
            self._process.kill()
            await self._process.wait()
