"""The composition root: Settings -> store, HTTP sessions, clients, service, worker, web app.

`Runtime` opens everything in dependency order and closes it in reverse; `web_app` mounts
Bolt's handler at `/slack/events` beside `/healthz` and `/metrics`. Nothing else in the
package wires collaborators together, so tests and `roombot dev` build exactly what
`roombot serve` builds.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import aiohttp
from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from slack_bolt.app.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.acs.client import DEFAULT_RETRY, IdentityClient, RetryPolicy, RoomsClient, new_session
from bot.acs.entra import AsyncTokenCredential, EntraTokens, default_credential
from bot.acs.metrics import AcsCallMetrics
from bot.config import ConfigError, Settings
from bot.domain import JournalEntry
from bot.eventgrid import routes as event_routes
from bot.http_edge import (
    HEADER_TIMEOUT,
    MAX_UNPROVEN,
    EdgeGuard,
    EdgeSite,
    guarded_app,
    server_logger,
)
from bot.join import routes as join_routes
from bot.join.signin import SlackSignIn
from bot.parsing.parser import warm_up
from bot.service.call_presence import CallPresence
from bot.service.identities import UserIdentities
from bot.service.interpret import Interpreter
from bot.service.join import JoinService
from bot.service.recovery import AcsRecoveryWatch
from bot.service.reminders import ReminderDispatcher
from bot.service.response_urls import JournalResponseUrls
from bot.service.room_watch import RoomWatch
from bot.service.rooms import RoomService
from bot.service.runner import CommandRunner
from bot.service.worker import JournalWorker, default_worker_id
from bot.slack import install
from bot.slack.adapter import slack_events_handler
from bot.slack.answerer import ChannelPacer, SlackAnswerer
from bot.slack.app import SlackDeps, build_app
from bot.slack.calls import CLOSING_SWEEP, SlackCallCards
from bot.slack.home import HomeViews
from bot.slack.install import Installs, open_installs
from bot.slack.metrics import Metrics
from bot.slack.people import SlackPeople
from bot.slack.reminders import SlackReminders
from bot.slack.retry import RepeatableConnectionErrorRetryHandler
from bot.slack.scopes import GrantedScopes
from bot.slack.step_tokens import StepTokens
from bot.slack.uninstall import InstalledOnly, listen_for_uninstalls
from bot.slack.workflow_step import StepAnswerer
from bot.slack.workspaces import (
    OneWorkspace,
    ScopesPerWorkspace,
    WorkspaceClient,
    act_for_each_request,
)
from bot.store.errors import StoreError, StoreUnavailable
from bot.store.reminders import HomeStore, ReminderSchedule
from bot.store.store import Store

if TYPE_CHECKING:
    from bot.slack.socket_mode import SocketMode

logger = logging.getLogger("roombot")

RUNTIME_KEY: web.AppKey[Runtime] = web.AppKey("runtime")


class DatabaseNotReady(Exception):
    """`DATABASE_URL` names a database roombot cannot use; the message is one line saying why."""


@dataclass
class Options:
    """Knobs that are not configuration a deployer sets, but that dev, tests and benches tune."""

    acs_retry: RetryPolicy = DEFAULT_RETRY
    acs_ssl: Any = True
    # With ACS_ENDPOINT: what makes the Microsoft Entra credential (tests: a local issuer).
    # The runtime closes what it makes at shutdown.
    acs_credential: Callable[[], AsyncTokenCredential] = default_credential
    channel_post_interval: float = 1.0
    worker_poll_interval: float = 2.0
    response_url_prefixes: tuple[str, ...] = ("https://hooks.slack.com/",)
    admins: frozenset[str] = frozenset()
    allowed_channels: frozenset[str] = frozenset()
    worker_id: str | None = None
    worker_lease: timedelta | None = None  # default: the setting ROOMBOT_WORKER_LEASE_SECONDS
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep  # the reminder dispatcher's
    # `/healthz` turns 503 when a command has waited longer: Slack's response_url lives 30
    # minutes, and the worker's retries (ACS deadline, Slack backoff) end long before.
    stuck_command_after: timedelta = timedelta(minutes=15)
    # The HTTP edge (`bot.http_edge`): seconds for a request head, and for a body, to arrive;
    # connections open at once without a valid Slack signature yet.
    http_header_timeout: float = HEADER_TIMEOUT
    max_unproven_connections: int = MAX_UNPROVEN
    call_sweep_interval: timedelta = CLOSING_SWEEP  # closed rooms' Slack calls are ended

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> Options:
        """What `roombot serve` runs with: the deployer's settings, defaults for the rest."""
        values: dict[str, Any] = {
            "admins": settings.admin_ids,
            "allowed_channels": settings.allowed_channel_ids,
        }
        values.update(overrides)
        return cls(**values)


class Runtime:
    """Everything roombot runs on, opened together and closed in reverse order."""

    def __init__(self, settings: Settings, options: Options | None = None) -> None:
        settings.require_for_serving()
        self.settings = settings
        self.options = options or Options.from_settings(settings)
        # One registry per runtime, so tests can run many in one process and read their own.
        self.metrics_registry = CollectorRegistry()
        self.metrics = Metrics(self.metrics_registry)
        self.acs_metrics = AcsCallMetrics(self.metrics_registry)
        self._stack = contextlib.AsyncExitStack()
        self.socket_mode: SocketMode | None = None  # set by start_socket_mode

    async def __aenter__(self) -> Self:
        try:
            await self._open()
        except BaseException:
            await self._stack.aclose()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._stack.aclose()

    async def _open(self) -> None:
        settings, options = self.settings, self.options
        # dateparser's first call costs ~0.15 s. Pay it in a thread once serving has begun:
        # the parser reaches dateparser only for rare date forms, so nothing common waits for
        # it. Started at once, the thread's imports would hold the GIL against start-up itself
        # (migrations, the first health check), so it waits a moment first.
        warming = asyncio.create_task(_warm_up_later(WARM_UP_DELAY), name="warm-up-parser")
        self._stack.push_async_callback(_stop_warm_up, warming)
        try:
            self.store = await self._stack.enter_async_context(
                Store.open(settings.database_url, migrate=True)
            )
        except StoreError as exc:
            raise DatabaseNotReady(str(exc)) from None
        self.http = new_session(ssl=options.acs_ssl)
        self._stack.push_async_callback(self.http.close)
        client_options: dict[str, Any] = {
            "session": self.http,
            "retry": options.acs_retry,
            "observer": self.acs_metrics.observe,
        }
        if settings.acs_endpoint is not None:
            # Keyless: one credential and one token cache for both clients.
            credential = options.acs_credential()
            self._stack.push_async_callback(credential.close)
            self.acs_credential: AsyncTokenCredential | None = credential
            self.acs_tokens: EntraTokens | None = EntraTokens(credential)
            client_options["credential"] = self.acs_tokens
            acs_endpoint = settings.acs_endpoint
            self.rooms = RoomsClient(acs_endpoint, **client_options)
            self.identities = IdentityClient(acs_endpoint, **client_options)
        else:
            self.acs_credential = None
            self.acs_tokens = None
            acs = settings.acs
            self.rooms = RoomsClient(acs.endpoint, acs.key, **client_options)
            self.identities = IdentityClient(acs.endpoint, acs.key, **client_options)
        # One session for Slack's Web API, so its calls reuse keep-alive connections: without
        # one, slack-sdk opens a new session (and TCP/TLS connection) for every call.
        self.slack_http = aiohttp.ClientSession()
        self._stack.push_async_callback(self.slack_http.close)
        slack_client_options: dict[str, Any] = {
            "base_url": settings.slack_api_url,
            "session": self.slack_http,
            "retry_handlers": [
                AsyncRateLimitErrorRetryHandler(max_retry_count=3),
                RepeatableConnectionErrorRetryHandler(max_retry_count=2),
            ],
        }
        # Multi-workspace mode (`bot.slack.install`): every call carries the token of the
        # workspace it is made for (`bot.slack.workspaces`); else the one SLACK_BOT_TOKEN.
        self.installs: Installs | None = None
        if settings.multi_workspace:
            assert settings.slack_client_id is not None, "required above"
            assert settings.slack_client_secret is not None, "required above"
            self.installs = open_installs(
                engine=self.store.engine,
                client_id=settings.slack_client_id,
                client_secret=settings.slack_client_secret.get_secret_value(),
                slack_api_url=settings.slack_api_url,
                slack_web_url=settings.slack_web_url,
                public_url=settings.public_url,
                session=self.slack_http,
            )
            self.slack: AsyncWebClient = WorkspaceClient(
                bots=self.installs.bots, **slack_client_options
            )
        else:
            assert settings.slack_bot_token is not None, "required above"
            self.slack = AsyncWebClient(
                token=settings.slack_bot_token.get_secret_value(), **slack_client_options
            )
        # Posts to response_urls (hooks.slack.com) on a session of their own: the ACS session
        # carries ACS's TLS settings and connection limit, and a slow ACS must not queue them.
        self.response_url_http = aiohttp.ClientSession()
        self._stack.push_async_callback(self.response_url_http.close)
        self.people = SlackPeople(self.slack)
        user_identities = UserIdentities(self.store.identities, self.identities)
        self.service = RoomService(
            rooms=self.rooms,
            identities=self.identities,
            user_identities=user_identities,
            store=self.store,
            people=self.people,
            admins=options.admins,
            allowed_channels=options.allowed_channels,
            clock=options.clock,
        )
        self.reminder_schedule = ReminderSchedule(self.store.database)
        # Whatever changes a room (a command, an admitted knock) moves its reminders and
        # redraws its people's Homes through this one watch.
        self.room_watch = RoomWatch(
            self.reminder_schedule,
            on_people=self._homes_changed,
            on_due=self._reminders_due,
            clock=options.clock,
        )
        self.joins: JoinService | None = None
        if settings.public_url is not None:
            self.joins = JoinService(
                store=self.store,
                identities=self.identities,
                user_identities=user_identities,
                rooms=self.rooms,
                may_change=self.service.may_change,
                public_url=settings.public_url,
                clock=options.clock,
                watch=self.room_watch,
            )
        self.sign_in: SlackSignIn | None = None
        client_id, client_secret = settings.slack_client_id, settings.slack_client_secret
        if self.joins is not None and client_id and client_secret is not None:
            self.sign_in = SlackSignIn(
                # no bot token: Sign in with Slack authenticates with the app's client secret
                client=AsyncWebClient(base_url=settings.slack_api_url, session=self.slack_http),
                client_id=client_id,
                client_secret=client_secret.get_secret_value(),
                web_url=settings.slack_web_url,
                public_url=self.joins.public_url,
            )
        self.calls: SlackCallCards | None = None  # Slack's native call card, with the link
        self.call_presence: CallPresence | None = None
        if settings.public_url is not None:
            self.calls = SlackCallCards(
                client=self.slack,
                records=self.store.calls,
                public_url=settings.public_url,
                join_url=settings.join_url,
                clock=options.clock,
            )
            self.call_presence = CallPresence(
                records=self.store.calls,
                registry=self.store.rooms,
                slack=self.calls,
                clock=options.clock,
            )
            self._stack.push_async_callback(self.call_presence.aclose)
            self.call_presence.start_sweeping(options.call_sweep_interval)
        # What the token may read, asked of Slack once in a while (per workspace when many):
        # the card's and the reminder's lookups after an interruption share it.
        self.scopes: GrantedScopes = (
            ScopesPerWorkspace(self.slack)
            if self.installs is not None
            else GrantedScopes(self.slack)
        )
        self.answerer = SlackAnswerer(
            client=self.slack,
            http=self.response_url_http,
            response_urls=JournalResponseUrls(self.store.journal, clock=options.clock),
            join_url=settings.join_url,
            pacer=ChannelPacer(options.channel_post_interval),
            clock=options.clock,
            calls=self.calls,
            scopes=self.scopes,
        )
        # Named here, before the runner and the worker that share it: the runner writes under
        # the leases the worker claims, and neither needs the other to exist first.
        worker_id = options.worker_id or default_worker_id()
        # Workflow steps' own tokens: the listener leaves them, the worker completes with them.
        self.step_tokens = StepTokens()
        self.recovery = AcsRecoveryWatch(probe=self.rooms.probe, on_back=self._hurry_waiting)
        self.runner = CommandRunner(
            service=self.service,
            interpreter=Interpreter(
                people=self.people,
                registry=self.store.rooms,
                default_length=settings.default_length,
            ),
            journal=self.store.journal,
            registry=self.store.rooms,
            # also completes the workflow steps it answers
            answerer=StepAnswerer(
                self.answerer,
                client=self.slack,
                public_url=settings.public_url,
                tokens=self.step_tokens,
            ),
            worker_id=worker_id,
            clock=options.clock,
            on_delay=self.recovery.delayed,
            on_failure=self.metrics.command_failure,
            watch=self.room_watch,  # keeps reminders and Homes in step with each change
        )
        process: Callable[[JournalEntry], Awaitable[None]] = self.runner
        if self.installs is not None:
            process = InstalledOnly(
                self.runner,
                bots=self.installs.bots,
                journal=self.store.journal,
                worker_id=worker_id,
                clock=options.clock,
            )
        self.worker = JournalWorker(
            self.store.journal,
            process,
            worker_id=worker_id,
            lease=options.worker_lease or timedelta(seconds=settings.worker_lease_seconds),
            poll_interval=options.worker_poll_interval,
            clock=options.clock,
        )
        home_store = HomeStore(self.store.database)
        self.home = HomeViews(
            store=home_store,
            registry=self.store.rooms,
            people=self.people,
            worker=self.worker,
            may_change=self.service.may_change,
            workspace_length=settings.default_length,
            join_url=settings.join_url,
            joins=self.joins,
            clock=options.clock,
        )
        # Closed in reverse: the worker drains first, then the watch its last commands used.
        self._stack.push_async_callback(self.recovery.aclose)
        self._stack.push_async_callback(self.worker.aclose)
        secret = settings.slack_signing_secret  # None in Socket Mode, which is not signed
        self.app: AsyncApp = build_app(
            client=self.slack,
            signing_secret=secret.get_secret_value() if secret is not None else "",
            deps=SlackDeps(
                service=self.service,
                worker=self.worker,
                people=self.people,
                metrics=self.metrics,
                join_url=settings.join_url,
                default_length=settings.default_length,
                response_url_prefixes=options.response_url_prefixes,
                allowed_channels=options.allowed_channels,
                clock=options.clock,
                joins=self.joins,
                home=self.home,
                calls=self.calls,
                step_tokens=self.step_tokens,
            ),
            bolt_options=(
                self.installs.bolt_options()
                if self.installs is not None
                else {"authorize": OneWorkspace(self.slack)}
            ),
        )
        if self.installs is not None:
            act_for_each_request(self.app)
        listen_for_uninstalls(
            self.app,
            self.installs.bots if self.installs is not None else None,
            on_removed=self.worker.poke,
        )
        self.reminders = ReminderDispatcher(
            schedule=self.reminder_schedule,
            registry=self.store.rooms,
            preferences=home_store,
            sender=SlackReminders(self.people, join_url=settings.join_url, scopes=self.scopes),
            worker_id=self.worker.worker_id,
            clock=options.clock,
            sleep=options.sleep,
        )
        self._stack.push_async_callback(self.reminders.aclose)
        self.worker.start()
        self.reminders.start()

    def _reminders_due(self, due: datetime) -> None:
        """A reminder was set or moved: the dispatcher wakes early if it is due before its
        next look (a room made less than its lead before it opens reminds at once)."""
        self.reminders.poke(due)

    def _homes_changed(self, team_id: str, users: frozenset[str]) -> None:
        """A room shown in these people's opened Homes changed: redraw them, after the
        command."""
        self.worker.spawn(self.home.republish(team_id, users), name="home-refresh")

    def render_metrics(self) -> bytes:
        """Every figure of this runtime, in Prometheus' text format, for `/metrics`."""
        return generate_latest(self.metrics_registry)

    async def _hurry_waiting(self) -> None:
        """ACS answers again: what waited on it is due now, here and on every replica."""
        now = self.options.clock()
        hurried = await self.store.journal.hurry_waiting(now=now)
        logger.info("%d waiting commands retried at once", hurried)
        self.worker.poke()

    async def start_socket_mode(self) -> None:
        """Connect over Socket Mode (SLACK_APP_TOKEN) in the background; returns at once.

        The connection is retried with backoff until it works, reconnects by itself, and is
        closed with the runtime in any state (`bot/slack/socket_mode.py`).
        """
        assert self.settings.slack_app_token is not None, "only with an app token"
        # Imported here: only Socket Mode deployments pay for the WebSocket client.
        from bot.slack.socket_mode import SocketMode

        # Its own client without retry handlers: one failed connection, one attempt, one line.
        opener = AsyncWebClient(
            base_url=self.settings.slack_api_url, session=self.slack_http, retry_handlers=[]
        )
        self.socket_mode = SocketMode(
            self.app, self.settings.slack_app_token.get_secret_value(), web_client=opener
        )
        self._stack.push_async_callback(self.socket_mode.close)
        self.socket_mode.start()

    async def health(self) -> tuple[bool, dict[str, str]]:
        """Whether this replica can serve, and why not, for `/healthz`."""
        report: dict[str, str] = {}
        reasons: list[str] = []
        now = self.options.clock()
        try:
            database = await self.store.health(replica=self.worker.worker_id, now=now)
        except StoreUnavailable as exc:
            report["database"] = str(exc)
            reasons.append(str(exc))
        else:
            report["database"] = "ok"
            waited = database.oldest_pending_age(now).total_seconds()
            report["pending_commands"] = str(database.pending_commands)
            report["oldest_pending_seconds"] = str(int(waited))
            limit = self.options.stuck_command_after.total_seconds()
            if waited > limit:
                reasons.append(
                    f"the oldest unanswered command has waited {int(waited)} s "
                    f"(more than {int(limit)} s)"
                )
        report["in_flight_here"] = str(self.worker.in_flight)
        if self.socket_mode is not None:
            connected = await self.socket_mode.connected()
            report["socket_mode"] = "connected" if connected else "disconnected"
            if not connected:
                reasons.append("Socket Mode is disconnected")
        if reasons:
            report["reason"] = "; ".join(reasons)
        return not reasons, report


WARM_UP_DELAY = 1.0
"""Seconds after start-up before the parser's warm-up starts (see `Runtime._open`)."""


async def _warm_up_later(delay: float) -> None:
    await asyncio.sleep(delay)
    await asyncio.to_thread(warm_up)
    # Everything alive now (libraries, parser tables, caches) lives as long as the process:
    # out of the collector's sight, a full collection no longer walks it. Unfrozen, those
    # collections paused the loop for 60-100 ms every few hundred commands (ack p99).
    gc.freeze()


async def _stop_warm_up(warming: asyncio.Task[None]) -> None:
    """Closing before the warm-up began skips it; one already in its thread is waited for."""
    if not warming.done():
        warming.cancel()  # a thread already running finishes; `asyncio.run` waits for it
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(warming, 30)


def web_app(runtime: Runtime) -> web.Application:
    """The HTTP surface: Slack's events, the join page, a health check and Prometheus metrics."""
    # aiohttp would inflate a compressed body in its parser, before any handler could check a
    # signature, and log tracebacks for one that is not what it claims: Slack never
    # compresses, so the handler refuses a Content-Encoding instead (415).
    # A request aiohttp cannot parse is logged in one line, without a traceback.
    app = web.Application(handler_args={"auto_decompress": False, "logger": server_logger()})
    app[RUNTIME_KEY] = runtime
    options = runtime.options
    guard = EdgeGuard(
        header_timeout=options.http_header_timeout,
        max_unproven=options.max_unproven_connections,
    )
    guarded_app(app, guard)  # served through `EdgeSite`, which watches every connection
    secret = runtime.settings.slack_signing_secret
    if secret is not None:  # absent only in Socket Mode, where Slack posts nothing here
        app.router.add_post(
            "/slack/events",
            slack_events_handler(
                runtime.app,
                signing_secret=secret.get_secret_value(),
                body_timeout=options.http_header_timeout,
                on_signed=lambda request: guard.proven(request.transport),
            ),
        )
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/metrics", _metrics)
    join_routes.mount(app, runtime.joins, runtime.sign_in)
    events_secret = runtime.settings.events_secret
    event_routes.mount(
        app,
        runtime.call_presence,
        events_secret.get_secret_value() if events_secret is not None else None,
        on_proven=lambda request: guard.proven(request.transport),
    )
    if runtime.installs is not None:
        install.mount(app, runtime.app)  # "Add to Slack" and Slack's redirect back
    return app


async def _healthz(request: web.Request) -> web.Response:
    healthy, report = await request.app[RUNTIME_KEY].health()
    report["status"] = "ok" if healthy else "unhealthy"
    return web.json_response(report, status=200 if healthy else 503, dumps=json.dumps)


async def _metrics(request: web.Request) -> web.Response:
    body = request.app[RUNTIME_KEY].render_metrics()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


__all__ = ["RUNTIME_KEY", "ConfigError", "EdgeSite", "Options", "Runtime", "web_app"]
