"""Benchmark 3: our Rooms client against the official aio SDK, and a bare signed loop.

The emulator (`roombot emulator --port 0`, no added latency) runs in a process of its own, so
its CPU is not counted. The clients run in one other process (this module with `--worker`)
that does nothing else: after warming each up, it runs rounds in which each client in turn
(the order rotating) makes N rooms with 20 creates in flight, timing the wall clock and the
process's CPU (`time.process_time`, all threads) over those N. Every create sends the same
room: tomorrow 09:00-17:00 UTC, one presenter.

- ours: `bot.acs.client.RoomsClient.from_connection_string(...)`, `create_room(...)`
- sdk: `azure.communication.rooms.aio.RoomsClient(endpoint, AzureKeyCredential(key))`
- bare: `bot.acs.auth.sign` + one aiohttp POST (`bench.bare_acs`): the ceiling

Short rounds that alternate the three keep the machine's drift out of the ratios; figures are
medians over the rounds. Goal: ours >= 3x the SDK's
creates/s.

Run alone: ``python -m bench.client_bench [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta

from bench import common
from bench.common import PYTHON, Result, Row, children, median

CONCURRENCY = 20
CLIENTS = ("ours", "sdk", "bare")


async def _loop(create: Callable[[], Awaitable[object]], count: int) -> None:
    """*count* creates, CONCURRENCY at a time."""
    remaining = iter(range(count))

    async def one() -> None:
        for _ in remaining:
            await create()

    await asyncio.gather(*(one() for _ in range(CONCURRENCY)))


async def _measure(create: Callable[[], Awaitable[object]], count: int) -> dict[str, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    await _loop(create, count)
    return {
        "creates": count,
        "seconds": time.perf_counter() - wall,
        "cpu_seconds": time.process_time() - cpu,
    }


@contextlib.asynccontextmanager
async def _clients(connection: str) -> AsyncIterator[dict[str, Callable[[], Awaitable[object]]]]:
    """One create callable per client, all sending the same room."""
    import aiohttp
    from azure.communication.rooms import (
        CommunicationUserIdentifier,
        ParticipantRole,
        RoomParticipant,
    )
    from azure.communication.rooms.aio import RoomsClient as SdkRoomsClient
    from azure.core.credentials import AzureKeyCredential

    from bench.bare_acs import BareRooms, create_body, participant
    from bot.acs.client import RoomsClient
    from bot.acs.connection import parse_connection_string
    from bot.domain import Role

    now = datetime.now(UTC)
    start = (now + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    until = start + timedelta(hours=8)
    presenter = participant(1)
    parsed = parse_connection_string(connection)
    people = [
        RoomParticipant(
            communication_identifier=CommunicationUserIdentifier(presenter),
            role=ParticipantRole.PRESENTER,
        )
    ]
    body = create_body(now, 1)
    async with (
        RoomsClient.from_connection_string(connection) as ours,
        SdkRoomsClient(str(parsed.endpoint), AzureKeyCredential(parsed.key.to_base64())) as sdk,
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100)) as session,
    ):
        bare = BareRooms(parsed, session)
        yield {
            "ours": lambda: ours.create_room(
                valid_from=start,
                valid_until=until,
                participants={presenter: Role.PRESENTER},
                pstn_dial_out_enabled=False,
            ),
            "sdk": lambda: sdk.create_room(
                valid_from=start,
                valid_until=until,
                participants=people,
                pstn_dial_out_enabled=False,
            ),
            "bare": lambda: bare.create(body),
        }


async def _worker(connection: str, rounds: int, count: int, warm: int) -> dict[str, list[float]]:
    """Warm every client, then *rounds* rounds of *count* creates each, order rotating."""
    figures: dict[str, list[float]] = {}
    async with _clients(connection) as creates:
        for create in creates.values():
            await _loop(create, warm)
        for number in range(rounds):
            order = CLIENTS[number % 3 :] + CLIENTS[: number % 3]
            for kind in order:
                measured = await _measure(creates[kind], count)
                figures.setdefault(f"{kind} creates/s", []).append(
                    measured["creates"] / measured["seconds"]
                )
                figures.setdefault(f"{kind} cpu ms/create", []).append(
                    measured["cpu_seconds"] / measured["creates"] * 1000
                )
    return figures


async def _run_worker(
    connection: str, rounds: int, count: int, warm: int
) -> dict[str, list[float]]:
    process = await asyncio.create_subprocess_exec(
        PYTHON,
        "-m",
        "bench.client_bench",
        "--worker",
        "--rounds",
        str(rounds),
        "--creates",
        str(count),
        "--warm",
        str(warm),
        env={**os.environ, "ACS_CONNECTION_STRING": connection},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), 600)
    except BaseException:  # timed out or interrupted: the worker goes too
        if process.returncode is None:
            process.kill()
            await process.wait()
        raise
    if process.returncode != 0:
        raise RuntimeError(f"client worker failed:\n{err.decode()[-2000:]}")
    figures: dict[str, list[float]] = json.loads(out.decode().strip().splitlines()[-1])
    return figures


async def run(*, quick: bool = False) -> Result:
    rounds, count, warm = (3, 500, 100) if quick else (7, 1000, 300)
    async with children() as kids:
        emulator, connection = await kids.emulator()
        per_round = await _run_worker(connection, rounds, count, warm)
        emulator_cpu = emulator.cpu_seconds()
    rate = {kind: median(per_round[f"{kind} creates/s"]) for kind in CLIENTS}
    cpu = {kind: median(per_round[f"{kind} cpu ms/create"]) for kind in CLIENTS}
    sdk_name = "azure-communication-rooms aio SDK"
    rows = [
        Row(
            "3 rooms client",
            f"creates/s at {CONCURRENCY} concurrent",
            rate["ours"],
            rate["sdk"],
            "/s",
            sdk_name,
            ">= 3x",
            rate["ours"] >= 3 * rate["sdk"],
        ),
        Row(
            "3 rooms client",
            "CPU per create (client process)",
            cpu["ours"],
            cpu["sdk"],
            "ms",
            sdk_name,
        ),
        Row(
            "3 rooms client",
            "creates/s vs bare signed aiohttp loop",
            rate["ours"],
            rate["bare"],
            "/s",
            "bare sign + aiohttp (ceiling)",
        ),
        Row(
            "3 rooms client",
            "CPU per create vs bare loop",
            cpu["ours"],
            cpu["bare"],
            "ms",
            "bare sign + aiohttp (ceiling)",
        ),
    ]
    notes = [
        f"{rounds} rounds of {count} creates per client (order rotating) after {warm} warm-up "
        f"creates each, {CONCURRENCY} in flight, in one client process that does nothing else; "
        f"the emulator runs in its own process (it used {emulator_cpu:.1f} s of CPU in all, "
        "not counted). creates/s is bounded by the emulator on this 2-core machine; CPU per "
        "create is the steadier comparison.",
        "creates/s: "
        + ", ".join(f"{k} {rate[k]:,.0f}" for k in CLIENTS)
        + "; CPU ms/create: "
        + ", ".join(f"{k} {cpu[k]:.3f}" for k in CLIENTS)
        + f"; the SDK uses {cpu['sdk'] / cpu['ours']:.1f}x our CPU per create.",
    ]
    return Result(
        source="bench/client_bench.py",
        name="client",
        title="3. Rooms client vs the official SDK (20 concurrent creates)",
        rows=rows,
        rounds=per_round,
        notes=notes,
        extra={"rates": rate, "cpu": cpu},
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="benchmark 3: Rooms client vs the SDK")
    parser.add_argument("--quick", action="store_true", help="fewer rounds and creates")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, default=7, help=argparse.SUPPRESS)
    parser.add_argument("--creates", type=int, default=1000, help=argparse.SUPPRESS)
    parser.add_argument("--warm", type=int, default=300, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        connection = os.environ["ACS_CONNECTION_STRING"]
        figures = asyncio.run(_worker(connection, args.rounds, args.creates, args.warm))
        print(json.dumps(figures), file=sys.stdout, flush=True)
        return
    from bench.report import print_table

    print_table([common.run(run(quick=args.quick))])


if __name__ == "__main__":
    main()
