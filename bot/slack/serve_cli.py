"""`roombot serve`: the Slack app over HTTP (`/slack/events`), or Socket Mode with an app token.

Configuration problems end start-up with one line naming the setting and exit code 2; the
HTTP server (health and metrics) runs in both modes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import faulthandler
import logging
import signal
import sys
from collections.abc import Coroutine
from typing import Any

from aiohttp import web

from bot.config import ConfigError, Settings, load_settings
from bot.logs import configure_logging
from bot.main import EdgeSite, Runtime, web_app
from bot.store.errors import StoreError

logger = logging.getLogger("roombot")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="0.0.0.0", help="address to listen on (0.0.0.0)")  # noqa: S104 - a server in a container listens on all interfaces
    parser.add_argument("--port", type=int, default=3000, help="port to listen on (3000)")
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING (INFO)")


def run(args: argparse.Namespace) -> int:
    configure_logging(args.log_level)
    # A fatal signal (SIGBUS from a memory-mapped file cut short, SIGSEGV) gets a line and
    # the stack on stderr instead of a silent death.
    faulthandler.enable()
    try:
        settings = load_settings()
        settings.require("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "ACS_CONNECTION_STRING")
    except ConfigError as exc:
        print(f"roombot: {exc}", file=sys.stderr)
        return 2
    try:
        run_loop(serve(settings, host=args.host, port=args.port))
    except (ConfigError, StoreError, OSError) as exc:
        print(f"roombot: cannot start: {exc}", file=sys.stderr)
        return 2
    return 0


def run_loop(main: Coroutine[Any, Any, None]) -> None:
    """Run *main* on uvloop where it is installed, else on asyncio's own loop.

    uvloop's loop and transports cut the server's CPU per command by about 15% in the
    throughput benchmark (docs/benchmarks.md); nothing else changes with the loop.
    """
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
    else:
        uvloop.run(main)


async def serve(settings: Settings, *, host: str, port: int) -> None:
    """Serve until SIGINT or SIGTERM, then stop taking work and finish what is in flight."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    async with Runtime(settings) as runtime:
        runner = web.AppRunner(web_app(runtime), access_log=None)
        await runner.setup()
        site = EdgeSite(runner, host, port)  # header deadline, unproven connections capped
        await site.start()
        mode = "HTTP"
        if settings.slack_app_token is not None:
            await runtime.start_socket_mode()
            mode = "Socket Mode"
        bound = runner.addresses[0][1] if runner.addresses else port
        logger.info("roombot serving on http://%s:%d (%s)", host, bound, mode)
        try:
            await stop.wait()
        finally:
            logger.info("stopping: finishing commands in flight")
            await runner.cleanup()
