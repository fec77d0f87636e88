"""Uninstalled: the workspace's token is gone, and so is everything roombot still owed it.

Slack sends `app_uninstalled` when a workspace (or an organisation) removes the app, and
`tokens_revoked` when its bot token is revoked. Both delete the scope's installation
(`InstalledBots.remove`), so from then on:

- Bolt finds no installation for a request from that scope and answers it with
  `install.NOT_INSTALLED` instead of running a listener;
- `InstalledOnly`, wrapped around the journal worker's runner, ends each of the scope's
  unfinished commands the next time it comes up — marked failed ("not installed") and answered,
  with no call to ACS or Slack and no retry — so nothing waits for a token that will not return.
  One waiting out a delay comes up when the delay ends (at most about 30 s: the runner's
  longest), on whichever replica claims it;
- a command already running when the token went fails its next Slack call (`NotInstalled`),
  and its retry ends as above.

In single-workspace mode (`SLACK_BOT_TOKEN`) the token is the deployer's to replace: the event
is logged, and nothing is deleted.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck

from bot.domain import JournalEntry, JournalState
from bot.service.ports import JournalEnding
from bot.slack.workspaces import InstalledBots, acting_for, workspace_scope

logger = logging.getLogger("roombot.slack")

NOT_INSTALLED_CODE = "not_installed"
ENDED_UNINSTALLED = (
    "roombot was removed from this workspace before your command finished, so nothing more "
    "was done."
)


def listen_for_uninstalls(
    app: AsyncApp, bots: InstalledBots | None, *, on_removed: Callable[[], None]
) -> None:
    """Handle `app_uninstalled` and `tokens_revoked` on *app* (both modes, so Slack's events
    are always acknowledged); *on_removed* runs after an installation was deleted."""

    async def uninstalled(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        await _remove(body, "app_uninstalled")

    async def revoked(ack: AsyncAck, body: dict[str, Any], event: dict[str, Any]) -> None:
        await ack()
        tokens = event.get("tokens") if isinstance(event.get("tokens"), dict) else {}
        if tokens and tokens.get("bot"):
            await _remove(body, "tokens_revoked")
        else:
            logger.info("tokens_revoked named no bot token; roombot holds no other kind")

    async def _remove(body: dict[str, Any], why: str) -> None:
        scope = workspace_scope(body, str(body.get("team_id") or ""))
        if bots is None:
            logger.warning(
                "%s for %s: SLACK_BOT_TOKEN no longer works; install the app again and replace it",
                why,
                scope,
            )
            return
        removed = await bots.remove(scope)
        logger.info("%s: removed %d bot installation(s) of %s", why, removed, scope)
        on_removed()

    app.event("app_uninstalled")(uninstalled)
    app.event("tokens_revoked")(revoked)


class InstalledOnly:
    """The journal worker's process in multi-workspace mode: run an entry on its scope's
    behalf (`acting_for`), or end it at once when that scope is no longer installed."""

    def __init__(
        self,
        process: Callable[[JournalEntry], Awaitable[None]],
        *,
        bots: InstalledBots,
        journal: JournalEnding,
        worker_id: str,
        clock: Callable[[], datetime],
    ) -> None:
        self._process = process
        self._bots = bots
        self._journal = journal
        self._worker_id = worker_id
        self._clock = clock

    async def __call__(self, entry: JournalEntry) -> None:
        if await self._bots.find(entry.team_id) is None:
            await self._end(entry)
            return
        with acting_for(entry.team_id):
            await self._process(entry)

    async def _end(self, entry: JournalEntry) -> None:
        worker = self._worker_id
        if entry.state is JournalState.ACCEPTED:
            await self._journal.mark_failed(
                entry.key, NOT_INSTALLED_CODE, ENDED_UNINSTALLED, worker, now=self._clock()
            )
        await self._journal.mark_answered(entry.key, worker, now=self._clock())
        logger.info(
            "command %s ended unanswered: %s is no longer installed", entry.key, entry.team_id
        )
