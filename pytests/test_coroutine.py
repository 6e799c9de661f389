"""A C++ coroutine is a real Python coroutine: protocol, names, reuse, warnings, asyncio APIs."""
import asyncio
import collections.abc
import gc
import inspect
import warnings

import pytest
import pyasync_examples as ex


def test_is_a_coroutine_for_asyncio_and_inspect():
    coroutine = ex.ready(1)
    assert asyncio.iscoroutine(coroutine)
    assert inspect.isawaitable(coroutine)
    assert isinstance(coroutine, collections.abc.Coroutine)
    assert asyncio.iscoroutinefunction(ex.ready)
    coroutine.close()


def test_names_come_from_the_binding():
    coroutine = ex.ready(1)
    assert coroutine.__name__ == "ready"
    assert coroutine.__qualname__ == "ready"
    method_coroutine = ex.Counter().add(1)
    assert method_coroutine.__qualname__ == "Counter.add"
    method_coroutine.close()
    assert "ready" in repr(coroutine)
    coroutine.__name__ = "renamed"
    assert coroutine.__name__ == "renamed"
    with pytest.raises(TypeError, match="__name__ must be set to a string"):
        coroutine.__name__ = 3
    coroutine.close()


def test_asyncio_run_accepts_it_directly(run):
    assert run(ex.sleep(0.001, "direct")) == "direct"


def test_ready_finishes_on_the_first_send_without_yielding():
    coroutine = ex.ready(42)
    with pytest.raises(StopIteration) as stop:
        coroutine.send(None)
    assert stop.value.value == 42


def test_awaiting_twice_raises_the_reuse_error(run):
    coroutine = ex.ready(1)

    async def twice():
        assert await coroutine == 1
        await coroutine

    with pytest.raises(RuntimeError, match="cannot reuse already awaited coroutine"):
        run(twice())


def test_never_awaited_coroutine_warns_with_its_qualname():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ex.Counter().add(1)
        gc.collect()
    messages = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert messages == ["coroutine 'Counter.add' was never awaited"]


def test_closed_unstarted_coroutine_does_not_warn():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ex.ready(1).close()
        gc.collect()
    assert caught == []


def test_send_non_none_to_a_new_coroutine_is_a_type_error():
    coroutine = ex.ready(1)
    with pytest.raises(TypeError, match="can't send non-None value to a just-started coroutine"):
        coroutine.send(5)
    coroutine.close()


def test_throw_into_an_unstarted_coroutine_raises_it_and_finishes():
    coroutine = ex.sleep(1)
    with pytest.raises(KeyError, match="boom"):
        coroutine.throw(KeyError("boom"))
    with pytest.raises(RuntimeError, match="cannot reuse"):
        coroutine.send(None)


def test_cr_await_shows_what_it_waits_on(run):
    async def main():
        inner = asyncio.get_running_loop().create_future()
        coroutine = ex.await_py(inner)
        task = asyncio.ensure_future(coroutine)
        await asyncio.sleep(0)
        assert coroutine.cr_await is not None
        assert coroutine.cr_suspended and not coroutine.cr_running
        inner.set_result("resolved")
        assert await task == "resolved"
        assert coroutine.cr_await is None

    run(main())


def test_suspending_on_cpp_work_yields_one_exact_future():
    async def main():
        inner = ex.sleep(10)
        first = inner.send(None)
        assert type(first) is asyncio.Future
        assert first._asyncio_future_blocking
        inner.close()
        assert first.cancelled() or not first.done()

    asyncio.run(main())


def test_works_with_every_asyncio_combinator(run):
    async def main():
        assert await asyncio.gather(ex.ready(1), ex.sleep(0.001, 2), ex.await_py(asyncio.sleep(0, 3))) == [1, 2, 3]
        assert await asyncio.wait_for(ex.sleep(0.001, "in time"), timeout=5) == "in time"
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(ex.sleep(5), timeout=0.01)
        async with asyncio.timeout(5):
            assert await ex.sleep(0.001, "timeout ok") == "timeout ok"
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.01):
                await ex.sleep(5)
        assert await asyncio.shield(ex.sleep(0.001, "shielded")) == "shielded"
        async with asyncio.TaskGroup() as group:
            a = group.create_task(ex.sleep(0.002, "a"))
            b = group.create_task(ex.ready("b"))
        assert (a.result(), b.result()) == ("a", "b")
        assert await asyncio.create_task(ex.sleep(0.001, "task")) == "task"

    run(main())


def test_two_asyncio_runs_in_a_row(loop_name, run):
    assert run(ex.sleep(0.001, 1)) == 1
    assert run(ex.sleep(0.001, 2)) == 2
    assert asyncio.run(ex.sleep(0.001, 3)) == 3


def test_methods_keep_their_instance_alive(run):
    async def main():
        counter = ex.Counter()
        pending = counter.add(5)
        del counter
        gc.collect()
        return await pending

    assert run(main()) == 5


def test_the_method_receiver_is_shared_state(run):
    async def main():
        counter = ex.Counter()
        assert await counter.add(2) == 2
        assert await counter.add(3) == 5
        assert counter.total == 5
        totals = await asyncio.gather(*(counter.add(1) for _ in range(10)))
        assert sorted(totals) == list(range(6, 16))

    run(main())


def test_a_recycled_coroutine_object_starts_fresh(run):
    # Finished coroutine objects are kept for reuse: the next one must not inherit the last one's
    # state, names, suspension or "finished" flag.
    async def many():
        for i in range(200):
            assert await ex.ready(i) == i
        fresh = ex.zero()
        assert (fresh.__name__, fresh.__qualname__) == ("zero", "zero")
        assert fresh.cr_await is None and not fresh.cr_running and not fresh.cr_suspended
        assert await fresh == 0
        with pytest.raises(RuntimeError, match="cannot reuse already awaited coroutine"):
            await fresh
        counter = ex.Counter()
        assert await counter.add(2) == 2  # a method's coroutine keeps its instance alive
        return [await ex.ready(i) for i in range(3)]

    assert run(many()) == [0, 1, 2]


def test_a_recycled_coroutine_object_forgets_what_its_last_coroutine_held(run):
    # A recycled object keeps its driver: whatever the last coroutine set (a parked wait and its
    # loop, a cancellation, an async generator's mode, names set from Python) must not reach the
    # next one.
    async def churn_then_check():
        assert await ex.sleep(0.001, "parked") == "parked"
        cancelled = asyncio.ensure_future(ex.sleep(10, "never"))
        await asyncio.sleep(0)
        cancelled.cancel()
        with pytest.raises(asyncio.CancelledError):
            await cancelled
        assert [item async for item in ex.countdown(3)] == [2, 1, 0]
        renamed = ex.ready(5)
        renamed.__name__ = "renamed"
        renamed.__qualname__ = "renamed.qualname"
        assert await renamed == 5
        del renamed
        for i in range(100):
            fresh = ex.ready(i)
            assert (fresh.__name__, fresh.__qualname__) == ("ready", "ready")
            assert fresh.cr_await is None and not fresh.cr_running and not fresh.cr_suspended
            assert await fresh == i
        # A recycled object serves a wait again: it parks, and is woken, on this loop.
        assert await ex.sleep(0.001, "again") == "again"

    run(churn_then_check())


def test_never_awaited_warnings_still_come_after_objects_were_recycled_and_finalized():
    # The finalizer of a never-awaited coroutine marks the object; such an object must not be
    # recycled, or the next coroutine in its memory would never warn.
    async def churn():
        for i in range(100):
            await ex.ready(i)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            asyncio.run(churn())
            ex.ready(1)  # never awaited: warns, and is finalized
            suspended_in_a_cycle()  # finalized by the GC
            gc.collect()
            ex.zero()
    messages = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert messages == ["coroutine 'ready' was never awaited", "coroutine 'zero' was never awaited"] * 3


class Waiter:
    """Suspends its awaiter once; `owner` closes a reference cycle through the awaiter."""

    owner = None

    def __await__(self):
        yield self


def suspended_in_a_cycle():
    waiter = Waiter()
    coroutine = ex.await_py(waiter)
    assert coroutine.send(None) is waiter  # suspended, so tracked by the GC
    waiter.owner = coroutine


def test_a_weak_reference_to_a_finished_coroutine_is_cleared_when_it_goes(run):
    import weakref

    cleared = []
    coroutine = ex.ready(5)
    reference = weakref.ref(coroutine, lambda _: cleared.append(True))

    assert run(await_it(coroutine)) == 5
    del coroutine
    assert reference() is None and cleared == [True]
    assert run(await_it(ex.ready(6))) == 6


async def await_it(awaitable):
    return await awaitable
