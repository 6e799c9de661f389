"""The pytest plugin beside pytest-asyncio 0.20 (both modes) and under pytest-xdist: each test
runs exactly once, on the loop of the plugin that owns it, and pyasync's loop survives
pytest-asyncio's event_loop fixture."""
import pytest

import dependencies

from plugin_support import PLUGIN_ARGS, run_plugin

pytestmark = dependencies.needs("pytest_asyncio")

MIXED = """
import asyncio, pytest

runs = []

@pytest.mark.pyasync
async def test_ours_first(ex_session_loop):
    runs.append(("ours", id(asyncio.get_running_loop())))
    assert id(asyncio.get_running_loop()) == ex_session_loop

@pytest.mark.asyncio
async def test_theirs(event_loop):
    runs.append(("theirs", id(asyncio.get_running_loop())))
    assert asyncio.get_running_loop() is event_loop

@pytest.mark.pyasync
async def test_ours_after_theirs(ex_session_loop):
    runs.append(("ours", id(asyncio.get_running_loop())))
    assert id(asyncio.get_running_loop()) == ex_session_loop
    assert not asyncio.get_running_loop().is_closed()

def test_each_ran_once_on_its_plugins_loop():
    assert [owner for owner, _ in runs] == ["ours", "theirs", "ours"]
    assert runs[0][1] == runs[2][1] != runs[1][1]
"""


@pytest.mark.parametrize("asyncio_mode", ["strict", "auto"])
def test_each_test_runs_once_on_the_loop_of_the_plugin_that_owns_it(pytester, asyncio_mode):
    result = run_plugin(pytester, "-o", f"asyncio_mode={asyncio_mode}", test_a=MIXED)
    result.assert_outcomes(passed=4)


def test_in_both_auto_modes_an_unmarked_async_test_is_ours_and_runs_once(pytester):
    result = run_plugin(pytester, "-o", "asyncio_mode=auto", "--pyasync-mode=auto", test_a="""
import asyncio

runs = []

async def test_unmarked(ex_session_loop):
    runs.append(id(asyncio.get_running_loop()) == ex_session_loop)

def test_once_on_ours():
    assert runs == [True]
""")
    result.assert_outcomes(passed=2)


def test_a_test_marked_for_both_plugins_is_a_usage_error_naming_both_markers(pytester):
    result = run_plugin(pytester, test_a="""
import pytest

@pytest.mark.pyasync
@pytest.mark.asyncio
async def test_both():
    pass
""")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert ("test_a.py::test_both is marked both @pytest.mark.pyasync and @pytest.mark.asyncio"
            in result.stderr.str())


def test_async_fixtures_of_each_plugin_stay_with_their_plugin_in_auto_modes(pytester):
    result = run_plugin(pytester, "-o", "asyncio_mode=auto", "--pyasync-mode=auto", test_a="""
import asyncio, pytest, pytest_asyncio

@pytest_asyncio.fixture
async def theirs():
    return id(asyncio.get_running_loop())

@pytest.fixture
async def ours():
    return id(asyncio.get_running_loop())

@pytest.mark.asyncio
async def test_theirs(theirs):
    assert theirs == id(asyncio.get_running_loop())

async def test_ours(ours, ex_session_loop):
    assert ours == ex_session_loop == id(asyncio.get_running_loop())
""")
    result.assert_outcomes(passed=2)


def test_under_xdist_every_test_runs_once(pytester):
    dependencies.require("xdist")
    pytester.makepyfile(**{f"test_{n}": MIXED for n in "ab"})
    result = pytester.runpytest_subprocess(*PLUGIN_ARGS, "-n", "2", "--dist", "loadfile")
    result.assert_outcomes(passed=8)


ANYIO_SUITE = """
import asyncio, anyio, pytest

pytestmark = pytest.mark.anyio

def running():
    try:
        asyncio.get_running_loop()
        return "asyncio"
    except RuntimeError:
        return "trio"

@pytest.fixture
async def library():
    await anyio.sleep(0)
    return running()

async def test_fixture_and_test_on_trio(library):
    assert (library, running()) == ("trio", "trio")
"""


def test_in_auto_mode_anyios_tests_and_their_async_fixtures_stay_anyios(pytester):
    dependencies.require("anyio")
    dependencies.require("trio")
    pytester.makeconftest("import pytest\n\n@pytest.fixture\ndef anyio_backend():\n    return 'trio'\n")
    unmarked = ANYIO_SUITE.replace("pytestmark = pytest.mark.anyio", "") + "\nasync def test_unmarked():\n    pass\n"
    result = run_plugin(pytester, "-o", "pyasync_mode=auto", test_a=unmarked, test_b=ANYIO_SUITE)
    # test_a: unmarked, pyasync's (its fixture too, on asyncio); test_b: anyio's, on trio.
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["test_a.py F.*", "test_b.py .*", "E  *assert ('asyncio', 'asyncio') == ('trio', 'trio')"])


def test_a_suite_moves_off_anyios_plugin_with_its_marks_unchanged(pytester):
    dependencies.require("trio")
    pytester.makeconftest("import pytest\n\n@pytest.fixture\ndef anyio_backend():\n    return 'trio'\n")
    result = run_plugin(pytester, "-p", "no:anyio", "-o", "pyasync_mode=auto", "-o", "pyasync_loop=trio",
                        "-W", "error::pytest.PytestUnknownMarkWarning", test_a=ANYIO_SUITE)
    result.assert_outcomes(passed=1)
