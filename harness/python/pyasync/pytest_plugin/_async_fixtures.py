"""Python async fixtures on pyasync's loop.

``@pyasync.fixture`` declares one (strict mode); in auto mode every ``async def`` fixture is taken
too, unless pytest-asyncio was asked for it (``@pytest_asyncio.fixture``); for a test anyio's
plugin runs, anyio sets such a fixture up. Either way the async function is replaced by a sync
generator that runs its set-up and tear-down on the loop of the test that requested it, so pytest
and other plugins only ever see a sync fixture."""
from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, List, Optional

import pytest

from pyasync.pytest_plugin._phases import drive_fixture
from pyasync.pytest_plugin._settings import LOOP_SCOPES
from pyasync.pytest_plugin._state import PluginState

_DECLARED = "_pyasync_fixture"
_SHIM = "_pyasync_shim"
_ACTIVE: List[PluginState] = []  # the running sessions' states (pytester nests sessions)


def activate(state: PluginState) -> None:
    _ACTIVE.append(state)


def deactivate(state: PluginState) -> None:
    if state in _ACTIVE:
        _ACTIVE.remove(state)


def is_async(function: Any) -> bool:
    return inspect.iscoroutinefunction(function) or inspect.isasyncgenfunction(function)


def _for_an_anyio_test(request: Any) -> bool:
    """Whether ``request`` sets up a fixture for a test anyio's active plugin runs (it gave the
    test its ``anyio_backend`` fixture)."""
    return request.config.pluginmanager.has_plugin("anyio") and "anyio_backend" in request.fixturenames


def _run_as_anyio_would(function: Callable[..., Any], arguments: dict, request: Any) -> Any:
    """A plain async fixture that auto mode took, set up for a test of anyio's plugin: anyio runs it
    on that test's backend (as it would without pyasync), never pyasync's loop."""
    from anyio.pytest_plugin import extract_backend_and_options, get_runner  # anyio is there: it is active
    name, options = extract_backend_and_options(request.getfixturevalue("anyio_backend"))
    with get_runner(name, options) as runner:
        if inspect.isasyncgenfunction(function):
            yield from runner.run_asyncgen_fixture(function, arguments)
        else:
            yield runner.run_fixture(function, arguments)


def _shim(function: Callable[..., Any], loop_scope: Optional[str] = None, *, plain: bool = False) -> Callable[..., Any]:
    wanted = inspect.signature(function).parameters
    kind = "generator" if inspect.isasyncgenfunction(function) else "awaitable"

    @functools.wraps(function)
    def shim(*args: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True
        if not _ACTIVE:
            raise RuntimeError(f"pyasync: async fixture {function.__qualname__} needs the pyasync pytest plugin "
                               "(it is disabled: -p no:pyasync?)")
        request = kwargs["request"]
        arguments = {name: value for name, value in kwargs.items() if name in wanted}
        if plain and _for_an_anyio_test(request):
            yield from _run_as_anyio_would(function, arguments, request)
            return
        yield from drive_fixture(_ACTIVE[-1], request, request._fixturedef, lambda: function(*args, **arguments),
                                 kind, None, loop_scope)

    parameters = list(wanted.values())
    if "request" not in wanted:
        parameters.append(inspect.Parameter("request", inspect.Parameter.KEYWORD_ONLY))
    shim.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    del shim.__wrapped__  # pytest reads the signature above, not the async function's
    setattr(shim, _SHIM, True)
    return shim


def fixture(function: Optional[Callable[..., Any]] = None, *, scope: str = "function",
            loop_scope: Optional[str] = None, params: Any = None, autouse: bool = False, ids: Any = None,
            name: Optional[str] = None) -> Any:
    """Declares an ``async def`` fixture (a coroutine or async generator function) run on pyasync's
    loop, like ``pytest.fixture`` with the same arguments, and those of ``pytest_asyncio.fixture``
    (a sed from one decorator to the other is always valid). Set-up runs up to the ``yield`` and
    tear-down after it, on the loop of the test that uses the fixture, in the test's context for a
    function-scoped fixture. ``loop_scope``: the loop lives at least as long as that scope's node
    (function ... session), so fixtures and tests up to it share it."""

    def declare(function: Callable[..., Any]) -> Any:
        if not is_async(function):
            raise TypeError(f"@pyasync.fixture declares async fixtures; {function.__qualname__} is not an async "
                            "def (use @pytest.fixture for a sync one)")
        if loop_scope is not None and loop_scope not in LOOP_SCOPES:
            raise ValueError(f"@pyasync.fixture(loop_scope={loop_scope!r}) of {function.__qualname__}: expected "
                             f"one of {', '.join(LOOP_SCOPES)}")
        return pytest.fixture(_shim(function, loop_scope), scope=scope, params=params, autouse=autouse, ids=ids,
                              name=name)

    return declare(function) if function is not None else declare


def take_async_fixtures(session: pytest.Session, processed: set, *, plain: bool, asyncio_vocabulary: Any) -> None:
    """Replaces the async fixtures known so far that this plugin runs by their shims, before
    pytest-asyncio's auto mode looks at them (this runs first, from a hook wrapper): every plain
    ``async def`` fixture when ``plain`` (auto mode), and, when pyasync speaks pytest-asyncio's
    vocabulary (``asyncio_vocabulary``: its settings), those decorated with
    ``pytest_asyncio.fixture``. A fixture pytest-asyncio was asked for is otherwise left to it."""
    manager = session._fixturemanager  # type: ignore[attr-defined]
    for definitions in manager._arg2fixturedefs.values():
        for definition in definitions:
            function = definition.func
            if definition in processed or not is_async(function):
                continue
            theirs = getattr(function, "_force_asyncio_fixture", False)  # @pytest_asyncio.fixture
            if theirs and asyncio_vocabulary is None or not (plain or theirs):
                continue
            processed.add(definition)
            loop_scope = None
            if theirs or asyncio_vocabulary is not None and asyncio_vocabulary.mode == "auto":
                # pytest-asyncio's default: the fixture's own scope, unless configured.
                loop_scope = (getattr(function, "_loop_scope", None) or asyncio_vocabulary.default_fixture_loop_scope
                              or definition.scope)
            definition.func = _shim(function, loop_scope, plain=not theirs)
            if "request" not in definition.argnames:
                definition.argnames += ("request",)
