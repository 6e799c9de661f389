"""pytest collects and runs C++ harness cases as its own items (the plugin's C++ collection).

Most tests run the plugin probe (plugin_probe/cases.cpp), reached through a wrapper script that
logs each start of the binary; every case the probe runs appends a line (with its process id) to
a log, so the tests see exactly what ran, how often and in which child."""
import json
import os
import signal
import stat
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree

import pytest

import dependencies

from plugin_support import CAPTURE

PROBE = os.environ["PYASYNC_PLUGIN_PROBE"]
BRIDGE_SUITE = os.environ["PYASYNC_BRIDGE_SUITE"]
BUILD_DIR = os.environ["PYASYNC_BUILD_DIR"]
BASE_ARGS = ("-p", "pyasync", "-p", "no:cacheprovider", "-o", "pyasync_fixture_modules=", *CAPTURE)
BINARY = "bin/probe"
SANITIZED = bool(os.environ.get("PYASYNC_SANITIZED"))
# The tests of the plugin's own scheduling (xdist) and caching run no native code that the other
# tests do not: the sanitizer presets skip them, as their pytest processes cost CI time there.
PYTHON_LOGIC_ONLY = pytest.mark.skipif(SANITIZED, reason="the plugin's Python logic: run by the dev preset")


@pytest.fixture
def probe(pytester, monkeypatch):
    """The probe as ``bin/probe`` under the pytester folder, named by ``pyasync_binaries``; its
    case log and start log are cleared."""
    binary = pytester.path / "bin" / "probe"
    binary.parent.mkdir()
    binary.write_text(f'#!/bin/sh\necho "$*" >> "{pytester.path}/starts.log"\nexec "{PROBE}" "$@"\n')
    binary.chmod(binary.stat().st_mode | stat.S_IXUSR)
    pytester.makeini(f"[pytest]\npyasync_binaries = {BINARY}\n")
    monkeypatch.setenv("PLUGIN_PROBE_LOG", str(pytester.path / "cases.log"))
    return pytester


def ran(pytester):
    """The case log: ``what`` lines in order, without the process ids."""
    log = pytester.path / "cases.log"
    return [line.rsplit(" pid=", 1)[0] for line in log.read_text().splitlines()] if log.exists() else []


def case_pids(pytester):
    log = pytester.path / "cases.log"
    return {line.rsplit(" pid=", 1)[1] for line in log.read_text().splitlines()} if log.exists() else set()


def starts(pytester, mode="--serve"):
    log = pytester.path / "starts.log"
    return [line for line in log.read_text().splitlines() if mode in line.split()] if log.exists() else []


def listed(binary, *args):
    done = subprocess.run([binary, "--list", "--format", "json", *args], capture_output=True, check=True)
    return [case["name"] for case in json.loads(done.stdout)["cases"]]


def run(pytester, *args):
    return pytester.runpytest(*BASE_ARGS, *args)


def test_every_listed_case_is_an_item_named_after_the_binary(probe):
    result = run(probe, "--collect-only", "-q")
    names = listed(PROBE)
    assert result.ret == 0
    assert [line for line in result.outlines if line.startswith(BINARY)] == [f"{BINARY}::{name}" for name in names]
    assert len(names) == 29
    assert starts(probe) == []  # collecting starts no serving child
    assert ran(probe) == []


def test_outcomes_map_to_pytest_outcomes(probe):
    result = run(probe, "-k", "Outcomes", "-rA")
    result.assert_outcomes(passed=5, failed=2, skipped=2)
    result.stdout.fnmatch_lines([
        "*_ Outcomes.fails_check (cases.cpp:62) _*",
        "*probe/cases.cpp:62: Outcomes.fails_check failed",
        "*PYASYNC_CHECK(answer == 42)",
        "*with expansion: 41 == 42",
    ])
    result.stdout.fnmatch_lines(["*Outcomes.raises_python failed", "*JSONDecodeError*"])
    result.stdout.fnmatch_lines(["SKIPPED *needs a GPU", "SKIPPED *ignored by the harness: flaky upstream*"])
    result.stdout.fnmatch_lines(["*Captured output call*", "hello from C++"])
    assert sorted(ran(probe)) == sorted(f"ran Outcomes.{name}" for name in (
        "passes", "async_passes", "fails_check", "raises_python", "skipped", "prints", "tagged_net", "tagged_fast"))
    assert len(starts(probe)) == 1  # one child ran them all


def test_failures_point_at_the_cpp_source(probe):
    result = run(probe, "-k", "fails_check", "--junitxml=report.xml")
    result.assert_outcomes(failed=1)
    case = ElementTree.parse(probe.path / "report.xml").getroot().find(".//testcase")
    assert case.get("name") == "Outcomes.fails_check"
    properties = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert properties["file"].endswith("plugin_probe/cases.cpp")
    assert int(properties["line"]) > 0
    assert "41 == 42" in case.find("failure").text
    # xunit1 records pytest's location of the item: the C++ file:line (0-based line).
    run(probe, "-k", "fails_check", "--junitxml=xunit1.xml", "-o", "junit_family=xunit1")
    case = ElementTree.parse(probe.path / "xunit1.xml").getroot().find(".//testcase")
    assert case.get("file").endswith("plugin_probe/cases.cpp")
    assert int(case.get("line")) + 1 == int(properties["line"])


def test_junit_has_one_testcase_per_case(probe):
    result = run(probe, "-k", "Outcomes or Counted", "--junitxml=report.xml")
    result.assert_outcomes(passed=15, failed=2, skipped=2)
    cases = ElementTree.parse(probe.path / "report.xml").getroot().findall(".//testcase")
    assert sorted(case.get("name") for case in cases) == sorted(
        name for name in listed(PROBE) if name.startswith(("Outcomes.", "Counted.")))


def test_keyword_selection_runs_only_the_selected_cases(probe):
    result = run(probe, "-k", "Counted and (case_3 or case_7)")
    result.assert_outcomes(passed=2)
    assert ran(probe) == ["ran Counted.case_3", "ran Counted.case_7"]


def test_a_case_named_on_the_command_line_runs_alone(probe):
    result = run(probe, f"{BINARY}::Counted.case_4", "--deselect", f"{BINARY}::Counted.case_5")
    result.assert_outcomes(passed=1)
    assert ran(probe) == ["ran Counted.case_4"]
    unknown = run(probe, f"{BINARY}::Counted.no_such_case")
    assert unknown.ret == pytest.ExitCode.USAGE_ERROR
    unknown.stderr.fnmatch_lines(["ERROR: not found: *bin/probe::Counted.no_such_case*"])


def test_a_native_binary_given_as_an_argument_is_collected_without_configuration(pytester):
    result = run(pytester, os.environ["PYASYNC_HARNESS_PROBE"], "-k", "Probe.passes or Probe.async_passes", "-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*harness_probe_::Probe.passes PASSED*"])


def test_tags_are_registered_markers_for_m(probe):
    result = run(probe, "--strict-markers", "-m", "net or cpp_skip", "-v")
    result.assert_outcomes(passed=2)
    assert sorted(ran(probe)) == ["ran Outcomes.tagged_fast", "ran Outcomes.tagged_net"]


def test_ignored_cases_run_with_include_ignored(probe):
    result = run(probe, "-k", "Outcomes.ignored", "--pyasync-include-ignored")
    result.assert_outcomes(passed=1)
    assert ran(probe) == ["ran Outcomes.ignored"]


def test_a_crash_fails_its_case_and_the_next_cases_run_in_a_new_child(probe):
    result = run(probe, "-k", "Crash")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*Crash.segfaults crashed: *bin/probe * while answering 'run Crash.segfaults'",
                                 "*about to crash*"])
    # Under AddressSanitizer the segfault is its report, and the child exits with status 1.
    result.stdout.fnmatch_lines(["*AddressSanitizer: SEGV*" if SANITIZED else "*was killed by SIGSEGV while*"])
    assert ran(probe) == ["ran Crash.before", "ran Crash.segfaults", "ran Crash.after"]
    assert len(starts(probe)) == 2
    assert len(case_pids(probe)) == 2


def test_hung_cases_end_at_their_time_limit_and_the_rest_run(probe):
    result = run(probe, "-k", "Hang")
    result.assert_outcomes(passed=1, failed=3, skipped=1)
    result.stdout.fnmatch_lines(["*Hang.async_sleeps failed*", "*1 s*"])
    result.stdout.fnmatch_lines(["*Hang.sync_blocks crashed: *SIGABRT*"])
    result.stdout.fnmatch_lines(["*Hang.outlives_its_watchdog timed out: *was still answering*after 6 s*"])
    assert ran(probe)[-1] == "ran Hang.after"


def test_a_suite_is_set_up_once_and_torn_down_after_its_last_case(probe):
    result = run(probe, "-k", "served or Outcomes.passes")
    result.assert_outcomes(passed=3)
    assert ran(probe) == ["ran Outcomes.passes", "set_up_suite Served", "ran served.first", "ran served.second",
                          "tear_down_suite Served"]


def test_a_suite_whose_last_case_is_skipped_is_torn_down_when_pytest_leaves_it(probe):
    probe.makeconftest("""
import pytest

def pytest_collection_modifyitems(items):
    for item in items:
        if item.name == "served.second":
            item.add_marker(pytest.mark.skip(reason="skipped by the conftest"))
""")
    result = run(probe, "-k", "served or Counted.case_0 or Counted.case_1")
    result.assert_outcomes(passed=3, skipped=1)
    assert ran(probe) == ["set_up_suite Served", "ran served.first", "tear_down_suite Served", "ran Counted.case_0",
                          "ran Counted.case_1"]


def test_autouse_fixtures_are_set_up_before_each_case_starts(probe):
    probe.makeconftest("""
import os
import pytest

@pytest.fixture(autouse=True)
def logged(request):
    with open(os.environ["PLUGIN_PROBE_LOG"], "a") as log:
        log.write(f"fixture for {request.node.name}\\n")
    yield
    with open(os.environ["PLUGIN_PROBE_LOG"], "a") as log:
        log.write(f"fixture done {request.node.name}\\n")
""")
    result = run(probe, "-k", "Counted.case_1 or Counted.case_2 or Counted.case_3")
    result.assert_outcomes(passed=3)
    assert ran(probe) == [line for k in (1, 2, 3) for line in (
        f"fixture for Counted.case_{k}", f"ran Counted.case_{k}", f"fixture done Counted.case_{k}")]


def test_setup_only_runs_no_case(probe):
    # A case starts at the end of its set-up (its call reads the answer): --setup-only has no call.
    result = run(probe, "--setup-only", "-k", "Outcomes.passes or Outcomes.fails_check")
    assert result.ret == 0
    assert ran(probe) == []


SKIPPED_AFTER_ITS_SET_UP = """
import pytest

@pytest.hookimpl(trylast=True)  # after the plugin's set-up, which starts the case
def pytest_runtest_setup(item):
    if item.name in ("Outcomes.passes", "Outcomes.fails_check"):
        pytest.skip("skipped by a set-up hook that runs last")
"""


def test_a_case_started_and_then_skipped_by_a_later_hook_keeps_its_verdict(probe):
    probe.makeconftest(SKIPPED_AFTER_ITS_SET_UP)
    result = run(probe, "-k", "Outcomes.passes or Outcomes.fails_check or Counted.case_0")
    # Both cases ran; the failure is not lost: it is an error of the item's tear-down.
    result.assert_outcomes(passed=1, skipped=2, errors=1)
    result.stdout.fnmatch_lines(["*ERROR at teardown of Outcomes.fails_check*",
                                 "*Outcomes.fails_check: it had started at the end of its set-up, and pytest did not "
                                 "call it; it failed:*", "*41 == 42*"])
    assert ran(probe) == ["ran Outcomes.passes", "ran Outcomes.fails_check", "ran Counted.case_0"]


def test_a_case_started_when_the_session_stops_is_told(probe):
    probe.makeconftest(SKIPPED_AFTER_ITS_SET_UP.replace('pytest.skip("skipped by a set-up hook that runs last")',
                                                        "raise KeyboardInterrupt"))
    result = probe.runpytest_subprocess(*BASE_ARGS, "-k", "Outcomes.fails_check or Counted.case_0")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["pyasync: *bin/probe: 'run Outcomes.fails_check' was sent, and its item never read "
                                 "the answer (the session stopped first); it answered failed:", "*41 == 42*"])
    assert ran(probe) == ["ran Outcomes.fails_check"]


def test_a_failing_suite_set_up_is_an_error_of_each_of_its_cases(probe, monkeypatch):
    monkeypatch.setenv("PLUGIN_PROBE_FAIL_SUITE_SET_UP", "1")
    result = run(probe, "-k", "served or Counted.case_0")
    result.assert_outcomes(passed=1, errors=2)
    result.stdout.fnmatch_lines(["*ERROR at setup of served.first*", "*suite set-up failed (served)*",
                                 "*the suite's server did not start*"])
    assert "ran served.first" not in ran(probe)


def test_a_failing_suite_tear_down_is_an_error_of_its_last_case(probe, monkeypatch):
    monkeypatch.setenv("PLUGIN_PROBE_FAIL_SUITE_TEAR_DOWN", "1")
    result = run(probe, "-k", "served")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*ERROR at teardown of served.second*", "*suite tear-down failed (served)*",
                                 "*the suite's server did not stop*"])


def test_a_failing_global_fixture_is_an_error_of_every_case_with_one_start(probe, monkeypatch):
    monkeypatch.setenv("PLUGIN_PROBE_FAIL_GLOBAL", "1")
    result = run(probe, "-k", "Counted")
    result.assert_outcomes(errors=10)
    result.stdout.fnmatch_lines(["*could not start serving: *the license server is down*"])
    assert len(starts(probe)) == 1
    assert ran(probe) == []


@pytest.mark.parametrize("content, expected", [
    ("not a program\n", "*bin/probe: not an executable file*"),
    ("#!/bin/sh\necho hello\n", "*bin/probe: not a pyasync harness binary: --list --format json printed 'hello*"),
    ("#!/bin/sh\necho broken >&2\nkill -KILL $$\n", "*bin/probe: listing its cases * failed: it was killed by SIGKILL*"),
])
def test_a_binary_that_cannot_be_listed_is_a_collection_error(pytester, content, expected):
    binary = pytester.path / "bin" / "probe"
    binary.parent.mkdir()
    binary.write_text(content)
    if content.startswith("#!"):
        binary.chmod(binary.stat().st_mode | stat.S_IXUSR)
    pytester.makeini(f"[pytest]\npyasync_binaries = {BINARY}\n")
    result = run(pytester)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*ERROR collecting bin/probe*", expected])
    assert result.ret == pytest.ExitCode.INTERRUPTED


def test_a_glob_matching_nothing_is_a_warning(pytester):
    pytester.makeini("[pytest]\npyasync_binaries = no/such/*_tests\n")
    pytester.makepyfile(test_python="def test_python(): pass")
    result = run(pytester)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*PytestConfigWarning: pyasync: pyasync_binaries = 'no/such/[*]_tests' matches no "
                                 "file under *; are the binaries built?"])


@PYTHON_LOGIC_ONLY
def test_the_listing_is_cached_until_the_binary_changes(probe):
    cached = ("-p", "pyasync", *CAPTURE, "-o", "pyasync_fixture_modules=", "--collect-only", "-q")
    probe.runpytest(*cached).assert_outcomes()
    probe.runpytest(*cached).assert_outcomes()
    assert len(starts(probe, "--list")) == 1
    (probe.path / "bin" / "probe").write_text((probe.path / "bin" / "probe").read_text() + "# changed\n")
    probe.runpytest(*cached)
    assert len(starts(probe, "--list")) == 2


def test_exit_first_leaves_no_child_behind(probe):
    result = run(probe, "-x", "-k", "Outcomes")
    result.assert_outcomes(passed=2, failed=1)
    for pid in case_pids(probe):
        assert not os.path.exists(f"/proc/{pid}"), f"harness child {pid} outlived the session"


def test_harness_args_reach_every_binary(pytester):
    dependencies.require("uvloop")
    pytester.makeini(f"[pytest]\npyasync_binaries = {os.path.relpath(os.environ['PYASYNC_HARNESS_PROBE'], pytester.path)}\n"
                     "pyasync_harness_args = --loop-factory uvloop --asyncio-debug\n")
    result = run(pytester, "-k", "reports_its_loop and not again", "-rP")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["loop uvloop* debug=1"])


@pytest.mark.parametrize("strict", [False, True])
def test_a_leaked_task_warns_or_fails_with_strict_tasks(pytester, strict):
    probe = os.environ["PYASYNC_HARNESS_PROBE"]
    args = ("-o", "pyasync_harness_args=--strict-tasks") if strict else ()
    result = run(pytester, probe, "-k", "leaves_a_task_pending", "-rA", *args)
    if strict:
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(["*Probe.leaves_a_task_pending failed*", "*pending*"])
    else:
        result.assert_outcomes(passed=1)
        result.stdout.fnmatch_lines(["*Captured harness call*", "warning: Probe.leaves_a_task_pending: *"])


def test_the_bridge_suite_runs_from_its_build_tree(pytester):
    pytester.makeini(f"[pytest]\npyasync_build_dir = {os.path.relpath(BUILD_DIR, pytester.path)}\n")
    result = run(pytester, "-q")
    names = listed(BRIDGE_SUITE)
    # The cases that need uvloop skip where it may be missing (suite/dependencies.hpp).
    skipped = 0 if dependencies.load("uvloop") else len([name for name in names if "uvloop" in name])
    result.assert_outcomes(passed=len(names) - skipped, skipped=skipped)
    assert len(names) > 20


@PYTHON_LOGIC_ONLY
@pytest.mark.parametrize("dist", ["load", "loadfile", "loadgroup"])
def test_xdist_runs_every_case_exactly_once(probe, dist):
    dependencies.require("xdist")
    result = probe.runpytest_subprocess(*BASE_ARGS, "-n", "2", "--dist", dist, "-k", "Counted or served")
    result.assert_outcomes(passed=12)
    cases = sorted(line for line in ran(probe) if line.startswith("ran "))
    assert cases == sorted([f"ran Counted.case_{k}" for k in range(10)] + ["ran served.first", "ran served.second"])


def test_ctrl_c_leaves_no_child_behind(probe):
    process = subprocess.Popen([sys.executable, "-m", "pytest", *BASE_ARGS, "-k", "until_interrupted",
                                "--pyasync-include-ignored"], cwd=probe.path,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    log = probe.path / "cases.log"
    for _ in range(300):
        if log.exists():
            break
        process.poll()
        assert process.returncode is None, process.stdout.read().decode()
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    output = process.communicate(timeout=60)[0].decode()
    assert process.returncode == pytest.ExitCode.INTERRUPTED, output
    assert "KeyboardInterrupt" in output
    for pid in case_pids(probe):
        assert not os.path.exists(f"/proc/{pid}"), f"harness child {pid} outlived the session"


def test_a_command_the_child_refuses_is_an_error_not_a_hang():
    from pyasync.pytest_plugin._harness_child import ChildError, HarnessChild

    child = HarnessChild(PROBE, [], dict(os.environ), reply_margin=5.0)
    with pytest.raises(ChildError, match="refused a command while answering 'bogus': unknown command 'bogus'"):
        child.command("bogus", lambda event: False, None)
    assert not child.alive()


def test_an_answer_no_item_read_is_kept_when_the_next_command_is_sent():
    from pyasync.pytest_plugin._harness_child import HarnessChild

    child = HarnessChild(PROBE, [], dict(os.environ), reply_margin=5.0)
    try:
        child.send("run Outcomes.fails_check", lambda event: event.get("type") == "test", 30.0)
        # A tear-down hook failed before the plugin's: nobody read that answer. The next command
        # still gets its own answer, and the first is kept to fail the session.
        reply = child.command("run Outcomes.passes", lambda event: event.get("type") == "test", 30.0)
        assert (reply.event["name"], reply.event["event"]) == ("Outcomes.passes", "ok")
        assert len(child.unclaimed) == 1
        assert "'run Outcomes.fails_check' was sent, and its item never read the answer" in child.unclaimed[0]
        assert "answered failed:" in child.unclaimed[0] and "41 == 42" in child.unclaimed[0]
    finally:
        child.kill()
