"""A tiny HTTP server that verifies ACS signatures and answers from a script.

Used where the emulator's random faults are too coarse: to pin exactly which statuses are
retried, that `Retry-After` is honoured, and that every attempt is freshly signed.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from bot.acs.auth import AccessKey, SignatureError, verify
from bot.acs.retry import Waiting

KEY = AccessKey(b"scripted-server-key-0123456789ab")
ROOM = {
    "id": "99117812428622880",
    "createdAt": "2025-06-26T05:46:17.8159131+00:00",
    "validFrom": "2025-06-30T00:00:00Z",
    "validUntil": "2025-07-30T00:00:00+00:00",
    "pstnDialOutEnabled": False,
}


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False  # close the connection without answering


@dataclass
class Seen:
    method: str
    path_qs: str
    headers: dict[str, str]
    at: float


@dataclass
class Script:
    replies: list[Reply]
    final: Reply
    seen: list[Seen] = field(default_factory=list)


def _app(script: Script) -> web.Application:
    async def handle(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        try:
            verify(
                method=request.method,
                path_and_query=request.raw_path,
                headers=request.headers,
                body=body,
                key=KEY,
                now=datetime.now(UTC),
            )
        except SignatureError:
            return web.json_response({"error": {"code": "Denied", "message": "Denied"}}, status=401)
        script.seen.append(
            Seen(request.method, request.raw_path, dict(request.headers), time.monotonic())
        )
        reply = script.replies.pop(0) if script.replies else script.final
        if reply.drop:
            assert request.transport is not None
            request.transport.close()
            return web.Response(status=500)
        if reply.body is None:
            return web.Response(status=reply.status, headers=reply.headers)
        return web.Response(
            status=reply.status,
            body=json.dumps(reply.body),
            content_type="application/json",
            headers=reply.headers,
        )

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    return app


@asynccontextmanager
async def scripted(*replies: Reply, final: Reply) -> AsyncIterator[tuple[str, Script]]:
    """Serve *replies* in order, then *final* forever; yields (endpoint, script)."""
    script = Script(list(replies), final)
    runner = web.AppRunner(_app(script), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/", script
    finally:
        await runner.cleanup()


@dataclass
class NoWaiting:
    """Retry waits that pass at once: each sleep is recorded and moves a monotonic clock on,
    so tests see exactly what the client would have waited, and deadlines still count it."""

    now: float = 0.0
    slept: list[float] = field(default_factory=list)

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def monotonic(self) -> float:
        return self.now

    def waiting(self) -> Waiting:
        return Waiting(sleep=self.sleep, monotonic=self.monotonic)
