"""The `roombot` console script: one sub-command per job, each implemented beside its layer.

Sub-command modules are imported only when chosen, so `roombot parse` does not pay for
aiohttp or SQLAlchemy, and a missing optional piece only breaks the command that needs it.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Protocol, cast


class _Command(Protocol):
    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...
    def run(self, args: argparse.Namespace) -> int: ...


# name -> (module implementing add_arguments/run, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("bot.slack.serve_cli", "run the Slack app (HTTP on /slack/events, or Socket Mode)"),
    "dev": ("bot.slack.dev_cli", "run everything locally: emulator, SQLite, fake Slack console"),
    "emulator": ("bot.acs.emulator_cli", "run the local ACS Rooms + Identity emulator"),
    "parse": ("bot.parsing.cli", "dry-run the /room command language and print JSON"),
    "db": ("bot.store.db_cli", "database maintenance (upgrade)"),
    "identities": (
        "bot.store.identities_cli",
        "import or list Slack user -> ACS identity mappings",
    ),
}


def build_parser(chosen: str | None) -> tuple[argparse.ArgumentParser, dict[str, _Command]]:
    """The full parser; only the *chosen* sub-command's module is imported and configured."""
    parser = argparse.ArgumentParser(prog="roombot", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    loaded: dict[str, _Command] = {}
    for name, (module_name, help_text) in COMMANDS.items():
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        if name == chosen:
            module = cast(_Command, importlib.import_module(module_name))
            module.add_arguments(sub)
            loaded[name] = module
    return parser, loaded


def _chosen_command(argv: Sequence[str]) -> str | None:
    return next((arg for arg in argv if not arg.startswith("-")), None)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    parser, loaded = build_parser(_chosen_command(arguments))
    args = parser.parse_args(arguments)
    return loaded[args.command].run(args)


if __name__ == "__main__":
    raise SystemExit(main())
