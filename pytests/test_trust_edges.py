"""Verdicts where async tests really go wrong, tested from outside against escape_probe_: cases
that overrun their limit and swallow the cancellation or block the loop, catch a skip and then
fail for real, fork or exit the process, or hand the loop's exception handler an error. Each must
be reported failed, in the console, JSON and JUnit outputs, by a direct run (what ctest runs),
by --isolate and by the pyasync-test driver; each sentinel after one must run and pass once."""
import json
import os
import pathlib
import re
import subprocess
import sys
import xml.etree.ElementTree as ElementTree

import pytest
from probe_support import finished_events, listed, must_fail, run_binary

PROBE = os.environ.get("PYASYNC_ESCAPE_PROBE")
BUILD = os.environ.get("PYASYNC_BUILD_DIR")
DRIVER = pathlib.Path(__file__).resolve().parents[1] / "tools" / "pyasync-test"
pytestmark = pytest.mark.skipif(PROBE is None, reason="run through ctest (PYASYNC_ESCAPE_PROBE)")

# The cases that end the process or need a grace period: run one at a time, below.
ONE_AT_A_TIME = "Exits"


def run_probe(*args, timeout=60):
    return run_binary(PROBE, *args, timeout=timeout)


def listed_cases():
    return listed(PROBE)


def together():
    """The cases run in one process: those declared before the ones that end it."""
    names = listed_cases()
    return names[:next(i for i, name in enumerate(names) if name.startswith(ONE_AT_A_TIME + "."))]


def test_the_probe_pairs_each_misbehaving_case_with_a_sentinel():
    names = together()
    assert len(names) == 20
    for failing, sentinel in zip(names[::2], names[1::2]):
        assert must_fail(failing) and not must_fail(sentinel), (failing, sentinel)


@pytest.mark.parametrize("extra", [[], ["--isolate"]], ids=["direct", "isolated"])
def test_every_misbehaving_case_fails_once_and_every_sentinel_passes_once(extra, tmp_path):
    junit = tmp_path / "escapes.xml"
    result = run_probe(*together(), "--exact", "--format", "json", "--junit", str(junit), *extra, timeout=180)
    assert result.returncode == 1, result.stderr
    finished = finished_events(result.stdout)
    # Once each: a forked child that came back into the harness reports nothing and runs nothing.
    assert [name for name, _ in finished] == together()
    wrong = {name: verdict for name, verdict in finished if verdict != ("failed" if must_fail(name) else "ok")}
    assert wrong == {}
    if not extra:  # under --isolate the child's stderr is the case's output
        assert "returned into the harness; it exits" in result.stderr
    cases = ElementTree.parse(junit).getroot().iter("testcase")
    junit_failed = {f"{c.get('classname')}.{c.get('name')}": c.find("failure") is not None for c in cases}
    assert junit_failed == {name: must_fail(name) for name in together()}


def failure_message(name, *extra):
    result = run_probe("--exact", name, "--format", "json", *extra)
    return next(e["message"] for e in map(json.loads, result.stdout.splitlines()) if e.get("event") == "failed")


@pytest.mark.parametrize("name, expected", [
    ("Overrun.swallows_the_cancellation_then_returns", "timed out after 0.3 s; cancelled through asyncio"),
    ("Overrun.blocks_the_loop_then_returns", "timed out"),
    ("Overrun.blocks_the_loop_after_suspending_then_returns", "timed out after 0.3 s (it ran 0.9"),
    ("Escape.skip_caught_then_python_error", "a real failure after the skip was caught"),
    ("Escape.skip_caught_then_check_fails", "PYASYNC_CHECK(1 + 1 == 3)"),
    ("Escape.skip_caught_then_cpp_exception", "std::runtime_error: a real failure after the skip was caught"),
    ("Escape.forks_in_cpp_and_the_child_returns", "the parent fails after its child returned"),
    ("Escape.forks_in_python_after_suspending_and_the_child_returns", "AssertionError: the parent fails"),
    ("LoopError.a_callback_raises", "ZeroDivisionError: raised in a loop callback"),
])
def test_each_misbehaving_case_says_what_went_wrong(name, expected):
    assert expected in failure_message(name)


def test_a_case_that_installs_its_own_exception_handler_does_not_decide_the_next_verdict():
    # The first leaves a silent handler on the shared loop; the harness puts its own back.
    result = run_probe("--exact", "LoopError.installs_a_silent_handler_then_fails", "LoopError.a_callback_raises",
                       "--format", "json")
    verdicts = dict(finished_events(result.stdout))
    assert verdicts == {"LoopError.installs_a_silent_handler_then_fails": "failed",
                        "LoopError.a_callback_raises": "failed"}


@pytest.mark.parametrize("name", ["Exits.exit_zero_in_a_sync_case", "Exits.exit_zero_after_a_co_await"])
def test_exit_zero_inside_a_case_fails_it_and_the_run(name, tmp_path):
    junit = tmp_path / "exit.xml"
    result = run_probe("--exact", name, "Sentinel.after_11", "--junit", str(junit), "--color", "never")
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"the process exited with status 0 during {name}" in result.stdout
    assert f"[  FAILED  ] {name}" in result.stdout
    suite, _, case = name.partition(".")
    failed = [c for c in ElementTree.parse(junit).getroot().iter("testcase") if c.find("failure") is not None]
    assert [(c.get("classname"), c.get("name")) for c in failed] == [(suite, case)]
    assert "the process exited with status 0" in failed[0].find("failure").text


@pytest.mark.parametrize("name", ["Exits.exit_zero_in_a_sync_case", "Exits.exit_zero_after_a_co_await",
                                  "Exits.underscore_exit_zero"])
def test_a_case_that_ends_the_process_fails_under_isolate_and_its_sentinel_runs(name):
    result = run_probe("--exact", name, "Sentinel.after_11", "--isolate", "--format", "json")
    assert result.returncode == 1
    verdicts = dict(finished_events(result.stdout))
    assert verdicts == {name: "failed", "Sentinel.after_11": "ok"}


def test_underscore_exit_zero_leaves_no_exit_status_line_for_ctest_to_match():
    # pyasync_discover_tests passes --print-exit-status and requires its line of status 0.
    ended = run_probe("--exact", "Exits.underscore_exit_zero", "--print-exit-status")
    assert ended.returncode == 0 and "pyasync-test: exit status" not in ended.stdout
    passed = run_probe("--exact", "Sentinel.after_11", "--print-exit-status")
    assert passed.stdout.rstrip().splitlines()[-1] == "pyasync-test: exit status 0"
    failed = run_probe("--exact", "Escape.skip_caught_then_check_fails", "--print-exit-status")
    assert failed.stdout.rstrip().splitlines()[-1] == "pyasync-test: exit status 1"


def test_discovered_ctest_tests_require_the_exit_status_line():
    if BUILD is None:
        pytest.skip("needs PYASYNC_BUILD_DIR")
    discovered = next(pathlib.Path(BUILD, "pytests").glob("pyasync_bridge_suite*_tests.cmake")).read_text()
    assert "--print-exit-status" in discovered
    assert "PASS_REGULAR_EXPRESSION [==[pyasync-test: exit status 0]==]" in discovered


def test_a_case_that_blocks_the_loop_for_good_is_ended_by_the_watchdog_with_its_stacks(tmp_path):
    junit = tmp_path / "blocked.xml"
    result = run_probe("--exact", "Exits.blocks_the_loop_forever", "Sentinel.after_11", "--timeout-grace", "0.2",
                       "--junit", str(junit), "--color", "never")
    assert result.returncode == -6  # SIGABRT, as a sync case stopped by the watchdog
    assert "[ TIMEOUT  ] Exits.blocks_the_loop_forever: async case overran its timeout of 0.3 s" in result.stderr
    assert "Python stacks follow" in result.stderr and "Native stack of the main thread" in result.stderr
    assert "in run_until_complete" in result.stderr  # faulthandler's dump of the main thread
    failure = next(c for c in ElementTree.parse(junit).getroot().iter("testcase") if c.get("name") ==
                   "blocks_the_loop_forever").find("failure")
    assert "never gave the event loop back" in failure.text


def test_under_isolate_a_blocked_loop_fails_its_case_and_the_sentinel_runs():
    result = run_probe("--exact", "Exits.blocks_the_loop_forever", "Sentinel.after_11", "--timeout-grace", "0.2",
                       "--isolate", "--format", "json")
    verdicts = dict(finished_events(result.stdout))
    assert verdicts == {"Exits.blocks_the_loop_forever": "failed", "Sentinel.after_11": "ok"}


def test_the_grace_period_is_a_setting_with_a_usage_error():
    result = run_probe("--timeout-grace", "0", "Sentinel.after_1")
    assert result.returncode == 4
    assert "invalid value '0' for --timeout-grace: expected a finite number of seconds > 0" in result.stderr


def test_the_driver_reports_each_misbehaving_case_failed_and_each_sentinel_passed():
    result = run_driver("--color", "never", "--exact", *together())
    assert result.returncode == 1, result.stdout + result.stderr
    words = dict((name.split("::")[-1], word) for word, name in
                 re.findall(r"^\[ *(OK|FAILED|SKIPPED) *\] (\S+::\S+)", result.stdout, re.M))
    assert words == {name: "FAILED" if must_fail(name) else "OK" for name in together()}


@pytest.mark.parametrize("args, what", [
    (["--list", "--format", "json"], "cannot write the listing to stdout"),
    (["--format", "json", "Sentinel.after_1"], "cannot write the run's JSON events"),
    (["Sentinel.after_1"], "cannot write the run's report to stdout"),
])
def test_output_lost_to_a_full_disk_is_an_error(args, what):
    with open("/dev/full", "w") as full:
        result = subprocess.run([PROBE, *args], stdout=full, stderr=subprocess.PIPE, text=True, timeout=60)
    assert result.returncode == 3 and what in result.stderr and "No space left on device" in result.stderr


def run_driver(*args):
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("PYASYNC_TEST_", "TEST_", "GTEST_"))}
    return subprocess.run([sys.executable, str(DRIVER), "--binary", PROBE, *args], capture_output=True, text=True,
                          errors="replace", env=environment, timeout=120)


AROUND_A_CRASH = ["--exact", "Sentinel.after_1", "Sentinel.after_2", "Exits.underscore_exit_zero", "Sentinel.after_11"]


@pytest.mark.parametrize("parallel", ["1", "2"])
def test_the_driver_runs_what_a_crash_left_unrun_and_its_totals_add_up(parallel, tmp_path):
    junit = tmp_path / "driver.xml"
    result = run_driver("--parallel", parallel, "--format", "json", "--junit", str(junit), *AROUND_A_CRASH)
    assert result.returncode == 1, result.stdout + result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    verdicts = {e["name"].split("::")[1]: e["event"] for e in events if e["type"] == "test" and e["event"] != "started"}
    assert verdicts == {"Sentinel.after_1": "ok", "Sentinel.after_2": "ok", "Exits.underscore_exit_zero": "failed",
                        "Sentinel.after_11": "ok"}
    summary = events[-1]
    assert (summary["passed"], summary["failed"], summary["filtered_out"]) == (3, 1, len(listed_cases()) - 4)
    junit_cases = list(ElementTree.parse(junit).getroot().iter("testcase"))
    assert len(junit_cases) == 4 and sum(c.find("failure") is not None for c in junit_cases) == 1


def test_under_sharding_the_cases_a_crash_left_are_reported_not_run_by_name():
    # A narrower selection would shard differently: nothing is rerun, nothing vanishes.
    result = run_driver("--format", "json", "--shard-count", "1", "--shard-index", "0", *AROUND_A_CRASH)
    events = [json.loads(line) for line in result.stdout.splitlines()]
    verdicts = {e["name"].split("::")[1]: e for e in events if e["type"] == "test" and e["event"] != "started"}
    assert verdicts["Sentinel.after_11"]["event"] == "failed"
    assert verdicts["Sentinel.after_11"]["message"].startswith(
        "not run: escape_probe_ ended in Exits.underscore_exit_zero (exited with status 0) before this case started")
    assert (events[-1]["passed"], events[-1]["failed"]) == (2, 2)


LEFT_BEHIND = "Serve.leaves_a_callback_that_raises_later"
LATE_HEADER = f"pyasync-test: a failure outside any running case (after the end of {LEFT_BEHIND}):"
LATE_ERROR = "ZeroDivisionError: raised in a loop callback after its case ended"


def test_a_failure_after_its_case_ended_fails_the_run_and_is_shown_though_output_is_captured():
    # The callback fails while the next case runs with its output captured: the failure must not
    # be captured into that case's output (a passing case's output is never shown), nor fail it.
    result = run_probe("--exact", LEFT_BEHIND, "Serve.waits_on_the_loop", "--color", "never")
    assert result.returncode == 1, result.stdout
    lines = result.stdout.splitlines()
    assert LATE_HEADER in lines, result.stdout
    waited = next(i for i, line in enumerate(lines) if line.startswith("[       OK ] Serve.waits_on_the_loop"))
    assert lines.index(LATE_HEADER) > waited  # reported after the verdict of the case it happened in
    assert LATE_ERROR in result.stdout
    assert "error: 1 failure outside any running case (above: a callback or thread a case left behind)" in lines
    assert any(line.startswith("test result: FAILED. 2 passed, 0 failed") for line in lines), result.stdout


@pytest.mark.skipif(os.environ.get("PYASYNC_ESCAPE_PROBE_BOOST") is None,
                    reason="Boost.Test is not installed, or its mirrors are not built here (PYASYNC_BOOST_MIRRORS)")
def test_a_failure_after_its_case_ended_fails_a_boost_run_and_no_case():
    # The same two cases, mirrored into a Boost.Test binary: Boost's log passes both, the run fails.
    binary = os.environ["PYASYNC_ESCAPE_PROBE_BOOST"]
    selected = "--run_test=Serve/leaves_a_callback_that_raises_later:Serve/waits_on_the_loop"
    result = run_binary(binary, selected, "--log_level=test_suite", "--color_output=no")
    assert result.returncode == 201, result.stdout + result.stderr
    assert "Leaving test case \"leaves_a_callback_that_raises_later\"" in result.stdout
    assert "Leaving test case \"waits_on_the_loop\"" in result.stdout
    assert "error: in \"Serve/" not in result.stdout + result.stderr  # neither case failed
    assert LATE_HEADER in result.stderr and LATE_ERROR in result.stderr
    assert "pyasync: error: 1 failure outside any running case" in result.stderr


def test_a_failure_after_its_case_ended_is_counted_in_the_json_suite_event():
    result = run_probe("--exact", LEFT_BEHIND, "Serve.waits_on_the_loop", "--format", "json")
    assert result.returncode == 1
    assert finished_events(result.stdout) == [(LEFT_BEHIND, "ok"), ("Serve.waits_on_the_loop", "ok")]
    suite = [json.loads(line) for line in result.stdout.splitlines() if '"type":"suite"' in line][-1]
    assert (suite["event"], suite["late_failures"], suite["failed"]) == ("failed", 1, 0)
    assert LATE_HEADER in result.stderr and LATE_ERROR in result.stderr
