"""`roombot identities import|list`: the CSV format, all-or-nothing imports, exit codes.

The CLI runs `asyncio.run` itself, so the async tests call it in a worker thread.
"""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest

from bot.cli import main
from bot.domain import IdentitySource, ImportRow, RowProblem
from bot.store import Store
from bot.store.identities_cli import read_rows
from tests.store.helpers import NOW

RAW_1 = "8:acs:2dee53b4-368b-45b4-ab52-8493fb117652_00000005-14a2-493b-8a72-5a3a0d000081"
RAW_2 = "8:acs:2dee53b4-368b-45b4-ab52-8493fb117652_00000005-14a2-493b-8a72-5a3a0d000082"
RAW_3 = "8:acs:2dee53b4-368b-45b4-ab52-8493fb117652_00000005-14a2-493b-8a72-5a3a0d000083"


async def roombot(*argv: str) -> int:
    return await asyncio.to_thread(main, list(argv))


@pytest.fixture(name="cli_database")
def _cli_database(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The test's database, named to the CLI the only way it reads it: DATABASE_URL."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    return database_url


# --- the file format (no database) ----------------------------------------------------------

# Each case: file text, --team, expected rows as (line, team, user, raw id), expected problems.
FORMAT_CASES = [
    pytest.param(
        f"U1,{RAW_1}\nU2,{RAW_2},T2\n",
        "T1",
        [(1, "T1", "U1", RAW_1), (2, "T2", "U2", RAW_2)],
        [],
        id="two-columns-take-team-flag-third-column-wins",
    ),
    pytest.param(
        f"slack_user_id,acs_raw_id,team_id\n\n  U1 , {RAW_1} , T1 \n\n",
        None,
        [(3, "T1", "U1", RAW_1)],
        [],
        id="header-blank-lines-and-spaces",
    ),
    pytest.param(
        f"SLACK_USER_ID,ACS_RAW_ID\nU1,{RAW_1},\n",
        "T1",
        [(2, "T1", "U1", RAW_1)],
        [],
        id="header-any-case-empty-third-column",
    ),
    pytest.param(
        f'"U1","{RAW_1}","T1"\n',
        None,
        [(1, "T1", "U1", RAW_1)],
        [],
        id="quoted-fields",
    ),
    pytest.param(
        f"U1,{RAW_1}\n",
        None,
        [],
        [(1, "no team id: add a third column or pass --team T…")],
        id="no-team-anywhere",
    ),
    pytest.param(
        f"slack_user_id,team_id,acs_raw_id\nU1,{RAW_1},T1\n",
        None,
        [(2, "T1", "U1", RAW_1)],
        [(1, "the header must be slack_user_id,acs_raw_id,team_id")],
        id="header-in-another-order",
    ),
    pytest.param(
        f"alice,{RAW_1},T1\nU2,not-an-id,T1\nU3,{RAW_3},team1\nU4\nU5,{RAW_1},T1,extra\n",
        None,
        [],
        [
            (1, "'alice' is not a Slack user id (U… or W…)"),
            (2, "'not-an-id' is not an ACS user raw id (8:acs:…)"),
            (3, "'team1' is not a Slack team id (T…)"),
            (4, "expected 2 or 3 columns (slack_user_id,acs_raw_id,team_id), got 1"),
            (5, "expected 2 or 3 columns (slack_user_id,acs_raw_id,team_id), got 4"),
        ],
        id="every-kind-of-bad-row",
    ),
    pytest.param(
        f'U1,{RAW_1},T1\n"U2,\n{RAW_2}",T1\nU3,{RAW_3},T1\n',
        None,
        [(1, "T1", "U1", RAW_1), (4, "T1", "U3", RAW_3)],
        [(2, f"{'U2,' + chr(10) + RAW_2!r} is not a Slack user id (U… or W…)")],
        id="a-row-spanning-lines-is-named-by-its-first",
    ),
]


@pytest.mark.parametrize(("text", "team", "rows", "problems"), FORMAT_CASES)
def test_read_rows(
    text: str,
    team: str | None,
    rows: list[tuple[int, str, str, str]],
    problems: list[tuple[int, str]],
) -> None:
    """The CSV reader: optional header, default team, and a reason per bad line, by line."""
    got_rows, got_problems = read_rows(io.StringIO(text, newline=""), default_team=team)
    assert got_rows == [ImportRow(*row) for row in rows]
    assert got_problems == [RowProblem(*problem) for problem in problems]


# --- the commands ---------------------------------------------------------------------------


async def test_import_then_list_round_trips(
    cli_database: str, store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`list` prints exactly the CSV `import` reads, so a directory can be moved as it is."""
    source = tmp_path / "people.csv"
    source.write_text(
        f"\ufeffslack_user_id,acs_raw_id,team_id\nU2,{RAW_2}\nU1,{RAW_1},T1\nU1,{RAW_1},T1\n",
        encoding="utf-8",
    )
    assert await roombot("identities", "import", str(source), "--team", "T1") == 0
    assert capsys.readouterr().out == ("imported 2, 0 already present, 1 repeated rows ignored\n")
    stored = await store.identities.list()
    assert [(m.slack_user_id, m.acs_raw_id, m.source) for m in stored] == [
        ("U1", RAW_1, IdentitySource.IMPORTED),
        ("U2", RAW_2, IdentitySource.IMPORTED),
    ]

    assert await roombot("identities", "list") == 0
    listed = capsys.readouterr().out
    assert listed == f"slack_user_id,acs_raw_id,team_id\nU1,{RAW_1},T1\nU2,{RAW_2},T1\n"

    again = tmp_path / "again.csv"
    again.write_text(listed, encoding="utf-8")
    assert await roombot("identities", "import", str(again)) == 0
    assert capsys.readouterr().out == "imported 0, 2 already present\n"


async def test_bad_rows_import_nothing_and_are_all_reported_by_line(
    cli_database: str, store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Format errors and conflicts with the database come out together, in line order."""
    await store.identities.import_rows([ImportRow(1, "T1", "U9", RAW_3)], now=NOW)
    source = tmp_path / "people.csv"
    source.write_text(
        "\n".join(
            [
                "slack_user_id,acs_raw_id,team_id",
                f"U1,{RAW_1},T1",  # fine on its own
                "U2,8:orgid:abc,T1",  # a Teams user, not an ACS identity
                f"U3,{RAW_3},T1",  # RAW_3 belongs to U9 already
                f"U1,{RAW_2},T1",  # U1 given twice with different ids
                f"U4,{RAW_2}",  # no team
            ]
        ),
        encoding="utf-8",
    )
    assert await roombot("identities", "import", str(source)) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        f"{source}: nothing imported; fix these rows:",
        "  line 3: '8:orgid:abc' is not an ACS user raw id (8:acs:…)",
        f"  line 4: ACS id {RAW_3} is already mapped to U9 (team T1)",
        "  line 5: U1 (team T1) is already given a different ACS id on line 2",
        "  line 6: no team id: add a third column or pass --team T…",
    ]
    assert [m.slack_user_id for m in await store.identities.list()] == ["U9"]


async def test_remapping_a_user_needs_replace(
    cli_database: str, store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Remapping a user is refused unless --replace; --dry-run then writes nothing."""
    await store.identities.import_rows([ImportRow(1, "T1", "U1", RAW_1)], now=NOW)
    source = tmp_path / "people.csv"
    source.write_text(f"U1,{RAW_2},T1\n", encoding="utf-8")

    assert await roombot("identities", "import", str(source)) == 1
    assert "use --replace to change it" in capsys.readouterr().err

    assert await roombot("identities", "import", str(source), "--replace", "--dry-run") == 0
    assert capsys.readouterr().out == "would import 0, 0 already present, 1 replaced\n"
    mapping = await store.identities.lookup("T1", "U1")
    assert mapping is not None
    assert mapping.acs_raw_id == RAW_1

    assert await roombot("identities", "import", str(source), "--replace") == 0
    mapping = await store.identities.lookup("T1", "U1")
    assert mapping is not None
    assert mapping.acs_raw_id == RAW_2


async def test_list_can_filter_by_team(
    cli_database: str, store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    """`list --team` prints one workspace's mappings."""
    await store.identities.import_rows(
        [ImportRow(1, "T1", "U1", RAW_1), ImportRow(2, "T2", "U2", RAW_2)], now=NOW
    )
    assert await roombot("identities", "list", "--team", "T2") == 0
    assert capsys.readouterr().out == f"slack_user_id,acs_raw_id,team_id\nU2,{RAW_2},T2\n"


async def test_import_into_a_new_database_creates_the_schema(
    cli_database: str, tmp_path: Path
) -> None:
    """Admins may import before the bot ever started; the CLI migrates like the bot does."""
    source = tmp_path / "people.csv"
    source.write_text(f"U1,{RAW_1},T1\n", encoding="utf-8")
    assert await roombot("identities", "import", str(source)) == 0
    async with Store.open(cli_database) as store:
        assert [m.acs_raw_id for m in await store.identities.list()] == [RAW_1]


# Each case: arguments, DATABASE_URL (None: a working SQLite file), exit code, stderr start.
FAILURES = [
    pytest.param(
        ["identities", "list"],
        "mysql://u@h/db",
        2,
        "roombot: DATABASE_URL is malformed",
        id="config",
    ),
    pytest.param(
        ["identities", "import", "missing.csv"], None, 1, "roombot: [Errno 2]", id="no-file"
    ),
    pytest.param(
        ["identities", "import", "x.csv", "--team", "acme"],
        None,
        2,
        "roombot: --team 'acme' is not a Slack team id",
        id="bad-team-flag",
    ),
]


@pytest.mark.parametrize(("argv", "url", "code", "message"), FAILURES)
def test_failures_are_one_line_and_an_exit_code(
    argv: list[str],
    url: str | None,
    code: int,
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Configuration, file and flag problems print one line, never a traceback."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.csv").write_text(f"U1,{RAW_1}\n", encoding="utf-8")
    monkeypatch.setenv("DATABASE_URL", url or f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    assert main(argv) == code
    err = capsys.readouterr().err
    assert err.startswith(message)
    assert len(err.strip().splitlines()) == 1
