"""Settings: the only code that reads the environment.

Every other module receives a `Settings` (or the pieces it needs) as an argument. A missing or
malformed setting becomes one line naming it (`ConfigError`), which the CLI prints before
exiting 2 — never a traceback.
"""

from __future__ import annotations

import textwrap
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.acs.connection import AcsConnection, parse_connection_string
from bot.parsing.timemath import DEFAULT_LENGTH, MAX_DAYS
from bot.parsing.windows import read_length

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///var/roombot.db"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"

_HINTS = {
    "SLACK_BOT_TOKEN": "the Bot User OAuth Token, xoxb-… (OAuth & Permissions page)",
    "SLACK_SIGNING_SECRET": "the Signing Secret (Basic Information page)",
    "SLACK_APP_TOKEN": "an app-level token, xapp-…, with connections:write (for Socket Mode)",
    "SLACK_API_URL": "an http(s) URL ending in /api/, e.g. https://slack.com/api/",
    "ACS_CONNECTION_STRING": "endpoint=https://NAME.communication.azure.com/;accesskey=…",
    "ACS_ENDPOINT": "the resource's https URL, e.g. https://NAME.communication.azure.com/ "
    "(keyless: Microsoft Entra ID)",
    "DATABASE_URL": "sqlite+aiosqlite:///var/roombot.db or postgresql+asyncpg://user@host/db",
    "ROOMBOT_PUBLIC_URL": "the bot's public base URL, e.g. https://roombot.example.com",
    "SLACK_CLIENT_ID": "the Client ID (Basic Information page), e.g. 1234567890.1234567890",
    "SLACK_CLIENT_SECRET": "the Client Secret (Basic Information page)",
    "ROOMBOT_JOIN_URL": "a URL template containing {room_id}, e.g. https://meet.example.com/r/{room_id}",
    "ROOMBOT_ADMINS": "comma-separated Slack user ids, e.g. U0123ABC,U0456DEF",
    "ROOMBOT_ALLOWED_CHANNELS": "comma-separated Slack channel ids, e.g. C0123ABC,C0456DEF",
    "ROOMBOT_WORKER_LEASE_SECONDS": "a number of seconds, e.g. 15",
    "ROOMBOT_DEFAULT_LENGTH": "a length such as 90 minutes, 1 hour or PT90M",
    "ROOMBOT_EVENTS_SECRET": "a random string of 16+ characters, e.g. from `openssl rand -hex 24`",
}


class ConfigError(Exception):
    """One setting is missing or malformed; the message is the single line to print."""


class Settings(BaseSettings):
    """roombot's configuration, read from conventionally named environment variables."""

    model_config = SettingsConfigDict(
        env_prefix="", case_sensitive=False, extra="ignore", populate_by_name=True
    )

    slack_bot_token: SecretStr | None = Field(default=None, alias="SLACK_BOT_TOKEN")
    slack_signing_secret: SecretStr | None = Field(default=None, alias="SLACK_SIGNING_SECRET")
    slack_app_token: SecretStr | None = Field(default=None, alias="SLACK_APP_TOKEN")
    slack_api_url: str = Field(default=DEFAULT_SLACK_API_URL, alias="SLACK_API_URL")
    slack_client_id: str | None = Field(default=None, alias="SLACK_CLIENT_ID")
    slack_client_secret: SecretStr | None = Field(default=None, alias="SLACK_CLIENT_SECRET")
    acs_connection_string: SecretStr | None = Field(default=None, alias="ACS_CONNECTION_STRING")
    acs_endpoint: str | None = Field(default=None, alias="ACS_ENDPOINT")
    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        validation_alias=AliasChoices("DATABASE_URL", "database_url"),
    )
    join_url: str | None = Field(default=None, alias="ROOMBOT_JOIN_URL")
    public_url: str | None = Field(default=None, alias="ROOMBOT_PUBLIC_URL")
    admins: str = Field(default="", alias="ROOMBOT_ADMINS")
    allowed_channels: str = Field(default="", alias="ROOMBOT_ALLOWED_CHANNELS")
    worker_lease_seconds: float = Field(default=15.0, gt=0, alias="ROOMBOT_WORKER_LEASE_SECONDS")
    default_length: timedelta = Field(default=DEFAULT_LENGTH, alias="ROOMBOT_DEFAULT_LENGTH")
    events_secret: SecretStr | None = Field(default=None, alias="ROOMBOT_EVENTS_SECRET")

    @field_validator("events_secret")
    @classmethod
    def _events_secret_is_long(cls, value: SecretStr | None) -> SecretStr | None:
        """The only proof an ACS event is ACS's: never quoted, and not guessable."""
        if value is not None and len(value.get_secret_value().strip()) < 16:
            raise ValueError("must be at least 16 characters")
        return value

    @field_validator("default_length", mode="before")
    @classmethod
    def _length_in_words_or_iso(cls, value: object) -> object:
        """``90 minutes`` (the words a command takes after ``for``) or ISO 8601 ``PT90M``."""
        if isinstance(value, str) and not value.strip().upper().startswith("P"):
            value = read_length(value)
        return value

    @field_validator("default_length")
    @classmethod
    def _length_within_limits(cls, value: timedelta) -> timedelta:
        if not timedelta(minutes=1) <= value <= timedelta(days=MAX_DAYS):
            raise ValueError(f"must be between 1 minute and {MAX_DAYS} days")
        return value

    @field_validator("admins", "allowed_channels")
    @classmethod
    def _comma_separated_ids(cls, value: str) -> str:
        for item in _split(value):
            if not item.isalnum() or not item[0].isupper():
                raise ValueError(
                    f"{item!r} is not a Slack id (a comma-separated list like U0123,U0456)"
                )
        return value

    @property
    def admin_ids(self) -> frozenset[str]:
        return frozenset(_split(self.admins))

    @property
    def allowed_channel_ids(self) -> frozenset[str]:
        return frozenset(_split(self.allowed_channels))

    @field_validator(
        "slack_bot_token",
        "slack_signing_secret",
        "slack_app_token",
        "slack_client_secret",
        "acs_connection_string",
        "acs_endpoint",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        """`VAR=` in an env file or a compose file means "not set", not "an empty secret"."""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("slack_client_id", mode="before")
    @classmethod
    def _blank_id_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token_is_a_bot_token(cls, value: SecretStr | None) -> SecretStr | None:
        # Never quote the value: it is a credential (so are the wrong kinds of token).
        if value is not None and not value.get_secret_value().strip().startswith("xoxb-"):
            raise ValueError(
                "SLACK_BOT_TOKEN is not a bot token: it must start with xoxb- (the Bot User "
                "OAuth Token on OAuth & Permissions; user xoxp- and app xapp- tokens do not work)"
            )
        return value

    @field_validator("slack_app_token")
    @classmethod
    def _app_token_is_an_app_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().strip().startswith("xapp-"):
            raise ValueError(
                "SLACK_APP_TOKEN is not an app-level token: it must start with xapp- (Basic "
                "Information → App-Level Tokens, scope connections:write)"
            )
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _api_url_is_http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL ending in /api/")
        return value if value.endswith("/") else value + "/"

    @field_validator("acs_connection_string")
    @classmethod
    def _connection_string_parses(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            parse_connection_string(value.get_secret_value())
        return value

    @field_validator("acs_endpoint")
    @classmethod
    def _endpoint_is_https(cls, value: str | None) -> str | None:
        """Bearer tokens are only ever sent over TLS: an https origin, nothing after it."""
        if value is None:
            return None
        parts = urlsplit(value.strip())
        if parts.scheme != "https" or not parts.hostname:
            shown = value.strip()
            raise ValueError(f"must be an https URL, not “{shown}”: tokens travel only over TLS")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError("must be the resource's base URL, without a path or query")
        return value.strip().rstrip("/") + "/"

    @field_validator("database_url")
    @classmethod
    def _database_url_is_async(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return value

    @field_validator("join_url")
    @classmethod
    def _join_url_has_placeholder(cls, value: str | None) -> str | None:
        if value is not None and "{room_id}" not in value:
            raise ValueError("must contain {room_id}")
        return value

    @field_validator("public_url")
    @classmethod
    def _public_url_is_a_base(cls, value: str | None) -> str | None:
        """Join links are this base plus `/join/{code}`: an http(s) origin, maybe with a path.

        No query or fragment: they would end up in the middle of every link.
        """
        if value is None:
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http(s) URL such as https://roombot.example.com")
        if parts.query or parts.fragment:
            raise ValueError("must not have a query or fragment")
        return value.strip().rstrip("/")

    @property
    def slack_web_url(self) -> str:
        """Slack's web base (`https://slack.com/`), where the OpenID authorize page lives."""
        return self.slack_api_url.removesuffix("api/")

    @property
    def acs(self) -> AcsConnection:
        """The parsed ACS connection; ConfigError when it is not set."""
        if self.acs_connection_string is None:
            raise ConfigError(_missing("ACS_CONNECTION_STRING"))
        return parse_connection_string(self.acs_connection_string.get_secret_value())

    @property
    def acs_keyless(self) -> bool:
        """ACS_ENDPOINT is set: Microsoft Entra ID tokens instead of an access key."""
        return self.acs_endpoint is not None

    def require_acs(self) -> None:
        """ConfigError unless exactly one way to reach ACS is set: a key or an endpoint."""
        if self.acs_connection_string is not None and self.acs_endpoint is not None:
            raise ConfigError(
                "ACS_CONNECTION_STRING and ACS_ENDPOINT are both set: set only one, "
                "ACS_CONNECTION_STRING for an access key or ACS_ENDPOINT for Microsoft Entra ID"
            )
        if self.acs_connection_string is None and self.acs_endpoint is None:
            raise ConfigError(
                _missing("ACS_CONNECTION_STRING")
                + "; or set ACS_ENDPOINT=https://NAME.communication.azure.com/ to use "
                "Microsoft Entra ID instead of a key"
            )

    @property
    def socket_mode(self) -> bool:
        """Socket Mode (an app token is set): Slack is reached over a WebSocket, not HTTP."""
        return self.slack_app_token is not None

    @property
    def multi_workspace(self) -> bool:
        """Installed through OAuth into any number of workspaces (`bot.slack.install`).

        The app's client id and secret without a bot token: each workspace's token comes from
        its installation. With a bot token they only serve Sign in with Slack, as before.
        """
        return self.slack_bot_token is None and self.slack_client_id is not None

    def require_for_serving(self) -> None:
        """ConfigError naming the first setting `roombot serve` needs that is unset.

        In Socket Mode Slack sends nothing over HTTP, so nothing is signed: no signing secret.
        """
        self._require_slack_credentials()
        if not self.socket_mode and self.slack_signing_secret is None:
            raise ConfigError(
                _missing("SLACK_SIGNING_SECRET") + "; or set SLACK_APP_TOKEN for Socket Mode"
            )
        self.require_acs()

    def _require_slack_credentials(self) -> None:
        """One workspace (a bot token) or many (the client id and secret), never half of one."""
        has_id, has_secret = self.slack_client_id is not None, self.slack_client_secret is not None
        if has_id and not has_secret:
            raise ConfigError(
                _missing("SLACK_CLIENT_SECRET") + " (SLACK_CLIENT_ID is set; both or neither)"
            )
        if has_secret and not has_id:
            raise ConfigError(
                _missing("SLACK_CLIENT_ID") + " (SLACK_CLIENT_SECRET is set; both or neither)"
            )
        if self.slack_bot_token is None and not has_id:
            raise ConfigError(
                "SLACK_BOT_TOKEN is not set: set it to "
                + _HINTS["SLACK_BOT_TOKEN"]
                + " for one workspace, or set SLACK_CLIENT_ID and SLACK_CLIENT_SECRET to install"
                " into any number of workspaces"
            )

    def require(self, *names: str) -> None:
        """Raise ConfigError naming the first of *names* (env var names) that is unset."""
        for name in names:
            if getattr(self, _FIELD_BY_ENV[name]) is None:
                raise ConfigError(_missing(name))


_FIELD_BY_ENV = {
    (field.alias or name).upper(): name for name, field in Settings.model_fields.items()
}
_FIELD_BY_ENV["DATABASE_URL"] = "database_url"


def _split(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def _missing(name: str) -> str:
    return f"{name} is not set: set it to {_HINTS.get(name, 'a value')}"


_PURPOSES = {
    "SLACK_CLIENT_SECRET": "with SLACK_CLIENT_ID",
    "SLACK_APP_TOKEN": "switches to Socket Mode",
    "SLACK_API_URL": "Slack's Web API",
    "DATABASE_URL": "where commands, rooms and identities are kept",
    "ROOMBOT_JOIN_URL": "the Join button's link (no button without it)",
    "ROOMBOT_ADMINS": "people who may extend, change or delete any room",
    "ROOMBOT_ALLOWED_CHANNELS": "the only channels roombot works in (default: every channel)",
    "ROOMBOT_WORKER_LEASE_SECONDS": "how long a replica holds a command before another may",
    "ROOMBOT_DEFAULT_LENGTH": "how long a room with a start and no end lasts",
    "ACS_ENDPOINT": "instead of ACS_CONNECTION_STRING, to authenticate without a key",
    "ROOMBOT_EVENTS_SECRET": "the secret ACS's Event Grid subscription sends to /acs/events",
}

_REQUIRED_FOR_SERVING = {
    "SLACK_BOT_TOKEN": "required for one workspace; unset for many (OAuth)",
    "SLACK_CLIENT_ID": "with SLACK_CLIENT_SECRET: Sign in with Slack, or OAuth without a bot token",
    "SLACK_SIGNING_SECRET": "required over HTTP; not in Socket Mode",
    "ACS_CONNECTION_STRING": "required, unless ACS_ENDPOINT is set",
}


def environment_help() -> str:
    """Every setting, one per line with what it wants, for `roombot serve --help`.

    Built from the `Settings` fields, so a new setting is listed without editing the help.
    """
    lines = []
    for env in _FIELD_BY_ENV:
        field = Settings.model_fields[_FIELD_BY_ENV[env]]
        need = _REQUIRED_FOR_SERVING.get(env)
        default = field.default
        if need is None:
            shown = default.get_secret_value() if isinstance(default, SecretStr) else default
            need = "optional" if shown in (None, "") else f"default {_plain_default(shown)}"
        purpose = _PURPOSES.get(env)
        wants = _HINTS.get(env, "see README")
        lines.append(f"  {env} ({need})")
        text = f"{purpose}: {wants}" if purpose else wants
        lines.append(textwrap.fill(text, 96, initial_indent=" " * 6, subsequent_indent=" " * 8))
    return "\n".join(lines)


def _plain_default(value: object) -> str:
    if isinstance(value, timedelta):
        return f"{value.total_seconds() / 60:g} minutes"
    return str(value)


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment (keywords win); ConfigError with one line on bad input."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        error = exc.errors()[0]
        field_name = str(error["loc"][0]) if error["loc"] else "configuration"
        env_name = field_name.upper() if field_name.isupper() else _env_name(field_name)
        reason = str(error.get("msg", "is invalid")).removeprefix("Value error, ")
        if reason.startswith(env_name):
            raise ConfigError(reason) from None
        hint = _HINTS.get(env_name)
        raise ConfigError(
            f"{env_name} is malformed: {reason}" + (f" (expected {hint})" if hint else "")
        ) from None


def _env_name(field_name: str) -> str:
    for env, name in _FIELD_BY_ENV.items():
        if name == field_name:
            return env
    return field_name.upper()
