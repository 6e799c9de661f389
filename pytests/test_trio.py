"""C++ coroutines under trio and anyio's trio backend, with no asyncio anywhere: values, errors,
cancel scopes, a MockClock, streams, runtime completions, resume_on, and the refusals of what
has no trio meaning."""
import pathlib
import runpy
import time

import pytest

import dependencies

trio = dependencies.load("trio")
if trio is not None:
    import trio.testing
pytestmark = dependencies.needs("trio")

import pyasync_examples as ex  # noqa: E402
from _pyasync_tests import away  # noqa: E402
from _pyasync_tests import cancel as c  # noqa: E402
from _pyasync_tests import runtime as rt  # noqa: E402
from _pyasync_tests import streams as st  # noqa: E402
from _pyasync_tests import trio as t  # noqa: E402


async def settled(predicate, seconds=10):
    """Whether ``predicate()`` holds within ``seconds``: a cancelled runtime timer reports (and its
    operation is released) on a worker thread, a moment after the frame was resumed."""
    deadline = trio.current_time() + seconds
    while not predicate() and trio.current_time() < deadline:
        await trio.sleep(0.001)
    return predicate()


def test_values_cross_whether_the_frame_completes_at_once_parks_or_sleeps():
    async def main():
        return (
            await ex.ready(3),
            await ex.sleep(0.001, "runtime timer"),
            await ex.loop_sleep(0.001, "trio clock"),
            await ex.threaded_ready(5),
            await ex.spawn_blocking_sum(100),
            await away.sum_away(1000),
        )

    assert trio.run(main) == (3, "runtime timer", "trio clock", 5, 4950, sum(range(1000)))


def test_cpp_awaits_trio_awaitables_by_delegation():
    async def trio_side(value):
        await trio.sleep(0.001)
        return value * 2

    async def main():
        return await ex.await_py(trio_side(21)), await ex.call_py(trio_side, 4), await ex.await_py(trio.sleep(0))

    assert trio.run(main) == (42, 8, None)


def test_errors_cross_with_their_type_and_message():
    async def main():
        with pytest.raises(ValueError, match="the message"):
            await ex.fail("value", "the message")
        with pytest.raises(ValueError, match="thrown on a worker"):
            await away.raise_away("thrown on a worker")

        async def python_fails():
            await trio.sleep(0)
            raise KeyError("from trio")

        with pytest.raises(KeyError, match="from trio"):
            await ex.await_py(python_fails())

    trio.run(main)


def test_move_on_after_cancels_a_cpp_sleep_which_counts_runs_raii_and_has_no_side_effect():
    async def main():
        before, effects, guards = ex.cancelled_count(), c.side_effects(), c.destroyed_guards()
        with trio.move_on_after(0.01) as probe_scope:
            await ex.cancel_probe(10)
        with trio.move_on_after(0.01) as effect_scope:
            await c.sleep_then_side_effect(0.05)
        await trio.sleep(0.1)  # past the original deadline: the runtime timer was cancelled
        assert probe_scope.cancelled_caught and effect_scope.cancelled_caught
        assert ex.cancelled_count() == before + 1
        assert c.side_effects() == effects
        assert c.destroyed_guards() == guards + 1
        assert await settled(lambda: rt.pending() == 0)

    trio.run(main)


def test_the_cpp_frame_sees_trios_own_cancelled_and_a_stopped_token():
    report = []

    async def main():
        with trio.move_on_after(0.01) as scope:
            await t.report_cancellation(10, report)
        assert scope.cancelled_caught  # the scope caught what C++ re-raised: trio's Cancelled

    trio.run(main)
    [(message, token_stopped, exception)] = report
    assert isinstance(exception, trio.Cancelled)
    assert message.startswith("cancelled") and token_stopped


def test_async_clean_up_after_a_cancellation_runs_when_shielded_then_the_cancellation_propagates():
    log = []

    async def shielded_cleanup():
        with trio.CancelScope(shield=True):  # trio's rule: waiting in a cancelled scope needs a shield
            await trio.sleep(0.001)
            log.append("cleaned up")

    async def unshielded_cleanup():
        try:
            await trio.sleep(0.001)
            log.append("not reached")
        except trio.Cancelled:
            log.append("clean-up cancelled too")
            raise

    async def main():
        with trio.move_on_after(0.01) as shielded:
            await ex.cleanup_on_cancel(10, shielded_cleanup)
        with trio.move_on_after(0.01) as unshielded:
            await ex.cleanup_on_cancel(10, unshielded_cleanup)
        assert shielded.cancelled_caught and unshielded.cancelled_caught

    trio.run(main)
    assert log == ["cleaned up", "clean-up cancelled too"]


def test_fail_after_raises_too_slow_through_a_cpp_frame():
    async def main():
        with pytest.raises(trio.TooSlowError):
            with trio.fail_after(0.01):
                await ex.sleep(10, "never")

    trio.run(main)


def test_cancellation_is_level_triggered_a_swallowing_frame_is_cancelled_again():
    async def main():
        destroyed = t.frames_destroyed()
        returned = []
        with trio.move_on_after(0.01) as scope:
            returned.append(await t.swallow_then_sleep_again(10))
        assert scope.cancelled_caught and returned == []  # the second sleep raised too
        assert t.frames_destroyed() == destroyed + 1

    trio.run(main)


def test_nursery_cancellation_reaches_a_thousand_concurrent_cpp_coroutines():
    async def main():
        before = ex.cancelled_count()
        async with trio.open_nursery() as nursery:
            for _ in range(1000):
                nursery.start_soon(ex.cancel_probe, 100)
            await trio.sleep(0.05)
            nursery.cancel_scope.cancel()
        assert ex.cancelled_count() == before + 1000
        assert await settled(lambda: rt.pending() == 0)

    trio.run(main)


def test_a_cancelled_blocking_job_is_told_to_stop_through_its_token():
    async def main():
        before = rt.stops_seen()
        with trio.move_on_after(0.02) as scope:
            await rt.block_until_stopped()
        assert scope.cancelled_caught
        return before

    before = trio.run(main)
    deadline = time.monotonic() + 10
    while rt.stops_seen() == before and time.monotonic() < deadline:
        time.sleep(0.001)
    assert rt.stops_seen() == before + 1


def test_work_that_reports_after_the_run_ended_is_dropped_counted_and_released():
    async def main():
        with trio.move_on_after(0.01) as scope:
            await rt.blocking_sleep(0.3)  # abandoned when cancelled: it reports after the run
        assert scope.cancelled_caught

    before = rt.completion_counts()["dropped_after_close"]
    trio.run(main)
    deadline = time.monotonic() + 10
    while rt.pending() != 0 and time.monotonic() < deadline:
        time.sleep(0.005)
    assert rt.pending() == 0
    assert rt.completion_counts()["dropped_after_close"] == before + 1


def test_a_cancel_scope_reaches_a_frame_running_away_on_the_runtime():
    async def main():
        before = away.counts()["spinning"]
        with trio.move_on_after(0.05) as scope:
            await away.spin_until_stopped()
        assert scope.cancelled_caught
        assert away.counts()["spinning"] > before

    trio.run(main)


def test_a_mock_clock_with_autojump_drives_loop_sleep():
    async def main():
        started = trio.current_time()
        rounds = await t.loop_sleeps(3600, 3)
        return rounds, trio.current_time() - started

    rounds, virtual = trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    assert rounds == 3
    assert virtual == pytest.approx(3 * 3600)  # three virtual hours (real ones would time the test out)


def test_loop_sleep_is_cancelled_by_trio_and_a_negative_delay_yields_once():
    async def main():
        with trio.move_on_after(0.01) as scope:
            await t.loop_sleeps(10, 1)
        assert scope.cancelled_caught
        assert await t.loop_sleeps(-1, 2) == 2

    trio.run(main)


def test_ten_thousand_concurrent_runtime_completions_wake_their_tasks_in_batches():
    results = []

    async def one(value):
        results.append(await ex.threaded_ready(value))

    async def main():
        before = rt.completion_counts()
        async with trio.open_nursery() as nursery:
            for value in range(10_000):
                nursery.start_soon(one, value)
        return before, rt.completion_counts()

    before, after = trio.run(main)
    assert sorted(results) == list(range(10_000))
    delivered = after["delivered"] - before["delivered"]
    assert delivered == 10_000
    assert after["batches"] - before["batches"] < delivered  # one run_sync_soon per batch, not per item


def test_async_generators_and_cpp_consuming_trio_iterables():
    async def trio_items():
        for item in "abc":
            await trio.sleep(0)
            yield item

    async def main():
        produced = [item async for item in ex.countdown(3)]
        slow = [item async for item in st.slow_items(3, 0.001)]
        return produced, slow, await ex.collect(trio_items())

    assert trio.run(main) == ([2, 1, 0], [0, 1, 2], ["a", "b", "c"])


def test_a_cancel_scope_ends_a_cpp_stream_between_items():
    async def main():
        seen = []
        with trio.move_on_after(0.05) as scope:
            async for item in st.slow_items(1000, 0.01):
                seen.append(item)
        assert scope.cancelled_caught
        assert 0 < len(seen) < 1000

    trio.run(main)


def test_a_trio_cancel_scope_cancels_the_trio_awaitable_a_cpp_frame_awaits():
    async def main():
        guards = c.destroyed_guards()
        with trio.move_on_after(0.01) as scope:
            await c.guarded_await(trio.sleep(10))
        assert scope.cancelled_caught
        assert c.destroyed_guards() == guards + 1

    trio.run(main)


def test_closing_a_cpp_coroutine_closes_the_trio_awaitable_it_delegates_to():
    # As Python's own `await` chain does: GeneratorExit, not asyncio's CancelledError, which means
    # nothing to trio code (and there is no loop to finish an asynchronous clean-up on).
    seen = []

    async def trio_side():
        try:
            await trio.sleep(10)
        except BaseException as error:
            seen.append(type(error).__name__)
            raise

    async def main():
        guards = c.destroyed_guards()
        coroutine = c.guarded_await(trio_side())
        coroutine.send(None)  # now suspended in trio.sleep's trap, delegated through the C++ frame
        coroutine.close()
        assert c.destroyed_guards() == guards + 1  # the C++ frame's RAII ran

    trio.run(main)
    assert seen == ["GeneratorExit"]


def test_gather_from_cpp_runs_its_children_in_a_nursery():
    async def trio_child(value, seconds):
        await trio.sleep(seconds)
        return value

    async def main():
        # Concurrently, not one after another: the first child waits for what the second does.
        second_ran = trio.Event()

        async def waits_for_the_second():
            await second_ran.wait()
            return "first"

        async def second():
            second_ran.set()
            return "second"

        with trio.fail_after(10):
            return await ex.gather([waits_for_the_second(), second(), trio_child("slow", 0.01),
                                    ex.sleep(0.001, "cpp"), ex.ready(3)])

    assert trio.run(main) == ["first", "second", "slow", "cpp", 3]


def test_gather_under_trio_cancels_the_siblings_of_a_failed_child_and_raises_its_error():
    async def main():
        before = ex.cancelled_count()
        with pytest.raises(ValueError, match="child failed"):
            await ex.gather([ex.cancel_probe(10), ex.fail("value", "child failed"), ex.cancel_probe(10)])
        assert ex.cancelled_count() == before + 2

    trio.run(main)


def test_a_failing_cpp_child_of_gather_cancels_its_trio_siblings():
    cancelled = []

    async def trio_child():
        try:
            await trio.sleep(10)
        except trio.Cancelled:
            cancelled.append("trio child")
            raise

    async def main():
        with pytest.raises(ValueError, match="the C\\+\\+ child failed"):
            await ex.gather([trio_child(), ex.fail("value", "the C++ child failed")])

    trio.run(main)
    assert cancelled == ["trio child"]


def test_a_cancel_scope_around_gather_cancels_every_child():
    async def main():
        before = ex.cancelled_count()
        with trio.move_on_after(0.02) as scope:
            await ex.gather([ex.cancel_probe(10) for _ in range(10)])
        assert scope.cancelled_caught
        assert ex.cancelled_count() == before + 10

    trio.run(main)


def test_what_needs_an_asyncio_loop_refuses_with_the_trio_alternative():
    async def main():
        with pytest.raises(RuntimeError, match="runs under trio.*nursery"):
            await away.sum_future(10)

    trio.run(main)


def test_buffered_runs_ahead_within_its_capacity_and_delivers_every_item_in_order():
    async def main():
        before = st.counts()["produced"]
        items = st.buffered_counted(1_000, 6)
        assert st.counts()["produced"] == before  # lazy: nothing before the first __anext__
        assert await items.__anext__() == 0
        assert await settled(lambda: st.counts()["produced"] - before == 6)  # ran ahead: 5 ready
        await trio.sleep(0.01)
        assert st.counts()["produced"] - before == 6  # never past its capacity
        rest = [item async for item in items]
        with pytest.raises(StopAsyncIteration):
            await items.__anext__()
        return rest

    assert trio.run(main) == list(range(1, 1_000))


def test_buffered_error_arrives_after_the_items_before_it_under_trio():
    async def main():
        items = st.buffered(st.fails_after(3, "producer broke"), 2)
        got = [await items.__anext__() for _ in range(3)]
        with pytest.raises(ValueError, match="producer broke"):
            await items.__anext__()
        return got

    assert trio.run(main) == [0, 1, 2]


def test_buffered_aclose_dropping_and_the_end_of_the_run_each_stop_the_producer_and_clean_up():
    async def main():
        before = st.counts()["cleanups"]
        closed = st.buffered_counted(1_000_000, 4)
        await closed.__anext__()
        await closed.aclose()
        assert st.counts()["cleanups"] == before + 1
        dropped = st.buffered_counted(1_000_000, 4)
        await dropped.__anext__()
        del dropped
        assert await settled(lambda: st.counts()["cleanups"] == before + 2)
        left_running = st.buffered_counted(1_000_000, 4)
        await left_running.__anext__()
        return before, left_running

    before, left_running = trio.run(main)  # the run's end cancels the producer left running
    assert st.counts()["cleanups"] == before + 3
    del left_running


def test_a_cancel_scope_around_a_buffered_consumer_loses_no_item():
    async def main():
        items = st.buffered(st.slow_items(3, 0.02), 2)
        with trio.move_on_after(0.005) as scope:
            await items.__anext__()
        assert scope.cancelled_caught
        return [item async for item in items]

    assert trio.run(main) == [0, 1, 2]


def test_buffered_pulls_ahead_from_a_trio_async_generator():
    async def numbers():
        for number in range(5):
            await trio.sleep(0)
            yield number

    async def main():
        return [item async for item in st.buffered(numbers(), 2)]

    assert trio.run(main) == [0, 1, 2, 3, 4]


def test_python_awaited_from_cpp_sees_the_trio_tasks_context_variables():
    import contextvars

    request_id = contextvars.ContextVar("request_id", default="unset")

    async def read():
        await trio.sleep(0)
        return request_id.get()

    async def main(value):
        request_id.set(value)
        return await ex.await_py(read()), await ex.call_py(read), await ex.gather([read(), read()])

    assert trio.run(main, "first") == ("first", "first", ["first", "first"])
    assert trio.run(main, "second") == ("second", "second", ["second", "second"])


def test_a_frame_away_on_the_runtime_awaits_trio_through_the_trio_task():
    async def trio_side():
        await trio.sleep(0.001)
        return "from trio"

    async def main():
        value, ran_away = await away.await_python_away(trio_side)
        with pytest.raises(KeyError, match="raised under trio"):
            await away.await_failing_away(_fails_under_trio())
        return value, ran_away

    assert trio.run(main) == ("from trio", True)


async def _fails_under_trio():
    await trio.sleep(0)
    raise KeyError("raised under trio")


def test_outside_any_async_library_parking_names_both_libraries():
    coroutine = ex.sleep(0.001, "x")
    with pytest.raises(RuntimeError, match="await it from asyncio .* or from trio"):
        coroutine.send(None)
    coroutine.close()


def test_anyio_on_the_trio_backend():
    anyio = dependencies.require("anyio")

    async def main():
        results = []
        async with anyio.create_task_group() as group:
            for value in range(100):
                group.start_soon(lambda v=value: _append(results, ex.threaded_ready(v)))
        with anyio.move_on_after(0.01) as scope:
            await ex.sleep(10, "never")
        return sorted(results), scope.cancel_called, await ex.loop_sleep(0, "done")

    assert anyio.run(main, backend="trio") == (list(range(100)), True, "done")


async def _append(results, awaitable):
    results.append(await awaitable)


def test_the_same_functions_still_run_under_asyncio_after_trio():
    import asyncio

    trio.run(ex.sleep, 0.001, "trio first")
    assert asyncio.run(ex.sleep(0.001, "asyncio")) == "asyncio"
    assert asyncio.run(ex.loop_sleep(0.001, "loop")) == "loop"


def test_the_readme_example_runs():
    runpy.run_path(str(pathlib.Path(__file__).with_name("readme_trio.py")))
