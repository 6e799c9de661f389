"""pyasync::call(fn, args...): a task calls a Python callable with one vectorcall and awaits what it
returns. Arguments arrive converted and in order, bound methods get their instance, conversion
failures and the callee's errors reach Python with their types, and no reference is leaked."""
import sys

import pytest

from _pyasync_tests import call as c


def test_a_coroutine_function_gets_converted_arguments_in_order(run):
    async def record(*args):
        return args

    token = object()
    assert run(c.await_call(record, 7, "seven", [7, 77], token)) == (7, "seven", [7, 77], token)


def test_a_coroutine_function_without_arguments(run):
    async def answer():
        return 42

    assert run(c.await_call_no_arguments(answer)) == 42


def test_a_bound_method_receives_its_instance_first(run):
    class Greeter:
        def __init__(self):
            self.seen = []

        async def greet(self, *args):
            self.seen.append(args[:2])
            return f"{args[1]} x{args[0]}"

    greeter = Greeter()
    assert run(c.await_call(greeter.greet, 3, "hi", [], None)) == "hi x3"
    assert greeter.seen == [(3, "hi")]


def test_an_error_raised_by_the_call_itself_reaches_python_with_its_type(run):
    async def takes_one(only):
        return only

    with pytest.raises(TypeError, match="takes 1 positional argument but 4 were given"):
        run(c.await_call(takes_one, 1, "a", [], None))


def test_an_error_raised_by_the_awaited_coroutine_reaches_python_with_its_type(run):
    async def fails(*args):
        raise LookupError(f"no {args[1]}")

    with pytest.raises(LookupError, match="no key"):
        run(c.await_call(fails, 1, "key", [], None))


def test_an_argument_that_does_not_convert_names_its_position_and_type_and_calls_nothing(run):
    called = []
    token = object()
    before = sys.getrefcount(token)
    with pytest.raises(TypeError, match=r"pyasync::call: argument 2 \(C\+\+ type .*unregistered\) cannot be "
                                        r"converted to a Python object") as raised:
        run(c.call_with_unconvertible(lambda *args: called.append(args), token))
    assert "Unregistered type" in str(raised.value.__cause__)  # pybind11's own reason
    assert called == []
    del raised
    assert sys.getrefcount(token) == before  # the argument converted before the failure is released


def test_references_to_arguments_are_released_after_the_call():
    token = object()
    before = sys.getrefcount(token)
    for _ in range(100):
        assert c.call_now(lambda value: value, [token]) is token
    assert sys.getrefcount(token) == before


def test_a_plain_function_is_called_at_once_with_its_errors_as_python_errors():
    assert c.call_now(lambda left, right: left + right, [2, 3]) == 5
    with pytest.raises(ZeroDivisionError):
        c.call_now(lambda left, right: left / right, [1, 0])
