"""The console's bot thread: Ctrl-C while a step runs cancels that step's wait, nothing else.

The step here is a coroutine that waits for ever on the thread's real loop; SIGINT is sent to
the main thread by the kernel (`pthread_kill`) once the step has started, as a terminal would.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from bot.local.console.bot_thread import BotThread

WITHIN = 10.0


@asynccontextmanager
async def _resource() -> AsyncIterator[str]:
    yield "up"


def test_ctrl_c_while_a_step_waits_cancels_that_step_and_the_thread_goes_on() -> None:
    started, cancelled = threading.Event(), threading.Event()

    async def step() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    def interrupt_once_started(main: int) -> None:
        if started.wait(WITHIN):
            signal.pthread_kill(main, signal.SIGINT)

    with BotThread(_resource) as thread:
        assert thread.resource == "up"
        presser = threading.Thread(target=interrupt_once_started, args=(threading.get_ident(),))
        presser.start()
        with pytest.raises(KeyboardInterrupt):
            thread.run(step())
        presser.join(WITHIN)
        assert cancelled.wait(WITHIN)

        async def answer() -> int:
            return 42

        assert thread.run(answer()) == 42  # the loop is still serving
    assert not thread.resource_is_open


def test_a_resource_that_fails_to_open_is_raised_in_the_caller() -> None:
    @asynccontextmanager
    async def broken() -> AsyncIterator[str]:
        raise OSError("port in use")
        yield "never"

    with pytest.raises(OSError, match="port in use"), BotThread(broken):
        pass


def test_ctrl_c_reaches_only_the_main_thread() -> None:
    """SIGINT goes to a thread that does not block it: the bot's threads must all block it,
    or the main thread's readline may never hear Ctrl-C."""

    def blocked_here() -> bool:
        return signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, [])

    async def in_the_loop_and_a_worker_thread() -> tuple[bool, bool]:
        return blocked_here(), await asyncio.to_thread(blocked_here)

    with BotThread(_resource) as thread:
        assert thread.run(in_the_loop_and_a_worker_thread()) == (True, True)
        assert not blocked_here()  # the main thread still hears it
