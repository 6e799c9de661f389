#!/usr/bin/env python3
"""C++ harness cases collected and run by pytest, measured in one run on this machine:

- direct: the harness binary alone (bench_harness_cases: N trivial async cases);
- pyasync: the same binary collected and run by pytest through the plugin (the listing included:
  pytest's cache is off, so every run lists the binary);
- pytest-asyncio 0.20: N equivalent ``async def`` tests;
- the floor: N trivial sync Python tests.

Each suite runs in its own pytest process (start-up included); the median of a few runs is kept.
Prints the ratios against their goals (goals.py); asserts nothing."""
import argparse
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

from bench_plugin import FILES, environment as python_environment, write_suite
from goals import report

TRIVIAL_TESTS = {
    "asyncio": ("import pytest\n", "\n@pytest.mark.asyncio\nasync def test_{n}():\n    assert 1 + 1 == 2\n"),
    "sync": ("\n", "\ndef test_{n}():\n    assert 1 + 1 == 2\n"),
}


def write_python_suite(root: pathlib.Path, kind: str, tests: int) -> pathlib.Path:
    return write_suite(root, kind, tests, *TRIVIAL_TESTS[kind])


def write_cpp_suite(root: pathlib.Path, binary: str) -> pathlib.Path:
    suite = root / "pyasync"
    (suite / "bin").mkdir(parents=True)
    (suite / "bin" / "cases").symlink_to(os.path.abspath(binary))
    (suite / "pytest.ini").write_text("[pytest]\npyasync_binaries = bin/cases\n")
    return suite


def environment(tests: int) -> dict:
    return dict(python_environment(), BENCH_CASES=str(tests))


def wall(command, cwd, env, repeat: int, expect: str) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
        times.append(time.perf_counter() - start)
        if result.returncode != 0 or expect not in result.stdout:
            sys.exit(f"bench_cpp_cases: {' '.join(command)} did not pass:\n{result.stdout[-3000:]}\n"
                     f"{result.stderr[-3000:]}")
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("binary", help="bench_harness_cases (from the release build)")
    parser.add_argument("--tests", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    tests = args.tests - args.tests % FILES
    env = environment(tests)
    pytest = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    with tempfile.TemporaryDirectory() as directory:
        root = pathlib.Path(directory)
        seconds = {
            "direct": wall([os.path.abspath(args.binary), "-q"], root, env, args.repeat, f"{tests} passed"),
            "pyasync": wall([*pytest, "-p", "pyasync", "-o", "pyasync_fixture_modules=", "-p", "no:asyncio"],
                            write_cpp_suite(root, args.binary), env, args.repeat, f"{tests} passed"),
            "asyncio": wall([*pytest, "-p", "no:pyasync"], write_python_suite(root, "asyncio", tests), env,
                            args.repeat, f"{tests} passed"),
            "sync": wall([*pytest, "-p", "no:asyncio"], write_python_suite(root, "sync", tests), env, args.repeat,
                         f"{tests} passed"),
        }
    print(f"C++ cases through pytest, {tests} trivial cases, median of {args.repeat} runs (start-up included):")
    for kind, label in (("direct", "the harness binary alone"),
                        ("pyasync", "pytest + pyasync: the binary's cases as items"),
                        ("asyncio", "pytest-asyncio 0.20: async def tests"),
                        ("sync", "pytest: sync tests (the floor)")):
        print(f"  {label:48s} {seconds[kind]:7.2f} s  {seconds[kind] / tests * 1e6:7.0f} us/test")
    print(f"  pytest-asyncio / pyasync                 {seconds['asyncio'] / seconds['pyasync']:5.2f}x")
    # pytest's part of a C++ item: the whole run less the binary's own time.
    pytest_part = seconds["pyasync"] - seconds["direct"]
    print(f"  pytest's cost per C++ item / per sync test {pytest_part / seconds['sync']:5.2f}x")
    print("goals:")
    print(report("C++ item / trivial sync test", seconds["pyasync"] / seconds["sync"], "cpp_cases.per_item",
                 f"{seconds['sync'] / tests * 1e6:.0f} us per test"))


if __name__ == "__main__":
    main()
