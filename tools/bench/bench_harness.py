#!/usr/bin/env python3
"""Harness benchmark: 10,000 trivial async cases in one binary (wall time including interpreter
start, per-case overhead, --list --format json time against --gtest_list_tests of the same binary) against pytest + pytest-asyncio running
10,000 equivalent `async def` tests, all measured in this run. Prints ratios; asserts nothing."""
import argparse
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time


def wall(command, env=None, repeat=5):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(command, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--cases", type=int, default=10000)
    parser.add_argument("--skip-pytest", action="store_true")
    args = parser.parse_args()
    n = args.cases
    env = {"BENCH_CASES": str(n)}
    full = wall([args.binary, "-q"], env)
    one = wall([args.binary, "-q", "--exact", "Bench.case_00000"], env)
    listing = wall([args.binary, "--list", "--format", "json"], env, repeat=11)
    gtest_listing = wall([args.binary, "--gtest_list_tests"], env, repeat=11)
    print(f"harness, {n} trivial async cases, median of 5:")
    print(f"  whole run (interpreter start included) {full:8.3f} s   goal < 0.8 s")
    print(f"  per-case overhead ((run - one case) / N) {(full - one) / (n - 1) * 1e6:6.1f} us  goal < 50 us")
    print(f"  --list --format json                   {listing * 1e3:8.1f} ms  goal < 100 ms (no Python)")
    print(f"  --gtest_list_tests (baseline)          {gtest_listing * 1e3:8.1f} ms")
    print(f"  ratio JSON listing / gtest listing:    {listing / gtest_listing:8.2f}x  goal <= 2x")
    if args.skip_pytest:
        return
    with tempfile.TemporaryDirectory() as folder:
        path = pathlib.Path(folder) / "test_many.py"
        path.write_text("".join(f"async def test_{i}():\n    assert 1 + 1 == 2\n" for i in range(n)))
        pytest_time = wall([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "asyncio",
                            "--asyncio-mode=auto", str(path)], repeat=1)
    print(f"pytest + pytest-asyncio, {n} async def tests: {pytest_time:8.3f} s")
    print(f"  ratio pytest-asyncio / harness: {pytest_time / full:6.1f}x   goal >= 20x")


if __name__ == "__main__":
    main()
