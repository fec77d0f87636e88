"""Connection strings and settings: clear one-line errors that never echo the key."""

from __future__ import annotations

import pytest

from bot.acs.connection import parse_connection_string
from bot.config import ConfigError, load_settings

KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw=="


def test_parses_endpoint_and_key_with_port() -> None:
    connection = parse_connection_string(f"endpoint=http://127.0.0.1:8089/;accesskey={KEY}")
    assert str(connection.endpoint) == "http://127.0.0.1:8089/"
    assert connection.host == "127.0.0.1:8089"
    assert KEY not in repr(connection)


def test_default_port_is_left_out_of_the_signed_host() -> None:
    text = f"endpoint=https://contoso.communication.azure.com/;accesskey={KEY}"
    assert parse_connection_string(text).host == "contoso.communication.azure.com"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # the key part is missing altogether
        ("endpoint=https://x.communication.azure.com/", "ACS_CONNECTION_STRING has no accesskey="),
        # the endpoint part is missing
        (f"accesskey={KEY}", "ACS_CONNECTION_STRING has no endpoint="),
        # a key that is not base64 (and must not be echoed)
        ("endpoint=https://x/;accesskey=not*base64!", "accesskey= is not usable"),
        # an endpoint that is not a URL
        (f"endpoint=contoso;accesskey={KEY}", r"endpoint must be an http\(s\) URL"),
        # a stray part without '='
        (f"endpoint=https://x/;junk;accesskey={KEY}", "a part without '='"),
    ],
)
def test_malformed_connection_strings_name_the_problem(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        parse_connection_string(text)
    assert KEY not in str(caught.value)
    assert "not*base64!" not in str(caught.value)


@pytest.mark.parametrize(
    ("overrides", "line"),
    [
        (
            {"ACS_CONNECTION_STRING": "endpoint=https://x/"},
            "ACS_CONNECTION_STRING has no accesskey=",
        ),
        ({"DATABASE_URL": "mysql://db"}, "DATABASE_URL is malformed"),
        ({"ROOMBOT_JOIN_URL": "https://meet.example.com/"}, "ROOMBOT_JOIN_URL is malformed"),
        ({"SLACK_API_URL": "slack.com/api"}, "SLACK_API_URL is malformed"),
        ({"ROOMBOT_PUBLIC_URL": "roombot.example.com"}, "ROOMBOT_PUBLIC_URL is malformed"),
        ({"ROOMBOT_PUBLIC_URL": "https://bot.example/?a=1"}, "ROOMBOT_PUBLIC_URL is malformed"),
    ],
)
def test_bad_settings_become_one_line_naming_the_setting(
    overrides: dict[str, str], line: str
) -> None:
    with pytest.raises(ConfigError, match=line) as caught:
        load_settings(**overrides)
    assert "\n" not in str(caught.value)


def test_settings_read_the_conventional_environment_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACS_CONNECTION_STRING", f"endpoint=http://127.0.0.1:9/;accesskey={KEY}")
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1/test")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1-2-3")
    settings = load_settings()
    assert settings.acs.host == "127.0.0.1:9"
    assert settings.database_url == "postgresql+asyncpg://postgres@127.0.0.1/test"
    assert "xoxb-1-2-3" not in repr(settings)
    assert KEY not in repr(settings)


def test_require_names_the_missing_setting() -> None:
    settings = load_settings()
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET is not set"):
        settings.require("SLACK_SIGNING_SECRET")


def test_the_public_url_is_kept_without_its_trailing_slash() -> None:
    settings = load_settings(ROOMBOT_PUBLIC_URL="https://bot.example.com/roombot/")
    assert settings.public_url == "https://bot.example.com/roombot"
