"""Streams both ways: a C++ async generator is a Python async iterator (async for, aclose,
cancellation, backpressure), and C++ consumes Python async iterators (items, errors at the call
site, aclose on early exit). Every test on asyncio and uvloop."""
import asyncio
import gc

import pytest

from conftest import settle
import pyasync_examples as ex
from _pyasync_tests import streams as s


async def loop_turns(count=20):
    """Lets the loop run `count` times: whatever is ready on the loop thread runs."""
    for _ in range(count):
        await asyncio.sleep(0)


async def python_countdown(n):
    for i in range(n - 1, -1, -1):
        yield i


def test_async_for_over_a_cpp_generator(run):
    async def main():
        return [i async for i in ex.countdown(5)], [i async for i in ex.countdown(0)]
    assert run(main()) == ([4, 3, 2, 1, 0], [])


def test_items_may_await_between_them(run):
    async def doubled(i):
        await asyncio.sleep(0)
        return i * 2

    async def main():
        return [item async for item in s.with_awaits(doubled)]
    assert run(main()) == ["0", "2", "4"]


def test_items_produced_away_are_delivered_on_the_loop(run):
    async def main():
        return [thread async for thread in s.produced_away(3)]
    threads = run(main())
    assert len(threads) == 3 and s.main_thread() not in threads


def test_an_exception_ends_the_stream_at_the_consumer(run):
    async def main():
        seen = []
        with pytest.raises(ValueError, match="stream broke"):
            async for i in s.fails_after(2, "stream broke"):
                seen.append(i)
        return seen
    assert run(main()) == [0, 1]


def test_the_end_is_reported_again_and_again(run):
    async def main():
        generator = ex.countdown(1)
        assert await generator.__anext__() == 0
        for _ in range(2):
            with pytest.raises(StopAsyncIteration):
                await generator.__anext__()
    run(main())


def test_the_producer_never_runs_ahead_of_the_consumer(run):
    async def main():
        before = s.counts()["produced"]
        generator = s.counted(1_000)
        assert [await generator.__anext__() for _ in range(3)] == [0, 1, 2]
        assert s.counts()["produced"] - before == 3
        await generator.aclose()
    run(main())


def test_aclose_and_dropping_run_the_cpp_cleanup(run):
    async def main():
        before = s.counts()["cleanups"]
        generator = s.counted(10)
        await generator.__anext__()
        await generator.aclose()
        assert s.counts()["cleanups"] == before + 1
        with pytest.raises(StopAsyncIteration):
            await generator.__anext__()
        dropped = s.counted(10)
        await dropped.__anext__()
        del dropped
        gc.collect()
        assert s.counts()["cleanups"] == before + 2
        never_iterated = s.counted(10)  # no "never awaited" warning, no cleanup needed beyond the frame
        del never_iterated
    run(main())


def test_cancelling_the_consumer_cancels_the_generator_where_it_waits(run):
    async def main():
        before = s.counts()
        generator = s.slow_second()

        async def consume():
            return [item async for item in generator]
        task = asyncio.ensure_future(consume())
        assert await settle(lambda: s.pending() == 1)  # item 1 consumed, the frame sleeps on a timer
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        after = s.counts()
        assert after["cancellations"] == before["cancellations"] + 1
        assert after["cleanups"] == before["cleanups"] + 1
        assert await settle(lambda: s.pending() == 0)
    run(main())


def test_cancelling_while_the_generator_makes_an_item_away_raises_from_that_anext(run):
    async def main():
        before = s.counts()["cleanups"]
        generator = s.gated_away()
        waiting = asyncio.ensure_future(generator.__anext__())
        assert await settle(s.away_spinning)  # the frame is making item 0 on a worker
        waiting.cancel()
        await loop_turns(3)
        s.release_away()
        with pytest.raises(asyncio.CancelledError):
            await waiting  # not item 0: the cancellation is not lost when the frame comes home
        s.release_away()
        assert await generator.__anext__() == 1  # the frame stayed at its co_yield, item 0 dropped
        await generator.aclose()
        assert s.counts()["cleanups"] == before + 1
    run(main())


def test_a_second_anext_while_one_is_pending_is_refused(run):
    async def main():
        generator = s.slow_second()
        assert await generator.__anext__() == 1
        pending = asyncio.ensure_future(generator.__anext__())
        await asyncio.sleep(0.01)
        with pytest.raises(RuntimeError, match="already"):
            await generator.__anext__()
        with pytest.raises(RuntimeError, match="aclose\\(\\): asynchronous generator is already running"):
            generator.aclose()
        pending.cancel()
        with pytest.raises(asyncio.CancelledError):
            await pending
    run(main())


def test_cpp_collects_python_and_cpp_async_iterators(run):
    async def main():
        return await ex.collect(python_countdown(4)), await ex.collect(ex.countdown(3))
    assert run(main()) == ([3, 2, 1, 0], [2, 1, 0])


def test_a_python_iterator_error_arrives_at_the_cpp_call_site(run):
    async def broken():
        yield 1
        raise KeyError("python side")

    with pytest.raises(KeyError, match="python side"):
        run(ex.collect(broken()))


def test_an_item_of_the_wrong_type_is_named(run):
    async def mixed():
        yield 1
        yield "two"

    with pytest.raises(TypeError, match="returned str, which does not convert to long"):
        run(s.sum_items(mixed()))


def test_a_non_iterable_is_refused_with_its_type():
    with pytest.raises(TypeError, match="expected an async iterable .* got int"):
        asyncio.run(ex.collect(42))


@pytest.mark.parametrize("take", ["take", "take_and_close"])
def test_early_exit_from_cpp_closes_the_python_generator(run, take):
    closed = []

    async def endless():
        try:
            i = 0
            while True:
                yield i
                i += 1
        finally:
            await asyncio.sleep(0)  # async clean-up is allowed
            closed.append(True)

    async def main():
        items = await getattr(s, take)(endless(), 3)
        assert await settle(lambda: closed == [True])
        return items
    assert run(main()) == [0, 1, 2]


# --- pyasync::buffered: a producer that runs ahead of its consumer, up to a bound ---

@pytest.mark.parametrize("make", [lambda n, c: s.buffered_counted(n, c),
                                  lambda n, c: s.buffered(s.counted_away(n), c)],
                         ids=["on_the_loop", "produced_away"])
def test_buffered_producer_runs_ahead_but_never_more_than_its_capacity(run, make):
    async def main():
        before = s.counts()["produced"]
        ahead = []  # produced minus taken, seen after each item once the loop settled
        items = make(1_000, 6)
        await loop_turns()
        assert s.counts()["produced"] == before  # lazy: nothing before the first __anext__
        ahead_of = lambda taken: s.counts()["produced"] - before - taken
        for taken in range(1, 21):
            assert await items.__anext__() == taken - 1
            assert await settle(lambda: ahead_of(taken) >= 3)  # refilled whenever drained to half
            await loop_turns()
            ahead.append(ahead_of(taken))
        taken = 20
        while ahead_of(taken) > 3:  # drain to half, so the producer refills
            await items.__anext__()
            taken += 1
        assert await settle(lambda: ahead_of(taken) == 6)  # refilled up to the capacity
        await loop_turns()
        ahead.append(ahead_of(taken))
        await items.aclose()
        return ahead
    ahead = run(main())
    assert max(ahead) == 6  # never more than `capacity` ahead of the consumer


def test_buffered_producer_refills_once_drained_to_half(run):
    async def main():
        before = s.counts()["produced"]
        produced = lambda: s.counts()["produced"] - before
        items = s.buffered_counted(1_000, 6)
        assert await items.__anext__() == 0
        assert await settle(lambda: produced() == 6)  # filled at once: 1 taken, 5 ready
        await loop_turns()
        assert produced() == 6
        assert await items.__anext__() == 1  # 4 ready: above half, the producer still waits
        await loop_turns()
        assert produced() == 6
        assert await items.__anext__() == 2  # 3 ready: half, the producer refills to 6 ready
        assert await settle(lambda: produced() == 3 + 6)
        await loop_turns()
        assert produced() == 3 + 6
        await items.aclose()
    run(main())


def test_buffered_delivers_every_item_in_order_then_ends_again_and_again(run):
    async def main():
        items = s.buffered_counted(100, 8)
        collected = [i async for i in items]
        for _ in range(2):
            with pytest.raises(StopAsyncIteration):
                await items.__anext__()
        return collected
    assert run(main()) == list(range(100))


def test_buffered_error_arrives_after_the_items_before_it(run):
    async def main():
        items = s.buffered(s.fails_after(3, "producer broke"), 2)
        got = [await items.__anext__() for _ in range(3)]
        with pytest.raises(ValueError, match="producer broke"):
            await items.__anext__()
        with pytest.raises(StopAsyncIteration):
            await items.__anext__()
        return got
    assert run(main()) == [0, 1, 2]


def test_buffered_aclose_stops_the_producer_and_runs_its_cleanup_before_returning(run):
    async def main():
        before = s.counts()["cleanups"]
        items = s.buffered_counted(1_000_000, 4)
        await items.__anext__()
        await items.aclose()
        assert s.counts()["cleanups"] == before + 1
        with pytest.raises(StopAsyncIteration):
            await items.__anext__()
        never_started = s.buffered_counted(10, 4)
        await never_started.aclose()  # the source is closed without a pump
        assert s.counts()["cleanups"] == before + 1  # that generator never ran: no guard existed
    run(main())


def test_dropping_a_buffered_iterator_stops_the_producer(run):
    async def main():
        before = s.counts()["cleanups"]
        items = s.buffered_counted(1_000_000, 4)
        await items.__anext__()
        del items
        gc.collect()
        assert await settle(lambda: s.counts()["cleanups"] == before + 1)
        assert not [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    run(main())


def test_cancelling_a_buffered_consumer_loses_no_item(run):
    async def main():
        items = s.buffered(s.slow_items(3, 0.02), 2)
        first = asyncio.ensure_future(items.__anext__())
        await loop_turns(3)
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        rest = [i async for i in items]
        return rest
    assert run(main()) == [0, 1, 2]


def test_a_second_buffered_anext_while_one_waits_is_refused(run):
    async def main():
        items = s.buffered(s.slow_items(2, 0.05), 1)
        waiting = asyncio.ensure_future(items.__anext__())
        await loop_turns(3)
        with pytest.raises(RuntimeError, match="already running; await one item at a time"):
            await items.__anext__()
        assert await waiting == 0
        await items.aclose()
    run(main())


def test_buffered_pulls_ahead_from_a_python_async_generator(run):
    pulled = []

    async def numbers():
        for i in range(10):
            pulled.append(i)
            yield i

    async def main():
        items = s.buffered(numbers(), 3)
        assert await items.__anext__() == 0
        assert await settle(lambda: len(pulled) == 3)  # the capacity, while 1 was taken
        return [0] + [i async for i in items]
    assert run(main()) == list(range(10))


def test_buffered_refuses_a_zero_capacity_and_a_non_iterator():
    with pytest.raises(ValueError, match="capacity must be at least 1 .*; got 0"):
        s.buffered(python_countdown(3), 0)
    with pytest.raises(TypeError, match="expected an async iterator with __anext__ and aclose .*, got list"):
        s.buffered([1, 2], 4)
