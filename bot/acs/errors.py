"""The one error type the ACS client raises, and the sentence a person can act on.

    AcsError                   everything the client raises
    ├── AcsTransportError      no usable HTTP answer (connection refused/dropped, timeout)
    └── AcsResponseError       the service answered with an error status
        └── RoomNotFound       404 on a room: the service branches on this one

Neither the access key, a signature, nor a token is ever part of an error's text or repr:
the error is built from the response's status and body and our own words only.
"""

from __future__ import annotations

from bot.acs.models import CommunicationError

_ADVICE = {
    400: "The service refused the request as invalid; check the room's dates and participants.",
    401: "The service refused our signature: check ACS_CONNECTION_STRING's access key "
    "and that this machine's clock is right.",
    403: "The access key is not allowed to do this on the Communication Services resource.",
    404: "The service has no such room (it may have been deleted or may never have existed).",
    409: "The request conflicts with the room's current state; try again.",
    429: "The service is throttling requests; try again in a moment.",
}
# With ACS_ENDPOINT there is no key: a refusal is about the identity's token or its role.
_KEYLESS_ADVICE = {
    401: "The service refused our Microsoft Entra ID token: check that ACS_ENDPOINT names the "
    "resource and that roombot's identity is in the resource's tenant.",
    403: "roombot's Microsoft Entra identity may not do this: give it the Contributor role on "
    "the Communication Services resource (README, Keyless Azure).",
}
_SERVER_ADVICE = "Azure Communication Services is having trouble; try again in a minute."


class AcsError(Exception):
    """Any failure talking to ACS; `hint` is a sentence to show a person."""

    def __init__(self, message: str, *, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class AcsTransportError(AcsError):
    """No usable answer arrived: the connection failed or the deadline passed."""

    def __init__(self, message: str) -> None:
        super().__init__(
            message,
            hint="Could not reach Azure Communication Services; check the endpoint "
            "(ACS_CONNECTION_STRING or ACS_ENDPOINT) and the network, then try again.",
        )


class AcsResponseError(AcsError):
    """The service answered with an error; carries its status and error body."""

    def __init__(
        self,
        *,
        status: int,
        method: str,
        path: str,
        error: CommunicationError | None,
        error_code_header: str | None,
        keyless: bool = False,
    ) -> None:
        self.status = status
        self.method = method
        self.path = path
        self.code = error.code if error else (error_code_header or f"HTTP{status}")
        self.service_message = error.message if error else ""
        self.target = error.target if error else None
        self.details = list(error.details or []) if error else []
        self.error_code_header = error_code_header
        advice = _KEYLESS_ADVICE if keyless and status in _KEYLESS_ADVICE else _ADVICE
        hint = advice.get(status, _SERVER_ADVICE if status >= 500 else "")
        detail = "; ".join(
            f"{d.target + ': ' if d.target else ''}{d.message}" for d in self.details
        )
        reason = self.service_message + (f" ({detail})" if detail else "")
        super().__init__(
            f"{method} {path} -> {status} {self.code}" + (f": {reason}" if reason else ""),
            hint=hint or f"The service answered {status} {self.code}.",
        )

    @property
    def reason(self) -> str:
        """The service's own words, with each detail's target, for showing to a person."""
        parts = [self.service_message] + [
            f"{d.target}: {d.message}" if d.target else d.message for d in self.details
        ]
        return " ".join(p for p in parts if p) or self.hint


class RoomNotFound(AcsResponseError):
    """404 for a room id: unknown, malformed past the service's checks, or deleted."""
