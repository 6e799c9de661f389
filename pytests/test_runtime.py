"""The background runtime: C++ work off the loop, results back through the batched completion
queue, cancellation that stops the work and drops late results, a user-written runtime.

Every extension module shares the process's one bridge (libpyasync), so pending() and
completion_counts() are the same whichever module is asked (test_one_bridge.py checks that)."""
import asyncio
import gc
import os
import subprocess
import sys
import time

import pytest

from conftest import loop_factory, settle
import pyasync_examples as ex
from _pyasync_tests import runtime as r


def test_values_come_back_from_workers_and_the_blocking_pool(run):
    async def main():
        return (await ex.threaded_ready("value"), await ex.spawn_blocking_sum(100_000),
                await ex.sleep(0.01, "slept"))
    assert run(main()) == ("value", sum(range(100_000)), "slept")


def test_spawned_work_runs_on_another_thread(run):
    assert run(r.thread_of_spawn()) != r.main_thread()


def test_an_exception_in_blocking_work_reaches_python_mapped(run):
    with pytest.raises(ValueError, match="bad block"):
        run(r.blocking_raise("bad block"))


def test_ten_thousand_completions_arrive_in_batches(run):
    before = r.completion_counts()

    async def main():
        return await asyncio.gather(*(r.echo_on_worker(i) for i in range(10_000)))
    assert run(main()) == list(range(10_000))
    after = r.completion_counts()
    delivered = after["delivered"] - before["delivered"]
    assert delivered == 10_000
    assert after["batches"] - before["batches"] < delivered  # the loop was not woken once per result
    assert r.pending() == 0


def test_sleep_many_keeps_every_runtime_sleep_in_flight_at_once(run):
    async def main():
        task = asyncio.ensure_future(ex.sleep_many(2_000, 60))
        # Concurrent, not one after another: all 2,000 timers are alive together.
        assert await settle(lambda: ex.pending() == 2_000)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await settle(lambda: ex.pending() == 0)  # every timer was cancelled with its sleeper
        assert await ex.sleep_many(3, 0.01) == 3
    run(main())


def test_cancelling_blocking_work_stops_its_token_and_leaks_nothing(run):
    async def main():
        stops = r.stops_seen()
        task = asyncio.ensure_future(r.block_until_stopped())
        await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await settle(lambda: r.stops_seen() == stops + 1)
        assert await settle(lambda: r.pending() == 0)
    run(main())


def test_cancelling_a_runtime_sleep_cancels_its_timer(run):
    async def main():
        task = asyncio.ensure_future(ex.sleep(60))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # Without the timer's cancellation the operation would stay alive for a minute.
        assert await settle(lambda: ex.pending() == 0)
    run(main())


def test_a_completion_after_its_loop_closed_is_dropped_and_counted(loop_name):
    before = r.completion_counts()["dropped_after_close"]

    async def main():
        asyncio.ensure_future(r.blocking_sleep(0.2))  # still running when the loop closes
        await asyncio.sleep(0.01)
    runner = asyncio.Runner(loop_factory=loop_factory(loop_name))
    with runner:
        runner.run(main())
    del runner
    gc.collect()
    deadline = time.monotonic() + 10
    while r.pending() != 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert r.pending() == 0
    # The cancelled frame abandoned the operation; its late completion found the loop gone.
    assert r.completion_counts()["dropped_after_close"] == before + 1


def test_a_user_written_runtime_runs_the_same_algorithms(run):
    assert run(r.on_user_runtime(21)) == (42, True)


@pytest.mark.parametrize("variable, value, expected", [
    ("PYASYNC_THREADS", "many", "PYASYNC_THREADS is 'many': expected a whole number of threads from 1 to 1024"),
    ("PYASYNC_THREADS", "0", "PYASYNC_THREADS is '0': expected a whole number of threads from 1 to 1024"),
    ("PYASYNC_SPIN_US", "-5",
     "PYASYNC_SPIN_US is '-5': expected a whole number of microseconds from 0 to 100000"),
])
def test_runtime_settings_are_validated_with_a_clear_error(variable, value, expected):
    code = ("import asyncio, pyasync_examples as ex\n"
            "try:\n    asyncio.run(ex.threaded_ready(1))\n"
            "except ValueError as error:\n    print('ValueError:', error)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                            env={**os.environ, variable: value})
    assert "ValueError: " + expected in result.stdout
    assert result.returncode == 0, result.stderr


def test_one_worker_that_never_spins_runs_work_timers_and_blocking_calls():
    code = ("import asyncio, pyasync_examples as ex\n"
            "async def main():\n"
            "    return await asyncio.gather(ex.threaded_ready(7), ex.sleep(0.01, 'slept'),\n"
            "                                ex.spawn_blocking_sum(1000), ex.sleep_many(50, 0.01))\n"
            "print(asyncio.run(main()), ex.pending())\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "PYASYNC_THREADS": "1", "PYASYNC_SPIN_US": "0"})
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.split()[-1] == "0"  # nothing left pending
    assert result.stdout.startswith("[7, 'slept', 499500, 50]")


def test_a_process_exits_cleanly_with_work_still_running():
    code = ("import asyncio, pyasync_examples as ex\n"
            "async def main():\n"
            "    for _ in range(1000):\n"
            "        asyncio.ensure_future(ex.spawn_blocking_sum(10**6))\n"
            "    asyncio.ensure_future(ex.sleep(60))\n"
            "    await asyncio.sleep(0.01)\n"
            "asyncio.run(main())\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stderr) == (0, "")


def test_a_task_nobody_references_survives_while_parked_on_runtime_work(run, unraisable):
    async def main():
        finished = []

        async def record():
            finished.append(await ex.sleep(0.05, "finished"))
        asyncio.ensure_future(record())  # no reference kept, as asyncio's own waits allow
        await asyncio.sleep(0.01)
        gc.collect()  # only the runtime knows about this Task now
        assert await settle(lambda: finished == ["finished"])
    run(main())
    assert unraisable == []
