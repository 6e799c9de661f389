"""Running an async test, and an async fixture's set-up and tear-down, on the shared loop."""
from __future__ import annotations

import asyncio
import threading
from typing import Any, Callable, Generator, Optional

import pytest

from pyasync.pytest_plugin._loops import SharedLoop, context_of, scope_node
from pyasync.pytest_plugin._state import PluginState
from pyasync.pytest_plugin._trio_runs import TrioRuns, timed as trio_timed


class TestTimeout(Exception):
    """A test ran longer than its pyasync timeout; its task was cancelled."""


class LeakedTasks(Exception):
    """A test left tasks running under pyasync_strict_tasks; they were cancelled."""


class FixtureError(Exception):
    """A C++ fixture failed: the message names it, its C++ file:line and the phase."""


async def _timed(coroutine: Any, timeout: Optional[float], nodeid: str) -> Any:
    """Awaits the test; past ``timeout`` real seconds its task is cancelled and it fails.

    The deadline is kept by a thread, not a loop timer: on a loop whose clock is virtual
    (pyasync_virtual_clock) a loop timer would fire as soon as the test waits for real I/O."""
    __tracebackhide__ = True
    if timeout is None:
        return await coroutine
    loop, task = asyncio.get_running_loop(), asyncio.current_task()
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        loop.call_soon_threadsafe(task.cancel)  # type: ignore[union-attr]

    watchdog = threading.Timer(timeout, expire)
    watchdog.daemon = True
    watchdog.start()
    try:
        return await coroutine
    except asyncio.CancelledError:
        if expired.is_set():
            raise TestTimeout(f"{nodeid} timed out after {timeout:g} s: its task was cancelled and its "
                              "fixtures torn down (pyasync timeout)") from None
        raise
    finally:
        watchdog.cancel()


async def _settle(tasks: list) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def _check_fixture_loops(state: PluginState, item: pytest.Item, shared: SharedLoop) -> None:
    for name in item.fixturenames:  # type: ignore[attr-defined]
        definitions = item._fixtureinfo.name2fixturedefs.get(name)  # type: ignore[attr-defined]
        owner = state.fixture_loops.get(definitions[-1]) if definitions else None
        if owner is not None and owner is not shared:
            raise pytest.UsageError(
                f"pyasync: {item.nodeid} runs on the {shared.describe()}, but its async fixture {name!r} was "
                f"set up on the {owner.describe()}. A test and its async fixtures share one loop: give them the "
                "same loop (the marker's loop= or pyasync_loop)")


def run_test(state: PluginState, item: pytest.Function) -> None:
    """Runs the async test ``item`` on its loop, in its context, with its timeout."""
    __tracebackhide__ = True
    chosen = state.test_settings(item)
    shared = state.loop_for(item).acquire()
    try:
        _check_fixture_loops(state, item, shared)
        arguments = {name: item.funcargs[name] for name in item._fixtureinfo.argnames}  # type: ignore[attr-defined]
        context = context_of(item)
        strict = state.settings.strict_tasks and shared.loop is not None  # trio's nurseries leave no task
        before = set(asyncio.all_tasks(shared.loop)) if strict else set()
        body = item.obj(**arguments)
        if isinstance(shared, TrioRuns) and chosen.timeout is not None:
            shared.run(trio_timed(body, chosen.timeout, item.nodeid, TestTimeout), context)
        else:
            shared.run(_timed(body, chosen.timeout, item.nodeid), context)
        leftover = [task for task in asyncio.all_tasks(shared.loop) if task not in before] if strict else []
        if leftover:
            shared.run(_settle(leftover), context)
            names = ", ".join(repr(task) for task in leftover)
            raise LeakedTasks(f"{item.nodeid} left {len(leftover)} task(s) running; they were cancelled "
                              f"(pyasync_strict_tasks): {names}")
    finally:
        shared.release()


async def _next(iterator: Any) -> Any:
    __tracebackhide__ = True
    try:
        return True, await iterator.__anext__()
    except StopAsyncIteration:
        return False, None


async def _await(awaitable: Any) -> Any:
    __tracebackhide__ = True
    return await awaitable


def _describe(error: BaseException) -> str:
    notes = getattr(error, "__notes__", None) or []
    return f"{type(error).__name__}: {error}" + "".join(f"\n    {note}" for note in notes)


def drive_fixture(state: PluginState, request: pytest.FixtureRequest, fixturedef: Any, start: Callable[[], Any],
                  kind: str, label: Optional[str]) -> Generator[Any, None, None]:
    """The set-up and tear-down of an async fixture as a sync generator pytest can drive.

    ``start()`` returns an async iterator (``kind == "generator"``: set-up to the first item,
    tear-down to the end) or an awaitable (set-up only). With a ``label`` (C++ fixtures), an error
    becomes a FixtureError naming the fixture and the phase, chained to the original."""
    __tracebackhide__ = True
    item = state.item_for(f"fixture {request.fixturename!r}")
    shared = state.loop_for(item).acquire()
    state.fixture_loops[fixturedef] = shared
    context = context_of(scope_node(item, request.scope))
    # Under trio a generator fixture runs in a task of its own: it may hold a nursery across its yield.
    in_task = kind == "generator" and isinstance(shared, TrioRuns)
    fixture_task = None
    try:
        try:
            started = start()
            if in_task:
                fixture_task, produced, value = shared.start_fixture(started, context, request.fixturename)
            elif kind == "generator":
                produced, value = shared.run(_next(started), context)
            else:
                produced, value = True, shared.run(_await(started), context)
            if not produced:
                raise FixtureError(f"{label or request.fixturename} ended without yielding a value; a fixture "
                                   "yields exactly once")
        except (FixtureError, pytest.UsageError):
            raise
        except Exception as error:
            if label is None:
                raise
            raise FixtureError(f"{label} failed in set-up: {_describe(error)}") from error
        yield value
        if kind != "generator":
            return
        try:
            produced = shared.finish_fixture(fixture_task) if in_task else shared.run(_next(started), context)[0]
        except Exception as error:
            if label is None:
                raise
            raise FixtureError(f"{label} failed in tear-down: {_describe(error)}") from error
        if produced:
            raise FixtureError(f"{label or request.fixturename} yielded a second time; a fixture yields exactly "
                               "once (set-up before the yield, tear-down after)")
    finally:
        state.fixture_loops.pop(fixturedef, None)
        shared.release()

