"""A per-key sliding-window limit, in memory: how many tries one client gets per window.

Hand-written (a dozen lines) rather than a dependency: the limits libraries on PyPI bring
storage back-ends and decorators for frameworks roombot does not use. Per replica on purpose:
it only slows down guessing; the limits that matter (codes per person) live in the database.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class SlidingWindow:
    """At most *limit* hits per *window* seconds for each key; `hit` says whether one is allowed."""

    def __init__(
        self, *, limit: int, window: float, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._limit = limit
        self._window = window
        self._monotonic = monotonic
        self._hits: dict[str, deque[float]] = {}

    def hit(self, key: str) -> bool:
        """Count one hit for *key*; False (and not counted) when it is over the limit."""
        if not self.allowed(key):
            return False
        self.add(key)
        return True

    def allowed(self, key: str) -> bool:
        """Whether *key* is under the limit now (counts nothing)."""
        hits = self._recent(key)
        return hits is None or len(hits) < self._limit

    def add(self, key: str) -> None:
        """Count one hit for *key*, whatever the limit."""
        now = self._monotonic()
        self._hits.setdefault(key, deque()).append(now)
        if len(self._hits) > 10_000:  # forget idle clients rather than grow without bound
            self._hits = {k: v for k, v in self._hits.items() if v and v[-1] > now - self._window}

    def _recent(self, key: str) -> deque[float] | None:
        hits = self._hits.get(key)
        if hits is not None:
            cutoff = self._monotonic() - self._window
            while hits and hits[0] <= cutoff:
                hits.popleft()
        return hits
