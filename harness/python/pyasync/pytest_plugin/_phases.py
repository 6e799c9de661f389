"""Running an async test, and an async fixture's set-up and tear-down, on the shared loop."""
from __future__ import annotations

import asyncio
import os
from typing import Any, Callable, Generator, Optional

import pytest

from pyasync.pytest_plugin._deadline import Deadline, TestTimeout, suspension_chain
from pyasync.pytest_plugin._loops import SharedLoop, context_of, scope_node, without_frames_under
from pyasync.pytest_plugin._state import PluginState
from pyasync.pytest_plugin._trio_runs import TrioRuns, timed as trio_timed


class LeakedTasks(Exception):
    """A test left tasks running under pyasync_strict_tasks; they were cancelled."""


class FixtureError(Exception):
    """A C++ fixture failed: the message names it, its C++ file:line and the phase."""


class ConciseError:
    """A report's long representation that is the error's text alone (a FixtureError's: the
    plugin's frames say nothing about the C++); its first line is what the short summary shows
    (``reprcrash.message``)."""

    def __init__(self, text: str, crash: Any) -> None:
        self.text = text
        self.reprcrash = crash
        if crash is not None:
            crash.message = text.splitlines()[0]

    def toterminal(self, writer: Any) -> None:
        for line in self.text.splitlines():
            writer.line(line, red=True, bold=True)

    def __str__(self) -> str:
        return self.text


async def _timed(coroutine: Any, timeout: Optional[float], grace: float, what: str) -> Any:
    """Awaits a phase; past ``timeout`` real seconds its task is cancelled, and a phase that ends
    past its limit fails as timed out however it ended (see ``_deadline``)."""
    __tracebackhide__ = True
    if timeout is None:
        return await coroutine
    loop, task = asyncio.get_running_loop(), asyncio.current_task()
    assert task is not None

    def cancel_in_loop() -> None:
        if not task.done():
            deadline.where = suspension_chain(task.get_coro())
            task.cancel()

    def abandon_in_loop() -> None:
        if not task.done():  # it ignored its cancellation for the grace period: SharedLoop.run
            deadline.abandoned = True  # stops waiting for it and fails the phase
            loop.stop()

    def in_loop(callback: Any) -> Callable[[], None]:
        def call() -> None:
            try:
                loop.call_soon_threadsafe(callback)
            except RuntimeError:
                pass  # the loop closed meanwhile: the phase is over
        return call

    deadline = Deadline(timeout, grace, what, in_loop(cancel_in_loop), abandon=in_loop(abandon_in_loop))
    deadline.watch(task)
    try:
        result = await coroutine
    except BaseException as error:
        deadline.finish()
        if deadline.abandoned:
            return None  # its phase already failed (SharedLoop.run); nobody awaits this any more
        if deadline.overran() and not isinstance(error, (KeyboardInterrupt, SystemExit)):
            raise TestTimeout(deadline.message()) from (None if isinstance(error, asyncio.CancelledError) else error)
        raise
    deadline.finish()
    if deadline.overran() and not deadline.abandoned:
        raise TestTimeout(deadline.message())
    return result


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
        grace = state.settings.timeout_grace
        phase = {"loop_errors": chosen.loop_errors, "debug": chosen.debug}
        if isinstance(shared, TrioRuns) and chosen.timeout is not None:
            shared.run(trio_timed(body, chosen.timeout, grace, item.nodeid, TestTimeout), context, **phase)
        else:
            shared.run(body if chosen.timeout is None else _timed(body, chosen.timeout, grace, item.nodeid), context,
                       **phase)
        leftover = [task for task in asyncio.all_tasks(shared.loop) if task not in before] if strict else []
        if leftover:
            shared.run(_settle(leftover), context, **phase)
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


_HIDDEN_DIRECTORIES = (os.path.dirname(os.path.abspath(__file__)) + os.sep, os.path.dirname(asyncio.__file__) + os.sep)


def _without_plugin_frames(error: BaseException) -> BaseException:
    """``error`` with the plugin's and asyncio's frames taken out of its traceback: pytest shows a
    chained cause's traceback whole (``__tracebackhide__`` is not read there), and the cause of a
    C++ fixture's FixtureError is the C++ error, whose origin its notes give."""
    error.__traceback__ = without_frames_under(error.__traceback__, _HIDDEN_DIRECTORIES)
    return error


def _describe(error: BaseException) -> str:
    notes = getattr(error, "__notes__", None) or []
    return f"{type(error).__name__}: {error}" + "".join(f"\n    {note}" for note in notes)


def drive_fixture(state: PluginState, request: pytest.FixtureRequest, fixturedef: Any, start: Callable[[], Any],
                  kind: str, label: Optional[str], loop_scope: Optional[str] = None) -> Generator[Any, None, None]:
    """The set-up and tear-down of an async fixture as a sync generator pytest can drive.

    ``start()`` returns an async iterator (``kind == "generator"``: set-up to the first item,
    tear-down to the end) or an awaitable (set-up only). With a ``label`` (C++ fixtures), an error
    becomes a FixtureError naming the fixture and the phase, chained to the original. With a
    ``loop_scope``, the node of that scope holds the loop until it ends."""
    __tracebackhide__ = True
    item = state.item_for(f"fixture {request.fixturename!r}")
    shared = state.loop_for(item).acquire()
    if loop_scope is not None:
        state.hold_loop(scope_node(item, loop_scope), shared.choice)
    state.fixture_loops[fixturedef] = shared
    context = context_of(scope_node(item, request.scope))
    # Under trio a generator fixture runs in a task of its own: it may hold a nursery across its yield.
    in_task = kind == "generator" and isinstance(shared, TrioRuns)
    fixture_task = None
    # The test's timeout covers each phase of the fixtures it uses, as pytest-timeout's whole-item
    # limit does: a set-up that hangs fails instead of hanging the run.
    chosen = state.test_settings(item)
    timeout = chosen.timeout
    phase = {"loop_errors": chosen.loop_errors, "debug": chosen.debug}

    def limited(awaitable: Any, phase: str) -> Any:
        what = f"the {phase} of fixture {request.fixturename!r} (used by {item.nodeid})"
        if timeout is None:
            return awaitable
        if isinstance(shared, TrioRuns):
            return trio_timed(awaitable, timeout, state.settings.timeout_grace, what, TestTimeout)
        return _timed(awaitable, timeout, state.settings.timeout_grace, what)

    try:
        try:
            started = start()
            if in_task:
                fixture_task, produced, value = shared.start_fixture(started, context, request.fixturename)
            elif kind == "generator":
                produced, value = shared.run(limited(_next(started), "set-up"), context, **phase)
            else:
                produced, value = True, shared.run(limited(_await(started), "set-up"), context, **phase)
            if not produced:
                raise FixtureError(f"{label or request.fixturename} ended without yielding a value; a fixture "
                                   "yields exactly once")
        except (FixtureError, pytest.UsageError):
            raise
        except Exception as error:
            if label is None:
                raise
            raise FixtureError(f"{label} failed in set-up: {_describe(error)}") from _without_plugin_frames(error)
        yield value
        if kind != "generator":
            return
        try:
            produced = (shared.finish_fixture(fixture_task) if in_task else
                        shared.run(limited(_next(started), "tear-down"), context, **phase)[0])
        except Exception as error:
            if label is None:
                raise
            raise FixtureError(f"{label} failed in tear-down: {_describe(error)}") from _without_plugin_frames(error)
        if produced:
            raise FixtureError(f"{label or request.fixturename} yielded a second time; a fixture yields exactly "
                               "once (set-up before the yield, tear-down after)")
    finally:
        state.fixture_loops.pop(fixturedef, None)
        shared.release()

