"""Benchmark 4 for the report: `bench.parse_bench.run` a few times, medians of its figures."""

from __future__ import annotations

from bench.common import Result, Row, median
from bench.parse_bench import run as run_once

BASELINE = "dateparser.parse, 1 per phrase"


def run(*, quick: bool = False) -> Result:
    runs = [run_once(rounds=50 if quick else 200) for _ in range(2 if quick else 3)]
    figures = {
        f"{side} {stat}": [r[side][stat] for r in runs]
        for side in ("parse", "first", "dateparser")
        for stat in ("median_ms", "p99_ms")
    }
    med = {name: median(values) for name, values in figures.items()}
    rows = [
        Row("4 parse", "median per command", med["parse median_ms"],
            med["dateparser median_ms"], "ms", BASELINE, "<= 0.2 ms",
            med["parse median_ms"] <= 0.2),
        Row("4 parse", "p99 per command", med["parse p99_ms"], med["dateparser p99_ms"], "ms",
            BASELINE, "<= 2 ms", med["parse p99_ms"] <= 2.0),
        Row("4 parse", "median per command, each text new", med["first median_ms"],
            med["dateparser median_ms"], "ms", BASELINE, "<= 0.2 ms",
            med["first median_ms"] <= 0.2),
        Row("4 parse", "p99 per command, each text new", med["first p99_ms"],
            med["dateparser p99_ms"], "ms", BASELINE, "<= 2 ms", med["first p99_ms"] <= 2.0),
    ]  # fmt: skip
    notes = [
        f"{runs[0]['cases']} commands from tests/data/commands/examples.jsonl, "
        f"{len(runs)} runs (bench/parse_bench.py), each timing every call on its own; "
        "the dateparser side parses only the command's time phrase. `parse` keeps what does "
        "not depend on the moment (a text's tokens, the reading of its window per day), so "
        "the first two rows are mostly texts said again; 'each text new' empties what it "
        "keeps before every call (`bot.parsing.forget_kept`).",
    ]
    return Result(
        "parse",
        "4. Parse (`bot.parsing.parse`)",
        rows,
        figures,
        notes,
        source="bench/parse_bench.py",
    )
