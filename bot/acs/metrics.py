"""Prometheus figures of ACS calls: how long each HTTP attempt took, and how many were retries.

An observer for the ACS clients (`observer=AcsCallMetrics(registry).observe`): it sees only
`CallRecord`s, never headers or bodies, so nothing secret can reach `/metrics`. It counts
into the registry it is given, which the composition root shares with the other layers'
figures and renders at `/metrics`.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

from bot.acs.transport import CallRecord


class AcsCallMetrics:
    """`roombot_acs_request_seconds` by operation and status, `roombot_acs_retries` by operation."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._seconds = Histogram(
            "roombot_acs_request_seconds",
            "Duration of each ACS HTTP attempt.",
            ["operation", "status"],
            registry=registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self._retries = Counter(
            "roombot_acs_retries",
            "ACS attempts beyond the first (retries).",
            ["operation"],
            registry=registry,
        )
        # `labels()` validates and joins its values and takes the metric's lock on each call;
        # operations and statuses are a handful, so each child is looked up once and kept.
        self._seconds_children: dict[tuple[str, int | None], Histogram] = {}

    def observe(self, record: CallRecord) -> None:
        """One call per HTTP attempt; a status of `none` is an attempt that got no answer."""
        key = (record.operation, record.status)
        child = self._seconds_children.get(key)
        if child is None:
            status = str(record.status) if record.status is not None else "none"
            child = self._seconds_children[key] = self._seconds.labels(record.operation, status)
        child.observe(record.seconds)
        if record.attempt > 1:
            self._retries.labels(record.operation).inc()
