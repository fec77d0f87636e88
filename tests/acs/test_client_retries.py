"""Which failures the client retries, how long it waits, and what it raises when it stops."""

from __future__ import annotations

import logging
import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from bot.acs import (
    AcsError,
    AcsResponseError,
    AcsTransportError,
    RetryPolicy,
    RoomNotFound,
    RoomsClient,
)
from bot.acs.auth import http_date
from bot.acs.client import CallRecord
from tests.acs.scripted_server import KEY, ROOM, NoWaiting, Reply, scripted

FAST = RetryPolicy(max_attempts=6, base_delay=0.001, max_delay=0.01, deadline=5.0)
ERROR = {"error": {"code": "ServiceUnavailable", "message": "Try again."}}


@pytest.fixture(name="paused")
def _paused() -> NoWaiting:
    """Every client here waits through this recorder: no test of retries waits for real."""
    return NoWaiting()


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
async def test_retryable_statuses_are_retried_with_the_same_repeatability_id(
    status: int, paused: NoWaiting
) -> None:
    async with (
        scripted(Reply(status, ERROR), Reply(status, ERROR), final=Reply(201, ROOM)) as (url, s),
        RoomsClient(url, KEY, retry=FAST, waiting=paused.waiting()) as client,
    ):
        room = await client.create_room()
    assert room.id == ROOM["id"]
    assert len(s.seen) == 3
    ids = {seen.headers["Repeatability-Request-ID"] for seen in s.seen}
    first_sent = {seen.headers["Repeatability-First-Sent"] for seen in s.seen}
    assert len(ids) == 1
    assert len(first_sent) == 1


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409])
async def test_other_errors_are_not_retried(status: int, paused: NoWaiting) -> None:
    body = {"error": {"code": "BadRequest", "message": "Nope.", "target": "ValidUntil"}}
    async with (
        scripted(final=Reply(status, body)) as (url, s),
        RoomsClient(url, KEY, retry=FAST, waiting=paused.waiting()) as client,
    ):
        with pytest.raises(AcsResponseError) as caught:
            await client.get_room("99117812428622880")
    assert len(s.seen) == 1
    assert caught.value.status == status
    assert caught.value.code == "BadRequest"
    assert caught.value.target == "ValidUntil"
    assert isinstance(caught.value, RoomNotFound) is (status == 404)


async def test_dropped_connections_are_retried(paused: NoWaiting) -> None:
    records: list[CallRecord] = []
    async with (
        scripted(Reply(0, drop=True), Reply(0, drop=True), final=Reply(200, ROOM)) as (url, s),
        RoomsClient(
            url, KEY, retry=FAST, waiting=paused.waiting(), observer=records.append
        ) as client,
    ):
        room = await client.get_room(ROOM["id"])
    assert room.pstn_dial_out_enabled is False
    assert len(s.seen) == 3
    # Every request the server saw is one of our attempts: aiohttp re-sends nothing unseen.
    assert [(r.attempt, r.status) for r in records] == [(1, None), (2, None), (3, 200)]
    assert len(paused.slept) == 2


async def test_retry_after_is_honoured(paused: NoWaiting) -> None:
    throttled = Reply(429, ERROR, headers={"Retry-After": "1"})
    async with (
        scripted(throttled, final=Reply(200, ROOM)) as (url, s),
        RoomsClient(url, KEY, retry=FAST, waiting=paused.waiting()) as client,
    ):
        await client.get_room(ROOM["id"])
    # The scripted backoff would be ~1 ms; the service asked for a whole second.
    assert paused.slept == [1.0]
    assert len(s.seen) == 2


async def test_retry_after_ms_is_honoured(paused: NoWaiting) -> None:
    throttled = Reply(503, ERROR, headers={"retry-after-ms": "300"})
    async with (
        scripted(throttled, final=Reply(200, ROOM)) as (url, s),
        RoomsClient(url, KEY, retry=FAST, waiting=paused.waiting()) as client,
    ):
        await client.get_room(ROOM["id"])
    assert paused.slept == [0.3]
    assert len(s.seen) == 2


async def test_a_retry_after_date_is_read_against_the_injected_clock(paused: NoWaiting) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    later = format_datetime(now + timedelta(seconds=7), usegmt=True)
    throttled = Reply(503, ERROR, headers={"Retry-After": later})
    patient = RetryPolicy(max_attempts=3, base_delay=0.001, max_delay=0.01, deadline=60.0)
    async with (
        scripted(throttled, final=Reply(200, ROOM)) as (url, _),
        RoomsClient(url, KEY, retry=patient, clock=lambda: now, waiting=paused.waiting()) as c,
    ):
        await c.get_room(ROOM["id"])
    assert paused.slept == [7.0]


async def test_repeatability_first_sent_comes_from_the_injected_clock(paused: NoWaiting) -> None:
    # A second the real clock is not at (still within the signature's allowed skew).
    then = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=42)
    async with (
        scripted(final=Reply(201, ROOM)) as (url, s),
        RoomsClient(url, KEY, clock=lambda: then, waiting=paused.waiting()) as client,
    ):
        await client.create_room()
    assert s.seen[0].headers["Repeatability-First-Sent"] == http_date(then)


async def test_the_deadline_counts_the_time_spent_waiting(paused: NoWaiting) -> None:
    policy = RetryPolicy(max_attempts=100, base_delay=1.0, max_delay=1.0, deadline=3.0)
    async with (
        scripted(final=Reply(503, ERROR)) as (url, s),
        RoomsClient(
            url, KEY, retry=policy, waiting=paused.waiting(), rng=random.Random(7)
        ) as client,
    ):
        with pytest.raises(AcsResponseError, match="503"):
            await client.get_room(ROOM["id"])
    assert 0 < sum(paused.slept) < 3.0
    assert len(s.seen) == len(paused.slept) + 1 < 100


async def test_every_attempt_is_signed_afresh(paused: NoWaiting) -> None:
    ticks = iter(datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=s) for s in range(100))
    fresh = RoomsClient  # clarity: the clock moves one second per signature

    async with scripted(Reply(500, ERROR), final=Reply(200, ROOM)) as (url, s):
        # The server checks the date against its real clock; sign with real time but
        # distinct dates by stepping from now.
        base = datetime.now(UTC)
        ticks = iter(base + timedelta(seconds=n) for n in range(100))
        async with fresh(
            url, KEY, retry=FAST, clock=lambda: next(ticks), waiting=paused.waiting()
        ) as client:
            await client.get_room(ROOM["id"])
    dates = [seen.headers["x-ms-date"] for seen in s.seen]
    signatures = [seen.headers["Authorization"] for seen in s.seen]
    assert len(set(dates)) == 2
    assert len(set(signatures)) == 2


async def test_gives_up_after_max_attempts_with_the_last_error(paused: NoWaiting) -> None:
    policy = RetryPolicy(max_attempts=3, base_delay=0.001, max_delay=0.001, deadline=5.0)
    async with (
        scripted(final=Reply(503, ERROR)) as (url, s),
        RoomsClient(url, KEY, retry=policy, waiting=paused.waiting()) as client,
    ):
        with pytest.raises(AcsResponseError) as caught:
            await client.get_room(ROOM["id"])
    assert len(s.seen) == 3
    assert caught.value.status == 503
    assert "try again" in caught.value.hint.lower()


async def test_a_retry_after_beyond_the_deadline_ends_the_attempts_at_once(
    paused: NoWaiting,
) -> None:
    policy = RetryPolicy(max_attempts=5, deadline=2.0)
    async with (
        scripted(final=Reply(429, ERROR, headers={"Retry-After": "60"})) as (url, s),
        RoomsClient(url, KEY, retry=policy, waiting=paused.waiting()) as client,
    ):
        with pytest.raises(AcsResponseError, match="429"):
            await client.get_room(ROOM["id"])
    assert len(s.seen) == 1


async def test_an_unreachable_endpoint_is_a_transport_error(paused: NoWaiting) -> None:
    async with scripted(final=Reply(200, ROOM)) as (url, _):
        pass  # the server is gone: its port now refuses connections
    policy = RetryPolicy(max_attempts=2, base_delay=0.001, max_delay=0.001, deadline=5.0)
    async with RoomsClient(url, KEY, retry=policy, waiting=paused.waiting()) as client:
        with pytest.raises(AcsTransportError) as caught:
            await client.get_room(ROOM["id"])
    assert "Could not reach" in caught.value.hint


async def test_a_retried_delete_that_meets_404_counts_as_done(paused: NoWaiting) -> None:
    gone = Reply(404, {"error": {"code": "NotFound", "message": "Room not found."}})
    async with (
        scripted(Reply(0, drop=True), final=gone) as (url, s),
        RoomsClient(url, KEY, retry=FAST, waiting=paused.waiting()) as client,
    ):
        await client.delete_room(ROOM["id"])
    assert [seen.method for seen in s.seen] == ["DELETE", "DELETE"]


async def test_a_first_delete_that_meets_404_is_not_found(paused: NoWaiting) -> None:
    gone = Reply(404, {"error": {"code": "NotFound", "message": "Room not found."}})
    async with (
        scripted(final=gone) as (url, _),
        RoomsClient(url, KEY, retry=FAST, waiting=paused.waiting()) as client,
    ):
        with pytest.raises(RoomNotFound):
            await client.delete_room(ROOM["id"])


async def test_next_link_to_another_host_is_refused(paused: NoWaiting) -> None:
    page = {"value": [ROOM], "nextLink": "https://evil.example/rooms?api-version=2025-03-13"}
    async with (
        scripted(final=Reply(200, page)) as (url, _),
        RoomsClient(url, KEY, waiting=paused.waiting()) as client,
    ):
        rooms = client.list_rooms()
        assert (await anext(rooms)).id == ROOM["id"]
        with pytest.raises(AcsError, match="another host"):
            await anext(rooms)


async def test_next_link_without_api_version_gets_it_back(paused: NoWaiting) -> None:
    first = {"value": [ROOM], "nextLink": "/rooms?skipToken=abc"}
    last = {"value": [{**ROOM, "id": "12345678901234567"}]}
    async with (
        scripted(Reply(200, first), final=Reply(200, last)) as (url, s),
        RoomsClient(url, KEY, waiting=paused.waiting()) as client,
    ):
        ids = [room.id async for room in client.list_rooms()]
    assert ids == [ROOM["id"], "12345678901234567"]
    assert "api-version=2025-03-13" in s.seen[1].path_qs
    assert "skipToken=abc" in s.seen[1].path_qs


async def test_no_secret_reaches_logs_errors_or_reprs(
    caplog: pytest.LogCaptureFixture, paused: NoWaiting
) -> None:
    caplog.set_level(logging.DEBUG)
    policy = RetryPolicy(max_attempts=2, base_delay=0.001, max_delay=0.001, deadline=5.0)
    async with (
        scripted(final=Reply(503, ERROR)) as (url, s),
        RoomsClient(url, KEY, retry=policy, waiting=paused.waiting()) as client,
    ):
        with pytest.raises(AcsResponseError) as caught:
            await client.create_room(participants={"8:acs:x_y": "Presenter"})
    signatures = {seen.headers["Authorization"].rsplit("=", 1)[0][-20:] for seen in s.seen}
    texts = [caplog.text, str(caught.value), repr(caught.value), repr(client), caught.value.hint]
    for text in texts:
        assert KEY.to_base64() not in text
        for fragment in signatures:
            assert fragment not in text
        assert "Signature=" not in text


@pytest.mark.parametrize(
    ("reply", "answers"),
    [
        (Reply(404, {"error": {"code": "NotFound", "message": "No such room."}}), True),
        (Reply(400, {"error": {"code": "BadRequest", "message": "Bad id."}}), True),
        (Reply(200, ROOM), True),
        (Reply(503, ERROR), False),
        (Reply(429, ERROR), False),
        (Reply(0, drop=True), False),
    ],
)
async def test_a_probe_is_one_signed_attempt_that_says_whether_acs_answers(
    reply: Reply, answers: bool, paused: NoWaiting
) -> None:
    async with (
        scripted(final=reply) as (url, s),
        RoomsClient(url, KEY, retry=FAST, waiting=paused.waiting()) as client,
    ):
        assert await client.probe() is answers
    assert len(s.seen) == 1  # never retried: the caller probes again on its own schedule
    assert s.seen[0].headers["Authorization"].startswith("HMAC-SHA256 ")


async def test_a_probe_of_an_unreachable_endpoint_says_no(paused: NoWaiting) -> None:
    async with scripted(final=Reply(200, ROOM)) as (url, _):
        pass  # the server is gone: its port now refuses connections
    async with RoomsClient(url, KEY, retry=FAST, waiting=paused.waiting()) as client:
        assert await client.probe(within=1.0) is False
