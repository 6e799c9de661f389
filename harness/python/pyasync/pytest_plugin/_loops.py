"""The loops tests and async fixtures run on, and the contexts they run in.

One live loop per loop name (``asyncio``, ``uvloop``, ...; ``trio`` is a trio run in guest mode
instead, see ``_trio_runs``), shared by every test and async fixture
that uses that name. A loop is lease-counted: each async fixture holds a lease from its set-up to
its tear-down, each test for its call, and the node of the configured loop scope (the session, by
default) from its first test to its end. The loop closes when the last lease goes, with
``asyncio.Runner``'s clean-up (pending tasks cancelled and awaited, async generators and the
default executor shut down). So a fixture always finds the loop it was set up on, whatever the
loop scope: there are no loop-scope errors.

The plugin never installs its loop with ``set_event_loop``: another plugin that closes "the
current loop" (pytest-asyncio 0.20 does) cannot reach it."""
from __future__ import annotations

import asyncio
import contextvars
import os
import types
import warnings
from typing import Any, Coroutine, Dict, List, Optional, Tuple

import pytest

from pyasync.pytest_plugin import _exploration
from pyasync.pytest_plugin._deadline import TestTimeout, abandoned_deadline
from pyasync.pytest_plugin._settings import LoopChoice


_ASYNCIO_DIR = os.path.dirname(asyncio.__file__) + os.sep
SETTLE_SECONDS = 5.0  # how long a phase ended from outside has to end its task once cancelled


def without_frames_under(traceback: Optional[types.TracebackType],
                         directories: Tuple[str, ...]) -> Optional[types.TracebackType]:
    """``traceback`` without the frames of files under ``directories`` (asyncio's, or trio's: the
    runner, the task's step, the future): a failure shows the test's frames and the plugin's, as a
    sync test's would."""
    kept = []
    while traceback is not None:
        if not traceback.tb_frame.f_code.co_filename.startswith(directories):
            kept.append(traceback)
        traceback = traceback.tb_next
    rebuilt = None
    for entry in reversed(kept):
        rebuilt = types.TracebackType(rebuilt, entry.tb_frame, entry.tb_lasti, entry.tb_lineno)
    return rebuilt


class LoopError(Exception):
    """The loop's exception handler was called (an exception nobody awaited, a callback that
    raised) while a test or fixture of this plugin was running: that test or fixture fails."""


class LoopErrorWarning(pytest.PytestWarning):
    """The same, under ``pyasync_loop_errors = warn``: a warning instead of a failure."""


class SharedLoop:
    """One loop, its runner and its leases."""

    def __init__(self, pool: "LoopPool", choice: LoopChoice) -> None:
        self.pool = pool
        self.choice = choice
        self.runner = asyncio.Runner(loop_factory=choice.factory)
        self.loop = self.runner.get_loop()
        self.loop.set_exception_handler(self._report)
        # What the plugin relies on, put back before each phase: a test's changes do not outlive it.
        self._debug = self.loop.get_debug()
        self._task_factory = self.loop.get_task_factory()
        self.leases = 0
        self.reports: List[Dict[str, Any]] = []
        self.loop_errors = "fail"  # what the running phase asked for (LOOP_ERRORS)

    def _report(self, loop: asyncio.AbstractEventLoop, context: Dict[str, Any]) -> None:
        if self.loop_errors == "log":
            loop.default_exception_handler(context)  # asyncio's own: logged on the "asyncio" logger
        else:
            self.reports.append(context)

    def describe(self) -> str:
        return f"{self.choice.name} loop {type(self.loop).__module__}.{type(self.loop).__qualname__} at {id(self.loop):#x}"

    def run(self, coroutine: Coroutine[Any, Any, Any], context: contextvars.Context, loop_errors: str = "fail",
            debug: Optional[bool] = None) -> Any:
        """Runs ``coroutine`` to its end in a task in ``context``; then fails (or warns, as
        ``loop_errors`` says) if the loop's exception handler was called meanwhile. ``debug``:
        asyncio's debug mode for this phase (None: the loop's own setting)."""
        __tracebackhide__ = True
        # The loop directly, not Runner.run: that installs and restores a SIGINT handler on every
        # call, and each signal.signal() call formats the repr of the previous handler's task
        # (about a third of a fixture phase's cost). Ctrl-C still stops pytest; the loop is closed
        # with Runner's clean-up at the end of the session.
        loop = self.loop
        if loop.get_exception_handler() != self._report:
            loop.set_exception_handler(self._report)
        self.loop_errors = loop_errors
        wanted_debug = self._debug if debug is None else debug
        if loop.get_debug() != wanted_debug:
            loop.set_debug(wanted_debug)
        if loop.get_task_factory() is not self._task_factory:
            loop.set_task_factory(self._task_factory)
        if _exploration.active is not None:
            _exploration.active.bind(loop)  # the explored run's loop: its first async phase's
        task = loop.create_task(coroutine, context=context)
        try:
            result = loop.run_until_complete(task)
        except BaseException as error:
            abandoned = abandoned_deadline(task) if isinstance(error, RuntimeError) else None
            if abandoned is not None:  # the phase ignored its cancellation: fail it, leave it pending
                abandoned.finish()
                self.raise_reports(also_failing=True)
                raise TestTimeout(abandoned.message()) from None
            if not task.done():
                # Something outside the plugin ended the phase (pytest-timeout's signal method,
                # Ctrl-C): its task must not run on under the next test on this shared loop.
                self._settle(task)
            self.raise_reports(also_failing=True)
            error.__traceback__ = without_frames_under(error.__traceback__, (_ASYNCIO_DIR,))
            raise
        self.raise_reports()
        return result

    def _settle(self, task: "asyncio.Task[Any]") -> None:
        """Cancels ``task`` and runs the loop until it ends, for at most SETTLE_SECONDS; a task
        still running after that is reported (it swallows every cancellation)."""
        task.cancel()
        try:
            self.loop.run_until_complete(asyncio.wait([task], timeout=SETTLE_SECONDS))
        except BaseException:  # a second Ctrl-C: stop settling
            pass
        if not task.done():
            print(f"pyasync: {task!r} ignored its cancellation for {SETTLE_SECONDS:g} s after its phase ended; "
                  "it stays pending on the shared loop")
        elif not task.cancelled() and task.exception() is not None:
            self.reports.append({"message": "the interrupted phase's task raised while it was cancelled",
                                 "exception": task.exception()})

    def raise_reports(self, also_failing: bool = False) -> None:
        """Raises LoopError for what the exception handler received since the last call. When the
        caller is already failing, prints it instead (pytest shows it with the failure)."""
        __tracebackhide__ = True
        if not self.reports:
            return
        reports, self.reports = self.reports, []
        lines = [f"the event loop's exception handler was called {len(reports)} time(s):"]
        cause: Optional[BaseException] = None
        for context in reports:
            error = context.get("exception")
            described = f"{context.get('message', 'no message')}"
            if error is not None:
                described += f": {type(error).__name__}: {error}"
                cause = cause or error
            lines.append(f"  - {described}")
        text = "\n".join(lines)
        if also_failing:
            print(f"pyasync: {text}")
            return
        if self.loop_errors == "warn":
            warnings.warn(LoopErrorWarning(text), stacklevel=2)
            return
        raise LoopError(text) from cause

    def acquire(self) -> "SharedLoop":
        self.leases += 1
        return self

    def release(self) -> None:
        """Drops a lease; the last one closes the loop (and raises what closing reported)."""
        __tracebackhide__ = True
        self.leases -= 1
        if self.leases > 0:
            return
        self.pool.forget(self)
        try:
            self.runner.close()
        finally:
            self.raise_reports()


class LoopPool:
    """The live loops of a session, one per loop name."""

    def __init__(self) -> None:
        self.live: Dict[str, SharedLoop] = {}

    def acquire(self, choice: LoopChoice) -> SharedLoop:
        shared = self.live.get(choice.name)
        if shared is None:
            from pyasync.pytest_plugin._trio_runs import TRIO, TrioRuns  # imports this module

            kind = TrioRuns if choice.name == TRIO else SharedLoop
            shared = self.live[choice.name] = kind(self, choice)
        return shared.acquire()

    def forget(self, shared: SharedLoop) -> None:
        if self.live.get(shared.choice.name) is shared:
            del self.live[shared.choice.name]

    def close_all(self) -> List[str]:
        """Closes the loops still live (none, unless the session was cut short) and returns what
        their closing reported, for the caller to print."""
        reported = []
        for shared in list(self.live.values()):
            shared.leases = 1
            try:
                shared.release()
            except LoopError as error:
                reported.append(f"closing the {shared.describe()}: {error}")
        return reported


_SCOPE_NODE = {
    "session": pytest.Session,
    "package": pytest.Package,
    "module": pytest.Module,
    "class": pytest.Class,
}

_CONTEXT = pytest.StashKey[contextvars.Context]()


def scope_node(item: pytest.Item, scope: str) -> pytest.Item:
    """The node a fixture or loop of ``scope`` belongs to for ``item`` (the item itself for
    ``function``; the next wider node when ``item`` has no such parent, as pytest does)."""
    order = ["class", "module", "package", "session"]
    if scope == "function":
        return item
    for name in order[order.index(scope):]:
        node = item.getparent(_SCOPE_NODE[name])
        if node is not None:
            return node
    return item.session


def context_of(node: Any) -> contextvars.Context:
    """The contextvars context of ``node``: made at its first use as a copy of its parent's, so
    what a wider fixture set is seen by narrower fixtures and tests. A function-scoped fixture's
    set-up, the test and its tear-down share the test's context."""
    context = node.stash.get(_CONTEXT, None)
    if context is None:
        parent = node.parent
        context = context_of(parent).copy() if parent is not None else contextvars.copy_context()
        node.stash[_CONTEXT] = context
    return context
