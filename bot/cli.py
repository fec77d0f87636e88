"""The `roombot` console script: one sub-command per job, each implemented beside its layer.

The texts here are for the people running roombot (`roombot --help`); sub-command modules
 are imported only when chosen, so `roombot parse` does not pay for
aiohttp or SQLAlchemy, and a missing optional piece only breaks the command that needs it.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import sys
from collections.abc import Sequence
from typing import Protocol, cast


class _Command(Protocol):
    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...
    def run(self, args: argparse.Namespace) -> int: ...


DESCRIPTION = "roombot: create and manage Azure Communication Services rooms from Slack with /room."
EPILOG = """\
Try it on this machine first: `roombot dev` runs the whole bot against a local Slack, a local
ACS and SQLite, and gives you a console to type /room commands in. `roombot serve` runs it for
your Slack workspace; `roombot serve --help` lists the settings it reads from the environment.
Every command has its own --help."""

# Sub-commands whose modules live in bot/local, which the production image leaves out.
DEVELOPMENT_PACKAGE = "bot.local"


class NotInstalled(Exception):
    """The chosen sub-command is a development tool this installation does not include."""


# name -> (module implementing add_arguments/run, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "serve": (
        "bot.slack.serve_cli",
        "run the bot for your Slack workspace (over HTTP, or Socket Mode with SLACK_APP_TOKEN)",
    ),
    "dev": (
        "bot.local.dev_cli",
        "try roombot here: local Slack, ACS emulator and SQLite, with a /room console",
    ),
    "emulator": (
        "bot.local.emulator_cli",
        "run a local stand-in for ACS (Rooms and Identity) and print its connection string",
    ),
    "parse": (
        "bot.parsing.cli",
        "show how a /room command is read (window, people, roles) as JSON, without Slack",
    ),
    "db": (
        "bot.store.db_cli",
        "check or upgrade the database schema (serve upgrades it by itself at start)",
    ),
    "identities": (
        "bot.store.identities_cli",
        "import or list the ACS identity each Slack user is given",
    ),
}


def version() -> str:
    """The installed distribution's version (pyproject.toml), or "unknown" from a bare checkout."""
    try:
        return importlib.metadata.version("roombot")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def build_parser(chosen: str | None) -> tuple[argparse.ArgumentParser, dict[str, _Command]]:
    """The full parser; only the *chosen* sub-command's module is imported and configured."""
    parser = argparse.ArgumentParser(
        prog="roombot",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"roombot {version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    loaded: dict[str, _Command] = {}
    for name, (module_name, help_text) in COMMANDS.items():
        sub = subparsers.add_parser(name, help=help_text, description=help_text.capitalize() + ".")
        if name == chosen:
            module = cast(_Command, _import(name, module_name))
            module.add_arguments(sub)
            loaded[name] = module
    return parser, loaded


def _import(name: str, module_name: str) -> object:
    """The sub-command's module; NotInstalled when it is a development tool whose package is
    absent (the image ships without bot/local). Any other missing module is a real error."""
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        development = module_name.startswith(DEVELOPMENT_PACKAGE + ".")
        if development and (module_name == missing or module_name.startswith(missing + ".")):
            raise NotInstalled(
                f"roombot {name} is a development tool, not included in this image; run it "
                f"from a source checkout (pip install -e . then roombot {name})"
            ) from None
        raise


def _chosen_command(argv: Sequence[str]) -> str | None:
    return next((arg for arg in argv if not arg.startswith("-")), None)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        parser, loaded = build_parser(_chosen_command(arguments))
    except NotInstalled as exc:
        print(f"roombot: {exc}", file=sys.stderr)
        return 2
    args = parser.parse_args(arguments)
    return loaded[args.command].run(args)


if __name__ == "__main__":
    raise SystemExit(main())
