"""Reference counts stay flat: under a debug interpreter (Debian's python3-dbg, the pydebug
preset), 10,000 calls of each examples function leave sys.gettotalrefcount() where it was. A
reference leaked per call shows as a growth of 10,000; the bound leaves room for caches only."""
import asyncio
import sys
import time

import pytest

import pyasync_examples as ex

pytestmark = pytest.mark.skipif(not hasattr(sys, "gettotalrefcount"), reason="needs a debug interpreter (python3-dbg)")

ITERATIONS = 10_000
# Interned strings, freelists and method caches settle during the warm-up; what is left is noise.
ALLOWED_GROWTH = 200


async def leaf(value):
    return value


async def aiter_of(n):
    for i in range(n):
        yield i


async def swallow(coroutine, expected):
    try:
        await coroutine
    except expected:
        pass


async def cancelled_probe():
    task = asyncio.ensure_future(ex.cancel_probe(10))
    await asyncio.sleep(0)
    task.cancel()
    await swallow(task, asyncio.CancelledError)


async def drain(generator):
    async for _ in generator:
        pass


COUNTER = ex.Counter()

CALLS = {
    "ready": lambda: ex.ready(1),
    "ready_mdef": lambda: ex.ready_mdef(1),
    "sleep": lambda: ex.sleep(0, 1),
    "loop_sleep": lambda: ex.loop_sleep(0, 1),
    "await_py": lambda: ex.await_py(leaf(2)),
    "call_py": lambda: ex.call_py(leaf, 3),
    "fail": lambda: swallow(ex.fail("value", "bad"), ValueError),
    "fail other": lambda: swallow(ex.fail("other", "bad"), Exception),
    "cancel_probe cancelled": cancelled_probe,
    "cleanup_on_cancel": lambda: ex.cleanup_on_cancel(0, lambda: None),
    "gather": lambda: ex.gather([leaf(1), ex.ready(2)]),
    "await_many": lambda: ex.await_many(lambda: leaf(1), 3),
    "threaded_ready": lambda: ex.threaded_ready(4),
    "spawn_blocking_sum": lambda: ex.spawn_blocking_sum(10),
    "sleep_many": lambda: ex.sleep_many(2, 0),
    "countdown": lambda: drain(ex.countdown(3)),
    "collect": lambda: ex.collect(aiter_of(3)),
    "Counter.add": lambda: COUNTER.add(1),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_ten_thousand_calls_leave_the_total_refcount_flat(name):
    call = CALLS[name]

    async def repeat(times):
        for _ in range(times):
            await call()

    with asyncio.Runner() as runner:
        runner.run(repeat(200))  # warm-up: caches, freelists, the loop's own objects
        before = sys.gettotalrefcount()
        runner.run(repeat(ITERATIONS))
        after = sys.gettotalrefcount()
    assert after - before < ALLOWED_GROWTH, f"{name}: {after - before} references gained over {ITERATIONS} calls"
    # Cancelled work reports from runtime threads after its Task ended: wait for it, bounded.
    deadline = time.monotonic() + 10
    while ex.pending() != 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert ex.pending() == 0
