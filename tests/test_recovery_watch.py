"""The ACS recovery watch: probes only while something waits, and hurries the waiting once."""

from __future__ import annotations

import asyncio

from bot.service.recovery import AcsRecoveryWatch


async def test_probes_until_acs_answers_then_hurries_the_waiting_once() -> None:
    answers = iter([False, False, True])
    probes: list[bool] = []
    back = asyncio.Event()
    hurried: list[int] = []

    async def probe() -> bool:
        probes.append(next(answers))
        return probes[-1]

    async def on_back() -> None:
        hurried.append(len(probes))
        back.set()

    watch = AcsRecoveryWatch(probe, on_back, interval=0.001)
    watch.delayed()
    watch.delayed()  # many waiting commands, one watch
    await asyncio.wait_for(back.wait(), 5)
    assert probes == [False, False, True]
    assert hurried == [3]
    await asyncio.wait_for(_stopped(watch), 5)
    await watch.aclose()


async def test_a_failing_probe_is_survived_and_the_watch_can_be_closed() -> None:
    calls = 0

    async def probe() -> bool:
        nonlocal calls
        calls += 1
        raise RuntimeError("probe bug")

    async def on_back() -> None:
        raise AssertionError("ACS never answered")

    watch = AcsRecoveryWatch(probe, on_back, interval=0.001)
    watch.delayed()
    while calls < 3:  # noqa: ASYNC110 - bounded by the test timeout; the watch keeps probing
        await asyncio.sleep(0.001)
    assert watch.watching
    await watch.aclose()
    assert not watch.watching


async def _stopped(watch: AcsRecoveryWatch) -> None:
    while watch.watching:  # noqa: ASYNC110 - wrapped in wait_for by the caller
        await asyncio.sleep(0.001)


async def test_a_first_probe_that_answers_ends_the_watch_without_hurrying() -> None:
    """ACS answering at once means the failure was one kind of call or a one-off: hurrying
    the waiting commands would only repeat it."""
    probes: list[bool] = []

    async def probe() -> bool:
        probes.append(True)
        return True

    async def on_back() -> None:
        raise AssertionError("nothing to hurry")

    watch = AcsRecoveryWatch(probe, on_back, interval=0.001)
    watch.delayed()
    await asyncio.wait_for(_stopped(watch), 5)
    assert probes == [True]
    await watch.aclose()
    watch.delayed()  # closed: a command finishing during shutdown starts nothing
    assert not watch.watching
