"""`run_loop`: the event loop every long-running roombot process runs on."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")

GC_THRESHOLDS = (20_000, 20, 20)
"""The cyclic collector's thresholds while a long-running process serves (CPython's default
is (700, 10, 10)). A command allocates thousands of objects that live for its ~100 ms
(Bolt's request, slack-sdk's client, SQLAlchemy's results); at 700 allocations a young
collection runs every few commands, finds most of them alive and moves them on, and the
oldest generation, which holds every module and cache loaded at start-up, is then walked in
full every few seconds. Measured with `gc.callbacks` in `roombot serve` under the throughput
benchmark: the collector took 6-8% of the server's CPU with the defaults and about 1% with
these; reference counting still frees everything that is not in a cycle at once, so memory
stays where it was (`make bench`'s RSS row)."""


def run_loop(main: Coroutine[Any, Any, T]) -> T:
    """Run *main* on uvloop where it is installed, else on asyncio's own loop, with the
    cyclic collector set for a server (`GC_THRESHOLDS`).

    uvloop's loop and transports cut the server's CPU per command by about 15% in the
    throughput benchmark (docs/benchmarks.md); nothing else changes with the loop. The local
    stand-ins run on it too (`roombot emulator`, the benchmark's fake Slack): on one machine
    with the server, what they spend is taken from it.
    """
    with _server_collector():
        try:
            import uvloop
        except ImportError:
            return asyncio.run(main)
        return uvloop.run(main)


@contextmanager
def _server_collector() -> Iterator[None]:
    before = gc.get_threshold()
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*before)
