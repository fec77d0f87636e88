"""`make bench`: run the six benchmarks, print the table, write docs/benchmarks.md and .png.

    python -m bench                 # all six; writes docs/benchmarks.md and docs/benchmarks.png
    python -m bench ack client      # only these (the docs are written only when all six ran)
    python -m bench --quick         # fewer rounds: a smoke test, never written to the docs

Each benchmark is also a module of its own (`python -m bench.ack_bench`, ...); see
docs/benchmarks.md for what each measures and against which baseline.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from bench import (
    ack_bench,
    client_bench,
    join_bench,
    parse_rows,
    startup_bench,
    throughput_bench,
)
from bench.chart import draw
from bench.common import DOCS, Result, machine, run
from bench.report import print_table, write_docs

BENCHES: dict[str, Callable[[bool], Result]] = {
    "ack": lambda quick: run(ack_bench.run(quick=quick)),
    "throughput": lambda quick: run(throughput_bench.run(quick=quick)),
    "client": lambda quick: run(client_bench.run(quick=quick)),
    "parse": lambda quick: parse_rows.run(quick=quick),
    "startup": lambda quick: run(startup_bench.run(quick=quick)),
    "join": lambda quick: run(join_bench.run(quick=quick)),
}


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help=f"benchmarks to run: {', '.join(BENCHES)} (default: all)",
    )
    parser.add_argument("--quick", action="store_true", help="fewer rounds; no docs written")
    parser.add_argument("--no-docs", action="store_true", help="do not write docs/benchmarks.*")
    args = parser.parse_args()
    unknown = sorted(set(args.names) - set(BENCHES))
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHES)}")
    names = args.names or list(BENCHES)
    described = machine()
    started = time.perf_counter()
    results = []
    for name in names:
        began = time.perf_counter()
        print(f"== {name} ...", flush=True)
        results.append(BENCHES[name](args.quick))
        print(f"   {name} took {time.perf_counter() - began:.0f} s", flush=True)
    seconds = time.perf_counter() - started
    print()
    print_table(results)
    print()
    for key, value in described.items():
        print(f"{key}: {value}")
    if args.quick or args.no_docs or len(results) < len(BENCHES):
        print("\n(docs/benchmarks.md not written: only a full `make bench` writes it)")
        return 0
    chart = draw(results, DOCS / "benchmarks.png")
    page = write_docs(results, described, seconds=seconds, chart=chart)
    print(f"\nwrote {page.relative_to(DOCS.parent)} and {chart.relative_to(DOCS.parent)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
