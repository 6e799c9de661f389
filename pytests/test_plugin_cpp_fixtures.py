"""C++ coroutine fixtures (PYASYNC_FIXTURE in fixtures/examples/example_fixtures.cpp) as pytest
fixtures: set-up and tear-down on the test's loop, in order, after failures too; errors name the
fixture and its C++ file:line; requests resolve through pytest."""
import pathlib
import re

import pytest

from plugin_support import fixture_log, run_plugin

SOURCE = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "examples" / "example_fixtures.cpp"


def line_of(fixture):
    for number, text in enumerate(SOURCE.read_text().splitlines(), start=1):
        if text.startswith(f"PYASYNC_FIXTURE({fixture},"):
            return number
    raise AssertionError(f"{fixture} is not defined in {SOURCE}")


def test_set_up_and_tear_down_run_around_each_test_of_a_function_fixture(pytester):
    result = run_plugin(pytester, test_a="""
import pytest

@pytest.mark.pyasync
async def test_first(ex_counter):
    assert await ex_counter.add(2) == 2

@pytest.mark.pyasync
async def test_second(ex_counter):
    assert ex_counter.total == 0
""")
    result.assert_outcomes(passed=2)
    assert fixture_log() == ["setup ex_counter", "teardown ex_counter"] * 2


def test_tear_down_runs_after_a_failing_test_in_reverse_order_of_set_up(pytester):
    result = run_plugin(pytester, test_a="""
import pytest

@pytest.mark.pyasync
async def test_fails(ex_counter, ex_with_tmp_path):
    assert False, "failing on purpose"
""")
    result.assert_outcomes(failed=1)
    assert fixture_log() == ["setup ex_counter", "setup ex_with_tmp_path", "teardown ex_with_tmp_path",
                             "teardown ex_counter"]


def test_an_error_in_set_up_is_an_error_naming_the_fixture_its_cpp_line_and_the_cpp_origin(pytester):
    result = run_plugin(pytester, test_a="""
import pytest

@pytest.mark.pyasync
async def test_needs_it(ex_broken_setup):
    pass

def test_independent():
    pass
""")
    result.assert_outcomes(passed=1, errors=1)
    # The report is the error's text, the C++ origin in its first lines; none of the plugin's frames.
    result.stdout.fnmatch_lines([
        "*_ ERROR at setup of test_needs_it _*",
        f"FixtureError: C++ fixture 'ex_broken_setup' (example_fixtures.cpp:{line_of('ex_broken_setup')}) "
        "failed in set-up: ValueError: broken on purpose",
        "    raised in C++ coroutine <lambda> at *example_fixtures.cpp:*",
        "ERROR test_a.py::test_needs_it - FixtureError: C++ fixture 'ex_broken_setup' *",
    ])
    assert "drive_fixture" not in result.stdout.str() and "_phases.py" not in result.stdout.str()
    assert fixture_log() == ["setup ex_broken_setup"]


def test_an_error_in_tear_down_is_an_error_of_its_own_and_the_test_still_passes(pytester):
    result = run_plugin(pytester, test_a="""
def test_uses_it(ex_broken_teardown):
    assert ex_broken_teardown == 1
""")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["FixtureError: C++ fixture 'ex_broken_teardown' (*) failed in tear-down: "
                                 "RuntimeError: teardown broke",
                                 "ERROR test_a.py::test_uses_it - FixtureError: *"])
    assert fixture_log() == ["setup ex_broken_teardown", "teardown ex_broken_teardown"]


def test_a_cpp_fixture_receives_pytest_fixtures_it_requests(pytester):
    result = run_plugin(pytester, test_a="""
def test_file(ex_with_tmp_path, tmp_path):
    assert ex_with_tmp_path == tmp_path / "made_by_cpp.txt"
    assert ex_with_tmp_path.read_text() == "pyasync"
""")
    result.assert_outcomes(passed=1)


def test_a_cpp_fixture_requesting_another_cpp_fixture_gets_its_value(pytester):
    result = run_plugin(pytester, test_a="""
def test_total(ex_counter_total, ex_counter):
    assert ex_counter_total == 5
""")
    result.assert_outcomes(passed=1)
    assert fixture_log() == ["setup ex_counter", "setup ex_counter_total", "teardown ex_counter"]


def test_a_wider_fixture_requesting_a_cpp_function_fixture_is_a_scope_mismatch(pytester):
    result = run_plugin(pytester, test_a="""
import pytest

@pytest.fixture(scope="session")
def wide(ex_counter):
    return ex_counter

def test_wide(wide):
    pass
""")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*ScopeMismatch*session scoped request object, involved factories*"])


def test_the_fixtures_listing_shows_the_cpp_doc_and_location(pytester):
    result = run_plugin(pytester, "--fixtures", "-v", test_a="def test_nothing():\n    pass\n")
    assert result.ret == 0
    text = result.stdout.str()
    assert "A fresh pyasync_examples.Counter; suspends once in set-up and tear-down." in text
    # The listing's own location line names the C++ definition, not the plugin's wrapper.
    assert re.search(rf"^ex_counter -- \S*example_fixtures\.cpp:{line_of('ex_counter')}$", text, re.MULTILINE), text
    assert "_cpp_fixtures.py" not in text


def test_the_fixtures_per_test_listing_shows_the_cpp_location(pytester):
    result = run_plugin(pytester, "--fixtures-per-test", test_a="def test_uses(ex_counter):\n    pass\n")
    assert result.ret == 0
    result.stdout.fnmatch_lines([f"ex_counter -- *example_fixtures.cpp:{line_of('ex_counter')}"])


def test_a_cpp_fixture_receives_a_python_fixture_the_suite_defines(pytester):
    pytester.makeconftest("import pytest\n\n@pytest.fixture\ndef greeting_name():\n    return 'conftest'\n")
    result = run_plugin(pytester, test_a="def test_greets(ex_greeting):\n    assert ex_greeting == 'hello conftest'\n")
    result.assert_outcomes(passed=1)


def test_a_fixture_missing_from_a_cpp_fixtures_requests_is_reported_at_its_cpp_line(pytester):
    result = run_plugin(pytester, test_a="""
def test_greets(ex_greeting):
    pass

def test_sentinel():
    pass
""")
    result.assert_outcomes(passed=1, errors=1)
    line = line_of("ex_greeting")
    result.stdout.fnmatch_lines([
        "*test_a.py, line 1",
        "  def test_greets(ex_greeting):",
        f"file *example_fixtures.cpp, line {line} (C++ fixture 'ex_greeting')",
        '  PYASYNC_FIXTURE(ex_greeting, pyasync::scope::function, "greeting_name", greeting_doc)*',
        "E       fixture 'greeting_name' not found",
        "*",
        "*",
        f"*example_fixtures.cpp:{line}",
    ])
    assert "_cpp_fixtures.py" not in result.stdout.str()


def test_the_setup_plan_shows_the_cpp_requests_and_scopes(pytester):
    result = run_plugin(pytester, "--setup-plan", test_a="""
def test_plan(ex_counter_total, ex_session_loop):
    pass
""")
    result.stdout.fnmatch_lines(["*SETUP    S ex_session_loop*", "*SETUP    F ex_counter*",
                                 "*SETUP    F ex_counter_total (fixtures used: ex_counter)"])
    assert fixture_log() == []


def test_pyasync_fixture_declares_only_async_functions():
    import pyasync

    with pytest.raises(TypeError, match=r"declares async fixtures; .*plain is not an async def"):
        @pyasync.fixture
        def plain():
            pass


def test_a_cpp_fixture_may_request_pytests_request(pytester):
    result = run_plugin(pytester, test_a="""
def test_named(ex_test_name):
    assert ex_test_name == "test_named"
""")
    result.assert_outcomes(passed=1)
