"""Reading Slack's answer to a failed Web API call, whatever its body was.

slack-sdk raises `SlackApiError` for any failed call, with the body as it came: a dict for
Slack's JSON, but a plain string for a `text/plain` answer (a load balancer's 503), on which
`response.get(...)` raises `AttributeError`. Every reader of the error code goes through here.
"""

from __future__ import annotations

from slack_sdk.errors import SlackApiError


def error_code(exc: SlackApiError) -> str:
    """Slack's `error` (`channel_not_found`), else `http_503`-style, else `error`."""
    response = exc.response
    data = getattr(response, "data", None)
    if isinstance(data, dict):
        code = data.get("error")
        if isinstance(code, str) and code:
            return code[:64]
    status = getattr(response, "status_code", None)
    return f"http_{status}" if isinstance(status, int) else "error"
