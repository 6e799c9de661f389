"""The pyasync package: runtime configuration, pyasync.run and the loop-factory helpers the
harness and PYASYNC_MAIN share, and type stubs that match the native core."""
import ast
import asyncio
import pathlib

import pytest

import dependencies
from conftest import fresh_python as python

import pyasync
import pyasync_examples as ex
from pyasync import _core


def test_configure_runtime_sets_threads_and_spin_until_the_runtime_starts():
    result = python("""
        import asyncio, pyasync, pyasync_examples as ex
        pyasync.configure_runtime(threads=3, spin_us=0)
        print(pyasync.runtime_info())
        print(asyncio.run(ex.threaded_ready("hop")), pyasync.runtime_info())
        try:
            pyasync.configure_runtime(threads=4)
        except RuntimeError as error:
            print(error)
    """, PYASYNC_THREADS="7")
    assert result.returncode == 0, result.stderr
    before, after, refused = result.stdout.splitlines()
    assert before == "{'started': False, 'engine': 'asio', 'threads': 3, 'spin_us': 0}"
    assert after == "hop {'started': True, 'engine': 'asio', 'threads': 3, 'spin_us': 0}"
    assert refused.startswith("pyasync: the default runtime has already started (3 threads, spin 0 us), so its "
                              "settings can no longer change: configure it before any C++ work runs"), refused


def test_the_environment_variables_still_configure_the_runtime():
    result = python("import pyasync; print(pyasync.runtime_info()['threads'], pyasync.runtime_info()['spin_us'])",
                    PYASYNC_THREADS="5", PYASYNC_SPIN_US="20")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["5", "20"]


def test_a_malformed_environment_variable_is_named():
    result = python("""
        import pyasync
        try:
            pyasync.runtime_info()
        except ValueError as error:
            print(error)
    """, PYASYNC_THREADS="many")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "PYASYNC_THREADS is 'many': expected a whole number of threads from 1 to 1024"


@pytest.mark.parametrize("arguments, error, message", [
    ({"threads": 0}, ValueError, "threads is 0: expected a whole number of threads from 1 to 1024"),
    ({"threads": 1025}, ValueError, "threads is 1025: expected a whole number of threads from 1 to 1024"),
    ({"spin_us": -1}, ValueError, "spin is -1 us: expected a whole number of microseconds from 0 to 100000"),
    ({"spin_us": 100_001}, ValueError, "spin is 100001 us: expected a whole number of microseconds from 0 to 100000"),
    ({"threads": "2"}, TypeError, "configure_runtime: threads must be an int or None, not str"),
    ({"spin_us": True}, TypeError, "configure_runtime: spin_us must be an int or None, not bool"),
])
def test_configure_runtime_refuses_bad_values(arguments, error, message):
    with pytest.raises(error) as raised:
        pyasync.configure_runtime(**arguments)
    assert str(raised.value) == message


def test_run_drives_a_cpp_coroutine_on_the_named_loop():
    assert pyasync.run(ex.ready(5)) == 5

    async def loop_kind():
        await ex.sleep(0.001, None)
        return type(asyncio.get_running_loop()).__module__

    assert pyasync.run(loop_kind(), loop_factory="asyncio").startswith("asyncio")
    assert pyasync.run(loop_kind(), loop_factory=asyncio.new_event_loop).startswith("asyncio")
    dependencies.require("uvloop")
    assert pyasync.run(loop_kind(), loop_factory="uvloop") == "uvloop"


def test_run_cancels_leftover_tasks_and_closes_its_loop():
    seen = {}

    async def main():
        async def leftover():
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                seen["cancelled"] = True
                raise
        asyncio.ensure_future(leftover())
        await asyncio.sleep(0)
        seen["loop"] = asyncio.get_running_loop()
        return "done"

    assert pyasync.run(main(), debug=True) == "done"
    assert seen["cancelled"] and seen["loop"].is_closed()


def test_run_raises_what_the_coroutine_raises():
    with pytest.raises(ValueError, match="from C\\+\\+"):
        pyasync.run(ex.fail("value", "from C++"))


def test_loop_factory_resolves_names_callables_and_module_paths():
    assert pyasync.loop_factory(None) is None and pyasync.loop_factory("asyncio") is None
    assert pyasync.loop_factory("asyncio:new_event_loop") is asyncio.new_event_loop
    uvloop = dependencies.require("uvloop")
    assert pyasync.loop_factory("uvloop") is uvloop.new_event_loop
    assert pyasync.loop_factory(uvloop.new_event_loop) is uvloop.new_event_loop
    loop = pyasync.new_event_loop("uvloop")
    try:
        assert isinstance(loop, uvloop.Loop)
    finally:
        loop.close()


@pytest.mark.parametrize("spec, error, message", [
    ("tokio", ValueError, "pyasync: unknown loop factory 'tokio': expected 'asyncio', 'uvloop' or 'module:callable'"),
    ("no_such_module:new_loop", ImportError, "No module named 'no_such_module'"),
    ("asyncio:no_such_callable", AttributeError, "no_such_callable"),
    ("asyncio:events", TypeError, "pyasync: loop factory 'asyncio:events' is not callable"),
    (42, TypeError, "loop_factory: expected None, a callable or a string ('asyncio', 'uvloop', 'module:callable'), "
                    "got int"),
])
def test_loop_factory_names_what_it_expected(spec, error, message):
    with pytest.raises(error) as raised:
        pyasync.loop_factory(spec)
    assert message in str(raised.value)


def test_the_type_stubs_name_exactly_what_the_core_exports():
    stub = pathlib.Path(_core.__file__).with_name("_core.pyi")
    tree = ast.parse(stub.read_text())
    stubbed = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            stubbed.add(node.name)
        elif isinstance(node, ast.AnnAssign):
            stubbed.add(node.target.id)
    stubbed = {name for name in stubbed if not name.startswith("_") or name == "__version__"}
    exported = {name for name in dir(_core) if not name.startswith("_") or name == "__version__"}
    assert stubbed == exported
    assert (stub.parent / "py.typed").exists()
    assert set(pyasync.__all__) <= set(dir(pyasync))
