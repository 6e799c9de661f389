"""Sphinx directives that write the references from their single sources, so none can drift:

- ``pyasync-harness-flags``: the harness's flag table, from ``BINARY --help --format json``
  (BINARY: the ``PYASYNC_DOCS_HARNESS`` environment variable, a built harness binary);
- ``pyasync-plugin-options``: the pytest plugin's options and ini keys, from the plugin's own
  ``add_options`` run against a pytest parser;
- ``pyasync-cmake-module PATH``: the reStructuredText block a CMake module documents itself with;
- ``pyasync-cpp-headers``: every public header (PUBLIC_HEADER_DIRS, found on disk, so a new one
  cannot be left out) with what it declares, then the namespaces, through Breathe from Doxygen's
  XML of the `///` contracts;
- ``pyasync-bench-goals`` and ``pyasync-instruction-counts``: the benchmarks' live goals
  (tools/bench/goals.py) and the instruction-count gate's rows and baseline
  (tools/bench/instructions.py, instructions.json).

Each emits reStructuredText parsed in place; a source that cannot be read fails the build."""
from __future__ import annotations

import json
import os
import pathlib
import re
import subprocess
from typing import Iterable, List

from docutils import nodes
from docutils.parsers.rst import Directive
from docutils.statemachine import StringList
from sphinx.errors import ExtensionError
from sphinx.util.nodes import nested_parse_with_titles

ROOT = pathlib.Path(__file__).resolve().parents[2]


def indented(text: str, prefix: str = "   ") -> List[str]:
    """`text`'s lines as the body of a directive."""
    return [prefix + line if line else "" for line in text.split("\n")]


CODE = re.compile(r"(?<![\w`])(--[\w-]+(?:=\w+)?|PYASYNC_TEST_\w+(?:=\w+)?)")


def literal(text: str) -> str:
    """Help text as reStructuredText: option names and environment variables set in code; what
    reStructuredText would read as markup (`*`, a word ending in `_`, a backquote) escaped."""
    parts = CODE.split(text)
    return "".join(f"``{part}``" if index % 2 else re.sub(r"(\*|`|_(?!\w))", r"\\\1", part)
                   for index, part in enumerate(parts))


class GeneratedDirective(Directive):
    """A directive whose content is the reStructuredText its `lines()` writes, parsed in place."""

    has_content = False

    def lines(self) -> Iterable[str]:
        raise NotImplementedError

    def run(self):
        content = StringList()
        source = self.state.document.current_source
        for number, line in enumerate(self.lines()):
            content.append(line, source, number)
        holder = nodes.container()
        nested_parse_with_titles(self.state, content, holder)
        return holder.children


def harness_help() -> dict:
    binary = os.environ.get("PYASYNC_DOCS_HARNESS")
    if not binary:
        raise ExtensionError("pyasync-harness-flags: set PYASYNC_DOCS_HARNESS to a built harness binary "
                             "(docs/build.sh does: BUILD_DIR/pytests/pyasync_bridge_suite)")
    done = subprocess.run([binary, "--help", "--format", "json"], capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise ExtensionError(f"pyasync-harness-flags: {binary} --help --format json exited {done.returncode}: "
                             f"{done.stderr}")
    try:
        return json.loads(done.stdout)
    except ValueError:
        raise ExtensionError(f"pyasync-harness-flags: {binary} --help --format json did not print JSON (a binary "
                             f"built before the flag table could be printed as data? rebuild it): "
                             f"{done.stdout[:200]!r}") from None


class HarnessFlags(GeneratedDirective):
    """Every flag of a harness binary, by section, with its spellings, value, environment twin and
    default."""

    def lines(self) -> Iterable[str]:
        help = harness_help()
        yield ".. program:: BINARY"
        yield ""
        yield f"``{help['usage'].replace(help['usage'].split(' ')[0], 'BINARY', 1)}``"
        yield ""
        yield from help["summary"].split("\n")
        yield ""
        for section in help["sections"]:
            flags = [flag for flag in help["flags"] if flag["section"] == section]
            if not flags:
                continue
            yield f".. rubric:: {section}"
            yield ""
            if section == help["sections"][0]:
                yield ".. option:: FILTER..."
                yield ""
                yield from indented(literal(help["filters"]))
                yield ""
            for flag in flags:
                value = f" {flag['value']}" if flag["value"] else ""
                yield ".. option:: " + ", ".join(name + value for name in flag["names"])
                yield ""
                yield from indented(literal(flag["help"]))
                if flag["environment"]:
                    yield ""
                    yield f"   Environment: ``{flag['environment']}``"
                yield ""
                default = flag["default"] or ("off" if not flag["value"] else "unset")
                yield f"   Default: {literal(default)}"
                yield ""
        yield ".. rubric:: Environment and exit status"
        yield ""
        yield from literal(help["environment"]).split("\n")
        yield ""
        yield from help["exit_status"].split("\n")
        yield ""


def plugin_parser():
    """A pytest parser holding exactly what the plugin adds."""
    from _pytest.config.argparsing import Parser

    from pyasync.pytest_plugin import _settings

    parser = Parser(processopt=lambda option: None, _ispytest=True)  # what pytest itself builds
    _settings.add_options(parser)
    return parser


class PluginOptions(GeneratedDirective):
    """The plugin's command-line options and ini keys, as its add_options declares them."""

    def lines(self) -> Iterable[str]:
        parser = plugin_parser()
        options = [option for group in parser._groups for option in group.options] + list(parser._anonymous.options)
        yield ".. program:: pytest"
        yield ""
        yield ".. rubric:: Command-line options"
        yield ""
        for option in options:
            names = option.names()
            takes_value = option.attrs().get("action") not in ("store_true", "store_false")
            yield ".. option:: " + ", ".join(name + (" VALUE" if takes_value else "") for name in names)
            yield ""
            yield from indented(literal(option.attrs().get("help") or ""))
            yield ""
        yield ".. rubric:: Ini keys"
        yield ""
        for name, (help_text, kind, default) in parser._inidict.items():
            yield f".. describe:: {name}"
            yield ""
            yield from indented(literal(help_text))
            yield ""
            yield f"   Type: {kind or 'string'}; default: ``{default!r}``"
            yield ""


class CmakeModule(Directive):
    """The ``#[=[.rst: ... #]=]`` block at the top of a CMake module, parsed in place."""

    required_arguments = 1

    def run(self):
        path = ROOT / self.arguments[0]
        text = path.read_text()
        found = re.search(r"^#\[(=*)\[\.rst:\n(.*?)^#\]\1\]", text, re.S | re.M)
        if found is None:
            raise self.error(f"{self.arguments[0]} has no #[=[.rst: documentation block at its top")
        content = StringList()
        for number, line in enumerate(found[2].split("\n")):
            content.append(line, str(path), number + 1)
        holder = nodes.container()
        nested_parse_with_titles(self.state, content, holder)
        self.state.document.settings.record_dependencies.add(str(path))
        return holder.children


PUBLIC_HEADER_DIRS = ["bridge/include/pyasync", "harness/include/pyasync", "harness/include/pyasync/testing",
                      "boost_test/include/pyasync"]


def public_headers() -> List[pathlib.Path]:
    """Every public header (never detail/), in the order of PUBLIC_HEADER_DIRS."""
    return [header for folder in PUBLIC_HEADER_DIRS for header in sorted((ROOT / folder).glob("*.hpp"))]


def declared_by_header(xml: pathlib.Path) -> dict:
    """{header path after include/: [qualified names of what it declares]}, from Doxygen's XML:
    the members and classes of every namespace, by where each is declared."""
    from xml.etree import ElementTree

    index = ElementTree.parse(xml / "index.xml").getroot()
    namespaces = {compound.findtext("name") for compound in index if compound.get("kind") == "namespace"}
    found: dict = {}

    def add(location, name):
        names = found.setdefault(location.get("file").split("/include/", 1)[-1], [])
        if name not in names:
            names.append(name)

    for compound in index:
        name = compound.findtext("name")
        kind = compound.get("kind")
        if kind not in ("class", "struct", "namespace") or (kind != "namespace" and name.rsplit("::", 1)[0]
                                                             not in namespaces):
            continue
        definition = ElementTree.parse(xml / f"{compound.get('refid')}.xml").getroot().find("compounddef")
        if kind != "namespace":
            add(definition.find("location"), name)
            continue
        for member in definition.iter("memberdef"):
            add(member.find("location"), f"{name}::{member.findtext('name')}")
    return found


class CppHeaders(GeneratedDirective):
    """One section per public header (its own documentation, its macros, and links to what it
    declares), then every namespace with its members: Breathe over Doxygen's XML."""

    def lines(self) -> Iterable[str]:
        xml = pathlib.Path(self.state.document.settings.env.config.breathe_projects["pyasync"])
        declared = declared_by_header(xml)
        for header in public_headers():
            name = header.relative_to(ROOT).as_posix().split("/include/", 1)[1]
            yield name
            yield "-" * len(name)
            yield ""
            # Only the header's text and macros: its namespace's members are shown once, below
            # (rendered per header, the namespace would be declared again by every header).
            yield f".. doxygenfile:: {name}"
            yield "   :project: pyasync"
            yield "   :sections: briefdescription detaileddescription define"
            yield ""
            names = declared.get(name, [])
            if names:
                yield "Declares: " + ", ".join(f":cpp:any:`{qualified}`" for qualified in names)
                yield ""
        # The outermost namespace, with the namespaces nested in it.
        yield "namespace pyasync"
        yield "-----------------"
        yield ""
        yield ".. doxygennamespace:: pyasync"
        yield "   :project: pyasync"
        yield "   :members:"
        yield ""


def bench_module(name: str):
    """A module of tools/bench, imported from there."""
    import importlib
    import sys

    folder = str(ROOT / "tools/bench")
    if folder not in sys.path:
        sys.path.insert(0, folder)
    return importlib.import_module(name)


def table(header: List[str], rows: List[List[str]]) -> Iterable[str]:
    """A reStructuredText list-table."""
    yield ".. list-table::"
    yield "   :header-rows: 1"
    yield ""
    for row in [header, *rows]:
        yield f"   * - {row[0]}"
        for cell in row[1:]:
            yield f"     - {cell}"
    yield ""


class BenchGoals(GeneratedDirective):
    """Every live goal of the benchmarks, with the floor it is measured against and its source."""

    def lines(self) -> Iterable[str]:
        goals = bench_module("goals")
        yield from table(["goal", "bound", "measured against", "stated by"],
                         [[f"``{key}``", f"{goal.comparison} {goal.bound:g}{goal.unit.strip()}",
                           literal(goal.floor) if goal.floor else "absolute", goal.source]
                          for key, goal in goals.GOALS.items()])


class InstructionCounts(GeneratedDirective):
    """The gate's rows: what each counts, its baseline and its ratio to the floor it names."""

    def lines(self) -> Iterable[str]:
        instructions = bench_module("instructions")
        baseline = json.loads(instructions.BASELINE.read_text())
        rows = []
        for row in instructions.ROWS:
            ratio = f"{baseline[row.name] / baseline[row.floor]:.3f}x ``{row.floor}``" if row.floor else ""
            rows.append([f"``{row.name}``", literal(row.what), f"{baseline[row.name]:,.0f}", ratio])
        yield f"Counted with {baseline['_interpreter']}; a row fails the test command when it grows by more " \
              f"than {instructions.TOLERANCE:.0%}."
        yield ""
        yield from table(["row", "what it counts", "instructions per operation", "ratio"], rows)


def setup(app):
    app.add_directive("pyasync-harness-flags", HarnessFlags)
    app.add_directive("pyasync-plugin-options", PluginOptions)
    app.add_directive("pyasync-cmake-module", CmakeModule)
    app.add_directive("pyasync-cpp-headers", CppHeaders)
    app.add_directive("pyasync-bench-goals", BenchGoals)
    app.add_directive("pyasync-instruction-counts", InstructionCounts)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}


if __name__ == "__main__":
    import sys

    if sys.argv[1:] != ["--doxygen-input"]:
        sys.exit("usage: pyasync_reference.py --doxygen-input   (the public header folders, for docs/Doxyfile)")
    print(" ".join(PUBLIC_HEADER_DIRS))
