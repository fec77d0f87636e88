"""Small helpers shared by the store tests (fixtures live in conftest.py)."""

from __future__ import annotations

import socket
from datetime import UTC, datetime

from bot.acs.client import IdentityClient, RetryPolicy
from bot.local.emulator import EmulatorServer, random_access_key

NOW = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
"""The tests' fixed clock: time is an argument, never read."""

# Fast retries: tests that make ACS fail should not sit through production backoff.
QUICK_RETRY = RetryPolicy(max_attempts=2, base_delay=0.0, max_delay=0.0, deadline=5.0)


def live_identities(emulator: EmulatorServer) -> set[str]:
    """Raw ids of the emulator's identities that have not been deleted."""
    return {i.id for i in emulator.state.identities.values() if not i.deleted}


def deleted_identities(emulator: EmulatorServer) -> set[str]:
    return {i.id for i in emulator.state.identities.values() if i.deleted}


def unreachable_identity_client() -> IdentityClient:
    """A real client aimed at a loopback port nobody listens on: ACS "down", refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return IdentityClient(f"http://127.0.0.1:{port}/", random_access_key(), retry=QUICK_RETRY)
