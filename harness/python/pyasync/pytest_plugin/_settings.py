"""The plugin's configuration: command-line options with ini twins, validated once at start-up,
and the ``pyasync`` marker's per-test overrides."""
from __future__ import annotations

import dataclasses
import importlib
from typing import Callable, Optional, Tuple

import asyncio
import pytest

from pyasync.pytest_plugin._exploration import DEFAULT_RUNS, Exploration, harness_arguments, resolve

MODES = ("strict", "auto")
LOOP_SCOPES = ("function", "class", "module", "package", "session")
# What an error reaching the loop's exception handler does to the test or fixture that was
# running: fails it (pyasync's default), warns (LoopErrorWarning), or is logged by asyncio's own
# handler, as it would be without a plugin (the default in pytest-asyncio's vocabulary).
LOOP_ERRORS = ("fail", "warn", "log")
DEFAULT_FIXTURE_MODULES = ("pyasync_fixtures",)
DEFAULT_TIMEOUT_GRACE = 2.0
# The longest limit accepted: waits on threads and children take it in milliseconds as a C int
# somewhere below (3e6 s overflowed in the serving child's wait).
LONGEST_TIMEOUT = 1_000_000.0

LoopFactory = Callable[[], asyncio.AbstractEventLoop]


@dataclasses.dataclass(frozen=True)
class LoopChoice:
    """A loop as configured: its spelling (``asyncio``, ``uvloop``, ``module:callable``) and factory."""

    name: str
    factory: LoopFactory


@dataclasses.dataclass(frozen=True)
class Settings:
    mode: str
    loop: LoopChoice
    loop_scope: str
    timeout: Optional[float]
    timeout_grace: float
    loop_errors: Optional[str]  # None: the vocabulary's default (fail; log for pytest-asyncio's)
    strict_tasks: bool
    fixture_modules: Tuple[str, ...]
    cpp: "CppSettings"
    exploration: Optional["Exploration"] = None


@dataclasses.dataclass(frozen=True)
class CppSettings:
    """Where the C++ harness binaries are and how they run."""

    binaries: Tuple[str, ...]  # globs relative to the rootdir
    build_dirs: Tuple[str, ...]  # build trees whose registered binaries are collected
    harness_args: Tuple[str, ...]  # given to every binary, listing and serving
    include_ignored: bool


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("pyasync", "pyasync: C++ coroutine fixtures and async tests on one loop")

    def option(name: str, help_text: str, ini_type: Optional[str] = None, default=None) -> None:
        group.addoption(f"--{name.replace('_', '-')}", dest=name, default=None, help=help_text)
        parser.addini(name, help_text, type=ini_type, default=default)

    option("pyasync_mode", "strict (default): only tests marked @pytest.mark.pyasync and fixtures declared with "
           "@pyasync.fixture; auto: every async def test and fixture", default="strict")
    option("pyasync_loop", "the loop tests and async fixtures run on: asyncio (default), uvloop, trio (one "
           "trio run per loop scope) or module:callable (a loop factory)", default="asyncio")
    option("pyasync_loop_scope", "the narrowest lifetime of a loop: function, class, module, package or session "
           "(default); a loop also lives as long as any async fixture set up on it", default="session")
    option("pyasync_timeout", "seconds a test may run before its task is cancelled and it fails (default: no limit)",
           default="")
    option("pyasync_timeout_grace", "after a timeout, seconds a phase whose cancellation did not end it has "
           "before it is abandoned; a loop still blocked after twice this ends pytest with every thread's "
           f"stack dumped (default {DEFAULT_TIMEOUT_GRACE:g})", default=str(DEFAULT_TIMEOUT_GRACE))
    option("pyasync_loop_errors", "what an error reaching the loop's exception handler does to the running test "
           "or fixture: fail (default), warn (LoopErrorWarning) or log (asyncio's own handler logs it; the default "
           "for tests in pytest-asyncio's vocabulary)", default="")
    option("pyasync_strict_tasks", "true: a test that leaves tasks running fails (they are cancelled); "
           "default false", default="false")
    option("pyasync_fixture_modules", "extension modules whose C++ fixtures become pytest fixtures, in addition "
           f"to the ready-made {', '.join(DEFAULT_FIXTURE_MODULES)} (comma or space separated; no:<module> leaves "
           "one out, e.g. no:pyasync_fixtures)", default="")
    parser.addini("pyasync_binaries", "globs, relative to the rootdir, naming C++ harness binaries whose cases "
                  "pytest collects (one per line), e.g. build/*/tests/*_tests", type="linelist", default=[])
    parser.addini("pyasync_build_dir", "CMake build trees (relative to the rootdir) whose harness binaries, "
                  "registered by pyasync_add_test_executable, pytest collects", type="linelist", default=[])
    parser.addini("pyasync_harness_args", "arguments given to every harness binary (e.g. --loop-factory uvloop)",
                  type="args", default=[])
    option("pyasync_schedule", "explore async tests (and C++ items) under seeded schedules of the runtime's work: "
           "random (a fresh choice each time) or pct (priorities with change points); default off, random when "
           "a seed or a run count is given", default="")
    option("pyasync_schedule_seed", "the first run's seed (default: random, reported with a failing run); given "
           "alone, replays that one run", default="")
    option("pyasync_schedule_runs", f"runs of each explored test, stopping at the first that fails (default "
           f"{DEFAULT_RUNS}; 1 with a seed alone)", default="")
    group.addoption("--pyasync-include-ignored", action="store_true", default=False, dest="pyasync_include_ignored",
                    help="run the C++ cases their harness marks ignored (ignore(\"why\"), DISABLED_), as the "
                    "harness's --include-ignored does")


def _raw(config: pytest.Config, name: str) -> str:
    value = config.getoption(name)
    return str(value if value is not None else config.getini(name)).strip()


def _spelling(name: str) -> str:
    return f"--{name.replace('_', '-')}/{name}"


def choose(name: str, value: str, valid: Tuple[str, ...], where: str) -> str:
    if value not in valid:
        raise pytest.UsageError(f"pyasync: {where} must be one of {', '.join(valid)}; got {value!r}")
    return value


def _not_a_loop() -> asyncio.AbstractEventLoop:
    raise RuntimeError("pyasync: trio has no asyncio loop; its tests run under trio.run")


def resolve_loop(spec: str, where: str) -> LoopChoice:
    """The loop ``spec`` names, or a UsageError saying what is accepted."""
    import pyasync

    if not isinstance(spec, str) or not spec:
        raise pytest.UsageError(f"pyasync: {where} must be asyncio, uvloop, trio or module:callable; got {spec!r}")
    if spec == "trio":
        try:
            importlib.import_module("trio")
        except ImportError as error:
            raise pytest.UsageError(f"pyasync: {where} = 'trio' needs the trio package (Debian: python3-trio): "
                                    f"{error}") from None
        return LoopChoice(spec, _not_a_loop)
    try:
        factory = pyasync.loop_factory(spec)
    except (ValueError, ImportError, AttributeError, TypeError) as error:
        raise pytest.UsageError(f"pyasync: {where} = {spec!r} is not a usable loop: {error}") from None
    return LoopChoice(spec, factory if factory is not None else asyncio.new_event_loop)


def parse_timeout(value: object, where: str) -> Optional[float]:
    if value in ("", None):
        return None
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        seconds = -1.0
    if not 0 < seconds <= LONGEST_TIMEOUT:
        raise pytest.UsageError(f"pyasync: {where} must be a positive number of seconds, at most "
                                f"{LONGEST_TIMEOUT:.0f} (11.5 days); got {value!r}")
    return seconds


def parse_bool(value: str, where: str) -> bool:
    lowered = value.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise pytest.UsageError(f"pyasync: {where} must be true or false; got {value!r}")


def fixture_modules(value: str) -> Tuple[str, ...]:
    """The defaults plus the modules ``value`` names, less those it names ``no:<module>``: adding a
    module never drops the ready-made fixtures unasked (the report header lists what loaded)."""
    words = [part for part in value.replace(",", " ").split() if part]
    left_out = {word[3:] for word in words if word.startswith("no:")}
    chosen = [name for name in (*DEFAULT_FIXTURE_MODULES, *words) if not name.startswith("no:")]
    return tuple(name for k, name in enumerate(chosen) if name not in left_out and name not in chosen[:k])


def read_settings(config: pytest.Config) -> Settings:
    modules = fixture_modules(_raw(config, "pyasync_fixture_modules"))
    exploration = resolve(_raw(config, "pyasync_schedule"), _raw(config, "pyasync_schedule_seed"),
                          _raw(config, "pyasync_schedule_runs"), "--pyasync-schedule*/pyasync_schedule*")
    loop = resolve_loop(_raw(config, "pyasync_loop"), _spelling("pyasync_loop"))
    if exploration is not None and loop.name == "trio":
        raise pytest.UsageError("pyasync: schedule exploration steps the runtime's work through an asyncio loop, but "
                                "pyasync_loop is trio: explore under asyncio or uvloop")
    return Settings(
        mode=choose("pyasync_mode", _raw(config, "pyasync_mode"), MODES, _spelling("pyasync_mode")),
        loop=loop,
        loop_scope=choose("pyasync_loop_scope", _raw(config, "pyasync_loop_scope"), LOOP_SCOPES,
                          _spelling("pyasync_loop_scope")),
        timeout=parse_timeout(_raw(config, "pyasync_timeout"), _spelling("pyasync_timeout")),
        timeout_grace=parse_timeout(_raw(config, "pyasync_timeout_grace"), _spelling("pyasync_timeout_grace"))
        or DEFAULT_TIMEOUT_GRACE,
        loop_errors=choose("pyasync_loop_errors", _raw(config, "pyasync_loop_errors"), LOOP_ERRORS,
                           _spelling("pyasync_loop_errors")) if _raw(config, "pyasync_loop_errors") else None,
        strict_tasks=parse_bool(_raw(config, "pyasync_strict_tasks"), _spelling("pyasync_strict_tasks")),
        fixture_modules=modules,
        exploration=exploration,
        cpp=CppSettings(
            binaries=tuple(config.getini("pyasync_binaries")),
            build_dirs=tuple(config.getini("pyasync_build_dir")),
            harness_args=tuple(config.getini("pyasync_harness_args")) + harness_arguments(exploration),
            include_ignored=bool(config.getoption("pyasync_include_ignored")),
        ),
    )


@dataclasses.dataclass(frozen=True)
class TestSettings:
    """What one test runs with: the session's settings overridden by its marker."""

    loop: LoopChoice
    loop_scope: str
    timeout: Optional[float]
    loop_errors: str = "fail"
    debug: Optional[bool] = None  # None: the loop's own setting


MARKER_ARGUMENTS = ("loop", "loop_scope", "timeout", "loop_errors", "schedule", "schedule_seed", "schedule_runs")


def for_item(settings: Settings, item: pytest.Item) -> TestSettings:
    loop, loop_scope, timeout = settings.loop, settings.loop_scope, settings.timeout
    loop_errors = settings.loop_errors or "fail"
    marker = item.get_closest_marker("pyasync")
    if marker is not None:
        where = f"@pytest.mark.pyasync of {item.nodeid}"
        expected = ", ".join(f"{name}=" for name in MARKER_ARGUMENTS)
        if marker.args:
            raise pytest.UsageError(f"pyasync: {where} takes keyword arguments only ({expected}); got positional "
                                    f"{marker.args!r}")
        unknown = sorted(set(marker.kwargs) - set(MARKER_ARGUMENTS))
        if unknown:
            raise pytest.UsageError(f"pyasync: {where} has unknown argument(s) {', '.join(unknown)}; "
                                    f"expected {expected}")
        if "loop" in marker.kwargs:
            loop = resolve_loop(marker.kwargs["loop"], f"loop= of {where}")
        if "loop_scope" in marker.kwargs:
            loop_scope = choose("loop_scope", marker.kwargs["loop_scope"], LOOP_SCOPES, f"loop_scope= of {where}")
        if "timeout" in marker.kwargs:
            timeout = parse_timeout(marker.kwargs["timeout"], f"timeout= of {where}")
        if "loop_errors" in marker.kwargs:
            loop_errors = choose("loop_errors", marker.kwargs["loop_errors"], LOOP_ERRORS, f"loop_errors= of {where}")
    return TestSettings(loop, loop_scope, timeout, loop_errors)
