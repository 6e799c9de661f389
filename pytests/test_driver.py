"""The pyasync-test driver (tools/pyasync-test): several harness binaries as one run.

It drives the registered bridge suite (found through --build-dir) and harness_probe_ (given with
--binary; it is EXCLUDE_FROM_DRIVER because some of its cases fail on purpose)."""
import json
import os
import pathlib
import re
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree

import pytest
from approval import check_approved

PROBE = os.environ.get("PYASYNC_HARNESS_PROBE")
VERDICT_PROBE = os.environ.get("PYASYNC_VERDICT_PROBE")
BUILD = os.environ.get("PYASYNC_BUILD_DIR")
DRIVER = pathlib.Path(__file__).resolve().parents[1] / "tools" / "pyasync-test"
pytestmark = pytest.mark.skipif(PROBE is None or BUILD is None, reason="run through ctest (PYASYNC_HARNESS_PROBE)")

OWN_VARIABLES = ("PYASYNC_TEST_", "TEST_", "GTEST_", "XML_OUTPUT")


def driver(*args, env=None, drop=(), timeout=120):
    environment = {k: v for k, v in os.environ.items() if not k.startswith(OWN_VARIABLES) and k not in drop}
    environment.update(env or {})
    return subprocess.run([sys.executable, str(DRIVER), *args], capture_output=True, text=True, errors="replace",
                          env=environment, timeout=timeout)


def summary(stdout):
    match = re.search(r"^test result: (\w+)\. (\d+) passed, (\d+) failed, (\d+) skipped, (\d+) ignored; "
                      r"(\d+) filtered out", stdout, re.M)
    assert match, stdout
    return match.group(1), tuple(int(n) for n in match.groups()[1:])


def finished(stdout):
    """name -> status word, from the driver's pretty lines."""
    return {name: word for word, name in re.findall(r"^\[ *(OK|FAILED|SKIPPED|IGNORED) *\] (\w+::[\w.]+)", stdout, re.M)}


def verdict_events(lines):
    """The test events of a JSON event stream (the driver's reporter opens with a suite event)."""
    return [event for event in map(json.loads, lines) if event["type"] == "test"]


def registered_count(binary):
    listing = subprocess.run([binary, "--list", "--format", "json", "--include-ignored"], capture_output=True,
                             text=True, check=True)
    return len(json.loads(listing.stdout)["cases"])


def test_merges_results_summary_and_junit_across_binaries(tmp_path):
    junit = tmp_path / "out" / "all.xml"
    result = driver("--build-dir", BUILD, "--binary", PROBE, "--junit", str(junit),
                    "--filter", "Probe.passes:Probe.fails_check:Probe.skipped:Probe.prints_hostile_output:"
                                "Matrix.sleeps_on_both_sides:Matrix.python_exception_reaches_cpp")
    assert result.returncode == 1, result.stdout + result.stderr
    assert finished(result.stdout) == {
        "harness_probe_::Probe.passes": "OK", "harness_probe_::Probe.fails_check": "FAILED",
        "harness_probe_::Probe.skipped": "SKIPPED", "harness_probe_::Probe.prints_hostile_output": "FAILED",
        "pyasync_bridge_suite::Matrix.sleeps_on_both_sides": "OK",
        "pyasync_bridge_suite::Matrix.python_exception_reaches_cpp": "OK"}
    assert "with expansion: 41 == 42" in result.stdout
    assert re.search(r"^\[  FAILED  \] 2 tests, listed below:\n\[  FAILED  \] harness_probe_::Probe.fails_check\n"
                     r"\[  FAILED  \] harness_probe_::Probe.prints_hostile_output$", result.stdout, re.M)
    filtered = registered_count(PROBE) + registered_count(f"{BUILD}/pytests/pyasync_bridge_suite") - 6
    assert summary(result.stdout) == ("FAILED", (3, 2, 1, 0, filtered))

    root = ElementTree.parse(junit).getroot()  # parses: valid XML despite the hostile output
    assert (root.get("tests"), root.get("failures"), root.get("skipped"), root.get("errors")) == ("6", "2", "1", "0")
    assert root.get("name") == "pyasync-test"
    cases = {f"{case.get('classname')}.{case.get('name')}": case for case in root.iter("testcase")}
    assert set(cases) == set(finished(result.stdout))
    failing = cases["harness_probe_::Probe.fails_check"]
    assert failing.get("file").endswith("probe.cpp") and int(failing.get("line")) > 0
    assert "41 == 42" in failing.find("failure").text
    assert cases["harness_probe_::Probe.skipped"].find("skipped").get("message") == "needs a GPU"
    assert cases["pyasync_bridge_suite::Matrix.sleeps_on_both_sides"].get("file").endswith("matrix.cpp")
    hostile = cases["harness_probe_::Probe.prints_hostile_output"].find("system-out").text
    assert "</system-out> ]]> & <tag>" in hostile and "control \\x01\\x1B" in hostile and "from python print" in hostile


def test_build_dir_runs_registered_binaries_in_their_own_environment():
    # PYTHONPATH is dropped: the suite finds pyasync_examples only through its registered environment.
    result = driver("--build-dir", BUILD, "Matrix.runs_on_uvloop", "Fixtures.", drop=("PYTHONPATH",))
    assert result.returncode == 0, result.stdout + result.stderr
    names = set(finished(result.stdout))
    assert "pyasync_bridge_suite::Matrix.runs_on_uvloop" in names
    assert any(n.startswith("pyasync_bridge_suite::Fixtures.") for n in names)
    assert not any(n.startswith("harness_probe_::") for n in names)  # EXCLUDE_FROM_DRIVER
    assert summary(result.stdout)[0] == "ok"


def test_exact_matches_in_one_binary_and_the_others_do_not_fail():
    result = driver("--build-dir", BUILD, "-b", PROBE, "--exact", "Probe.passes", "-q")
    assert result.returncode == 0, result.stdout + result.stderr
    assert summary(result.stdout)[1][:3] == (1, 0, 0)
    nothing = driver("--build-dir", BUILD, "-b", PROBE, "--exact", "Probe.no_such_case")
    assert nothing.returncode == 5, nothing.stdout + nothing.stderr
    assert "no case selected in any of 2 binaries" in nothing.stdout
    assert driver("-b", PROBE, "--exact", "Probe.skipped", "--skip-exit-code", "77").returncode == 77


def test_a_crash_fails_the_case_that_was_running(tmp_path):
    junit = tmp_path / "crash.xml"
    result = driver("-b", PROBE, "--include-ignored", "--exact", "Crash.segfaults", "--junit", str(junit))
    assert result.returncode == 1, result.stdout + result.stderr
    assert finished(result.stdout) == {"harness_probe_::Crash.segfaults": "FAILED"}
    assert re.search(r"harness_probe_ (was killed by SIG\w+|exited with status \d+) while this case ran", result.stdout)
    failure = ElementTree.parse(junit).getroot().find("testsuite/testcase/failure")
    assert "while this case ran" in failure.get("message")


def test_usage_errors_are_reported_once_before_anything_runs():
    result = driver("--build-dir", BUILD, "-b", PROBE, "--bogus-flag")
    assert result.returncode == 4
    assert result.stderr.count("--bogus-flag") == 1 and "[ RUN" not in result.stdout and result.stdout == ""
    own = driver("-b", PROBE, "--parallel", "many")
    assert own.returncode == 4 and "--parallel many: expected a whole number >= 1" in own.stderr
    missing = driver("--binary", "/nonexistent/suite")
    assert missing.returncode == 4 and "--binary /nonexistent/suite: not an executable file" in missing.stderr


def test_registered_but_unbuilt_binary_is_an_internal_error(tmp_path):
    (tmp_path / "pyasync-test").mkdir()
    (tmp_path / "pyasync-test" / "gone.binary").write_text(f"path={tmp_path}/gone\n")
    result = driver("--build-dir", str(tmp_path))
    assert result.returncode == 3
    assert f"gone is registered but not built: {tmp_path}/gone" in result.stderr
    empty = driver("--build-dir", str(tmp_path / "pyasync-test"))
    assert empty.returncode == 4 and "no harness binaries registered" in empty.stderr


def test_a_binary_failing_outside_any_case_is_an_internal_error():
    result = driver("-b", PROBE, "Probe.passes", env={"PROBE_FAIL_GLOBAL": "1"})
    assert result.returncode == 3, result.stdout + result.stderr
    assert re.search(r"^\[  ERROR   \] harness_probe_ \(.*\) exited with status 3 outside any case$", result.stdout,
                     re.M)
    assert "the database is down" in result.stdout


def test_list_json_is_merged_and_other_layouts_are_per_binary():
    merged = json.loads(driver("--build-dir", BUILD, "-b", PROBE, "--list", "--format", "json", "Probe.pass",
                               "Matrix.run").stdout)
    by_binary = {(c["binary"], c["name"]) for c in merged["cases"]}
    assert ("harness_probe_", "Probe.passes") in by_binary
    assert ("pyasync_bridge_suite", "Matrix.runs_on_uvloop") in by_binary
    assert all(c["path"].endswith(c["binary"]) and c["line"] > 0 for c in merged["cases"])
    human = driver("-b", PROBE, "--build-dir", BUILD, "--list", "Probe.passes").stdout.splitlines()
    assert human[0].startswith("harness_probe_ (") and "Probe.passes: test" in human
    assert any(line.startswith("pyasync_bridge_suite (") for line in human)


def test_json_events_name_their_binary_and_the_suite_event_sums_them():
    result = driver("--build-dir", BUILD, "-b", PROBE, "--format", "json", "Probe.passes", "Probe.skipped",
                    "Matrix.sleeps_on_both_sides")
    events = [json.loads(line) for line in result.stdout.splitlines()]
    done = {e["name"]: e["event"] for e in events if e["type"] == "test" and e["event"] != "started"}
    assert done == {"harness_probe_::Probe.passes": "ok", "harness_probe_::Probe.skipped": "skipped",
                    "pyasync_bridge_suite::Matrix.sleeps_on_both_sides": "ok"}
    assert (events[0]["type"], events[0]["event"], events[0]["test_count"], events[0]["suite_count"]) == \
        ("suite", "started", 3, 2)
    assert all(e["file"].endswith((".cpp")) and e["line"] > 0 for e in events
               if e["type"] == "test" and e["event"] != "started")
    final = events[-1]
    assert (final["type"], final["event"], final["passed"], final["skipped"]) == ("suite", "ok", 2, 1)


def test_shards_run_every_case_exactly_once():
    seen = []
    for index in range(3):
        result = driver("--build-dir", BUILD, "-b", PROBE, "--format", "json", "Probe.", "Fixtures.",
                        "--skip", "fails", "--skip", "exception", "--skip", "throws", "--skip", "pending",
                        "--shard-count", "3", "--shard-index", str(index))
        seen += [e["name"] for e in map(json.loads, result.stdout.splitlines())
                 if e["type"] == "test" and e["event"] != "started"]
    whole = driver("--build-dir", BUILD, "-b", PROBE, "--format", "json", "Probe.", "Fixtures.", "--skip", "fails",
                   "--skip", "exception", "--skip", "throws", "--skip", "pending")
    everything = [e["name"] for e in map(json.loads, whole.stdout.splitlines())
                  if e["type"] == "test" and e["event"] != "started"]
    assert sorted(seen) == sorted(everything) and len(everything) == len(set(everything)) > 5


def test_ctrl_c_cancels_the_running_cases_and_prints_the_summary():
    environment = {k: v for k, v in os.environ.items() if not k.startswith(OWN_VARIABLES)}
    process = subprocess.Popen([sys.executable, str(DRIVER), "-b", PROBE, "--include-ignored", "--format", "json",
                                "--exact", "Hang.async_sleeps_forever"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=environment)
    wait_for_start(process, "Hang.async_sleeps_forever")  # not for a fixed time
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 2, stdout + stderr
    events = [json.loads(line) for line in stdout.splitlines()]
    verdicts = verdict_events(stdout.splitlines())
    assert verdicts[0]["event"] == "failed" and "interrupted by Ctrl-C" in verdicts[0]["message"]
    assert (events[-1]["type"], events[-1]["interrupted"], events[-1]["failed"]) == ("suite", True, 1)


def wait_for_start(process, case):
    """Reads the driver's events until `case` started, then gives it a moment to be under way."""
    for line in process.stdout:
        event = json.loads(line)
        if event["type"] == "test":
            assert (event["event"], event["name"]) == ("started", f"harness_probe_::{case}")
            break
    time.sleep(0.3)


def start_driver_until_started(case, *extra):
    environment = {k: v for k, v in os.environ.items() if not k.startswith(OWN_VARIABLES)}
    process = subprocess.Popen([sys.executable, str(DRIVER), "-b", PROBE, "--include-ignored", "--format", "json",
                                "--exact", case, *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=environment)
    wait_for_start(process, case)
    return process


def test_sigterm_stops_the_run_like_ctrl_c_and_writes_the_junit(tmp_path):
    junit = tmp_path / "all.xml"
    process = start_driver_until_started("Hang.async_sleeps_forever", "--junit", str(junit))
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 2, stdout + stderr
    summary = json.loads(stdout.splitlines()[-1])
    assert summary["interrupted"] is True and summary["interrupted_by"] == "SIGTERM"
    verdicts = verdict_events(stdout.splitlines())
    assert "interrupted by SIGTERM" in verdicts[0]["message"] and "Ctrl-C" not in verdicts[0]["message"]
    assert len(list(ElementTree.parse(junit).getroot().iter("failure"))) == 1


def test_sigterm_is_named_in_the_pretty_summary():
    environment = {k: v for k, v in os.environ.items() if not k.startswith(OWN_VARIABLES)}
    process = subprocess.Popen([sys.executable, str(DRIVER), "-b", PROBE, "--include-ignored", "--color", "never",
                                "--exact", "Hang.async_sleeps_forever"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=environment)
    time.sleep(1.5)  # no start event to wait for in the pretty output: the case is well under way
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 2, stdout + stderr
    assert "interrupted: the run was stopped by SIGTERM" in stdout


def test_a_binary_that_ignores_the_interruption_is_killed_after_the_grace_period():
    # A sync case blocked in C++ never returns to Python, so the first signal cannot cancel it.
    process = start_driver_until_started("Hang.sync_blocks_forever")
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 2, stdout + stderr
    verdicts = verdict_events(stdout.splitlines())
    # The driver killed it itself: an interruption, not a crash to rerun with --isolate.
    assert verdicts[0]["event"] == "failed" and "was killed by SIGKILL" in verdicts[0]["message"]
    assert verdicts[0]["message"].startswith("interrupted by SIGTERM: the driver stopped harness_probe_")
    assert "--isolate" not in verdicts[0]["message"]


@pytest.mark.parametrize("target", ["/dev/full", "directory"])
def test_a_junit_file_that_cannot_be_written_is_an_internal_error(target, tmp_path):
    path = str(tmp_path) if target == "directory" else target
    result = driver("-b", PROBE, "--exact", "Probe.passes", "--junit", path)
    assert result.returncode == 3 and f"cannot write the JUnit report '{path}'" in result.stderr


@pytest.mark.skipif(VERDICT_PROBE is None, reason="run through ctest (PYASYNC_VERDICT_PROBE)")
@pytest.mark.parametrize("layout", ["pretty", "terse"])
def test_driver_output_is_the_harness_reporters_output(layout):
    # Two binaries, one after the other (--parallel 1): the same lines a single binary prints,
    # each case named binary::Suite.Case, from the harness's own reporters.
    result = driver("-b", PROBE, "-b", VERDICT_PROBE, "--parallel", "1", "--format", layout,
                    "--filter", "Probe.passes:Probe.fails_check:Probe.skipped:Probe.ignored:Sentinel.after_1")
    assert result.returncode == 1, result.stdout + result.stderr
    check_approved(f"driver_{layout}", result.stdout)
