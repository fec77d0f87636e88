"""The Socket Mode half of the fake Slack: a WebSocket endpoint speaking Slack's envelope protocol.

It exists so `SocketModeClient` (and Bolt's Socket Mode handler on top of it) can be exercised
end to end on loopback: the client fetches a URL from `apps.connections.open`, connects, gets a
`hello`, receives envelopes, answers each with an ack `{"envelope_id", "payload"?}`, and must
reconnect by itself when the server closes the session or sends `disconnect`.

`FakeSlack` owns one of these and delegates to it; waiting is done through `FakeSlack.wait_for`,
which is woken by the *on_change* callback given here.
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import WSCloseCode, WSMsgType, web

logger = logging.getLogger("roombot.fake_slack.socket_mode")

EnvelopeType = Literal["slash_commands", "interactive", "events_api"]
DisconnectReason = Literal["warning", "refresh_requested", "link_disabled", "too_many_websockets"]

SOCKET_MODE_PATH = "/link/"


@dataclass(frozen=True, kw_only=True)
class Envelope:
    """One envelope as sent to the client (kept to compare against acks and for diagnostics)."""

    envelope_id: str
    type: str
    payload: dict[str, Any]
    accepts_response_payload: bool
    at: float


@dataclass(kw_only=True)
class _Connection:
    number: int
    ws: web.WebSocketResponse
    received: list[Any] = field(default_factory=list)


class FakeSocketMode:
    """Connections, envelopes and acks of the fake Socket Mode server.

    Only URLs minted by `mint_url` (that is, by `apps.connections.open`) are accepted, so a client
    that reconnects without asking for a fresh URL is noticed. URLs stay valid for several
    connections because slack-sdk retries a failed connect with the URL it already holds.
    """

    def __init__(self, *, app_id: str, on_change: Callable[[], None], clock: Callable[[], float]):
        self._app_id = app_id
        self._on_change = on_change
        self._clock = clock
        self._tickets: set[str] = set()
        self._open: list[_Connection] = []
        self._opened_total = 0
        self.enabled = False
        self.envelopes: list[Envelope] = []
        self.acks: dict[str, dict[str, Any]] = {}
        self.stray_messages: list[Any] = []

    @property
    def connections(self) -> int:
        return len(self._open)

    @property
    def connections_opened(self) -> int:
        """How many sessions were ever established: a reconnect shows as an increase."""
        return self._opened_total

    def mint_url(self, base_ws_url: str) -> str:
        ticket = secrets.token_urlsafe(18)
        self._tickets.add(ticket)
        return f"{base_ws_url}?ticket={ticket}&app_id={self._app_id}"

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """The WebSocket endpoint: refuse unknown tickets, say `hello`, record acks until closed."""
        if not self.enabled:
            raise web.HTTPNotFound(text="socket mode is not enabled on this fake")
        if request.query.get("ticket") not in self._tickets:
            raise web.HTTPUnauthorized(text="invalid or missing ticket")
        ws = web.WebSocketResponse(autoping=True, timeout=2.0)
        await ws.prepare(request)
        self._opened_total += 1
        connection = _Connection(number=self._opened_total, ws=ws)
        self._open.append(connection)
        try:
            await ws.send_json(self._hello())
            self._on_change()
            async for message in ws:
                if message.type is WSMsgType.TEXT:
                    self._receive(connection, message.data)
                elif message.type is WSMsgType.BINARY:
                    self.stray_messages.append(message.data)
                    self._on_change()
        finally:
            self._open.remove(connection)
            self._on_change()
        return ws

    def _hello(self) -> dict[str, Any]:
        return {
            "type": "hello",
            "num_connections": len(self._open),
            "debug_info": {
                "host": "fake-applink-1",
                "build_number": 1,
                "approximate_connection_time": 18060,
            },
            "connection_info": {"app_id": self._app_id},
        }

    def _receive(self, connection: _Connection, data: str) -> None:
        try:
            message: Any = json.loads(data)
        except json.JSONDecodeError:
            message = data
        connection.received.append(message)
        if isinstance(message, dict) and isinstance(message.get("envelope_id"), str):
            self.acks[message["envelope_id"]] = message
        else:
            self.stray_messages.append(message)
        self._on_change()

    async def send(
        self,
        type_: str,
        payload: dict[str, Any],
        *,
        accepts_response_payload: bool | None = None,
        envelope_id: str | None = None,
        retry_attempt: int = 0,
        retry_reason: str = "",
    ) -> str:
        """Send one envelope to the newest connection; returns its `envelope_id`.

        Raises `RuntimeError` when nobody is connected (`FakeSlack.socket_send` waits first).
        """
        if not self._open:
            raise RuntimeError("no Socket Mode client is connected to the fake")
        envelope_id = envelope_id or str(uuid.uuid4())
        if accepts_response_payload is None:
            accepts_response_payload = type_ != "events_api"
        message: dict[str, Any] = {
            "envelope_id": envelope_id,
            "type": type_,
            "payload": payload,
            "accepts_response_payload": accepts_response_payload,
        }
        if type_ == "events_api":
            message["retry_attempt"] = retry_attempt
            message["retry_reason"] = retry_reason
        self.envelopes.append(
            Envelope(
                envelope_id=envelope_id,
                type=type_,
                payload=payload,
                accepts_response_payload=accepts_response_payload,
                at=self._clock(),
            )
        )
        await self._open[-1].ws.send_json(message)
        self._on_change()
        return envelope_id

    async def send_disconnect(self, reason: DisconnectReason = "refresh_requested") -> None:
        """Ask every client to move to a new connection, as Slack does before recycling a host."""
        message = {"type": "disconnect", "reason": reason, "debug_info": {"host": "fake-applink-1"}}
        for connection in list(self._open):
            with contextlib.suppress(ConnectionError):
                await connection.ws.send_json(message)

    async def drop(self) -> None:
        """Close every session from the server side; the clients are expected to reconnect."""
        for connection in list(self._open):
            await connection.ws.close(code=WSCloseCode.GOING_AWAY, message=b"dropped by the fake")
