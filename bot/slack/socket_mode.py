"""Socket Mode that can always be stopped, and that says "cannot connect" in one line.

slack-sdk's aiohttp `SocketModeClient` retries a failed connection in a loop of its own: every
few seconds, forever, with a 60-line traceback each time, and `connect()` does not return until
Slack answers. Awaited at start-up, that loop kept `roombot serve` from ever reaching its signal
handling while Slack was unreachable. Here the library keeps everything it does well (the
WebSocket protocol, pings, acks, Bolt's dispatch) and only the connecting is replaced:

- `ReconnectingSocketModeClient.connect` tries, and after each failure logs one warning line
  (no traceback, no URL: Socket Mode URLs carry a ticket) and waits with exponential backoff;
  every reconnection the library starts (a dropped session, Slack's `disconnect`) goes through
  it too.
- `SocketMode.start` runs that connecting in a task, so start-up goes on at once and `/healthz`
  reports the connection; `SocketMode.close` cancels it in any state.

The connect body follows slack-sdk 3.x's `SocketModeClient.connect` step by step (close the old
session, fetch a URL, open the WebSocket, ping, restart the monitor and receiver tasks): the
library offers no single-attempt connect to call instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.web.async_client import AsyncWebClient

logger = logging.getLogger("roombot.socket_mode")

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class Backoff:
    """Seconds to wait after the *n*th failure in a row: doubling from *first* up to *most*.

    Each wait is shortened by up to *jitter* (a fraction) so that replicas cut off together do
    not all come back in the same instant. Hand-written: three lines, not worth a dependency.
    """

    first: float = 1.0
    most: float = 60.0
    jitter: float = 0.2

    def delay(self, failures: int, *, rand: Callable[[], float] = random.random) -> float:
        base = min(self.most, self.first * 2.0 ** max(0, failures - 1))
        return float(base * (1 - self.jitter * rand()))


def describe(exc: BaseException) -> str:
    """A short reason for a failed connection, never the URL (its ticket is a credential)."""
    if isinstance(exc, SlackApiError):
        return f"Slack answered {exc.response.get('error')!s}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        reason = exc.os_error.strerror or type(exc.os_error).__name__
        return f"cannot reach {exc.host}:{exc.port} ({reason})"
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"HTTP {exc.status} {exc.message}".strip()
    if isinstance(exc, TimeoutError):
        return "timed out"
    return type(exc).__name__


class ReconnectingSocketModeClient(SocketModeClient):
    """slack-sdk's Socket Mode client with a quiet, backed-off, cancellable connect loop."""

    def __init__(
        self,
        *args: Any,
        backoff: Backoff | None = None,
        sleep: Sleep = asyncio.sleep,
        rand: Callable[[], float] = random.random,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.backoff = backoff or Backoff()
        self._sleep = sleep
        self._rand = rand
        self.failures = 0
        """Connection attempts that failed since the last success (for tests and health)."""

    async def issue_new_wss_url(self) -> str:
        """A fresh WebSocket URL; failures are the caller's to report (the library logs them)."""
        response = await self.web_client.apps_connections_open(app_token=self.app_token)
        return str(response["url"])

    async def connect_to_new_endpoint(self, force: bool = False) -> None:
        """What the library calls to reconnect: a fresh URL, fetched inside `connect`'s loop."""
        acquired: bool
        try:
            acquired = await asyncio.wait_for(self.connect_operation_lock.acquire(), timeout=5)
        except TimeoutError:
            acquired = False  # another task is connecting already
        try:
            if force or (acquired and not await self.is_connected()):
                self.wss_uri = None
                await self.connect()
        finally:
            if acquired:
                self.connect_operation_lock.release()

    async def connect(self) -> None:
        """Connect, retrying with backoff until it works or the client is closed."""
        while not self.closed:
            try:
                await self._connect_once()
            except Exception as exc:
                if self.closed:
                    return
                self.failures += 1
                self.wss_uri = None  # a ticket is single use: ask for a new URL next time
                delay = self.backoff.delay(self.failures, rand=self._rand)
                if isinstance(exc, SlackApiError) and exc.response.get("error") == "ratelimited":
                    retry_after = exc.response.headers.get("Retry-After", "30")
                    with contextlib.suppress(ValueError):
                        delay = max(delay, float(retry_after))
                logger.warning(
                    "Socket Mode: could not connect to Slack (%s); trying again in %.0f s",
                    describe(exc),
                    delay,
                )
                await self._sleep(delay)
            else:
                if self.failures:
                    logger.info("Socket Mode: connected to Slack again")
                else:
                    logger.info("Socket Mode: connected to Slack")
                self.failures = 0
                return

    async def _connect_once(self) -> None:
        """One attempt, as in slack-sdk's `SocketModeClient.connect` (see the module doc)."""
        old_session = self.current_session
        self.auto_reconnect_enabled = False
        if old_session is not None:
            with contextlib.suppress(Exception):  # a broken session may fail to close
                await old_session.close()
        if self.aiohttp_client_session.closed:
            self.aiohttp_client_session = aiohttp.ClientSession()
        if self.wss_uri is None:
            self.wss_uri = await self.issue_new_wss_url()
        self.current_session = await self.aiohttp_client_session.ws_connect(
            self.wss_uri,
            autoping=False,
            heartbeat=self.ping_interval,
            proxy=self.proxy,
            ssl=self.web_client.ssl if self.web_client.ssl is not None else True,
        )
        self.auto_reconnect_enabled = self.default_auto_reconnect_enabled
        self.stale = False
        self.last_ping_pong_time = None
        await self.current_session.ping(f"sdk-ping-pong:{time.time()}".encode())
        if self.current_session_monitor is not None:
            self.current_session_monitor.cancel()
        self.current_session_monitor = asyncio.ensure_future(self.monitor_current_session())
        if self.message_receiver is not None:
            self.message_receiver.cancel()
        self.message_receiver = asyncio.ensure_future(self.receive_messages())


class SocketMode(AsyncSocketModeHandler):
    """Bolt's Socket Mode handler on `ReconnectingSocketModeClient`, connected in the background.

    *web_client* is used only for `apps.connections.open`; it should have no retry handlers of
    its own, so that one failed connection is one attempt and one log line.
    """

    client: ReconnectingSocketModeClient

    def __init__(
        self,
        app: AsyncApp,
        app_token: str,
        *,
        web_client: AsyncWebClient,
        backoff: Backoff | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        # Not super().__init__: it would build a client of the library's class (with its own
        # HTTP session and tasks) only for it to be replaced.
        self.app = app
        self.app_token = app_token
        self.client = ReconnectingSocketModeClient(
            app_token=app_token,
            logger=logging.getLogger("roombot.socket_mode.client"),
            web_client=web_client,
            ping_interval=10,  # Bolt's default for its handler
            backoff=backoff,
            sleep=sleep,
        )
        self.client.socket_mode_request_listeners.append(self.handle)  # type: ignore[arg-type]
        self._connecting: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Begin connecting (and retrying) in the background; returns at once."""
        self._connecting = asyncio.create_task(self.client.connect(), name="socket-mode-connect")

    async def connected(self) -> bool:
        return bool(await self.client.is_connected())

    async def close(self) -> None:
        """Stop in any state: connecting, waiting to retry, connected."""
        self.client.closed = True
        if self._connecting is not None and not self._connecting.done():
            self._connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._connecting
        await self.client.close()  # type: ignore[no-untyped-call]
