"""Errors both ways, with types, messages, notes and traceback frames."""
import asyncio
import re
import traceback

import pytest
import pyasync_examples as ex  # creates the shared `pyasync` module
import pyasync  # noqa: E402  (after a pyasync-built module)
from _pyasync_tests import errors as e


@pytest.mark.parametrize(
    "kind, python_type",
    [
        ("value", ValueError),
        ("domain", ValueError),
        ("runtime", RuntimeError),
        ("type", TypeError),
        ("key", KeyError),
        ("index", IndexError),
        ("overflow", OverflowError),
        ("memory", MemoryError),
    ],
)
def test_cpp_exceptions_map_to_python_types_with_an_origin_note(run, kind, python_type):
    with pytest.raises(python_type) as info:
        run(ex.fail(kind, "the message"))
    assert type(info.value) is python_type
    if kind not in ("memory",):
        assert "the message" in str(info.value)
    (note,) = info.value.__notes__
    # The function's own name, the same under GCC and Clang (no namespace: the file and line
    # say where it is).
    assert re.fullmatch(r"raised in C\+\+ coroutine fail at \S*/pyasync_examples\.cpp:\d+", note), note


def test_a_non_std_exception_becomes_cpp_error_naming_its_type(run):
    with pytest.raises(pyasync.CppError, match=r"examples::not_a_std_exception \(not a std::exception\)"):
        run(ex.fail("other", "x"))
    assert issubclass(pyasync.CppError, RuntimeError)
    assert ex.CppError is pyasync.CppError


def test_python_exception_caught_in_cpp_keeps_type_value_and_traceback(run):
    async def raises():
        raise KeyError("from python")

    assert run(e.catch_python(raises())) == "KeyError: 'from python' (with traceback)"


def test_python_to_cpp_to_python_keeps_the_original_traceback_frames(run):
    async def deepest_python_frame():
        await asyncio.sleep(0)
        raise LookupError("original")

    with pytest.raises(LookupError, match="original") as info:
        run(e.pass_through(deepest_python_frame()))
    frames = [frame.name for frame in traceback.extract_tb(info.value.__traceback__)]
    assert "deepest_python_frame" in frames
    assert not getattr(info.value, "__notes__", None)  # a Python error gets no C++ note


def test_awaiting_a_non_awaitable_is_a_type_error_naming_its_type(run):
    with pytest.raises(TypeError, match="expected an awaitable .* got int object"):
        run(e.await_not_awaitable(5))


def test_typed_await_names_both_types_when_conversion_fails(run):
    async def text():
        return "not a number"

    with pytest.raises(TypeError, match="returned str, which does not convert to int"):
        run(e.await_int(text()))
    async def number():
        return 12

    assert run(e.await_int(number())) == 12


def test_bad_argument_types_name_expected_and_given(run):
    with pytest.raises(TypeError, match=r"sleep\(\): argument 'seconds' \(pos 1\) must be float, not str"):
        ex.sleep("soon")
    with pytest.raises(TypeError, match=r"fail\(\) missing required argument 'message' \(pos 2\)"):
        ex.fail("value")
    with pytest.raises(TypeError, match=r"ready\(\) got an unexpected keyword argument 'valu'"):
        ex.ready(valu=1)
    with pytest.raises(TypeError, match=r"ready\(\) takes 1 positional argument but 2 were given"):
        ex.ready(1, 2)
    with pytest.raises(TypeError, match=r"ready\(\) got multiple values for argument 'value'"):
        ex.ready(1, value=2)


def test_keywords_defaults_and_varargs(run):
    assert run(ex.sleep(seconds=0, result="kw")) == "kw"
    assert run(ex.sleep(0)) is None

    async def add(a, b):
        return a + b

    assert run(ex.call_py(add, 2, 3)) == 5
    assert "sleep(seconds, result=None)" in ex.sleep.__doc__


def test_no_running_loop_is_a_clear_error():
    coroutine = ex.sleep(0.1)
    with pytest.raises(RuntimeError, match="needs the running event loop, but no loop is running"):
        coroutine.send(None)
