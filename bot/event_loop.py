"""`run_loop`: the event loop every long-running roombot process runs on."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run_loop(main: Coroutine[Any, Any, T]) -> T:
    """Run *main* on uvloop where it is installed, else on asyncio's own loop.

    uvloop's loop and transports cut the server's CPU per command by about 15% in the
    throughput benchmark (docs/benchmarks.md); nothing else changes with the loop. The local
    stand-ins run on it too (`roombot emulator`, the benchmark's fake Slack): on one machine
    with the server, what they spend is taken from it.
    """
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)
