#!/usr/bin/env python3
"""Sums the JUnit files under the given folders and prints one closing line:
'N passed, N failed, N skipped'. Exits 1 when a case failed or nothing ran.

A process that crashes writes no report of its own, or a report that claims success. So when a
folder <build>/junit has a <build>/ctest.xml beside it (ctest --output-junit), every ctest test
that failed there must show a failed case in its own report, <build>/junit/<test name>.xml;
if it does not, the test counts as one failed case of its own and is named."""
import pathlib
import sys
import xml.etree.ElementTree as ElementTree


def tally(report):
    """(passed, failed, skipped) of one JUnit file."""
    passed = failed = skipped = 0
    for suite in ElementTree.parse(report).getroot().iter("testsuite"):
        tests = int(suite.get("tests", 0))
        bad = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        skip = int(suite.get("skipped", 0))
        failed += bad
        skipped += skip
        passed += tests - bad - skip
    return passed, failed, skipped


def failed_ctest_tests(ctest_report):
    """Names of the ctest tests ctest itself saw fail (exit status, signal or timeout)."""
    root = ElementTree.parse(ctest_report).getroot()
    return [case.get("name") for case in root.iter("testcase")
            if case.get("status") == "fail" or case.find("failure") is not None]


def tally_or_fail(report):
    """tally(report); a report that cannot be read counts as one failed case, named (never a crash
    that loses the closing line)."""
    try:
        return tally(report)
    except (ElementTree.ParseError, OSError, ValueError) as error:
        print(f"count_results: {report} cannot be read ({error}): counted as one failed case")
        return 0, 1, 0


def main(folders):
    passed = failed = skipped = 0
    for folder in map(pathlib.Path, folders):
        for report in sorted(folder.glob("*.xml")):
            counts = tally_or_fail(report)
            passed, failed, skipped = passed + counts[0], failed + counts[1], skipped + counts[2]
        ctest_report = folder.parent / "ctest.xml"
        if not ctest_report.exists():
            continue
        try:
            failed_tests = failed_ctest_tests(ctest_report)
        except (ElementTree.ParseError, OSError) as error:
            print(f"count_results: {ctest_report} cannot be read ({error}): counted as one failed case")
            failed += 1
            continue
        for name in failed_tests:
            own = folder / f"{name}.xml"
            if own.exists() and tally_or_fail(own)[1] > 0:
                continue
            failed += 1
            why = "its report claims success" if own.exists() else "it wrote no report"
            print(f"count_results: ctest test {name} ({folder.parent}) failed, but {why}: "
                  "counted as one failed case (see its output above)")
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
