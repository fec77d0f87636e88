"""Work that starts only once Slack has its answer.

A listener hands the slow part of a command to the journal worker. Started at once, that
work's first steps (database writes, SQL compilation) interleave with writing the ack, adding
milliseconds to every ack. The HTTP adapter collects such work during dispatch and starts it
after the response is written; outside a collecting request (Socket Mode) it starts at once.
Either way it starts in the listener's context, so what the request set (whose workspace it
acts for: `bot.slack.workspaces.acting_for`) holds for the work and the tasks it starts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, copy_context

_pending: ContextVar[list[Callable[[], None]] | None] = ContextVar("after_ack", default=None)


def after_ack(start: Callable[[], None]) -> None:
    """Run *start* once the current request has been answered (now, if none is collecting)."""
    pending = _pending.get()
    if pending is None:
        start()
    else:
        context = copy_context()
        pending.append(lambda: context.run(_start_detached, start))


def _start_detached(start: Callable[[], None]) -> None:
    _pending.set(None)  # in the listener's copied context: the request is answered by now
    start()


@contextmanager
def collecting() -> Iterator[list[Callable[[], None]]]:
    """Collect `after_ack` work for the duration of one request's dispatch."""
    pending: list[Callable[[], None]] = []
    token = _pending.set(pending)
    try:
        yield pending
    finally:
        _pending.reset(token)
