"""Prometheus metrics: commands by outcome, ACS latency and retries.

Each app gets its own registry, so tests can build many apps in one process and read the
figures of theirs alone.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from bot.acs.client import CallRecord

CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    """The figures `/metrics` exposes."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._commands = Counter(
            "roombot_commands",
            "Slash commands, modal submissions and button presses by verb and outcome.",
            ["verb", "outcome"],
            registry=self.registry,
        )
        self._acs_seconds = Histogram(
            "roombot_acs_request_seconds",
            "Duration of each ACS HTTP attempt.",
            ["operation", "status"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self._failures = Counter(
            "roombot_command_failures",
            "Unexpected failures of a command's work, by what followed.",
            ["outcome"],
            registry=self.registry,
        )
        self._acs_retries = Counter(
            "roombot_acs_retries",
            "ACS attempts beyond the first (retries).",
            ["operation"],
            registry=self.registry,
        )

    def command_failure(self, outcome: str) -> None:
        """An attempt at a journalled command failed unexpectedly: *outcome* is `retried`,
        `gave_up_told` or `gave_up_untold` (the runner stopped; its person heard, or not)."""
        self._failures.labels(outcome).inc()

    def command(self, verb: str, outcome: str) -> None:
        self._commands.labels(verb, outcome).inc()

    def acs_call(self, record: CallRecord) -> None:
        """Observer for the ACS clients: one call per HTTP attempt."""
        status = str(record.status) if record.status is not None else "none"
        self._acs_seconds.labels(record.operation, status).observe(record.seconds)
        if record.attempt > 1:
            self._acs_retries.labels(record.operation).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
