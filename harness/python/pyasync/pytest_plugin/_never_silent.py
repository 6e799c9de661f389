"""Never a silent skip: an ``async def`` test that no plugin ran fails, saying how to have it run.

pytest's own ``pytest_pyfunc_call`` skips such a test with a warning, and a run without
``filterwarnings = error`` ends green with tests that never ran. This wrapper around the call
turns exactly that skip (pytest's, recognised by its reason, on a function still async after
every plugin had its turn: pytest-asyncio replaces the function it runs) into a failure, and
keeps pytest's warning, which recommends installing another plugin, out of the report."""
from __future__ import annotations

import inspect
import sys
import warnings
from typing import Any, Generator

import pytest

from pyasync.pytest_plugin._asyncio_vocabulary import is_active
from pyasync.pytest_plugin._state import OWNED


def _is_async(function: Any) -> bool:
    if isinstance(function, staticmethod):
        function = function.__func__
    return inspect.iscoroutinefunction(function) or inspect.isasyncgenfunction(function)


def _marked_asyncio(item: pytest.Function) -> bool:
    return any(mark.name == "asyncio" for mark in item.iter_markers())


def not_run_message(item: pytest.Function, pytest_asyncio_active: bool) -> str:
    lines = [f"{item.nodeid} is an async def test that no plugin ran, so it fails (pytest would skip it). pyasync "
             "runs it when it is marked @pytest.mark.pyasync, or with pyasync_mode = auto (ini) or "
             "--pyasync-mode=auto."]
    function = getattr(item, "obj", None)
    if inspect.isasyncgenfunction(function):
        lines.append("It is an async generator function: a test must be a coroutine function (async def without "
                     "yield).")
    elif _marked_asyncio(item) and pytest_asyncio_active:
        lines.append("It is marked @pytest.mark.asyncio, but pytest-asyncio (active in this session) did not run it.")
    elif pytest_asyncio_active:
        lines.append("pytest-asyncio is active: @pytest.mark.asyncio or asyncio_mode = auto has it run it instead.")
    else:
        lines.append("pytest-asyncio is not active, so pyasync speaks its vocabulary: @pytest.mark.asyncio or "
                     "asyncio_mode = auto works too, with pytest-asyncio's defaults.")
    return "\n".join(lines)


PYTEST_SKIP_REASON = "no async plugin installed"  # pytest's async_warn_and_skip, 6.x to 8.x


@pytest.hookimpl(hookwrapper=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> Generator[None, Any, None]:
    if pyfuncitem.stash.get(OWNED, False) or not _is_async(getattr(pyfuncitem, "obj", None)):
        yield  # run by pyasync, or not async: pytest's skip cannot happen (and this costs nothing)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pytest.PytestUnhandledCoroutineWarning)
        outcome = yield
    error = outcome.excinfo[1] if outcome.excinfo else None
    if (isinstance(error, pytest.skip.Exception) and PYTEST_SKIP_REASON in str(error)
            and _is_async(getattr(pyfuncitem, "obj", None))):
        pytest.fail(not_run_message(pyfuncitem, is_active(pyfuncitem.config.pluginmanager)), pytrace=False)


def register(config: pytest.Config) -> None:
    if not config.pluginmanager.is_registered(sys.modules[__name__]):
        config.pluginmanager.register(sys.modules[__name__], "pyasync-never-silent")
