"""Benchmark 5: `roombot serve` from exec to its first 200 on /healthz, and its RSS.

Start-up: the clock starts just before the child is exec'd and stops at the first 200 on
`/healthz` (polled every 2 ms). Each round starts a server twice: first on an empty SQLite
file (the migrations run, as on a first deploy), then again on that file once it is at the
schema's head (a restart, the everyday case). Baseline: `bench.baseline_server`, which imports
aiohttp, slack-sdk's verifier and our store and opens (migrating) its database the same way.

Memory: a fresh server takes 1,000 signed `/room create` commands (20 in flight; emulator
without added latency) and, once every command is answered (journal) or journalled
(baseline), its resident set size is read from /proc/PID/status.

Starts alternate roombot and baseline; figures are medians. Goals: start-up <= 1.0 s,
RSS after 1,000 commands <= 120 MB.

Run alone: ``python -m bench.startup_bench [--quick]``.
"""

from __future__ import annotations

import argparse

import aiohttp

from bench import common
from bench.common import (
    ChildSet,
    Result,
    Row,
    Server,
    SignedCommands,
    all_answered,
    baseline_argv,
    children,
    client_session,
    free_port,
    journal_states,
    median,
    new_signing_secret,
    post_all,
    serve_argv,
    serve_env,
)

COMMANDS = 1000
CONCURRENCY = 20
NAMES = ("roombot", "baseline")


async def _start(kids: ChildSet, name: str, tag: str, env: dict[str, str]) -> Server:
    """A fresh server on the database *tag* (made if new); `ready_after`: exec to first 200."""
    url, _ = kids.database(f"{name}-{tag}")
    port = free_port()
    argv = serve_argv(port) if name == "roombot" else baseline_argv(port)
    return await kids.server(f"{name}-{tag}", argv, env={**env, "DATABASE_URL": url}, port=port)


async def run(*, quick: bool = False) -> Result:
    starts, memory_runs = (2, 1) if quick else (5, 2)
    figures: dict[str, list[float]] = {}
    async with children() as kids:
        _, connection = await kids.emulator()
        _, slack = await kids.fake_slack()
        secret = new_signing_secret()
        env = serve_env(slack=slack, signing_secret=secret, connection=connection, database_url="")
        commands = SignedCommands(secret, slack.response_url)
        for number in range(starts):
            for name in NAMES if number % 2 == 0 else tuple(reversed(NAMES)):
                for kind in ("first start", "restart"):  # the second start finds the schema
                    server = await _start(kids, name, f"start{number}", env)
                    figures.setdefault(f"{name} {kind} s", []).append(server.ready_after)
                    server.child.stop()
        async with client_session() as http:
            for number in range(memory_runs):
                for name in NAMES if number % 2 == 0 else tuple(reversed(NAMES)):
                    rss = await _memory(kids, name, f"mem{number}", env, commands, http)
                    figures.setdefault(f"{name} RSS at start MB", []).append(rss[0])
                    figures.setdefault(f"{name} RSS after MB", []).append(rss[1])
    first = {n: median(figures[f"{n} first start s"]) for n in NAMES}
    again = {n: median(figures[f"{n} restart s"]) for n in NAMES}
    rss = {n: median(figures[f"{n} RSS after MB"]) for n in NAMES}
    rss0 = {n: median(figures[f"{n} RSS at start MB"]) for n in NAMES}
    baseline = "bare aiohttp + verify + store"
    rows = [
        Row("5 start-up", "exec to first 200 on /healthz, restart", again["roombot"],
            again["baseline"], "s", baseline, "<= 1.0 s", again["roombot"] <= 1.0),
        Row("5 start-up", "exec to first 200 on /healthz, empty database", first["roombot"],
            first["baseline"], "s", baseline, "<= 1.0 s", first["roombot"] <= 1.0),
        Row("5 memory", f"RSS after {COMMANDS:,} commands", rss["roombot"], rss["baseline"],
            "MB", baseline, "<= 120 MB", rss["roombot"] <= 120),
    ]  # fmt: skip
    notes = [
        f"{starts} rounds of two starts per server: on an empty SQLite file (migrations run), "
        "then again on that file at the schema's head; "
        f"{memory_runs} memory run(s) per server of {COMMANDS:,} creates, {CONCURRENCY} in "
        "flight, emulator without added latency. MB = MiB of VmRSS.",
        f"RSS right after start-up: roombot {rss0['roombot']:.0f} MB, baseline "
        f"{rss0['baseline']:.0f} MB; so 1,000 commands add "
        f"{rss['roombot'] - rss0['roombot']:.0f} MB to roombot and "
        f"{rss['baseline'] - rss0['baseline']:.0f} MB to the baseline.",
    ]
    return Result(
        source="bench/startup_bench.py",
        name="startup",
        title="5. Start-up and memory (`roombot serve`)",
        rows=rows,
        rounds=figures,
        notes=notes,
    )


async def _memory(
    kids: ChildSet,
    name: str,
    tag: str,
    env: dict[str, str],
    commands: SignedCommands,
    http: aiohttp.ClientSession,
) -> tuple[float, float]:
    """RSS (MiB) of a fresh server right after start-up and after `COMMANDS` commands."""
    server = await _start(kids, name, tag, env)
    path = kids.workdir / f"{name}-{tag}.db"
    at_start = server.child.rss_mb()
    await post_all(http, server.events_url, commands.batch(COMMANDS), concurrency=CONCURRENCY)
    if name == "roombot":
        await all_answered(path, COMMANDS, within=300)
    elif (journalled := sum(journal_states(path).values())) != COMMANDS:
        raise RuntimeError(f"the baseline journalled {journalled} of {COMMANDS} commands")
    await server.idle(http)
    after = server.child.rss_mb()
    server.child.stop()
    return at_start, after


def main() -> None:
    parser = argparse.ArgumentParser(description="benchmark 5: start-up and memory")
    parser.add_argument("--quick", action="store_true", help="fewer starts, one memory run")
    args = parser.parse_args()
    from bench.report import print_table

    print_table([common.run(run(quick=args.quick))])


if __name__ == "__main__":
    main()
