#!/usr/bin/env python3
"""Checks that every code block of the given Markdown files is a checked source.

A fenced block (```lang) must be preceded, on the line right before its fence, by a marker
naming the file it is cut from (a MyST ```{literalinclude} PATH shows PATH itself, which must
then be such a file):

    <!-- checked: ci/consumers/snippets/harness_tests.cpp -->

and be a verbatim excerpt of that file (whole lines), which must lie where the test command
compiles or runs what it finds (CHECKED_SOURCES). So a snippet cannot describe a program that no
longer builds: renaming a header, a macro, an option or an ini key fails the tested file, and
changing the snippet without its source fails this check.

Usage: tools/snippets.py FILE.md...   (exit 1 and one line per unchecked block, else 0)"""
from __future__ import annotations

import pathlib
import re
import sys
from typing import Iterator, List, Tuple

ROOT = pathlib.Path(__file__).resolve().parents[1]

# Where a snippet's source may live, each with what compiles or runs it.
CHECKED_SOURCES = {
    "ci/consumers/quickstart/": "built against the installed prefix and run by ctest (ci/consumers)",
    "ci/consumers/snippets/": "built against the installed prefix and run by ctest (ci/consumers)",
    "pytests/": "run by the pytest suite of every build (pytests/CMakeLists.txt)",
    "fixtures/": "compiled into pyasync_examples / pyasync_fixtures and used by the plugin's tests",
    "tools/migrate/": "run over the pytest-asyncio corpus by pytests/test_plugin_asyncio_vocabulary.py",
}

MARKER = re.compile(r"^<!-- checked: (\S+) -->$")
FENCE = re.compile(r"^```(\S*)(?: (.*))?$")


def blocks(text: str) -> Iterator[Tuple[int, str, str, str, str]]:
    """(line of the opening fence, language or {directive}, its argument, marker line before it
    or "", the block's text)."""
    lines = text.split("\n")
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        end = index + 1
        while end < len(lines) and lines[end] != "```":
            end += 1
        marker = lines[index - 1] if index > 0 else ""
        yield index + 1, opening[1], opening[2] or "", marker, "".join(line + "\n" for line in lines[index + 1:end])
        index = end + 1


def included(markdown: pathlib.Path, where: str, argument: str, root: pathlib.Path) -> List[str]:
    """A MyST `{literalinclude} PATH` shows PATH itself: it must be a checked source."""
    source = (markdown.parent / argument).resolve()
    shown = source.relative_to(root).as_posix() if source.is_relative_to(root) else str(source)
    if not any(shown.startswith(prefix) for prefix in CHECKED_SOURCES):
        return [f"{where} includes {shown}, which the test command neither compiles nor runs: expected a file "
                f"under {', '.join(CHECKED_SOURCES)}"]
    if not source.is_file():
        return [f"{where} includes {shown}, which does not exist"]
    return []


def problems(markdown: pathlib.Path, root: pathlib.Path = ROOT) -> List[str]:
    """One message per block of ``markdown`` that is not a checked source."""
    found = []
    shown = markdown.relative_to(root) if markdown.is_relative_to(root) else markdown
    for line, language, argument, marker, body in blocks(markdown.read_text()):
        where = f"{shown}:{line}: the {language or 'unlabelled'} block"
        if language == "{literalinclude}":
            found += included(markdown, where, argument, root)
            continue
        if language.startswith("{"):
            continue  # another directive (a table of contents, a note): no code of its own
        named = MARKER.match(marker)
        if named is None:
            found.append(f"{where} has no `<!-- checked: PATH -->` line before its fence: cut it from a file "
                         f"the test command compiles or runs ({', '.join(CHECKED_SOURCES)}) and name that file")
            continue
        source = named[1]
        if not any(source.startswith(prefix) for prefix in CHECKED_SOURCES):
            found.append(f"{where} names {source}, which the test command neither compiles nor runs: expected a "
                         f"file under {', '.join(CHECKED_SOURCES)}")
        elif not (root / source).is_file():
            found.append(f"{where} names {source}, which does not exist")
        elif ("\n" + body) not in ("\n" + (root / source).read_text()):
            found.append(f"{where} is not a verbatim excerpt (whole lines) of {source}: copy the block from it "
                         "again, or change both")
    return found


def main(arguments: List[str]) -> int:
    if not arguments:
        print(__doc__.strip().split("\n")[-1], file=sys.stderr)
        return 2
    found = [problem for name in arguments for problem in problems(pathlib.Path(name).resolve())]
    for problem in found:
        print(problem)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
