"""Which Slack Web API calls slack-sdk may repeat on its own after a broken connection.

slack-sdk's connection-error handler repeats any call whose connection broke, but Slack may
already have done the work: a repeated `chat.postMessage` shows the room twice. Posts are
therefore not repeated here; the answerer looks for the post by its metadata instead.
"""

from __future__ import annotations

from aiohttp import ClientConnectorError
from slack_sdk.http_retry.builtin_async_handlers import AsyncConnectionErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

NOT_REPEATABLE = frozenset({"chat.postMessage"})


class RepeatableConnectionErrorRetryHandler(AsyncConnectionErrorRetryHandler):
    """Retries broken connections, except for calls that are not safe to repeat.

    A post is still repeated when its connection could not even be opened (nothing was
    sent): `ClientConnectorError`, which the base handler retries as a `ClientOSError`.
    """

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        method = request.url.rstrip("/").rsplit("/", 1)[-1]
        if method in NOT_REPEATABLE and not isinstance(error, ClientConnectorError):
            return False  # a connection that never opened sent nothing: safe to repeat
        return await super()._can_retry_async(
            state=state, request=request, response=response, error=error
        )
