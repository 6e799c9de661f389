#!/usr/bin/env python3
"""The instruction-count gate: instructions per operation, counted by callgrind, on the paths
users pay on every call, against a checked-in baseline (instructions.json).

Each row runs its operation N_SMALL and N_LARGE times, counting only the region that does them
(Python rows: bench_runtime_native.counted(), see count_row.py; harness rows: the runner's own
loop), and reports (count(N_LARGE) - count(N_SMALL)) / (N_LARGE - N_SMALL): start-up, imports and
shut-down cancel out, and so does every fixed cost of the region. Counts are of the thread that
runs the region (the loop's thread): a runtime worker's share is left out, its idle spinning
being timing. With PYTHONHASHSEED=0 the counts repeat to within a few instructions per operation.

A row that grew by more than TOLERANCE fails (the row, the baseline and the difference are
printed, and written as a failed JUnit case); one that shrank by more invites a baseline update
(--update rewrites instructions.json: commit it, saying why). Ratios against the floors counted in
the same run are printed as well.

Usage: instructions.py --build-dir build/release [--update] [--junit PATH] [--rows ROW,...]"""
from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import pathlib
import platform
import re
import statistics
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

HERE = pathlib.Path(__file__).resolve().parent
BASELINE = HERE / "instructions.json"
TOLERANCE = 0.02
COLLECTED = re.compile(r"Collected : (\d+)")
# The counts are the interpreter's as much as pyasync's: the baseline names the one it was taken with.
INTERPRETER = f"{platform.python_implementation()} {platform.python_version()}, built {platform.python_build()[1]}"


@dataclass(frozen=True)
class Row:
    name: str
    what: str
    small: int
    large: int
    floor: Optional[str] = None  # the row this one is compared with, counted in the same run
    # Rows whose loop iterations depend on timing (runtime threads, the harness's timers) vary by up
    # to 0.6% from run to run: each count is the median of this many runs.
    repeats: int = 1


ROWS = [
    Row("floor", "await f(x) of an async def (the floor)", 1000, 3000),
    Row("ready", "await ready(x) via pyasync::def", 1000, 3000, floor="floor"),
    # The least any C awaitable costs (minimal_awaitable.cpp): what of `ready` is the interpreter's.
    Row("minimal_c_awaitable", "await minimal_ready(x), a bare C-API awaitable", 1000, 3000, floor="floor"),
    Row("python_delegates", "Python awaits a Python coroutine (the floor of C++ awaiting Python)", 1000, 3000),
    Row("cpp_awaits_python", "C++ awaits a Python coroutine made by pybind11's fn()", 1000, 3000,
        floor="python_delegates"),
    Row("cpp_awaits_python_call", "C++ awaits a Python coroutine made by pyasync::call", 1000, 3000,
        floor="python_delegates"),
    Row("cpp_awaits_cpp_same_module", "C++ awaits a C++ coroutine of its module", 1000, 3000),
    Row("cpp_awaits_cpp_other_module", "C++ awaits a C++ coroutine of another module", 1000, 3000),
    Row("runtime_round_trip", "spawn -> completion -> resume (the loop's thread)", 300, 900, repeats=3),
    Row("harness_case", "one trivial async PYASYNC_TEST case, run directly", 100, 300, repeats=3),
    Row("serve_run", "one --serve `run` round trip, child side", 100, 300, repeats=3),
]


def callgrind(command: Sequence[str], toggle: str, env: Dict[str, str], stdin: Optional[str] = None) -> int:
    """The instructions callgrind counts inside `toggle` while `command` runs."""
    done = subprocess.run(["valgrind", "--tool=callgrind", f"--toggle-collect={toggle}", "--callgrind-out-file=/dev/null",
                           *command], input=stdin, capture_output=True, text=True, env=env, timeout=600)
    found = COLLECTED.search(done.stderr)
    if done.returncode != 0 or found is None:
        raise RuntimeError(f"{' '.join(command)} under callgrind exited {done.returncode}:\n{done.stderr[-3000:]}")
    return int(found[1])


def count(row: Row, n: int, build: pathlib.Path) -> int:
    env = dict(os.environ, PYTHONHASHSEED="0", PYTHONDONTWRITEBYTECODE="1")
    harness = str(build / "tools/bench/bench_harness_cases")
    if row.name == "harness_case":
        env["BENCH_CASES"] = str(n)
        return callgrind([harness, "--format", "terse"], "*in_process_runner::run(*", env)
    if row.name == "serve_run":
        env["BENCH_CASES"] = str(n)
        commands = "setup Bench.case_00000\n" + "".join(f"run Bench.case_{i:05d}\n" for i in range(n))
        return callgrind([harness, "--serve"], "*in_process_runner::serve(*", env, stdin=commands)
    env["PYTHONPATH"] = os.pathsep.join([str(build / "python"), str(HERE)])
    return callgrind([sys.executable, str(HERE / "count_row.py"), row.name, str(n)], "pyasync_bench_counted", env)


def measure(rows: Sequence[Row], build: pathlib.Path) -> Dict[str, float]:
    """Instructions per operation of each row (each count the median of the row's repeats); the
    runs go two at a time (callgrind uses one core)."""
    runs = [(row, n, repeat) for row in rows for n in (row.small, row.large) for repeat in range(row.repeats)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        counted = list(pool.map(lambda run: count(run[0], run[1], build), runs))
    counts = {(row, n): statistics.median(value for (other, size, _), value in zip(runs, counted)
                                          if other == row and size == n)
              for row in rows for n in (row.small, row.large)}
    return {row.name: (counts[(row, row.large)] - counts[(row, row.small)]) / (row.large - row.small) for row in rows}


def compare(measured: Dict[str, float], baseline: Dict[str, float]) -> Tuple[List[str], Dict[str, str]]:
    """(the table's lines, {row: why it fails} for rows that grew by more than TOLERANCE or have no
    baseline)."""
    lines: List[str] = []
    failures: Dict[str, str] = {}
    for row in ROWS:
        if row.name not in measured:
            continue
        value, before = measured[row.name], baseline.get(row.name)
        ratio = f"{value / measured[row.floor]:.3f}x {row.floor}" if row.floor in measured else ""
        if before is None:
            failures[row.name] = (f"{row.name}: {value:,.0f} instructions per operation, and no baseline: run "
                                  f"tools/bench/instructions.py --update and commit {BASELINE.name}")
            lines.append(f"{row.name:30} {value:10,.0f}  {'(no baseline)':>22}  {ratio}")
            continue
        change = value / before - 1
        lines.append(f"{row.name:30} {value:10,.0f}  {before:10,.0f} {change:+7.2%}    {ratio}")
        if change > TOLERANCE:
            failures[row.name] = (f"{row.name} ({row.what}): {value:,.0f} instructions per operation against "
                                  f"the baseline's {before:,.0f} ({change:+.2%}, more than {TOLERANCE:.0%})")
        elif change < -TOLERANCE:
            lines.append(f"{'':30} shrank by {-change:.2%}: if it is meant to, update the baseline "
                         f"(tools/bench/instructions.py --update) in a commit that says why")
    return lines, failures


def write_junit(path: pathlib.Path, measured: Dict[str, float], failures: Dict[str, str]) -> None:
    suite = ElementTree.Element("testsuite", name="instructions", tests=str(len(set(measured) | set(failures))),
                                failures=str(len(failures)))
    for name in [*measured, *(name for name in failures if name not in measured)]:
        case = ElementTree.SubElement(suite, "testcase", classname="instructions", name=name)
        if name in failures:
            ElementTree.SubElement(case, "failure", message=failures[name])
    path.parent.mkdir(parents=True, exist_ok=True)
    ElementTree.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)


def main(arguments: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build-dir", type=pathlib.Path, required=True,
                        help="a release build with pyasync_examples, bench_runtime_native and bench_harness_cases")
    parser.add_argument("--baseline", type=pathlib.Path, default=BASELINE, help=f"default: {BASELINE}")
    parser.add_argument("--update", action="store_true", help="write the counts to the baseline")
    parser.add_argument("--junit", type=pathlib.Path, help="write one JUnit case per row there")
    parser.add_argument("--rows", help="a comma-separated subset of: " + ", ".join(row.name for row in ROWS))
    options = parser.parse_args(arguments)
    rows = ROWS
    if options.rows:
        wanted = options.rows.split(",")
        unknown = sorted(set(wanted) - {row.name for row in ROWS})
        if unknown:
            parser.error(f"--rows names {', '.join(unknown)}; expected some of {', '.join(r.name for r in ROWS)}")
        rows = [row for row in ROWS if row.name in wanted]
    measured = measure(rows, options.build_dir.resolve())
    baseline = json.loads(options.baseline.read_text()) if options.baseline.exists() else {}
    if options.update:
        baseline.update({name: round(value, 1) for name, value in measured.items()})
        baseline["_interpreter"] = INTERPRETER
        options.baseline.write_text(json.dumps(baseline, indent=2, sort_keys=True) + "\n")
        print(f"instructions: wrote {len(measured)} rows to {options.baseline}")
        return 0
    lines, failures = compare(measured, baseline)
    if baseline.get("_interpreter", INTERPRETER) != INTERPRETER:
        failures["interpreter"] = (f"the baseline was counted under {baseline['_interpreter']}, this run under "
                                   f"{INTERPRETER}: run the gate with that interpreter, or update the baseline")
    print(f"{'row':30} {'instr/op':>10}  {'baseline':>10} {'change':>7}    ratio")
    print("\n".join(lines))
    if options.junit:
        write_junit(options.junit, measured, failures)
    for failure in failures.values():
        print(f"instructions: FAILED {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
