"""What every benchmark shares: statistics, child processes, signed Slack commands, load loops.

The machine is shared and noisy, so no figure stands alone: each benchmark measures roombot
and its baseline in the same run, alternating rounds, and reports medians over the rounds.
Child processes (`roombot serve`, the emulator, the fake Slack, baseline servers) write their
output to files rather than pipes, so a chatty child can never block on a full pipe; they are
stopped with SIGTERM (then SIGKILL) by the context manager that started them, by process id.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import os
import platform
import re
import secrets
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Coroutine, Iterable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

import aiohttp
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import create_async_engine

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PYTHON = sys.executable
TEAM = "T0LOCAL"  # FakeSlack's default team: the bot's auth.test answers with it
USERS = tuple(f"U0BENCH{n:02d}" for n in range(20))
ZONES = ("Europe/London", "America/New_York", "Asia/Kolkata", "Australia/Sydney", "UTC")
CHANNELS = tuple(f"C0BENCH{n:04d}" for n in range(1000))
COMMAND_TEXTS = (
    "create tomorrow 9am-5pm",
    "create tomorrow for 2 weeks",
    "create next monday 14:00 for 1 hour",
    "create in 2 hours for 30 minutes",
)
CLK_TCK = os.sysconf("SC_CLK_TCK")
T = TypeVar("T")


# --- statistics -----------------------------------------------------------------------------


def percentile(samples: Sequence[float], q: float) -> float:
    """The nearest-rank *q*-th percentile (0-100) of *samples*."""
    ordered = sorted(samples)
    if not ordered:
        raise ValueError("no samples")
    rank = min(len(ordered), max(1, math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


def median(values: Iterable[float]) -> float:
    return float(statistics.median(list(values)))


def ratio(ours: float, baseline: float) -> float:
    return ours / baseline if baseline else float("inf")


@dataclass
class Row:
    """One line of the results table: roombot's figure, the baseline's, and the goal."""

    bench: str
    metric: str
    ours: float
    baseline: float | None
    unit: str
    baseline_name: str = ""
    goal: str = ""
    met: bool | None = None
    ratio_label: str = ""  # how the ratio reads, e.g. "ours/baseline"

    @property
    def ratio(self) -> float | None:
        if self.baseline is None:
            return None
        return ratio(self.ours, self.baseline)


@dataclass
class Result:
    """What one benchmark hands to the report: rows, per-round raw figures and notes."""

    name: str
    title: str
    rows: list[Row]
    rounds: dict[str, list[float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    source: str = ""  # the module that measured it, for the docs


def run(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)`, with SIGTERM handled like Ctrl-C so the children are stopped too."""
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    return asyncio.run(main)


# --- the machine ----------------------------------------------------------------------------


def machine() -> dict[str, str]:
    """What ran the benchmarks: CPU, cores, memory, OS, Python and the libraries that matter."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = ""
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    versions = []
    for dist in ("aiohttp", "SQLAlchemy", "aiosqlite", "slack-bolt", "slack-sdk", "pydantic"):
        with contextlib.suppress(Exception):
            from importlib.metadata import version

            versions.append(f"{dist} {version(dist)}")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return {
        "cpu": cpu,
        "cores": f"{os.cpu_count()} logical ({len(os.sched_getaffinity(0))} usable)",
        "memory": memory,
        "os": f"{platform.system()} {platform.release()}",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "libraries": ", ".join(versions),
        "load average at start": load,
    }


# --- child processes ------------------------------------------------------------------------


def free_port() -> int:
    """A port that was free a moment ago on 127.0.0.1 (loopback only)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def roombot_command() -> list[str]:
    """How to exec `roombot`: the console script beside this interpreter, else `-m bot.cli`."""
    script = Path(PYTHON).with_name("roombot")
    return [str(script)] if script.exists() else [PYTHON, "-m", "bot.cli"]


class Child:
    """A child process whose stdout and stderr go to files in *workdir*."""

    def __init__(
        self, name: str, argv: Sequence[str], *, env: Mapping[str, str], workdir: Path
    ) -> None:
        self.name = name
        self.stdout_path = workdir / f"{name}.out"
        self.stderr_path = workdir / f"{name}.err"
        self.started = time.perf_counter()
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and modules
                list(argv), stdout=out, stderr=err, env={**os.environ, **env}, cwd=ROOT
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    async def line(self, pattern: str, *, stream: str = "stdout", within: float = 30.0) -> str:
        """The first match of *pattern* (group 1, else the whole match) in the child's output."""
        path = self.stdout_path if stream == "stdout" else self.stderr_path
        compiled = re.compile(pattern)
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            found = compiled.search(path.read_text(errors="replace"))
            if found:
                return found.group(1) if compiled.groups else found.group(0)
            if self.process.poll() is not None:
                break
            await asyncio.sleep(0.01)
        raise RuntimeError(f"{self.name} did not print {pattern!r}:\n{self.tail()}")

    def tail(self, lines: int = 20) -> str:
        text = self.stderr_path.read_text(errors="replace").splitlines()[-lines:]
        return "\n".join(text)

    def cpu_seconds(self) -> float:
        """User + system CPU of the process (all its threads) so far, from /proc."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def rss_mb(self) -> float:
        """Resident set size now, from /proc/PID/status (VmRSS), in MiB."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError(f"{self.name} has no VmRSS")

    def stop(self, within: float = 15.0) -> None:
        """SIGTERM, then SIGKILL after *within* seconds; only this child, by its pid."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(within)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


@asynccontextmanager
async def children() -> AsyncIterator[ChildSet]:
    """Start children in a temporary folder; all are stopped (in reverse) on the way out."""
    with tempfile.TemporaryDirectory(prefix="roombot-bench-") as folder:
        started = ChildSet(Path(folder))
        try:
            yield started
        finally:
            for child in reversed(started.all):
                child.stop()


@dataclass
class ChildSet:
    workdir: Path
    all: list[Child] = field(default_factory=list)

    def start(self, name: str, argv: Sequence[str], env: Mapping[str, str] | None = None) -> Child:
        child = Child(name, argv, env=env or {}, workdir=self.workdir)
        self.all.append(child)
        return child

    def database(self, name: str) -> tuple[str, Path]:
        """A fresh SQLite file's DATABASE_URL and path."""
        path = self.workdir / f"{name}.db"
        return f"sqlite+aiosqlite:///{path}", path

    async def emulator(self, latency_ms: float = 0.0) -> tuple[Child, str]:
        """`roombot emulator --port 0` in its own process; returns it and its connection string."""
        argv = [*roombot_command(), "emulator", "--port", "0", "--latency-ms", f"{latency_ms:g}"]
        child = self.start(f"emulator-{latency_ms:g}ms", argv)
        connection = await child.line(r"ACS_CONNECTION_STRING=(\S+)")
        return child, connection

    async def fake_slack(self) -> tuple[Child, FakeSlackHandle]:
        """The fake Slack (`bench.slack_proc`) in its own process."""
        child = self.start("fake-slack", [PYTHON, "-m", "bench.slack_proc"])
        api = await child.line(r"SLACK_API_URL=(\S+)")
        stats = await child.line(r"SLACK_STATS_URL=(\S+)")
        token = await child.line(r"SLACK_BOT_TOKEN=(\S+)")
        return child, FakeSlackHandle(api_url=api, stats_url=stats, bot_token=token)

    async def server(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        port: int,
        within: float = 60.0,
    ) -> Server:
        """Start an HTTP server child on *port* and wait for a 200 on its /healthz."""
        child = self.start(name, argv, env)
        server = Server(child, f"http://127.0.0.1:{port}")
        server.ready_after = await server.healthy(within)
        return server


@dataclass(frozen=True)
class FakeSlackHandle:
    api_url: str
    stats_url: str
    bot_token: str

    @property
    def response_url(self) -> str:
        """A loopback URL that roombot serve does not accept as a response_url (not Slack's)."""
        return self.api_url.replace("/api/", "/response/bench")

    async def stats(self, http: aiohttp.ClientSession) -> dict[str, Any]:
        async with http.get(self.stats_url) as response:
            stats: dict[str, Any] = await response.json()
            return stats

    async def wait_messages(self, http: aiohttp.ClientSession, count: int, within: float) -> None:
        """Return once the fake has recorded *count* channel messages (raise after *within*)."""
        url = self.stats_url.replace("/stats", "/wait")
        params = {"messages": str(count), "timeout": f"{within:g}"}
        async with http.get(url, params=params) as response:
            if response.status != 200:
                raise TimeoutError(f"fake Slack: {await response.text()}")


@dataclass
class Server:
    """roombot serve or a baseline server, as a child on a known loopback port."""

    child: Child
    base_url: str
    ready_after: float = 0.0  # seconds from exec to the first 200 on /healthz

    @property
    def events_url(self) -> str:
        return self.base_url + "/slack/events"

    async def healthy(self, within: float) -> float:
        """Poll /healthz until it answers 200; seconds since the child was exec'd."""
        deadline = time.monotonic() + within
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                if self.child.process.poll() is not None:
                    break
                with contextlib.suppress(aiohttp.ClientError, OSError):
                    async with http.get(self.base_url + "/healthz") as response:
                        if response.status == 200:
                            return time.perf_counter() - self.child.started
                await asyncio.sleep(0.002)
        raise RuntimeError(f"{self.child.name} never became healthy:\n{self.child.tail()}")

    async def pending(self, http: aiohttp.ClientSession) -> int:
        async with http.get(self.base_url + "/healthz") as response:
            report = await response.json()
            return int(report.get("pending_commands", 0))

    async def idle(self, http: aiohttp.ClientSession, within: float = 120.0) -> None:
        """Wait until the server has no command in flight (after-the-ack work included)."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if await self.pending(http) == 0:
                return
            await asyncio.sleep(0.05)
        raise TimeoutError(f"{self.child.name} still busy after {within:g} s")


def journal_states(path: Path) -> dict[str, int]:
    """Journal rows per state, read straight from the SQLite file (read-only)."""
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        rows = db.execute("SELECT state, count(*) FROM journal GROUP BY state").fetchall()
    return {str(state): int(count) for state, count in rows}


async def postgres_journal_states(url: str) -> dict[str, int]:
    """Journal rows per state in the PostgreSQL database at *url*."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            rows = (
                await connection.execute(text("SELECT state, count(*) FROM journal GROUP BY state"))
            ).all()
    finally:
        await engine.dispose()
    return {str(state): int(count) for state, count in rows}


POSTGRES_ADMIN_URL = os.environ.get(
    "ROOMBOT_BENCH_POSTGRES", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
"""A database on the PostgreSQL server the benchmarks create their own databases beside."""


@asynccontextmanager
async def postgres_database(name: str) -> AsyncIterator[str | None]:
    """A fresh PostgreSQL database's DATABASE_URL (dropped afterwards); None when no server
    answers at `POSTGRES_ADMIN_URL`."""
    database = f"roombot_bench_{name}_{secrets.token_hex(4)}"
    admin = create_async_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{database}"'))
    except (OSError, SQLAlchemyError):
        await admin.dispose()
        yield None
        return
    try:
        yield (
            make_url(POSTGRES_ADMIN_URL)
            .set(database=database)
            .render_as_string(hide_password=False)
        )
    finally:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        await admin.dispose()


async def all_answered(path: Path | str, expected: int, within: float = 120.0) -> dict[str, int]:
    """Wait until *expected* journal rows are answered (in the SQLite file *path*, or the
    PostgreSQL database at the URL *path*); the counts per state."""
    deadline = time.monotonic() + within
    states: dict[str, int] = {}
    while time.monotonic() < deadline:
        if isinstance(path, str):
            states = await postgres_journal_states(path)
        else:
            states = await asyncio.to_thread(journal_states, path)
        if states.get("answered", 0) >= expected:
            return states
        await asyncio.sleep(0.1)
    raise TimeoutError(f"only {states} of {expected} commands answered after {within:g} s")


# --- Slack commands as Slack sends them -----------------------------------------------------


class SignedCommands:
    """Signed `/room` form posts, as Slack sends them, spread over users and channels.

    Bodies and signatures are made before the clock starts (`batch`), so the load generator
    spends its time sending, not hashing.
    """

    def __init__(self, signing_secret: str, response_url: str) -> None:
        self._verifier = SignatureVerifier(signing_secret)
        self._response_url = response_url
        self._numbers = itertools.count()

    def one(self) -> tuple[bytes, dict[str, str]]:
        n = next(self._numbers)
        user = USERS[n % len(USERS)]
        form = {
            "token": "legacy-unused",
            "team_id": TEAM,
            "team_domain": "bench",
            "channel_id": CHANNELS[n % len(CHANNELS)],
            "channel_name": f"bench-{n % len(CHANNELS)}",
            "user_id": user,
            "user_name": user.lower(),
            "command": "/room",
            "text": COMMAND_TEXTS[n % len(COMMAND_TEXTS)],
            "api_app_id": "A0BENCH",
            "response_url": self._response_url,
            "trigger_id": f"{n}.bench",
        }
        body = urlencode(form)
        timestamp = str(int(time.time()))
        signature = self._verifier.generate_signature(timestamp=timestamp, body=body) or ""
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": signature,
        }
        return body.encode(), headers

    def batch(self, count: int) -> list[tuple[bytes, dict[str, str]]]:
        return [self.one() for _ in range(count)]


def new_signing_secret() -> str:
    return secrets.token_hex(16)


async def post_all(
    http: aiohttp.ClientSession,
    url: str | Sequence[str],
    requests: Sequence[tuple[bytes, dict[str, str]]],
    *,
    concurrency: int,
) -> list[float]:
    """Send every request with *concurrency* in flight; each one's latency in seconds.

    Given several URLs (replicas behind one load balancer), the requests go to them in turn
    (round-robin). Raises when any answer is not a 200: a benchmark of failures would
    measure nothing.
    """
    urls = [url] if isinstance(url, str) else list(url)
    latencies: list[float] = [0.0] * len(requests)
    failures: list[str] = []
    positions: Iterator[int] = iter(range(len(requests)))
    clock = time.perf_counter

    async def sender() -> None:
        for index in positions:
            body, headers = requests[index]
            started = clock()
            target = urls[index % len(urls)]
            async with http.post(target, data=body, headers=headers) as response:
                await response.read()
                latencies[index] = clock() - started
                if response.status != 200:
                    failures.append(f"HTTP {response.status}")

    await asyncio.gather(*(sender() for _ in range(concurrency)))
    if failures:
        raise RuntimeError(f"{len(failures)} of {len(requests)} requests failed: {failures[:3]}")
    return latencies


def client_session(limit: int = 200) -> aiohttp.ClientSession:
    """The load generator's session: keep-alive connections, enough for the concurrency."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=limit),
        timeout=aiohttp.ClientTimeout(total=60),
    )


def serve_env(
    *, slack: FakeSlackHandle, signing_secret: str, connection: str, database_url: str
) -> dict[str, str]:
    """The environment `roombot serve` reads (and the baseline servers use the same names)."""
    return {
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": signing_secret,
        "SLACK_API_URL": slack.api_url,
        "ACS_CONNECTION_STRING": connection,
        "DATABASE_URL": database_url,
        "ROOMBOT_JOIN_URL": "https://rooms.example.invalid/join/{room_id}",
        "PYTHONUNBUFFERED": "1",
    }


def serve_argv(port: int) -> list[str]:
    return [*roombot_command(), "serve", "--host", "127.0.0.1", "--port", str(port)]


def baseline_argv(port: int, *, pipeline: bool = False) -> list[str]:
    argv = [PYTHON, "-m", "bench.baseline_server", "--port", str(port)]
    return [*argv, "--pipeline"] if pipeline else argv
