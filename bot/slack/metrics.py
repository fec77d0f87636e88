"""Prometheus figures of commands: how many by verb and outcome, and how their work failed.

They count into the registry they are given: the composition root shares one per runtime
with the other layers' figures (ACS calls: `bot.acs.metrics`), so tests can build many apps
in one process and read the figures of theirs alone.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter


class Metrics:
    """The command figures `/metrics` exposes."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._commands = Counter(
            "roombot_commands",
            "Slash commands, modal submissions and button presses by verb and outcome.",
            ["verb", "outcome"],
            registry=registry,
        )
        self._failures = Counter(
            "roombot_command_failures",
            "Unexpected failures of a command's work, by what followed.",
            ["outcome"],
            registry=registry,
        )
        # Each `labels()` call validates and joins its values and takes the metric's lock;
        # the verbs and outcomes are a handful, so each child is looked up once and kept.
        self._command_children: dict[tuple[str, str], Counter] = {}

    def command_failure(self, outcome: str) -> None:
        """An attempt at a journalled command failed unexpectedly: *outcome* is `retried`,
        `gave_up_told` or `gave_up_untold` (the runner stopped; its person heard, or not)."""
        self._failures.labels(outcome).inc()

    def command(self, verb: str, outcome: str) -> None:
        child = self._command_children.get((verb, outcome))
        if child is None:
            child = self._command_children[(verb, outcome)] = self._commands.labels(verb, outcome)
        child.inc()
