#!/usr/bin/env python3
"""Stress: many concurrent bridged operations with random cancellations from both sides.

Kinds of operation: runtime sleeps, completions from worker threads, C++ awaiting Python on the
loop, C++ away on a runtime awaiting Python, frames finishing away, C++ cancelling Python
(pyasync::gather cancels its other children when one fails), Asio timers awaited through
pyasync::use_task, asio::awaitable coroutines, and streams through pyasync::buffered. About a third are cancelled from
Python at a random moment. Checked: every operation ends exactly once, with its own value, a
cancellation only when one was asked for, or its planned error; pending() returns to 0 in every
module; the loop's exception handler and sys.unraisablehook are never called.

Soak: python3 pytests/stress_runtime.py --minutes 10 [--n 100000] (needs PYTHONPATH to the
build's python/ directory, as ctest sets it).
"""
import argparse
import asyncio
import random
import sys
import time

import pyasync_examples as ex
from _pyasync_tests import asio, away, streams

KINDS = ("runtime_sleep", "thread", "cxx_awaits_python", "away_awaits_python", "away_sum", "cxx_cancels",
         "asio_timer", "asio_awaitable", "buffered_stream")


class Tally:
    def __init__(self, n):
        self.ends = [0] * n
        self.outcomes = {}
        self.problems = []
        self.python_cancelled_by_cxx = 0

    def note(self, kind, outcome):
        self.outcomes[(kind, outcome)] = self.outcomes.get((kind, outcome), 0) + 1


async def python_value(value, delay):
    await asyncio.sleep(delay)
    return value


async def tracked_sleeper(tally):
    try:
        await asyncio.sleep(60)
    except asyncio.CancelledError:
        tally.python_cancelled_by_cxx += 1
        raise


async def fail_soon(delay):
    await asyncio.sleep(delay)
    raise ValueError("planned failure")


async def drain(items):
    return [item async for item in items]


async def started(make_coroutine):
    """Builds the operation when its Task first runs: a Task cancelled before that would leave
    the Python coroutines passed as arguments never awaited (as in pure Python)."""
    return await make_coroutine()


def make(kind, i, rng, tally):
    """(coroutine, expected value or exception type)."""
    delay = rng.uniform(0, 0.002)
    if kind == "runtime_sleep":
        return ex.sleep(delay, i), i
    if kind == "thread":
        return ex.threaded_ready(i), i
    if kind == "cxx_awaits_python":
        return started(lambda: ex.await_py(python_value(i, delay))), i
    if kind == "away_awaits_python":
        return away.await_python_away(lambda: python_value(str(i), delay)), (str(i), True)
    if kind == "away_sum":
        return away.sum_away(i % 1000), sum(range(i % 1000))
    if kind == "asio_timer":
        return asio.timer_wait(delay), asio.main_thread()
    if kind == "asio_awaitable":
        return asio.awaitable_sum(i % 50), sum(range(i % 50))
    if kind == "buffered_stream":
        return drain(streams.buffered(ex.countdown(i % 20), 3)), list(range(i % 20 - 1, -1, -1))
    return started(lambda: ex.gather([tracked_sleeper(tally), ex.sleep(60), fail_soon(delay)])), ValueError


async def one(i, rng, tally):
    kind = rng.choice(KINDS)
    coroutine, expected = make(kind, i, rng, tally)
    task = asyncio.ensure_future(coroutine)
    task.add_done_callback(lambda _: tally.ends.__setitem__(i, tally.ends[i] + 1))
    cancel = rng.random() < 0.33
    if cancel:
        asyncio.get_running_loop().call_later(rng.uniform(0, 0.003), task.cancel)
    try:
        value = await task
    except asyncio.CancelledError:
        if not cancel:
            tally.problems.append(f"op {i} ({kind}) cancelled without a request")
        tally.note(kind, "cancelled")
        return
    except Exception as error:  # noqa: BLE001 - checked against the plan below
        if expected is not type(error):
            tally.problems.append(f"op {i} ({kind}) raised {error!r}")
        tally.note(kind, "planned error")
        return
    if value != expected:
        tally.problems.append(f"op {i} ({kind}) returned {value!r}, expected {expected!r}")
    tally.note(kind, "completed")


async def round_of(n, seed):
    loop = asyncio.get_running_loop()
    handler_calls = []
    loop.set_exception_handler(lambda _, context: handler_calls.append(context))
    rng = random.Random(seed)
    tally = Tally(n)
    await asyncio.gather(*(one(i, rng, tally) for i in range(n)))
    # Cancelled runtime operations drop their late completions on the loop: let them arrive.
    deadline = time.monotonic() + 30
    while (ex.pending() or away.pending()) and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    for i, ends in enumerate(tally.ends):
        if ends != 1:
            tally.problems.append(f"op {i} ended {ends} times")
    if ex.pending() or away.pending():
        tally.problems.append(f"pending() did not return to 0: examples {ex.pending()}, tests {away.pending()}")
    tally.problems.extend(f"loop exception handler called: {context.get('message')}" for context in handler_calls)
    return tally


def stress(n, seed, loop_factory=None):
    """Runs one round; returns the tally (problems empty when everything held)."""
    unraisable = []
    previous_hook = sys.unraisablehook
    sys.unraisablehook = unraisable.append
    try:
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            tally = runner.run(round_of(n, seed))
    finally:
        sys.unraisablehook = previous_hook
    tally.problems.extend(f"unraisable: {report.exc_value!r}" for report in unraisable)
    return tally


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000, help="concurrent operations per round")
    parser.add_argument("--minutes", type=float, default=0, help="repeat rounds for this long (0: one round)")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--uvloop", action="store_true", help="alternate asyncio and uvloop rounds")
    args = parser.parse_args()
    factories = [None]
    if args.uvloop:
        import uvloop
        factories.append(uvloop.new_event_loop)
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    end = time.monotonic() + args.minutes * 60
    rounds = 0
    while True:
        factory = factories[rounds % len(factories)]
        start = time.monotonic()
        tally = stress(args.n, seed + rounds, factory)
        name = "uvloop" if factory else "asyncio"
        print(f"round {rounds} seed {seed + rounds} {name}: {args.n:,} ops in {time.monotonic() - start:.1f} s, "
              f"{sum(c for (_, o), c in tally.outcomes.items() if o == 'cancelled'):,} cancelled, "
              f"{tally.python_cancelled_by_cxx:,} Python awaitables cancelled by C++, "
              f"{len(tally.problems)} problems", flush=True)
        for problem in tally.problems[:20]:
            print("  " + problem)
        if tally.problems:
            return 1
        rounds += 1
        if time.monotonic() >= end:
            return 0


if __name__ == "__main__":
    sys.exit(main())
