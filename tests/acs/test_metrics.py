"""The ACS call figures, counted by the client's observer and read back as Prometheus text."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from bot.acs import RetryPolicy, RoomsClient
from bot.acs.metrics import AcsCallMetrics
from tests.acs.scripted_server import KEY, ROOM, NoWaiting, Reply, scripted

ERROR = {"error": {"code": "ServiceUnavailable", "message": "Try again."}}


def samples(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = generate_latest(registry).decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_every_attempt_is_timed_by_status_and_retries_are_counted() -> None:
    registry = CollectorRegistry()
    metrics = AcsCallMetrics(registry)
    policy = RetryPolicy(max_attempts=3, base_delay=0.001, max_delay=0.001, deadline=5.0)
    async with (
        scripted(Reply(503, ERROR), Reply(0, drop=True), final=Reply(200, ROOM)) as (url, _),
        RoomsClient(
            url, KEY, retry=policy, observer=metrics.observe, waiting=NoWaiting().waiting()
        ) as client,
    ):
        await client.get_room(ROOM["id"])
    figures = samples(registry)
    # The names dashboards know (they lived in bot/slack/metrics.py) are unchanged.
    for status in ("503", "none", "200"):
        key = ("operation", "get_room"), ("status", status)
        assert figures["roombot_acs_request_seconds_count", key] == 1.0
    assert figures["roombot_acs_retries_total", (("operation", "get_room"),)] == 2.0


def test_each_registry_counts_alone() -> None:
    """Two runtimes in one process (as tests build them) do not collide on metric names."""
    AcsCallMetrics(CollectorRegistry())
    AcsCallMetrics(CollectorRegistry())  # a second registry: no "duplicated timeseries"
