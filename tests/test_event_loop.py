"""The loop every long-running process runs on: the collector is set for a server while it
runs, and put back afterwards."""

from __future__ import annotations

import asyncio
import gc

import pytest

from bot.event_loop import GC_THRESHOLDS, run_loop


def test_a_server_collects_young_objects_less_often_while_it_runs() -> None:
    before = gc.get_threshold()

    async def main() -> tuple[int, ...]:
        await asyncio.sleep(0)
        return gc.get_threshold()

    assert run_loop(main()) == GC_THRESHOLDS
    assert GC_THRESHOLDS[0] > before[0]
    assert gc.get_threshold() == before


def test_the_collector_is_put_back_when_the_server_fails() -> None:
    before = gc.get_threshold()

    async def main() -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        run_loop(main())
    assert gc.get_threshold() == before
