"""One bridge per process: two extension modules (_pyasync_tests and _pyasync_peer), the
pyasync package and pyasync_examples share one runtime, one completion queue per loop, one
pending() count, one coroutine type and one CppError; mismatched libraries refuse to import."""
import asyncio
import sys

import pytest

from conftest import fresh_python as python

import pyasync
import pyasync_examples as ex
import _pyasync_peer as peer
from _pyasync_tests import one_bridge as tests_side


def test_both_modules_use_one_runtime_and_one_completion_queue_per_loop(run):
    assert tests_side.runtime_address() == peer.runtime_address()
    assert tests_side.runtime_threads() == peer.runtime_threads() == pyasync.runtime_info()["threads"]

    async def queues():
        loop = asyncio.get_running_loop()
        return tests_side.queue_address(loop), peer.queue_address(loop)

    mine, theirs = run(queues())
    assert mine == theirs


def test_pending_counts_work_of_every_module(run):
    async def main():
        held = asyncio.ensure_future(peer.hold_on_runtime(0.2))
        await asyncio.sleep(0.05)
        during = (pyasync.pending(), tests_side.pending(), ex.pending(), peer.pending())
        await held
        return during

    during = run(main())
    assert during[0] >= 1 and len(set(during)) == 1, during
    assert pyasync.pending() == tests_side.pending() == peer.pending() == 0


def test_a_coroutine_of_one_module_is_awaited_by_the_other_natively(run):
    theirs, mine = peer.ready(1), tests_side.ready(2)
    assert type(theirs) is type(mine) is pyasync.coroutine
    examples_coroutine = ex.ready(3)
    assert type(examples_coroutine) is pyasync.coroutine
    examples_coroutine.close()
    assert isinstance(mine, pyasync.coroutine) and asyncio.iscoroutine(mine)
    assert run(tests_side.await_value(theirs)) == 1
    assert run(peer.await_value(mine)) == 2
    assert run(peer.await_value(ex.sleep(0.01, "slept"))) == "slept"


def test_one_cpp_error_class_whichever_module_raises(run):
    assert tests_side.cpp_error() is peer.cpp_error() is ex.CppError is pyasync.CppError
    assert pyasync.CppError.__module__ == "pyasync" and issubclass(pyasync.CppError, RuntimeError)
    for module in (tests_side, peer):
        with pytest.raises(pyasync.CppError, match=r"not_a_std_exception \(not a std::exception\)"):
            run(module.throw_unknown())


def test_import_pyasync_alone_loads_no_extension_module():
    result = python("""
        import sys, pyasync
        print(pyasync.__version__, pyasync.abi_version, pyasync.CppError.__qualname__,
              pyasync.coroutine.__name__, pyasync.pending())
        print(sorted(name for name in sys.modules if name.startswith(("pyasync_", "_pyasync"))))
    """)
    assert result.returncode == 0, result.stderr
    first, modules = result.stdout.splitlines()
    assert first.split()[0] == pyasync.__version__
    assert first.split()[1:] == [str(pyasync.abi_version), "CppError", "coroutine", "0"]
    assert modules == "[]"
    assert pyasync.library_path.endswith(f"libpyasync.so.{pyasync.abi_version}")


def test_an_extension_module_imported_before_pyasync_shares_its_classes():
    result = python("""
        import pyasync_examples as ex, asyncio
        coroutine = ex.ready(1)
        import pyasync
        print(ex.CppError is pyasync.CppError, type(coroutine) is pyasync.coroutine, asyncio.run(coroutine))
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True", "1"]


def test_a_module_claiming_another_abi_refuses_to_import():
    with pytest.raises(ImportError) as raised:
        import _pyasync_abi_mismatch  # noqa: F401
    message = str(raised.value)
    assert message.startswith("pyasync: module '_pyasync_abi_mismatch' was built against pyasync 9.9.9 "
                              f"(ABI {pyasync.abi_version + 1}), but it loaded pyasync {pyasync.__version__} "
                              f"(ABI {pyasync.abi_version}, {pyasync.library_path})"), message
    assert f"Rebuild '_pyasync_abi_mismatch' against pyasync {pyasync.__version__}" in message
    assert "_pyasync_abi_mismatch" not in sys.modules


def test_a_module_of_a_second_pyasync_library_refuses_to_import():
    result = python("""
        import _pyasync_peer
        _pyasync_peer.pretend_another_bridge_runs()
        try:
            import pyasync_examples
        except ImportError as error:
            print(error)
        else:
            print("imported")
    """)
    assert result.returncode == 0, result.stderr
    message = result.stdout.strip()
    assert message.startswith(f"pyasync: module 'pyasync_examples' loads pyasync {pyasync.__version__} "
                              f"(ABI {pyasync.abi_version}, {pyasync.library_path}), but this process already "
                              "runs pyasync 0.0.9 (ABI 0, /elsewhere/libpyasync.so.0)"), message
    assert "Rebuild module 'pyasync_examples' against pyasync 0.0.9" in message


# Asio's per-thread scheduler state (pyasync/detail/asio_thread_state.hpp): a module's own copy
# under LTO made Asio code of that module crash on a runtime thread.
ASIO_THREAD_STATE = ("_ZN4asio6detail10call_stackINS0_14thread_contextENS0_16thread_info_baseEE4top_E",
                     "_ZN4asio6detail15keyword_tss_ptrINS0_10call_stackINS0_14thread_contextENS0_16thread_info_"
                     "baseEE7contextEE6value_E")


def defined_symbols(path):
    import subprocess

    listing = subprocess.run(["nm", "-D", "--defined-only", path], capture_output=True, text=True, check=True)
    return {line.split()[-1] for line in listing.stdout.splitlines() if line.strip()}


def test_asio_thread_state_is_defined_once_in_libpyasync():
    import importlib.util

    import _pyasync_tests

    modules = [_pyasync_tests, peer, ex, pyasync._core]
    if importlib.util.find_spec("pyasync_fixtures") is not None:  # not built by every preset
        import pyasync_fixtures

        modules.append(pyasync_fixtures)
    assert set(ASIO_THREAD_STATE) <= defined_symbols(pyasync.library_path)
    for module in modules:
        assert not set(ASIO_THREAD_STATE) & defined_symbols(module.__file__), module.__file__
