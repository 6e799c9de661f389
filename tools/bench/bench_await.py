#!/usr/bin/env python3
"""ns per await, in one process and one loop, with ratios against baselines measured in the same run.

Rows: the floor `await f(x)` for `async def f(x): return x`; `asyncio.sleep(0)`; create_task +
await; `await pyasync_examples.ready(x)` through pyasync::def and through pybind11's m.def;
C++ awaiting a Python coroutine N times in one C++ loop against Python doing the same (the
coroutine made by pybind11's `fn()`, and by `pyasync::call(fn)`, one vectorcall); C++ of
pyasync_examples awaiting a C++ coroutine of its own module N times against one of another
module (bench_runtime_native): one bridge per process, so both take the native path.
Method: N sequential awaits per case, one warm-up pass, then the median of REPEATS passes run
round-robin, gc.collect() before each timed block. --json writes the table as JSON as well.
"""
import argparse
import asyncio
import gc
import json
import statistics
import sys
import time

import bench_runtime_native as other_module
import pyasync_examples as ex
from goals import report


async def f(x):
    return x


async def py_await_many(fn, n):
    last = None
    for _ in range(n):
        last = await fn()
    return last


async def zero():
    return 0


def make_cases(n):
    # Each case gets its own loop code object, so the specialising interpreter never flips.
    async def floor():
        for i in range(n):
            await f(i)

    async def sleep0():
        for _ in range(n):
            await asyncio.sleep(0)

    async def create_task():
        loop = asyncio.get_running_loop()
        for i in range(n):
            await loop.create_task(f(i))

    async def cpp_ready():
        ready = ex.ready
        for i in range(n):
            await ready(i)

    async def cpp_ready_mdef():
        ready = ex.ready_mdef
        for i in range(n):
            await ready(i)

    async def minimal_c_awaitable():
        ready = other_module.minimal_ready
        for i in range(n):
            await ready(i)

    async def py_awaits_python():
        await py_await_many(zero, n)

    async def cpp_awaits_python():
        await ex.await_many(zero, n)

    async def cpp_awaits_python_call():
        await other_module.await_many_call(zero, n)

    async def cpp_awaits_cpp_same_module():
        await ex.await_many(ex.zero, n)

    async def cpp_awaits_cpp_other_module():
        await ex.await_many(other_module.zero, n)

    return {
        "floor: await f(x)": floor,
        "await asyncio.sleep(0)": sleep0,
        "create_task + await": create_task,
        "await ready(x) [pyasync::def]": cpp_ready,
        "await ready(x) [pybind11 m.def]": cpp_ready_mdef,
        "await minimal C awaitable (C API)": minimal_c_awaitable,
        "Python awaits Python coroutine x N": py_awaits_python,
        "C++ awaits Python coroutine x N": cpp_awaits_python,
        "C++ awaits Python x N [pyasync::call]": cpp_awaits_python_call,
        "C++ awaits C++ (same module) x N": cpp_awaits_cpp_same_module,
        "C++ awaits C++ (other module) x N": cpp_awaits_cpp_other_module,
    }


async def measure(n, repeats):
    return await ns_per_await_by_round(make_cases(n), n, repeats)


async def ns_per_await_by_round(cases, n, repeats):
    """{name: [ns per await in each round]} of `cases` (async functions doing n awaits each): one
    warm-up pass, then `repeats` passes round-robin, gc.collect() before each. Runs under any
    library."""
    samples = {name: [] for name in cases}
    for round_ in range(repeats + 1):
        for name, case in cases.items():
            gc.collect()
            start = time.perf_counter_ns()
            await case()
            elapsed = (time.perf_counter_ns() - start) / n
            if round_ > 0:
                samples[name].append(elapsed)
    return samples


async def median_ns_per_await(cases, n, repeats):
    """{name: median ns per await} of `cases`, as `ns_per_await_by_round` measures them."""
    samples = await ns_per_await_by_round(cases, n, repeats)
    return {name: statistics.median(values) for name, values in samples.items()}


def paired_ratio(samples, name, floor_name):
    """The median over rounds of `name`'s time over its floor's in the same round. A ratio of
    two medians lets a slow moment of the machine that hit one row and not the other move the
    figure; rounds a few milliseconds apart share the moment."""
    return statistics.median(a / b for a, b in zip(samples[name], samples[floor_name]))


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=200_000, help="awaits per case and pass")
    # 15 rounds (about 25 s here, 12 s with 7): with 7, one ratio in five landed 0.05 off the others on this 2-core VM.
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    factory = None
    if args.loop == "uvloop":
        import uvloop

        factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        samples = runner.run(measure(args.n, args.repeats))
    result = {name: statistics.median(values) for name, values in samples.items()}
    floor = result["floor: await f(x)"]
    py_delegation = result["Python awaits Python coroutine x N"]
    print(f"pyasync await benchmark: Python {sys.version.split()[0]}, loop={args.loop}, N={args.n}, "
          f"median of {args.repeats}")
    print(f"{'case':40} {'ns/await':>10} {'x floor':>9}")
    for name, ns in result.items():
        print(f"{name:40} {ns:10.1f} {ns / floor:9.2f}")
    py_delegation_name = "Python awaits Python coroutine x N"
    cpp_delegation = paired_ratio(samples, "C++ awaits Python coroutine x N", py_delegation_name)
    cpp_call = paired_ratio(samples, "C++ awaits Python x N [pyasync::call]", py_delegation_name)
    ready = paired_ratio(samples, "await ready(x) [pyasync::def]", "floor: await f(x)")
    print("ratios (median over rounds of each round's ratio):")
    print(f"{'C++ awaits Python / Python awaits Python':40} {'':10} {cpp_delegation:9.2f}")
    print(f"{'  the same, fn called by pyasync::call':40} {'':10} {cpp_call:9.2f}")
    cross_module = paired_ratio(samples, "C++ awaits C++ (other module) x N", "C++ awaits C++ (same module) x N")
    print(f"{'C++ awaits C++: other / same module':40} {'':10} {cross_module:9.2f}")
    print("goals:")
    print(report("await ready(x) [pyasync::def] / floor", ready, "await.ready", f"{floor:.1f} ns"))
    print(report("C++ awaits Python [pyasync::call] / Python", cpp_call,
                 "await.cpp_call_awaits_python", f"{py_delegation:.1f} ns"))
    print(report("C++ awaits C++: other / same module", cross_module, "await.other_module",
                 f"{result['C++ awaits C++ (same module) x N']:.1f} ns"))
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"n": args.n, "loop": args.loop, "ns_per_await": result,
                       "ratio_ready_to_floor": ready,
                       "ratio_cpp_to_python_delegation": cpp_delegation,
                       "ratio_cpp_call_to_python_delegation": cpp_call,
                       "ratio_other_to_same_module": cross_module}, out, indent=2)


if __name__ == "__main__":
    main()
