"""Cancellation both ways, and the cancel-versus-complete race."""
import asyncio
import gc
import random

import pytest
import pyasync_examples as ex
from _pyasync_tests import cancel as c


async def sleeper_logging_cancellation(log, async_cleanup=False):
    """Sleeps; logs a cancellation and, if asked, cleans up asynchronously before re-raising."""
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        log.append("cancelled")
        if async_cleanup:
            await asyncio.sleep(0.001)  # async clean-up still gets the loop
            log.append("cleaned up")
        raise


def test_task_cancel_reaches_the_cpp_frame_which_counts_and_reraises(run):
    async def main():
        before = ex.cancelled_count()
        task = asyncio.create_task(ex.cancel_probe(10))
        await asyncio.sleep(0.01)
        task.cancel("stop now")
        with pytest.raises(asyncio.CancelledError):
            await task
        assert task.cancelled()
        assert ex.cancelled_count() == before + 1

    run(main())


def test_after_cancel_the_cpp_side_effect_never_happens_and_raii_runs(run):
    async def main():
        effects, guards = c.side_effects(), c.destroyed_guards()
        task = asyncio.create_task(c.sleep_then_side_effect(0.05))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.sleep(0.1)  # past the original deadline: the timer was cancelled
        assert c.side_effects() == effects
        assert c.destroyed_guards() == guards + 1

    run(main())


def test_wait_for_and_timeout_cancel_the_cpp_frame(run):
    async def main():
        before = ex.cancelled_count()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(ex.cancel_probe(10), 0.01)
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.01):
                await ex.cancel_probe(10)
        assert ex.cancelled_count() == before + 2

    run(main())


def test_cpp_cleanup_awaits_python_after_a_cancellation(run):
    async def main():
        log = []

        async def cleanup():
            log.append("cleanup started")
            await asyncio.sleep(0.001)
            log.append("cleanup finished")

        task = asyncio.create_task(ex.cleanup_on_cancel(10, cleanup))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert log == ["cleanup started", "cleanup finished"]

    run(main())


def test_the_stop_token_observes_cancellation_and_the_frame_may_return_a_value(run):
    async def main():
        task = asyncio.create_task(c.observe_stop_token(10))
        await asyncio.sleep(0.01)
        task.cancel("reason")
        assert await task == ("swallowed", True, True, "cancelled: reason")
        assert await c.observe_stop_token(0) == ("finished", False, False, "")

    run(main())


def test_cancelling_cpp_that_awaits_python_cancels_the_python_awaitable(run):
    async def main():
        log = []
        task = asyncio.create_task(c.guarded_await(sleeper_logging_cancellation(log)))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert log == ["cancelled"]

    run(main())


def test_closing_cpp_that_awaits_python_throws_cancelled_error_into_it_and_lets_it_clean_up(run):
    async def main():
        log = []
        guards = c.destroyed_guards()
        coroutine = c.guarded_await(sleeper_logging_cancellation(log, async_cleanup=True))
        task = asyncio.ensure_future(coroutine)
        await asyncio.sleep(0.01)
        # Abandon the Task's coroutine the hard way: close it while it awaits Python.
        coroutine.close()
        assert c.destroyed_guards() == guards + 1
        await asyncio.sleep(0.05)
        assert log == ["cancelled", "cleaned up"]
        task.cancel()
        with pytest.raises((asyncio.CancelledError, RuntimeError)):
            await task

    run(main())


def test_a_future_awaited_from_cpp_is_cancelled_with_the_task(run):
    async def main():
        future = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(ex.await_py(future))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert future.cancelled()

    run(main())


def test_cancel_versus_complete_race_never_raises_invalid_state_or_unraisable(loop_name, run, unraisable):
    """pyo3-asyncio #77 regression: cancel at random times around completion, 1000 times."""

    async def main():
        errors = []
        asyncio.get_running_loop().set_exception_handler(lambda loop, context: errors.append(context))
        rng = random.Random(1234)
        outcomes = {"completed": 0, "cancelled": 0}
        for _ in range(1000):
            task = asyncio.ensure_future(ex.sleep(0.001, "done"))
            await asyncio.sleep(rng.uniform(0.0008, 0.0012))
            task.cancel()
            try:
                assert await task == "done"
                outcomes["completed"] += 1
            except asyncio.CancelledError:
                outcomes["cancelled"] += 1
        assert errors == []
        assert sum(outcomes.values()) == 1000
        return outcomes

    run(main(), debug=True)
    gc.collect()
    assert unraisable == []
