"""Schedule exploration (--schedule, --schedule-seed, --schedule-runs), tested from outside against
the corpus of schedule_probe_: every case passes under the usual timing; under exploration each
Race case fails within its documented number of runs for a fixed seed, the failure names the seed
and the choices that mattered, and that seed alone replays the same failure; no Sound case, and no
case of the bridge's own suite, is ever reported (a false race report is a defect, like a false
verdict)."""
import os
import re
import subprocess
import sys

import pytest
import dependencies
from probe_support import finished_events, listed, run_binary

PROBE = os.environ.get("PYASYNC_SCHEDULE_PROBE")
BRIDGE_SUITE = os.environ.get("PYASYNC_BRIDGE_SUITE")
pytestmark = pytest.mark.skipif(PROBE is None, reason="run through ctest (PYASYNC_SCHEDULE_PROBE)")

# What the documentation promises: with seed 1, each race is found within this many runs.
FOUND_WITHIN = 10
# The races the corpus holds, one for each kind the issue lists (races.cpp numbers them).
CORPUS_RACES = 6
# The whole corpus under both strategies, and the bridge's suite under hundreds of schedules, run
# in the main preset; under a sanitizer or another interpreter (the same C++, slower or already
# proven) one strategy and a few schedules per case keep the test command's time.
MAIN_PRESET = not os.environ.get("PYASYNC_SANITIZED") and sys.version_info[:2] == (3, 11)
STRATEGIES = ["random", "pct"] if MAIN_PRESET else ["pct"]
CORPUS_RUNS = "50" if MAIN_PRESET else "20"
# The options' plumbing (spellings, twins, --isolate, the plugin's options) is the same Python and
# C++ logic everywhere: the main preset proves it.
PLUMBING = pytest.mark.skipif(not MAIN_PRESET, reason="option plumbing: proven by the main preset (dev, 3.11)")
# Python-level exploration (a selector, trio's hook, a whole corpus) over the engine's C++, which the
# C++ corpus runs under every preset: the main preset proves it.
SAME_ENGINE = pytest.mark.skipif(not MAIN_PRESET, reason="the engine's C++ is the same everywhere: the main "
                                 "preset proves it")
REPORT = re.compile(r"(?:failed in|cancelled during) schedule run (\d+) of (\d+) \((random|pct), seed (\d+)\); "
                    r"replay it with: (--schedule (?:random|pct) --schedule-seed \d+)")


def run_probe(*args, timeout=300):
    return run_binary(PROBE, *args, timeout=timeout)


def verdicts(*args):
    result = run_probe("--format", "json", *args)
    return dict(finished_events(result.stdout)), result


def reports(stdout):
    """{case: (run, runs, strategy, seed, replay arguments)} of the failing runs of a pretty run."""
    found, case = {}, None
    for line in stdout.splitlines():
        if line.startswith("[ RUN      ] "):
            case = line.split()[-1]
        elif match := REPORT.search(line):
            found[case] = (int(match[1]), int(match[2]), match[3], int(match[4]), match[5].split())
    return found


def races():
    return [name for name in listed(PROBE) if name.startswith("Race.")]


def sounds():
    return [name for name in listed(PROBE) if name.startswith("Sound.")]


def test_every_case_of_the_corpus_passes_under_the_usual_timing():
    # A race is a race: under load (a busy CI machine) one may lose under real timing too. Each
    # must pass in one of three unexplored runs; none may need exploration to pass.
    passed = set()
    for _ in range(3):
        outcome, result = verdicts()
        assert len(outcome) == len(listed(PROBE)), result.stdout + result.stderr
        passed |= {case for case, verdict in outcome.items() if verdict == "ok"}
        if len(passed) == len(outcome):
            break
    assert passed == set(listed(PROBE))
    assert len(races()) == CORPUS_RACES


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_each_race_is_found_within_its_runs_and_its_seed_alone_replays_it(strategy):
    result = run_probe("--schedule", strategy, "--schedule-seed", "1", "--schedule-runs", CORPUS_RUNS)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"pyasync-test: exploring schedules: {strategy}, {CORPUS_RUNS} run(s) per async case from seed 1" \
        in result.stderr
    found = reports(result.stdout)
    assert sorted(found) == sorted(races()), result.stdout
    assert "[  FAILED  ] Sound." not in result.stdout
    assert len(re.findall(r"\[       OK \] Sound\.", result.stdout)) == len(sounds())
    for case, (run, runs, reported_strategy, seed, replay) in found.items():
        assert runs == int(CORPUS_RUNS) and reported_strategy == strategy
        assert run <= FOUND_WITHIN, f"{case} found only in run {run}"
        first = run_probe(case, "--exact", *replay)
        again = run_probe(case, "--exact", *replay)
        assert first.returncode == 1, first.stdout
        assert reports(first.stdout)[case][:4] == (1, 1, strategy, seed)
        # The same choices each time: the trace of the run is the same.
        trace = [line for line in first.stdout.splitlines() if line.startswith("    step ")]
        assert trace == [line for line in again.stdout.splitlines() if line.startswith("    step ")]


def test_a_failing_run_says_which_choices_departed_from_the_usual_order():
    result = run_probe("Race.assumes_the_completion_order_of_two_jobs", "--exact", "--schedule", "random",
                       "--schedule-seed", "1", "--schedule-runs", "50")
    assert "of the run's" in result.stdout and "scheduling choices departed from the usual order:" in result.stdout
    assert re.search(r"    step \d+: job 2 from record_after went before job 1 from record_after \(2 ready\)",
                     result.stdout), result.stdout


# wait_for's own timer until 3.11; from 3.12 it is built on asyncio.timeout().
WAIT_FOR_TIMER = "_release_waiter" if sys.version_info < (3, 12) else "Timeout._on_timeout"


@pytest.mark.parametrize("case, timer", [("Race.assumes_its_work_beats_a_timeout", WAIT_FOR_TIMER),
                                          ("Race.assumes_its_work_is_done_after_a_pause",
                                           "_set_result_unless_cancelled")])
def test_a_slow_runtime_lets_a_near_loop_timer_fire_first(case, timer):
    result = run_probe(case, "--exact", "--schedule", "random", "--schedule-seed", "1", "--schedule-runs", "50")
    assert case in reports(result.stdout), result.stdout
    assert re.search(rf"    step \d+: the runtime's work waited until a loop timer calling {timer} had fired "
                     r"\(a slow runtime\)", result.stdout), result.stdout


def test_each_schedule_run_has_the_whole_case_timeout_and_never_waits_for_it():
    # Its 90 ms limit is within the hold horizon from the start: were it treated as the code's own
    # timer, one run in a few would hold its jobs past it and time it out. And 200 runs take longer
    # than 90 ms: the limit is each run's, not the exploration's.
    outcome, result = verdicts("Sound.finishes_well_within_its_own_short_timeout", "--exact", "--schedule", "random",
                               "--schedule-seed", "1", "--schedule-runs", "200")
    assert outcome == {"Sound.finishes_well_within_its_own_short_timeout": "ok"}, result.stdout + result.stderr


@PLUMBING
def test_a_seed_replays_the_same_runs_whatever_else_is_selected():
    alone = reports(run_probe("Race.closes_a_resource_twice", "--exact", "--schedule", "pct", "--schedule-seed", "5",
                              "--schedule-runs", "50").stdout)
    together = reports(run_probe("Race.assumes_the_completion_order_of_two_jobs", "Race.closes_a_resource_twice",
                                 "--exact", "--schedule", "pct", "--schedule-seed", "5", "--schedule-runs", "50").stdout)
    assert alone["Race.closes_a_resource_twice"] == together["Race.closes_a_resource_twice"]


@PLUMBING
def test_exploration_reaches_the_isolated_child():
    result = run_probe("Race.checks_then_acts_across_a_completion", "--exact", "--isolate", "--schedule", "random",
                       "--schedule-seed", "1", "--schedule-runs", "50")
    assert result.returncode == 1
    assert "Race.checks_then_acts_across_a_completion" in reports(result.stdout)


@PLUMBING
def test_the_environment_twins_turn_exploration_on():
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("PYASYNC_TEST_", "TEST_", "GTEST_"))}
    environment.update(PYASYNC_TEST_SCHEDULE="pct", PYASYNC_TEST_SCHEDULE_SEED="1", PYASYNC_TEST_SCHEDULE_RUNS="50")
    result = subprocess.run([PROBE, "Race.closes_a_resource_twice", "--exact"], capture_output=True, text=True,
                            env=environment, timeout=120)
    assert result.returncode == 1
    assert reports(result.stdout)["Race.closes_a_resource_twice"][2] == "pct"


@PLUMBING
def test_a_passing_exploration_gives_its_case_one_verdict():
    outcome, result = verdicts("Sound.spawn_all_keeps_the_order_of_its_jobs", "--exact", "--schedule-runs", "300")
    assert outcome == {"Sound.spawn_all_keeps_the_order_of_its_jobs": "ok"}, result.stdout + result.stderr
    assert "pyasync-test: exploring schedules: random, 300 run(s) per async case" in result.stderr


@PLUMBING
@pytest.mark.parametrize("args, message", [
    (["--schedule", "fifo"], "invalid value 'fifo' for --schedule: expected one of random, pct"),
    (["--schedule-runs", "0"], "invalid value '0' for --schedule-runs: expected an integer from 1 to 1000000"),
    (["--schedule-seed", "-3"], "invalid value '-3' for --schedule-seed: expected a seed"),
    (["--schedule", "random", "--test-threads", "4"], "--schedule explores one case at a time, but --test-threads is 4"),
])
def test_bad_exploration_options_are_usage_errors(args, message):
    result = run_probe(*args)
    assert result.returncode == 4
    assert message in result.stderr


@PLUMBING
def test_the_plugin_explores_cpp_items_through_its_harness_arguments(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "pyasync", "-p", "no:cacheprovider", "-o", "pyasync_fixture_modules=",
         "--rootdir", str(tmp_path), "-o", "pyasync_harness_args=--schedule random --schedule-seed 1 --schedule-runs 50",
         PROBE, "-q", "-k", "closes_a_resource_twice or claims_before"],
        capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert "1 failed, 1 passed" in result.stdout, result.stdout + result.stderr
    assert "replay it with: --schedule random --schedule-seed" in result.stdout


@pytest.mark.skipif(BRIDGE_SUITE is None or not os.path.exists(BRIDGE_SUITE),
                    reason="the bridge's suite is not built in this preset (tsan builds what its tests load)")
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_the_bridge_suite_reports_no_race_under_hundreds_of_schedules(strategy):
    # 21 async cases: 630 schedules in all in the main preset.
    runs = ("20" if strategy == "random" else "10") if MAIN_PRESET else "3"
    result = run_binary(BRIDGE_SUITE, "--schedule", strategy, "--schedule-seed", "2026", "--schedule-runs", runs,
                        "--format", "json", timeout=600)
    outcome = dict(finished_events(result.stdout))
    # Skipped: a dependency this interpreter lacks (uvloop on 3.12 and 3.13). Never failed.
    assert len(outcome) >= 20 and set(outcome.values()) <= {"ok", "ignored", "skipped"}, \
        result.stdout[-3000:] + result.stderr
    assert list(outcome.values()).count("ok") >= 19


BOOST_PROBE = os.environ.get("PYASYNC_SCHEDULE_PROBE_BOOST")
if BOOST_PROBE is not None and not os.path.exists(BOOST_PROBE):
    BOOST_PROBE = None  # not built in this preset (tsan builds what its tests load; PYASYNC_BOOST_MIRRORS)


@pytest.mark.skipif(BOOST_PROBE is None, reason="Boost.Test is not installed, or its probe not built here")
def test_the_boost_adapter_explores_the_same_corpus_after_its_double_dash():
    result = run_binary(BOOST_PROBE, "--", "--schedule", "pct", "--schedule-seed", "1", "--schedule-runs",
                        CORPUS_RUNS, timeout=300)
    assert result.returncode == 201, result.stdout + result.stderr
    assert f"pyasync: exploring schedules: pct, {CORPUS_RUNS} run(s) per async case from seed 1" in result.stderr
    output = result.stdout + result.stderr
    for case in races():
        name = case.split(".", 1)[1]
        assert re.search(rf"{name}.*\n(?:.*\n)*?.*replay it with: --schedule pct --schedule-seed \d+", output), case
    assert output.count("replay it with: --schedule pct") == CORPUS_RACES, output[-3000:]
    assert "error: in \"Sound/" not in output


@PLUMBING
@pytest.mark.skipif(BOOST_PROBE is None, reason="Boost.Test is not installed, or its probe not built here")
def test_the_boost_adapter_refuses_a_bad_schedule_with_the_harness_message():
    result = run_binary(BOOST_PROBE, "--", "--schedule", "fifo")
    assert result.returncode != 0
    assert "invalid value 'fifo' for --schedule: expected one of random, pct" in result.stderr


# ---- the pytest plugin: async tests explored run by run, function fixtures made afresh ----------

RACY_TESTS = """
import asyncio
import pytest
import pyasync_examples as ex

SETUPS = {"module": 0, "function": 0}


class Pool:
    def __init__(self):
        self.open = False
        self.opened = 0


async def open_if_needed(pool, other_work_first):
    if other_work_first:
        await ex.slow_ready(0, 0.02)  # some other work first: usually long
    if not pool.open:
        await ex.threaded_ready(0)  # opening: quick
        pool.open = True
        pool.opened += 1


@pytest.fixture(scope="module")
def shared():
    SETUPS["module"] += 1
    return SETUPS


@pytest.fixture
def pool(shared):
    shared["function"] += 1
    return Pool()


@pytest.mark.pyasync{marker}
async def test_checks_then_acts(pool):
    await asyncio.gather(open_if_needed(pool, False), open_if_needed(pool, True))
    assert pool.opened == 1


@pytest.mark.pyasync{marker}
async def test_sound(pool, shared):
    assert pool.opened == 0  # a fresh function fixture in every run
    pool.opened += 1
    assert await ex.threaded_ready(3) == 3


def test_fixtures_made_per_run_and_per_module():
    print("SETUPS", SETUPS)
"""
PLUGIN_REPORT = re.compile(r"failed in schedule run (\d+) of (\d+) \((random|pct), seed (\d+)\); replay it with: "
                           r"@pytest.mark.pyasync\(schedule='(?:random|pct)', schedule_seed=(\d+)\)")


def test_the_plugin_explores_an_async_test_from_its_marker_and_replays_it(pytester):
    from plugin_support import run_plugin
    result = run_plugin(pytester, "-rA", "-s", test_a=RACY_TESTS.replace("{marker}", "(schedule_runs=50, "
                                                                           "schedule_seed=1)"))
    result.assert_outcomes(passed=2, failed=1)
    found = PLUGIN_REPORT.search(result.stdout.str())
    assert found and int(found[1]) <= FOUND_WITHIN and found[3] == "random", result.stdout.str()
    assert "scheduling choices departed from the usual order" in result.stdout.str()
    # test_sound's 50 runs each had a fresh `pool`; the module fixture was made once for all.
    result.stdout.fnmatch_lines([f"*SETUPS {{'module': 1, 'function': {int(found[1]) + 50}}}*"])
    seed = found[5]
    replay = run_plugin(pytester, "-k", "checks_then_acts",
                        test_a=RACY_TESTS.replace("{marker}", f"(schedule_seed={seed})"))
    replay.assert_outcomes(failed=1)
    assert f"failed in schedule run 1 of 1 (random, seed {seed})" in replay.stdout.str()


@PLUMBING
def test_the_plugin_options_and_ini_keys_explore_every_async_test(pytester):
    from plugin_support import run_plugin
    pytester.makeini("[pytest]\npyasync_schedule = pct\npyasync_schedule_runs = 50\n")
    result = run_plugin(pytester, "--pyasync-schedule-seed", "1", test_a=RACY_TESTS.replace("{marker}", ""))
    result.assert_outcomes(passed=2, failed=1)
    found = PLUGIN_REPORT.search(result.stdout.str())
    assert found and found[3] == "pct" and int(found[2]) == 50, result.stdout.str()
    result.stdout.fnmatch_lines(["pyasync: exploring schedules: pct, 50 run(s) per async test and C++ item from seed 1"])


@PLUMBING
def test_the_plugin_options_explore_cpp_items_too(pytester):
    from plugin_support import run_plugin
    result = run_plugin(pytester, PROBE, "-k", "closes_a_resource_twice or claims_before", "--pyasync-schedule",
                        "random", "--pyasync-schedule-seed", "1", "--pyasync-schedule-runs", "50")
    result.assert_outcomes(passed=1, failed=1)
    assert "replay it with: --schedule random --schedule-seed" in result.stdout.str()


@PLUMBING
@pytest.mark.parametrize("marker, message", [
    ("(schedule='fifo')", "schedule of @pytest.mark.pyasync of test_a.py::test_sound must be one of random, pct"),
    ("(schedule_runs=0)", "schedule_runs of @pytest.mark.pyasync of test_a.py::test_sound must be a whole number "
                          "of runs from 1 to 1000000"),
    ("(schedule_seed=-1)", "schedule_seed of @pytest.mark.pyasync of test_a.py::test_sound must be a seed from 0"),
])
def test_bad_exploration_marker_arguments_are_usage_errors(pytester, marker, message):
    from plugin_support import run_plugin
    result = run_plugin(pytester, "-k", "test_sound", test_a=RACY_TESTS.replace("{marker}", marker))
    assert message in result.stdout.str() + result.stderr.str()
    assert result.ret != 0


# ---- executor calls: asyncio's default executor explored like the runtime's work ----------------

EXECUTOR_TESTS = """
import asyncio
import time
import pytest


@pytest.mark.pyasync(schedule_runs=50, schedule_seed=1)
async def test_assumes_the_completion_order_of_two_calls():
    order = []

    async def record(name, seconds):
        await asyncio.to_thread(time.sleep, seconds)
        order.append(name)

    await asyncio.gather(record("quick", 0), record("slow", 0.02))  # the slow one: usually second
    assert order == ["quick", "slow"]


@pytest.mark.pyasync(schedule_runs=50, schedule_seed=1)
async def test_checks_then_acts_across_an_executor_call():
    cache = {}

    async def load_once(key, look_up_first):
        if look_up_first:
            await asyncio.to_thread(time.sleep, 0.02)  # a slow look-up elsewhere first
        if key not in cache:
            loop = asyncio.get_running_loop()
            cache[key] = await loop.run_in_executor(None, object)  # loading: quick
            cache.setdefault("loads", []).append(key)

    await asyncio.gather(load_once("a", False), load_once("a", True))
    assert cache["loads"] == ["a"]


@pytest.mark.pyasync(schedule_runs=50, schedule_seed=1)
async def test_awaits_each_call_for_what_it_needs():
    loop = asyncio.get_running_loop()
    first = loop.run_in_executor(None, time.sleep, 0.01)
    second = loop.run_in_executor(None, int, "7")
    assert (await second, await first) == (7, None)
"""


def test_the_plugin_explores_executor_calls_and_replays_them(pytester):
    from plugin_support import run_plugin
    result = run_plugin(pytester, "-rA", test_x=EXECUTOR_TESTS)
    result.assert_outcomes(passed=1, failed=2)
    output = result.stdout.str()
    found = PLUGIN_REPORT.findall(output)
    assert len(found) == 2 and all(int(run) <= FOUND_WITHIN for run, *_ in found), output
    assert re.search(r"step \d+: executor call 2 from \S+ went before executor call 1 from \S+ \(2 ready\)",
                     output), output
    for name, (_, _, _, seed, _) in zip(["completion_order", "checks_then_acts"], found):
        replay = run_plugin(pytester, "-k", name, test_x=EXECUTOR_TESTS.replace("schedule_runs=50, schedule_seed=1",
                                                                                f"schedule_seed={seed}"))
        replay.assert_outcomes(failed=1)
        assert f"failed in schedule run 1 of 1 (random, seed {seed})" in replay.stdout.str()


@SAME_ENGINE
@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("mode", ["strict", "auto"])
def test_the_pytest_asyncio_corpus_gets_the_same_verdicts_under_exploration(pytester, mode, strategy):
    # The project's own Python async tests, some failing on purpose: exploring them must change no
    # verdict (a false race report is a defect).
    import shutil
    from test_plugin_asyncio_vocabulary import CORPUS, verdicts as corpus_verdicts
    shutil.copytree(CORPUS / mode, pytester.path, dirs_exist_ok=True)
    usual, _ = corpus_verdicts(pytester, "-p", "no:asyncio", "-p", "pyasync")
    explored, result = corpus_verdicts(pytester, "-p", "no:asyncio", "-p", "pyasync", "--pyasync-schedule", strategy,
                                       "--pyasync-schedule-seed", "1", "--pyasync-schedule-runs", CORPUS_RUNS)
    assert f"exploring schedules: {strategy}, {CORPUS_RUNS} run(s)" in result.stdout.str()
    assert explored == usual and len(usual) >= 8, result.stdout.str()


TRIO_TESTS = """
import pytest
import trio


async def open_if_needed(state, checkpoint_first):
    if checkpoint_first:
        await trio.sleep(0)
    if not state["open"]:
        await trio.sleep(0)  # opening
        state["open"] = True
        state["opened"] += 1


@pytest.mark.pyasync(loop="trio"{marker})
async def test_checks_then_acts_across_a_checkpoint():
    state = {"open": False, "opened": 0}
    async with trio.open_nursery() as nursery:
        nursery.start_soon(open_if_needed, state, False)
        nursery.start_soon(open_if_needed, state, True)
    assert state["opened"] == 1
"""


@SAME_ENGINE
def test_the_plugin_explores_a_trio_test_through_trios_scheduler_and_replays_it(pytester):
    from plugin_support import run_plugin
    dependencies.require("trio")
    result = run_plugin(pytester, test_t=TRIO_TESTS.replace("{marker}", ", schedule_runs=50, schedule_seed=1"))
    result.assert_outcomes(failed=1)
    output = result.stdout.str()
    found = PLUGIN_REPORT.search(output)
    assert found and int(found[1]) <= FOUND_WITHIN, output
    assert "under trio: trio's scheduler ordered each batch of runnable tasks by this seed" in output
    for _ in range(3):  # the seed alone: the same order, the same failure, every time
        replay = run_plugin(pytester, test_t=TRIO_TESTS.replace("{marker}", f", schedule_seed={found[4]}"))
        replay.assert_outcomes(failed=1)


# ---- file descriptors one poll finds ready together -------------------------------------------

READY_SOCKETS_TESTS = """
import asyncio
import socket
import pytest


async def handled_in_order(loop):
    order, pairs = [], [socket.socketpair() for _ in range(2)]
    both = loop.create_future()

    def on_readable(index):
        loop.remove_reader(pairs[index][0])
        order.append(index)
        if len(order) == 2:
            both.set_result(None)

    for index, (reading, _) in enumerate(pairs):
        loop.add_reader(reading, on_readable, index)
    for _, writing in pairs:
        writing.send(b"x")  # both ready before the loop polls again
    await both
    for pair in pairs:
        for end in pair:
            end.close()
    return order


@pytest.mark.pyasync(schedule_runs=50, schedule_seed=1)
async def test_assumes_the_order_of_two_ready_sockets():
    assert await handled_in_order(asyncio.get_running_loop()) == [0, 1]


@pytest.mark.pyasync(schedule_runs=50, schedule_seed=1)
async def test_takes_them_in_either_order():
    assert sorted(await handled_in_order(asyncio.get_running_loop())) == [0, 1]
"""


@SAME_ENGINE
def test_the_plugin_explores_the_order_of_descriptors_ready_in_one_poll(pytester):
    from plugin_support import run_plugin
    usual = run_plugin(pytester, test_fd=READY_SOCKETS_TESTS.replace("(schedule_runs=50, schedule_seed=1)", ""))
    usual.assert_outcomes(passed=2)
    result = run_plugin(pytester, test_fd=READY_SOCKETS_TESTS)
    result.assert_outcomes(passed=1, failed=1)
    output = result.stdout.str()
    found = PLUGIN_REPORT.search(output)
    assert found and int(found[1]) <= FOUND_WITHIN, output
    assert re.search(r"step \d+: fd \d+ readable went before fd \d+ readable \(2 ready\)", output), output
    replay = run_plugin(pytester, "-k", "assumes", test_fd=READY_SOCKETS_TESTS.replace(
        "schedule_runs=50, schedule_seed=1", f"schedule_seed={found[4]}"))
    replay.assert_outcomes(failed=1)
