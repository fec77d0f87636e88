"""Split an ACS connection string (`endpoint=https://NAME.communication.azure.com/;accesskey=B64`).

Errors name what is wrong and the setting it came from, never the key itself, because these
messages end up in start-up output and logs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from yarl import URL

from bot.acs.auth import AccessKey


@dataclass(frozen=True)
class AcsConnection:
    """Where the resource is and the key that signs for it (the key stays out of reprs)."""

    endpoint: URL
    key: AccessKey = field(repr=False)

    @property
    def host(self) -> str:
        """`name[:port]` exactly as the `Host` header and the string to sign carry it."""
        return host_header(self.endpoint)


def host_header(endpoint: URL) -> str:
    """`name[:port]` of *endpoint* as the `Host` header carries it (no port when default)."""
    host = endpoint.host or ""
    return host if endpoint.is_default_port() else f"{host}:{endpoint.port}"


def parse_connection_string(text: str, *, name: str = "ACS_CONNECTION_STRING") -> AcsConnection:
    """The endpoint and key in *text*; ValueError naming *name* and the missing or bad part."""
    parts: dict[str, str] = {}
    for chunk in text.strip().split(";"):
        if not chunk.strip():
            continue
        label, sep, value = chunk.partition("=")
        if not sep:
            raise ValueError(f"{name} has a part without '=' (expected endpoint=...;accesskey=...)")
        parts[label.strip().lower()] = value.strip()
    endpoint_text = parts.get("endpoint")
    if not endpoint_text:
        raise ValueError(
            f"{name} has no endpoint= (expected endpoint=https://NAME.communication.azure.com/;accesskey=...)"
        )
    if "accesskey" not in parts or not parts["accesskey"]:
        raise ValueError(
            f"{name} has no accesskey= (copy the whole connection string from the Keys page)"
        )
    endpoint = URL(endpoint_text)
    if endpoint.scheme not in ("http", "https") or not endpoint.host:
        raise ValueError(
            f"{name} endpoint must be an http(s) URL, e.g. https://NAME.communication.azure.com/"
        )
    try:
        key = AccessKey.from_base64(parts["accesskey"])
    except ValueError as exc:
        raise ValueError(f"{name} accesskey= is not usable: {exc}") from None
    return AcsConnection(endpoint=endpoint.with_path("/").with_query(None), key=key)
