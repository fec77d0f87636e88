"""Keyless ACS through the whole bot (issue #15): `ACS_ENDPOINT` with Microsoft Entra tokens.

The real bot server, the fake Slack and the emulator (over TLS, as an https endpoint needs),
the tokens minted by the emulator's local test issuer where `DefaultAzureCredential` would be.
"""

from __future__ import annotations

from bot.acs.entra import AsyncTokenCredential, default_credential
from bot.local.entra import LocalEntraCredential
from tests.reliability.harness import running_bot


async def test_a_room_is_created_from_slack_with_entra_tokens_and_the_credential_is_closed(
    sqlite_url: str,
) -> None:
    async with running_bot(sqlite_url, keyless=True, join="public") as bot:
        ack = await bot.command("create tomorrow")
        assert "Creating your room" in ack.text
        await bot.settle()
        credential = bot.runtime.acs_credential
        assert isinstance(credential, LocalEntraCredential)
        assert bot.emulator.state.rooms_created == 1
        assert bot.emulator.state.identities, "the creator was given an ACS identity"
        assert bot.emulator.state.bearer_accepted >= 2  # Identity, then Rooms
        assert bot.emulator.state.denied == 0
        assert credential.issued == 1  # one cached token for every call
        assert len(bot.slack.messages) == 1
        assert not credential.closed
    assert credential.closed


async def test_the_default_credential_is_azure_identitys_and_closes_without_a_network() -> None:
    credential: AsyncTokenCredential = default_credential()
    assert type(credential).__name__ == "DefaultAzureCredential"
    await credential.close()
