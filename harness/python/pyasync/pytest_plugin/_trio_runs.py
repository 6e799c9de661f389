"""``pyasync_loop = trio``: tests and async fixtures under trio instead of an asyncio loop.

trio has no loop object to keep between pytest's phases, so the plugin keeps a *run*: one
``trio.run`` in guest mode (``trio.lowlevel.start_guest_run``) per loop scope, lease-counted like an
asyncio loop, whose host is a queue this thread works through while a phase runs. Each phase (a
test, a fixture's set-up or tear-down) is a task of that run, in a copy of the node's context whose
changes are copied back, as on asyncio. An async generator fixture runs in a task of its own from
its set-up to its tear-down, so it may hold a nursery or a cancel scope across its ``yield`` (a
server a test talks to), as with pytest-trio. Between phases nothing of the run moves, as nothing
of an asyncio loop does."""
from __future__ import annotations

import contextvars
import os
import queue
from typing import Any, Callable, Coroutine, Dict, List, Optional

from pyasync.pytest_plugin._deadline import Deadline
from pyasync.pytest_plugin._loops import without_frames_under
from pyasync.pytest_plugin._settings import LoopChoice

TRIO = "trio"


def _library_dirs() -> tuple:
    import asyncio
    import trio

    return tuple(os.path.dirname(module.__file__) + os.sep for module in (asyncio, trio))


def _library_variables() -> frozenset:
    """The context variables trio and sniffio set in every task: never copied back (sniffio's
    answer would then say "trio" to the asyncio tests that share the context)."""
    import sniffio

    return frozenset({sniffio.current_async_library_cvar})


class _Outcome:
    """What a task of the run reported: a value or an exception, and the context it ended in."""

    def __init__(self) -> None:
        self.reported = False
        self.value: Any = None
        self.error: Optional[BaseException] = None
        self.context: Optional[contextvars.Context] = None

    def set(self, value: Any = None, error: Optional[BaseException] = None) -> None:
        self.value, self.error, self.context = value, error, contextvars.copy_context()
        self.reported = True


async def _capture(awaitable: Any, outcome: _Outcome) -> None:
    try:
        value = await awaitable
    except BaseException as error:  # noqa: B036 - carried to the phase, raised there
        outcome.set(error=error)
    else:
        outcome.set(value)


class FixtureCrashed(Exception):
    """A fixture's nursery or cancel scope failed while a test (or another fixture) ran: what ran
    was cancelled, and fails with this (the fixture's tear-down fails with the error itself)."""


class FixtureTask:
    """An async generator fixture driven by one task of the run: its set-up, then a wait for the
    tear-down, then its tear-down. ``set_up`` and ``tear_down`` report (produced, value). If the
    wait is cancelled (its own nursery failed), the phases running then are cancelled too."""

    def __init__(self, runs: "TrioRuns", iterator: Any, name: str) -> None:
        import trio

        self.runs, self.name = runs, name
        self.iterator = iterator
        self.set_up = _Outcome()
        self.tear_down = _Outcome()
        self.torn_down = trio.Event()

    async def run(self) -> None:
        try:
            self.set_up.set((True, await self.iterator.__anext__()))
        except StopAsyncIteration:
            self.set_up.set((False, None))
            return
        except BaseException as error:  # noqa: B036
            self.set_up.set(error=error)
            return
        try:
            await self.torn_down.wait()
        except BaseException as error:  # noqa: B036 - its own nursery or scope was cancelled meanwhile
            await _capture(_produced(self.iterator.athrow(error)), self.tear_down)  # its nursery raises the cause
            if self.tear_down.error is not None:
                self.runs.cancel_phases(self.name, self.tear_down.error)
            return
        await _capture(_produced(self.iterator.__anext__()), self.tear_down)


async def _in_scope(coroutine: Any, scope: Any) -> Any:
    __tracebackhide__ = True
    with scope:
        return await coroutine


async def _produced(step: Any) -> Any:
    try:
        await step
    except StopAsyncIteration:
        return False, None
    return True, None


class TrioRuns:
    """The ``trio`` entry of the loop pool: one guest run, started at the first phase and ended
    with the last lease."""

    loop = None  # no asyncio loop: pyasync_strict_tasks has nothing to check (nurseries end their tasks)

    def __init__(self, pool: Any, choice: LoopChoice) -> None:
        self.pool = pool
        self.choice = choice
        self.leases = 0
        self._host: "queue.SimpleQueue[Callable[[], Any]]" = queue.SimpleQueue()
        self._token: Any = None
        self._nursery: Any = None
        self._ended: Optional[_Outcome] = None
        self._phase_scopes: Dict[Any, Optional[FixtureCrashed]] = {}  # the phases in flight

    def describe(self) -> str:
        return "trio run (one per loop scope, in guest mode)"

    # ---- the run ---------------------------------------------------------------------------

    def _start(self) -> None:
        import trio

        ended = self._ended = _Outcome()
        ready = _Outcome()

        async def main() -> None:
            async with trio.open_nursery() as nursery:
                self._token, self._nursery = trio.lowlevel.current_trio_token(), nursery
                ready.set()
                await trio.sleep_forever()  # until _end cancels the nursery

        def done(outcome: Any) -> None:
            ended.set(error=getattr(outcome, "error", None))

        trio.lowlevel.start_guest_run(main, run_sync_soon_threadsafe=self._host.put, done_callback=done)
        self._pump_until(ready, ended)

    def _pump_until(self, *outcomes: _Outcome) -> None:
        """Works through the host queue on this thread until one of ``outcomes`` is reported."""
        while not any(outcome.reported for outcome in outcomes):
            self._host.get()()

    def _spawn(self, async_fn: Callable[..., Any], *args: Any, context: Optional[contextvars.Context] = None) -> None:
        """Starts ``async_fn(*args)`` as a task of the run, in a copy of ``context``."""
        import sniffio

        if self._ended is None or self._ended.reported:
            self._start()
        nursery = self._nursery

        def start() -> None:
            sniffio.current_async_library_cvar.set("trio")  # as trio sets it in the contexts it makes
            nursery.start_soon(async_fn, *args)  # the task gets a copy of the context current here

        self._token.run_sync_soon((context or contextvars.Context()).copy().run, start)

    def _settle(self, outcome: _Outcome, context: Optional[contextvars.Context]) -> Any:
        """Pumps until ``outcome`` is reported, copies its context back and returns its value (or
        raises its error, without trio's frames)."""
        __tracebackhide__ = True
        ended = self._ended
        self._pump_until(outcome, ended)  # type: ignore[arg-type]
        if not outcome.reported:  # KeyboardInterrupt, or trio's own failure
            raise ended.error or RuntimeError("pyasync: the trio run ended while a phase was running")
        if outcome.error is not None:
            error = outcome.error
            error.__traceback__ = without_frames_under(error.__traceback__, _library_dirs())
            raise error
        if context is not None and outcome.context is not None:
            skipped = _library_variables()
            for variable, value in outcome.context.items():
                if variable not in skipped and context.get(variable, _UNSET) is not value:
                    context.run(variable.set, value)
        return outcome.value

    def _end(self) -> None:
        ended = self._ended
        if ended is None or ended.reported:
            return
        self._token.run_sync_soon(self._nursery.cancel_scope.cancel)
        self._pump_until(ended)
        self._nursery = self._token = None
        if ended.error is not None:
            raise ended.error

    # ---- what the phases call --------------------------------------------------------------

    def run(self, coroutine: Coroutine[Any, Any, Any], context: contextvars.Context, loop_errors: str = "fail",
            debug: Optional[bool] = None) -> Any:  # trio has no exception handler or debug mode: both unused
        """Runs ``coroutine`` as a task of the run in a copy of ``context``, then copies back the
        context variables it set; returns its value or raises its error (FixtureCrashed when a
        fixture's failure cancelled it)."""
        __tracebackhide__ = True
        import trio

        outcome, scope = _Outcome(), trio.CancelScope()
        self._phase_scopes[scope] = None
        try:
            self._spawn(_capture, _in_scope(coroutine, scope), outcome, context=context)
            value = self._settle(outcome, context)
        finally:
            crashed = self._phase_scopes.pop(scope)
        if crashed is not None and scope.cancelled_caught:
            raise crashed
        return value

    def cancel_phases(self, fixture: str, error: BaseException) -> None:
        """In the run: a fixture failed on its own; what runs now is cancelled, and says why."""
        for scope in self._phase_scopes:
            self._phase_scopes[scope] = FixtureCrashed(
                f"cancelled: the fixture {fixture!r} failed while this ran: {type(error).__name__}: {error}")
            scope.cancel()

    def start_fixture(self, iterator: Any, context: contextvars.Context, name: str) -> tuple:
        """Runs an async generator fixture's set-up in a task of its own: (the task, produced, value)."""
        __tracebackhide__ = True
        fixture = FixtureTask(self, iterator, name)
        self._spawn(fixture.run, context=context)
        produced, value = self._settle(fixture.set_up, context)
        return fixture, produced, value

    def finish_fixture(self, fixture: FixtureTask) -> bool:
        """Lets the fixture's task run its tear-down; returns whether it yielded again."""
        __tracebackhide__ = True
        self._token.run_sync_soon(fixture.torn_down.set)
        produced, _ = self._settle(fixture.tear_down, None)
        return produced

    def raise_reports(self, also_failing: bool = False) -> None:
        """trio has no exception handler to collect from: an error nobody awaited does not exist
        under structured concurrency (it reaches the nursery)."""

    def acquire(self) -> "TrioRuns":
        self.leases += 1
        return self

    def release(self) -> None:
        self.leases -= 1
        if self.leases <= 0:
            self.pool.forget(self)
            self._end()


_UNSET = object()


async def timed(coroutine: Any, timeout: float, grace: float, what: str, timeout_error: type) -> Any:
    """Awaits the test; past ``timeout`` real seconds its cancel scope is cancelled, and a test
    that ends past its limit fails as timed out however it ended (see ``_deadline``)."""
    __tracebackhide__ = True
    import trio

    token = trio.lowlevel.current_trio_token()
    result = None
    with trio.CancelScope() as scope:

        def expire() -> None:
            try:
                token.run_sync_soon(scope.cancel)
            except trio.RunFinishedError:
                pass  # the test ended meanwhile

        deadline = Deadline(timeout, grace, what, expire)
        try:
            result = await coroutine
        except BaseException as error:
            deadline.finish()
            if deadline.overran() and not isinstance(error, (KeyboardInterrupt, SystemExit, trio.Cancelled)):
                raise timeout_error(deadline.message()) from error
            raise
        deadline.finish()
    if deadline.overran():
        raise timeout_error(deadline.message())
    return result


__all__: List[str] = ["TRIO", "TrioRuns", "FixtureTask", "FixtureCrashed", "timed"]
