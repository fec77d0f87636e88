"""The identity directory, and the service creating identities through it, against the ACS
emulator through the real IdentityClient, on both backends."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest

from bot.acs.client import IdentityClient
from bot.acs.errors import AcsError
from bot.acs.models import CommunicationIdentity
from bot.domain import IdentityMapping, IdentitySource, ImportReport, ImportRow
from bot.local.emulator import EmulatorServer
from bot.service.identities import KNOWN_FOR, UserIdentities
from bot.service.ports import AcsIdentities
from bot.store import ImportRejected, Store
from tests.store.helpers import (
    NOW,
    deleted_identities,
    live_identities,
    unreachable_identity_client,
)


def identities(store: Store, acs: AcsIdentities) -> UserIdentities:
    """The service's identities over *store*: one per store and ACS client, as in a replica."""
    made: dict[int, UserIdentities] = store.__dict__.setdefault("_test_identities", {})
    if id(acs) not in made:
        made[id(acs)] = UserIdentities(store.identities, acs)
    return made[id(acs)]


class MeetAtCreate:
    """The real client, but each create waits until *parties* creates have returned.

    This pins the interleaving the test is about (two replicas both miss the row, both create
    an identity, then both insert) instead of hoping the scheduler produces it.
    """

    def __init__(self, client: IdentityClient, barrier: asyncio.Barrier) -> None:
        self._client = client
        self._barrier = barrier

    async def create_user(self) -> CommunicationIdentity:
        identity = await self._client.create_user()
        async with asyncio.timeout(5):
            await self._barrier.wait()
        return identity

    async def delete_user(self, raw_id: str) -> None:
        await self._client.delete_user(raw_id)


async def test_first_mention_creates_an_identity_and_later_ones_reuse_it(
    store: Store, emulator: EmulatorServer, identity_client: IdentityClient
) -> None:
    """The first mention creates and stores an identity; every later one reuses it without ACS."""
    first = await identities(store, identity_client).get_or_create("T1", "U1", now=NOW)
    assert live_identities(emulator) == {first.acs_raw_id}
    assert first == IdentityMapping("T1", "U1", first.acs_raw_id, IdentitySource.PROVISIONED, NOW)

    again = await identities(store, identity_client).get_or_create(
        "T1", "U1", now=NOW + timedelta(days=1)
    )
    assert again == first
    assert len(emulator.state.identities) == 1  # no second ACS call was made
    assert await store.identities.lookup("T1", "U1") == first


async def test_the_same_user_id_in_two_workspaces_gets_two_identities(
    store: Store, emulator: EmulatorServer, identity_client: IdentityClient
) -> None:
    """The key is (team, user): the same user id in another workspace is another person."""
    one = await identities(store, identity_client).get_or_create("T1", "U1", now=NOW)
    other = await identities(store, identity_client).get_or_create("T2", "U1", now=NOW)
    assert one.acs_raw_id != other.acs_raw_id
    assert live_identities(emulator) == {one.acs_raw_id, other.acs_raw_id}


async def test_concurrent_first_mentions_in_one_process_create_one_identity(
    store: Store, emulator: EmulatorServer, identity_client: IdentityClient
) -> None:
    """Five handlers meeting the same new user at once: one row, one live identity."""
    results = await asyncio.gather(
        *(identities(store, identity_client).get_or_create("T1", "U1", now=NOW) for _ in range(5))
    )
    assert len({r.acs_raw_id for r in results}) == 1
    assert live_identities(emulator) == {results[0].acs_raw_id}
    assert deleted_identities(emulator) == set()  # the in-process lock avoided any surplus
    assert await store.identities.list() == [results[0]]


async def test_two_replicas_meeting_a_new_user_end_with_one_identity(
    database_url: str, store: Store, emulator: EmulatorServer, identity_client: IdentityClient
) -> None:
    """Both replicas create an identity; one insert wins, the loser deletes its own."""
    barrier = asyncio.Barrier(2)
    provisioner = MeetAtCreate(identity_client, barrier)
    async with Store.open(database_url) as replica:
        results = await asyncio.gather(
            identities(store, provisioner).get_or_create("T1", "U1", now=NOW),
            identities(replica, provisioner).get_or_create("T1", "U1", now=NOW),
        )
    winner = results[0].acs_raw_id
    assert results[1].acs_raw_id == winner
    assert live_identities(emulator) == {winner}
    assert len(deleted_identities(emulator)) == 1
    assert [m.acs_raw_id for m in await store.identities.list()] == [winner]


async def test_two_replicas_meeting_many_new_users_agree_on_every_one(
    database_url: str, store: Store, emulator: EmulatorServer, identity_client: IdentityClient
) -> None:
    """Same race over several users at once, through `get_or_create_many` on both sides."""
    users = [f"U{n}" for n in range(1, 6)]
    async with Store.open(database_url) as replica:
        ours, theirs = await asyncio.gather(
            identities(store, identity_client).get_or_create_many("T1", users, now=NOW),
            identities(replica, identity_client).get_or_create_many("T1", reversed(users), now=NOW),
        )
    assert list(ours) == users
    assert list(theirs) == users[::-1]
    assert {u: m.acs_raw_id for u, m in ours.items()} == {
        u: m.acs_raw_id for u, m in theirs.items()
    }
    stored = await store.identities.list("T1")
    assert [m.slack_user_id for m in stored] == users
    assert live_identities(emulator) == {m.acs_raw_id for m in stored}


async def test_get_or_create_many_reuses_known_users_and_keeps_the_order_given(
    store: Store, emulator: EmulatorServer, identity_client: IdentityClient
) -> None:
    """Known users are looked up, new ones created; the result follows the order asked for."""
    known = await identities(store, identity_client).get_or_create("T1", "U2", now=NOW)
    mappings = await identities(store, identity_client).get_or_create_many(
        "T1", ["U3", "U2", "U1", "U3"], now=NOW
    )
    assert list(mappings) == ["U3", "U2", "U1"]  # once each, first-seen order
    assert mappings["U2"] == known
    assert len(live_identities(emulator)) == 3
    assert await identities(store, identity_client).get_or_create_many("T1", [], now=NOW) == {}


async def test_a_failing_create_stores_nothing(
    store: Store, emulator: EmulatorServer, identity_client: IdentityClient
) -> None:
    """ACS unreachable: the error reaches the caller (the journal retries later); no row."""
    async with unreachable_identity_client() as down:
        with pytest.raises(AcsError):
            await identities(store, down).get_or_create("T1", "U1", now=NOW)
    assert await store.identities.lookup("T1", "U1") is None
    mapping = await identities(store, identity_client).get_or_create("T1", "U1", now=NOW)
    assert live_identities(emulator) == {mapping.acs_raw_id}


async def test_a_failing_create_among_many_keeps_the_others(
    store: Store, emulator: EmulatorServer, identity_client: IdentityClient
) -> None:
    """Every creation runs to its end before the error is raised: no identity is orphaned."""
    async with unreachable_identity_client() as down:

        class SecondCreateFails:
            calls = 0

            async def create_user(self) -> CommunicationIdentity:
                self.calls += 1
                return await (identity_client if self.calls == 1 else down).create_user()

            async def delete_user(self, raw_id: str) -> None:
                await identity_client.delete_user(raw_id)

        with pytest.raises(AcsError):
            await identities(store, SecondCreateFails()).get_or_create_many(
                "T1", ["U1", "U2"], now=NOW
            )
    stored = await store.identities.list()
    assert len(stored) == 1
    assert live_identities(emulator) == {stored[0].acs_raw_id}


async def test_a_surplus_identity_that_cannot_be_deleted_is_logged_not_raised(
    database_url: str,
    store: Store,
    emulator: EmulatorServer,
    identity_client: IdentityClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The user's mapping is fine either way; the leftover identity is reported for cleanup."""
    async with unreachable_identity_client() as down:

        class CannotDelete(MeetAtCreate):
            async def delete_user(self, raw_id: str) -> None:
                await down.delete_user(raw_id)

        provisioner = CannotDelete(identity_client, asyncio.Barrier(2))
        async with Store.open(database_url) as replica:
            with caplog.at_level(logging.WARNING, logger="roombot.service.identities"):
                results = await asyncio.gather(
                    identities(store, provisioner).get_or_create("T1", "U1", now=NOW),
                    identities(replica, provisioner).get_or_create("T1", "U1", now=NOW),
                )
    assert results[0] == results[1]
    assert len(live_identities(emulator)) == 2  # the surplus is still there ...
    assert "delete it by hand" in caplog.text  # ... and the log says which one
    surplus = live_identities(emulator) - {results[0].acs_raw_id}
    assert surplus.pop() in caplog.text


async def test_lookup_many_and_list(store: Store) -> None:
    """Lookups return only existing mappings; `list` orders by team then user and can filter."""
    rows = [
        ImportRow(1, "T2", "U9", "8:acs:r_9"),
        ImportRow(2, "T1", "U2", "8:acs:r_2"),
        ImportRow(3, "T1", "U1", "8:acs:r_1"),
    ]
    await store.identities.import_rows(rows, now=NOW)
    assert await store.identities.lookup("T1", "U3") is None
    found = await store.identities.lookup_many("T1", ["U1", "U3", "U2", "U9"])
    assert {u: m.acs_raw_id for u, m in found.items()} == {"U1": "8:acs:r_1", "U2": "8:acs:r_2"}
    listed = await store.identities.list()
    assert [(m.team_id, m.slack_user_id) for m in listed] == [
        ("T1", "U1"),
        ("T1", "U2"),
        ("T2", "U9"),
    ]
    assert all(m.source is IdentitySource.IMPORTED for m in listed)
    assert [m.slack_user_id for m in await store.identities.list("T2")] == ["U9"]


async def test_import_counts_new_present_and_repeated_rows(store: Store) -> None:
    """Rows already stored are left alone and counted; an exact repeat in the file counts once."""
    await store.identities.import_rows([ImportRow(1, "T1", "U1", "8:acs:r_1")], now=NOW)
    report = await store.identities.import_rows(
        [
            ImportRow(1, "T1", "U1", "8:acs:r_1"),  # already stored, same id
            ImportRow(2, "T1", "U2", "8:acs:r_2"),  # new
            ImportRow(3, "T1", "U2", "8:acs:r_2"),  # repeats line 2 exactly
        ],
        now=NOW,
    )
    assert report == ImportReport(inserted=1, unchanged=1, replaced=0, repeated=1)
    assert len(await store.identities.list()) == 2


# Each case: rows to import over a directory holding T1/U1 -> 8:acs:r_1; the problems expected.
CONFLICTS = [
    pytest.param(
        [ImportRow(4, "T1", "U1", "8:acs:r_new")],
        ["line 4: U1 (team T1) is already mapped to 8:acs:r_1; use --replace to change it"],
        id="user-already-mapped-elsewhere",
    ),
    pytest.param(
        [ImportRow(2, "T1", "U5", "8:acs:r_1")],
        ["line 2: ACS id 8:acs:r_1 is already mapped to U1 (team T1)"],
        id="identity-belongs-to-another-user",
    ),
    pytest.param(
        [ImportRow(2, "T1", "U5", "8:acs:r_5"), ImportRow(7, "T1", "U5", "8:acs:r_6")],
        ["line 7: U5 (team T1) is already given a different ACS id on line 2"],
        id="same-user-twice-in-the-file",
    ),
    pytest.param(
        [ImportRow(2, "T1", "U5", "8:acs:r_5"), ImportRow(3, "T2", "U6", "8:acs:r_5")],
        ["line 3: ACS id 8:acs:r_5 is already given to U5 (team T1) on line 2"],
        id="same-identity-twice-in-the-file",
    ),
]


@pytest.mark.parametrize(("rows", "problems"), CONFLICTS)
async def test_import_refuses_conflicts_and_writes_nothing(
    store: Store, rows: list[ImportRow], problems: list[str]
) -> None:
    """One conflicting row refuses the whole import, naming its line; valid rows stay out too."""
    await store.identities.import_rows([ImportRow(1, "T1", "U1", "8:acs:r_1")], now=NOW)
    before = await store.identities.list()
    good = ImportRow(99, "T1", "U99", "8:acs:r_99")  # valid, but must not be imported alone
    with pytest.raises(ImportRejected) as rejected:
        await store.identities.import_rows([*rows, good], now=NOW)
    assert [str(p) for p in rejected.value.problems] == problems
    assert await store.identities.list() == before


async def test_import_with_replace_remaps_a_user(store: Store) -> None:
    """With replace, a mapped user moves to the imported identity, marked as imported."""
    await store.identities.import_rows([ImportRow(1, "T1", "U1", "8:acs:r_1")], now=NOW)
    later = NOW + timedelta(hours=1)
    report = await store.identities.import_rows(
        [ImportRow(1, "T1", "U1", "8:acs:r_new")], now=later, replace=True
    )
    assert report == ImportReport(replaced=1)
    assert await store.identities.lookup("T1", "U1") == IdentityMapping(
        "T1", "U1", "8:acs:r_new", IdentitySource.IMPORTED, later
    )


async def test_import_dry_run_counts_but_writes_nothing(store: Store) -> None:
    """A dry run reports what it would do and leaves the table as it was."""
    report = await store.identities.import_rows(
        [ImportRow(1, "T1", "U1", "8:acs:r_1")], now=NOW, dry_run=True
    )
    assert report == ImportReport(inserted=1)
    assert await store.identities.list() == []


async def test_import_of_many_rows_crosses_query_chunks(store: Store) -> None:
    """More rows than one IN (...) list holds: all are checked and written."""
    rows = [ImportRow(n, "T1", f"U{n:04d}", f"8:acs:r_{n}") for n in range(1, 1202)]
    assert (await store.identities.import_rows(rows, now=NOW)).inserted == 1201
    again = await store.identities.import_rows(rows, now=NOW)
    assert again == ImportReport(unchanged=1201)


async def _replaced_elsewhere(database_url: str, rows: list[ImportRow]) -> None:
    """`roombot identities import --replace`, run by another process."""
    async with Store.open(database_url) as elsewhere:
        await elsewhere.identities.import_rows(rows, now=NOW, replace=True)


@pytest.mark.parametrize("known_by", ["read", "made"])
async def test_a_mapping_read_or_made_is_reused_for_a_while_then_read_again(
    known_by: str, database_url: str, store: Store, identity_client: IdentityClient
) -> None:
    """Every create looks its people up; a mapping read once, or made by the command that
    first named them, is reused for KNOWN_FOR seconds, so a replacement imported by another
    process shows once that time has passed."""
    if known_by == "read":
        await store.identities.import_rows([ImportRow(1, "T1", "U1", "8:acs:r_old")], now=NOW)
    clock = [0.0]
    directory = UserIdentities(store.identities, identity_client, monotonic=lambda: clock[0])
    first = (await directory.get_or_create_many("T1", ["U1"], now=NOW))["U1"]
    assert (first.acs_raw_id == "8:acs:r_old") is (known_by == "read")

    await _replaced_elsewhere(database_url, [ImportRow(1, "T1", "U1", "8:acs:r_new")])
    clock[0] = KNOWN_FOR - 1
    again = await directory.get_or_create_many("T1", ["U1"], now=NOW)
    assert again["U1"] == first  # reused, not read
    clock[0] = KNOWN_FOR + 1
    later = await directory.get_or_create_many("T1", ["U1"], now=NOW)
    assert later["U1"].acs_raw_id == "8:acs:r_new"


async def test_only_the_people_used_most_recently_are_kept(
    database_url: str, store: Store, identity_client: IdentityClient
) -> None:
    """At most `known_at_most` mappings are kept; the one used least recently is read again."""
    rows = [ImportRow(n, "T1", f"U{n}", f"8:acs:r_{n}_old") for n in (1, 2, 3)]
    await store.identities.import_rows(rows, now=NOW)
    directory = UserIdentities(store.identities, identity_client, known_at_most=2)
    await directory.get_or_create_many("T1", ["U1", "U2"], now=NOW)
    await directory.get_or_create_many("T1", ["U1"], now=NOW)  # U1 used again: U2 is oldest
    await directory.get_or_create_many("T1", ["U3"], now=NOW)  # U2 makes room for U3

    await _replaced_elsewhere(
        database_url, [ImportRow(n, "T1", f"U{n}", f"8:acs:r_{n}_new") for n in (1, 2, 3)]
    )
    seen = await directory.get_or_create_many("T1", ["U1", "U2", "U3"], now=NOW)
    assert {user: m.acs_raw_id for user, m in seen.items()} == {
        "U1": "8:acs:r_1_old",
        "U2": "8:acs:r_2_new",  # forgotten, so read again
        "U3": "8:acs:r_3_old",
    }
