"""How fast `bot.parsing.parse` reads /room commands, against one `dateparser.parse` per phrase.

The issue's goal (#13): median <= 0.1 ms and p99 <= 1 ms per command over the 40 cases of
``tests/data/commands/examples.jsonl``.
Both sides run in this process, after `warm_up` (which pays dateparser's first-call cost), each
case many times, timing every call on its own with `time.perf_counter_ns`. The dateparser side
gives it the command's time phrase (the text without the verb and the mentions), the one call a
dateparser-based parser would make at the least.

Run: ``python -m bench.parse_bench`` (or ``python bench/parse_bench.py``).
"""

from __future__ import annotations

import functools
import json
import re
import statistics
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

EXAMPLES = Path(__file__).resolve().parents[1] / "tests" / "data" / "commands" / "examples.jsonl"
ROUNDS = 200
_NOT_TIME = re.compile(r"<[^>]*>|@\w+|\b(create|presenter|attendee|consumer|collaborator)\b", re.I)


def _cases() -> list[dict[str, Any]]:
    with EXAMPLES.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def _percentiles(samples_ns: list[int]) -> dict[str, float]:
    ordered = sorted(samples_ns)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {
        "median_ms": statistics.median(ordered) / 1e6,
        "p99_ms": p99 / 1e6,
        "max_ms": ordered[-1] / 1e6,
    }


def _time(
    calls: list[Callable[[], object]], rounds: int, before: Callable[[], object] | None = None
) -> list[int]:
    samples: list[int] = []
    clock = time.perf_counter_ns
    for _ in range(rounds):
        for call in calls:
            if before is not None:
                before()  # not timed
            started = clock()
            call()
            samples.append(clock() - started)
    return samples


def run(rounds: int = ROUNDS) -> dict[str, Any]:
    """Median, p99 and max per call (ms) for `parse` and for dateparser, and their ratio."""
    import dateparser

    from bot.parsing import forget_kept, parse, warm_up

    warm_up()
    cases = _cases()
    parse_calls: list[Callable[[], object]] = []
    dateparser_calls: list[Callable[[], object]] = []
    for case in cases:
        now, tz, text = datetime.fromisoformat(case["now"]), case["tz"], case["text"]
        parse_calls.append(functools.partial(parse, text, now=now, tz=tz))
        phrase = " ".join(_NOT_TIME.sub(" ", text).split()) or "now"
        settings = {"RELATIVE_BASE": now, "PREFER_DATES_FROM": "future", "TIMEZONE": tz}
        dateparser_calls.append(
            functools.partial(dateparser.parse, phrase, languages=["en"], settings=settings)
        )
    ours = _percentiles(_time(parse_calls, rounds))
    # Each text as if never seen: `parse` keeps what does not depend on the moment, so the
    # figure above is mostly texts said again; this one is the cost of a new one.
    first = _percentiles(_time(parse_calls, max(rounds // 4, 5), before=forget_kept))
    theirs = _percentiles(_time(dateparser_calls, max(rounds // 10, 5)))
    return {
        "cases": len(cases),
        "parse": ours,
        "first": first,
        "dateparser": theirs,
        "ratio_median": theirs["median_ms"] / ours["median_ms"],
        "goal_met": first["median_ms"] <= 0.1 and first["p99_ms"] <= 1.0,
    }


def _table(result: dict[str, Any]) -> str:
    rows = [f"{'':28}{'median ms':>11}{'p99 ms':>10}{'max ms':>10}"]
    labels = {
        "parse": "bot.parsing.parse",
        "first": "parse, each text new",
        "dateparser": "dateparser.parse (1/phrase)",
    }
    for name, label in labels.items():
        figures = result[name]
        rows.append(
            f"{label:28}{figures['median_ms']:>11.4f}{figures['p99_ms']:>10.4f}"
            f"{figures['max_ms']:>10.4f}"
        )
    rows.append(
        f"{result['cases']} cases; dateparser/parse median ratio: {result['ratio_median']:.1f}x; "
        f"goal (median <= 0.1 ms, p99 <= 1 ms, each text new) "
        f"{'met' if result['goal_met'] else 'NOT met'}"
    )
    return "\n".join(rows)


if __name__ == "__main__":
    print(_table(run()))
