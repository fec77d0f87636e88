"""Our client against the emulator over loopback: every Rooms and Identity operation."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.acs import (
    AcsResponseError,
    IdentityClient,
    RetryPolicy,
    Role,
    RoomNotFound,
    RoomsClient,
)
from bot.local.emulator import EmulatorServer
from tests.acs.scripted_server import NoWaiting

# Retried (against the emulator's faults) through `NoWaiting`: no real waits.
FAST = RetryPolicy(max_attempts=12, base_delay=0.001, max_delay=0.01, deadline=20.0)


@pytest.fixture(name="emu")
async def _emu() -> AsyncIterator[EmulatorServer]:
    async with EmulatorServer(page_size=3) as emulator:
        yield emulator


@pytest.fixture(name="rooms")
async def _rooms(emu: EmulatorServer) -> AsyncIterator[RoomsClient]:
    async with RoomsClient.from_connection_string(
        emu.connection_string, retry=FAST, waiting=NoWaiting().waiting()
    ) as client:
        yield client


@pytest.fixture(name="identities")
async def _identities(emu: EmulatorServer) -> AsyncIterator[IdentityClient]:
    async with IdentityClient.from_connection_string(
        emu.connection_string, retry=FAST, waiting=NoWaiting().waiting()
    ) as client:
        yield client


async def test_whole_room_lifecycle(rooms: RoomsClient, identities: IdentityClient) -> None:
    alice = (await identities.create_user()).id
    bob = (await identities.create_user()).id
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    room = await rooms.create_room(
        valid_from=start,
        valid_until=start + timedelta(days=14),
        participants={alice: Role.PRESENTER, bob: "Attendee"},
        pstn_dial_out_enabled=True,
    )
    assert len(room.id) == 17
    assert room.id.isdigit()
    assert room.valid_from == start
    assert room.valid_until == start + timedelta(days=14)
    assert room.pstn_dial_out_enabled is True
    assert room.created_at.tzinfo is not None

    assert await rooms.get_room(room.id) == room

    updated = await rooms.update_room(room.id, valid_until=start + timedelta(days=20))
    assert updated.valid_until == start + timedelta(days=20)
    assert updated.valid_from == start  # merge-patch: what was not given is unchanged
    assert updated.pstn_dial_out_enabled is True

    members = {p.raw_id: p.role async for p in rooms.list_participants(room.id)}
    assert members == {alice: Role.PRESENTER, bob: Role.ATTENDEE}

    carol = (await identities.create_user()).id
    await rooms.add_or_update_participants(room.id, {bob: Role.COLLABORATOR, carol: Role.CONSUMER})
    await rooms.remove_participants(room.id, [alice, "8:acs:" + str(uuid.uuid4()) + "_absent"])
    members = {p.raw_id: p.role async for p in rooms.list_participants(room.id)}
    assert members == {bob: Role.COLLABORATOR, carol: Role.CONSUMER}

    await rooms.delete_room(room.id)
    with pytest.raises(RoomNotFound) as caught:
        await rooms.get_room(room.id)
    assert caught.value.code == "NotFound"


async def test_create_without_a_window_takes_the_service_defaults(rooms: RoomsClient) -> None:
    before = datetime.now(UTC) - timedelta(seconds=5)
    room = await rooms.create_room()
    assert room.valid_from >= before
    assert room.valid_until - room.valid_from == timedelta(days=180)
    assert room.pstn_dial_out_enabled is False


async def test_list_rooms_follows_next_link_across_pages(
    rooms: RoomsClient, emu: EmulatorServer
) -> None:
    created = {(await rooms.create_room()).id for _ in range(8)}  # page size 3: three pages
    listed = [room.id async for room in rooms.list_rooms()]
    assert sorted(listed) == sorted(created)
    assert len(listed) == len(set(listed))


async def test_list_participants_pages_too(rooms: RoomsClient, identities: IdentityClient) -> None:
    people = [(await identities.create_user()).id for _ in range(7)]
    room = await rooms.create_room(participants=dict.fromkeys(people, Role.ATTENDEE))
    listed = [p.raw_id async for p in rooms.list_participants(room.id)]
    assert sorted(listed) == sorted(people)


async def test_a_replayed_repeatability_id_returns_the_same_room(
    rooms: RoomsClient, emu: EmulatorServer
) -> None:
    key = str(uuid.uuid4())
    first_sent = datetime.now(UTC)
    first = await rooms.create_room(
        repeatability_request_id=key, repeatability_first_sent=first_sent
    )
    again = await rooms.create_room(
        repeatability_request_id=key, repeatability_first_sent=first_sent
    )
    assert again.id == first.id
    assert emu.state.rooms_created == 1


async def test_concurrent_creates_with_one_key_make_one_room(
    rooms: RoomsClient, emu: EmulatorServer
) -> None:
    key = str(uuid.uuid4())
    first_sent = datetime.now(UTC)
    made = await asyncio.gather(
        *(
            rooms.create_room(repeatability_request_id=key, repeatability_first_sent=first_sent)
            for _ in range(10)
        )
    )
    assert {room.id for room in made} == {made[0].id}
    assert emu.state.rooms_created == 1


async def test_faults_still_yield_exactly_one_room_per_create() -> None:
    async with (
        EmulatorServer(fault_rate=0.3, seed=7) as emu,
        RoomsClient.from_connection_string(
            emu.connection_string, retry=FAST, waiting=NoWaiting().waiting()
        ) as rooms,
    ):
        made = await asyncio.gather(*(rooms.create_room() for _ in range(40)))
        assert len({room.id for room in made}) == 40
        assert emu.state.rooms_created == 40
        assert emu.state.create_requests > 40  # faults really happened and were retried


async def test_a_wrong_key_is_refused_with_401(emu: EmulatorServer) -> None:
    wrong = base64.b64encode(b"not the emulator's key at all!!!").decode()
    async with RoomsClient(emu.endpoint, wrong, retry=FAST, waiting=NoWaiting().waiting()) as rooms:
        with pytest.raises(AcsResponseError) as caught:
            await rooms.create_room()
    assert caught.value.status == 401
    assert caught.value.code == "Denied"
    assert "ACS_CONNECTION_STRING" in caught.value.hint
    assert emu.state.rooms_created == 0


@pytest.mark.parametrize(
    ("window", "target"),
    [
        # longer than 180 days
        ((timedelta(hours=1), timedelta(days=181, hours=1)), "ValidUntil"),
        # ends in the past
        ((timedelta(days=-3), timedelta(days=-1)), "ValidUntil"),
        # starts more than 180 days ahead
        ((timedelta(days=181), timedelta(days=182)), "ValidFrom"),
    ],
)
async def test_window_errors_carry_the_services_code_and_target(
    rooms: RoomsClient, window: tuple[timedelta, timedelta], target: str
) -> None:
    now = datetime.now(UTC)
    with pytest.raises(AcsResponseError) as caught:
        await rooms.create_room(valid_from=now + window[0], valid_until=now + window[1])
    error = caught.value
    assert error.status == 400
    assert error.code == "BadRequest"
    assert [detail.code for detail in error.details] == ["BadArgument"]
    assert error.details[0].target == target
    assert error.reason  # words a person can read


async def test_a_bad_raw_id_is_refused(rooms: RoomsClient) -> None:
    with pytest.raises(AcsResponseError, match="Invalid format for communication identifier"):
        await rooms.create_room(participants={"not-a-raw-id": Role.ATTENDEE})


async def test_a_malformed_room_id_is_refused(rooms: RoomsClient) -> None:
    with pytest.raises(AcsResponseError, match="Invalid room ID length"):
        await rooms.get_room("123")


async def test_unknown_room_is_not_found(rooms: RoomsClient) -> None:
    with pytest.raises(RoomNotFound):
        await rooms.update_room("12345678901234567", pstn_dial_out_enabled=True)


async def test_identity_tokens_and_revocation(identities: IdentityClient) -> None:
    result = await identities.create_user_and_token(["voip"], expires_in_minutes=60)
    raw_id = result.identity.id
    assert raw_id.startswith("8:acs:")
    assert result.access_token is not None
    token = await identities.get_token(raw_id, ["chat", "voip"], expires_in_minutes=120)
    payload = token.token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert abs(claims["exp"] - token.expires_on.timestamp()) < 2
    assert token.token not in repr(token)
    await identities.revoke_tokens(raw_id)
    await identities.delete_user(raw_id)


async def test_a_closed_client_refuses_reuse(emu: EmulatorServer) -> None:
    client = RoomsClient.from_connection_string(emu.connection_string)
    await client.create_room()
    await client.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await client.create_room()
