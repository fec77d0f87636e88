"""A bare signed ACS create: `bot.acs.auth.sign` and one aiohttp POST, nothing else.

The ceiling for any Rooms client in Python on aiohttp (benchmark 3) and the ACS call of the
bare pipeline baseline (benchmark 2): no models, no retries, no error mapping.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import aiohttp
from yarl import URL

from bot.acs.auth import http_date, sign
from bot.acs.connection import AcsConnection

RESOURCE = "db75ed0c-e801-41a3-99a4-66a0a119a06c"
API = "/rooms?api-version=2025-03-13"


def participant(n: int) -> str:
    """A raw id the emulator accepts (format only; it does not have to exist)."""
    return f"8:acs:{RESOURCE}_00000010-ce28-064a-83fe-{n:012d}"


def create_body(now: datetime, n: int = 0) -> bytes:
    """The JSON a create for tomorrow 09:00-17:00 UTC with one presenter sends."""
    start = (now + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    return json.dumps(
        {
            "validFrom": start.isoformat(),
            "validUntil": (start + timedelta(hours=8)).isoformat(),
            "pstnDialOutEnabled": False,
            "participants": {participant(n): {"role": "Presenter"}},
        },
        separators=(",", ":"),
    ).encode()


class BareRooms:
    """POST /rooms, signed, on a shared session; returns the new room's id."""

    def __init__(self, connection: AcsConnection, session: aiohttp.ClientSession) -> None:
        self._connection = connection
        self._session = session
        self._url = str(connection.endpoint).rstrip("/") + API
        self._host = connection.host

    async def create(self, body: bytes) -> str:
        now = datetime.now(UTC)
        headers = sign(
            method="POST",
            path_and_query=API,
            host=self._host,
            date=http_date(now),
            body=body,
            key=self._connection.key,
        )
        headers["Content-Type"] = "application/json"
        headers["Repeatability-Request-ID"] = str(uuid.uuid4())
        headers["Repeatability-First-Sent"] = headers["x-ms-date"]
        async with self._session.post(self._url, data=body, headers=headers) as response:
            payload = await response.read()
            if response.status != 201:
                raise RuntimeError(f"create answered {response.status}: {payload[:200]!r}")
            room_id: str = json.loads(payload)["id"]
            return room_id


class BareTokens:
    """POST /identities/{id}/:issueAccessToken, signed, on a shared session: the floor of any
    code that hands out an ACS token (benchmark 6's baseline)."""

    def __init__(self, connection: AcsConnection, session: aiohttp.ClientSession) -> None:
        self._connection = connection
        self._session = session
        self._base = str(connection.endpoint).rstrip("/")
        self._host = connection.host

    async def issue(self, raw_id: str, minutes: int = 60) -> str:
        path = f"/identities/{quote(raw_id, safe='')}/:issueAccessToken?api-version=2023-10-01"
        body = json.dumps({"scopes": ["voip"], "expiresInMinutes": minutes}).encode()
        headers = sign(
            method="POST",
            path_and_query=path,
            host=self._host,
            date=http_date(datetime.now(UTC)),
            body=body,
            key=self._connection.key,
        )
        headers["Content-Type"] = "application/json"
        url = URL(self._base + path, encoded=True)  # signed as written: no re-quoting
        async with self._session.post(url, data=body, headers=headers) as response:
            payload = await response.read()
            if response.status != 200:
                raise RuntimeError(f"token answered {response.status}: {payload[:200]!r}")
            token: str = json.loads(payload)["token"]
            return token
