"""`GrantedScopes` reads the granted scopes the way Slack reports them: the fake Slack's
`x-oauth-scopes` header on `auth.test`, over real HTTP."""

from __future__ import annotations

from slack_sdk.web.async_client import AsyncWebClient

from bot.local.fake_slack import DEFAULT_SCOPES, HISTORY_MANIFEST_SCOPES, FakeSlack
from bot.slack.scopes import GrantedScopes


async def test_the_default_install_may_not_read_history_the_history_variant_may() -> None:
    for scopes, readable in ((DEFAULT_SCOPES, False), (HISTORY_MANIFEST_SCOPES, True)):
        async with FakeSlack(scopes=scopes) as slack:
            client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)
            granted = GrantedScopes(client)
            assert await granted.current() == frozenset(scopes)
            assert await granted.can_read_history() is readable


async def test_scopes_are_asked_once_per_ttl_and_a_reinstall_is_noticed() -> None:
    now = [0.0]
    async with FakeSlack(scopes=DEFAULT_SCOPES) as slack:
        client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)
        granted = GrantedScopes(client, ttl=600, monotonic=lambda: now[0])
        assert not await granted.can_read_history()
        slack.scopes = HISTORY_MANIFEST_SCOPES  # an admin reinstalls from manifest.history.yml
        now[0] = 599.0
        assert not await granted.can_read_history()
        assert len(slack.calls_to("auth.test")) == 1
        now[0] = 600.0
        assert await granted.can_read_history()
        assert len(slack.calls_to("auth.test")) == 2
