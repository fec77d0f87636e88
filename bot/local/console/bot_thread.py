"""The local bot on an event loop in a thread of its own.

The console's main thread must be free to block in `readline`: that is where Ctrl-C arrives
(Python delivers signals to the main thread only) and where line editing works. Blocking in
`input()` inside a coroutine, as the first console did, froze the bot between commands and let
Ctrl-C tear through `asyncio.run` mid-request. Here the main thread hands each step to the
loop with `run()` and waits for its result; Ctrl-C while waiting cancels only that wait.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Callable, Coroutine
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

from bot.local.console.interrupts import sigint_blocked

T = TypeVar("T")
R = TypeVar("R")


class BotThread(Generic[R]):
    """Enters *opener()* on a private loop in a daemon thread and keeps it open until exit.

    `with BotThread(opener) as thread:` returns once the resource is up (or raises what
    stopped it); `thread.run(coro)` runs a coroutine there and returns its result.
    """

    def __init__(self, opener: Callable[[], AbstractAsyncContextManager[R]]) -> None:
        self._opener = opener
        self._loop = asyncio.new_event_loop()
        self._stop = asyncio.Event()
        self._ready = threading.Event()
        self._resource: R | None = None
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="roombot-dev-bot", daemon=True)

    @property
    def resource(self) -> R:
        if self._resource is None:
            raise RuntimeError("the bot is not running")
        return self._resource

    @property
    def resource_is_open(self) -> bool:
        return self._resource is not None

    def __enter__(self) -> Self:
        # The kernel gives a process's SIGINT to any thread that does not block it. Taken by
        # the bot's thread (or a database thread it starts: they inherit its mask), the main
        # thread's readline never wakes and Ctrl-C seems ignored. So the bot's threads block it.
        with sigint_blocked():
            self._thread.start()
        try:
            self._ready.wait()
        except BaseException:  # Ctrl-C while starting: stop cleanly, then let it propagate
            self.close()
            raise
        if self._failure is not None:
            self.close()
            raise self._failure
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        """*work*'s result, computed on the bot's loop; Ctrl-C cancels it and propagates.

        The result's future exists before anything is scheduled, so wherever in this method
        Ctrl-C lands, what was started is cancelled (`run_coroutine_threadsafe` hands back its
        future only once the work is scheduled: a Ctrl-C in between left it running).
        """
        result: concurrent.futures.Future[T] = concurrent.futures.Future()
        try:
            self._loop.call_soon_threadsafe(self._start, work, result)
            return result.result()
        except KeyboardInterrupt:
            result.cancel()
            raise

    def _start(self, work: Coroutine[Any, Any, T], result: concurrent.futures.Future[T]) -> None:
        """On the loop: run *work* as a task tied to *result* both ways."""
        if result.cancelled():
            work.close()
            return
        task = self._loop.create_task(work)

        def cancel_task(done: concurrent.futures.Future[T]) -> None:
            if done.cancelled():
                self._loop.call_soon_threadsafe(task.cancel)

        def settle(done: asyncio.Task[T]) -> None:
            if done.cancelled():
                result.cancel()
                return
            # The main thread may cancel *result* at any moment: then there is no one to tell.
            with contextlib.suppress(concurrent.futures.InvalidStateError):
                failure = done.exception()
                if failure is not None:
                    result.set_exception(failure)
                else:
                    result.set_result(done.result())

        result.add_done_callback(cancel_task)
        task.add_done_callback(settle)

    def call(self, function: Callable[..., T], *args: Any) -> T:
        """*function(*args)* called on the bot's loop, where the bot's state may be touched."""

        async def call() -> T:
            return function(*args)

        return self.run(call())

    def close(self, within: float = 15.0) -> None:
        """Leave the resource (its own shutdown is bounded) and wait for the thread."""
        if self._loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop finished already
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread.is_alive():
            self._thread.join(within)

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._serve())
        finally:
            try:
                _cancel_leftovers(self._loop)
                self._loop.run_until_complete(self._loop.shutdown_asyncgens())
                self._loop.run_until_complete(self._loop.shutdown_default_executor())
            finally:
                self._loop.close()

    async def _serve(self) -> None:
        try:
            async with self._opener() as resource:
                self._resource = resource
                self._ready.set()
                await self._stop.wait()
        except BaseException as exc:  # reported to the main thread, which decides
            self._failure = exc
        finally:
            self._resource = None
            self._ready.set()


def _cancel_leftovers(loop: asyncio.AbstractEventLoop) -> None:
    tasks = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in tasks:
        task.cancel()
    if tasks:
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
