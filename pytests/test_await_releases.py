"""A Python awaitable that C++ awaits, and the iterator awaited for it, are released by the time
the awaiting Python code continues: on every path out of the `co_await` (a result at once, after
a suspension, an error from the awaitable, from its `__await__`, or from a value that is not
awaitable), whether the C++ side owned the awaitable (`co_await fn()`) or borrowed it
(`co_await awaitable`, `await_as<int>(awaitable)`). Checked with weak references and no garbage
collection, so a reference kept past the await fails here under any interpreter."""
import asyncio
import gc
import weakref

import pytest

import pyasync_examples as ex
from _pyasync_tests import errors as e


class Iterator:
    """What an awaitable's `__await__` returns: yields `yields` times, then returns or raises a
    new `error` (an exception type: an instance kept here would hold, through its traceback, the
    frame that holds this iterator)."""

    def __init__(self, result, yields, error):
        self.result, self.yields, self.error = result, yields, error

    def __iter__(self):
        return self

    def __next__(self):
        if self.yields > 0:
            self.yields -= 1
            return None  # a bare yield: asyncio's Task runs the loop once
        if self.error is not None:
            raise self.error("from the iterator")
        raise StopIteration(self.result)


class Awaitable:
    iterators = []  # weak references to every iterator `__await__` made

    def __init__(self, result, yields=0, error=None, await_error=None):
        self.result, self.yields, self.error, self.await_error = result, yields, error, await_error

    def __await__(self):
        if self.await_error is not None:
            raise self.await_error("from __await__")
        iterator = Iterator(self.result, self.yields, self.error)
        Awaitable.iterators.append(weakref.ref(iterator))
        return iterator


async def returns(value):
    return value


async def suspends_then_returns(value):
    await asyncio.sleep(0)
    return value


async def raises():
    raise ValueError("from the coroutine")


class NotAwaitable:
    pass


# name: (factory of the awaited object, what awaiting it gives: a value or an exception type)
AWAITED = {
    "a coroutine returning at once": (lambda: returns(1), 1),
    "a coroutine suspending first": (lambda: suspends_then_returns(2), 2),
    "a coroutine raising": (raises, ValueError),
    "an awaitable returning at once": (lambda: Awaitable(3), 3),
    "an awaitable suspending first": (lambda: Awaitable(4, yields=2), 4),
    "an awaitable raising": (lambda: Awaitable(5, error=KeyError), KeyError),
    "an awaitable whose __await__ raises": (lambda: Awaitable(6, await_error=LookupError), LookupError),
    "a value that is not awaitable": (NotAwaitable, TypeError),
}


def released_after_await(make, await_from_cpp, outcome):
    """Awaits `make()` through `await_from_cpp`; returns the weak references to the awaited object
    and to its iterator, taken while they lived, after checking the outcome."""
    refs = Awaitable.iterators = []

    def make_and_watch():
        awaited = make()
        refs.append(weakref.ref(awaited))
        return awaited

    async def main():
        if isinstance(outcome, type):
            with pytest.raises(outcome):
                await await_from_cpp(make_and_watch)
        else:
            assert await await_from_cpp(make_and_watch) == outcome
        return [ref() is None for ref in refs]

    return main


# How C++ gets hold of the awaitable: owned (the call's result) or borrowed (an argument).
FRONTS = {
    "owned: co_await fn()": lambda make: ex.call_py(make),
    "borrowed: co_await awaitable": lambda make: ex.await_py(make()),
}


@pytest.mark.parametrize("front", sorted(FRONTS))
@pytest.mark.parametrize("name", sorted(AWAITED))
def test_the_awaited_object_and_its_iterator_are_released_when_the_await_returns(run, name, front):
    make, outcome = AWAITED[name]
    gc.disable()
    try:
        released = run(released_after_await(make, FRONTS[front], outcome)())
    finally:
        gc.enable()
    assert released and all(released), f"{name}, {front}: still referenced after the await: {released}"


@pytest.mark.parametrize("name", ["an awaitable returning at once", "an awaitable suspending first"])
def test_a_typed_await_releases_them_too(run, name):
    make, outcome = AWAITED[name]
    gc.disable()
    try:
        released = run(released_after_await(make, lambda m: e.await_int(m()), outcome)())
    finally:
        gc.enable()
    assert released == [True, True]
