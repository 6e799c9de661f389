"""Applications: pyasync::run, run_until_complete, PYASYNC_MAIN (the demo and a probe program)."""
import asyncio
import gc
import os
import subprocess

import pytest
from _pyasync_tests import run as r

import dependencies


@pytest.mark.parametrize("factory, module", [("asyncio", "asyncio.unix_events"), ("uvloop", "uvloop")])
def test_run_twice_in_a_row_with_values_of_any_cpp_type(factory, module):
    if factory == "uvloop":
        dependencies.require("uvloop")
    assert r.run_twice(factory) == (3, 7, 17, module)


def test_run_keeps_the_cpp_exception_type():
    assert r.run_keeps_cpp_exception_type() == "caught std::length_error: C++ type kept"


def test_run_until_complete_on_a_given_loop():
    loop = asyncio.new_event_loop()
    try:
        assert r.run_until_complete(loop) == 42
        assert r.run_until_complete(loop) == 42
    finally:
        loop.close()


def test_an_unknown_loop_factory_names_the_accepted_forms():
    with pytest.raises(ValueError, match="expected 'asyncio', 'uvloop' or 'module:callable'"):
        r.resolve_loop_factory("tokio")
    assert r.resolve_loop_factory("asyncio:new_event_loop") is asyncio.new_event_loop
    dependencies.require("uvloop")
    assert r.resolve_loop_factory("uvloop:new_event_loop") is not None


def run_program(variable, *args, **environment):
    program = os.environ.get(variable)
    if not program:
        pytest.skip(f"{variable} is not set (run through ctest)")
    return subprocess.run([program, *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **environment})


def test_the_demo_runs_with_asyncio_on_the_main_thread():
    done = run_program("PYASYNC_DEMO")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "[C++ ] Python's py_side(7) returned 50" in out
    assert "gathered 3 Python coroutines concurrently from C++" in out
    assert "guarded_wait was cancelled at its co_await" in out
    assert "caught the Python exception in C++: KeyError" in out
    assert out.rstrip().endswith("[C++ ] done")


@pytest.mark.parametrize(
    "mode, status, stderr_has",
    [
        ("ok", 0, None),
        ("status", 3, None),
        ("python-error", 1, "ValueError: from python in main"),
        ("cpp-error", 1, "RuntimeError: from C++ in main"),
    ],
)
def test_pyasync_main_exit_status_and_traceback(mode, status, stderr_has):
    done = run_program("PYASYNC_MAIN_PROBE", mode)
    assert done.returncode == status, done.stderr
    if stderr_has:
        assert "Traceback (most recent call last)" in done.stderr
        assert stderr_has in done.stderr
    else:
        assert done.stderr == ""


def test_pyasync_main_python_error_traceback_shows_the_python_frame():
    done = run_program("PYASYNC_MAIN_PROBE", "python-error")
    assert "in broken" in done.stderr


def test_pyasync_main_cpp_error_names_its_origin():
    done = run_program("PYASYNC_MAIN_PROBE", "cpp-error")
    assert "raised in C++ coroutine" in done.stderr and "main_probe_.cpp" in done.stderr


@pytest.mark.parametrize("factory, module", [("uvloop", "uvloop"), ("asyncio", "asyncio.unix_events")])
def test_pyasync_main_loop_factory_from_the_environment(factory, module):
    if factory == "uvloop":
        dependencies.require("uvloop")
    done = run_program("PYASYNC_MAIN_PROBE", "loop", PYASYNC_LOOP=factory)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == module


def test_pyasync_main_rejects_an_unknown_loop_factory():
    done = run_program("PYASYNC_MAIN_PROBE", "loop", PYASYNC_LOOP="nonsense")
    assert done.returncode == 1
    assert "unknown loop factory 'nonsense'" in done.stderr


def test_a_loop_factory_that_does_not_import_leaves_no_coroutine_unawaited(unraisable):
    # The coroutine run() wraps the C++ task in never starts: it is closed, not left for the
    # garbage collector to report as "never awaited" in whatever test runs next.
    with pytest.raises(ModuleNotFoundError, match="no_such_loop_module"):
        r.run_twice("no_such_loop_module:new_event_loop")
    gc.collect()
    assert [str(report.exc_value) for report in unraisable] == []
    done = run_program("PYASYNC_MAIN_PROBE", "loop", PYASYNC_LOOP="no_such_loop_module:new_event_loop")
    assert done.returncode == 1
    assert "No module named 'no_such_loop_module'" in done.stderr
    assert "never awaited" not in done.stderr, done.stderr
