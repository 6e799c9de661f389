#!/usr/bin/env python3
"""Cross-thread completion and round trips through the background runtime, against a naive
baseline measured in the same run, on asyncio and uvloop.

Completion (N concurrent, default 100,000): N futures, each completed from a runtime worker.
  floor    the loop itself calls set_result on each (no thread): Python's own Future and
           gather cost, which every row pays; "above the floor" compares what is left
  pyasync  the worker pushes on the loop's completion queue (no GIL); the loop drains batches
  naive    the worker takes the GIL and calls loop.call_soon_threadsafe(fut.set_result, i)
  ratio = naive / pyasync.
  Also: N C++ coroutines each awaiting pyasync::spawn, gathered (end to end, Tasks included).
Round trip (M sequential awaits): loop -> runtime -> loop for one C++ coroutine awaiting
  pyasync::spawn, and one doing resume_on / resume_on_loop; naive: one future completed by a
  worker through the GIL each time. The floor
  row is two C++ threads passing a condition variable back and forth: what waking a sleeping
  thread twice costs on this machine, with no Python at all.
Stream (--items, default 1,000,000): `async for` over pyasync_examples.countdown(n) (a C++
  async_generator) against the same pure-Python async generator; and the
  same C++ generator through pyasync::buffered (a pump Task, 64 items ahead).
Shutdown: a process that exits with 10,000 operations pending on runtime threads, 20 runs
  (tests assert only the clean exit).
The goals and the floors they are measured against are printed with the figures (goals.py).
Method: one warm-up pass, then the median of --repeats passes; the naive completion row runs
  fewer passes (--naive-repeats) because it is slow.
"""
import argparse
import asyncio
import gc
import os
import statistics
import time

import subprocess
import sys

import bench_runtime_native as native
import pyasync_examples as examples
from goals import report

try:
    import uvloop
except ImportError:  # Debian's python3-uvloop is installed by ci/install-deps.sh
    uvloop = None


async def completion_pass(complete, n):
    loop = asyncio.get_running_loop()
    futures = [loop.create_future() for _ in range(n)]
    start = time.perf_counter()
    complete(futures, loop)
    results = await asyncio.gather(*futures)
    elapsed = time.perf_counter() - start
    assert results[-1] == n - 1
    return elapsed / n


def python_complete(futures, loop):
    for index, future in enumerate(futures):
        future.set_result(index)


async def end_to_end_pass(n):
    start = time.perf_counter()
    results = await asyncio.gather(*(native.echo(i) for i in range(n)))
    elapsed = time.perf_counter() - start
    assert results[-1] == n - 1
    return elapsed / n


async def round_trip_pass(fn, m):
    start = time.perf_counter()
    for i in range(m):
        await fn(i)
    return (time.perf_counter() - start) / m


async def naive_round_trip(i):
    loop = asyncio.get_running_loop()
    future = loop.create_future()
    native.naive_complete([future], loop)
    return await future


async def python_countdown(n):
    for i in range(n - 1, -1, -1):
        yield i


async def stream_pass(make_generator, n):
    start = time.perf_counter()
    last = None
    async for item in make_generator(n):
        last = item
    elapsed = time.perf_counter() - start
    assert last == 0
    return elapsed / n


SHUTDOWN_PROGRAM = """
import asyncio, bench_runtime_native as native
async def main():
    for i in range(10_000):
        asyncio.ensure_future(native.sleep_away(60) if i % 2 else native.echo_after(60))
    await asyncio.sleep(0.01)
loop = asyncio.new_event_loop()
loop.run_until_complete(main())  # exits with the loop open and everything pending
"""


def shutdown_times(runs):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", SHUTDOWN_PROGRAM], capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        assert (done.returncode, done.stderr) == (0, ""), done.stderr
    return times


def measure(make_pass, repeats):
    samples = []
    for index in range(repeats + 1):
        gc.collect()
        value = make_pass()
        if index > 0:  # the first pass warms up
            samples.append(value)
    return statistics.median(samples)


def bench_loop(name, factory, args):
    def run(coroutine):
        with asyncio.Runner(loop_factory=factory) as runner:
            return runner.run(coroutine)

    queue = lambda futures, loop: native.queue_complete(futures)
    rows = {
        "completion Python floor": measure(lambda: run(completion_pass(python_complete, args.n)), args.repeats),
        "completion pyasync": measure(lambda: run(completion_pass(queue, args.n)), args.repeats),
        "completion naive": measure(lambda: run(completion_pass(native.naive_complete, args.n)),
                                    args.naive_repeats),
        "end to end (spawn, gathered)": measure(lambda: run(end_to_end_pass(args.n)), args.repeats),
        "round trip spawn": measure(lambda: run(round_trip_pass(native.echo, args.m)), args.repeats),
        "round trip resume_on": measure(lambda: run(round_trip_pass(native.away_echo, args.m)), args.repeats),
        "round trip naive": measure(lambda: run(round_trip_pass(naive_round_trip, args.m)), args.repeats),
    }
    print(f"\n{name}  (N={args.n:,} concurrent, M={args.m:,} sequential, {os.cpu_count()} cores)")
    for row, seconds in rows.items():
        print(f"  {row:32s} {seconds * 1e6:9.2f} us")
    floor = rows["completion Python floor"]
    print(f"  {'completion naive / pyasync':32s} {rows['completion naive'] / rows['completion pyasync']:9.1f} x")
    print(f"  {'  the same, above the floor':32s} "
          f"{(rows['completion naive'] - floor) / max(rows['completion pyasync'] - floor, 1e-9):9.1f} x")
    print(f"  {'round trip naive / spawn':32s} {rows['round trip naive'] / rows['round trip spawn']:9.2f} x")
    wake_ups = native.condvar_round_trip_us(args.m)
    print(f"  {'two thread wake-ups (C++ floor)':32s} {wake_ups:9.2f} us")
    stream = {
        "stream pyasync countdown": measure(lambda: run(stream_pass(examples.countdown, args.items)), args.repeats),
        "stream pure Python": measure(lambda: run(stream_pass(python_countdown, args.items)), args.repeats),
        "stream buffered(countdown, 64)": measure(
            lambda: run(stream_pass(lambda n: native.buffered_countdown(n, 64), args.items)), args.repeats),
    }
    for row, seconds in stream.items():
        print(f"  {row:32s} {seconds * 1e9:9.1f} ns per item")
    print(f"  {'stream Python / pyasync':32s} {stream['stream pure Python'] / stream['stream pyasync countdown']:9.2f} x")
    print("  goals:")
    print(report("completion naive / pyasync", rows["completion naive"] / rows["completion pyasync"],
                 "runtime.completion_speedup", f"{rows['completion naive'] * 1e6:.2f} us"))
    if name == "asyncio":
        print(report("completion pyasync", rows["completion pyasync"] * 1e6, "runtime.completion_cost"))
    print(report("round trip spawn", rows["round trip spawn"] * 1e6, f"runtime.round_trip_{name}",
                 f"{wake_ups:.2f} us"))
    print(report("stream Python / pyasync", stream["stream pure Python"] / stream["stream pyasync countdown"],
                 "runtime.stream", f"{stream['stream pure Python'] * 1e9:.1f} ns per item"))
    assert native.pending() == 0, "a bridged operation leaked"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--m", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--naive-repeats", type=int, default=1)
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--shutdown-runs", type=int, default=20)
    args = parser.parse_args()
    bench_loop("asyncio", None, args)
    if uvloop is not None:
        bench_loop("uvloop", uvloop.new_event_loop, args)
    times = shutdown_times(args.shutdown_runs)
    print(f"\nshutdown with 10,000 pending, {len(times)} runs: median {statistics.median(times):.2f} s")
    print(report("shutdown, the slowest run", max(times), "runtime.shutdown"))


if __name__ == "__main__":
    main()
