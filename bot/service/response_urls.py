"""The service's side of `ResponseUrlUses`: a reservation is one conditional journal write."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.store.journal import Journal


class JournalResponseUrls:
    """`ResponseUrlUses` on the journal: the count goes up atomically across replicas."""

    def __init__(self, journal: Journal, *, clock: Callable[[], datetime]) -> None:
        self._journal = journal
        self._clock = clock

    async def reserve(self, key: str) -> bool:
        return await self._journal.note_response_url_use(key, now=self._clock())
