"""When an ACS call is tried again, and how long it waits first.

Kept apart from the HTTP code so the rules read on their own, and so tests drive them with a
clock and a sleep of their own instead of waiting for real.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime

from bot.acs.errors import AcsError

logger = logging.getLogger("roombot.acs")

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
"""Answers that may go away by waiting: timeouts, throttling and the service's own troubles."""

Sleep = Callable[[float], Awaitable[None]]
Monotonic = Callable[[], float]


@dataclass(frozen=True)
class RetryPolicy:
    """How long and how often to retry: exponential backoff with full jitter, within a deadline.

    `Retry-After` from the service wins over the computed delay; a wait that would overrun
    *deadline* ends the attempts instead.
    """

    max_attempts: int = 8
    base_delay: float = 0.05
    max_delay: float = 4.0
    deadline: float = 30.0
    attempt_timeout: float = 10.0

    def backoff(self, attempt: int, rng: random.Random) -> float:
        return rng.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))


DEFAULT_RETRY = RetryPolicy()


@dataclass(frozen=True)
class Waiting:
    """What the attempts of a call wait with: a monotonic clock for the deadline, and a sleep.

    Production uses the real ones; tests pass a sleep that only records, so no test of
    retries waits for real.
    """

    sleep: Sleep = asyncio.sleep
    monotonic: Monotonic = time.monotonic


class Attempts:
    """The attempts of one call: numbers them, bounds each by the deadline, waits between them."""

    def __init__(self, policy: RetryPolicy, waiting: Waiting, rng: random.Random) -> None:
        self._policy = policy
        self._waiting = waiting
        self._rng = rng
        self._give_up_at = waiting.monotonic() + policy.deadline
        self.number = 0

    def begin(self) -> float:
        """Count the next attempt; the seconds it may take (never past the deadline)."""
        self.number += 1
        remaining = self._give_up_at - self._waiting.monotonic()
        return min(self._policy.attempt_timeout, max(remaining, 0.001))

    async def wait_to_retry(self, failure: AcsError, retry_after: float | None) -> None:
        """Wait before the next attempt, or raise *failure* when no further attempt fits.

        *retry_after* is the wait the service asked for; without one, jittered backoff.
        """
        policy = self._policy
        delay = retry_after if retry_after is not None else policy.backoff(self.number, self._rng)
        out_of_time = self._waiting.monotonic() + delay >= self._give_up_at
        if self.number >= policy.max_attempts or out_of_time:
            raise failure
        logger.info("ACS %s; retry %d in %.2fs", failure.message, self.number, delay)
        await self._waiting.sleep(delay)


def retry_after(headers: Mapping[str, str], now: datetime) -> float | None:
    """Seconds the service asks us to wait (`retry-after-ms`, `x-ms-retry-after-ms` or
    `Retry-After` in seconds or as an HTTP date, read against *now*); None if it asks nothing."""
    for name in ("retry-after-ms", "x-ms-retry-after-ms"):
        if value := headers.get(name):
            try:
                return max(float(value) / 1000, 0.0)
            except ValueError:
                pass
    value = headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max((when - now).total_seconds(), 0.0)
