"""`roombot dev --multi-workspace`: the local workspace installs roombot through Add to Slack
(the fake Slack's OAuth) before the console starts, and the bot then works with that token.
A real `roombot dev` process, as the other console tests."""

from __future__ import annotations

from pathlib import Path

from tests.slack.dev_console import run_script


def test_the_local_workspace_installs_through_oauth_first(tmp_path: Path) -> None:
    done = run_script(
        tmp_path, "/room create tomorrow 9am-10am @alice\n/room list\n", "--multi-workspace"
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "Installed roombot in the local workspace:"
    assert lines[1].startswith("  Add to Slack: http://localhost:")
    assert lines[1].endswith("/slack/install")
    assert "/oauth/v2/authorize" in lines[2]
    assert lines[3].endswith("/slack/oauth_redirect → installed; the bot now uses that token")
    assert "  #general 📹 Room ready — created by @you" in lines
    assert "  (only you) Rooms in #general (1)" in lines
    assert "xoxb-" not in done.stdout + done.stderr
