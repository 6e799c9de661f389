"""The pyasync-test runner tested from outside: drive the harness_probe_ binary and compare
normalised output with approved files (approved/*.txt; PYASYNC_APPROVE=1 rewrites them)."""
import json
import os
import re
import signal
import subprocess
import time
import xml.etree.ElementTree as ElementTree

import pytest

import dependencies
from approval import check_approved

PROBE = os.environ.get("PYASYNC_HARNESS_PROBE")
pytestmark = pytest.mark.skipif(PROBE is None, reason="run through ctest (PYASYNC_HARNESS_PROBE)")


def probe(*args, env=None, timeout=60, input=None):
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("PYASYNC_TEST_", "TEST_", "GTEST_", "XML_OUTPUT"))}
    environment.update(env or {})
    return subprocess.run([PROBE, *args], capture_output=True, text=True, errors="replace", env=environment,
                          timeout=timeout)


def names_run(stdout):
    return re.findall(r"^\[ RUN      \] (\S+)", stdout, re.M)


def names_failed(stdout):
    return re.findall(r"^\[  FAILED  \] (\S+) \(", stdout, re.M)


# ---- listing ------------------------------------------------------------------------------

def test_list_human_terse_and_gtest_layouts_match_approved():
    check_approved("list", probe("--list").stdout)
    terse = probe("--list", "--format", "terse").stdout
    assert terse.splitlines() == [line for line in probe("--list").stdout.splitlines() if line.endswith(": test")]
    check_approved("gtest_list_tests", probe("--gtest_list_tests").stdout)
    check_approved("list_tags", probe("--list-tags").stdout)


def test_list_json_has_every_attribute():
    cases = {c["name"]: c for c in json.loads(probe("--list", "--format", "json").stdout)["cases"]}
    fast = cases["Probe.tagged_fast"]
    assert fast["suite"] == "Probe" and fast["case"] == "tagged_fast" and fast["kind"] == "sync"
    assert fast["file"].endswith("probe.cpp") and fast["line"] > 0
    assert fast["tags"] == ["fast"] and fast["timeout_s"] == 5.0 and fast["resource_locks"] == ["db"]
    assert cases["Probe.async_passes"]["kind"] == "async"
    assert cases["Probe.ignored"]["ignored"] and cases["Probe.ignored"]["reason"] == "flaky upstream"
    assert cases["DISABLED_Probe.disabled_by_prefix"]["ignored"]


def test_listing_never_starts_python():
    # A broken PYTHONHOME makes interpreter start-up fatal: listing must not notice.
    result = probe("--list", "--format", "json", env={"PYTHONHOME": "/nonexistent"})
    assert result.returncode == 0 and result.stderr == ""
    assert len(json.loads(result.stdout)["cases"]) == 26


def test_list_ignored_lists_only_ignored():
    listed = probe("--list", "--format", "terse", "--ignored").stdout.split()
    assert "Probe.ignored:" in listed and "Probe.passes:" not in listed


# ---- running, output, exit status ----------------------------------------------------------

def test_default_run_matches_approved_and_exits_1():
    result = probe("Probe")
    assert result.returncode == 1
    check_approved("run_probe", result.stdout)


def test_exit_0_when_all_selected_pass_and_skips_are_allowed():
    result = probe("Probe.passes", "Probe.skipped")
    assert result.returncode == 0
    assert result.stdout.splitlines()[-1].startswith("test result: ok. 1 passed, 0 failed, 1 skipped")


def test_skip_exit_code_when_everything_skipped():
    assert probe("--exact", "Probe.skipped", "--skip-exit-code", "77").returncode == 77


@pytest.mark.parametrize("arguments, message", [
    (["--bogus"], "unknown option '--bogus'"),
    (["--test-threads", "zero"], "invalid value 'zero' for --test-threads: expected an integer >= 1"),
    (["--shard-count", "2"], "--shard-count and --shard-index go together"),
    (["[net"], "invalid tag expression '[net'"),
    (["--loop-scope", "module"], "expected one of session, suite, test"),
])
def test_usage_errors_exit_4_naming_the_argument(arguments, message):
    result = probe(*arguments)
    assert result.returncode == 4
    assert message in result.stderr


def test_exit_5_when_exact_names_nothing_or_fail_if_no_tests():
    result = probe("--exact", "Probe.pass")
    assert result.returncode == 5 and "--exact compares whole names" in result.stderr
    assert probe("nothing-matches", "--fail-if-no-tests").returncode == 5
    assert probe("nothing-matches").returncode == 0


def test_exit_3_when_a_global_fixture_fails():
    result = probe("Probe.passes", env={"PROBE_FAIL_GLOBAL": "1"})
    assert result.returncode == 3
    assert "failing_global failed to set up: std::runtime_error: the database is down" in result.stderr
    # The summary says so too: no case ran, and that is not a pass.
    assert "error: the global fixture failing_global failed to set up" in result.stdout
    assert "test result: FAILED. 0 passed, 0 failed" in result.stdout
    events = [json.loads(line) for line in probe("Probe.passes", "--format", "json",
                                                 env={"PROBE_FAIL_GLOBAL": "1"}).stdout.splitlines()]
    assert events[-1]["event"] == "failed" and "the database is down" in events[-1]["error"]


def test_exit_2_when_interrupted_cancels_the_running_case_and_prints_the_summary():
    process = subprocess.Popen([PROBE, "Hang.async_sleeps_forever", "Probe.passes", "--include-ignored", "--order", "lex"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    started = ""
    while "[ RUN      ] Hang.async_sleeps_forever" not in started:  # the case is running: interrupt it
        started += process.stdout.readline()
    time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=30)
    stdout = started + stdout
    assert process.returncode == 2
    assert "interrupted by Ctrl-C" in stdout and "[  FAILED  ] Hang.async_sleeps_forever" in stdout
    assert "Probe.passes" not in names_run(stdout)
    assert "test result: FAILED." in stdout.splitlines()[-1]


# ---- selection -----------------------------------------------------------------------------

@pytest.mark.parametrize("arguments, expected", [
    (["passes"], ["Probe.passes", "Probe.async_passes"]),
    (["Probe::passes", "--exact"], ["Probe.passes"]),
    (["Probe", "--skip", "fails", "--skip", "print", "--skip", "exception", "--skip", "tagged", "--skip", "task",
      "--skip", "throws"], ["Probe.passes", "Probe.async_passes", "Probe.skipped"]),
    (["--gtest_filter=Probe.*pass*:Parallel.a-*async*"], ["Probe.passes", "Parallel.a"]),
    (["--filter", "-Probe.*:Parallel.*:Loop.*:Crash.*:Unawaited.*"], []),
    (["[net]"], ["Probe.tagged_net"]),
    (["[net],[fast]"], ["Probe.tagged_net", "Probe.tagged_fast"]),
    (["Probe.tagged", "~[net]"], ["Probe.tagged_fast"]),
    (["--tag", "[slow][net]"], ["Probe.tagged_net"]),
])
def test_selection(arguments, expected):
    assert names_run(probe(*arguments).stdout) == expected


def test_environment_twins_select():
    assert names_run(probe(env={"PYASYNC_TEST_FILTER": "Probe.passes"}).stdout) == ["Probe.passes"]
    assert names_run(probe(env={"TESTBRIDGE_TEST_ONLY": "Probe.async_passes"}).stdout) == ["Probe.async_passes"]
    assert names_run(probe("Probe.passes", env={"PYASYNC_TEST_SKIP": "passes"}).stdout) == []


def test_ignored_cases_are_reported_and_run_on_request():
    result = probe("Probe.ignored", "disabled_by_prefix")
    assert "[  IGNORED ] Probe.ignored: flaky upstream" in result.stdout
    assert "[  IGNORED ] DISABLED_Probe.disabled_by_prefix: DISABLED_ prefix" in result.stdout
    assert names_run(probe("Probe.ignored", "--include-ignored").stdout) == ["Probe.ignored"]
    assert names_run(probe("Probe", "--ignored").stdout) == ["Probe.ignored", "DISABLED_Probe.disabled_by_prefix"]
    assert names_run(probe("Probe.ignored", "--gtest_also_run_disabled_tests").stdout) == ["Probe.ignored"]


# ---- order, repeat, fail-fast --------------------------------------------------------------

def test_bazel_test_random_seed_seeds_the_shuffle_and_the_command_line_wins():
    bazel = probe("Probe", "--shuffle", env={"TEST_RANDOM_SEED": "11"})
    assert "Shuffling with seed 11 (--seed 11 repeats this order)" in bazel.stdout
    assert "Shuffling with seed 3 " in probe("Probe", "--shuffle", "--seed", "3", env={"TEST_RANDOM_SEED": "11"}).stdout
    bad = probe("Probe", "--shuffle", env={"TEST_RANDOM_SEED": "eleven"})
    assert bad.returncode == 4 and "invalid value 'eleven' for TEST_RANDOM_SEED: expected an integer >= 0" in bad.stderr


def test_shuffle_prints_its_seed_and_the_seed_repeats_the_order():
    first = probe("Probe", "Parallel", "--shuffle", "--seed", "7")
    assert "Shuffling with seed 7 (--seed 7 repeats this order)" in first.stdout
    assert names_run(first.stdout) == names_run(probe("Probe", "Parallel", "--shuffle", "--seed", "7").stdout)
    declared = names_run(probe("Probe", "Parallel").stdout)
    orders = {tuple(names_run(probe("Probe", "Parallel", "--shuffle", "--seed", str(s)).stdout)) for s in range(4)}
    assert len(orders) > 1 and all(sorted(o) == sorted(declared) for o in orders)
    # Stable under subsets (Catch2): the relative order of two cases does not depend on the others.
    subset = names_run(probe("Parallel", "--shuffle", "--seed", "7").stdout)
    assert [n for n in names_run(first.stdout) if n.startswith("Parallel")] == subset


def test_repeat_runs_the_selection_n_times():
    result = probe("Probe.passes", "--repeat", "3")
    assert names_run(result.stdout) == ["Probe.passes"] * 3
    assert "3 passed, 0 failed" in result.stdout.splitlines()[-1]


def test_fail_fast_stops_after_the_first_failure():
    result = probe("Probe", "--fail-fast", "--order", "decl")
    assert names_run(result.stdout)[-1] == "Probe.fails_check"
    assert result.returncode == 1


# ---- running modes -------------------------------------------------------------------------

def test_test_threads_runs_async_cases_concurrently_on_one_loop():
    serial = probe("Parallel", "--nocapture").stdout
    assert re.findall(r"^(start|end) (\w)", serial, re.M) == [
        ("start", "a"), ("end", "a"), ("start", "b"), ("end", "b"), ("start", "c"), ("end", "c")]
    parallel = probe("Parallel", "--nocapture", "--test-threads", "3").stdout
    events = re.findall(r"^(start|end) \w", parallel, re.M)
    assert events[:3] == ["start", "start", "start"], parallel


def loop_lines(*arguments):
    return re.findall(r"^loop ([\w.]+) (\d+)", probe("Loop", "--nocapture", *arguments).stdout, re.M)


def test_loop_scope_and_loop_factory():
    session = loop_lines()
    assert session[0] == session[1] and session[0][0] == "asyncio.unix_events"
    per_test = loop_lines("--loop-scope", "test")
    assert len(per_test) == 2  # a fresh loop each (ids may be reused after close, so types only)
    assert "debug=1" in probe("Loop.reports_its_loop", "--nocapture", "--asyncio-debug").stdout
    dependencies.require("uvloop")
    assert {module for module, _ in loop_lines("--loop-factory", "uvloop")} == {"uvloop"}
    # uvloop's debug mode records a Python stack per handle: the harness gives it a frame.
    debug_uvloop = probe("Loop.reports_its_loop", "--nocapture", "--asyncio-debug", "--loop-factory", "uvloop")
    assert debug_uvloop.returncode == 0, debug_uvloop.stdout + debug_uvloop.stderr
    assert "debug=1" in debug_uvloop.stdout


def test_output_is_captured_and_shown_for_failures_only():
    quiet = probe("Parallel.a").stdout
    assert "start a" not in quiet
    failing = probe("Probe.prints_hostile_output").stdout
    captured = failing.split("---- captured output of Probe.prints_hostile_output ----\n")[1].split("---- end")[0]
    # C++ streams and Python's sys.stdout buffer separately: both land, each in its own order.
    assert "plain line\nxml breakers" in captured and "from python print\n" in captured


def test_strict_tasks_fails_a_case_that_leaves_tasks_pending():
    lenient = probe("Probe.leaves_a_task_pending")
    assert lenient.returncode == 0 and "1 task(s) still pending after the case; cancelled" in lenient.stdout
    strict = probe("Probe.leaves_a_task_pending", "--strict-tasks")
    assert strict.returncode == 1 and "Failure (--strict-tasks)" in strict.stdout


def test_strict_tasks_fails_a_case_that_never_awaits_a_coroutine():
    lenient = probe("Unawaited.")
    assert lenient.returncode == 0, lenient.stdout
    assert ("warning: Unawaited.drops_a_python_coroutine: 1 coroutine(s) never awaited:\n"
            "  coroutine 'forgotten' was never awaited") in lenient.stdout
    assert "coroutine 'forgotten_in_cpp' was never awaited" in lenient.stdout  # a C++ coroutine too
    strict = probe("Unawaited.", "--strict-tasks")
    assert strict.returncode == 1
    assert names_failed(strict.stdout) == ["Unawaited.drops_a_python_coroutine", "Unawaited.drops_a_cpp_coroutine",
                                           "Unawaited.drops_one_in_a_reference_cycle"]  # the collector ran
    assert strict.stdout.count("Failure (--strict-tasks)\n  1 coroutine(s) never awaited:") == 3


def test_async_timeout_cancels_through_asyncio_and_says_where():
    result = probe("Hang.async_sleeps_forever", "Probe.passes", "--include-ignored", "--timeout", "0.3")
    assert result.returncode == 1
    assert "timed out after 0.3 s; cancelled through asyncio while suspended at:" in result.stdout
    assert "Hang.async_sleeps_forever (C++ case at" in result.stdout and "sleep at" in result.stdout
    assert "[       OK ] Probe.passes" in result.stdout  # the run went on


def test_sync_timeout_dumps_stacks_and_aborts_or_fails_only_the_child_under_isolate(tmp_path):
    junit = tmp_path / "partial.xml"
    result = probe("Hang.sync_blocks_forever", "--include-ignored", "--timeout", "0.5", "--junit", str(junit))
    assert result.returncode == -signal.SIGABRT
    assert "[ TIMEOUT  ] Hang.sync_blocks_forever: sync case exceeded its timeout of 0.5 s" in result.stderr
    assert "Native stack of the main thread" in result.stderr and "most recent call first" in result.stderr
    assert ElementTree.parse(junit).getroot().find(".//failure") is not None  # partial report written
    isolated = probe("Hang.sync_blocks_forever", "Probe.passes", "--include-ignored", "--timeout", "0.5", "--isolate")
    assert isolated.returncode == 1
    assert "[  FAILED  ] Hang.sync_blocks_forever" in isolated.stdout and "[       OK ] Probe.passes" in isolated.stdout


def test_isolate_turns_a_crash_into_one_failed_case():
    result = probe("Crash", "--include-ignored", "--isolate")
    assert result.returncode == 1
    if os.environ.get("PYASYNC_SANITIZED"):  # ASan catches the SEGV, reports it and aborts
        assert "AddressSanitizer: SEGV" in result.stdout and "[  FAILED  ] Crash.segfaults" in result.stdout
    else:
        assert "killed by signal 11 (Segmentation fault)" in result.stdout
    assert "[       OK ] Crash.survives_next" in result.stdout


# ---- machine-readable output ---------------------------------------------------------------

def test_json_events_one_per_case_then_the_summary():
    events = [json.loads(line) for line in probe("Probe.passes", "Probe.fails_check", "Probe.skipped", "--format", "json").stdout.splitlines()]
    assert events[0] == {"type": "suite", "event": "started", "test_count": 3, "suite_count": 1}
    finished = {e["name"]: e for e in events if e["type"] == "test" and e["event"] != "started"}
    assert finished["Probe.passes"]["event"] == "ok"
    assert finished["Probe.passes"]["file"].endswith("probe.cpp") and finished["Probe.passes"]["line"] == 29
    assert finished["Probe.fails_check"]["event"] == "failed" and "answer == 42" in finished["Probe.fails_check"]["message"]
    assert finished["Probe.skipped"]["event"] == "skipped" and finished["Probe.skipped"]["message"] == "needs a GPU"
    assert events[-1]["event"] == "failed" and (events[-1]["passed"], events[-1]["failed"], events[-1]["skipped"]) == (1, 1, 1)


def test_junit_is_valid_and_shaped_for_ci(tmp_path):
    path = tmp_path / "report.xml"
    probe("Probe", "--junit", str(path))
    root = ElementTree.parse(path).getroot()  # parses: hostile output was escaped
    cases = {c.get("name"): c for c in root.iter("testcase")}
    fails = cases["fails_check"]
    assert fails.get("classname") == "Probe" and fails.get("file").endswith("probe.cpp") and int(fails.get("line")) > 0
    assert len(fails.findall("failure")) == 1 and "answer == 42" in fails.find("failure").text
    assert "left" in fails.find("failure").text  # both CHECK failures merged into one element
    assert cases["skipped"].find("skipped").get("message") == "needs a GPU"
    assert cases["ignored"].find("skipped").get("message") == "flaky upstream"
    hostile = cases["prints_hostile_output"].find("system-out").text
    assert "</system-out> ]]> & <tag>" in hostile and "\\x01" in hostile and "\ufffd" in hostile
    assert root.get("failures") == "6" and root.get("tests") == str(len(cases))
    # gtest's spelling and Bazel's variable reach the same writer.
    probe("Probe.passes", "--gtest_output=xml:" + str(tmp_path / "g.xml"))
    probe("Probe.passes", env={"XML_OUTPUT_FILE": str(tmp_path / "b.xml")})
    assert ElementTree.parse(tmp_path / "g.xml").getroot().get("tests") == "1"
    assert ElementTree.parse(tmp_path / "b.xml").getroot().get("tests") == "1"


# ---- sharding ------------------------------------------------------------------------------

def test_each_case_runs_exactly_once_across_shards(tmp_path):
    everything = names_run(probe("Probe", "Parallel").stdout)
    by_flags = [names_run(probe("Probe", "Parallel", "--shard-count", "3", "--shard-index", str(i)).stdout) for i in range(3)]
    status = tmp_path / "status"
    by_env = [names_run(probe("Probe", "Parallel", env={"TEST_TOTAL_SHARDS": "3", "TEST_SHARD_INDEX": str(i),
                                                        "TEST_SHARD_STATUS_FILE": str(status)}).stdout) for i in range(3)]
    assert status.exists()
    for shards in (by_flags, by_env):
        flat = [name for shard in shards for name in shard]
        assert sorted(flat) == sorted(everything) and len(flat) == len(set(flat))
        assert all(shards)
    assert probe(env={"GTEST_TOTAL_SHARDS": "2"}).returncode == 4


def test_premature_exit_file_is_removed_on_a_clean_end(tmp_path):
    marker = tmp_path / "premature"
    probe("Probe.passes", env={"TEST_PREMATURE_EXIT_FILE": str(marker)})
    assert not marker.exists()


# ---- CMake discovery ------------------------------------------------------------------------

def ctest_names(*arguments):
    build = os.environ["PYASYNC_BUILD_DIR"]
    listing = subprocess.run(["ctest", "--test-dir", build, "-N", *arguments], capture_output=True, text=True).stdout
    return re.findall(r"Test\s+#\d+: (\S+)", listing)


def test_pyasync_discover_tests_registers_each_case_with_labels():
    names = ctest_names("-R", "^suite\\.")
    assert "suite.Matrix.cancel_complete_race_1000_times" in names and len(names) == 21
    assert ctest_names("-L", "race") == ["suite.Matrix.cancel_complete_race_1000_times"]


def test_gtest_discover_tests_works_through_the_gtest_aliases():
    assert sorted(ctest_names("-R", "^gtest_compat\\.")) == [
        "gtest_compat.Probe.async_passes", "gtest_compat.Probe.passes", "gtest_compat.Probe.skipped"]


REGISTRATION_PROBE = os.environ.get("PYASYNC_REGISTRATION_PROBE")


@pytest.mark.skipif(REGISTRATION_PROBE is None, reason="run through ctest (PYASYNC_REGISTRATION_PROBE)")
@pytest.mark.parametrize("arguments", [[], ["--list"], ["--gtest_list_tests"], ["Fine."]])
def test_a_bad_registry_is_a_usage_error_naming_each_place(arguments):
    source = "registration.cpp"
    run = subprocess.run([REGISTRATION_PROBE, *arguments], capture_output=True, text=True, timeout=60)
    assert run.returncode == 4, run.stderr  # not an abort during static initialisation (-6)
    assert run.stdout == ""  # nothing listed or run
    twice = re.search(r"error: case 'Twice\.registered' is registered twice: at (\S+):(\d+) and at (\S+):(\d+) "
                      r"\(rename one of them\)", run.stderr)
    assert twice, run.stderr
    assert twice[1].endswith(source) and twice[3].endswith(source) and int(twice[2]) < int(twice[4])
    assert re.search(r"error: case name 'Generated\.not an identifier' at \S+registration\.cpp:\d+: "
                     r"suite and case must be C\+\+ identifiers", run.stderr), run.stderr


@pytest.mark.skipif(REGISTRATION_PROBE is None, reason="run through ctest (PYASYNC_REGISTRATION_PROBE)")
def test_help_still_works_with_a_bad_registry():
    run = subprocess.run([REGISTRATION_PROBE, "--help"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and run.stdout.startswith("Usage: ")


def test_help_as_json_is_the_flag_table_with_each_environment_twin():
    # What the documentation's command-line reference is generated from: every flag --help
    # lists, with the same spellings, and PYASYNC_TEST_<NAME> for those that read one.
    text = probe("--help")
    data = probe("--help", "--format", "json")
    assert (text.returncode, data.returncode) == (0, 0), data.stderr
    help = json.loads(data.stdout)
    assert help["usage"].endswith(" [OPTIONS] [FILTER...] [-- PYTHON_ARGS...]")
    assert help["summary"] in text.stdout and help["exit_status"] in text.stdout
    # A flag stands after a space, "(" or ",": not "POSITIVE[-NEGATIVE]" nor "':'-separated".
    listed = set(re.findall(r"(?<![^\s(,])(--?[a-zA-Z?][\w-]*)", text.stdout.split("\nEach option above")[0]))
    in_json = {name for flag in help["flags"] for name in flag["names"]}
    assert listed - {"--", "-"} == in_json
    by_name = {flag["names"][0]: flag for flag in help["flags"]}
    assert by_name["--test-threads"]["environment"] == "PYASYNC_TEST_TEST_THREADS"
    assert by_name["--test-threads"]["value"] == "N" and by_name["--test-threads"]["section"] == "Running"
    assert by_name["--list"]["environment"] is None  # listing reads no twin
    assert (by_name["--test-threads"]["default"], by_name["--loop-scope"]["default"]) == ("1", "session")
    assert "async cases in flight on the loop at once\n" in text.stdout and "(default: 1)" in text.stdout
    assert {flag["section"] for flag in help["flags"]} <= set(help["sections"])


def report_events(lines, *args):
    return subprocess.run([PROBE, "--report-events", *args], input="".join(line + "\n" for line in lines),
                          capture_output=True, text=True, timeout=60)


def test_report_events_renders_a_merged_stream_with_the_reporters(tmp_path):
    # The pyasync-test driver's reporting process: events in, the harness's own output out.
    junit = tmp_path / "merged.xml"
    stream = [json.dumps(e) for e in [
        {"type": "suite", "event": "started", "test_count": 2, "suite_count": 2},
        {"type": "test", "event": "started", "name": "a::S.one"},
        {"type": "test", "event": "failed", "name": "a::S.one", "exec_time": 0.5, "file": "/x/s.cpp", "line": 7,
         "message": "s.cpp:8: Failure\n  boom\n", "stdout": "printed\n"},
        {"type": "note", "text": "a note from the driver"},
        {"type": "test", "event": "skipped", "name": "b::T.two", "exec_time": 0, "message": "why"},
        {"type": "suite", "event": "failed", "passed": 0, "failed": 2, "skipped": 1, "ignored": 0,
         "filtered_out": 4, "interrupted": False, "exec_time": 1.0}]]
    run = report_events(stream, "--format", "terse", "--junit", str(junit))
    assert run.returncode == 0, run.stderr
    assert "test a::S.one ... FAILED\na note from the driver\ntest b::T.two ... skipped, why\n" in run.stdout
    assert "---- a::S.one ----\nprinted\ns.cpp:8: Failure\n  boom\n" in run.stdout
    # The closing event's totals win (a fixture's tear-down failure has no test event).
    assert run.stdout.endswith("test result: FAILED. 0 passed, 2 failed, 1 skipped, 0 ignored; 4 filtered out; "
                               "finished in 1.00s\n")
    case = ElementTree.parse(junit).getroot().find("testsuite/testcase")
    assert (case.get("classname"), case.get("name"), case.get("file"), case.get("line")) == ("a::S", "one",
                                                                                             "/x/s.cpp", "7")


def test_report_events_refuses_a_truncated_or_garbled_stream():
    started = json.dumps({"type": "suite", "event": "started", "test_count": 1})
    passed = json.dumps({"type": "test", "event": "ok", "name": "a::S.one", "exec_time": 0})
    truncated = report_events([started, passed])
    assert truncated.returncode == 3
    assert "the event stream ended before the run's closing event" in truncated.stdout
    assert "test result: ok. 1 passed" in truncated.stdout  # what did arrive is still reported
    garbled = report_events([started, "not json at all", json.dumps({"type": "suite", "event": "ok"})])
    assert garbled.returncode == 3 and "not an event: not json at all" in garbled.stdout
