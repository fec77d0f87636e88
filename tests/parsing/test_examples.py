"""The 40 cases of ``tests/data/commands/examples.jsonl``: conventions the language keeps."""

from __future__ import annotations

from typing import Any

import pytest

from bot.parsing import ParseError, dateparser_atoms
from bot.parsing.cli import to_json
from tests.parsing.helpers import examples, run


@pytest.mark.parametrize("case", [pytest.param(case, id=case["text"]) for case in examples()])
def test_example(case: dict[str, Any]) -> None:
    """Each example gives exactly its expected command, or a refusal with its expected code."""
    result = run(case["text"], case["now"], case["tz"])
    expected = case["expected"]
    if "error" in expected:
        assert isinstance(result, ParseError), to_json(result)
        assert result.code == expected["error"], result.message
        return
    got = to_json(result)
    assert {key: got.get(key) for key in expected} == expected


def test_examples_file_is_complete() -> None:
    """All 40 cases are read (a truncated file would pass the parametrised test vacuously)."""
    assert len(examples()) == 40


@pytest.mark.parametrize("case", [pytest.param(case, id=case["text"]) for case in examples()])
def test_examples_never_reach_dateparser(
    case: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The examples are read by our own grammar alone, which is what keeps them fast."""

    def no_dateparser(*_args: object, **_kwargs: object) -> None:
        pytest.fail(f"dateparser was asked about {case['text']!r}")

    monkeypatch.setattr(dateparser_atoms, "dateparser_date", no_dateparser)
    run(case["text"], case["now"], case["tz"])
