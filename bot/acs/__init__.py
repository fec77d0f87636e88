"""Azure Communication Services: signing, wire models, errors, clients and the local emulator.

The client knows nothing of Slack; its local stand-in, the emulator, lives in `bot.local`.
"""

from bot.acs.auth import AccessKey
from bot.acs.client import (
    DEFAULT_RETRY,
    CallRecord,
    IdentityClient,
    RetryPolicy,
    RoomsClient,
    Waiting,
)
from bot.acs.connection import AcsConnection, parse_connection_string
from bot.acs.errors import AcsError, AcsResponseError, AcsTransportError, RoomNotFound
from bot.acs.models import Role

__all__ = [
    "DEFAULT_RETRY",
    "AccessKey",
    "AcsConnection",
    "AcsError",
    "AcsResponseError",
    "AcsTransportError",
    "CallRecord",
    "IdentityClient",
    "RetryPolicy",
    "Role",
    "RoomNotFound",
    "RoomsClient",
    "Waiting",
    "parse_connection_string",
]
