"""pyasync-test --loop-factory trio: a harness binary's async cases run under trio.run, judged
from outside against cases that pass and fail on purpose (pytests/trio_probe/cases.cpp)."""
import json
import os
import signal
import subprocess

import pytest

import dependencies

PROBE = os.environ.get("PYASYNC_TRIO_PROBE")
pytestmark = [pytest.mark.skipif(PROBE is None, reason="run through ctest (PYASYNC_TRIO_PROBE)"),
              dependencies.needs("trio")]


def run_probe(*args):
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("PYASYNC_TEST_", "TEST_", "GTEST_"))}
    return subprocess.run([PROBE, "--loop-factory", "trio", *args], capture_output=True, text=True, errors="replace",
                          env=environment, timeout=120)


@pytest.fixture(scope="module")
def verdicts():
    run = run_probe("--order", "lex", "--format", "json")
    events = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    cases = {event["name"]: event for event in events if event["type"] == "test" and event["event"] != "started"}
    return run, events, cases


def test_every_case_gets_its_verdict_and_the_run_fails(verdicts):
    run, events, cases = verdicts
    assert run.returncode == 1, run.stderr
    assert {name: case["event"] for name, case in cases.items()} == {
        "Trio.cpp_sleeps_and_trio_awaitables": "ok",
        "Trio.gather_runs_in_a_nursery": "ok",
        "Trio.a_sync_case_runs_too": "ok",
        "trio_resource.a_fixture_set_up_under_trio": "ok",
        "TrioFails.a_failed_check": "failed",
        "TrioFails.a_python_error": "failed",
        "TrioFails.runs_past_its_timeout": "failed",
        "TrioFails.swallows_its_timeout": "failed",
        "TrioFails.blocks_the_run_past_its_timeout": "failed",
        "TrioHang.sleeps_forever": "ignored",
        "TrioRace.checks_then_acts_across_a_checkpoint": "ignored",
    }
    assert events[-1]["passed"] == 4 and events[-1]["failed"] == 5 and events[-1]["error"] == ""


def failure_text(case):
    return case.get("message", "")


def test_failures_say_what_failed(verdicts):
    _, _, cases = verdicts
    assert "answer == 42" in failure_text(cases["TrioFails.a_failed_check"])
    python_error = failure_text(cases["TrioFails.a_python_error"])
    assert "KeyError: 'missing under trio'" in python_error and "explode" in python_error


def test_a_timeout_cancels_the_case_through_its_trio_cancel_scope(verdicts):
    _, _, cases = verdicts
    for name in ("TrioFails.runs_past_its_timeout", "TrioFails.swallows_its_timeout"):
        text = failure_text(cases[name])
        assert "timed out after 0.2 s; cancelled through trio" in text, text
        assert "let the cancellation escape" not in text


def test_a_case_that_blocks_the_trio_run_past_its_timeout_fails_as_timed_out(verdicts):
    _, _, cases = verdicts
    # trio's deadline is itself a clock: the scope reads as cancelled although no checkpoint ran.
    text = failure_text(cases["TrioFails.blocks_the_run_past_its_timeout"])
    assert "timed out after 0.2 s" in text, text


def test_ctrl_c_cancels_the_running_case_through_trio_and_stops_the_run():
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("PYASYNC_TEST_", "TEST_", "GTEST_"))}
    process = subprocess.Popen([PROBE, "--loop-factory", "trio", "TrioHang.sleeps_forever",
                                "trio_resource.a_fixture_set_up_under_trio", "--include-ignored", "--order", "lex"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment)
    started = ""
    while "[ RUN      ] TrioHang.sleeps_forever" not in started:  # the case is running: interrupt it
        line = process.stdout.readline()
        assert line, "the probe ended before the case started"
        started += line
    process.send_signal(signal.SIGINT)
    try:
        stdout, _ = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        raise AssertionError("one Ctrl-C did not stop the trio run")
    stdout = started + stdout
    assert process.returncode == 2
    assert "interrupted by Ctrl-C" in stdout and "[  FAILED  ] TrioHang.sleeps_forever" in stdout
    assert "[ RUN      ] trio_resource.a_fixture_set_up_under_trio" not in stdout  # the run stopped
    assert "test result: FAILED. 0 passed, 1 failed" in stdout.splitlines()[-1]


def test_an_unknown_loop_factory_names_trio_among_the_choices():
    run = subprocess.run([PROBE, "--loop-factory", "tornado"], capture_output=True, text=True, timeout=60)
    assert run.returncode != 0
    assert "expected 'asyncio', 'uvloop', 'trio' or 'module:callable'" in run.stderr


RACE = "TrioRace.checks_then_acts_across_a_checkpoint"


def explored(seed, runs=None):
    """(failed, the failing run's report line) of the race explored from `seed`."""
    run = run_probe(RACE, "--include-ignored", "--schedule", "random", "--schedule-seed", str(seed),
                    *(("--schedule-runs", str(runs)) if runs else ()))
    found = [line.strip() for line in run.stdout.splitlines() if "schedule run" in line]
    return run.returncode == 1, found


def test_schedule_exploration_seeds_trios_own_scheduler_and_each_seed_replays():
    # trio orders each batch of runnable tasks itself: explored, that order comes from the seed, so
    # a seed gives the same verdict every time, and different seeds give both.
    first, report = explored(1, runs=50)
    assert first and report[0].startswith("failed in schedule run ") and "(random, seed " in report[0], report
    seed = int(report[0].split("seed ")[1].split(")")[0])
    assert explored(seed) == explored(seed) == (True, [f"failed in schedule run 1 of 1 (random, seed {seed}); "
                                                        f"replay it with: --schedule random --schedule-seed {seed}"])
    verdicts = {}
    for each in range(2, 6):
        verdicts[each] = explored(each)[0]
        assert explored(each)[0] == verdicts[each], f"seed {each} gave two verdicts"
    assert set(verdicts.values()) == {True, False}, verdicts
    run = run_probe(RACE, "--include-ignored", "--schedule", "random", "--schedule-seed", str(seed))
    assert "under trio: trio's scheduler ordered each batch of runnable tasks by this seed" in run.stdout


def test_each_explored_run_under_trio_has_the_whole_timeout():
    # 200 runs take far longer than the 0.1 s limit: the limit is each run's (the case's cancel
    # scope gets its deadline afresh), not the exploration's.
    run = run_probe("Trio.cpp_sleeps_and_trio_awaitables", "--exact", "--timeout", "0.1", "--schedule", "random",
                    "--schedule-runs", "200")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed, 0 failed" in run.stdout.splitlines()[-1]
