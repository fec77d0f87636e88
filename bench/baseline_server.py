"""The baseline servers: what a Slack command costs with nothing but aiohttp and our store.

Default (benchmarks 1 and 5): a bare aiohttp handler that verifies the Slack signature with
`slack_sdk.signature.SignatureVerifier`, journals the command with the same store call as
roombot (`Store.open(url, migrate=True)`, then `store.journal.accept(NewJournalEntry(...))`
with the same command JSON) and acks with the same "Creating your room…" blocks.

`--pipeline` (benchmark 2) also does, after the ack, the least work that still ends in a
posted message: lease the entry (`claim_one`), one signed ACS create (`bench.bare_acs`), one
`chat.postMessage` over aiohttp, and `mark_answered`. No time zones, no parsing, no identity
or room registry, no Bolt, no slack-sdk client: the ceiling of the architecture, not a rival.

Both serve `GET /healthz` (200 after a store ping, with `pending_commands`). Configured by the
same environment variables as `roombot serve`; serves on loopback until SIGTERM or SIGINT.

Run: ``python -m bench.baseline_server --port 3001 [--pipeline]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl

import aiohttp
from aiohttp import web
from slack_sdk.signature import SignatureVerifier

from bench.bare_acs import BareRooms, create_body
from bot.acs.connection import parse_connection_string
from bot.domain import NewJournalEntry, new_journal_key
from bot.service.resolved import text_command
from bot.slack.blocks import working_blocks
from bot.store.store import Store

WORKER = "baseline-worker"
_LEASE = timedelta(seconds=15)
ACK = {
    "response_type": "ephemeral",
    "blocks": working_blocks("Creating your room…"),
    "text": "Creating your room…",
}


class Baseline:
    def __init__(self, store: Store, *, pipeline: bool, http: aiohttp.ClientSession) -> None:
        self.store = store
        self.verifier = SignatureVerifier(os.environ["SLACK_SIGNING_SECRET"])
        self.pipeline = pipeline
        self.http = http
        self.tasks: set[asyncio.Task[None]] = set()
        if pipeline:
            self.rooms = BareRooms(
                parse_connection_string(os.environ["ACS_CONNECTION_STRING"]), http
            )
            self.post_url = os.environ["SLACK_API_URL"].rstrip("/") + "/chat.postMessage"
            self.slack_auth = {"Authorization": "Bearer " + os.environ["SLACK_BOT_TOKEN"]}

    async def events(self, request: web.Request) -> web.Response:
        body = await request.text()
        if not self.verifier.is_valid(
            body,
            request.headers.get("X-Slack-Request-Timestamp"),
            request.headers.get("X-Slack-Signature"),
        ):
            return web.Response(status=401)
        form = dict(parse_qsl(body, keep_blank_values=True))
        key = new_journal_key()
        now = datetime.now(UTC)
        await self.store.journal.accept(
            NewJournalEntry(
                key=key,
                command=text_command(form.get("text", ""), locale=None),
                team_id=form.get("team_id", ""),
                user_id=form.get("user_id", ""),
                channel_id=form.get("channel_id", ""),
                response_url=None,
                accepted_at=now,
            )
        )
        if self.pipeline:
            task = asyncio.create_task(self.work(key, form.get("channel_id", ""), now))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        return web.json_response(ACK)

    async def work(self, key: str, channel: str, now: datetime) -> None:
        journal = self.store.journal
        lease = await journal.claim_one(key, WORKER, lease=_LEASE, now=now)
        if lease is None:
            return
        room_id = await self.rooms.create(create_body(now))
        message = {
            "channel": channel,
            "text": f"Room {room_id} is ready.",
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": f"`{room_id}`"}}],
        }
        async with self.http.post(self.post_url, json=message, headers=self.slack_auth) as sent:
            answer = await sent.json()
            if not answer.get("ok"):
                raise RuntimeError(f"chat.postMessage: {answer.get('error')}")
        await journal.mark_answered(key, WORKER, now=datetime.now(UTC))

    async def healthz(self, request: web.Request) -> web.Response:
        await self.store.ping()
        report = {"database": "ok", "pending_commands": str(len(self.tasks)), "status": "ok"}
        return web.json_response(report, dumps=json.dumps)


async def serve(port: int, pipeline: bool) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with (
        Store.open(os.environ["DATABASE_URL"], migrate=True) as store,
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100)) as http,
    ):
        baseline = Baseline(store, pipeline=pipeline, http=http)
        app = web.Application()
        app.router.add_post("/slack/events", baseline.events)
        app.router.add_get("/healthz", baseline.healthz)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        try:
            await stop.wait()
        finally:
            await runner.cleanup()
            await asyncio.gather(*baseline.tasks, return_exceptions=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pipeline", action="store_true")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.port, args.pipeline))


if __name__ == "__main__":
    main()
