"""The fake Slack in a process of its own, so its work is not charged to the load generator.

Serves `bot.local.fake_slack.FakeSlack` with the benchmark's users (one zone each) and 1,000
channels, plus a second tiny server for the benchmark to read what was posted:
`GET /stats` (counts, and Web API errors by method) and `GET /wait?messages=N&timeout=S`
(answers once N channel messages were posted). Prints `SLACK_API_URL=…`, `SLACK_STATS_URL=…`
and `SLACK_BOT_TOKEN=…`, flushed, then serves on loopback until SIGTERM or SIGINT.

Run: ``python -m bench.slack_proc``.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import signal

from aiohttp import web

from bench.common import CHANNELS, USERS, ZONES
from bot.event_loop import run_loop
from bot.local.fake_slack import FakeSlack

STATS_KEY: web.AppKey[FakeSlack] = web.AppKey("fake", FakeSlack)


async def _stats(request: web.Request) -> web.Response:
    fake = request.app[STATS_KEY]
    errors = collections.Counter(f"{c.method}:{c.error}" for c in fake.calls if c.error)
    return web.json_response(
        {
            "messages": len(fake.messages),
            "ephemerals": len(fake.ephemerals),
            "calls": len(fake.calls),
            "errors": dict(errors),
        }
    )


async def _wait(request: web.Request) -> web.Response:
    fake = request.app[STATS_KEY]
    wanted = int(request.query["messages"])
    try:
        await fake.wait_for(
            lambda f: len(f.messages) >= wanted, timeout=float(request.query["timeout"])
        )
    except TimeoutError:
        return web.Response(status=504, text=f"{len(fake.messages)} of {wanted} messages")
    return web.json_response({"messages": len(fake.messages)})


async def main() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with FakeSlack() as fake:
        for n, user in enumerate(USERS):
            fake.add_user(user, user.lower(), tz=ZONES[n % len(ZONES)])
        for n, channel in enumerate(CHANNELS):
            fake.add_channel(channel, f"bench-{n}")
        app = web.Application()
        app[STATS_KEY] = fake
        app.router.add_get("/stats", _stats)
        app.router.add_get("/wait", _wait)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        print(f"SLACK_API_URL={fake.api_url}", flush=True)
        print(f"SLACK_STATS_URL=http://127.0.0.1:{port}/stats", flush=True)
        print(f"SLACK_BOT_TOKEN={fake.bot_token}", flush=True)
        try:
            await stop.wait()
        finally:
            await runner.cleanup()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        run_loop(main())
