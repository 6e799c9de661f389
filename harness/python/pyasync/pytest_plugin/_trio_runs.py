"""``pyasync_loop = trio``: tests and async fixtures under ``trio.run`` instead of an asyncio loop.

trio has no loop to keep between pytest's phases, so each phase (a fixture's set-up, the test,
a fixture's tear-down) is one ``trio.run``, as pytest-trio runs a test and its fixtures in one.
What crosses phases is what crosses ``trio.run`` calls: values and suspended async generators
(an async fixture waits at its ``yield`` between runs, not inside trio), but no nursery or cancel
scope. The contextvars a phase sets are copied back into the node's context, so a fixture's
settings reach the test as they do on asyncio. The lease counting is the asyncio pool's, so
the pool treats both alike."""
from __future__ import annotations

import contextvars
import os
import threading
from typing import Any, Coroutine

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


class TrioRuns:
    """The ``trio`` entry of the loop pool: one ``trio.run`` per phase, lease-counted like a loop."""

    loop = None  # no asyncio loop: pyasync_strict_tasks has nothing to check (nurseries end their tasks)

    def __init__(self, pool: Any, choice: LoopChoice) -> None:
        self.pool = pool
        self.choice = choice
        self.leases = 0

    def describe(self) -> str:
        return "trio runs (one trio.run per phase)"

    def run(self, coroutine: Coroutine[Any, Any, Any], context: contextvars.Context) -> Any:
        """Runs ``coroutine`` as the main task of a new ``trio.run`` in a copy of ``context``,
        then copies back the context variables it set."""
        __tracebackhide__ = True
        import trio

        async def main() -> Any:
            __tracebackhide__ = True
            return await coroutine, contextvars.copy_context()

        try:
            result, after = context.run(trio.run, main)
        except BaseException as error:
            error.__traceback__ = without_frames_under(error.__traceback__, _library_dirs())
            raise
        skipped = _library_variables()
        for variable, value in after.items():
            if variable not in skipped and context.get(variable, _UNSET) is not value:
                context.run(variable.set, value)
        return result

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


_UNSET = object()


async def timed(coroutine: Any, timeout: float, nodeid: str, timeout_error: type) -> Any:
    """Awaits the test; past ``timeout`` real seconds its cancel scope is cancelled and it fails.

    A thread keeps the deadline, as on asyncio: a trio MockClock would make a trio deadline fire
    as soon as the test waits for real I/O."""
    __tracebackhide__ = True
    import trio

    token = trio.lowlevel.current_trio_token()
    expired = threading.Event()
    result = None
    with trio.CancelScope() as scope:

        def expire() -> None:
            expired.set()
            try:
                token.run_sync_soon(scope.cancel)
            except trio.RunFinishedError:
                pass  # the test ended meanwhile

        watchdog = threading.Timer(timeout, expire)
        watchdog.daemon = True
        watchdog.start()
        try:
            result = await coroutine
        finally:
            watchdog.cancel()
    if scope.cancelled_caught and expired.is_set():
        raise timeout_error(f"{nodeid} timed out after {timeout:g} s: its cancel scope was cancelled and its "
                            "fixtures torn down (pyasync timeout)")
    return result
