"""The just-in-time tokens of workflow steps still running, held in memory only.

Slack gives each run of a custom step its own token (`function_executed`'s
`bot_access_token`, `xwfp-…`), valid until the step completes, and Bolt's `complete`/`fail`
call `functions.completeSuccess`/`completeError` with it (its `AttachingFunctionToken`
middleware, on by default). roombot completes a step later, from the journal worker, so the
listener leaves the token here for the worker to complete with.

It is a secret: it is never journalled, logged or shared between replicas. A step completed
by a replica that did not receive its event, or after a restart, is completed with the bot
token instead, which the method reference lists as accepted (bot tokens, no scope).
"""

from __future__ import annotations

from collections import OrderedDict

MAX_HELD = 1000
"""Steps waiting at once, at most: beyond it the oldest token is dropped (that step is then
completed with the bot token), so a flood of forged events cannot grow memory without end."""


class StepTokens:
    """Execution id -> that execution's own token, for the steps this process received."""

    def __init__(self, *, limit: int = MAX_HELD) -> None:
        self._held: OrderedDict[str, str] = OrderedDict()
        self._limit = limit

    def keep(self, execution: str, token: str) -> None:
        if not execution or not token:
            return
        self._held[execution] = token
        self._held.move_to_end(execution)
        while len(self._held) > self._limit:
            self._held.popitem(last=False)

    def get(self, execution: str) -> str | None:
        return self._held.get(execution)

    def forget(self, execution: str) -> None:
        """The step has ended: its token is of no more use to anyone."""
        self._held.pop(execution, None)

    def __repr__(self) -> str:  # never the tokens themselves
        return f"StepTokens({len(self._held)} held)"
