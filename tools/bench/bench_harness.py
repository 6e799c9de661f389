#!/usr/bin/env python3
"""Harness benchmark: 10,000 trivial async cases in one binary (wall time including interpreter
start, per-case overhead, --list --format json time against --gtest_list_tests of the same binary) against pytest + pytest-asyncio running
10,000 equivalent `async def` tests, all measured in this run; and schedule exploration's runs per
second. Prints ratios; asserts nothing."""
import argparse
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

from goals import report


def wall(command, env=None, repeat=5):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(command, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


TASK_STEP = """
import asyncio, statistics, time
async def f(x):
    return x
async def steps(n):
    loop = asyncio.get_running_loop()
    start = time.perf_counter()
    for i in range(n):
        await loop.create_task(f(i))
    return (time.perf_counter() - start) / n
print(statistics.median(asyncio.run(steps(20000)) for _ in range(5)))
"""


def gtest_floor(binary, n, harness_whole, harness_per_case):
    """GoogleTest running n trivial sync tests, and one asyncio Task step (create_task + await of
    a coroutine that returns at once), measured here: the issue's floor for the harness."""
    env = {"BENCH_CASES": str(n)}
    whole = wall([binary], env)
    one = wall([binary, "--gtest_filter=Bench.case_00000"], env)
    per_case = (whole - one) / (n - 1)
    step = float(subprocess.run([sys.executable, "-c", TASK_STEP], capture_output=True, text=True,
                                check=True).stdout)
    print(f"GoogleTest, {n} trivial sync tests (the floor): {whole:8.3f} s   {per_case * 1e6:6.1f} us/test")
    print(f"  one asyncio Task step (create_task + await)   {step * 1e6:6.1f} us")
    print(report("harness / GoogleTest, whole run", harness_whole / whole, "harness.vs_gtest", f"{whole:.3f} s"))
    print(report("harness per case / (GoogleTest + Task step)", harness_per_case / (per_case + step),
                 "harness.per_case_vs_gtest", f"{(per_case + step) * 1e6:.1f} us"))


def exploration(binary):
    """Schedule exploration (--schedule-runs): runs per second of a trivial case and of a small
    two-task case, each as (runs - 1) / (time of `runs` runs - time of one). The trivial case runs
    in microseconds: it gets enough runs to take a second, far above the process start's noise."""
    def runs_per_second(env, case, runs):
        many = wall([binary, "-q", "--exact", case, "--schedule-runs", str(runs)], env, repeat=3)
        once = wall([binary, "-q", "--exact", case, "--schedule-runs", "1"], env, repeat=3)
        return (runs - 1) / (many - once)

    print(report("schedule exploration, trivial case (runs/s)",
                 runs_per_second({"BENCH_CASES": "1"}, "Bench.case_00000", 500_000), "schedule.trivial"))
    print(report("schedule exploration, two tasks, a job each (runs/s)",
                 runs_per_second({"BENCH_SCHEDULE": "two_tasks"}, "Bench.two_tasks", 20_000), "schedule.two_tasks"))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--cases", type=int, default=10000)
    parser.add_argument("--skip-pytest", action="store_true")
    parser.add_argument("--gtest-floor", help="bench_gtest_floor: GoogleTest's 10,000 trivial sync tests")
    args = parser.parse_args()
    n = args.cases
    env = {"BENCH_CASES": str(n)}
    full = wall([args.binary, "-q"], env)
    one = wall([args.binary, "-q", "--exact", "Bench.case_00000"], env)
    listing = wall([args.binary, "--list", "--format", "json"], env, repeat=11)
    gtest_listing = wall([args.binary, "--gtest_list_tests"], env, repeat=11)
    print(f"harness, {n} trivial async cases, median of 5:")
    print(report("whole run (interpreter start included)", full, "harness.whole_run"))
    print(report("per-case overhead ((run - one case) / N)", (full - one) / (n - 1) * 1e6, "harness.per_case"))
    print(report("--list --format json", listing * 1e3, "harness.listing"))
    print(f"  --gtest_list_tests (baseline)          {gtest_listing * 1e3:8.1f} ms")
    print(report("JSON listing / gtest listing", listing / gtest_listing, "harness.listing_ratio",
                 f"{gtest_listing * 1e3:.1f} ms"))
    if args.gtest_floor:
        gtest_floor(args.gtest_floor, n, full, (full - one) / (n - 1))
    exploration(args.binary)
    if args.skip_pytest:
        return
    with tempfile.TemporaryDirectory() as folder:
        path = pathlib.Path(folder) / "test_many.py"
        path.write_text("".join(f"async def test_{i}():\n    assert 1 + 1 == 2\n" for i in range(n)))
        pytest_time = wall([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "asyncio",
                            "--asyncio-mode=auto", str(path)], repeat=1)
    print(f"pytest + pytest-asyncio, {n} async def tests: {pytest_time:8.3f} s")
    print(report("pytest-asyncio / harness", pytest_time / full, "harness.vs_pytest_asyncio", f"{pytest_time:.3f} s"))


if __name__ == "__main__":
    main()
