"""Python async fixtures on pyasync's loop.

``@pyasync.fixture`` declares one (strict mode); in auto mode every ``async def`` fixture is taken
too, unless pytest-asyncio was asked for it (``@pytest_asyncio.fixture``). Either way the async
function is replaced by a sync generator that runs its set-up and tear-down on the loop of the
test that requested it, so pytest and other plugins only ever see a sync fixture."""
from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, List, Optional

import pytest

from pyasync.pytest_plugin._phases import drive_fixture
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


def _shim(function: Callable[..., Any]) -> Callable[..., Any]:
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
        yield from drive_fixture(_ACTIVE[-1], request, request._fixturedef, lambda: function(*args, **arguments),
                                 kind, None)

    parameters = list(wanted.values())
    if "request" not in wanted:
        parameters.append(inspect.Parameter("request", inspect.Parameter.KEYWORD_ONLY))
    shim.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    del shim.__wrapped__  # pytest reads the signature above, not the async function's
    setattr(shim, _SHIM, True)
    return shim


def fixture(function: Optional[Callable[..., Any]] = None, *, scope: str = "function", params: Any = None,
            autouse: bool = False, ids: Any = None, name: Optional[str] = None) -> Any:
    """Declares an ``async def`` fixture (a coroutine or async generator function) run on pyasync's
    loop, like ``pytest.fixture`` with the same arguments. Set-up runs up to the ``yield`` and
    tear-down after it, on the loop of the test that uses the fixture, in the test's context for a
    function-scoped fixture."""

    def declare(function: Callable[..., Any]) -> Any:
        if not is_async(function):
            raise TypeError(f"@pyasync.fixture declares async fixtures; {function.__qualname__} is not an async "
                            "def (use @pytest.fixture for a sync one)")
        return pytest.fixture(_shim(function), scope=scope, params=params, autouse=autouse, ids=ids, name=name)

    return declare(function) if function is not None else declare


def take_auto_fixtures(session: pytest.Session, processed: set) -> None:
    """Auto mode: replaces every plain ``async def`` fixture known so far by its shim, before
    pytest-asyncio's auto mode looks at it (this runs first, from a hook wrapper)."""
    manager = session._fixturemanager  # type: ignore[attr-defined]
    for definitions in manager._arg2fixturedefs.values():
        for definition in definitions:
            function = definition.func
            if definition in processed or not is_async(function):
                continue
            processed.add(definition)
            if getattr(function, "_force_asyncio_fixture", False):  # @pytest_asyncio.fixture: pytest-asyncio's
                continue
            definition.func = _shim(function)
            if "request" not in definition.argnames:
                definition.argnames += ("request",)
