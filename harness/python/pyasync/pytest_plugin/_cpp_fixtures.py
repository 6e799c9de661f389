"""C++ fixtures as pytest fixtures.

An extension module publishes its PYASYNC_FIXTUREs with ``pyasync::export_fixtures(m)`` as
``__pyasync_fixtures__``: name, scope, requested fixtures, doc, C++ file:line, kind and factory.
Each becomes a generated sync generator function (so pytest sees its real requests: ``--setup-plan``,
``--fixtures`` and ScopeMismatch work as for Python fixtures, and pytest-asyncio leaves it alone)
wrapped in ``pytest.fixture`` and registered as a plugin object."""
from __future__ import annotations

import importlib
import inspect
import os
from typing import Any, Dict, List, Mapping, Optional

import pytest

from _pytest.fixtures import FixtureLookupErrorRepr  # not public; pytest 7 and 8 both have it

from pyasync.pytest_plugin._phases import drive_fixture
from pyasync.pytest_plugin._state import PluginState

class _Holder:
    """The plugin object carrying one module's fixtures (pytest scans it for fixture functions)."""


_FIELDS = ("name", "scope", "requests", "doc", "file", "line", "kind", "factory")


def _label(entry: Mapping[str, Any]) -> str:
    return f"C++ fixture {entry['name']!r} ({os.path.basename(entry['file'])}:{entry['line']})"


def _at_the_cpp_source(entry: Mapping[str, Any]) -> Any:
    """A function whose code says it starts at the fixture's C++ file:line. pytest's fixture listings
    locate a fixture through ``__wrapped__`` (without reading its source): set on a shim for them,
    they show the C++ definition instead of this module."""
    def cpp_fixture() -> None:
        """Never called."""
    cpp_fixture.__code__ = cpp_fixture.__code__.replace(
        co_filename=str(entry["file"]), co_firstlineno=max(int(entry["line"]) - 1, 0), co_name=str(entry["name"]))
    return cpp_fixture


def _make_shim(state: PluginState, entry: Mapping[str, Any], module_name: str, listing: bool) -> Any:
    requests = tuple(entry["requests"])
    factory, kind, label = entry["factory"], entry["kind"], _label(entry)

    def start(values: Dict[str, Any]) -> Any:
        __tracebackhide__ = True
        try:
            return factory(*(values[name] for name in requests))
        except TypeError as error:
            given = ", ".join(f"{name}={type(values[name]).__name__}" for name in requests)
            raise TypeError(f"{label}: the requested fixture values ({given}) do not convert to its C++ "
                            f"parameters: {error}") from None

    # The shim takes `request` only when the C++ fixture requests it: pytest resolves `request`
    # by failing a fixture lookup first, a cost on every set-up. The plugin finds the fixture's
    # own request through its pytest_fixture_setup hook instead (PluginState.setting_up).
    if kind == "value":
        def shim(**values):  # type: ignore[no-untyped-def]
            __tracebackhide__ = True
            return start({**values, "request": state.setting_up[-1]})
    else:
        def shim(**values):  # type: ignore[no-untyped-def]
            __tracebackhide__ = True
            request = values["request"] = state.setting_up[-1]
            yield from drive_fixture(state, request, request._fixturedef, lambda: start(values), kind, label)

    parameters = [inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD) for name in requests]
    shim.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    shim.__name__ = shim.__qualname__ = entry["name"]
    shim.__module__ = module_name
    doc = entry["doc"] or "(no fixture_doc)"
    shim.__doc__ = f"{doc}\n\n{label} from {module_name}; {entry['file']}:{entry['line']}"
    shim.__pyasync_cpp_fixture__ = entry  # type: ignore[attr-defined]
    if listing:
        # Only for the listings: a failure report reads the source of ``__wrapped__``, which C++ is not.
        shim.__wrapped__ = _at_the_cpp_source(entry)  # type: ignore[attr-defined]
    return pytest.fixture(shim, scope=entry["scope"], name=entry["name"])


def register(config: pytest.Config, state: PluginState) -> None:
    """Imports each module of pyasync_fixture_modules and registers its C++ fixtures."""
    listing = bool(config.option.showfixtures or config.option.show_fixtures_per_test)
    for module_name in state.settings.fixture_modules:
        try:
            module = importlib.import_module(module_name)
        except ImportError as error:
            raise pytest.UsageError(
                f"pyasync: pyasync_fixture_modules names {module_name!r}, which does not import ({error}). "
                "Put its directory on PYTHONPATH, or remove it from pyasync_fixture_modules") from None
        entries = getattr(module, "__pyasync_fixtures__", None)
        if not isinstance(entries, list):
            raise pytest.UsageError(
                f"pyasync: module {module_name!r} ({getattr(module, '__file__', '?')}) exports no C++ fixtures: "
                "call pyasync::export_fixtures(m) in its PYASYNC_MODULE")
        holder = _Holder()
        for entry in entries:
            missing = [field for field in _FIELDS if field not in entry]
            if missing:
                raise pytest.UsageError(f"pyasync: a fixture of {module_name!r} lacks {', '.join(missing)}: the "
                                        "module was built against another pyasync; rebuild it")
            requests = list(entry["requests"])
            repeated = sorted({name for name in requests if requests.count(name) > 1})
            if repeated or entry["name"] in requests:
                raise pytest.UsageError(
                    f"pyasync: {_label(entry)} of {module_name!r} requests {', '.join(repeated or [entry['name']])} "
                    f"{'more than once' if repeated else '(itself)'}: name each requested fixture once, "
                    "one per parameter")
            setattr(holder, entry["name"], _make_shim(state, entry, module_name, listing))
        config.pluginmanager.register(holder, f"pyasync-fixtures-{module_name}")
        state.fixture_modules[module_name] = len(entries)


def _cpp_source_line(entry: Mapping[str, Any]) -> str:
    try:
        with open(entry["file"], encoding="utf-8", errors="replace") as source:
            for number, text in enumerate(source, start=1):
                if number == entry["line"]:
                    return text.rstrip()
    except OSError:
        pass
    return f"PYASYNC_FIXTURE({entry['name']}, ...)  (source not available)"


def locate_lookup_error(error: pytest.FixtureLookupError, report: Any) -> Optional[FixtureLookupErrorRepr]:
    """pytest's "fixture 'x' not found" (or recursion) report, with each C++ fixture of the request
    chain shown at its C++ file:line and PYASYNC_FIXTURE line rather than at this module's shim;
    None when no C++ fixture takes part or the report is not pytest's usual form."""
    shown = report.longrepr
    if not isinstance(shown, FixtureLookupErrorRepr):
        return None
    stack = [error.request._pyfuncitem.obj] + [definition.func for definition in error.fixturestack]
    if error.msg is not None:
        stack = stack[:-1]  # as pytest: the last fixture raised, shown at its requester
    entries = [getattr(function, "__pyasync_cpp_fixture__", None) for function in stack]
    if not any(entries):
        return None
    # pytest writes, per function of the chain, "file F, line N" and then its source lines indented.
    blocks: List[List[str]] = []
    for line in shown.tblines:
        if line.startswith("  ") and blocks:
            blocks[-1].append(line)
        else:
            blocks.append([line])
    if len(blocks) != len(stack):
        return None
    lines: List[str] = []
    for block, entry in zip(blocks, entries):
        if entry is None:
            lines += block
        else:
            lines += [f"file {entry['file']}, line {entry['line']} (C++ fixture {entry['name']!r})",
                      f"  {_cpp_source_line(entry)}"]
    filename, firstlineno = shown.filename, shown.firstlineno
    if entries[-1] is not None:
        filename, firstlineno = entries[-1]["file"], int(entries[-1]["line"]) - 1
    return FixtureLookupErrorRepr(filename, firstlineno, lines, shown.errorstring, shown.argname)
