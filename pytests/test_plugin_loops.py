"""The pytest plugin's loop model: which tests it owns (modes), the loop they share with their
async fixtures whatever the scopes, loop choice, contexts, timeouts, leaked tasks and errors the
loop's exception handler receives."""
import pytest

import dependencies

from plugin_support import fixture_log, run_plugin

LOOP_IDS = """
import asyncio, pytest

loops = []

@pytest.fixture(scope="session", autouse=True)
def report():
    yield
    assert len(set(map(id, loops))) == EXPECTED

@pytest.mark.pyasync
async def test_one():
    loops.append(asyncio.get_running_loop())  # kept alive: ids stay distinct

@pytest.mark.pyasync
async def test_two():
    loops.append(asyncio.get_running_loop())  # kept alive: ids stay distinct
"""


def test_strict_mode_runs_only_marked_tests(pytester):
    result = run_plugin(pytester, "-W", "ignore", "-p", "no:asyncio", test_a="""
import pytest

ran = []

@pytest.mark.pyasync
async def test_marked():
    ran.append("marked")

async def test_unmarked():
    ran.append("unmarked")

def test_after():
    assert ran == ["marked"]
""")
    # The unmarked async test did not run: it fails, never a silent skip (test_plugin_asyncio_vocabulary.py).
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*test_a.py::test_unmarked is an async def test that no plugin ran, so it fails*"])


def test_auto_mode_runs_every_async_test_and_fixture(pytester):
    result = run_plugin(pytester, "--pyasync-mode=auto", test_a="""
import asyncio, pytest

@pytest.fixture
async def answer():
    await asyncio.sleep(0)
    yield 42

async def test_unmarked(answer):
    assert answer == 42
""")
    result.assert_outcomes(passed=1)


def test_one_loop_for_the_session_by_default(pytester):
    run_plugin(pytester, test_a=LOOP_IDS.replace("EXPECTED", "1")).assert_outcomes(passed=2)


def test_a_function_loop_scope_gives_each_test_a_new_loop(pytester):
    result = run_plugin(pytester, "-o", "pyasync_loop_scope=function", test_a=LOOP_IDS.replace("EXPECTED", "2"))
    result.assert_outcomes(passed=2)


SESSION_FIXTURE_USER = """
import asyncio, pytest

@pytest.mark.pyasync
async def test_uses_the_session_fixture(ex_session_loop):
    assert id(asyncio.get_running_loop()) == ex_session_loop
"""


@pytest.mark.parametrize("loop_scope", ["function", "module", "session"])
def test_a_session_cpp_fixture_used_in_two_modules_is_set_up_once_on_one_loop(pytester, loop_scope):
    result = run_plugin(pytester, "-o", f"pyasync_loop_scope={loop_scope}", test_a=SESSION_FIXTURE_USER,
                        test_b=SESSION_FIXTURE_USER)
    result.assert_outcomes(passed=2)
    assert fixture_log() == ["setup ex_session_loop", "teardown ex_session_loop"]


def test_a_loop_can_be_chosen_by_option_and_by_marker(pytester):
    dependencies.require("uvloop")
    result = run_plugin(pytester, "-o", "pyasync_loop=uvloop", test_a="""
import asyncio, pytest

@pytest.mark.pyasync
async def test_configured():
    assert type(asyncio.get_running_loop()).__module__ == "uvloop"

@pytest.mark.pyasync(loop="asyncio")
async def test_marked():
    assert type(asyncio.get_running_loop()).__module__ == "asyncio.unix_events"
""")
    result.assert_outcomes(passed=2)


def test_a_test_on_another_loop_than_its_fixture_is_an_error_naming_both_loops(pytester):
    dependencies.require("uvloop")
    result = run_plugin(pytester, test_a="""
import pytest

@pytest.mark.pyasync
async def test_sets_up(ex_session_loop):
    pass

@pytest.mark.pyasync(loop="uvloop")
async def test_on_uvloop(ex_session_loop):
    pass
""")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*test_on_uvloop runs on the uvloop loop uvloop.Loop at *, but its async fixture "
                                 "'ex_session_loop' was set up on the asyncio loop *"])


def test_a_function_fixture_its_test_and_its_tear_down_share_one_context(pytester):
    result = run_plugin(pytester, test_a="""
import contextvars, pytest, pyasync

user = contextvars.ContextVar("user", default="nobody")

@pyasync.fixture
async def login():
    user.set("ada")
    yield
    assert user.get() == "ada-changed-by-test"

@pytest.mark.pyasync
async def test_sees_the_fixture_context(login):
    assert user.get() == "ada"
    user.set("ada-changed-by-test")
""")
    result.assert_outcomes(passed=1)


def test_a_timeout_cancels_the_test_and_its_fixtures_still_tear_down(pytester):
    result = run_plugin(pytester, test_a="""
import asyncio, pytest

cancelled = []

@pytest.mark.pyasync(timeout=0.1)
async def test_slow(ex_counter):
    try:
        await asyncio.sleep(30)
    except asyncio.CancelledError:
        cancelled.append(True)
        raise

def test_after():
    assert cancelled == [True]
""")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*TestTimeout: test_a.py::test_slow timed out after 0.1 s*"])
    assert fixture_log() == ["setup ex_counter", "teardown ex_counter"]


def test_the_timeout_option_applies_to_every_test(pytester):
    result = run_plugin(pytester, "--pyasync-timeout=0.1", test_a="""
import asyncio, pytest

@pytest.mark.pyasync
async def test_slow():
    await asyncio.sleep(30)
""")
    result.assert_outcomes(failed=1)


LEAKY = """
import asyncio, pytest

leaked = []

@pytest.mark.pyasync
async def test_leaks():
    async def forever():
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            leaked.append("cancelled")
            raise
    asyncio.get_running_loop().create_task(forever(), name="forgotten")

def test_after():
    assert leaked == EXPECTED
"""


def test_strict_tasks_fails_a_test_that_leaves_tasks_running_and_cancels_them(pytester):
    result = run_plugin(pytester, "-o", "pyasync_strict_tasks=true",
                        test_a=LEAKY.replace("EXPECTED", "['cancelled']"))
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*LeakedTasks: test_a.py::test_leaks left 1 task(s) running; they were cancelled*"
                                 "name='forgotten'*"])


def test_without_strict_tasks_a_leaked_task_lives_until_its_loop_closes(pytester):
    result = run_plugin(pytester, test_a=LEAKY.replace("EXPECTED", "[]"))
    result.assert_outcomes(passed=2)


def test_an_error_the_loop_reports_during_a_test_fails_that_test(pytester):
    result = run_plugin(pytester, test_a="""
import asyncio, pytest

@pytest.mark.pyasync
async def test_callback_raises():
    asyncio.get_running_loop().call_soon(lambda: 1 / 0)
    await asyncio.sleep(0.01)

@pytest.mark.pyasync
async def test_next_is_clean():
    pass
""")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*LoopError: the event loop's exception handler was called 1 time(s):",
                                 "*Exception in callback*ZeroDivisionError: division by zero"])


def test_a_synchronous_test_may_use_async_fixtures(pytester):
    result = run_plugin(pytester, test_a="""
def test_sync(ex_counter):
    assert ex_counter.total == 0
""")
    result.assert_outcomes(passed=1)
    assert fixture_log() == ["setup ex_counter", "teardown ex_counter"]


TRIO_TESTS = """
import contextvars, pytest, sniffio, trio
import pyasync, pyasync_examples as ex

setting = contextvars.ContextVar("setting", default="unset")

@pyasync.fixture
async def configured():
    await trio.sleep(0)
    setting.set("from the fixture")
    yield "configured"
    assert sniffio.current_async_library() == "trio"

@pytest.mark.pyasync
async def test_cpp_coroutines_run_under_trio(configured):
    assert sniffio.current_async_library() == "trio"
    assert configured == "configured" and setting.get() == "from the fixture"
    assert await ex.sleep(0.001, "slept") == "slept"
    with trio.move_on_after(0.01) as scope:
        await ex.cancel_probe(10)
    assert scope.cancelled_caught

@pytest.mark.pyasync
async def test_cpp_fixtures_run_under_trio(ex_counter):
    assert await ex_counter.add(3) == 3

@pytest.mark.pyasync
async def test_a_failure_is_reported_with_the_cpp_error():
    await ex.fail("value", "failed on purpose under trio")

@pytest.mark.pyasync(timeout=0.2)
async def test_a_timeout_cancels_the_test():
    await ex.sleep(30, "never")

@pytest.mark.pyasync(loop="asyncio")
async def test_a_marker_picks_asyncio_back():
    import asyncio
    asyncio.get_running_loop()
    assert sniffio.current_async_library() == "asyncio"
"""


def test_pyasync_loop_trio_runs_tests_and_fixtures_under_trio(pytester):
    dependencies.require("trio")
    result = run_plugin(pytester, "-o", "pyasync_loop=trio", test_a=TRIO_TESTS)
    result.assert_outcomes(passed=3, failed=2)
    result.stdout.fnmatch_lines(["*ValueError: failed on purpose under trio*",
                                 "*test_a_timeout_cancels_the_test timed out after 0.2 s*"])
    assert fixture_log() == ["setup ex_counter", "teardown ex_counter"]


TRIO_NURSERY_TESTS = """
import pytest, trio
import pyasync, pyasync_examples as ex

log = []

@pyasync.fixture
async def echo_server():
    # A server in the fixture's own nursery, alive across its yield (as with pytest-trio).
    requests, serve_from = trio.open_memory_channel(0)

    async def serve():
        log.append("serving")
        async for value, reply in serve_from:
            await reply.send(await ex.ready(value * 2))  # C++ inside the background task

    async with trio.open_nursery() as nursery:
        nursery.start_soon(serve)
        yield requests
        nursery.cancel_scope.cancel()
    log.append("stopped")

@pyasync.fixture
async def crashing_server():
    async def crash():
        await trio.sleep(0.01)
        raise KeyError("the server crashed")

    async with trio.open_nursery() as nursery:
        nursery.start_soon(crash)
        yield
    log.append("not reached")

@pyasync.fixture(scope="module")
async def module_token():
    yield trio.lowlevel.current_trio_token()

@pytest.mark.pyasync
async def test_talks_to_the_fixtures_server(echo_server):
    reply, replies = trio.open_memory_channel(1)
    await echo_server.send((21, reply))
    assert await replies.receive() == 42
    log.append("talked")

@pytest.mark.pyasync
async def test_a_crash_in_a_fixtures_nursery_cancels_the_test(crashing_server):
    await trio.sleep(10)  # the crash happens meanwhile, in the fixture's task

@pytest.mark.pyasync
async def test_one_run_serves_the_module_a(module_token):
    assert trio.lowlevel.current_trio_token() is module_token

@pytest.mark.pyasync
async def test_one_run_serves_the_module_b(module_token):
    assert trio.lowlevel.current_trio_token() is module_token

def test_the_order_of_events():
    assert log == ["serving", "talked", "stopped"]
"""


def test_under_trio_a_fixture_holds_a_nursery_across_its_yield(pytester):
    dependencies.require("trio")
    result = run_plugin(pytester, "-o", "pyasync_loop=trio", "-p", "no:anyio", test_a=TRIO_NURSERY_TESTS)
    result.assert_outcomes(passed=4, failed=1, errors=1)
    result.stdout.fnmatch_lines([
        "*ERROR at teardown of test_a_crash_in_a_fixtures_nursery_cancels_the_test*",
        "*KeyError: 'the server crashed'*",
        "*FixtureCrashed: cancelled: the fixture 'crashing_server' failed while this ran: KeyError: 'the server "
        "crashed'*"])


def test_pyasync_loop_trio_is_refused_without_trio_with_the_package_to_install(pytester, monkeypatch):
    result = run_plugin(pytester, "-o", "pyasync_loop=trio", "-p", "no:anyio", conftest="""
import sys
sys.modules["trio"] = None  # as if not installed
""", test_a="""
def test_nothing():
    pass
""")
    result.stderr.fnmatch_lines(["*pyasync_loop = 'trio' needs the trio package (Debian: python3-trio)*"])
    assert result.ret != 0
