"""Frames away from the loop (resume_on / resume_on_loop), Python awaited from a runtime thread,
cancellation while away, future_into_py and the GIL helpers; every test on asyncio and uvloop."""
import asyncio
import contextvars
import signal
import subprocess
import sys
import time

import pytest

from conftest import settle
from _pyasync_tests import away


def test_the_frame_leaves_the_loop_thread_and_comes_back(run):
    before, on_runtime, after = run(away.hop_threads())
    assert before == after == away.main_thread()
    assert on_runtime != before


def test_a_frame_that_finishes_away_is_finished_on_the_loop(run):
    assert run(away.sum_away(1_000_000)) == sum(range(1_000_000))
    with pytest.raises(ValueError, match="thrown on a worker"):
        run(away.raise_away("thrown on a worker"))


def test_python_awaited_from_a_worker_runs_on_the_loop_in_the_callers_context(run):
    var = contextvars.ContextVar("var")
    seen_threads = []

    async def read_var():
        seen_threads.append(away.main_thread())
        await asyncio.sleep(0)  # suspends: the await really goes through the loop
        return var.get()

    async def main():
        var.set("from the caller")
        return await away.await_python_away(read_var)
    value, resumed_away = run(main())
    assert value == "from the caller"
    assert resumed_away  # the C++ frame resumed on a runtime thread, not on the loop
    assert seen_threads == [away.main_thread()]


def test_a_python_exception_awaited_from_a_worker_reaches_the_caller(run):
    async def fails():
        await asyncio.sleep(0)
        raise KeyError("from python")

    with pytest.raises(KeyError, match="from python"):
        run(away.await_failing_away(fails()))


def test_a_converted_result_of_the_wrong_type_names_both_types(run):
    async def number():
        return 42

    with pytest.raises(TypeError, match="returned int, which does not convert to"):
        run(away.await_python_away(number))


def test_cancelling_while_away_stops_the_token_and_is_delivered_at_home(run):
    before = away.counts()

    async def main():
        task = asyncio.ensure_future(away.spin_until_stopped())
        assert await settle(lambda: away.counts()["spinning"] > before["spinning"])
        task.cancel("stop spinning")
        with pytest.raises(asyncio.CancelledError, match="stop spinning"):
            await task
        assert task.cancelled()
    run(main())
    assert away.counts()["stopped_away"] == before["stopped_away"] + 1


def test_cancelling_a_sleep_away_cancels_its_timer(run):
    before = away.counts()

    async def main():
        task = asyncio.ensure_future(away.sleep_away(60))
        assert await settle(lambda: away.pending() == 1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    run(main())
    assert away.counts()["cancelled_away"] == before["cancelled_away"] + 1
    assert away.pending() == 0


def test_a_cancellation_caught_away_is_delivered_once(run):
    async def main():
        task = asyncio.ensure_future(away.survive_cancellation_away())
        assert await settle(lambda: away.pending() == 1)
        task.cancel()
        return await task
    assert run(main()) == "survived"


def test_close_while_away_is_refused_and_names_the_fix(run):
    async def main():
        coroutine = away.spin_until_stopped()
        task = asyncio.ensure_future(coroutine)
        before = away.counts()["spinning"]
        assert await settle(lambda: away.counts()["spinning"] > before)
        with pytest.raises(RuntimeError, match="cancel the Task awaiting it instead"):
            coroutine.close()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    run(main())


def test_loop_only_awaitables_refuse_a_frame_away(run):
    with pytest.raises(TypeError, match=r"loop_sleep needs the event-loop thread.*resume_on_loop\(\) first"):
        run(away.loop_sleep_away())


def test_with_gil_lets_a_worker_touch_python(run):
    assert run(away.repr_away({"k": [1, 2]})) == "{'k': [1, 2]}"


def test_future_into_py_starts_now_and_returns_a_future(run):
    async def main():
        future = away.gated_future(1000)
        assert isinstance(future, asyncio.Future)
        # Started without the loop turning: this thread blocks (GIL released) until it runs.
        deadline = time.monotonic() + 10
        while not away.future_started() and time.monotonic() < deadline:
            time.sleep(0.001)
        assert away.future_started()
        away.release_future()
        return await future, await away.sum_future(10)
    assert run(main()) == (sum(range(1000)), sum(range(10)))


def test_future_into_py_without_a_running_loop_names_the_fix():
    with pytest.raises(RuntimeError, match="no loop is running"):
        away.sum_future(10)


def test_without_gil_releases_it_for_the_call():
    total, held_inside = away.sum_without_gil(1000)
    assert total == sum(range(1000))
    assert not held_inside


@pytest.mark.skipif(not away.debug_build, reason="precondition checks are compiled out of release builds")
def test_a_debug_build_stops_at_a_broken_gil_precondition():
    child = subprocess.run([sys.executable, "-c", "from _pyasync_tests import away; away.without_gil_twice()"],
                           capture_output=True, text=True, timeout=60)
    assert child.returncode == -signal.SIGABRT
    assert ("pyasync: pyasync::without_gil: precondition failed: the GIL must be held (call it on the event-loop "
            "thread, or inside pyasync::with_gil)") in child.stderr


def test_ten_thousand_frames_away_at_once(run):
    async def main():
        return await asyncio.gather(*(away.sum_away(i) for i in range(10_000)))
    assert run(main()) == [sum(range(i)) for i in range(10_000)]
    assert away.pending() == 0
