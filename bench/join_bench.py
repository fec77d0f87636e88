"""Benchmark 6: Join, from the click to the personal link, and the link's token, against the
bare ACS token call.

`roombot serve` (SQLite) and the ACS emulator (`--latency-ms 100`, about what an Identity call
takes from a nearby region) run as child processes; the fake Slack runs in this process, so
the moment the link is posted is seen as it happens. One room holds 50 people; in each round:

- click: a signed Join press (`block_actions`) by each person in turn, one at a time, timed
  from the POST to the fake Slack recording the ephemeral personal link (after the ack:
  mint a code, store its hash, post);
- token: `POST {link}/token` for each of those links, one at a time (consume the code,
  check the room, ask ACS for a voip token, answer JSON);
- bare: the same number of bare signed `:issueAccessToken` calls (`bench.bare_acs`), the
  floor under any token service, on the same emulator in the same round.

Figures are medians over the rounds of each round's p50 and p99. Goals: the token round trip
within 1.25x of the bare call at p50 (what roombot adds is one conditional UPDATE, one read
and the HTTP hop), and a click answered faster than one ACS call.

Run alone: ``python -m bench.join_bench [--quick]``.
"""

from __future__ import annotations

import json
import re
import time
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

from bench import common
from bench.common import Result, Row, children, free_port, median, percentile
from bot.local.fake_slack import FakeSlack

LATENCY_MS = 100
PEOPLE = tuple(f"U0JOIN{n:03d}" for n in range(50))
CHANNEL = "C0JOINBENCH"
LINK = re.compile(r"(https?://[^\s|>\"]+/join/[\w-]+)")


def _press(fake: FakeSlack, room_id: str, user: str) -> str:
    payload = {
        "type": "block_actions",
        "team": {"id": fake.team_id, "domain": "bench"},
        "user": {"id": user, "team_id": fake.team_id, "name": user.lower()},
        "api_app_id": "A0BENCH",
        "channel": {"id": CHANNEL, "name": "join-bench"},
        "container": {"type": "message", "channel_id": CHANNEL},
        "trigger_id": fake.issue_trigger_id(),
        "response_url": fake.new_response_url(CHANNEL, user),
        "actions": [
            {
                "type": "button",
                "action_id": "room_join",
                "block_id": f"room:{room_id}",
                "value": room_id,
                "action_ts": str(time.time()),
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)})


def _headers(secret: str, body: str) -> dict[str, str]:
    stamp = str(int(time.time()))
    signature = SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body)
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature or "",
    }


async def run(*, quick: bool = False) -> Result:

    from bench.bare_acs import BareTokens
    from bot.acs.connection import parse_connection_string
    from bot.store.store import Store

    rounds = 2 if quick else 4
    per_round = 25 if quick else 50  # each person clicks once a round: within the rate limit
    figures: dict[str, list[float]] = {}
    async with children() as kids, FakeSlack(team_id="T0BENCH") as fake:
        for n, user in enumerate(PEOPLE):
            fake.add_user(user, user.lower(), tz=common.ZONES[n % len(common.ZONES)])
        fake.add_user("U0BENCHME", "me", tz="Europe/London")
        fake.add_channel(CHANNEL, "join-bench")
        _emulator, connection = await kids.emulator(latency_ms=LATENCY_MS)
        port = free_port()
        database, path = kids.database("join")
        secret = common.new_signing_secret()
        env = {
            "SLACK_BOT_TOKEN": fake.bot_token,
            "SLACK_SIGNING_SECRET": secret,
            "SLACK_API_URL": fake.api_url,
            "ACS_CONNECTION_STRING": connection,
            "DATABASE_URL": database,
            "ROOMBOT_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "PYTHONUNBUFFERED": "1",
        }
        server = await kids.server("roombot", common.serve_argv(port), env=env, port=port)
        async with common.client_session() as http:
            mentions = " ".join(f"<@{user}|{user.lower()}>" for user in PEOPLE)
            body = urlencode(
                {
                    "team_id": fake.team_id,
                    "channel_id": CHANNEL,
                    "user_id": "U0BENCHME",
                    "command": "/room",
                    "text": f"create now for 8 hours {mentions}",
                    "response_url": fake.new_response_url(CHANNEL, "U0BENCHME"),
                }
            )
            async with http.post(server.events_url, data=body, headers=_headers(secret, body)):
                pass
            card = await fake.wait_for(lambda f: f.messages[-1] if f.messages else None, timeout=60)
            found = re.search(r"`(\d{17})`", json.dumps(card.blocks))
            assert found, card.blocks
            room_id = found.group(1)
            async with Store.open(database) as store:
                room = await store.rooms.get(room_id)
            assert room is not None
            raw_ids = [p.acs_raw_id for p in room.participants]
            bare = BareTokens(parse_connection_string(connection), http)
            for _ in range(5):  # warm every path once
                await bare.issue(raw_ids[0])
            for number in range(rounds):
                clicks, tokens, bares, links = [], [], [], []
                for user in PEOPLE[:per_round]:
                    before = len(fake.ephemerals)
                    press = _press(fake, room_id, user)
                    started = time.perf_counter()
                    async with http.post(
                        server.events_url, data=press, headers=_headers(secret, press)
                    ) as response:
                        assert response.status == 200
                    note = await fake.wait_for(
                        lambda f, n=before: f.ephemerals[n] if len(f.ephemerals) > n else None,
                        timeout=30,
                    )
                    clicks.append((time.perf_counter() - started) * 1000)
                    link = LINK.search(json.dumps(note.blocks))
                    assert link, note.blocks
                    links.append(link.group(1))
                for link_url in links:
                    started = time.perf_counter()
                    async with http.post(link_url + "/token") as response:
                        await response.read()
                        assert response.status == 200, response.status
                    tokens.append((time.perf_counter() - started) * 1000)
                for index in range(len(links)):
                    started = time.perf_counter()
                    await bare.issue(raw_ids[index % len(raw_ids)])
                    bares.append((time.perf_counter() - started) * 1000)
                for name, samples in (("click", clicks), ("token", tokens), ("bare", bares)):
                    for q in (50, 99):
                        figures.setdefault(f"{name} p{q}", []).append(percentile(samples, q))
                print(f"   join round {number + 1}/{rounds} done", flush=True)
        del path
    m = {name: median(values) for name, values in figures.items()}
    bare_name = f"bare signed :issueAccessToken (emulator {LATENCY_MS} ms)"
    rows = [
        Row(
            "6 join",
            "click to link posted p50",
            m["click p50"],
            m["bare p50"],
            "ms",
            bare_name,
            "< 1x",
            m["click p50"] < m["bare p50"],
        ),
        Row("6 join", "click to link posted p99", m["click p99"], m["bare p99"], "ms", bare_name),
        Row(
            "6 join",
            "POST …/token p50",
            m["token p50"],
            m["bare p50"],
            "ms",
            bare_name,
            "<= 1.25x",
            m["token p50"] <= 1.25 * m["bare p50"],
        ),
        Row("6 join", "POST …/token p99", m["token p99"], m["bare p99"], "ms", bare_name),
    ]
    notes = [
        f"{rounds} rounds; in each, {per_round} Join presses one at a time (each by another "
        f"person of a 50-person room), then a token for each link, then as many bare token "
        f"calls; the emulator answers every call after {LATENCY_MS} ms.",
        "A click involves no ACS call (the identity was made with the room): its time is the "
        "ack, minting and storing the code's hash, and posting the ephemeral link.",
    ]
    return Result(
        source="bench/join_bench.py",
        name="join",
        title=f"6. Join: click to personal link, and the link's token (emulator {LATENCY_MS} ms)",
        rows=rows,
        rounds=figures,
        notes=notes,
    )


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description="benchmark 6: Join click and token")
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    args = parser.parse_args()
    from bench.report import print_table

    print_table([common.run(run(quick=args.quick))])


if __name__ == "__main__":
    main()
