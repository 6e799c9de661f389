"""pyasync's pytest plugin (entry point ``pyasync``; ``-p no:pyasync`` disables it).

- Async tests marked ``@pytest.mark.pyasync`` (every ``async def`` test in auto mode) and async
  fixtures (``@pyasync.fixture``; every ``async def`` fixture in auto mode) run on one shared,
  lease-counted loop: a test and all its async fixtures always share a loop, whatever their scopes.
- C++ coroutine fixtures (``PYASYNC_FIXTURE``) of the modules in ``pyasync_fixture_modules`` are
  pytest fixtures with their scopes and requests.
- Per-test timeouts, failing on leaked tasks, and on errors the loop's exception handler receives.
- Coexists with pytest-asyncio: a test belongs to one plugin; one marked for both is an error.
- C++ harness cases (``PYASYNC_TEST``) of the binaries ``pyasync_binaries`` or
  ``pyasync_build_dir`` name are pytest items, run by one serving child per binary.

See ``_settings.py`` for the options and the marker."""
from __future__ import annotations

import inspect
import sys
import warnings
from pathlib import Path
from typing import Any, Generator, List, Optional

import pytest

from pyasync.pytest_plugin import _async_fixtures, _asyncio_vocabulary, _cpp_cases, _cpp_collection, _cpp_fixtures, \
    _deadline, _exploration, _never_silent, _settings
from pyasync.pytest_plugin._loops import LoopError, LoopErrorWarning
from pyasync.pytest_plugin._phases import ConciseError, FixtureError, LeakedTasks, TestTimeout, run_test
from pyasync.pytest_plugin._state import OWNED, STATE, PluginState

__all__ = ["FixtureError", "LeakedTasks", "LoopError", "LoopErrorWarning", "TestTimeout"]

_FIXTURES_TAKEN = pytest.StashKey[bool]()


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    _settings.add_options(parser)
    _asyncio_vocabulary.add_options(parser, pluginmanager)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "pyasync(loop=None, loop_scope=None, timeout=None, loop_errors=None, schedule=None, "
        "schedule_seed=None, schedule_runs=None): run this async test on pyasync's loop (loop: asyncio, uvloop, trio "
        "or module:callable; loop_scope: function ... session; timeout: seconds; loop_errors: fail, warn or log; "
        "schedule: random or pct, with schedule_seed and schedule_runs: explore it under seeded schedules)")
    vocabulary = None
    if not _asyncio_vocabulary.is_active(config.pluginmanager):
        # pytest-asyncio is not active: its tests, fixtures and ini keys are pyasync's to run.
        config.addinivalue_line("markers", "asyncio(loop_scope=None): run this async test on pyasync's loop with "
                                "pytest-asyncio's defaults (pyasync speaks its vocabulary: it is not active)")
        vocabulary = _asyncio_vocabulary.read_settings(config)
        _asyncio_vocabulary.register_fixtures(config)
    if not config.pluginmanager.has_plugin("anyio"):
        # A suite moving off anyio's plugin (-p no:anyio) keeps its marks: in pyasync's auto mode
        # they are pyasync's tests like any other (the loop: pyasync_loop, not anyio_backend).
        config.addinivalue_line("markers", "anyio: anyio's plugin is not active: in pyasync_mode = auto pyasync runs "
                                "this async test on its loop (pyasync_loop = trio for anyio's trio backend)")
    state = PluginState(_settings.read_settings(config), vocabulary)
    _never_silent.register(config)
    config.stash[STATE] = state
    # A plugin object of its own: this module's pytest_runtest_protocol is the wrapper above.
    config.pluginmanager.register(_exploration.ProtocolPlugin(), "pyasync-exploration")
    _async_fixtures.activate(state)
    _cpp_fixtures.register(config, state)
    _cpp_collection.configure(config, state)
    _deadline.release_output = lambda: _release_capture(config)


def _release_capture(config: pytest.Config) -> None:
    """Gives stdout and stderr back to the terminal (pytest's capture holds them during a test):
    a dump written just before the process ends must not go into a capture file."""
    capture = config.pluginmanager.getplugin("capturemanager")
    if capture is not None:
        capture.suspend_global_capture(in_=False)


def pytest_unconfigure(config: pytest.Config) -> None:
    _deadline.release_output = None
    state = config.stash.get(STATE, None)
    if state is not None:
        _async_fixtures.deactivate(state)


def pytest_report_header(config: pytest.Config) -> List[str]:
    settings = config.stash[STATE].settings
    modules = ", ".join(f"{name} ({count} fixtures)" for name, count in config.stash[STATE].fixture_modules.items())
    timeout = f"{settings.timeout:g} s" if settings.timeout is not None else "none"
    lines = [f"pyasync: mode={settings.mode}, loop={settings.loop.name}, loop_scope={settings.loop_scope}, "
             f"timeout={timeout}, strict_tasks={'on' if settings.strict_tasks else 'off'}, "
             f"loop_errors={settings.loop_errors or 'fail'}, C++ fixtures: {modules or 'none'}"]
    if settings.exploration is not None:
        lines.append(f"pyasync: exploring schedules: {settings.exploration.strategy}, {settings.exploration.runs} "
                     f"run(s) per async test and C++ item from seed {settings.exploration.seed}")
    vocabulary = config.stash[STATE].asyncio_vocabulary
    if vocabulary is not None:
        lines.append(f"pyasync: speaks pytest-asyncio's vocabulary (it is not active): asyncio_mode={vocabulary.mode}, "
                     f"test loop_scope={vocabulary.default_test_loop_scope}, fixture loop_scope="
                     f"{vocabulary.default_fixture_loop_scope or 'its scope'}, loop_errors="
                     f"{settings.loop_errors or 'log'}, debug={'on' if vocabulary.debug else 'off'}")
    return lines


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> Optional[pytest.Collector]:
    return _cpp_collection.collect_file(file_path, parent, parent.config.stash[STATE])


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Generator[None, Any, None]:
    outcome = yield
    if isinstance(collector, pytest.Session):
        report = outcome.get_result()
        if report.passed:
            report.result.extend(_cpp_collection.binaries_outside_the_walk(collector, collector.config.stash[STATE]))


@pytest.hookimpl(hookwrapper=True)
def pytest_pycollect_makeitem(collector: Any, name: str, obj: Any) -> Generator[None, Any, None]:
    state = collector.config.stash[STATE]
    vocabulary = state.asyncio_vocabulary
    plain = state.settings.mode == "auto" or vocabulary is not None and vocabulary.mode == "auto"
    # Once per module or class: its fixtures are parsed before its first item is made.
    if (plain or vocabulary is not None) and not collector.stash.get(_FIXTURES_TAKEN, False):
        collector.stash[_FIXTURES_TAKEN] = True
        _async_fixtures.take_async_fixtures(collector.session, state.processed_fixtures, plain=plain,
                                            asyncio_vocabulary=vocabulary)
    yield


def _user_marks(item: pytest.Function) -> List[str]:
    """The names of the marks the user put on ``item``, its class or its module (not those
    pytest-asyncio's auto mode puts on the item itself)."""
    marks = list(getattr(item.obj, "pytestmark", []))
    for node in item.listchain()[:-1]:
        marks += node.own_markers
    return [mark.name for mark in marks]


def _user_marked_asyncio(item: pytest.Function) -> bool:
    return "asyncio" in _user_marks(item)


def _other_plugins_mark(item: pytest.Function) -> Optional[str]:
    """The mark of another async plugin the user put on ``item``: pytest-asyncio's (active or
    not: inactive, pyasync speaks its vocabulary) or anyio's while anyio's plugin is active."""
    names = _user_marks(item)
    if "asyncio" in names:
        return "asyncio"
    if "anyio" in names and item.config.pluginmanager.has_plugin("anyio"):
        return "anyio"
    return None


def _is_async_test(item: pytest.Item) -> bool:
    function = getattr(item, "obj", None)
    if isinstance(function, staticmethod):
        function = function.__func__
    return inspect.iscoroutinefunction(function)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: List[pytest.Item]) -> None:
    """Claims this plugin's tests, after every other plugin has marked them."""
    state = config.stash[STATE]
    vocabulary = state.asyncio_vocabulary  # None while pytest-asyncio is active
    for item in items:
        if not isinstance(item, pytest.Function):
            continue
        marked = item.get_closest_marker("pyasync") is not None
        other = _other_plugins_mark(item)
        theirs = other is not None
        if marked and theirs:
            raise pytest.UsageError(
                f"pyasync: {item.nodeid} is marked both @pytest.mark.pyasync and @pytest.mark.{other}; "
                "a test runs on one plugin's loop: keep one of the two markers")
        is_async = _is_async_test(item)
        # pytest-asyncio's vocabulary, when it is not active: its marked tests, and in its auto
        # mode every unmarked async test (pyasync's own auto mode comes second).
        in_vocabulary = vocabulary is not None and is_async and not marked and \
            (other == "asyncio" or (other is None and vocabulary.mode == "auto"))
        if in_vocabulary:
            state.take_in_asyncio_vocabulary(item)
        elif marked:
            state.test_settings(item)  # validates the marker now, as a usage error
        owned = is_async and (marked or in_vocabulary or (state.settings.mode == "auto" and not theirs))
        if owned:
            item.stash[OWNED] = True
            # pytest-asyncio's auto mode marked it too: it is ours.
            item.own_markers[:] = [mark for mark in item.own_markers if mark.name != "asyncio"]


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: Optional[pytest.Item]) -> Generator[None, Any, None]:
    state = item.config.stash[STATE]
    previous, state.current_item = state.current_item, item
    try:
        yield
    finally:
        state.current_item = previous


@pytest.hookimpl(hookwrapper=True)
def pytest_fixture_setup(fixturedef: Any, request: pytest.FixtureRequest) -> Generator[None, Any, None]:
    """Keeps the request of each fixture being set up, for the C++ fixtures' shims (which do not
    take ``request`` themselves: see ``_cpp_fixtures``)."""
    setting_up = request.config.stash[STATE].setting_up
    setting_up.append(request)
    try:
        yield
    finally:
        setting_up.pop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Generator[None, Any, None]:
    """A C++ fixture's error is reported as its message (the fixture, its C++ file:line, the phase,
    the C++ error with its origin) without the plugin's frames: they say nothing about the C++. A
    fixture missing from a C++ fixture's requests is reported at the C++ fixture's file:line."""
    outcome = yield
    report = outcome.get_result()
    error = call.excinfo.value if call.excinfo is not None else None
    if isinstance(error, FixtureError) and report.failed and not item.config.getoption("fulltrace", False):
        report.longrepr = ConciseError(f"{type(error).__name__}: {error}", getattr(report.longrepr, "reprcrash", None))
    elif isinstance(error, pytest.FixtureLookupError) and report.failed:
        located = _cpp_fixtures.locate_lookup_error(error, report)
        if located is not None:
            report.longrepr = located


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: Optional[pytest.Item]) -> None:
    if isinstance(item, _cpp_cases.CppCase):
        item.leave(nextitem)


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> Optional[bool]:
    if not pyfuncitem.stash.get(OWNED, False):
        if pyfuncitem.config.stash[STATE].asyncio_vocabulary is not None and _user_marked_asyncio(pyfuncitem) \
                and not _is_async_test(pyfuncitem):
            # As pytest-asyncio warns (a module's pytestmark reaching a sync test, often).
            warnings.warn(pytest.PytestWarning(
                f"{pyfuncitem.nodeid} is marked @pytest.mark.asyncio but is not an async def test: remove the "
                "mark (a module's or class's pytestmark reaches every test in it)"))
        return None
    __tracebackhide__ = True
    run_test(pyfuncitem.config.stash[STATE], pyfuncitem)
    return True


def pytest_sessionfinish(session: pytest.Session) -> None:
    state = session.config.stash.get(STATE, None)
    if state is None:
        return
    # A session cut short (-x, Ctrl-C) may leave loops and harness children open; what closing
    # them reports is shown, and a child that fails to close fails the session.
    terminal = session.config.pluginmanager.get_plugin("terminalreporter")
    harness_errors = state.harness.close_all() + state.harness.late_failures
    if harness_errors and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    for text in state.pool.close_all() + harness_errors:
        if terminal is not None:
            terminal.write_line(f"pyasync: {text}", red=True)
        else:
            print(f"pyasync: {text}", file=sys.stderr)
