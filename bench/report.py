"""The results table (stdout and Markdown), `docs/benchmarks.md` and `docs/benchmarks.png`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from bench.common import DOCS, Result, Row

HEADERS = ("benchmark", "metric", "roombot", "baseline", "ratio", "goal", "met")


def _number(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    if math.isinf(value):
        return "inf"
    magnitude = abs(value)
    if magnitude >= 100:
        text = f"{value:,.0f}"
    elif magnitude >= 10:
        text = f"{value:.1f}"
    elif magnitude >= 1:
        text = f"{value:.2f}"
    else:
        text = f"{value:.3g}"
    return f"{text} {unit}".rstrip()


def _cells(row: Row) -> tuple[str, ...]:
    met = "-" if row.met is None else ("yes" if row.met else "NO")
    ratio = row.ratio
    return (
        row.bench,
        row.metric,
        _number(row.ours, row.unit),
        _number(row.baseline, row.unit),
        "-" if ratio is None else f"{ratio:.2f}x",
        row.goal or "-",
        met,
    )


def table_lines(results: Sequence[Result]) -> list[str]:
    """A plain fixed-width table for the terminal."""
    rows = [_cells(row) for result in results for row in result.rows]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(HEADERS)]
    line = "  ".join(h.ljust(w) for h, w in zip(HEADERS, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    for cells in rows:
        out.append("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)))
    return out


def print_table(results: Sequence[Result]) -> None:
    print("\n".join(table_lines(results)))
    for result in results:
        for note in result.notes:
            print(f"  [{result.name}] {note}")


def markdown_table(results: Sequence[Result]) -> list[str]:
    out = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    for result in results:
        for row in result.rows:
            cells = list(_cells(row))
            cells[-1] = {"yes": "✅ yes", "NO": "❌ no"}.get(cells[-1], cells[-1])
            out.append("| " + " | ".join(cells) + " |")
    return out


def write_docs(
    results: Sequence[Result],
    machine: dict[str, str],
    *,
    seconds: float,
    chart: Path,
    target: Path | None = None,
) -> Path:
    """Write docs/benchmarks.md from *results*; returns its path."""
    target = target or DOCS / "benchmarks.md"
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`.venv/bin/python -m bench`); do not edit by hand. Every "
        "figure is a median over several rounds, and every roombot figure has a baseline "
        "measured in the same run on the same machine, because the machines we run on are "
        "shared and noisy: read the ratios, not the absolute numbers. Ratios are "
        "roombot / baseline.",
        "",
        f"Last run: {when}, {seconds:.0f} s in all.",
        "",
        "## Results",
        "",
        *markdown_table(results),
        "",
        f"![roombot against its baselines]({chart.name})",
        "",
    ]
    for result in results:
        lines += [f"### {result.title}", ""]
        baselines = dict.fromkeys(row.baseline_name for row in result.rows if row.baseline_name)
        lines.append(f"- Baseline: {'; '.join(baselines)}. How it is measured: `{result.source}`.")
        lines += [f"- {note}" for note in result.notes]
        lines.append("")
        for heading, body in result.extra.get("sections", []):
            lines += [f"**{heading}**", "", *body, ""]
        if result.rounds:
            lines += ["<details><summary>Figures per round</summary>", ""]
            for name, values in result.rounds.items():
                lines.append(f"- {name}: " + ", ".join(_number(v) for v in values))
            lines += ["", "</details>", ""]
    lines += ["## Machine", ""]
    lines += [f"- {name}: {value}" for name, value in machine.items()]
    lines += ["", *HOW_TO_RUN]
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")
    return target


HOW_TO_RUN = [
    "## How to run",
    "",
    "```sh",
    "make bench                                  # all six; prints the table, writes this page",
    ".venv/bin/python -m bench --quick           # a short smoke run (fewer rounds, no docs)",
    ".venv/bin/python -m bench ack client        # some of them (no docs written)",
    ".venv/bin/python -m bench.ack_bench         # 1. ack latency",
    ".venv/bin/python -m bench.throughput_bench  # 2. end-to-end throughput (--profile: py-spy)",
    ".venv/bin/python -m bench.client_bench      # 3. Rooms client vs the official SDK",
    ".venv/bin/python -m bench.parse_bench       # 4. parse",
    ".venv/bin/python -m bench.startup_bench     # 5. start-up and memory",
    ".venv/bin/python -m bench.join_bench        # 6. Join click and token vs bare ACS call",
    "```",
    "",
    "Everything runs on loopback: the ACS emulator (`roombot emulator`), the fake Slack "
    "(`bench/slack_proc.py`) and the servers under test are child processes on free "
    "ports, stopped by the benchmark that started them. The profile in benchmark 2 samples "
    "`roombot serve` with py-spy when it is installed (`.venv/bin/pip install py-spy`); "
    "without it that section is left out. Each benchmark module's docstring says exactly "
    "what it measures and how.",
]
