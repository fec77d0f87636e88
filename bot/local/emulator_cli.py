"""`roombot emulator`: serve the local ACS emulator until SIGINT or SIGTERM.

Whatever starts it (a developer, `make run`, a test) reads exactly one line from stdout,
`ACS_CONNECTION_STRING=endpoint=...;accesskey=...`, and can hand it to the bot or an SDK
as is. Everything else goes to stderr through logging, which never sees the key.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.acs.auth import AccessKey
from bot.cli_args import port_number
from bot.event_loop import run_loop
from bot.local import emulator_events
from bot.local.emulator import DEFAULT_PAGE_SIZE, EmulatorServer

log = logging.getLogger("bot.local.emulator")

DEFAULT_PORT = 8089


def _access_key(value: str) -> str:
    """argparse type: base64 as in a connection string; the error never repeats the value."""
    try:
        AccessKey.from_base64(value)
    except ValueError:
        raise argparse.ArgumentTypeError("the access key must be non-empty base64") from None
    return value


def _fraction(value: str) -> float:
    number = float(value)
    if not 0.0 <= number <= 1.0:
        raise argparse.ArgumentTypeError("must be between 0 and 1")
    return number


def _non_negative(value: str) -> float:
    number = float(value)
    if number < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return number


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The emulator's flags, on the sub-command parser `bot/cli.py` hands over."""
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default %(default)s)")
    parser.add_argument(
        "--port",
        type=port_number,
        default=DEFAULT_PORT,
        help="port; 0 picks a free one (default %(default)s)",
    )
    parser.add_argument(
        "--access-key",
        type=_access_key,
        default=None,
        metavar="BASE64",
        help="key that requests must be signed with (default: a random 32-byte key)",
    )
    parser.add_argument(
        "--entra-secret",
        default=None,
        metavar="SECRET",
        help="secret of the local Microsoft Entra test issuer whose bearer tokens are accepted "
        "(bot.local.entra.LocalEntraCredential(SECRET); default: a random one)",
    )
    parser.add_argument(
        "--page-size",
        type=_positive_int,
        default=DEFAULT_PAGE_SIZE,
        help="items per page of a list (default %(default)s)",
    )
    parser.add_argument(
        "--latency-ms", type=_non_negative, default=0.0, help="delay added to every request"
    )
    parser.add_argument(
        "--fault-rate",
        type=_fraction,
        default=0.0,
        help="fraction of requests answered 500/503/429 or with a dropped connection",
    )
    parser.add_argument("--seed", type=int, default=None, help="seed for faults and generated ids")
    parser.add_argument(
        "--tls", action="store_true", help="serve https with a self-signed certificate"
    )
    parser.add_argument(
        "--ca-file",
        type=Path,
        default=None,
        metavar="FILE",
        help="with --tls: write the CA certificate (PEM) here for clients to trust",
    )
    parser.add_argument(
        "--state",
        type=Path,
        default=None,
        metavar="FILE",
        help="keep rooms and identities in this JSON file across restarts",
    )
    parser.add_argument(
        "--events-url",
        default=None,
        metavar="URL",
        help="POST calling events here as Event Grid would, e.g. "
        "http://127.0.0.1:8080/acs/events?secret=… (people join and leave with "
        'POST /_emulator/calls/ROOM/join or /leave and {"user": "8:acs:…"})',
    )
    parser.add_argument(
        "--events-twice",
        action="store_true",
        help="deliver every event twice, as Event Grid's at-least-once delivery may",
    )
    parser.add_argument(
        "--events-schema",
        choices=emulator_events.SCHEMAS,
        default=emulator_events.EVENT_GRID,
        help="the schema of the Event Grid subscription: Event Grid's own (a JSON array, "
        "validated by a SubscriptionValidationEvent) or CloudEvents 1.0 "
        "(application/cloudevents+json, validated by an OPTIONS handshake)",
    )
    parser.add_argument(
        "--join-on-token",
        type=_non_negative,
        default=None,
        metavar="SECONDS",
        help="a VoIP token issued joins its person to the calls of the open rooms they are in, "
        "for SECONDS (what a join page does in a real call)",
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="log every request")


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM; 0 then, 1 when the emulator could not start."""
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    with contextlib.suppress(KeyboardInterrupt):
        return run_loop(_serve(args))
    return 0


async def _serve(args: argparse.Namespace) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    emulator = EmulatorServer(
        host=args.host,
        port=args.port,
        access_key=args.access_key,
        entra_secret=args.entra_secret,
        page_size=args.page_size,
        latency_ms=args.latency_ms,
        fault_rate=args.fault_rate,
        seed=args.seed,
        tls=args.tls,
        state_file=args.state,
        ca_file=args.ca_file,
        events_url=args.events_url,
        events_twice=args.events_twice,
        events_schema=args.events_schema,
        join_on_token=args.join_on_token,
    )
    try:
        await emulator.start()
    except (OSError, ValueError, RuntimeError) as exc:
        log.error("the ACS emulator could not start: %s", exc)
        return 1
    try:
        if emulator.ca_file is not None:
            log.info("clients must trust the CA certificate in %s", emulator.ca_file)
        # Never the secret itself: the person who chose it knows it.
        log.info(
            "keyless mode (ACS_ENDPOINT=%s): bearer tokens from "
            "bot.local.entra.LocalEntraCredential(SECRET) are accepted too; %s",
            emulator.endpoint,
            "SECRET is the --entra-secret given"
            if args.entra_secret
            else "pass --entra-secret to choose SECRET",
        )
        print(f"ACS_CONNECTION_STRING={emulator.connection_string}", flush=True)
        await stop.wait()
        log.info("stopping")
    finally:
        await emulator.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m bot.local.emulator_cli`, for running the emulator without the console script."""
    parser = argparse.ArgumentParser(prog="acs-emulator", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
