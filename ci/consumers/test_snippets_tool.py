"""tools/snippets.py, the check that keeps documentation snippets cut from tested files: each way a
block can drift is reported with its line and the fix."""
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
TOOL = ROOT / "tools/snippets.py"


def check(tmp_path, markdown):
    page = tmp_path / "page.md"
    page.write_text(markdown)
    done = subprocess.run([sys.executable, TOOL, page], capture_output=True, text=True, cwd=ROOT, timeout=60)
    return done.returncode, done.stdout


def excerpt_of(path, first, count):
    return "".join((ROOT / path).read_text().splitlines(keepends=True)[first:first + count])


def test_a_verbatim_excerpt_of_a_tested_file_passes(tmp_path):
    body = excerpt_of("ci/consumers/snippets/harness_tests.cpp", 11, 2)
    assert check(tmp_path, f"Text.\n\n<!-- checked: ci/consumers/snippets/harness_tests.cpp -->\n```cpp\n{body}```\n") \
        == (0, "")


def test_a_block_without_a_marker_is_reported_with_its_line(tmp_path):
    status, out = check(tmp_path, "Title\n\n```cpp\nint main() {}\n```\n")
    assert status == 1
    assert "page.md:3: the cpp block has no `<!-- checked: PATH -->` line before its fence" in out


def test_a_block_that_drifted_from_its_source_is_reported(tmp_path):
    body = excerpt_of("ci/consumers/snippets/harness_tests.cpp", 11, 2).replace("PYASYNC_CHECK", "PYASYNC_EXPECT")
    status, out = check(tmp_path, f"<!-- checked: ci/consumers/snippets/harness_tests.cpp -->\n```cpp\n{body}```\n")
    assert status == 1
    assert "page.md:2: the cpp block is not a verbatim excerpt (whole lines) of " \
           "ci/consumers/snippets/harness_tests.cpp" in out


def test_a_partial_line_is_not_an_excerpt(tmp_path):
    body = excerpt_of("ci/consumers/snippets/harness_tests.cpp", 11, 1)[5:]
    status, out = check(tmp_path, f"<!-- checked: ci/consumers/snippets/harness_tests.cpp -->\n```cpp\n{body}```\n")
    assert status == 1 and "is not a verbatim excerpt" in out


def test_a_source_the_suite_does_not_build_or_a_missing_one_is_reported(tmp_path):
    status, out = check(tmp_path, "<!-- checked: tools/bench/run.sh -->\n```sh\nx\n```\n\n"
                                  "<!-- checked: pytests/no_such_file.py -->\n```python\nx\n```\n")
    assert status == 1
    lines = out.splitlines()
    assert "page.md:2: the sh block names tools/bench/run.sh, which the test command neither compiles nor runs" \
        in lines[0]
    assert lines[1].endswith("page.md:7: the python block names pytests/no_such_file.py, which does not exist")


def test_a_literalinclude_of_a_tested_file_passes_and_other_directives_need_no_marker(tmp_path):
    source = ROOT / "ci/consumers/snippets/harness_tests.cpp"
    markdown = f"```{{literalinclude}} {source}\n:language: cpp\n```\n\n```{{toctree}}\nother\n```\n"
    assert check(tmp_path, markdown) == (0, "")


def test_a_literalinclude_of_an_untested_or_missing_file_is_reported(tmp_path):
    status, out = check(tmp_path, f"```{{literalinclude}} {ROOT / 'setup.py'}\n```\n")
    assert status == 1
    assert "page.md:1: the {literalinclude} block includes setup.py, which the test command neither compiles " \
           "nor runs" in out
    status, out = check(tmp_path, f"```{{literalinclude}} {ROOT / 'pytests/no_such_file.py'}\n```\n")
    assert (status, "includes pytests/no_such_file.py, which does not exist" in out) == (1, True)
