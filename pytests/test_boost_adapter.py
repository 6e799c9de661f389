"""The Boost.Test adapter tested from outside against boost_probe_, a Boost.Test binary whose
cases pass and fail on purpose in every way the Boost.Test reference lists (a REQUIRE deep in
awaited coroutines, timeouts, a leaked task, loop callback errors, asyncio.run inside a case,
Ctrl-C). Verdicts are read back from Boost's own JUnit log and the probe's log of what ran."""
import json
import os
import pathlib
import subprocess
import xml.etree.ElementTree as ElementTree

import pytest

import dependencies

PROBE = os.environ.get("PYASYNC_BOOST_PROBE")
BUILD_DIR = os.environ.get("PYASYNC_BUILD_DIR")
pytestmark = pytest.mark.skipif(PROBE is None, reason="run through ctest (PYASYNC_BOOST_PROBE)")
HERE = pathlib.Path(__file__).resolve().parent

PASSING = {"net/fetches", "net/sync_sees_the_loop", "timing/healthy_after", "fixtures/with_server",
           "hygiene/leaks_a_task", "hygiene/after_the_leak", "hygiene/installs_a_silent_handler",
           "hygiene/calls_asyncio_run",
           "hygiene/async_after_asyncio_run", "hygiene/prints_in_order", "Mirrored/sync_passes",
           "Mirrored/async_passes", "overruns/healthy_after_them"}
FAILING = {"net/check_fails", "net/requires_deep", "net/http_fail", "net/python_raises",
           "fixtures/body_fails_teardown_runs", "hygiene/callback_raises", "hygiene/unretrieved_task_exception",
           "Mirrored/expect_fails"}
TIMED_OUT = {"timing/boost_timeout", "timing/sub_second_timeout", "timing/fixture_times_out",
             "slow_suite/longer_than_its_suite", "Mirrored/times_out", "overruns/swallows_the_cancellation",
             "overruns/blocks_the_loop_then_returns"}
NOT_RUN = {"hygiene/interrupts_itself", "hygiene/exits_zero", "Mirrored/ignored_one"}  # disabled, ignored


class Run:
    def __init__(self, completed, log, junit):
        self.returncode = completed.returncode
        self.stdout = completed.stdout
        self.stderr = completed.stderr
        self.log = log.read_text().splitlines() if log.exists() else []
        self.junit = junit

    def verdicts(self):
        """{suite/case: passed|failed|error|skipped} from Boost's JUnit log."""
        found = {}
        for case in ElementTree.parse(self.junit).getroot().iter("testcase"):
            if case.get("classname") is None:  # Boost's own entry for a suite that ran out of time
                continue
            kinds = {child.tag for child in case}
            verdict = ("error" if "error" in kinds else "failed" if "failure" in kinds
                       else "skipped" if "skipped" in kinds else "passed")
            found[f"{case.get('classname')}/{case.get('name')}"] = verdict
        return found

    def ran(self):
        return {name for name, verdict in self.verdicts().items() if verdict != "skipped"}


def run_probe(tmp_path, *args, pyasync_args=(), timeout=120, env=None, log_level="error"):
    log = tmp_path / "probe.log"
    log.unlink(missing_ok=True)
    junit = tmp_path / "junit.xml"
    environment = {**os.environ, "BOOST_PROBE_LOG": str(log), **(env or {})}
    command = [PROBE, "--color_output=no", f"--logger=HRF,{log_level},stdout:JUNIT,error,{junit}", *args]
    if pyasync_args:
        command += ["--", *pyasync_args]
    completed = subprocess.run(command, capture_output=True, text=True, errors="replace", env=environment,
                               timeout=timeout)
    return Run(completed, log, junit)


def test_every_case_gets_its_verdict_and_the_run_ends_cleanly(tmp_path):
    run = run_probe(tmp_path)
    assert run.returncode == 201, run.stdout + run.stderr  # Boost's "failures" status, not a crash
    verdicts = run.verdicts()
    assert {name for name, verdict in verdicts.items() if verdict == "passed"} == PASSING
    assert {name for name, verdict in verdicts.items() if verdict == "failed"} == FAILING
    assert {name for name, verdict in verdicts.items() if verdict == "error"} == TIMED_OUT
    assert {name for name, verdict in verdicts.items() if verdict == "skipped"} == NOT_RUN
    assert "Segmentation" not in run.stderr and "Fatal Python error" not in run.stderr
    # The async global fixture wraps the whole run.
    assert run.log[0] == "global set up" and run.log[-1] == "global torn down"


def test_a_require_two_coroutines_deep_through_python_is_reported_once_and_stops_the_case(tmp_path):
    run = run_probe(tmp_path, "--run_test=net/requires_deep,fetches")
    assert run.returncode == 201
    assert run.stdout.count("innermost REQUIRE after a real suspension") == 1
    assert run.stdout.count('in "net/requires_deep"') == 1  # not also as an exception escaping the case
    assert "after the innermost REQUIRE" not in run.log
    assert "after the Python relay" not in run.log
    assert "after the deep REQUIRE" not in run.log
    assert run.verdicts()["net/requires_deep"] == "failed"
    assert run.verdicts()["net/fetches"] == "passed" and "ran net/fetches" in run.log


def test_escaping_exceptions_are_failures_that_name_them(tmp_path):
    run = run_probe(tmp_path, "--run_test=net/http_fail,python_raises")
    assert "std::runtime_error: the http server answered 500" in run.stdout
    assert "json.decoder.JSONDecodeError" in run.stdout
    assert run.verdicts() == {**{name: "skipped" for name in run.verdicts()},
                              "net/http_fail": "failed", "net/python_raises": "failed"}


def test_timeouts_cancel_through_asyncio_run_tear_down_and_leave_the_interpreter_healthy(tmp_path):
    run = run_probe(tmp_path, "--run_test=timing:slow_suite")
    assert run.returncode == 201
    verdicts = run.verdicts()
    for name in ("timing/boost_timeout", "timing/sub_second_timeout", "timing/fixture_times_out",
                 "slow_suite/longer_than_its_suite"):
        assert verdicts[name] == "error", name  # Boost's "timed out" (a JUnit error)
    assert "timed out after 1 s; cancelled through asyncio" in run.stdout
    assert "timed out after 0.2 s" in run.stdout  # a sub-second timeout, as asked
    assert "timed out after 2 s" in run.stdout    # the suite's timeout
    suite_entries = [c.get("name") for c in ElementTree.parse(run.junit).getroot().iter("testcase")
                     if c.get("classname") is None]
    assert suite_entries == ["slow_suite-timed-execution"]  # and Boost counts the suite as timed out
    assert not [line for line in run.log if "finished its sleep" in line]
    # The fixture's tear-down ran although its case was cancelled; the next case ran fine.
    assert run.log.count("fixture torn down") == 1 and run.log.count("fixture destroyed") == 1
    assert verdicts["timing/healthy_after"] == "passed" and "ran timing/healthy_after" in run.log


def test_a_case_that_swallows_its_cancellation_or_blocks_the_loop_times_out_all_the_same(tmp_path):
    run = run_probe(tmp_path, "--run_test=overruns")
    assert run.returncode == 201
    verdicts = {name: verdict for name, verdict in run.verdicts().items() if name.startswith("overruns/")}
    assert verdicts == {"overruns/swallows_the_cancellation": "error", "overruns/blocks_the_loop_then_returns": "error",
                        "overruns/healthy_after_them": "passed"}
    assert "overruns/swallows_the_cancellation returned" in run.log  # it did return, late
    assert "overruns/blocks_the_loop_then_returns returned" in run.log
    assert "timed out after 0.3 s (it ran 0.7" in run.stdout


def test_an_async_fixture_runs_in_the_case_task_and_tears_down_after_a_failure(tmp_path):
    run = run_probe(tmp_path, "--run_test=fixtures")
    assert run.verdicts()["fixtures/with_server"] == "passed"  # saw the context variable set in set-up
    assert run.verdicts()["fixtures/body_fails_teardown_runs"] == "failed"
    assert run.log[1:] == ["fixture constructed", "fixture set up", "ran fixtures/with_server",
                           "fixture torn down", "fixture destroyed", "fixture constructed", "fixture set up",
                           "fixture torn down", "fixture destroyed", "global torn down"]


def test_a_leaked_task_is_cancelled_inside_its_own_case_and_warned_about(tmp_path):
    run = run_probe(tmp_path, "--run_test=hygiene/leaks_a_task,after_the_leak", log_level="warning")
    assert run.returncode == 0, run.stdout
    assert run.log.index("leaked task cancelled") < run.log.index("ran hygiene/after_the_leak")
    assert 'warning: in "hygiene/leaks_a_task"' in run.stdout
    assert "1 task(s) still pending after the case; cancelled" in run.stdout


def test_strict_tasks_fails_the_case_that_leaked_a_task(tmp_path):
    run = run_probe(tmp_path, "--run_test=hygiene/leaks_a_task,after_the_leak", pyasync_args=["--strict-tasks"])
    assert run.returncode == 201
    assert run.verdicts()["hygiene/leaks_a_task"] == "failed"
    assert run.verdicts()["hygiene/after_the_leak"] == "passed"
    assert "Failure (--strict-tasks)" not in run.stdout and "(--strict-tasks)" in run.stdout
    assert "leaked()" in run.stdout  # the task is named


def test_strict_tasks_from_the_environment(tmp_path):
    run = run_probe(tmp_path, "--run_test=hygiene/leaks_a_task", env={"PYASYNC_STRICT_TASKS": "1"})
    assert run.verdicts()["hygiene/leaks_a_task"] == "failed"


def test_loop_callback_and_unretrieved_task_errors_fail_the_case_that_caused_them(tmp_path):
    run = run_probe(tmp_path, "--run_test=hygiene/callback_raises,unretrieved_task_exception,after_the_leak")
    verdicts = run.verdicts()
    assert verdicts["hygiene/callback_raises"] == "failed"
    assert verdicts["hygiene/unretrieved_task_exception"] == "failed"
    assert verdicts["hygiene/after_the_leak"] == "passed"
    assert "ZeroDivisionError: division by zero" in run.stdout
    assert "Task exception was never retrieved" in run.stdout and "nobody retrieves me" in run.stdout


def test_a_case_calling_asyncio_run_does_not_break_later_async_cases(tmp_path):
    run = run_probe(tmp_path, "--run_test=hygiene/calls_asyncio_run,async_after_asyncio_run")
    assert run.returncode == 0, run.stdout
    assert "ran hygiene/async_after_asyncio_run" in run.log


def test_python_prints_and_boost_messages_stay_in_order_on_a_pipe(tmp_path):
    run = run_probe(tmp_path, "--run_test=hygiene/prints_in_order", log_level="message")
    lines = [line for line in run.stdout.splitlines() if "line " in line]
    assert lines == ["python line 1", "boost line 2", "python line 3"]


@pytest.mark.parametrize("selection, expected", [
    (["-t", "@fast"], {"net/fetches", "Mirrored/sync_passes", "Mirrored/async_passes"}),
    (["-t", "net/*_fail"], {"net/http_fail"}),
    (["-t", "net:Mirrored/sync_passes"], {"net/fetches", "net/check_fails", "net/requires_deep", "net/http_fail",
                                          "net/python_raises", "net/sync_sees_the_loop", "Mirrored/sync_passes"}),
    (["-t", "net", "-t", "!net/http_fail"], {"net/fetches", "net/check_fails", "net/requires_deep",
                                              "net/python_raises", "net/sync_sees_the_loop"}),
    (["-t", "@net_http"], {"Mirrored/sync_passes"}),  # the tag [net:http], made selectable
    (["-t", "@slow_io__disk_ssd"], {"Mirrored/sync_passes"}),  # the tag [slow io, disk/ssd]
    (["-t", "Mirrored"], {"Mirrored/sync_passes", "Mirrored/async_passes", "Mirrored/expect_fails",
                          "Mirrored/times_out"}),  # the ignored case stays out
], ids=["label", "wildcard", "or", "exclude", "mapped-label", "mapped-label-2", "suite-keeps-ignored-out"])
def test_run_test_selects_exactly(tmp_path, selection, expected):
    run = run_probe(tmp_path, *selection)
    assert run.ran() == expected
    assert "ran Mirrored/ignored_one" not in run.log


def test_random_order_runs_the_same_cases_to_the_same_verdicts(tmp_path):
    ordered = run_probe(tmp_path, "--run_test=net:Mirrored").verdicts()
    shuffled = run_probe(tmp_path, "--run_test=net:Mirrored", "--random=7").verdicts()
    assert shuffled == ordered


def test_nothing_selected_is_boosts_status_200(tmp_path):
    assert run_probe(tmp_path, "--run_test=no_such_suite").returncode == 200


def test_include_ignored_runs_an_ignored_mirrored_case(tmp_path):
    run = run_probe(tmp_path, "--run_test=Mirrored/ignored_one", pyasync_args=["--include-ignored"])
    assert run.returncode == 0 and "ran Mirrored/ignored_one" in run.log
    refused = run_probe(tmp_path, "--run_test=Mirrored/ignored_one")
    assert "ran Mirrored/ignored_one" not in refused.log
    assert refused.verdicts()["Mirrored/ignored_one"] == "skipped"


def test_ctrl_c_cancels_the_running_case_stops_the_run_and_writes_the_report(tmp_path):
    run = run_probe(tmp_path, "--run_test=hygiene/interrupts_itself:Mirrored/sync_passes")
    assert run.returncode != 0 and run.returncode > 0  # no signal death
    assert "interrupts_itself started" in run.log and "interrupts_itself not cancelled" not in run.log
    assert "ran Mirrored/sync_passes" not in run.log  # the rest did not run
    assert run.verdicts()["hygiene/interrupts_itself"] == "error"  # Boost's fatal error: the run aborts
    assert "interrupted (Ctrl-C)" in run.stdout


@pytest.mark.parametrize("factory", ["asyncio", "uvloop"])
def test_the_loop_factory_option_after_the_double_dash(tmp_path, factory):
    dependencies.require(factory)
    run = run_probe(tmp_path, "--run_test=net/fetches:hygiene/leaks_a_task", log_level="message",
                    pyasync_args=["--loop-factory", factory, "--asyncio-debug"])
    assert run.returncode == 0, run.stdout + run.stderr
    assert "ran net/fetches" in run.log


def test_under_trio_async_cases_pass_and_a_timeout_cancels_through_the_cases_cancel_scope(tmp_path):
    dependencies.require("trio")
    run = run_probe(tmp_path, "--run_test=net/fetches:timing/sub_second_timeout", log_level="message",
                    pyasync_args=["--loop-factory", "trio"])
    assert run.returncode == 201, run.stdout + run.stderr
    ran = {name: verdict for name, verdict in run.verdicts().items() if verdict != "skipped"}
    assert ran == {"net/fetches": "passed", "timing/sub_second_timeout": "error"}  # a timeout, as on asyncio
    assert "timed out after 0.2 s; cancelled through trio" in run.stdout
    assert "ran net/fetches" in run.log and "sub_second_timeout finished its sleep" not in run.log
    assert run.log[0] == "global set up" and run.log[-1] == "global torn down"  # under trio.run too


def test_a_bad_pyasync_option_is_refused_with_what_was_expected(tmp_path):
    run = run_probe(tmp_path, pyasync_args=["--strict"])
    assert run.returncode == 200
    assert "unknown pyasync option '--strict' after '--': expected --loop-factory" in run.stderr
    factory = run_probe(tmp_path, "--run_test=net/fetches", pyasync_args=["--loop-factory", "no_module:make"])
    assert factory.returncode == 200 and "cannot start the session" in factory.stderr
    assert "no_module" in factory.stderr


def test_help_after_the_double_dash_documents_pyasyncs_options(tmp_path):
    run = run_probe(tmp_path, pyasync_args=["--help"])
    assert run.returncode == 0
    for option in ("--loop-factory", "--asyncio-debug", "--strict-tasks", "--include-ignored", "--list-json",
                   "PYASYNC_LOOP_FACTORY"):
        assert option in run.stdout


def listing():
    completed = subprocess.run([PROBE, "--", "--list-json"], capture_output=True, text=True,
                               env={**os.environ, "PYTHONHOME": "/nonexistent"})  # no Python needed
    assert completed.returncode == 0, completed.stderr
    return {f"{c['suite']}/{c['case']}": c for c in json.loads(completed.stdout)["cases"]}


def test_the_program_describes_its_tree_without_starting_python():
    cases = listing()
    assert set(cases) == PASSING | FAILING | TIMED_OUT | NOT_RUN
    assert cases["net/fetches"]["tags"] == ["fast"] and cases["net/fetches"]["kind"] == "async"
    assert cases["net/sync_sees_the_loop"]["kind"] == "sync"
    assert cases["Mirrored/sync_passes"]["tags"] == ["fast", "net_http", "slow_io__disk_ssd"]
    assert cases["timing/boost_timeout"]["timeout_s"] == 1
    assert cases["timing/sub_second_timeout"]["timeout_s"] == 0.2
    assert cases["slow_suite/longer_than_its_suite"]["timeout_s"] == 2  # the suite's
    assert cases["hygiene/interrupts_itself"]["ignored"] and cases["Mirrored/ignored_one"]["ignored"]
    assert cases["net/fetches"]["file"].endswith("boost_probe/probe.cpp") and cases["net/fetches"]["line"] > 0


@pytest.mark.skipif(BUILD_DIR is None, reason="needs PYASYNC_BUILD_DIR")
def test_ctest_discovery_registers_one_test_per_case_with_labels_disabled_and_timeouts(tmp_path):
    tests_file = tmp_path / "tests.cmake"
    settings = tmp_path / "settings.cmake"
    settings.write_text("\n".join([
        "set(TEST_TARGET boost_probe_)", "set(TEST_STYLE boost)", f"set(TEST_EXECUTABLE [==[{PROBE}]==])",
        "set(TEST_LAUNCHER [==[]==])", f"set(TEST_WORKING_DIR [==[{tmp_path}]==])", "set(TEST_EXTRA_ARGS [==[]==])",
        "set(TEST_DISCOVERY_EXTRA_ARGS [==[]==])", "set(TEST_PROPERTIES [==[]==])",
        "set(TEST_PREFIX [==[probe.]==])", "set(TEST_SUFFIX [==[]==])", "set(TEST_FILTER [==[]==])",
        "set(TEST_LIST [==[probe_TESTS]==])", "set(TEST_ENVIRONMENT [==[]==])", "set(TEST_JUNIT_OUTPUT_DIR [==[]==])",
        "set(TEST_SKIP_IS_FAILURE [==[]==])", "set(TEST_NO_TAGS_AS_LABELS [==[]==])",
        "set(TEST_DISCOVERY_TIMEOUT [==[30]==])", f"set(CTEST_FILE [==[{tests_file}]==])", ""]))
    script = HERE.parent / "tools" / "cmake" / "PyasyncAddTests.cmake"
    subprocess.run(["cmake", "-D", f"SETTINGS_FILE={settings}", "-P", str(script)], check=True)
    (tmp_path / "CTestTestfile.cmake").write_text(f"include([==[{tests_file}]==])\n")

    def ctest(*args):
        out = subprocess.run(["ctest", "-N", *args], cwd=tmp_path, capture_output=True, text=True, check=True).stdout
        return {line.split(": ", 1)[1].strip().removesuffix(" (Disabled)") for line in out.splitlines()
                if line.strip().startswith("Test") and ": " in line}

    assert ctest() == {f"probe.{name}" for name in listing()}
    assert ctest("-L", "^fast$") == {"probe.net/fetches", "probe.Mirrored/sync_passes", "probe.Mirrored/async_passes"}
    assert ctest("-L", "^net_http$") == {"probe.Mirrored/sync_passes"}
    assert ctest("-L", "^slow_io__disk_ssd$") == {"probe.Mirrored/sync_passes"}
    generated = tests_file.read_text()
    assert "[==[--run_test=net/fetches]==]" in generated
    assert "set_tests_properties([==[probe.Mirrored/ignored_one]==] PROPERTIES" in generated
    ignored = generated.split("set_tests_properties([==[probe.Mirrored/ignored_one]==]")[1].split("\n")[0]
    assert "DISABLED [==[TRUE]==]" in ignored
    boost_timeout = generated.split("set_tests_properties([==[probe.timing/boost_timeout]==]")[1].split("\n")[0]
    assert "TIMEOUT [==[32]==]" in boost_timeout
    # A discovered test runs its one case, with Boost's status.
    passing = subprocess.run(["ctest", "-R", "^probe.net/fetches$", "--output-on-failure"], cwd=tmp_path,
                             capture_output=True, text=True)
    assert passing.returncode == 0, passing.stdout
    failing = subprocess.run(["ctest", "-R", "^probe.net/check_fails$"], cwd=tmp_path, capture_output=True, text=True)
    assert failing.returncode != 0


def test_a_tree_listing_lost_to_a_full_disk_is_an_error():
    with open("/dev/full", "w") as full:
        result = subprocess.run([PROBE, "--", "--list-json"], stdout=full, stderr=subprocess.PIPE, text=True,
                                timeout=60)
    assert result.returncode != 0
    assert "cannot write the test tree (--list-json) to stdout: No space left on device" in result.stderr


def test_exit_zero_inside_a_case_fails_the_run_naming_the_case(tmp_path):
    run = run_probe(tmp_path, "--run_test=hygiene/exits_zero")
    assert run.returncode == 201, run.stdout + run.stderr
    expected = "the process exited with status 0 during hygiene.exits_zero"
    assert expected in run.stdout and expected in run.stderr
