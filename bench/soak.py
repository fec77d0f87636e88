"""`make soak`: the reliability scenarios of tests/reliability/, at full size, with figures.

    python -m bench.soak                      # every scenario
    python -m bench.soak faults crash         # some of them
    python -m bench.soak faults --commands 200 --concurrency 20

The bot runs as real `roombot serve` processes (production settings: 15 s lease, 2 s claim
loop, 30 s ACS deadline), against the ACS emulator and the fake Slack served from this
process on loopback. Every room is asked for in a channel of its own, so "one room per
channel" is "one room per command"; the journal, the emulator (by Repeatability-Request-ID,
i.e. journal key) and the channels are compared at the end. Only stdout is written; the
databases live in a temporary directory (PostgreSQL: a schema, dropped afterwards).

Exit status 1 when a promise is broken: a duplicate, a lost command, a 5xx, an ack over 3 s
at p99, or an exception in the bot's log.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import re
import secrets
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import select, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import create_async_engine

from bot.domain import JournalEntry, JournalState
from bot.local.emulator import EmulatorServer
from bot.local.fake_slack import HISTORY_MANIFEST_SCOPES, FakeSlack
from bot.store.store import Store
from bot.store.tables import JournalRow
from tests.reliability.harness import (
    FORM,
    ME,
    POSTGRES_URL,
    TEAM,
    Ack,
    ServeProcess,
    percentile,
    serve_env,
    serving,
    slack_signature,
)
from tests.reliability.hostile import generate, judge_ack

ROOM_ID = re.compile(r"`(\d{17})`")
ACK_LIMIT = 3.0  # seconds: Slack's deadline for an ack


@dataclass
class Figures:
    """One scenario's outcome, one row of the table in docs/reliability.md."""

    scenario: str
    commands: int = 0
    rooms: int = 0
    duplicates: int = 0
    lost: int = 0
    acks: list[float] = field(default_factory=list)
    recovery: float | None = None
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    broken: list[str] = field(default_factory=list)
    told: list[float] = field(default_factory=list)
    """Failure modes: seconds from each ack to the message that ended the command."""
    attempts: list[int] = field(default_factory=list)
    """Failure modes: how many times each command was taken up (journal `attempts`)."""

    @property
    def p50(self) -> float | None:
        return percentile(self.acks, 0.50) if self.acks else None

    @property
    def p99(self) -> float | None:
        return percentile(self.acks, 0.99) if self.acks else None

    def check(self, condition: bool, promise: str) -> None:
        if not condition:
            self.broken.append(promise)


# --- the world around the bot ---------------------------------------------------------------


@dataclass
class World:
    emulator: EmulatorServer
    slack: FakeSlack
    http: aiohttp.ClientSession
    workdir: Path
    secret: str = field(default_factory=lambda: secrets.token_hex(16))
    _room_of: dict[tuple[str, str], str | None] = field(default_factory=dict)

    def channels(self, prefix: str, count: int) -> list[str]:
        names = [f"C0{prefix}{index:05d}" for index in range(count)]
        for name in names:
            self.slack.add_channel(name, name.lower())
        return names

    def env(self, database: str, **extra: str) -> dict[str, str]:
        return serve_env(self.slack, self.emulator, database, self.secret, **extra)

    def rooms_by_channel(self) -> dict[str, list[str]]:
        """Room ids announced per channel (a message's room never changes: read once)."""
        found: dict[str, list[str]] = {}
        for message in self.slack.messages:
            key = (message.channel, message.ts)
            if key not in self._room_of:
                match = ROOM_ID.search(json.dumps(message.blocks))
                self._room_of[key] = match.group(1) if match else None
            room = self._room_of[key]
            if room is not None and not message.deleted:
                found.setdefault(message.channel, []).append(room)
        return found

    def all_answered(self, channels: Sequence[str]) -> bool:
        rooms = self.rooms_by_channel()
        return all(rooms.get(channel) for channel in channels)

    def ephemerals_by_channel(self, marker: str) -> dict[str, int]:
        found: dict[str, int] = {}
        for note in self.slack.ephemerals:
            if marker in note.text or marker in json.dumps(note.blocks):
                found[note.channel] = found.get(note.channel, 0) + 1
        return found


@contextlib.asynccontextmanager
async def world(**emulator_options: Any) -> AsyncIterator[World]:
    with tempfile.TemporaryDirectory(prefix="roombot-soak-") as workdir:
        async with (
            EmulatorServer(**emulator_options) as emulator,
            # Installed from manifest.history.yml: "never told twice" after a crash needs the
            # history lookup, which the default manifest.yml leaves out (README, Deploying).
            FakeSlack(team_id=TEAM, scopes=HISTORY_MANIFEST_SCOPES) as slack,
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http,
        ):
            slack.add_user(ME, "you", tz="Europe/London")
            yield World(emulator, slack, http, Path(workdir))


async def send_all(
    world: World,
    bot: ServeProcess,
    texts: Sequence[tuple[str, str]],
    *,
    concurrency: int,
    on_ack: Callable[[str, str, Ack], None] | None = None,
) -> list[Ack]:
    """Send each (channel, text) as `/room TEXT`, *concurrency* at a time; the acks, in order."""
    gate = asyncio.Semaphore(concurrency)
    acks: list[Ack | None] = [None] * len(texts)

    async def one(index: int, channel: str, words: str) -> None:
        async with gate:
            ack = await bot.command(world.http, world.slack, words, channel=channel)
        acks[index] = ack
        if on_ack is not None:
            on_ack(channel, words, ack)

    await asyncio.gather(*(one(i, c, t) for i, (c, t) in enumerate(texts)))
    return [ack for ack in acks if ack is not None]


async def wait_until(
    check: Callable[[], bool], *, within: float, every: float = 0.1
) -> float | None:
    """Seconds until *check()* held, or None when *within* seconds passed first."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > within:
            return None
        await asyncio.sleep(every)
    return time.monotonic() - started


def _journal_keys(connection: Connection) -> list[str]:
    return list(connection.scalars(select(JournalRow.key)))


async def journal_entries(database: str) -> list[JournalEntry]:
    async with Store.open(database) as store:
        deadline = time.monotonic() + 30
        # The answer goes out just before the journal records it: poll, with a deadline.
        while await store.journal.pending_count() and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.1)
        keys = await store.database.read(_journal_keys)
        entries = [await store.journal.get(key) for key in keys]
    return [entry for entry in entries if entry is not None]


def compare(
    w: World, figures: Figures, channels: Sequence[str], entries: list[JournalEntry]
) -> None:
    """Journal, emulator and channels: one room and one answer per command, and no others."""
    posted = w.rooms_by_channel()
    state = w.emulator.state
    ours = [e for e in entries if e.channel_id in set(channels)]
    figures.commands = len(channels)
    figures.rooms = len({e.room_id for e in ours if e.room_id})
    answered_twice = sum(1 for c in channels if len(posted.get(c, [])) > 1)
    figures.lost = sum(1 for c in channels if not posted.get(c))
    extra_rooms = state.rooms_created - figures.rooms - figures.notes.count("warm-up")
    figures.duplicates = answered_twice + max(0, extra_rooms)
    figures.check(answered_twice == 0, f"{answered_twice} channels told of their room twice")
    figures.check(extra_rooms <= 0, f"{extra_rooms} rooms in ACS beyond one per command")
    mismatched = sum(
        1
        for e in ours
        if e.room_id is None
        or state.repeatability.get(e.key) is None
        or state.repeatability[e.key].room_id != e.room_id
        or posted.get(e.channel_id, [None])[0] != e.room_id
    )
    unfinished = sum(1 for e in ours if e.state is not JournalState.ANSWERED)
    figures.check(len(ours) == len(channels), f"{len(ours)} journal entries for {len(channels)}")
    figures.check(figures.lost == 0, f"{figures.lost} commands never answered")
    figures.check(mismatched == 0, f"{mismatched} journal/emulator/channel disagreements")
    figures.check(unfinished == 0, f"{unfinished} journal entries unfinished")


def check_acks(figures: Figures, acks: Sequence[Ack], expect: str = "Creating your room") -> None:
    figures.acks += [ack.seconds for ack in acks]
    bad = [ack for ack in acks if ack.status != 200 or expect not in ack.text]
    figures.check(not bad, f"{len(bad)} acks not '{expect}' (first: {bad[:1]})")
    if figures.p99 is not None:
        figures.check(figures.p99 < ACK_LIMIT, f"ack p99 {figures.p99:.2f} s over {ACK_LIMIT} s")


def check_log(figures: Figures, *bots: ServeProcess, expected: str | None = None) -> None:
    """No error in the log; with *expected*, only ERROR lines containing it (their
    tracebacks then too)."""
    lines = [line for bot in bots for line in bot.log]
    if expected is None:
        errors = [line for line in lines if " ERROR " in line or "Traceback" in line]
    else:
        errors = [line for line in lines if " ERROR " in line and expected not in line]
    figures.check(not errors, f"{len(errors)} errors in the bot's log (first: {errors[:1]})")


# --- scenarios ------------------------------------------------------------------------------


async def faults(args: argparse.Namespace) -> Figures:
    """N creates at C concurrent, 20% of ACS calls failing, Slack answering 429 now and then."""
    figures = Figures("faults")
    count = args.commands
    async with world(seed=args.seed) as w:
        database = f"sqlite+aiosqlite:///{w.workdir}/faults.db"
        channels = w.channels("F", count)
        async with serving(w.env(database)) as bot:
            w.slack.fail_next("users.info", status=429, retry_after=1)  # the first zone look-up
            warm = w.channels("WARM", 1)[0]  # the user's ACS identity, made once, fault-free
            await send_all(w, bot, [(warm, "create tomorrow")], concurrency=1)
            await wait_until(lambda: bool(w.rooms_by_channel().get(warm)), within=30)
            figures.notes.append("warm-up")
            w.emulator.set_faults(fault_rate=args.fault_rate)

            async def slack_429_now_and_then() -> None:
                step = max(count // 10, 1)
                for after in range(step, count, step):
                    await w.slack.wait_for(
                        lambda s, n=after: len(s.calls_to("chat.postMessage")) >= n or None,  # type: ignore[misc]
                        timeout=600,
                    )
                    w.slack.fail_next("chat.postMessage", status=429, retry_after=1)

            injector = asyncio.create_task(slack_429_now_and_then())
            started = time.monotonic()
            acks = await send_all(
                w,
                bot,
                [(c, "create tomorrow 9am-5pm") for c in channels],
                concurrency=args.concurrency,
            )
            done = await wait_until(lambda: w.all_answered(channels), within=600, every=0.5)
            figures.seconds = time.monotonic() - started
            injector.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await injector
            entries = await journal_entries(database)  # before the bot stops
            check_log(figures, bot)
        check_acks(figures, acks)
        compare(w, figures, channels, entries)
        state = w.emulator.state
        limited = len([c for c in w.slack.calls if c.status == 429])
        delayed = w.ephemerals_by_channel("taking longer")
        figures.notes = [
            f"all answered {done:.1f} s after the first command" if done else "not all answered",
            f"ACS: {state.create_requests - 1} create requests, faults {dict(state.faults)}, "
            f"{state.replays} lost answers replayed",
            f"Slack: {limited} answers 429 met and retried",
            f"'taking longer' notes: {sum(delayed.values())}",
        ]
    return figures


async def outage(args: argparse.Namespace) -> Figures:
    """ACS down (its port closed) for S seconds; commands arrive during the first third."""
    figures = Figures("outage")
    count = args.outage_commands
    async with world(seed=args.seed) as w:
        database = f"sqlite+aiosqlite:///{w.workdir}/outage.db"
        channels = w.channels("O", count)
        async with serving(w.env(database)) as bot:
            await w.emulator.close()  # connection refused from now on
            down_at, down_wall = time.monotonic(), time.time()
            spacing = args.outage / 3 / count
            acks: list[Ack] = []
            for index, channel in enumerate(channels):
                await asyncio.sleep(max(0.0, down_at + index * spacing - time.monotonic()))
                acks += await send_all(w, bot, [(channel, "create tomorrow")], concurrency=1)
            await asyncio.sleep(max(0.0, down_at + args.outage - time.monotonic()))
            told = w.ephemerals_by_channel("taking longer")
            first_told = min(
                (float(e.ts) - down_wall for e in w.slack.ephemerals if "taking longer" in e.text),
                default=None,
            )
            made_while_down = w.emulator.state.rooms_created
            await w.emulator.start()  # the same port, the same state
            figures.recovery = await wait_until(
                lambda: w.all_answered(channels), within=300, every=0.2
            )
            figures.seconds = time.monotonic() - down_at
            entries = await journal_entries(database)  # before the bot stops
            check_log(figures, bot)
        check_acks(figures, acks)
        compare(w, figures, channels, entries)
        told_after = w.ephemerals_by_channel("taking longer")
        figures.check(made_while_down == 0, f"{made_while_down} rooms made while ACS was down")
        figures.check(
            figures.recovery is not None, "not every command finished after ACS came back"
        )
        untold = [c for c in channels if not told.get(c)]
        figures.check(not untold, f"{len(untold)} of {count} not told of the delay during it")
        twice = [c for c, n in told_after.items() if n > 1]
        figures.check(not twice, f"{len(twice)} told of the delay more than once")
        figures.notes = [
            f"ACS down {args.outage:.0f} s (connection refused); {count} commands in its "
            f"first {args.outage / 3:.0f} s",
            f"told of the delay while ACS was down: {len(told)}/{count} "
            f"(the first {first_told:.1f} s into the outage)"
            if first_told is not None
            else "nobody told of the delay while ACS was down",
        ]
    return figures


async def crash(args: argparse.Namespace) -> Figures:
    """SIGKILL with N commands in flight (some done, some half done), then restart."""
    figures = Figures("crash")
    count = args.crash_commands
    async with world(seed=args.seed, latency_ms=args.crash_latency_ms) as w:
        database = f"sqlite+aiosqlite:///{w.workdir}/crash.db"
        channels = w.channels("K", count)
        env = w.env(database)
        async with serving(env) as first:
            w.emulator.set_faults(fault_rate=0.1)
            sending = asyncio.create_task(
                send_all(w, first, [(c, "create tomorrow") for c in channels], concurrency=50)
            )
            acks = await sending
            # Kill once some are answered and the rest are anywhere between accepted and posted.
            await wait_until(lambda: len(w.rooms_by_channel()) >= count // 4, within=60, every=0.01)
            answered_before = len(w.rooms_by_channel())
            first.kill()
            await first.process.wait()
            check_log(figures, first)
        restart = time.monotonic()
        async with serving(env) as second:
            serving_after = time.monotonic() - restart
            done = await wait_until(lambda: w.all_answered(channels), within=120, every=0.1)
            figures.recovery = None if done is None else time.monotonic() - restart
            entries = await journal_entries(database)  # before the bot stops
            check_log(figures, second)
        check_acks(figures, acks)
        compare(w, figures, channels, entries)
        figures.notes = [
            f"killed with {count - answered_before} of {count} unanswered "
            f"(ACS latency {args.crash_latency_ms} ms, 10% faults)",
            f"restarted and serving in {serving_after:.1f} s",
        ]
    return figures


@contextlib.asynccontextmanager
async def postgres_schema() -> AsyncIterator[str | None]:
    schema = f"roombot_soak_{uuid.uuid4().hex[:12]}"
    engine = create_async_engine(
        POSTGRES_URL, isolation_level="AUTOCOMMIT", connect_args={"timeout": 5}
    )
    try:
        async with engine.connect() as connection:
            await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except (OSError, SQLAlchemyError, TimeoutError) as exc:
        print(f"  (PostgreSQL unreachable: {type(exc).__name__}; skipping)", flush=True)
        await engine.dispose()
        yield None
        return
    try:
        url = make_url(POSTGRES_URL).update_query_dict({"search_path": schema})
        yield url.render_as_string(hide_password=False)
    finally:
        async with engine.connect() as connection:
            await connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        await engine.dispose()


async def replicas(args: argparse.Namespace) -> Figures:
    """Two replicas on PostgreSQL, N commands split between them, one SIGKILLed mid-work."""
    figures = Figures("replicas")
    count = args.crash_commands
    async with postgres_schema() as database, world(seed=args.seed, latency_ms=2000) as w:
        if database is None:
            figures.notes.append("skipped: no PostgreSQL")
            return figures
        channels = w.channels("R", count)
        env = w.env(database, ROOMBOT_WORKER_LEASE_SECONDS="2")
        async with serving(env) as a, serving(env) as b:
            half = count // 2
            acks = await asyncio.gather(
                send_all(w, a, [(c, "create tomorrow") for c in channels[:half]], concurrency=25),
                send_all(w, b, [(c, "create tomorrow") for c in channels[half:]], concurrency=25),
            )
            in_flight = count - len(w.rooms_by_channel())
            a.kill()
            await a.process.wait()
            killed = time.monotonic()
            w.emulator.set_faults(latency_ms=0)
            done = await wait_until(lambda: w.all_answered(channels), within=120, every=0.1)
            figures.recovery = None if done is None else time.monotonic() - killed
            entries = await journal_entries(database)  # before the bot stops
            check_log(figures, a, b)
        check_acks(figures, [ack for batch in acks for ack in batch])
        compare(w, figures, channels, entries)
        figures.notes = [
            f"replica A killed with {in_flight} of {count} in flight (ACS latency 2 s); "
            "lease 2 s; B finished everything",
        ]
    return figures


async def hostile(args: argparse.Namespace) -> Figures:
    """N Hypothesis-generated command texts; plus forged, stale, unsigned and replayed requests."""
    figures = Figures("hostile")
    texts = generate(args.texts, base_seed=args.seed)
    async with world(seed=args.seed) as w:
        database = f"sqlite+aiosqlite:///{w.workdir}/hostile.db"
        channels = w.channels("H", len(texts))
        kinds: dict[str, int] = {}
        unclear: list[str] = []
        accepted: list[str] = []

        def judge(channel: str, words: str, ack: Ack) -> None:
            try:
                verdict = judge_ack(ack.status, ack.body, ack.text)
            except AssertionError as exc:
                unclear.append(f"{words[:80]!r}: {exc}")
                return
            kinds[verdict.kind] = kinds.get(verdict.kind, 0) + 1
            if verdict.kind == "accepted":
                accepted.append(channel)

        async with serving(w.env(database)) as bot:
            started = time.monotonic()
            acks = await send_all(
                w,
                bot,
                list(zip(channels, texts, strict=True)),
                concurrency=args.concurrency,
                on_ack=judge,
            )
            forged = await forgeries(w, bot, w.channels("X", 1)[0])

            def answered() -> bool:
                rooms = w.rooms_by_channel()
                refused = w.ephemerals_by_channel(":warning:")
                return all(rooms.get(c) or refused.get(c) for c in accepted)

            done = await wait_until(answered, within=600, every=0.5)
            figures.seconds = time.monotonic() - started
            entries = await journal_entries(database)  # before the bot stops
            check_log(figures, bot)
        figures.acks = [ack.seconds for ack in acks]
        figures.commands = len(texts)
        rooms = w.rooms_by_channel()
        refused = w.ephemerals_by_channel(":warning:")
        twice = [c for c in accepted if len(rooms.get(c, [])) + refused.get(c, 0) > 1]
        figures.rooms = w.emulator.state.rooms_created
        figures.duplicates = len(twice)
        figures.lost = sum(1 for c in accepted if not rooms.get(c) and not refused.get(c))
        server_errors = sum(1 for ack in acks if ack.status >= 500)
        figures.check(server_errors == 0, f"{server_errors} answers 5xx")
        figures.check(not unclear, f"{len(unclear)} unclear answers (first: {unclear[:1]})")
        figures.check(done is not None and figures.lost == 0, f"{figures.lost} never answered")
        figures.check(not twice, f"{len(twice)} answered twice")
        journalled = len([e for e in entries if e.channel_id in set(accepted)])
        figures.check(journalled == len(accepted), "journal entries != accepted commands")
        if figures.p99 is not None:
            figures.check(figures.p99 < ACK_LIMIT, f"ack p99 {figures.p99:.2f} s")
        statuses = {name: sorted(set(codes)) for name, codes in forged.items()}
        figures.check(
            all(codes == [401] for codes in statuses.values()), f"forgeries answered {statuses}"
        )
        figures.notes = [
            "answers: " + ", ".join(f"{kind} {n}" for kind, n in sorted(kinds.items())),
            f"accepted then refused later: {sum(1 for c in accepted if refused.get(c))}",
            "forged/stale/unsigned/replayed requests: "
            + ", ".join(f"{name} {len(forged[name])}x -> {statuses[name]}" for name in forged),
        ]
    return figures


async def forgeries(w: World, bot: ServeProcess, channel: str) -> dict[str, list[int]]:
    """Requests that must all be refused with 401; their statuses by kind."""
    body = (
        f"team_id={TEAM}&channel_id={channel}&user_id={ME}&command=%2Froom&text=create+tomorrow"
        f"&response_url={w.slack.new_response_url(channel, ME)}"
    )
    now = int(time.time())
    replayed_stamp = str(now)
    replayed = {
        "Content-Type": FORM,
        "X-Slack-Request-Timestamp": replayed_stamp,
        "X-Slack-Signature": slack_signature(w.secret, replayed_stamp, body),
    }
    async with w.http.post(bot.url + "/slack/events", data=body, headers=replayed) as first:
        await first.read()  # the original: accepted; its copies below must not be
    kinds: dict[str, Callable[[int], dict[str, str]]] = {
        "wrong secret": lambda i: {
            "Content-Type": FORM,
            "X-Slack-Request-Timestamp": str(now),
            "X-Slack-Signature": slack_signature(f"guess-{i}", str(now), body),
        },
        "stale (301 s)": lambda i: {
            "Content-Type": FORM,
            "X-Slack-Request-Timestamp": str(now - 301),
            "X-Slack-Signature": slack_signature(w.secret, str(now - 301), body),
        },
        "unsigned": lambda i: {"Content-Type": FORM},
        "replayed": lambda i: replayed,
    }
    statuses: dict[str, list[int]] = {}
    for name, headers in kinds.items():
        for index in range(250):
            async with w.http.post(
                bot.url + "/slack/events", data=body, headers=headers(index)
            ) as response:
                statuses.setdefault(name, []).append(response.status)
    return statuses


# --- failure modes (issue 11): every failure ends, and the person hears -------------------

UNUSABLE_ANSWERS: list[dict[str, Any]] = [
    {"tz": 5},
    {"tz": "A" * 300},
    {"tz": ["Europe/Paris"]},
    {"tz": "Europe/" + "Paris/" * 60},
    {"locale": 7},
    {"locale": "en-" + "x" * 300},
    {"tz": None, "locale": {"a": 1}},
]


def told_at(w: World, channel: str, user: str = ME) -> float | None:
    """Wall time of the first message that ended *channel*'s command: its room card there, a
    refusal there, or a direct message naming the channel."""
    times = [
        float(m.ts)
        for m in w.slack.messages
        if m.channel == channel and ROOM_ID.search(json.dumps(m.blocks))
    ]
    times += [
        float(e.ts) for e in w.slack.ephemerals if e.channel == channel and ":warning:" in e.text
    ]
    times += [float(m.ts) for m in w.slack.direct_messages(user) if f"<#{channel}>" in m.text]
    return min(times, default=None)


def endings(w: World, channel: str, user: str = ME) -> int:
    """How many messages ended *channel*'s command (more than one: told twice)."""
    cards = len(w.rooms_by_channel().get(channel, []))
    refusals = sum(1 for e in w.slack.ephemerals if e.channel == channel and ":warning:" in e.text)
    direct = sum(1 for m in w.slack.direct_messages(user) if f"<#{channel}>" in m.text)
    return cards + refusals + direct


async def failure_mode(
    args: argparse.Namespace,
    name: str,
    commands: Sequence[tuple[str, str, str]],
    *,
    prepare: Callable[[World], None] | None = None,
    before_send: Callable[[World, str, str], str | None] | None = None,
    during: Callable[[World], Coroutine[Any, Any, None]] | None = None,
    expect_ack: str = "Creating your room",
    rooms: int | None = None,
    expected_errors: str | None = None,
    postgres: bool = False,
    within: float = 180.0,
    report: Callable[[World, Figures], None] | None = None,
) -> Figures:
    """Send *commands* (channel, user, text), each in its own channel, to `roombot serve` and
    measure how each ended: told how long after its ack, after how many attempts.

    *before_send(world, channel, user)* may return the response_url to use (e.g. expired);
    *rooms* is how many rooms ACS should hold at the end (default: one per command).
    """
    figures = Figures(name)
    async with contextlib.AsyncExitStack() as stack:
        w = await stack.enter_async_context(world(seed=args.seed))
        if postgres:
            database = await stack.enter_async_context(postgres_schema())
            if database is None:
                figures.notes.append("skipped: no PostgreSQL")
                return figures
        else:
            database = f"sqlite+aiosqlite:///{w.workdir}/{name}.db"
        channels = [channel for channel, _, _ in commands]
        for channel, user, _ in commands:
            if channel not in w.slack.channels:
                w.slack.add_channel(channel, channel.lower())
            if user not in w.slack.users:
                w.slack.add_user(user, user.lower())
        if prepare is not None:
            prepare(w)
        acked: dict[str, float] = {}
        acks: list[Ack] = []
        async with serving(w.env(database)) as bot:
            gate = asyncio.Semaphore(args.concurrency)

            async def one(channel: str, user: str, words: str) -> None:
                async with gate:
                    url = before_send(w, channel, user) if before_send is not None else None
                    ack = await bot.command(
                        w.http, w.slack, words, channel=channel, user=user, response_url=url
                    )
                acked[channel] = time.time() - ack.seconds
                acks.append(ack)

            started = time.monotonic()
            side = asyncio.create_task(during(w)) if during is not None else None
            await asyncio.gather(*(one(*command) for command in commands))
            at_ack = expect_ack != "Creating your room"  # refused in the ack itself

            def ended() -> bool:
                return at_ack or all(
                    told_at(w, c, u) is not None for c, u, _ in commands if c in acked
                )

            done = await wait_until(ended, within=within, every=0.5)
            figures.seconds = time.monotonic() - started
            if side is not None:
                await side
            entries = await journal_entries(database)  # before the bot stops
            check_log(figures, bot, expected=expected_errors)
        check_acks(figures, acks, expect=expect_ack)
        figures.commands = len(commands)
        figures.rooms = w.emulator.state.rooms_created
        want_rooms = len(commands) if rooms is None else rooms
        ours = [e for e in entries if e.channel_id in set(channels)]
        if at_ack:
            figures.told = [ack.seconds for ack in acks]
            figures.lost = sum(1 for ack in acks if expect_ack not in ack.text)
            figures.check(not ours, f"{len(ours)} refused commands journalled")
        else:
            for channel, user, _ in commands:
                moment = told_at(w, channel, user)
                if moment is not None:
                    figures.told.append(moment - acked[channel])
            figures.lost = len(commands) - len(figures.told)
            twice = sum(1 for c, u, _ in commands if endings(w, c, u) > 1)
            figures.duplicates = twice + max(0, figures.rooms - want_rooms)
            figures.attempts = [e.attempts for e in ours]
            unfinished = sum(1 for e in ours if e.state is not JournalState.ANSWERED)
            figures.check(len(ours) == len(commands), f"{len(ours)} journal entries")
            figures.check(unfinished == 0, f"{unfinished} journal entries unfinished")
            figures.check(twice == 0, f"{twice} commands ended twice")
        figures.check(done is not None and figures.lost == 0, f"{figures.lost} never told")
        figures.check(figures.rooms == want_rooms, f"{figures.rooms} rooms, not {want_rooms}")
        if figures.told:
            figures.notes.append(
                f"told after p50 {percentile(figures.told, 0.5):.1f} s, "
                f"max {max(figures.told):.1f} s"
                + (f"; attempts max {max(figures.attempts)}" if figures.attempts else "")
                + (f"; failures {sum(e.failures for e in ours)}" if ours else "")
            )
        figures.notes.append(f"identities made in ACS: {len(w.emulator.state.identities)}")
        if report is not None:
            report(w, figures)
    return figures


async def zones(args: argparse.Namespace) -> Figures:
    """Users whose users.info zone or locale is no usable string: read in UTC at once."""
    count = args.failure_commands
    users = [f"U0Z{i:05d}" for i in range(count)]

    def prepare(w: World) -> None:
        for index, user in enumerate(users):
            w.slack.override_user(user, **UNUSABLE_ANSWERS[index % len(UNUSABLE_ANSWERS)])

    commands = [(f"C0Z{i:05d}", user, "create tomorrow 9am-10am") for i, user in enumerate(users)]
    figures = await failure_mode(args, "zones", commands, prepare=prepare)
    figures.check(all(n == 1 for n in figures.attempts), "a command needed a second attempt")
    return figures


async def strangers(args: argparse.Namespace) -> Figures:
    """Mentions of roombot itself, another bot and a guest of another workspace: refused by name."""
    count = args.failure_commands

    def prepare(w: World) -> None:
        w.slack.add_user("U0ROBOT", "robot", is_bot=True)
        w.slack.add_user("U0GUEST", "guest", team_id="T0OTHER")

    mentions = ["<@U0LOCALBOT|roombot>", "<@U0ROBOT|robot>", "<@U0GUEST|guest>"]
    commands = [
        (f"C0S{i:05d}", ME, f"create tomorrow {mentions[i % 3]} presenter") for i in range(count)
    ]
    figures = await failure_mode(args, "strangers", commands, prepare=prepare, rooms=0)
    figures.check(
        all(n == 1 for n in figures.attempts), "a refused command needed a second attempt"
    )
    return figures


async def slack_503(args: argparse.Namespace) -> Figures:
    """users.info answers a text/plain 503 for S seconds: a delay each person hears of."""
    count = args.failure_commands
    commands = [(f"C0T{i:05d}", f"U0T{i:05d}", "create tomorrow") for i in range(count)]

    def prepare(w: World) -> None:
        w.slack.fail_next(
            "users.info", status=503, plain_text="upstream connect error", times=10**6
        )

    async def recover(w: World) -> None:
        await asyncio.sleep(args.slack_outage)
        w.slack.clear_faults("users.info")

    def report(w: World, figures: Figures) -> None:
        told = w.ephemerals_by_channel("taking longer")
        untold = sum(1 for channel, _, _ in commands if told.get(channel) != 1)
        figures.check(untold == 0, f"{untold} not told of the delay exactly once")
        figures.notes.append(
            f"users.info answered text/plain 503 for {args.slack_outage:.0f} s "
            f"({sum(1 for c in w.slack.calls if c.method == 'users.info' and c.status == 503)} "
            f"times); told of the delay: {len(told)}/{len(commands)}"
        )

    return await failure_mode(
        args, "slack 503", commands, prepare=prepare, during=recover, report=report
    )


async def gone(args: argparse.Namespace) -> Figures:
    """The channel is deleted and the response_url expired before the bot answers: the room
    goes to the person by direct message, at the first attempt."""
    count = args.failure_commands
    commands = [(f"C0G{i:05d}", ME, "create tomorrow") for i in range(count)]

    def before_send(w: World, channel: str, user: str) -> str:
        url = w.slack.new_response_url(channel, user)
        w.slack.expire_response_url(url)
        w.slack.remove_channel(channel)
        return url

    figures = await failure_mode(args, "channel gone", commands, before_send=before_send)
    figures.check(all(n == 1 for n in figures.attempts), "a command needed a second attempt")
    return figures


async def stuck(args: argparse.Namespace) -> Figures:
    """Slack answers `internal_error` to every post in the channel, the response_url has
    expired: retried with backoff, given up after 5 attempts, the room sent by DM."""
    count = max(args.failure_commands // 5, 1)
    commands = [(f"C0U{i:05d}", ME, "create tomorrow") for i in range(count)]

    def before_send(w: World, channel: str, user: str) -> str:
        url = w.slack.new_response_url(channel, user)
        w.slack.expire_response_url(url)
        w.slack.fail_in_channel(channel, "internal_error")
        return url

    return await failure_mode(
        args, "answer refused", commands, before_send=before_send, expected_errors="giving up"
    )


async def long_ids(args: argparse.Namespace) -> Figures:
    """Mentions of Slack ids longer than their columns, on PostgreSQL: refused in the ack."""
    count = args.failure_commands
    commands = [
        (f"C0L{i:05d}", ME, f"create tomorrow <@U{i:040d}|long> presenter") for i in range(count)
    ]
    return await failure_mode(
        args,
        "long ids",
        commands,
        expect_ack="is not a Slack user id I can use",
        rooms=0,
        postgres=True,
    )


SCENARIOS: dict[str, Callable[[argparse.Namespace], Awaitable[Figures]]] = {
    "faults": faults,
    "outage": outage,
    "crash": crash,
    "replicas": replicas,
    "hostile": hostile,
    "zones": zones,
    "strangers": strangers,
    "slack503": slack_503,
    "gone": gone,
    "stuck": stuck,
    "longids": long_ids,
}


def table(results: Sequence[Figures]) -> str:
    def ms(value: float | None) -> str:
        return "–" if value is None else f"{value * 1000:.0f} ms"

    lines = [
        "| scenario | commands | rooms | duplicates | lost | ack p50 | ack p99 | recovery "
        "| told after (max) | attempts (max) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for f in results:
        recovery = "–" if f.recovery is None else f"{f.recovery:.1f} s"
        told = "–" if not f.told else f"{max(f.told):.1f} s"
        attempts = "–" if not f.attempts else str(max(f.attempts))
        lines.append(
            f"| {f.scenario} | {f.commands:,} | {f.rooms:,} | {f.duplicates} | {f.lost} "
            f"| {ms(f.p50)} | {ms(f.p99)} | {recovery} | {told} | {attempts} |"
        )
    return "\n".join(lines)


async def run(args: argparse.Namespace) -> int:
    results: list[Figures] = []
    for name in args.scenarios or list(SCENARIOS):
        print(f"== {name}", flush=True)
        started = time.monotonic()
        figures = await SCENARIOS[name](args)
        figures.seconds = figures.seconds or time.monotonic() - started
        results.append(figures)
        for note in figures.notes:
            if note != "warm-up":
                print(f"   {note}", flush=True)
        for promise in figures.broken:
            print(f"   BROKEN: {promise}", flush=True)
        print(f"   ({time.monotonic() - started:.0f} s)", flush=True)
    print()
    print(table(results))
    broken = [f.scenario for f in results if f.broken]
    print("\nevery promise kept" if not broken else f"\nbroken promises in: {', '.join(broken)}")
    return 1 if broken else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("scenarios", nargs="*", metavar="SCENARIO", help=", ".join(SCENARIOS))
    parser.add_argument("--commands", type=int, default=1000, help="faults: commands (1000)")
    parser.add_argument("--concurrency", type=int, default=50, help="in flight at once (50)")
    parser.add_argument("--fault-rate", type=float, default=0.2, help="faults: ACS (0.2)")
    parser.add_argument("--outage", type=float, default=30.0, help="seconds ACS is down (30)")
    parser.add_argument("--outage-commands", type=int, default=100, help="sent meanwhile (100)")
    parser.add_argument("--crash-commands", type=int, default=100, help="in flight (100)")
    parser.add_argument("--crash-latency-ms", type=int, default=300, help="ACS latency (300)")
    parser.add_argument("--texts", type=int, default=10_000, help="hostile texts (10,000)")
    parser.add_argument("--seed", type=int, default=7, help="faults and texts (7)")
    parser.add_argument(
        "--failure-commands", type=int, default=50, help="per failure mode (50; stuck: a fifth)"
    )
    parser.add_argument(
        "--slack-outage", type=float, default=10.0, help="seconds users.info answers 503 (10)"
    )
    args = parser.parse_args(argv)
    unknown = [name for name in args.scenarios if name not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario {unknown[0]!r}; choose from {', '.join(SCENARIOS)}")
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    # The emulator and fake Slack run here: a killed replica's requests, cut mid-way, make
    # aiohttp log "Error handling request" tracebacks that are the point, not a problem.
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
