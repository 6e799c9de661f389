#!/usr/bin/env python3
"""Sums the JUnit files pytest wrote under the given folders and prints one closing line:
'N passed, N failed, N skipped'. Exits 1 when a case failed or nothing ran."""
import pathlib
import sys
import xml.etree.ElementTree as ElementTree


def main(folders):
    passed = failed = skipped = 0
    for folder in folders:
        for report in sorted(pathlib.Path(folder).glob("*.xml")):
            for suite in ElementTree.parse(report).getroot().iter("testsuite"):
                tests = int(suite.get("tests", 0))
                bad = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
                skip = int(suite.get("skipped", 0))
                failed += bad
                skipped += skip
                passed += tests - bad - skip
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
