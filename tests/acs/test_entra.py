"""Keyless ACS (issue #15): our clients with Microsoft Entra bearer tokens, against the emulator
over loopback, the tokens minted by its local test issuer (`bot.local.entra`).

One clock (epoch seconds, moved by the test) drives the issuer's expiry, our token cache and the
emulator's check, so "an hour later" takes no time and an expired token is really refused.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError

from bot.acs import AcsResponseError, IdentityClient, RetryPolicy, RoomsClient
from bot.acs.entra import ACS_SCOPE, REFRESH_MARGIN, AcsCredentialError, EntraTokens
from bot.local.emulator import EmulatorServer
from bot.local.entra import LocalEntraCredential, random_secret
from tests.reliability.harness import eventually

FAST = RetryPolicy(max_attempts=4, base_delay=0.001, max_delay=0.01, deadline=10.0)
LIFETIME = 3600.0


class MovableClock:
    """Epoch seconds: the wall clock plus an offset the test moves forward."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


class Recording:
    """Wraps a credential and keeps every token it handed out, to look for them in logs."""

    def __init__(self, inner: LocalEntraCredential) -> None:
        self.inner = inner
        self.tokens: list[str] = []

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        token = await self.inner.get_token(*scopes, **kwargs)
        self.tokens.append(token.token)
        return token

    async def close(self) -> None:
        await self.inner.close()


class Gated(Recording):
    """Holds every `get_token` until the test opens the gate; counts who is waiting."""

    def __init__(self, inner: LocalEntraCredential) -> None:
        super().__init__(inner)
        self.gate = asyncio.Event()
        self.waiting = 0

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.waiting += 1
        await self.gate.wait()
        return await super().get_token(*scopes, **kwargs)


@pytest.fixture(name="clock")
def _clock() -> MovableClock:
    return MovableClock()


@pytest.fixture(name="emu")
async def _emu(clock: MovableClock) -> AsyncIterator[EmulatorServer]:
    async with EmulatorServer(token_clock=clock) as emulator:
        yield emulator


@pytest.fixture(name="issuer")
def _issuer(emu: EmulatorServer, clock: MovableClock) -> LocalEntraCredential:
    return emu.entra_credential(lifetime=LIFETIME, clock=clock)


def _clients(emu: EmulatorServer, tokens: EntraTokens) -> tuple[RoomsClient, IdentityClient]:
    return (
        RoomsClient(emu.endpoint, credential=tokens, retry=FAST),
        IdentityClient(emu.endpoint, credential=tokens, retry=FAST),
    )


async def test_rooms_and_identities_are_reached_with_one_shared_token(
    emu: EmulatorServer, issuer: LocalEntraCredential, clock: MovableClock
) -> None:
    tokens = EntraTokens(issuer, clock=clock)
    rooms, identities = _clients(emu, tokens)
    async with rooms, identities:
        user = await identities.create_user_and_token(["voip"])
        room = await rooms.create_room(participants={user.identity.id: "Attendee"})
        assert (await rooms.get_room(room.id)).id == room.id
        assert user.access_token is not None
    assert emu.state.bearer_accepted == 3
    assert emu.state.denied == 0
    assert issuer.issued == 1  # one token, cached, for both clients


async def test_a_token_near_its_expiry_is_replaced_before_it_is_sent(
    emu: EmulatorServer, issuer: LocalEntraCredential, clock: MovableClock
) -> None:
    recording = Recording(issuer)
    tokens = EntraTokens(recording, clock=clock)
    async with RoomsClient(emu.endpoint, credential=tokens, retry=FAST) as rooms:
        await rooms.create_room()
        clock.advance(LIFETIME - REFRESH_MARGIN + 1)  # still valid, but within the margin
        await rooms.create_room()
        assert issuer.issued == 2
        clock.advance(LIFETIME * 2)  # both earlier tokens are long expired now
        await rooms.create_room()
    assert issuer.issued == 3
    assert emu.state.denied == 0  # no call ever went out with a stale token
    # The emulator does refuse the expired ones: they were replaced for a reason.
    async with aiohttp.ClientSession() as http:
        for old in recording.tokens[:2]:
            async with http.get(
                emu.endpoint + "rooms?api-version=2025-03-13",
                headers={"Authorization": f"Bearer {old}"},
            ) as response:
                assert response.status == 401


async def test_concurrent_calls_wait_for_one_refresh(
    emu: EmulatorServer, issuer: LocalEntraCredential, clock: MovableClock
) -> None:
    gated = Gated(issuer)
    tokens = EntraTokens(gated, clock=clock)
    async with RoomsClient(emu.endpoint, credential=tokens, retry=FAST) as rooms:
        calls = [asyncio.create_task(rooms.create_room()) for _ in range(12)]
        await eventually(lambda: gated.waiting >= 1, what="the first refresh starts")
        await asyncio.sleep(0)  # let every other call reach the cache too
        gated.gate.set()
        created = await asyncio.gather(*calls)
    assert len({room.id for room in created}) == 12
    assert gated.waiting == 1
    assert issuer.issued == 1


async def test_a_token_from_another_issuer_gets_the_typed_401(
    emu: EmulatorServer, clock: MovableClock
) -> None:
    stranger = LocalEntraCredential(random_secret(), clock=clock)
    tokens = EntraTokens(stranger, clock=clock)
    async with RoomsClient(emu.endpoint, credential=tokens, retry=FAST) as rooms:
        with pytest.raises(AcsResponseError) as refused:
            await rooms.create_room()
        assert refused.value.status == 401
        assert refused.value.code == "Denied"
        assert refused.value.service_message == "Denied by the resource provider."
        assert "Microsoft Entra" in refused.value.hint
        assert emu.state.denied == 1  # a refusal is not retried
        # The refused token is dropped: the next call asks the credential again.
        with pytest.raises(AcsResponseError):
            await rooms.create_room()
    assert stranger.issued == 2
    assert emu.state.rooms_created == 0


async def test_the_emulator_refuses_tokens_that_are_not_for_acs_in_the_service_shape(
    emu: EmulatorServer, issuer: LocalEntraCredential, clock: MovableClock
) -> None:
    for_arm = await issuer.get_token("https://management.azure.com/.default")
    expired = await issuer.get_token(ACS_SCOPE)
    clock.advance(LIFETIME + 1)
    async with aiohttp.ClientSession() as http:
        for bad in (for_arm.token, expired.token, "not-a-jwt", ""):
            async with http.post(
                emu.endpoint + "rooms?api-version=2025-03-13",
                json={},
                headers={"Authorization": f"Bearer {bad}"},
            ) as response:
                assert response.status == 401
                assert response.headers["x-ms-error-code"] == "Denied"
                assert await response.json() == {
                    "error": {"code": "Denied", "message": "Denied by the resource provider."}
                }
    assert emu.state.bearer_accepted == 0
    assert emu.state.rooms_created == 0


async def test_no_token_at_all_is_a_credential_error_and_nothing_is_sent(
    emu: EmulatorServer, issuer: LocalEntraCredential, clock: MovableClock
) -> None:
    issuer.fail_with = ClientAuthenticationError(
        "DefaultAzureCredential failed to retrieve a token from the included credentials.\n"
        "Attempted credentials:\n\tManagedIdentityCredential: no endpoint"
    )
    async with RoomsClient(
        emu.endpoint, credential=EntraTokens(issuer, clock=clock), retry=FAST
    ) as rooms:
        with pytest.raises(AcsCredentialError) as failed:
            await rooms.create_room()
    assert "DefaultAzureCredential failed to retrieve a token" in str(failed.value)
    assert "Attempted credentials" not in str(failed.value)  # one line, not the whole list
    assert "managed identity" in failed.value.hint
    assert emu.state.requests == 0


async def test_a_failed_refresh_keeps_the_token_while_it_is_still_valid(
    emu: EmulatorServer, issuer: LocalEntraCredential, clock: MovableClock
) -> None:
    tokens = EntraTokens(issuer, clock=clock)
    async with RoomsClient(emu.endpoint, credential=tokens, retry=FAST) as rooms:
        await rooms.create_room()
        issuer.fail_with = ClientAuthenticationError("IMDS is unreachable")
        clock.advance(LIFETIME - 60)  # due for refresh, valid for one more minute
        await rooms.create_room()
        clock.advance(120)  # now expired, and still no new token to be had
        with pytest.raises(AcsCredentialError):
            await rooms.create_room()
    assert emu.state.rooms_created == 2
    assert emu.state.denied == 0


async def test_tokens_never_reach_logs_errors_or_reprs(
    emu: EmulatorServer, issuer: LocalEntraCredential, clock: MovableClock, caplog: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    recording = Recording(issuer)
    tokens = EntraTokens(recording, clock=clock)
    stranger = Recording(LocalEntraCredential(random_secret(), clock=clock))
    texts: list[str] = []
    async with (
        RoomsClient(emu.endpoint, credential=tokens, retry=FAST) as rooms,
        RoomsClient(emu.endpoint, credential=stranger, retry=FAST) as refused,
    ):
        await rooms.create_room()
        clock.advance(LIFETIME)
        await rooms.create_room()
        with pytest.raises(AcsResponseError) as failed:
            await refused.create_room()
        texts += [repr(rooms), repr(refused), repr(tokens), repr(issuer)]
        texts += [str(failed.value), repr(failed.value), failed.value.hint]
    everything = [*recording.tokens, *stranger.tokens]
    assert len(everything) == 3
    logged = caplog.text + "\n".join(texts)
    assert "roombot.acs" in {record.name for record in caplog.records}  # logging was on
    for token in everything:
        assert token not in logged
        assert token.split(".")[2] not in logged  # not even the signature part


def test_a_client_takes_a_key_or_a_credential_not_both(issuer: LocalEntraCredential) -> None:
    with pytest.raises(ValueError, match="either an access key or a credential"):
        RoomsClient("https://x.communication.azure.com/", "QUFBQQ==", credential=issuer)
    with pytest.raises(ValueError, match="either an access key or a credential"):
        IdentityClient("https://x.communication.azure.com/")
