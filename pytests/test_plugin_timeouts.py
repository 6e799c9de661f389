"""The plugin's timeouts hold whatever the test does with its cancellation (issue 29): a test that
swallows it, blocks the loop past its limit, or hangs in a fixture's set-up fails as timed out,
on asyncio and trio, and one that never gives the loop back ends pytest with the stacks dumped.
Each misbehaving test is followed by one that must pass: what the first did must not reach it."""

import dependencies
from plugin_support import run_plugin, fixture_log

SWALLOWS = """
import asyncio, time, pytest
import pyasync_examples

@pytest.mark.pyasync(timeout=0.2)
async def test_swallows_the_cancellation():
    try:
        await asyncio.sleep(30)
    except asyncio.CancelledError:
        pass
    await asyncio.sleep(0.3)

@pytest.mark.pyasync(timeout=0.2)
async def test_blocks_the_loop_then_returns():
    time.sleep(0.5)
    await asyncio.sleep(0)

@pytest.mark.pyasync(timeout=0.2)
async def test_swallows_it_in_a_cpp_await():
    try:
        await pyasync_examples.sleep(30, 0)
    except asyncio.CancelledError:
        pass
    await pyasync_examples.sleep(0.3, 0)

@pytest.mark.pyasync
async def test_sentinel():
    await asyncio.sleep(0)
"""


def test_a_test_that_swallows_its_cancellation_or_blocks_the_loop_fails_as_timed_out(pytester):
    result = run_plugin(pytester, test_a=SWALLOWS)
    result.assert_outcomes(passed=1, failed=3)
    result.stdout.fnmatch_lines([
        "*TestTimeout: test_a.py::test_swallows_the_cancellation timed out after 0.2 s (it ran 0.5*, over by 0.3*"
        "cancelled while suspended at:",
    ])
    result.stdout.fnmatch_lines([
        "*TestTimeout: test_a.py::test_blocks_the_loop_then_returns timed out after 0.2 s (it ran 0.5*, over by 0.3*",
    ])
    result.stdout.fnmatch_lines(["*TestTimeout: test_a.py::test_swallows_it_in_a_cpp_await timed out after 0.2 s*"])


def test_the_suspension_chain_names_where_the_test_waited(pytester):
    result = run_plugin(pytester, test_a="""
import asyncio, pytest

async def inner():
    await asyncio.sleep(30)

@pytest.mark.pyasync(timeout=0.2)
async def test_waits():
    await inner()
""")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*cancelled while suspended at:", "*test_waits at *test_a.py:8",
                                 "*inner at *test_a.py:4"])


def test_under_trio_a_test_that_blocks_past_its_limit_fails_as_timed_out(pytester):
    dependencies.require("trio")
    result = run_plugin(pytester, "-o", "pyasync_loop=trio", test_a="""
import time, pytest, trio

@pytest.mark.pyasync(timeout=0.2)
async def test_blocks_then_returns():
    time.sleep(0.5)
    await trio.sleep(0)

@pytest.mark.pyasync
async def test_sentinel():
    await trio.sleep(0)
""")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*test_blocks_then_returns timed out after 0.2 s (it ran 0.5*"])


def test_a_cpp_fixture_whose_set_up_hangs_fails_within_the_tests_timeout(pytester):
    result = run_plugin(pytester, "--pyasync-timeout=0.3", test_a="""
import pytest

@pytest.mark.pyasync
async def test_uses_it(ex_hanging_setup):
    pass

@pytest.mark.pyasync
async def test_sentinel():
    pass
""")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*C++ fixture 'ex_hanging_setup' (*) failed in set-up: TestTimeout: the set-up of "
                                 "fixture 'ex_hanging_setup' (used by test_a.py::test_uses_it) timed out after 0.3 s*"])
    assert fixture_log() == ["setup ex_hanging_setup"]


def test_a_python_fixture_whose_tear_down_hangs_fails_naming_the_phase(pytester):
    result = run_plugin(pytester, test_a="""
import asyncio, pytest, pyasync

@pyasync.fixture
async def slow_to_close():
    yield 1
    await asyncio.sleep(30)

@pytest.mark.pyasync(timeout=0.3)
async def test_uses_it(slow_to_close):
    pass

@pytest.mark.pyasync
async def test_sentinel():
    pass
""")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*TestTimeout: the tear-down of fixture 'slow_to_close' (used by "
                                 "test_a.py::test_uses_it) timed out after 0.3 s*"])


def test_a_test_that_never_gives_the_loop_back_ends_pytest_with_every_stack(pytester):
    pytester.makepyfile(test_a="""
import time, pytest

@pytest.mark.pyasync(timeout=0.2)
async def test_blocks_for_good():
    while True:
        time.sleep(1)
""")
    result = pytester.runpytest_subprocess("-p", "pyasync", "-p", "no:cacheprovider", "-o",
                                           "pyasync_timeout_grace=0.2", timeout=60)
    assert result.ret == 1
    result.stderr.fnmatch_lines([
        "pyasync: test_a.py::test_blocks_for_good overran its timeout of 0.2 s and has not given the event loop back "
        "within twice the grace period of 0.2 s (pyasync_timeout_grace)*",
        "*in test_blocks_for_good*",
    ])


def test_a_handler_a_test_installs_does_not_outlive_it(pytester):
    result = run_plugin(pytester, test_a="""
import asyncio, pytest

@pytest.mark.pyasync
async def test_installs_a_silent_handler():
    asyncio.get_running_loop().set_exception_handler(lambda loop, context: None)
    asyncio.get_running_loop().set_debug(True)

@pytest.mark.pyasync
async def test_a_callback_raises():
    assert not asyncio.get_running_loop().get_debug()
    asyncio.get_running_loop().call_soon(lambda: 1 / 0)
    await asyncio.sleep(0.01)
""")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*LoopError: the event loop's exception handler was called 1 time(s):*"])


def test_a_test_failed_from_outside_has_its_task_cancelled_before_the_next_test(pytester):
    # pytest-timeout's signal method, reduced: SIGALRM raises into the loop's run from outside.
    result = run_plugin(pytester, test_a="""
import asyncio, signal, pytest

seen = []

def alarm(signum, frame):
    pytest.fail("stopped from outside")

@pytest.mark.pyasync
async def test_hangs():
    signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, 0.1)
    try:
        await asyncio.sleep(30)
    except asyncio.CancelledError:
        seen.append("cancelled")
        raise

@pytest.mark.pyasync
async def test_sentinel():
    assert seen == ["cancelled"]
    assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []
""")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*Failed: stopped from outside*"])


def test_a_test_that_ignores_every_cancellation_is_abandoned_after_the_grace_period(pytester):
    pytester.makepyfile(test_a="""
import asyncio, time, pytest

@pytest.mark.pyasync(timeout=0.2)
async def test_ignores_every_cancellation():
    end = time.monotonic() + 3
    while time.monotonic() < end:
        try:
            await asyncio.sleep(0.05)
        except asyncio.CancelledError:
            pass

@pytest.mark.pyasync
async def test_sentinel():
    await asyncio.sleep(0)
""")
    # The run's time limit is the hang guard; the abandoned task ends by itself after 3 s.
    result = pytester.runpytest_subprocess("-p", "pyasync", "-p", "no:cacheprovider", "-o",
                                           "pyasync_timeout_grace=0.3", timeout=60)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*TestTimeout: test_a.py::test_ignores_every_cancellation timed out after 0.2 s "
                                 "(it ran 0.5*) and ignored its cancellation for the grace period of 0.3 s "
                                 "(pyasync_timeout_grace): abandoned, its task left pending on the loop*"])
