"""`docs/benchmarks.png`: roombot beside its baseline for every row, the goal marked."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence
from pathlib import Path

from bench.common import Result, Row

_GOAL = re.compile(r"(?P<op><=|>=)\s*(?P<value>[\d.]+)\s*(?P<x>x)?")
OURS, BASE, GOAL_COLOUR = "#2f6db3", "#b5b5b5", "#c0392b"
UNITS = {"/s": "per second", "ms": "milliseconds", "s": "seconds", "MB": "MiB"}


def threshold(row: Row) -> float | None:
    """The value roombot's figure has to reach, from the goal text ("<= 1.3x", ">= 500/s")."""
    found = _GOAL.search(row.goal)
    if not found:
        return None
    value = float(found.group("value"))
    if found.group("x"):
        return None if row.baseline is None else value * row.baseline
    return value


def draw(results: Sequence[Result], target: Path) -> Path:
    """One panel per benchmark and unit: a pair of bars per row, the goal as a red tick."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels: dict[tuple[str, str], list[Row]] = {}
    for result in results:
        for row in result.rows:
            panels.setdefault((row.bench, row.unit), []).append(row)
    columns = 3
    lines = -(-len(panels) // columns)
    figure, axes = plt.subplots(lines, columns, figsize=(5.2 * columns, 3.9 * lines), squeeze=False)
    for axis in axes.flat[len(panels) :]:
        axis.axis("off")
    for axis, ((bench, unit), rows) in zip(axes.flat, panels.items(), strict=False):
        positions = range(len(rows))
        width = 0.38
        ours = [row.ours for row in rows]
        base = [row.baseline or 0.0 for row in rows]
        axis.bar([p - width / 2 for p in positions], ours, width, color=OURS, label="roombot")
        axis.bar([p + width / 2 for p in positions], base, width, color=BASE, label="baseline")
        for position, row in zip(positions, rows, strict=True):
            goal = threshold(row)
            if goal is not None:
                axis.hlines(goal, position - width, position, colors=GOAL_COLOUR, linewidth=2)
            if row.ratio is not None:
                axis.annotate(
                    f"{row.ratio:.2f}x",
                    (position - width / 2, row.ours),
                    ha="center",
                    va="bottom",
                    fontsize=8,
                )
        values = [v for v in ours + base if v > 0]
        if values and max(values) / min(values) > 30:
            axis.set_yscale("log")
        axis.set_xticks(list(positions))
        axis.set_xticklabels([textwrap.fill(row.metric, 14) for row in rows], fontsize=7)
        axis.set_title(f"{bench} ({UNITS.get(unit, unit)})", fontsize=10)
        axis.tick_params(axis="y", labelsize=8)
        if axis.get_yscale() == "linear":
            top = max([*values, *(t for t in map(threshold, rows) if t is not None)], default=1)
            axis.set_ylim(0, top * 1.18)
        baselines = sorted({row.baseline_name for row in rows if row.baseline_name})
        axis.set_xlabel(
            textwrap.fill("baseline: " + "; ".join(baselines), 60), fontsize=7, color="#555555"
        )
    handles = [
        plt.Rectangle((0, 0), 1, 1, color=OURS),
        plt.Rectangle((0, 0), 1, 1, color=BASE),
        plt.Line2D([0], [0], color=GOAL_COLOUR, linewidth=2),
    ]
    figure.legend(handles, ["roombot", "baseline", "goal"], loc="lower right", ncols=3)
    figure.suptitle("roombot vs its baselines (medians; ratio = roombot / baseline)")
    figure.tight_layout(rect=(0, 0.03, 1, 0.97))
    target.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(target, dpi=110)
    plt.close(figure)
    return target
