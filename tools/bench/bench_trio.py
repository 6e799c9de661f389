#!/usr/bin/env python3
"""pyasync under trio, with ratios against baselines measured in the same run (issue 17).

Rows: the trio floor `await f(x)` for `async def f(x): return x` under trio.run; `await
pyasync_examples.ready(x)` (a C++ coroutine that completes at once: no trio trap); a trio
checkpoint (`trio.sleep(0)`) for scale; then N concurrent runtime completions (C++ work on a
runtime worker waking its trio task, `threaded_ready`) against `trio.to_thread.run_sync` doing
the same work (returning its argument from a thread), each N tasks in one nursery, and N bare
trio tasks (what both pay before any work); then the same N completions awaited by one trio task
(`threaded_ready_all`: one runtime job per value, `pyasync::spawn_all`, one park and one wake),
which is how C++ fans out work without paying trio's cost per task.
Method: the await rows by bench_await.py's own measurement (N sequential awaits, one warm-up pass, median of
REPEATS passes round-robin, gc.collect() before each); the completion rows median of
COMPLETION_REPEATS runs each. --json writes the table as JSON as well.
"""
import argparse
import gc
import json
import statistics
import sys
import time

import trio

import pyasync_examples as ex
from bench_await import median_ns_per_await
from goals import report


async def f(x):
    return x


def make_await_cases(n):
    async def floor():
        for i in range(n):
            await f(i)

    async def cpp_ready():
        ready = ex.ready
        for i in range(n):
            await ready(i)

    async def checkpoint():
        for _ in range(n):
            await trio.sleep(0)

    return {"trio floor: await f(x)": floor, "await ready(x) [pyasync::def]": cpp_ready,
            "await trio.sleep(0)": checkpoint}


def identity(value):
    return value


async def completions(kind, n):
    """Seconds for n concurrent tasks each waiting for work done on another thread."""
    results = [None] * n

    async def runtime_completion(index):
        results[index] = await ex.threaded_ready(index)

    async def to_thread(index):
        results[index] = await trio.to_thread.run_sync(identity, index)

    async def bare_task(index):
        results[index] = index

    gc.collect()
    start = time.perf_counter()
    if kind == "pyasync_all":
        results = await ex.threaded_ready_all(list(range(n)))
    else:
        one = {"pyasync": runtime_completion, "to_thread": to_thread, "bare": bare_task}[kind]
        async with trio.open_nursery() as nursery:
            for index in range(n):
                nursery.start_soon(one, index)
    elapsed = time.perf_counter() - start
    assert results == list(range(n)), f"{kind}: wrong results"
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=200_000, help="awaits per await case and pass")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--completions", type=int, default=100_000, help="concurrent completions per run")
    parser.add_argument("--completion-repeats", type=int, default=3)
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    awaits = trio.run(median_ns_per_await, make_await_cases(args.n), args.n, args.repeats)
    kinds = {"pyasync runtime completions": "pyasync", "trio.to_thread.run_sync": "to_thread",
             "bare trio tasks (no work: the floor)": "bare",
             "pyasync, one task awaits all (spawn_all)": "pyasync_all"}
    runs = {name: [] for name in kinds}
    for _ in range(args.completion_repeats):
        for name, kind in kinds.items():
            runs[name].append(trio.run(completions, kind, args.completions))
    seconds = {name: statistics.median(values) for name, values in runs.items()}
    floor = awaits["trio floor: await f(x)"]
    print(f"pyasync trio benchmark: Python {sys.version.split()[0]}, trio {trio.__version__}, N={args.n}, "
          f"median of {args.repeats}")
    print(f"{'case':40} {'ns/await':>10} {'x floor':>9}")
    for name, ns in awaits.items():
        print(f"{name:40} {ns:10.1f} {ns / floor:9.2f}")
    print(f"{args.completions} concurrent completions, median of {args.completion_repeats}:")
    print(f"{'case':40} {'s':>10} {'us each':>9}")
    for name, value in seconds.items():
        print(f"{name:40} {value:10.3f} {value / args.completions * 1e6:9.2f}")
    speedup = seconds["trio.to_thread.run_sync"] / seconds["pyasync runtime completions"]
    print(f"{'to_thread / pyasync (x faster)':40} {'':10} {speedup:9.1f}")
    # Both pay for a trio task each; what each adds to it is the part the goal is about.
    bare = seconds["bare trio tasks (no work: the floor)"]
    beyond = (seconds["trio.to_thread.run_sync"] - bare) / (seconds["pyasync runtime completions"] - bare)
    print(f"{'  the same, beyond a bare trio task':40} {'':10} {beyond:9.1f}")
    fan_out = seconds["trio.to_thread.run_sync"] / seconds["pyasync, one task awaits all (spawn_all)"]
    print(f"{'to_thread / spawn_all (x faster)':40} {'':10} {fan_out:9.1f}")
    # A task each is bounded by trio's own cost per task; spawn_all (one task) shows what is beyond it.
    print("goals:")
    print(report("await ready(x) / trio floor", awaits["await ready(x) [pyasync::def]"] / floor, "trio.ready",
                 f"{floor:.1f} ns"))
    print(report("to_thread / pyasync (x faster)", speedup, "trio.completions",
                 f"{seconds['trio.to_thread.run_sync']:.3f} s"))
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"n": args.n, "ns_per_await": awaits, "completions": args.completions,
                       "completion_seconds": seconds,
                       "ratio_ready_to_trio_floor": awaits["await ready(x) [pyasync::def]"] / floor,
                       "completions_speedup_over_to_thread": speedup,
                       "completions_speedup_beyond_a_bare_task": beyond,
                       "spawn_all_speedup_over_to_thread": fan_out}, out, indent=2)


if __name__ == "__main__":
    main()
