"""tools/count_results.py, the closing line of the test command, against builds whose tests fail
on purpose: a ctest test that crashed before writing its report must count as failed, never
vanish from the totals."""
import pathlib
import subprocess
import sys

COUNTER = pathlib.Path(__file__).resolve().parents[1] / "tools" / "count_results.py"


def pytest_report(path, tests, failures=0, skipped=0):
    path.write_text(f'<testsuites><testsuite name="pytest" tests="{tests}" failures="{failures}" errors="0" '
                    f'skipped="{skipped}"></testsuite></testsuites>')


def ctest_report(build, **statuses):
    cases = "".join(f'<testcase name="{name}" classname="{name}" status="{status}">'
                    + ('<failure message=""/>' if status == "fail" else "") + "</testcase>"
                    for name, status in statuses.items())
    (build / "ctest.xml").write_text(f'<testsuite name="x" tests="{len(statuses)}">{cases}</testsuite>')


def count(*folders):
    result = subprocess.run([sys.executable, str(COUNTER), *map(str, folders)], capture_output=True, text=True)
    return result.returncode, result.stdout.splitlines()


def build_dir(tmp_path, name="dev"):
    junit = tmp_path / name / "junit"
    junit.mkdir(parents=True)
    return junit


def test_sums_every_report_of_every_folder(tmp_path):
    dev, asan = build_dir(tmp_path, "dev"), build_dir(tmp_path, "asan")
    pytest_report(dev / "pytest.test_a.xml", tests=5, skipped=1)
    pytest_report(asan / "pytest.test_a.xml", tests=4)
    assert count(dev, asan) == (0, ["8 passed, 0 failed, 1 skipped"])


def test_a_test_that_crashed_without_a_report_counts_as_one_failed_case_and_is_named(tmp_path):
    junit = build_dir(tmp_path)
    pytest_report(junit / "pytest.test_a.xml", tests=3)
    ctest_report(junit.parent, **{"pytest.test_a": "run", "pytest.test_crashes": "fail"})
    status, lines = count(junit)
    assert status == 1
    assert lines[-1] == "3 passed, 1 failed, 0 skipped"
    assert "ctest test pytest.test_crashes" in lines[0] and "it wrote no report" in lines[0]


def test_a_test_whose_report_claims_success_but_whose_process_failed_counts_as_failed(tmp_path):
    junit = build_dir(tmp_path)
    pytest_report(junit / "pytest.test_exit.xml", tests=2)  # crashed at interpreter exit, say
    ctest_report(junit.parent, **{"pytest.test_exit": "fail"})
    status, lines = count(junit)
    assert (status, lines[-1]) == (1, "2 passed, 1 failed, 0 skipped")
    assert "its report claims success" in lines[0]


def test_a_failure_its_report_records_is_counted_once(tmp_path):
    junit = build_dir(tmp_path)
    pytest_report(junit / "pytest.test_a.xml", tests=3, failures=2)
    ctest_report(junit.parent, **{"pytest.test_a": "fail"})
    assert count(junit) == (1, ["1 passed, 2 failed, 0 skipped"])


def test_nothing_run_is_a_failure_of_the_command(tmp_path):
    assert count(build_dir(tmp_path)) == (1, ["0 passed, 0 failed, 0 skipped"])


def test_a_report_that_is_not_well_formed_counts_as_one_failed_case_and_the_line_is_printed(tmp_path):
    junit = build_dir(tmp_path)
    pytest_report(junit / "pytest.test_a.xml", tests=3)
    (junit / "lint.xml").write_text('<testsuites><testsuite name="lint" tests="1" failures="1">\x1b[1m</testsuite>')
    status, lines = count(junit)
    assert status == 1
    assert lines[0].startswith(f"count_results: {junit / 'lint.xml'} cannot be read (not well-formed")
    assert lines[-1] == "3 passed, 1 failed, 0 skipped"


def test_lint_findings_in_colour_make_a_well_formed_report(tmp_path):
    # ci/lint.sh's report writer, fed a clang-tidy finding with its terminal escapes.
    script = pathlib.Path(__file__).resolve().parents[1] / "ci" / "lint.sh"
    source = script.read_text()
    writer = source[source.index("<<'PY'\n") + len("<<'PY'\n"):source.index("\nPY\n")]
    finding = "\x1b[1m/x.cpp:73:35: \x1b[0m\x1b[0;1;31merror: \x1b[0mcopied for each invocation"
    (tmp_path / "build/lint/junit").mkdir(parents=True)
    subprocess.run([sys.executable, "-", "", finding], input=writer, text=True, check=True, cwd=tmp_path)
    status, lines = count(tmp_path / "build/lint/junit")
    assert lines[-1] == "1 passed, 1 failed, 0 skipped"
