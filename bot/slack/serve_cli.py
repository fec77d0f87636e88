"""`roombot serve`: the Slack app over HTTP (`/slack/events`), or Socket Mode with an app token.

Configuration problems end start-up with one line naming the setting and exit code 2; the
HTTP server (health and metrics) runs in both modes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import faulthandler
import logging
import signal
import socket
import sys

from aiohttp import web

from bot.cli_args import LOG_LEVELS, log_level, port_number
from bot.config import ConfigError, Settings, environment_help, load_settings
from bot.event_loop import run_loop
from bot.logs import configure_logging
from bot.main import DatabaseNotReady, EdgeSite, Runtime, web_app

logger = logging.getLogger("roombot")


class StartupFailed(Exception):
    """Start-up cannot go on; the message is one line naming the setting or flag to change."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Run the bot for your Slack workspace: Slack's requests on /slack/events (or Socket\n"
        "Mode when SLACK_APP_TOKEN is set), /healthz and /metrics. The database schema is\n"
        "upgraded at start. SIGTERM or SIGINT stops it, finishing the commands in flight."
    )
    parser.epilog = (
        "settings, read from the environment (README, Configuration):\n"
        + environment_help()
        + "\n\nA missing or unusable setting stops start-up with one line naming it (exit 2)."
    )
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--host", default="0.0.0.0", help="address to listen on (0.0.0.0)")  # noqa: S104 - a server in a container listens on all interfaces
    parser.add_argument("--port", type=port_number, default=3000, help="port to listen on (3000)")
    parser.add_argument(
        "--log-level",
        type=log_level,
        default="INFO",
        metavar="LEVEL",
        help=f"{', '.join(LOG_LEVELS)} (INFO)",
    )


def run(args: argparse.Namespace) -> int:
    configure_logging(args.log_level)
    # A fatal signal (SIGBUS from a memory-mapped file cut short, SIGSEGV) gets a line and
    # the stack on stderr instead of a silent death.
    faulthandler.enable()
    try:
        settings = load_settings()
        settings.require_for_serving()
    except ConfigError as exc:
        print(f"roombot: {exc}", file=sys.stderr)
        return 2
    try:
        run_loop(serve(settings, host=args.host, port=args.port))
    except (ConfigError, StartupFailed) as exc:
        print(f"roombot: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # none expected: every start-up step above names its own setting
        print(f"roombot: cannot start: {exc}", file=sys.stderr)
        return 2
    return 0


async def serve(settings: Settings, *, host: str, port: int) -> None:
    """Serve until SIGINT or SIGTERM, then stop taking work and finish what is in flight.

    A signal during start-up (a database that does not answer, say) cancels the start-up
    itself, so the process stops within moments in every state.
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    assert main is not None, "run by run_loop"
    started = False

    def on_signal() -> None:
        stop.set()
        if not started:
            main.cancel()

    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, on_signal)
    # The port first: a flag to fix is found before the database is opened or migrated.
    listening = listening_socket(host, port)
    try:
        async with contextlib.AsyncExitStack() as stack:
            stack.callback(listening.close)
            try:
                runtime = await stack.enter_async_context(Runtime(settings))
            except DatabaseNotReady as exc:
                raise StartupFailed(f"DATABASE_URL: {exc}") from None
            runner = web.AppRunner(web_app(runtime), access_log=None)
            await runner.setup()
            stack.push_async_callback(runner.cleanup)  # first out: stop taking requests
            # header deadline, unproven connections capped; on the socket bound above
            await EdgeSite(runner, host, port, sock=listening).start()
            mode = "HTTP"
            if settings.slack_app_token is not None:
                await runtime.start_socket_mode()
                mode = "Socket Mode"
            bound = listening.getsockname()[1]
            started = True
            logger.info("roombot serving on http://%s:%d (%s)", host, bound, mode)
            await stop.wait()
            logger.info("stopping: finishing commands in flight")
    except asyncio.CancelledError:
        if not stop.is_set() or main.uncancel() > 0:
            raise  # not our signal's doing
        logger.info("stopped during start-up")


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket listening on *host*:*port*; StartupFailed naming the flag when it cannot."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family, backlog=128)
    except OSError as exc:
        raise StartupFailed(cannot_listen(host, port, exc)) from None


def cannot_listen(host: str, port: int, exc: OSError) -> str:
    """The one line for a server socket that cannot be opened, naming the flag to change."""
    # socket.create_server appends "(while attempting to bind on address …)": said already
    reason = (exc.strerror or str(exc)).split(" (while attempting")[0]
    if exc.errno == errno.EADDRINUSE:
        return (
            f"--port {port}: {host}:{port} is already in use by another process; "
            f"stop it or choose another port (e.g. --port {port + 1 if port else 3000})"
        )
    if exc.errno in (errno.EACCES, errno.EPERM):
        return (
            f"--port {port}: not allowed to listen on it ({reason}); ports below 1024 need "
            "privileges (e.g. --port 3000)"
        )
    # getaddrinfo's errors have negative numbers (EAI_NONAME is -2): the name does not resolve
    if exc.errno == errno.EADDRNOTAVAIL or (exc.errno is not None and exc.errno < 0):
        return (
            f"--host {host}: not an address of this machine ({reason}); "
            "e.g. --host 0.0.0.0 (every interface) or --host 127.0.0.1"
        )
    return f"--host {host} --port {port}: cannot listen there ({reason})"
