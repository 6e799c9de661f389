"""The serving protocol between the pytest plugin and a harness child cannot be confused (issue
29): a case that breaks the loop, stops its own process, closes the event pipe or leaves a
background process behind fails itself, and the case after it (Serve.sentinel) runs in a fresh
child with its own verdict; options the child cannot honour are refused, not dropped."""
import json
import os
import re
import subprocess

import pytest

from plugin_support import CAPTURE

PROBE = os.environ.get("PYASYNC_ESCAPE_PROBE")
pytestmark = pytest.mark.skipif(PROBE is None, reason="run through ctest (PYASYNC_ESCAPE_PROBE)")
BASE_ARGS = ("-p", "pyasync", "-p", "no:cacheprovider", "-o", "pyasync_fixture_modules=", *CAPTURE)
SENTINEL = "Serve.sentinel"


@pytest.fixture
def served(pytester):
    pytester.makeini(f"[pytest]\npyasync_binaries = {PROBE}\n")
    return pytester


def run(pytester, *args):
    # A subprocess with a time limit: a confused protocol shows as a hang, which this bounds.
    return pytester.runpytest_subprocess(*BASE_ARGS, "-v", *args, timeout=60)


def verdicts(result):
    """Suite.Case -> PASSED/FAILED/ERROR, from -v's lines."""
    found = {}
    for line in result.outlines:
        match = re.search(r"::(Serve\.\w+) (PASSED|FAILED|ERROR|SKIPPED)", line)
        if match:
            found.setdefault(match.group(1), match.group(2))
    return found


@pytest.mark.parametrize("case, reason", [
    ("Serve.stops_the_loop", "Event loop stopped before Future completed"),
    ("Serve.sigterms_its_own_process", "interrupted by SIGTERM"),
])
def test_a_case_that_breaks_its_child_fails_itself_and_the_next_case_runs_fresh(served, case, reason):
    result = run(served, "-k", f"{case.split('.')[1]} or sentinel")
    assert verdicts(result) == {case: "FAILED", SENTINEL: "PASSED"}, result.stdout.str()
    result.stdout.fnmatch_lines([f"*{reason}*"])
    result.stdout.no_fnmatch_line("*interrupted by Ctrl-C*")


def test_a_case_that_closes_the_event_pipe_fails_and_nothing_hangs(served):
    result = run(served, "-k", "closes_every_inherited_descriptor or sentinel")
    assert verdicts(result) == {"Serve.closes_every_inherited_descriptor": "FAILED", SENTINEL: "PASSED"}
    result.stdout.fnmatch_lines(["*Serve.closes_every_inherited_descriptor crashed*",
                                 "*cannot write to the event pipe*"])


def test_a_background_process_does_not_hold_the_verdict_of_a_crash(served):
    # The case's background `sleep 120` must not hold the event pipe, or the plugin would wait for
    # it to see the crash: the run's time limit (60 s) is the hang guard.
    result = run(served, "-k", "starts_a_background_process_then_aborts or sentinel")
    assert verdicts(result) == {"Serve.starts_a_background_process_then_aborts": "FAILED", SENTINEL: "PASSED"}
    result.stdout.fnmatch_lines(["*starts_a_background_process_then_aborts crashed*SIGABRT*"])


@pytest.mark.parametrize("how", ["ini", "environment"])
def test_repeat_cannot_be_honoured_by_a_serving_child_and_is_refused(served, monkeypatch, how):
    if how == "ini":
        served.makeini(f"[pytest]\npyasync_binaries = {PROBE}\npyasync_harness_args = --repeat 2\n")
    else:
        monkeypatch.setenv("PYASYNC_TEST_REPEAT", "2")
    result = run(served, "-k", "fails_from_its_second_run_on")
    assert verdicts(result) == {"Serve.fails_from_its_second_run_on": "ERROR"}
    result.stdout.fnmatch_lines(["*--serve cannot honour --repeat 2 (also PYASYNC_TEST_REPEAT)*"])


def test_a_case_that_blocks_the_childs_loop_for_good_fails_with_the_stacks(served):
    result = run(served, "-o", "pyasync_timeout_grace=0.2", "-k", "blocks_the_loop_forever or Serve.sentinel")
    verdicts_found = verdicts(result)
    assert verdicts_found == {SENTINEL: "PASSED"}, result.stdout.str()
    result.stdout.fnmatch_lines(["*Exits.blocks_the_loop_forever FAILED*"])
    result.stdout.fnmatch_lines(["*Exits.blocks_the_loop_forever crashed*SIGABRT*",
                                 "*TIMEOUT  ] Exits.blocks_the_loop_forever: async case overran its timeout of 0.3 s*",
                                 "*Python stacks follow*"])


def test_through_the_plugin_overruns_forks_and_caught_skips_fail_and_their_sentinels_pass(served):
    # The escape probe's cases run in one process, as ctest would not run them: through --serve.
    selection = "Overrun or skip_caught or forks or LoopError or (Sentinel and not after_11 and not Serve)"
    result = run(served, "-k", selection)
    found = {}
    for line in result.outlines:
        match = re.search(r"::((?:Overrun|Escape|LoopError|Sentinel)\.\w+) (PASSED|FAILED|ERROR)", line)
        if match:
            found.setdefault(match.group(1), match.group(2))
    assert found and all(verdict == ("PASSED" if name.startswith("Sentinel.") else "FAILED")
                         for name, verdict in found.items()), found
    assert len(found) == 20  # each once: a forked child that came back reported nothing


@pytest.mark.parametrize("case", ["Exits.exit_zero_in_a_sync_case", "Exits.exit_zero_after_a_co_await"])
def test_exit_inside_a_served_case_fails_it_and_the_next_case_runs_fresh(served, case):
    result = run(served, "-k", f"{case.split('.')[1]} or Serve.sentinel")
    found = dict(re.findall(r"::((?:Exits|Serve)\.\w+) (PASSED|FAILED|ERROR)", result.stdout.str()))
    assert found == {case: "FAILED", SENTINEL: "PASSED"}, result.stdout.str()
    result.stdout.fnmatch_lines([f"*the process exited with status 0 during {case}*"])


def test_a_failure_after_a_served_case_ended_fails_the_session_and_no_item(served):
    # A callback left by the first case fails while the second runs: both items pass, and the
    # session fails, naming the case that left the callback behind.
    result = run(served, "-k", "leaves_a_callback_that_raises_later or waits_on_the_loop")
    assert verdicts(result) == {"Serve.leaves_a_callback_that_raises_later": "PASSED",
                                "Serve.waits_on_the_loop": "PASSED"}, result.stdout.str()
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines([
        "pyasync: *: a failure outside any running case (after the end of Serve.leaves_a_callback_that_raises_later):",
        "*ZeroDivisionError: raised in a loop callback after its case ended"])


def resident_kilobytes(pid):
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


@pytest.mark.skipif(bool(os.environ.get("PYASYNC_SANITIZED")), reason="a sanitizer's allocator holds freed memory")
def test_a_serving_child_keeps_no_memory_per_case():
    # It kept every result it had run (~160 bytes a case). Resident memory after 2,000 runs and
    # after 20,000 more: flat, within what the allocator's arenas move by.
    child = subprocess.Popen([PROBE, "--serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
    try:
        assert json.loads(child.stdout.readline())["event"] == "ready"

        def run_cases(count):
            for _ in range(count):
                child.stdin.write("run Serve.sentinel\n")
                child.stdin.flush()
                while (event := json.loads(child.stdout.readline()))["type"] != "test":
                    pass
                assert event["event"] == "ok", event

        run_cases(2000)
        before = resident_kilobytes(child.pid)
        run_cases(20000)
        grown = resident_kilobytes(child.pid) - before
        assert grown * 1024 / 20000 < 16, f"the serving child grew by {grown} KiB over 20,000 cases"
    finally:
        child.stdin.close()
        child.wait(timeout=30)
        child.stdout.close()
