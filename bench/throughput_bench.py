"""Benchmark 2: commands per second, from the signed request to the room's message in Slack.

One roombot process (`roombot serve` as deployed: its own defaults, a fresh SQLite file)
against the ACS emulator at 20 ms latency and the fake Slack, each in a process of its own;
this process sends the commands (50 in flight) and asks the fake Slack when the N-th message
was posted. The answers are paced per channel (about 1/s, bursts of 3) as in production, so
the commands are spread over 1,000 channels and the pacing never binds.

Baseline (`bench.baseline_server --pipeline`): the same requests, ACS emulator and fake Slack,
with the least work that still ends in a posted message — verify, journal, ack, lease, one
signed create, one `chat.postMessage`, mark answered. It is the architecture's ceiling, not
a rival; the goal (>= 500 commands/s) is roombot's absolute rate.

N is sized per server from a warm-up (about 4 s of work), rounds alternate the two servers,
and the figures are medians over the rounds; CPU per command is the server process's own
(all threads, from /proc). With py-spy available, one extra unmeasured round samples
`roombot serve` (`bench.profile`) to show what limits it.

With a PostgreSQL server reachable (`ROOMBOT_BENCH_POSTGRES`, default the local one), the
same rounds also run `roombot serve` on a fresh PostgreSQL database: one replica, then two
replicas sharing one database, the requests sent to them in turn (round-robin, as a load
balancer would); for those, PostgreSQL's own CPU per command is read from its backends'
/proc entries too. Every ratio is against the bare pipeline in the same run.

Run alone: ``python -m bench.throughput_bench [--quick] [--profile] [--no-postgres]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bench import common
from bench.common import (
    Child,
    FakeSlackHandle,
    Result,
    Row,
    Server,
    SignedCommands,
    all_answered,
    baseline_argv,
    children,
    client_session,
    free_port,
    median,
    new_signing_secret,
    post_all,
    serve_argv,
    serve_env,
)
from bench.profile import Profile, Sampler, py_spy, summarise

LATENCY_MS = 20
CONCURRENCY = 50
GOAL = 500.0
POSTGRES_GOAL = 400.0
REPLICA_GAIN = 1.6


@dataclass
class Setup:
    """What one round measures: one or more servers sharing one database."""

    servers: list[Server]
    database: Path | str  # a SQLite file, or a PostgreSQL URL
    postgres: bool = False


async def _postgres_cpu(url: str) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend serving the database at *url* (the
    server runs on this machine: its processes' /proc entries are readable here)."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            pids = list(
                await connection.scalars(
                    text(
                        "SELECT pid FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                )
            )
    finally:
        await engine.dispose()
    return {pid: seconds for pid in pids if (seconds := _process_cpu(pid)) is not None}


def _process_cpu(pid: int) -> float | None:
    """User plus system CPU seconds of process *pid*, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Measured:
    """One round's figures: the rate, and CPU per command of each part of the machine."""

    rate: float  # commands/s, request to the last posted message
    server_ms: float  # the roombot (or baseline) processes
    postgres_ms: float | None  # PostgreSQL's backends for the setup's database, if any
    harness_ms: float  # the ACS emulator, the fake Slack and this load generator

    @property
    def machine_ms(self) -> float:
        """CPU per command of everything the round ran on this machine."""
        return self.server_ms + (self.postgres_ms or 0.0) + self.harness_ms


def _harness_cpu(harness: list[Child]) -> float:
    """CPU seconds so far of the emulator and fake Slack children and of this process (the
    load generator: the signed requests are made before the clock starts)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    return sum(child.cpu_seconds() for child in harness) + own.ru_utime + own.ru_stime


async def _round(
    http: aiohttp.ClientSession,
    setup: Setup,
    slack: FakeSlackHandle,
    commands: SignedCommands,
    count: int,
    harness: list[Child],
) -> Measured:
    """Send *count* commands, round-robin over the setup's servers, and measure the round."""
    batch = commands.batch(count)
    before = (await slack.stats(http))["messages"]
    cpu = sum(server.child.cpu_seconds() for server in setup.servers)
    postgres = await _postgres_cpu(setup.database) if isinstance(setup.database, str) else None
    harness_cpu = _harness_cpu(harness)
    started = time.perf_counter()
    urls = [server.events_url for server in setup.servers]
    sending = asyncio.create_task(post_all(http, urls, batch, concurrency=CONCURRENCY))
    await slack.wait_messages(http, before + count, within=300)
    elapsed = time.perf_counter() - started
    await sending
    for server in setup.servers:
        await server.idle(http)
    cpu = sum(server.child.cpu_seconds() for server in setup.servers) - cpu
    harness_cpu = _harness_cpu(harness) - harness_cpu
    database_ms = None
    if postgres is not None and isinstance(setup.database, str):
        after = await _postgres_cpu(setup.database)
        used = sum(seconds - postgres.get(pid, 0.0) for pid, seconds in after.items())
        database_ms = used / count * 1000
    return Measured(count / elapsed, cpu / count * 1000, database_ms, harness_cpu / count * 1000)


async def run(*, quick: bool = False, profile: bool = True, postgres: bool = True) -> Result:
    rounds, seconds, warm = (2, 1.5, 100) if quick else (3, 4.0, 200)
    figures: dict[str, list[float]] = {}
    sizes: dict[str, int] = {}
    found: Profile | None = None
    async with (
        children() as kids,
        common.postgres_database("one") as one_url,
        common.postgres_database("two") as two_url,
    ):
        emulator, connection = await kids.emulator(latency_ms=LATENCY_MS)
        fake_slack, slack = await kids.fake_slack()
        harness = [emulator, fake_slack]
        secret = new_signing_secret()
        setups: dict[str, Setup] = {}

        async def start(name: str, argv: Callable[[int], list[str]], database: str) -> Server:
            port = free_port()
            env = serve_env(
                slack=slack, signing_secret=secret, connection=connection, database_url=database
            )
            return await kids.server(name, argv(port), env=env, port=port)

        for name, argv in (
            ("roombot", serve_argv),
            ("baseline", lambda port: baseline_argv(port, pipeline=True)),
        ):
            url, path = kids.database(name)
            setups[name] = Setup([await start(name, argv, url)], path)
        if postgres and one_url is not None and two_url is not None:
            setups["pg-1"] = Setup([await start("pg-1", serve_argv, one_url)], one_url, True)
            # The second replica starts once the first has migrated the new database.
            pair = [await start(f"pg-2{side}", serve_argv, two_url) for side in "ab"]
            setups["pg-2"] = Setup(pair, two_url, True)
        commands = SignedCommands(secret, slack.response_url)
        sent = dict.fromkeys(setups, 0)
        async with client_session() as http:
            for name, setup in setups.items():  # warm up, and size N to ~`seconds` of work
                rate = (await _round(http, setup, slack, commands, warm, harness)).rate
                sent[name] += warm
                sizes[name] = max(warm, min(5000, round(rate * seconds)))
            # Every roombot setup runs as many commands per round as the SQLite one: a round's
            # time includes the pipeline's latency once (the last command's way from request
            # to message), which a short round would count as a large share of its rate.
            for name in ("pg-1", "pg-2"):
                if name in sizes:
                    sizes[name] = max(sizes[name], sizes["roombot"])
            for number in range(rounds):
                order = list(setups) if number % 2 == 0 else list(reversed(setups))
                for name in order:
                    measured = await _round(
                        http, setups[name], slack, commands, sizes[name], harness
                    )
                    sent[name] += sizes[name]
                    figures.setdefault(f"{name} commands/s", []).append(measured.rate)
                    figures.setdefault(f"{name} cpu ms/command", []).append(measured.server_ms)
                    figures.setdefault(f"{name} harness cpu ms/command", []).append(
                        measured.harness_ms
                    )
                    figures.setdefault(f"{name} machine cpu ms/command", []).append(
                        measured.machine_ms
                    )
                    if measured.postgres_ms is not None:
                        figures.setdefault(f"{name} postgres cpu ms/command", []).append(
                            measured.postgres_ms
                        )
            if profile and not quick and py_spy() is not None:
                raw = kids.workdir / "roombot-profile.txt"
                sampled = os.environ.get("ROOMBOT_BENCH_PROFILE_SETUP", "roombot")  # or pg-1
                roombot = setups[sampled]
                async with Sampler(roombot.servers[0].child.pid, raw):
                    await _round(http, roombot, slack, commands, sizes[sampled], harness)
                sent[sampled] += sizes[sampled]
                found = summarise(raw) if raw.exists() else None
                if found is not None and (keep := os.environ.get("ROOMBOT_BENCH_PROFILE")):
                    shutil.copyfile(raw, keep)  # py-spy's raw stacks, to dig into by hand
            states = {
                name: await all_answered(setup.database, sent[name])
                for name, setup in setups.items()
                if name != "baseline"
            }
            stats = await slack.stats(http)
    ours, base = median(figures["roombot commands/s"]), median(figures["baseline commands/s"])
    cpu_ours = median(figures["roombot cpu ms/command"])
    cpu_base = median(figures["baseline cpu ms/command"])
    name = "bare pipeline (same I/O, least work)"
    rows = [
        Row("2 throughput", "commands/s, request to posted message", ours, base, "/s", name,
            f">= {GOAL:g}/s", ours >= GOAL),
        Row("2 throughput", "server CPU per command", cpu_ours, cpu_base, "ms", name),
    ]  # fmt: skip
    notes = [
        f"{rounds} rounds; N = {sizes['roombot']} commands per roombot round and "
        f"{sizes['baseline']} per baseline round (about {seconds:g} s of work each), "
        f"{CONCURRENCY} requests in flight, emulator latency {LATENCY_MS} ms.",
        f"`roombot serve` with its default options (answers paced ~1/s per channel); commands "
        f"spread over 1,000 channels so pacing never binds. Journal at the end: {states}; "
        f"fake Slack Web API errors: {stats['errors'] or 'none'}.",
        f"At {cpu_ours:.1f} ms of server CPU per command, one process tops out near "
        f"{1000 / cpu_ours:,.0f} commands/s per core it can use "
        f"(the bare pipeline: {1000 / cpu_base:,.0f}).",
    ]
    if "pg-1" in setups:
        one, two = median(figures["pg-1 commands/s"]), median(figures["pg-2 commands/s"])
        cpu_one = median(figures["pg-1 cpu ms/command"])
        cpu_two = median(figures["pg-2 cpu ms/command"])
        db_one = median(figures.get("pg-1 postgres cpu ms/command", [0.0]))
        db_two = median(figures.get("pg-2 postgres cpu ms/command", [0.0]))
        rows += [
            Row("2 throughput", "commands/s, PostgreSQL, 1 replica", one, base, "/s", name,
                f">= {POSTGRES_GOAL:g}/s", one >= POSTGRES_GOAL),
            Row("2 throughput", "server CPU per command, PostgreSQL, 1 replica", cpu_one,
                cpu_base, "ms", name),
            Row("2 throughput", "commands/s, PostgreSQL, 2 replicas", two, base, "/s", name,
                f">= {REPLICA_GAIN:g}x 1 replica", two >= REPLICA_GAIN * one),
            Row("2 throughput", "server CPU per command, PostgreSQL, 2 replicas (both)",
                cpu_two, cpu_base, "ms", name),
        ]  # fmt: skip
        notes.append(
            f"PostgreSQL (a fresh database on the server at 127.0.0.1, the same machine): one "
            f"`roombot serve`, then two sharing one database with the requests sent to them in "
            f"turn; N = {sizes['pg-1']} and {sizes['pg-2']} commands per round. Two replicas "
            f"reach {two / one:.2f}x one. PostgreSQL's own CPU per command (its backends for "
            f"these connections): {db_one:.2f} ms with one replica, {db_two:.2f} ms with two. "
            f"On {os.cpu_count()} cores shared by roombot, PostgreSQL, the ACS emulator, the "
            "fake Slack and this load generator, a second replica can only add what the first "
            "left idle: the figure measures contention for cores, not how far replicas scale. "
            + _cores_for_gain(figures, one)
        )
    elif postgres:
        notes.append(
            f"No PostgreSQL rows: no server answered at {common.POSTGRES_ADMIN_URL} "
            "(set ROOMBOT_BENCH_POSTGRES to a postgresql+asyncpg:// URL)."
        )
    measured = [name for name in ("roombot", "pg-1", "pg-2") if f"{name} commands/s" in figures]
    notes.append(_machine_budget(figures, measured))
    extra: dict[str, object] = {}
    if found is not None and found.samples:
        extra["sections"] = [("Profile of `roombot serve` during one round", found.lines())]
        notes.append(
            "Profile of roombot's Python CPU: "
            + ", ".join(f"{name} {share:.0%}" for name, share in found.components[:4])
            + "."
        )
    elif profile and not quick:
        notes.append("No profile: py-spy is not installed (pip install py-spy).")
    return Result(
        source="bench/throughput_bench.py",
        name="throughput",
        title="2. End-to-end throughput (emulator at 20 ms; SQLite, and PostgreSQL with 1 and 2 "
        "`roombot serve` replicas)",
        rows=rows,
        rounds=figures,
        notes=notes,
        extra=extra,
    )


def _cores_for_gain(figures: dict[str, list[float]], one: float) -> str:
    """Whether the machine could hold `REPLICA_GAIN` times one replica's rate at what the
    two-replica round cost per command, everything on the machine counted."""
    target = REPLICA_GAIN * one
    total = median(figures["pg-2 machine cpu ms/command"])
    needed = target * total / 1000
    return (
        f"{REPLICA_GAIN:g}x one replica ({target:,.0f}/s) at the {total:.2f} ms of the whole "
        f"machine's CPU that each command took with two would need {needed:.1f} cores; this "
        f"machine has {os.cpu_count()}."
    )


def _machine_budget(figures: dict[str, list[float]], names: list[str]) -> str:
    """The account of what the machine's cores allow: every process's CPU per command, and
    the rate at which they would all be busy (medians over the rounds)."""
    cores = os.cpu_count() or 1
    parts = []
    for name in names:
        server = median(figures[f"{name} cpu ms/command"])
        database = median(figures.get(f"{name} postgres cpu ms/command", [0.0]))
        harness = median(figures[f"{name} harness cpu ms/command"])
        total = median(figures[f"{name} machine cpu ms/command"])
        rate = median(figures[f"{name} commands/s"])
        busy = rate * total / (1000 * cores)
        database_part = f" + PostgreSQL {database:.2f}" if database else ""
        parts.append(
            f"{name}: roombot {server:.2f}{database_part} + harness {harness:.2f} = "
            f"{total:.2f} ms, so {cores} cores allow at most {1000 * cores / total:,.0f}/s "
            f"(the round ran at {rate:,.0f}/s, {busy:.0%} of them busy)"
        )
    budget = 1000 * cores / POSTGRES_GOAL
    return (
        f"CPU per command of the whole machine (harness = the ACS emulator, the fake Slack and "
        f"this load generator): {'; '.join(parts)}. {POSTGRES_GOAL:g}/s on {cores} cores "
        f"leaves {budget:.1f} ms of CPU per command for everything together."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="benchmark 2: end-to-end throughput")
    parser.add_argument("--quick", action="store_true", help="fewer, shorter rounds")
    parser.add_argument(
        "--no-postgres", action="store_true", help="SQLite only: skip the PostgreSQL rounds"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="print the py-spy profile of one extra roombot round too",
    )
    args = parser.parse_args()
    from bench.report import print_table

    result = common.run(run(quick=args.quick, profile=args.profile, postgres=not args.no_postgres))
    print_table([result])
    for _, lines in result.extra.get("sections", []):
        print("\n".join(lines))


if __name__ == "__main__":
    main()
