"""Noticing that ACS is back, so commands that waited on it go at once, not at their backoff.

A command that could not reach ACS is released with a growing delay (up to 30 s). Without a
watcher, recovery after an outage waits for each command's own delay; with it, one cheap
signed probe a second runs while anything waits, and the first good answer makes every
waiting command due now and wakes the worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

logger = logging.getLogger("roombot.recovery")


class AcsRecoveryWatch:
    """Probes ACS every *interval* s after `delayed()`; when a probe that failed is followed
    by one that answers, `on_back()`. A first probe that answers ends the watch quietly."""

    def __init__(
        self,
        probe: Callable[[], Awaitable[bool]],
        on_back: Callable[[], Awaitable[None]],
        *,
        interval: float = 1.0,
    ) -> None:
        self._probe = probe
        self._on_back = on_back
        self._interval = interval
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def watching(self) -> bool:
        return self._task is not None and not self._task.done()

    def delayed(self) -> None:
        """A command is waiting on ACS: watch for its return (once, however many wait)."""
        if not self.watching and not self._closed:
            self._task = asyncio.create_task(self._watch(), name="acs-recovery-watch")

    async def aclose(self) -> None:
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _watch(self) -> None:
        seen_down = False
        while True:
            await asyncio.sleep(self._interval)
            try:
                answers = await self._probe()
            except Exception:
                logger.exception("the ACS probe failed unexpectedly")
                answers = False
            if answers and not seen_down:
                # ACS answered the first probe: a one-off failure, or one kind of call
                # failing while the rest work. Hurrying would only repeat the failure at
                # once; the waiting commands keep their own back-off.
                return
            if answers:
                break
            seen_down = True
        logger.info("ACS answers again; retrying the commands that waited for it")
        try:
            await self._on_back()
        except Exception:
            logger.exception("could not hurry the waiting commands; they retry on their own")
