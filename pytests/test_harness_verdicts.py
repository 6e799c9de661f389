"""The harness's verdicts, tested from outside against verdict_probe_, a binary whose cases fail
on purpose in every way a case can fail. Each failing case must be reported failed in the
pretty, JSON and JUnit outputs, and each passing sentinel after it must run and pass: a failure
that aborted the run, or passed for a success, would show here."""
import json
import os
import platform
import pathlib
import re
import signal
import subprocess
import time
import xml.etree.ElementTree as ElementTree

import pytest
from probe_support import listed, must_fail, run_binary

PROBE = os.environ.get("PYASYNC_VERDICT_PROBE")
pytestmark = pytest.mark.skipif(PROBE is None, reason="run through ctest (PYASYNC_VERDICT_PROBE)")


def run_probe(*args, timeout=120):
    return run_binary(PROBE, *args, timeout=timeout)


def listed_cases():
    return listed(PROBE)


def test_the_probe_has_failures_of_every_kind_each_followed_by_a_sentinel():
    names = listed_cases()
    assert len(names) == 66
    for failing, sentinel in zip(names[::2], names[1::2]):
        assert must_fail(failing) and not must_fail(sentinel), (failing, sentinel)


@pytest.mark.parametrize("extra", [[], ["--nocapture"], ["--test-threads", "4"], ["--isolate"]],
                         ids=["captured", "nocapture", "four-at-once", "isolated"])
def test_every_failure_is_reported_failed_in_json_and_every_sentinel_passes(extra, tmp_path):
    junit = tmp_path / "verdicts.xml"
    result = run_probe("--format", "json", "--junit", str(junit), *extra)
    assert result.returncode == 1, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]  # stdout holds JSON only
    verdicts = {e["name"]: e["event"] for e in events if e.get("type") == "test" and e["event"] != "started"}
    names = listed_cases()
    assert sorted(verdicts) == sorted(names)
    wrong = {name: verdict for name, verdict in verdicts.items() if verdict != ("failed" if must_fail(name) else "ok")}
    assert wrong == {}
    summary = events[-1]
    assert summary["type"] == "suite" and summary["failed"] == 33 and summary["passed"] == 33

    cases = ElementTree.parse(junit).getroot().iter("testcase")
    junit_failed = {f"{c.get('classname')}.{c.get('name')}": c.find("failure") is not None for c in cases}
    assert junit_failed == {name: must_fail(name) for name in names}


def test_every_failure_is_reported_failed_in_the_pretty_output():
    result = run_probe("--color", "never")
    assert result.returncode == 1
    failed = set(re.findall(r"^\[  FAILED  \] (\S+) \(", result.stdout, re.M))
    passed = set(re.findall(r"^\[       OK \] (\S+) \(", result.stdout, re.M))
    names = listed_cases()
    assert failed == {n for n in names if must_fail(n)}
    assert passed == {n for n in names if not must_fail(n)}
    assert result.stdout.rstrip().splitlines()[-1].startswith("test result: FAILED. 33 passed, 33 failed")


def failure_message(name):
    result = run_probe("--exact", name, "--format", "json")
    return next(e["message"] for e in map(json.loads, result.stdout.splitlines()) if e.get("event") == "failed")


@pytest.mark.parametrize("name, expected", [
    ("Fails.sync_python_error_without_traceback", "ValueError: set from C, no traceback"),
    ("Fails.async_python_error_without_traceback_after_suspending", "ValueError: set from C, no traceback"),
    ("Fails.sync_failed_attr", "AttributeError: module 'sys' has no attribute 'no_such_attribute'"),
    ("Fails.async_failed_import", "ModuleNotFoundError: No module named 'no_such_module_for_the_verdict_probe'"),
    ("Fails.async_python_error_with_traceback", "in raise_with_traceback"),
    ("Fails.sync_unprintable_python_error", "Unprintable"),
    ("Fails.sync_python_error_with_a_lone_surrogate", r"lone \udc80 surrogate"),
    ("Fails.async_system_exit", "SystemExit"),
    ("Fails.async_recursion_error_deep_in_python", "RecursionError: maximum recursion depth exceeded"),
    ("Fails.async_memory_error", "MemoryError: the probe asked for too much"),
    ("Fails.sync_cast_error", "cast_error"),
    ("Fails.sync_throws_an_int", "int (not a std::exception)"),
    ("Fails.async_throws_a_struct", "not_a_std_exception (not a std::exception)"),
    ("Fails.async_check_gets_a_python_error_for_another", "ValueError: set from C, no traceback"),
    ("fails_in_set_up.FailsSetUp", "set-up refused"),
    ("fails_in_async_set_up.FailsAsyncSetUp", "ValueError: set from C, no traceback"),
    ("fails_in_tear_down.FailsTearDown", "tear-down broke"),
    ("fails_in_async_tear_down.FailsAsyncTearDown", "No module named 'no_such_module_for_the_verdict_probe'"),
    ("fails_in_suite_set_up.FailsSuiteSetUp", "set_up_suite() threw std::runtime_error: the suite's server did not start"),
])
def test_each_failure_says_what_went_wrong(name, expected):
    assert expected in failure_message(name)


# ---- bad input at run time: a clear error and a documented exit status, never an abort -------

HARNESS_PROBE = os.environ.get("PYASYNC_HARNESS_PROBE")


def run_harness_probe(*args, timeout=60):
    return subprocess.run([HARNESS_PROBE, *args], capture_output=True, text=True, errors="replace", timeout=timeout)


@pytest.mark.parametrize("factory, message", [
    ("nosuchmodule:f", "ModuleNotFoundError: No module named 'nosuchmodule'"),
    ("asyncio:nope", "AttributeError: module 'asyncio' has no attribute 'nope'"),
    ("builtins:print", "returned None, expected an asyncio event loop"),
])
def test_a_loop_factory_that_cannot_be_resolved_exits_3_naming_it(factory, message):
    result = run_harness_probe("Probe.passes", "--loop-factory", factory)
    assert result.returncode == 3, result.stderr
    assert f"(--loop-factory '{factory}')" in result.stderr and message in result.stderr


@pytest.mark.parametrize("arguments, message", [
    (["--loop-factory", "foo"], "invalid value 'foo' for --loop-factory: expected 'asyncio', 'uvloop', 'trio' or 'module:callable'"),
    (["--loop-factory", "a b:c"], "invalid value 'a b:c' for --loop-factory"),
    (["--skip-exit-code", "256"], "invalid value '256' for --skip-exit-code: expected an integer from 0 to 255"),
    (["--skip-exit-code", "-1"], "invalid value '-1' for --skip-exit-code"),
])
def test_malformed_values_are_usage_errors(arguments, message):
    result = run_harness_probe("Probe.passes", *arguments)
    assert result.returncode == 4 and message in result.stderr


@pytest.mark.parametrize("target", ["/dev/full", "directory"])
def test_a_junit_file_that_cannot_be_written_is_an_error(target, tmp_path):
    path = str(tmp_path) if target == "directory" else target
    result = run_harness_probe("Probe.passes", "--junit", path)
    assert result.returncode == 3
    assert f"cannot write the JUnit report '{path}'" in result.stderr


def test_json_stdout_holds_only_json_with_several_cases_at_once_and_without_capture():
    for extra in (["--test-threads", "3"], ["--nocapture"]):
        result = run_harness_probe("Parallel.", "Probe.prints_hostile_output", "--format", "json", *extra)
        events = [json.loads(line) for line in result.stdout.splitlines()]
        assert events[-1]["type"] == "suite" and events[-1]["passed"] == 3
        assert "start a" in result.stderr and "from python print" in result.stderr  # the cases' own output


def children_of(pid):
    found = []
    for status in pathlib.Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = status.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(status.parent.name))
    return found


def running(pid):
    """True while `pid` exists and is not a zombie waiting to be reaped."""
    try:
        return pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def start_and_wait_for(arguments, line):
    process = subprocess.Popen([HARNESS_PROBE, *arguments], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = ""
    while line not in seen:
        chunk = process.stdout.readline()
        assert chunk, f"ended before printing {line!r}: {seen}"
        seen += chunk
    return process, seen


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_isolate_stops_the_running_child_on_a_signal_and_writes_the_reports(signum, tmp_path):
    junit = tmp_path / "interrupted.xml"
    process, seen = start_and_wait_for(["--isolate", "--include-ignored", "--exact", "Hang.async_sleeps_forever",
                                        "--exact", "Probe.passes", "--order", "lex", "--junit", str(junit)],
                                       "[ RUN      ] Hang.async_sleeps_forever")
    time.sleep(0.5)  # the child is inside the case
    children = children_of(process.pid)
    assert len(children) == 1
    process.send_signal(signum)
    stdout, _ = process.communicate(timeout=30)
    stdout = seen + stdout
    assert process.returncode == 2
    assert "[  FAILED  ] Hang.async_sleeps_forever" in stdout and "[ RUN      ] Probe.passes" not in stdout
    assert not running(children[0])  # no orphan left running
    failures = [c for c in ElementTree.parse(junit).getroot().iter("testcase") if c.find("failure") is not None]
    assert [c.get("name") for c in failures] == ["async_sleeps_forever"]


# nanosleep and clock_nanosleep, by architecture (the numbers differ, and mean other calls elsewhere).
SLEEP_SYSCALLS = {"x86_64": {"35", "230"}, "aarch64": {"101", "115"}}[platform.machine()]


def wait_until_asleep(pid, timeout=60):
    """Waits until the main thread of `pid` sleeps in the kernel (a case's sleep_for). An --isolate
    parent prints RUN when it starts the child, before the child's interpreter is up: a signal
    sent then reaches Python, not a case blocked in C++."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            syscall = pathlib.Path(f"/proc/{pid}/syscall").read_text().split()
        except OSError:
            syscall = []
        if syscall and syscall[0] in SLEEP_SYSCALLS:
            return
        time.sleep(0.05)
    pytest.fail(f"process {pid} did not reach the case's sleep within {timeout} s")


def test_isolate_kills_a_child_that_ignores_the_interruption(tmp_path):
    process, seen = start_and_wait_for(["--isolate", "--include-ignored", "--exact", "Hang.sync_blocks_forever"],
                                       "[ RUN      ] Hang.sync_blocks_forever")
    children = []
    while not children and process.poll() is None:
        children = children_of(process.pid)
    assert len(children) == 1
    wait_until_asleep(children[0])
    process.send_signal(signal.SIGTERM)
    stdout, _ = process.communicate(timeout=30)
    assert process.returncode == 2
    assert "with SIGKILL after 5 s" in seen + stdout


def test_a_second_ctrl_c_exits_at_once_while_a_sync_case_blocks_in_cpp():
    process, _ = start_and_wait_for(["--include-ignored", "--exact", "Hang.sync_blocks_forever"],
                                    "[ RUN      ] Hang.sync_blocks_forever")
    time.sleep(0.3)
    process.send_signal(signal.SIGINT)
    time.sleep(0.3)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=10)
    assert process.returncode == 2 and "interrupted twice: exiting now" in stderr


def test_an_isolated_child_does_not_outlive_a_killed_parent():
    process, _ = start_and_wait_for(["--isolate", "--include-ignored", "--exact", "Hang.async_sleeps_forever"],
                                    "[ RUN      ] Hang.async_sleeps_forever")
    time.sleep(0.3)
    (child,) = children_of(process.pid)
    process.kill()  # SIGKILL: the parent cannot pass anything on
    process.communicate(timeout=10)
    deadline = time.monotonic() + 10
    while running(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not running(child)


def test_sigterm_stops_an_in_process_run_like_ctrl_c_and_writes_the_reports(tmp_path):
    junit = tmp_path / "terminated.xml"
    process, seen = start_and_wait_for(["--include-ignored", "--exact", "Hang.async_sleeps_forever", "--exact",
                                        "Probe.passes", "--order", "lex", "--junit", str(junit)],
                                       "[ RUN      ] Hang.async_sleeps_forever")
    time.sleep(0.3)
    process.send_signal(signal.SIGTERM)
    stdout, _ = process.communicate(timeout=30)
    assert process.returncode == 2
    assert "[  FAILED  ] Hang.async_sleeps_forever" in seen + stdout and "[ RUN      ] Probe.passes" not in stdout
    failures = [c.get("name") for c in ElementTree.parse(junit).getroot().iter("testcase") if c.find("failure") is not None]
    assert failures == ["async_sleeps_forever"]
