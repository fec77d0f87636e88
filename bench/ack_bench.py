"""Benchmark 1: how fast `roombot serve` acks a signed `/room create`, against a bare handler.

Processes, all on loopback: the ACS emulator at 200 ms latency (so the room is made long after
the ack), the fake Slack (`bench.slack_proc`), `roombot serve` as deployed (its own defaults,
a fresh SQLite file) and the baseline (`bench.baseline_server`: aiohttp + `SignatureVerifier` +
the same `journal.accept` on its own fresh SQLite file). This process only sends.

Each round sends to each server in turn (which goes first alternates) N requests one at a
time, then M with 50 in flight, and waits until the server has finished the work behind the
acks before the next batch, so one server's tail never lands on the other's turn. Commands
go to 1,000 channels, so the 1-per-second-per-channel pacing of the answers never binds.
The figures are the medians over the rounds of each round's p50 and p99 (nearest rank).
Goal: roombot's p50 <= 1.3x the baseline's, p99 <= 2x.

Run alone: ``python -m bench.ack_bench [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio

from bench import common
from bench.common import (
    Result,
    Row,
    SignedCommands,
    all_answered,
    baseline_argv,
    children,
    client_session,
    free_port,
    journal_states,
    median,
    new_signing_secret,
    percentile,
    post_all,
    serve_argv,
    serve_env,
)

LATENCY_MS = 200
CONCURRENCY = 50
SPACING = 0.25  # seconds between spaced requests: the previous one's work is done by then


async def run(*, quick: bool = False) -> Result:
    rounds = 2 if quick else 3
    sequential, concurrent, warm = (100, 300, 50) if quick else (200, 500, 100)
    spaced = 5 if quick else 15
    samples: dict[str, list[float]] = {}
    async with children() as kids:
        _, connection = await kids.emulator(latency_ms=LATENCY_MS)
        _, slack = await kids.fake_slack()
        secret = new_signing_secret()
        servers = {}
        paths = {}
        for name, argv_of in (("roombot", serve_argv), ("baseline", baseline_argv)):
            url, paths[name] = kids.database(name)
            port = free_port()
            env = serve_env(
                slack=slack, signing_secret=secret, connection=connection, database_url=url
            )
            servers[name] = await kids.server(name, argv_of(port), env=env, port=port)
        commands = SignedCommands(secret, slack.response_url)
        sent = dict.fromkeys(servers, 0)
        async with client_session() as http:
            for name, server in servers.items():  # warm: connections, zones, ACS identities
                await post_all(http, server.events_url, commands.batch(warm), concurrency=10)
                sent[name] += warm
                await server.idle(http)
            for number in range(rounds):
                order = list(servers) if number % 2 == 0 else list(reversed(servers))
                for mode, count, concurrency in (
                    ("sequential", sequential, 1),
                    ("concurrent", concurrent, CONCURRENCY),
                ):
                    for name in order:
                        server = servers[name]
                        batch = commands.batch(count)
                        latencies = await post_all(
                            http, server.events_url, batch, concurrency=concurrency
                        )
                        sent[name] += count
                        await server.idle(http)
                        for q in (50, 99):
                            key = f"{name} {mode} p{q}"
                            samples.setdefault(key, []).append(percentile(latencies, q) * 1000)
                for name in order:  # the ack alone: one at a time on a server with no backlog
                    latencies = []
                    for one in commands.batch(spaced):
                        latencies += await post_all(
                            http, servers[name].events_url, [one], concurrency=1
                        )
                        await asyncio.sleep(SPACING)
                    sent[name] += spaced
                    await servers[name].idle(http)
                    samples.setdefault(f"{name} spaced p50", []).append(
                        percentile(latencies, 50) * 1000
                    )
            states = await all_answered(paths["roombot"], sent["roombot"])
            baseline_rows = sum(journal_states(paths["baseline"]).values())
            slack_stats = await slack.stats(http)
    rows = []
    goals = {50: 1.3, 99: 2.0}
    for mode, label in (("sequential", "sequential"), ("concurrent", f"{CONCURRENCY} concurrent")):
        for q, limit in goals.items():
            ours = median(samples[f"roombot {mode} p{q}"])
            base = median(samples[f"baseline {mode} p{q}"])
            rows.append(
                Row(
                    bench="1 ack latency",
                    metric=f"{label} p{q}",
                    ours=ours,
                    baseline=base,
                    unit="ms",
                    baseline_name="bare aiohttp + verify + journal insert",
                    goal=f"<= {limit:g}x",
                    met=ours <= limit * base,
                )
            )
    rows.append(
        Row(
            bench="1 ack latency",
            metric=f"1 per {SPACING * 1000:.0f} ms, idle server p50",
            ours=median(samples["roombot spaced p50"]),
            baseline=median(samples["baseline spaced p50"]),
            unit="ms",
            baseline_name="bare aiohttp + verify + journal insert",
            goal="(diagnostic)",
        )
    )
    notes = [
        f"{rounds} rounds; per round and server: {sequential} requests one at a time back to "
        f"back, then {concurrent} with {CONCURRENCY} in flight, then {spaced} one every "
        f"{SPACING * 1000:.0f} ms; emulator latency {LATENCY_MS} ms. After each batch the "
        "server is left to finish the work behind its acks before the other server's turn.",
        "Back to back, the acks come faster than roombot finishes the work behind them "
        "(benchmark 2), so that work competes with the acks; the spaced row shows the ack "
        "path on a server with nothing else to do.",
        f"roombot answered every command in the end: journal {states}; fake Slack saw "
        f"{slack_stats['messages']} messages, Web API errors {slack_stats['errors'] or 'none'}; "
        f"the baseline journalled {baseline_rows} commands.",
    ]
    return Result(
        source="bench/ack_bench.py",
        name="ack",
        title="1. Ack latency (`roombot serve`, emulator at 200 ms)",
        rows=rows,
        rounds=samples,
        notes=notes,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="benchmark 1: ack latency")
    parser.add_argument("--quick", action="store_true", help="fewer rounds and requests")
    args = parser.parse_args()
    from bench.report import print_table

    print_table([common.run(run(quick=args.quick))])


if __name__ == "__main__":
    main()
