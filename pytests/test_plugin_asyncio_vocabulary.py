"""pytest-asyncio's vocabulary when pytest-asyncio is not active (issue 31): a suite written for it
switches with -p no:asyncio and gets the same verdicts; an async test no plugin runs fails; what a
loop error does is a choice."""
import pathlib
import re
import shutil
import subprocess

import pytest

import dependencies
from plugin_support import run_plugin

CORPUS = pathlib.Path(__file__).parent / "asyncio_corpus"
SED = pathlib.Path(__file__).parents[1] / "tools/migrate/from_pytest_asyncio.sed"
OUTCOME = re.compile(r"^(\S+::\S+) (PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS)\b", re.M)


def verdicts(pytester, *args):
    """Each test's outcome (an error in set-up or tear-down is its own entry), run in a subprocess."""
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-v", *args)
    found = {}
    for name, outcome in OUTCOME.findall(result.stdout.str()):
        found.setdefault(name, []).append(outcome)
    return found, result


@pytest.mark.parametrize("mode", ["strict", "auto"])
def test_a_pytest_asyncio_suite_gets_the_same_verdicts_test_by_test(pytester, mode):
    dependencies.require("pytest_asyncio")
    shutil.copytree(CORPUS / mode, pytester.path, dirs_exist_ok=True)
    reference, under_asyncio = verdicts(pytester, "-p", "no:pyasync")
    ours, under_pyasync = verdicts(pytester, "-p", "no:asyncio", "-p", "pyasync")
    assert "pytest-asyncio" not in under_pyasync.stdout.str().split("plugins:")[1].splitlines()[0]
    assert ours == reference, "\n".join(
        f"{name}: pytest-asyncio {reference.get(name)}, pyasync {ours.get(name)}"
        for name in sorted(set(reference) | set(ours)) if reference.get(name) != ours.get(name))
    outcomes = {outcome for found in reference.values() for outcome in found}
    assert len(reference) >= (30 if mode == "strict" else 8)
    assert outcomes >= ({"PASSED", "FAILED", "ERROR", "SKIPPED", "XFAIL"} if mode == "strict" else {"PASSED", "FAILED"})


@pytest.mark.parametrize("mode", ["strict", "auto"])
def test_the_suite_renamed_to_pyasyncs_names_gets_the_same_verdicts(pytester, mode):
    """Step two of the migration guide: tools/migrate/from_pytest_asyncio.sed over the corpus."""
    dependencies.require("pytest_asyncio")
    shutil.copytree(CORPUS / mode, pytester.path, dirs_exist_ok=True)
    reference, _ = verdicts(pytester, "-p", "no:pyasync")
    files = sorted(pytester.path.glob("*.py")) + [pytester.path / "pytest.ini"]
    subprocess.run(["sed", "-i", "-f", SED, *files], check=True, timeout=60)
    renamed = "".join(path.read_text() for path in files)
    assert "pytest_asyncio" not in renamed and "mark.asyncio" not in renamed and "asyncio_mode" not in renamed
    # With pytest-asyncio still installed and active: nothing is left for it to take.
    ours, _ = verdicts(pytester, "-p", "pyasync")
    if mode == "strict":
        # The one difference the guide names: pyasync's own mark reaching a sync test through a
        # module's pytestmark is not a warning (pytest-asyncio's is, an error under this corpus's
        # filterwarnings = error).
        assert reference.pop("test_fixtures.py::test_generator_fixture_was_torn_down") == ["FAILED"]
        assert ours.pop("test_fixtures.py::test_generator_fixture_was_torn_down") == ["PASSED"]
    assert ours == reference, "\n".join(
        f"{name}: pytest-asyncio {reference.get(name)}, renamed under pyasync {ours.get(name)}"
        for name in sorted(set(reference) | set(ours)) if reference.get(name) != ours.get(name))


NEVER_RUN = """
import pytest

async def test_unmarked():
    pass

async def test_generator():
    yield
"""


@pytest.mark.parametrize("plugins", [("-p", "no:asyncio"), ()], ids=["pytest-asyncio inactive", "active"])
def test_an_async_test_no_plugin_runs_fails_and_says_how_to_run_it(pytester, plugins):
    result = run_plugin(pytester, *plugins, "-W", "default", test_a=NEVER_RUN)
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines([
        "*test_a.py::test_unmarked is an async def test that no plugin ran, so it fails (pytest would skip it). "
        "pyasync runs it when it is marked @pytest.mark.pyasync, or with pyasync_mode = auto (ini) or "
        "--pyasync-mode=auto.",
        "*It is an async generator function: a test must be a coroutine function*"])
    if plugins:
        result.stdout.fnmatch_lines(["*pytest-asyncio is not active, so pyasync speaks its vocabulary: "
                                     "@pytest.mark.asyncio or asyncio_mode = auto works too*"])
    else:
        result.stdout.fnmatch_lines(["*pytest-asyncio is active: @pytest.mark.asyncio or asyncio_mode = auto has it "
                                     "run it instead.*"])
    assert "PytestUnhandledCoroutineWarning" not in result.stdout.str()


LOOP_ERROR = """
import asyncio, gc, pytest

async def fails():
    raise KeyError("nobody retrieves me")

@pytest.mark.{mark}
async def test_leaves_an_error_to_the_handler(caplog):
    task = asyncio.get_running_loop().create_task(fails())
    await asyncio.sleep(0.01)
    del task
    gc.collect()
    await asyncio.sleep(0)
    print("logged:", "Task exception was never retrieved" in caplog.text)
"""


@pytest.mark.parametrize("mark, args, outcome, logged", [
    ("pyasync", (), "failed", False),
    ("pyasync", ("--pyasync-loop-errors=log",), "passed", True),
    ("pyasync", ("-o", "pyasync_loop_errors=warn"), "passed", False),
    ("pyasync(loop_errors='log')", (), "passed", True),
    ("asyncio", (), "passed", True),
    ("asyncio", ("-o", "pyasync_loop_errors=fail"), "failed", False),
])
def test_what_a_loop_error_does_is_a_choice(pytester, mark, args, outcome, logged):
    result = run_plugin(pytester, "-p", "no:asyncio", "-s", "-W", "default", *args,
                        test_a=LOOP_ERROR.format(mark=mark))
    result.assert_outcomes(**{outcome: 1})
    text = result.stdout.str()
    assert ("logged: True" in text) == logged, text
    if outcome == "failed":
        result.stdout.fnmatch_lines(["*LoopError: the event loop's exception handler was called 1 time(s):",
                                     "*Task exception was never retrieved: KeyError: 'nobody retrieves me'"])
    if "warn" in " ".join(args):
        result.stdout.fnmatch_lines(["*LoopErrorWarning: the event loop's exception handler was called 1 time(s):*"])


def test_a_bad_loop_errors_value_is_a_usage_error(pytester):
    result = run_plugin(pytester, "-o", "pyasync_loop_errors=ignore", test_a="def test_x():\n    pass\n")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*pyasync_loop_errors must be one of fail, warn, log; got 'ignore'"])


LOOP_IDS = """
import asyncio, pytest
seen = []

@pytest.mark.asyncio{args}
async def test_first():
    seen.append(asyncio.get_running_loop())  # held: a closed loop's id could be reused

@pytest.mark.asyncio{args}
async def test_second():
    seen.append(asyncio.get_running_loop())
    print("loops:", len(set(map(id, seen))))
"""


@pytest.mark.parametrize("args, options, loops", [
    ("", (), 2),
    ("(loop_scope='module')", (), 1),
    ("(scope='module')", (), 1),
    ("", ("-o", "asyncio_default_test_loop_scope=module"), 1),
])
def test_a_marked_tests_loop_scope_is_pytest_asyncios(pytester, args, options, loops):
    result = run_plugin(pytester, "-p", "no:asyncio", "-s", *options, test_a=LOOP_IDS.format(args=args))
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines([f"*loops: {loops}"])


@pytest.mark.parametrize("args, message", [
    ("('module')", "takes keyword arguments only (loop_scope=); got positional ('module',)"),
    ("(loop_scope='module', scope='module')", "gives both loop_scope= and scope= (its older name): keep loop_scope="),
    ("(loop_scope='eon')", "loop_scope= of @pytest.mark.asyncio of test_a.py::test_first must be one of function"),
    ("(loop='uvloop')", "has unknown argument(s) loop; expected loop_scope= (or scope=, its older name)"),
])
def test_a_bad_asyncio_mark_is_a_usage_error(pytester, args, message):
    result = run_plugin(pytester, "-p", "no:asyncio", test_a=LOOP_IDS.format(args=args))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert message in result.stderr.str()


def test_asyncio_debug_and_the_header(pytester):
    result = run_plugin(pytester, "-p", "no:asyncio", "-s", "-o", "asyncio_debug=true", test_a="""
import asyncio, pytest

@pytest.mark.asyncio
async def test_debug():
    print("debug:", asyncio.get_running_loop().get_debug())
""")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([
        "pyasync: speaks pytest-asyncio's vocabulary (it is not active): asyncio_mode=strict, test loop_scope=function, "
        "fixture loop_scope=its scope, loop_errors=log, debug=on", "*debug: True"])


def test_a_suites_event_loop_policy_picks_the_loop(pytester):
    dependencies.require("uvloop")
    result = run_plugin(pytester, "-p", "no:asyncio", "-s", test_a="""
import asyncio, pytest, uvloop

@pytest.fixture(scope="session")
def event_loop_policy():
    return uvloop.EventLoopPolicy()

@pytest.mark.asyncio
async def test_on_uvloop():
    print("loop:", type(asyncio.get_running_loop()).__module__)
""")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*loop: uvloop"])


FIXTURE_LOOP_SCOPE = """
import asyncio, pyasync, pytest
seen = []

@pyasync.fixture(loop_scope="module")
async def opened():
    return "open"

@pytest.mark.pyasync(loop_scope="function")
async def test_first(opened):
    seen.append(asyncio.get_running_loop())

@pytest.mark.pyasync(loop_scope="function")
async def test_second():
    seen.append(asyncio.get_running_loop())
    print("loops:", len(set(map(id, seen))))
"""


def test_pyasync_fixture_takes_pytest_asyncios_loop_scope(pytester):
    # The fixture is function-scoped, but its loop scope keeps the loop for the whole module.
    result = run_plugin(pytester, "-p", "no:asyncio", "-s", test_a=FIXTURE_LOOP_SCOPE)
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*loops: 1"])
    without = run_plugin(pytester, "-p", "no:asyncio", "-s",
                         test_a=FIXTURE_LOOP_SCOPE.replace('(loop_scope="module")', ""))
    without.stdout.fnmatch_lines(["*loops: 2"])


def test_pyasync_fixture_names_a_bad_loop_scope():
    import pyasync

    with pytest.raises(ValueError, match=r"^@pyasync.fixture\(loop_scope='eon'\) of .*opened: expected one of "
                                         r"function, class, module, package, session$"):
        @pyasync.fixture(loop_scope="eon")
        async def opened():
            pass


def test_with_pytest_asyncio_active_its_fixtures_and_marks_stay_its_own(pytester):
    dependencies.require("pytest_asyncio")
    result = run_plugin(pytester, "-s", test_a="""
import asyncio, pytest, pytest_asyncio

@pytest_asyncio.fixture
async def theirs():
    return id(asyncio.get_running_loop())

@pytest.mark.asyncio
async def test_theirs(theirs, event_loop):
    assert theirs == id(event_loop) == id(asyncio.get_running_loop())
""")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["pyasync: mode=strict, *"])  # pyasync was loaded, beside pytest-asyncio
    assert "speaks pytest-asyncio's vocabulary" not in result.stdout.str()


def test_pytest_asyncio_0_2x_event_loop_fixture_is_the_tests_loop(pytester):
    result = run_plugin(pytester, "-p", "no:asyncio", test_a="""
import asyncio, pytest

@pytest.mark.asyncio
async def test_uses_it(event_loop):
    assert event_loop is asyncio.get_running_loop()
    assert await event_loop.run_in_executor(None, sum, [1, 2]) == 3

def test_sync_uses_it(event_loop):
    async def three():
        return 3
    assert event_loop.run_until_complete(three()) == 3
""")
    result.assert_outcomes(passed=2)

