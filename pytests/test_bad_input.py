"""Bad input never crashes or hangs the bridge: the sweep over the examples module, kept in the
suite (and run under the sanitizers). Each case names what a user may do wrong and checks the
clear error CPython itself would give, or the documented behaviour."""
import asyncio
import gc
import math
import os
import subprocess
import sys
import warnings
import weakref

import pytest

import pyasync_examples as ex
from _pyasync_tests import runtime as rt
from conftest import loop_factory, settle


class NewReturnsAnInt(Exception):
    def __new__(cls, *args):
        return 5


class NotAnException:
    pass


# Coroutines parked in each kind of suspension: on runtime work (a timer, a worker blocked until
# its stop token fires, several timers), on the loop's timer, and delegating to Python.
PARKED = {
    "runtime sleep": lambda: ex.sleep(3600),
    "worker": lambda: rt.block_until_stopped(),
    "many timers": lambda: ex.sleep_many(3, 3600),
    "cancel probe": lambda: ex.cancel_probe(3600),
    "loop timer": lambda: ex.loop_sleep(3600),
    "delegation": lambda: ex.await_py(asyncio.sleep(3600)),
    "delegation to C++": lambda: ex.await_py(ex.sleep(3600)),
}


async def parked(make):
    """A coroutine of `make`, started and suspended (driven by hand, inside the running loop)."""
    coroutine = make()
    coroutine.send(None)
    return coroutine


def pending():
    # Each extension module has its own bridge today (one bridge per process is issue 13).
    return ex.pending() + rt.pending()


async def close_quietly(coroutine):
    coroutine.close()
    assert await settle(lambda: pending() == 0)


@pytest.mark.parametrize("kind", sorted(PARKED))
@pytest.mark.parametrize("thrown, message", [
    (NewReturnsAnInt, "should have returned an instance of BaseException, not int"),
    (NotAnException, "exceptions must be classes or instances deriving from BaseException, not type"),
    (NotAnException(), "exceptions must be classes or instances deriving from BaseException, not NotAnException"),
])
def test_throwing_a_non_exception_raises_type_error_and_the_coroutine_stays_usable(run, kind, thrown, message):
    async def scenario():
        coroutine = await parked(PARKED[kind])
        with pytest.raises(TypeError, match=message):
            coroutine.throw(thrown)
        with pytest.raises(asyncio.CancelledError):  # still parked where it was, and still cancellable
            coroutine.throw(asyncio.CancelledError())
        await close_quietly(coroutine)

    run(scenario())


@pytest.mark.parametrize("kind", ["runtime sleep", "loop timer", "cancel probe"])
def test_stop_iteration_thrown_into_a_parked_coroutine_becomes_runtime_error(run, kind):
    async def scenario():
        coroutine = await parked(PARKED[kind])
        with pytest.raises(RuntimeError, match="coroutine raised StopIteration") as raised:
            coroutine.throw(StopIteration(5))
        assert isinstance(raised.value.__cause__, StopIteration) and raised.value.__cause__.value == 5
        assert await settle(lambda: pending() == 0)

    run(scenario())


# ---- deep nesting ---------------------------------------------------------------------------------

async def leaf():
    return 7


def test_a_chain_deeper_than_the_recursion_limit_raises_recursion_error(run):
    async def scenario():
        chain = leaf()
        for _ in range(30_000):
            chain = ex.await_py(chain)
        # Where the refusal comes depends on the interpreter's C recursion limit (3.13's is lower):
        # the links below it never started, and freeing them as the error unwinds warns "never
        # awaited", as CPython does for its own coroutines. This test is about the RecursionError.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            with pytest.raises(RecursionError, match="while driving a C\\+\\+ coroutine"):
                await chain
            del chain
            gc.collect()
        chain = leaf()
        for _ in range(200):
            chain = ex.await_py(chain)
        assert await chain == 7  # a chain within the limit still works

    run(scenario())


def test_a_chain_alternating_python_and_cpp_coroutines_raises_recursion_error(run):
    # Only a frame sending into a delegate that is not a Python coroutine counts (Python's own
    # frames count themselves): a mixed chain still ends in RecursionError, not a crash.
    async def python_link(inner):
        return await inner

    async def scenario():
        chain = leaf()
        for _ in range(100):
            chain = python_link(ex.await_py(chain))
        assert await chain == 7  # a chain within the limit works

    run(scenario())


TOO_DEEP_CHAIN = """
import asyncio, gc, sys
import pyasync_examples as ex

async def leaf():
    return 7

async def python_link(inner):
    return await inner

async def main():
    chain = leaf()
    for _ in range(15_000):
        chain = python_link(ex.await_py(chain) if sys.argv[1] == "mixed" else chain)
    try:
        await chain
    except RecursionError:
        print("RecursionError")
    del chain
    gc.collect()
    chain = leaf()
    for _ in range(100):
        chain = python_link(ex.await_py(chain) if sys.argv[1] == "mixed" else chain)
    print(await chain)

asyncio.run(main())
"""


@pytest.mark.parametrize("chain", ["mixed", "python"])
def test_a_chain_too_deep_raises_recursion_error_and_reports_as_cpython_does(chain):
    # Run apart: the reports below go to the process's stderr. 3.11 reports nothing; from 3.12
    # (which counts C recursion apart from Python's) CPython's own pure-Python chain reports
    # "Exception ignored" for links freed past the limit, and the mixed chain reports the same
    # kinds (RecursionError, or "never awaited" for the links the refusal left unstarted).
    result = subprocess.run([sys.executable, "-c", TOO_DEEP_CHAIN, chain], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == ["RecursionError", "7"]
    if sys.version_info < (3, 12):
        assert result.stderr == ""
        return
    reports = [line for line in result.stderr.splitlines() if line and not line.startswith((" ", "Traceback"))]
    unexpected = [line for line in reports if not (
        line.startswith("RecursionError") or "RuntimeWarning: coroutine '" in line and "' was never awaited" in line
        or line.startswith(("Exception ignored in: <coroutine object", "Exception ignored in: <pyasync coroutine"))
        or line == "RuntimeWarning: Enable tracemalloc to get the object allocation traceback")]
    assert unexpected == [], unexpected[:5]


def test_a_chain_that_can_start_can_also_be_cancelled_and_closed(run):
    # Cancelling and closing count one per link against the recursion limit, as starting does
    # (and as Python's own chains do): they once counted two, and a chain of 700 that ran had
    # its cancellation turned into RecursionError.
    depth = sys.getrecursionlimit() * 7 // 10

    def chain():
        coroutine = ex.sleep(10, 1)
        for _ in range(depth):
            coroutine = ex.await_py(coroutine)
        return coroutine

    async def scenario():
        task = asyncio.ensure_future(chain())
        assert await settle(lambda: ex.pending() == 1)  # the innermost sleep is on the runtime
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await settle(lambda: ex.pending() == 0)
        outer = chain()
        outer.send(None)  # runs the chain down to the sleep, which parks
        assert ex.pending() == 1
        outer.close()
        assert outer.cr_await is None
        assert await settle(lambda: ex.pending() == 0)

    run(scenario())


def test_freeing_a_deep_chain_that_never_started_does_not_overflow_the_stack():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # 20,000 "never awaited" warnings
        chain = ex.ready(1)
        for _ in range(20_000):
            chain = ex.await_py(chain)
        probe = weakref.ref(chain)
        del chain
        gc.collect()
    assert probe() is None and ex.pending() == 0


# ---- durations ------------------------------------------------------------------------------------

@pytest.mark.parametrize("sleeper", ["sleep", "loop_sleep"])
def test_a_nan_delay_is_a_value_error_naming_it(run, sleeper):
    with pytest.raises(ValueError, match=f"pyasync::{sleeper}: the delay must be a number of seconds, got nan"):
        run(getattr(ex, sleeper)(math.nan))


@pytest.mark.parametrize("sleeper", ["sleep", "loop_sleep"])
def test_a_negative_delay_sleeps_no_time(run, sleeper):
    assert run(getattr(ex, sleeper)(-5.0, "done")) == "done"


@pytest.mark.parametrize("seconds", [0, -1.0])
def test_a_zero_loop_sleep_is_one_loop_turn_without_a_timer_as_asyncio_sleep_0(seconds):
    async def scenario():
        loop, order = asyncio.get_running_loop(), []

        async def turns(name, sleep):
            for turn in range(3):
                order.append((name, turn))
                await sleep()

        cpp = asyncio.ensure_future(turns("cpp", lambda: ex.loop_sleep(seconds)))
        python = asyncio.ensure_future(turns("python", lambda: asyncio.sleep(0)))
        await asyncio.sleep(0)
        assert not loop._scheduled  # no timer: nothing a virtual clock would have to jump over
        await asyncio.gather(cpp, python)
        # In lockstep with asyncio.sleep(0): the same number of loop turns per sleep.
        assert order == [(name, turn) for turn in range(3) for name in ("cpp", "python")]
        # A cancellation that arrives while it is parked reaches the C++ frame.
        sleeper = asyncio.ensure_future(ex.loop_sleep(seconds, "done"))
        await asyncio.sleep(0)
        sleeper.cancel()
        with pytest.raises(asyncio.CancelledError):
            await sleeper

    asyncio.run(scenario())


@pytest.mark.parametrize("seconds", [math.inf, 1e300, 2.0**63])
@pytest.mark.parametrize("sleeper", ["sleep", "loop_sleep"])
def test_an_infinite_or_huge_delay_sleeps_until_cancelled(run, sleeper, seconds):
    async def scenario():
        task = asyncio.ensure_future(getattr(ex, sleeper)(seconds))
        await asyncio.sleep(0.05)
        assert not task.done()  # an overflowing deadline used to fire at once
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(scenario())


def test_cancel_probe_with_an_infinite_delay_waits_for_its_cancellation(run):
    async def scenario():
        before = ex.cancelled_count()
        task = asyncio.ensure_future(ex.cancel_probe(math.inf))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert ex.cancelled_count() == before + 1

    run(scenario())


# ---- closed and abandoned loops --------------------------------------------------------------------

def dead_weakrefs():
    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, weakref.ReferenceType) and o() is None)


@pytest.mark.parametrize("work", ["runtime sleep", "worker", "many timers"])
def test_closing_a_loop_with_bridged_work_in_flight_releases_the_work_and_the_loop(loop_name, work):
    factory = loop_factory(loop_name) or asyncio.new_event_loop
    loops = []
    baseline = dead_weakrefs()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for _ in range(10):
            loop = factory()
            loop.set_exception_handler(lambda loop, context: None)  # "Task was destroyed but it is pending"
            tasks = [loop.create_task(PARKED[work]()) for _ in range(5)]
            loop.run_until_complete(asyncio.sleep(0.01))
            in_flight = pending()
            loops.append(weakref.ref(loop))
            loop.close()
            del loop, tasks
            assert in_flight >= 5
    gc.collect()
    assert pending() == 0 or asyncio.run(settle_pending())
    if work != "many timers":  # there a cycle runs through a C++ frame, which the collector cannot see
        assert [ref for ref in loops if ref() is not None] == []  # the loops were collected
    assert dead_weakrefs() - baseline <= len(loops)  # ours only: none left behind by the bridge


async def settle_pending():
    return await settle(lambda: pending() == 0)


def test_many_loops_leave_no_dead_weakrefs_behind():
    baseline = dead_weakrefs()
    for _ in range(200):
        asyncio.run(ex.threaded_ready(1))
    assert dead_weakrefs() - baseline < 10


# ---- fork -----------------------------------------------------------------------------------------

@pytest.mark.skipif(bool(os.environ.get("PYASYNC_SANITIZED")), reason="fork under a preloaded sanitizer runtime")
def test_the_runtime_works_in_a_forked_child():
    assert asyncio.run(ex.threaded_ready(1)) == 1  # the parent's runtime is running
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        try:
            values = (asyncio.run(asyncio.wait_for(ex.threaded_ready(2), 10)),
                      asyncio.run(asyncio.wait_for(ex.sleep(0.01, 3), 10)),
                      asyncio.run(asyncio.wait_for(ex.spawn_blocking_sum(10), 10)))
            os.write(write_end, repr(values).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as reader:
        reported = reader.read()
    os.waitpid(pid, 0)
    assert reported == "(2, 3, 45)"
    assert asyncio.run(ex.threaded_ready(4)) == 4


# ---- messages -------------------------------------------------------------------------------------

@pytest.mark.parametrize("call, error, message", [
    (lambda: ex.Counter.add(None, 1), TypeError, "argument 'self' (pos 1) must be examples::Counter, not NoneType"),
    (lambda: ex.fail("runtime", b"\xff bytes"), RuntimeError, r"^\\xff bytes$"),
    (lambda: ex.fail("value", b"ab\xffcd"), ValueError, r"^ab\\xffcd$"),
    (lambda: ex.fail("\udc80", "x"), TypeError,
     "argument 'kind' (pos 1) must be str: '\\udc80' cannot be encoded as UTF-8"),
    (lambda: ex.spawn_blocking_sum(2**64), OverflowError,
     "argument 'n' (pos 1) must be int: 18446744073709551616 is out of range"),
    (lambda: ex.spawn_blocking_sum("3"), TypeError, "argument 'n' (pos 1) must be int, not str"),
])
def test_bad_arguments_and_messages_name_what_was_expected_and_given(run, call, error, message):
    async def scenario():
        await call()

    with pytest.raises(error, match=message if message.startswith("^") else None) as raised:
        run(scenario())
    if not message.startswith("^"):
        assert message in str(raised.value)


# ---- exit ------------------------------------------------------------------------------------------

def test_exit_with_work_waiting_for_its_stop_token_does_not_hang():
    # The loop is neither closed nor collected before exit: the runtime's shutdown must stop the
    # work (which waits for its stop token) before it joins the threads running it.
    code = ("import asyncio\n"
            "from _pyasync_tests import runtime as rt\n"
            "loop = asyncio.new_event_loop()\n"
            "task = loop.create_task(rt.block_until_stopped())\n"
            "loop.run_until_complete(asyncio.sleep(0.05))\n"
            "print('blocked:', rt.pending(), flush=True)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.stdout == "blocked: 1\n" and result.returncode == 0, result.stderr
