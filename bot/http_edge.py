"""The HTTP server's edge: how long a connection may take to say something, and how many may
wait at once before proving they come from Slack.

aiohttp has no time limit on receiving a request's headers (only an idle timeout of an hour),
and accepts every connection: 1,050 clients sending their headers a byte at a time exhausted
the process's file descriptors, so `/healthz` and genuine commands failed and nothing was
logged. Here every connection is watched from the moment it opens:

- it must deliver a complete request head within `header_timeout` of opening (or of its
  previous response), else it is closed;
- at most `max_unproven` connections may be open that have not yet carried a request with a
  valid Slack signature; above that, the oldest one still waiting for its headers is closed
  (a new connection, a health probe among them, is served rather than refused);
- once a connection carried a signed request (`EdgeGuard.proven`) it is Slack's (or the
  front end's) and only aiohttp's own keep-alive timeout applies.

The body's own deadline is the handler's (`bot.slack.adapter.BODY_TIMEOUT`). Closings are
logged as one summary line a minute at most: an attack must not flood the log either.

aiohttp offers no hook before a request's head is parsed, so `EdgeSite` gives the listening
socket a protocol factory that wraps aiohttp's own protocol (`GuardedProtocol`) and forwards
every transport event to it unchanged.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

logger = logging.getLogger("roombot.http")

HEADER_TIMEOUT = 5.0
"""Seconds a connection may take to send a request head (Slack gives up after 3 s)."""

MAX_UNPROVEN = 256
"""Connections that have not shown a valid signature yet, at most, at once."""

LOG_EVERY = 60.0
"""Seconds between two summary lines about closed connections."""


class _Connection:
    """What the guard knows of one connection."""

    __slots__ = ("busy", "proven", "timer", "transport")

    def __init__(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.busy = False  # a request is being handled (its head has arrived)
        self.proven = False  # it carried a request with a valid Slack signature
        self.timer: asyncio.TimerHandle | None = None


class EdgeGuard:
    """Closes connections that are slow to send a request head, or too many unproven ones."""

    def __init__(
        self,
        *,
        header_timeout: float = HEADER_TIMEOUT,
        max_unproven: int = MAX_UNPROVEN,
        log_every: float = LOG_EVERY,
    ) -> None:
        self.header_timeout = header_timeout
        self.max_unproven = max_unproven
        self._log_every = log_every
        self._connections: dict[asyncio.BaseTransport, _Connection] = {}
        # Unproven connections in the order they opened; the oldest idle one goes first.
        self._unproven: OrderedDict[asyncio.BaseTransport, _Connection] = OrderedDict()
        self._slow = 0
        self._evicted = 0
        self._refused = 0
        self._logged_at: float | None = None

    @property
    def unproven(self) -> int:
        """How many open connections have not carried a signed request yet."""
        return len(self._unproven)

    # --- transport events (GuardedProtocol) ------------------------------------------------

    def opened(self, transport: asyncio.BaseTransport) -> None:
        connection = _Connection(transport)
        self._connections[transport] = connection
        self._unproven[transport] = connection
        self._arm(connection)
        if len(self._unproven) > self.max_unproven:
            oldest_idle = next((c for c in self._unproven.values() if not c.busy), None)
            if oldest_idle is not None and oldest_idle is not connection:
                self._evicted += 1
                self._drop(oldest_idle)
            else:  # every other unproven connection is in a request: refuse this one
                self._refused += 1
                self._drop(connection)

    def closed(self, transport: asyncio.BaseTransport) -> None:
        connection = self._connections.pop(transport, None)
        if connection is None:
            return
        self._unproven.pop(transport, None)
        if connection.timer is not None:
            connection.timer.cancel()
            connection.timer = None

    # --- request events (the middleware and the Slack handler) -----------------------------

    def request_started(self, transport: asyncio.BaseTransport | None) -> None:
        connection = self._connections.get(transport) if transport is not None else None
        if connection is None:
            return
        connection.busy = True
        if connection.timer is not None:
            connection.timer.cancel()
            connection.timer = None

    def request_finished(self, transport: asyncio.BaseTransport | None) -> None:
        connection = self._connections.get(transport) if transport is not None else None
        if connection is None:
            return
        connection.busy = False
        if not connection.proven:
            self._arm(connection)  # the next request head is due as soon as this one was

    def proven(self, transport: asyncio.BaseTransport | None) -> None:
        """The connection carried a request with a valid signature: no longer counted."""
        connection = self._connections.get(transport) if transport is not None else None
        if connection is None:
            return
        connection.proven = True
        self._unproven.pop(connection.transport, None)

    # --- inside ----------------------------------------------------------------------------

    def _arm(self, connection: _Connection) -> None:
        if connection.timer is not None:
            connection.timer.cancel()
        loop = asyncio.get_running_loop()
        connection.timer = loop.call_later(self.header_timeout, self._too_slow, connection)

    def _too_slow(self, connection: _Connection) -> None:
        connection.timer = None
        if connection.busy or connection.proven:
            return
        self._slow += 1
        self._drop(connection)

    def _drop(self, connection: _Connection) -> None:
        # abort, not close: nothing is owed to this client, and its descriptor is freed now.
        connection.transport.abort()  # type: ignore[attr-defined]
        self.closed(connection.transport)
        self._summarise()

    def _summarise(self) -> None:
        now = asyncio.get_running_loop().time()
        if self._logged_at is not None and now - self._logged_at < self._log_every:
            return
        self._logged_at = now
        logger.warning(
            "closed %d connections that sent no request head within %g s, %d idle ones and "
            "refused %d new ones over the limit of %d connections without a Slack signature",
            self._slow,
            self.header_timeout,
            self._evicted,
            self._refused,
            self.max_unproven,
        )
        self._slow = self._evicted = self._refused = 0


class GuardedProtocol(asyncio.Protocol):
    """aiohttp's protocol for one connection, with its opening and closing told to a guard."""

    def __init__(self, inner: asyncio.Protocol, guard: EdgeGuard) -> None:
        self._inner = inner
        self._guard = guard
        self._transport: asyncio.BaseTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport
        self._inner.connection_made(transport)
        self._guard.opened(transport)  # may close it at once: after aiohttp has it

    def connection_lost(self, exc: Exception | None) -> None:
        if self._transport is not None:
            self._guard.closed(self._transport)
        self._inner.connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received()

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()


class _MalformedRequestsInOneLine(logging.Filter):
    """aiohttp logs a request it cannot parse (a bad Content-Length, a header too long…) at
    ERROR with a traceback: unauthenticated garbage would fill the log. Such a client error
    becomes one DEBUG line; errors of our own (500s) keep their traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError) and 400 <= error.code < 500:
            reason = " ".join(str(error.message).split())[:200]
            logger.debug("refused a malformed HTTP request (%d): %s", error.code, reason)
            return False
        return True


def server_logger() -> logging.Logger:
    """The logger aiohttp's server reports to (`handler_args["logger"]`), filtered as above."""
    server = logging.getLogger("roombot.http.server")
    if not any(isinstance(f, _MalformedRequestsInOneLine) for f in server.filters):
        server.addFilter(_MalformedRequestsInOneLine())
    return server


EDGE_GUARD_KEY: web.AppKey[EdgeGuard] = web.AppKey("edge_guard", EdgeGuard)


def guarded_app(app: web.Application, guard: EdgeGuard) -> web.Application:
    """Put *guard* on *app*: its middleware tells the guard when each request starts and ends."""
    app[EDGE_GUARD_KEY] = guard

    @web.middleware
    async def tell_the_guard(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        guard.request_started(request.transport)
        try:
            return await handler(request)
        finally:
            guard.request_finished(request.transport)

    app.middlewares.append(tell_the_guard)
    return app


class EdgeSite(web.BaseSite):
    """A TCP site like `web.TCPSite`, whose connections are watched by the app's `EdgeGuard`.

    With *sock* it serves on that listening socket (bound beforehand by `roombot serve`, so a
    busy port is reported before anything else starts) instead of binding *host*:*port*.
    """

    __slots__ = ("_host", "_port", "_sock")

    def __init__(
        self,
        runner: web.AppRunner,
        host: str,
        port: int,
        *,
        sock: socket.socket | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(runner, **kwargs)
        self._host = host
        self._port = port
        self._sock = sock

    @property
    def name(self) -> str:
        return f"http://{self._host}:{self._port}"

    async def start(self) -> None:
        await super().start()
        runner = self._runner
        assert isinstance(runner, web.AppRunner), "EdgeSite serves an application"
        server = runner.server
        assert server is not None, "runner.setup() first"
        guard = runner.app[EDGE_GUARD_KEY]

        def protocol() -> asyncio.Protocol:
            return GuardedProtocol(server(), guard)

        loop = asyncio.get_running_loop()
        if self._sock is not None:
            self._server = await loop.create_server(
                protocol, sock=self._sock, backlog=self._backlog
            )
        else:
            self._server = await loop.create_server(
                protocol, self._host, self._port, backlog=self._backlog
            )
