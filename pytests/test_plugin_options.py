"""The pytest plugin's options, ini twins and marker: each bad value is a usage error naming
what is valid; the report header shows the effective configuration."""
import pyasync_examples
import pytest

from plugin_support import run_plugin

# The header counts what a module exports: pyasync_examples' C++ fixtures.
EXAMPLES = len(pyasync_examples.__pyasync_fixtures__)

PASSING = """
import pytest

@pytest.mark.pyasync
async def test_runs():
    pass
"""


def usage_error(result):
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str() + result.stderr.str()
    return result.stderr.str()


@pytest.mark.parametrize("option, value, expected", [
    ("--pyasync-mode", "loose", "--pyasync-mode/pyasync_mode must be one of strict, auto; got 'loose'"),
    ("--pyasync-loop-scope", "forever",
     "--pyasync-loop-scope/pyasync_loop_scope must be one of function, class, module, package, session; got 'forever'"),
    ("--pyasync-timeout", "-1", "--pyasync-timeout/pyasync_timeout must be a positive number of seconds, at most "
     "1000000 (11.5 days); got '-1'"),
    ("--pyasync-timeout", "soon", "must be a positive number of seconds, at most 1000000 (11.5 days); got 'soon'"),
    ("--pyasync-timeout", "3e6", "must be a positive number of seconds, at most 1000000 (11.5 days); got '3e6'"),
    ("--pyasync-timeout-grace", "0", "--pyasync-timeout-grace/pyasync_timeout_grace must be a positive number"),
    ("--pyasync-strict-tasks", "maybe", "--pyasync-strict-tasks/pyasync_strict_tasks must be true or false; got 'maybe'"),
    ("--pyasync-loop", "tokio", "--pyasync-loop/pyasync_loop = 'tokio' is not a usable loop"),
    ("--pyasync-loop", "no_such_module:factory", "'no_such_module:factory' is not a usable loop"),
])
def test_a_bad_option_value_is_a_usage_error_naming_the_valid_values(pytester, option, value, expected):
    assert expected in usage_error(run_plugin(pytester, f"{option}={value}", test_a=PASSING))


def test_the_ini_twin_is_validated_as_the_option_is(pytester):
    pytester.makeini("[pytest]\npyasync_mode = sometimes\n")
    assert "got 'sometimes'" in usage_error(run_plugin(pytester, test_a=PASSING))


def test_the_command_line_overrides_the_ini_file(pytester):
    pytester.makeini("[pytest]\npyasync_mode = sometimes\n")
    run_plugin(pytester, "--pyasync-mode=auto", test_a=PASSING).assert_outcomes(passed=1)


@pytest.mark.parametrize("marker, expected", [
    ("pytest.mark.pyasync(loop='tokio')", "loop= of @pytest.mark.pyasync of test_a.py::test_marked = 'tokio' is not"),
    ("pytest.mark.pyasync(loop_scope='eon')", "loop_scope= of @pytest.mark.pyasync of test_a.py::test_marked must be"),
    ("pytest.mark.pyasync(timeout=0)", "timeout= of @pytest.mark.pyasync of test_a.py::test_marked must be a positive"),
    ("pytest.mark.pyasync(timeout=1e10)", "must be a positive number of seconds, at most 1000000 (11.5 days); got 10000000000.0"),
    ("pytest.mark.pyasync(retries=3)", "has unknown argument(s) retries; expected loop=, loop_scope=, timeout=, "
     "loop_errors="),
    ("pytest.mark.pyasync('uvloop')", "takes keyword arguments only"),
])
def test_a_bad_marker_is_a_usage_error_naming_the_test(pytester, marker, expected):
    source = f"import pytest\n\n@{marker}\nasync def test_marked():\n    pass\n"
    assert expected in usage_error(run_plugin(pytester, test_a=source))


def test_the_report_header_shows_the_effective_configuration(pytester):
    result = run_plugin(pytester, "--pyasync-timeout=2.5", "-o", "pyasync_strict_tasks=true", test_a=PASSING)
    result.stdout.fnmatch_lines(["pyasync: mode=strict, loop=asyncio, loop_scope=session, timeout=2.5 s, "
                                 "strict_tasks=on, loop_errors=fail, C++ fixtures: pyasync_fixtures (3 fixtures), "
                                 f"pyasync_examples ({EXAMPLES} fixtures)"])


@pytest.mark.parametrize("modules, header", [
    ("pyasync_examples", f"pyasync_fixtures (3 fixtures), pyasync_examples ({EXAMPLES} fixtures)"),
    ("no:pyasync_fixtures, pyasync_examples", f"pyasync_examples ({EXAMPLES} fixtures)"),
    ("no:pyasync_fixtures", "none"),
])
def test_naming_fixture_modules_adds_to_the_ready_made_ones_unless_told(pytester, modules, header):
    pytester.makepyfile(test_a=PASSING)
    result = pytester.runpytest("-p", "pyasync", "-p", "no:cacheprovider", "-o", f"pyasync_fixture_modules={modules}")
    result.stdout.fnmatch_lines([f"pyasync: *, C++ fixtures: {header}"])


def test_a_fixture_module_that_does_not_import_is_a_usage_error(pytester):
    result = pytester.runpytest("-p", "pyasync", "-o", "pyasync_fixture_modules=pyasync_examples no_such_module")
    error = usage_error(result)
    assert "pyasync_fixture_modules names 'no_such_module', which does not import" in error
    assert "PYTHONPATH" in error


def test_a_fixture_module_without_exported_fixtures_is_a_usage_error_naming_the_fix(pytester):
    result = pytester.runpytest("-p", "pyasync", "-o", "pyasync_fixture_modules=json")
    assert "call pyasync::export_fixtures(m) in its PYASYNC_MODULE" in usage_error(result)


def test_disabled_with_no_pyasync_it_runs_nothing(pytester):
    pytester.makepyfile(test_a=PASSING)
    result = pytester.runpytest("-p", "no:pyasync", "-p", "no:asyncio", "-W", "ignore")
    result.assert_outcomes(skipped=1)


@pytest.mark.parametrize("requests, expected", [
    (("tmp_path", "tmp_path"), "requests tmp_path more than once"),
    (("made",), "requests made (itself)"),
])
def test_a_fixture_requesting_a_name_twice_or_itself_is_a_usage_error(pytester, requests, expected):
    pytester.makepyfile(made_fixtures=f"""
__pyasync_fixtures__ = [dict(name="made", scope="function", requests={requests!r}, doc="", file="made.cpp", line=7,
                             kind="value", factory=lambda *values: 0)]
""")
    pytester.syspathinsert()
    result = pytester.runpytest("-p", "pyasync", "-o", "pyasync_fixture_modules=made_fixtures")
    error = usage_error(result)
    assert f"C++ fixture 'made' (made.cpp:7) of 'made_fixtures' {expected}" in error
