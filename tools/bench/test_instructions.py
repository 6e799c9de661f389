"""The instruction-count gate's verdicts (instructions.py): a row that grew past the tolerance
fails naming the row, its count, the baseline and the difference; one that shrank invites a
baseline update; a row without a baseline fails; the JUnit report has one case per row."""
import json
import os
import pathlib
import subprocess
import sys
import xml.etree.ElementTree as ElementTree

import pytest

import instructions

BASELINE = {"floor": 1000.0, "ready": 800.0}


def test_a_row_within_the_tolerance_passes_and_its_ratio_to_the_floor_is_shown():
    lines, failures = instructions.compare({"floor": 1000.0, "ready": 815.0}, BASELINE)
    assert failures == {}
    assert any(line.startswith("ready") and "+1.88%" in line and "0.815x floor" in line for line in lines), lines
    assert not any("shrank" in line for line in lines)


def test_a_row_that_grew_past_the_tolerance_fails_naming_the_row_the_baseline_and_the_difference():
    _, failures = instructions.compare({"floor": 1000.0, "ready": 824.0}, BASELINE)
    assert list(failures) == ["ready"]
    assert failures["ready"] == ("ready (await ready(x) via pyasync::def): 824 instructions per operation against "
                                 "the baseline's 800 (+3.00%, more than 2%)")


def test_a_row_that_shrank_past_the_tolerance_invites_a_baseline_update():
    lines, failures = instructions.compare({"floor": 1000.0, "ready": 700.0}, BASELINE)
    assert failures == {}
    assert any("shrank by 12.50%" in line and "--update" in line for line in lines), lines


def test_a_row_without_a_baseline_fails():
    _, failures = instructions.compare({"serve_run": 5.0}, BASELINE)
    assert "no baseline" in failures["serve_run"]


def test_the_junit_report_has_a_case_per_row_and_a_failure_for_each_failing_one(tmp_path):
    path = tmp_path / "instructions.xml"
    instructions.write_junit(path, {"floor": 1000.0, "ready": 900.0}, {"ready": "ready grew"})
    suite = ElementTree.parse(path).getroot()
    cases = {case.get("name"): case.find("failure") for case in suite.iter("testcase")}
    assert list(cases) == ["floor", "ready"]
    assert cases["floor"] is None and cases["ready"].get("message") == "ready grew"
    assert suite.get("failures") == "1"


def test_every_row_has_a_baseline_and_every_baseline_a_row():
    recorded = json.loads(pathlib.Path(instructions.BASELINE).read_text())
    assert sorted(name for name in recorded if not name.startswith("_")) == sorted(row.name for row in instructions.ROWS)


@pytest.mark.skipif("PYASYNC_RELEASE_BUILD" not in os.environ, reason="needs a release build (the test command names it)")
def test_a_counted_regression_fails_the_gate_end_to_end(tmp_path):
    """The whole path: callgrind counts the floor row, and a baseline 10% below it fails the run,
    on the console and in the JUnit report."""
    recorded = json.loads(pathlib.Path(instructions.BASELINE).read_text())
    lowered = tmp_path / "baseline.json"
    lowered.write_text(json.dumps({**recorded, "floor": recorded["floor"] * 0.9}))
    report = tmp_path / "instructions.xml"
    done = subprocess.run([sys.executable, instructions.__file__, "--build-dir", os.environ["PYASYNC_RELEASE_BUILD"],
                           "--rows", "floor", "--baseline", lowered, "--junit", report],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "instructions: FAILED floor (await f(x) of an async def (the floor)): " in done.stdout
    assert "(+11.11%, more than 2%)" in done.stdout
    assert ElementTree.parse(report).getroot().find("testcase/failure") is not None
