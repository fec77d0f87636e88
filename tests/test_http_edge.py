"""EdgeGuard on a real aiohttp server over loopback, with small limits: which connection goes
when there are too many strangers, and that a proven one stays."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

from bot.http_edge import EdgeGuard, EdgeSite, guarded_app

SLOW_HEAD = b"GET /ok HTTP/1.1\r\nHost: edge\r\nX-Slow: a"


@asynccontextmanager
async def edge_server(guard: EdgeGuard) -> AsyncIterator[tuple[str, int]]:
    """A server whose `/prove` marks its connection proven, as a signed Slack request does."""

    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def prove(request: web.Request) -> web.Response:
        guard.proven(request.transport)
        return web.Response(text="proven")

    app = guarded_app(web.Application(), guard)
    app.router.add_get("/ok", ok)
    app.router.add_get("/prove", prove)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = EdgeSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        host, port = runner.addresses[0][:2]
        yield host, port
    finally:
        await runner.cleanup()


class Clients:
    """The test's client connections, all closed at the end."""

    def __init__(self) -> None:
        self.writers: list[asyncio.StreamWriter] = []

    async def connect(
        self, address: tuple[str, int], head: bytes = SLOW_HEAD
    ) -> asyncio.StreamReader:
        reader, writer = await asyncio.open_connection(*address)
        self.writers.append(writer)
        writer.write(head)
        await writer.drain()
        return reader

    async def get(self, address: tuple[str, int], path: str) -> bytes:
        reader = await self.connect(address, f"GET {path} HTTP/1.1\r\nHost: edge\r\n\r\n".encode())
        return await reader.readuntil(b"\r\n\r\n")

    async def close(self) -> None:
        for writer in self.writers:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


@asynccontextmanager
async def clients() -> AsyncIterator[Clients]:
    opened = Clients()
    try:
        yield opened
    finally:
        await opened.close()


async def closed(reader: asyncio.StreamReader, within: float = 2.0) -> bool:
    """Whether the server closes the connection within *within* seconds."""
    try:
        async with asyncio.timeout(within):
            with contextlib.suppress(ConnectionError):
                await reader.read()
            return True
    except TimeoutError:
        return False


async def test_the_oldest_idle_stranger_makes_room_for_a_new_connection() -> None:
    guard = EdgeGuard(header_timeout=30, max_unproven=3)
    async with edge_server(guard) as address, clients() as made:
        first, second, third = [await made.connect(address) for _ in range(3)]
        fourth = await made.connect(address)
        assert await closed(first)
        assert guard.unproven == 3
        assert (await made.get(address, "/ok")).startswith(b"HTTP/1.1 200")  # second goes
        assert await closed(second)
        assert not await closed(third, within=0.2)
        assert not await closed(fourth, within=0.2)


async def test_a_stranger_slow_to_send_its_head_is_closed_a_proven_connection_is_not() -> None:
    guard = EdgeGuard(header_timeout=0.3, max_unproven=2)
    async with edge_server(guard) as address, clients() as made:
        proven = await made.connect(address, b"GET /prove HTTP/1.1\r\nHost: edge\r\n\r\n")
        assert (await proven.readuntil(b"proven")).startswith(b"HTTP/1.1 200")
        slow = [await made.connect(address) for _ in range(3)]  # one more than the limit
        assert all([await closed(s, within=1.0) for s in slow])  # by the deadline, or evicted
        assert guard.unproven == 0
        # The proven connection has now been idle past the head deadline, and stays.
        made.writers[0].write(b"GET /ok HTTP/1.1\r\nHost: edge\r\n\r\n")
        async with asyncio.timeout(2):
            assert (await proven.readuntil(b"ok")).startswith(b"HTTP/1.1 200")
