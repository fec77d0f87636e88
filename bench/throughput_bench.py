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

Run alone: ``python -m bench.throughput_bench [--quick] [--profile]``.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

import aiohttp

from bench import common
from bench.common import (
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


async def _round(
    http: aiohttp.ClientSession,
    server: Server,
    slack: FakeSlackHandle,
    commands: SignedCommands,
    count: int,
) -> tuple[float, float]:
    """Send *count* commands; (commands/s to the last posted message, CPU ms per command)."""
    batch = commands.batch(count)
    before = (await slack.stats(http))["messages"]
    cpu = server.child.cpu_seconds()
    started = time.perf_counter()
    sending = asyncio.create_task(post_all(http, server.events_url, batch, concurrency=CONCURRENCY))
    await slack.wait_messages(http, before + count, within=300)
    elapsed = time.perf_counter() - started
    await sending
    await server.idle(http)
    cpu = server.child.cpu_seconds() - cpu
    return count / elapsed, cpu / count * 1000


async def run(*, quick: bool = False, profile: bool = True) -> Result:
    rounds, seconds, warm = (2, 1.5, 100) if quick else (3, 4.0, 200)
    figures: dict[str, list[float]] = {}
    sizes: dict[str, int] = {}
    found: Profile | None = None
    async with children() as kids:
        _, connection = await kids.emulator(latency_ms=LATENCY_MS)
        _, slack = await kids.fake_slack()
        secret = new_signing_secret()
        servers: dict[str, Server] = {}
        databases: dict[str, Path] = {}
        for name, argv in (
            ("roombot", serve_argv),
            ("baseline", lambda port: baseline_argv(port, pipeline=True)),
        ):
            url, databases[name] = kids.database(name)
            port = free_port()
            env = serve_env(
                slack=slack, signing_secret=secret, connection=connection, database_url=url
            )
            servers[name] = await kids.server(name, argv(port), env=env, port=port)
        commands = SignedCommands(secret, slack.response_url)
        sent = dict.fromkeys(servers, 0)
        async with client_session() as http:
            for name, server in servers.items():  # warm up, and size N to ~`seconds` of work
                rate, _ = await _round(http, server, slack, commands, warm)
                sent[name] += warm
                sizes[name] = max(warm, min(5000, round(rate * seconds)))
            for number in range(rounds):
                order = list(servers) if number % 2 == 0 else list(reversed(servers))
                for name in order:
                    rate, cpu = await _round(http, servers[name], slack, commands, sizes[name])
                    sent[name] += sizes[name]
                    figures.setdefault(f"{name} commands/s", []).append(rate)
                    figures.setdefault(f"{name} cpu ms/command", []).append(cpu)
            if profile and not quick and py_spy() is not None:
                raw = kids.workdir / "roombot-profile.txt"
                async with Sampler(servers["roombot"].child.pid, raw):
                    await _round(http, servers["roombot"], slack, commands, sizes["roombot"])
                sent["roombot"] += sizes["roombot"]
                found = summarise(raw) if raw.exists() else None
            states = await all_answered(databases["roombot"], sent["roombot"])
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
        title="2. End-to-end throughput (emulator at 20 ms, one `roombot serve` process)",
        rows=rows,
        rounds=figures,
        notes=notes,
        extra=extra,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="benchmark 2: end-to-end throughput")
    parser.add_argument("--quick", action="store_true", help="fewer, shorter rounds")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="print the py-spy profile of one extra roombot round too",
    )
    args = parser.parse_args()
    from bench.report import print_table

    result = common.run(run(quick=args.quick, profile=args.profile))
    print_table([result])
    for _, lines in result.extra.get("sections", []):
        print("\n".join(lines))


if __name__ == "__main__":
    main()
