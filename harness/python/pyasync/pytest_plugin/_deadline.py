"""A phase's time limit (a test's call, an async fixture's set-up or tear-down), judged by the
clock: a phase that ended past its limit fails as timed out however it ended (it swallowed the
cancellation, or blocked the loop so that the cancellation came too late). One that never gives
the loop back is ended: past twice the grace period after its limit, every thread's stack is
dumped (faulthandler) and the process exits with status 1, as pytest-timeout's thread method
does; under xdist that worker is reported crashed while running the test, and the run goes on.

The deadline is kept by threads, not loop timers: on a loop whose clock is virtual
(pyasync_virtual_clock) a loop timer would fire as soon as the test waits for real I/O; and a
blocked loop runs no timer at all."""
from __future__ import annotations

import faulthandler
import os
import sys
import threading
import time
import weakref
from typing import Any, Callable, List, Optional

_PLUGIN_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
# Set by the plugin while pytest runs: gives the terminal back from pytest's capture.
release_output: Optional[Callable[[], None]] = None
# The status of a pytest process ended because a phase never gave its loop back.
EXIT_STATUS_BLOCKED = 1


def suspension_chain(coroutine: object) -> str:
    """Where a coroutine is suspended: each awaitable of its ``cr_await`` chain (C++ coroutines
    of pyasync have one too), outermost first, with the line of each Python frame."""
    lines: List[str] = []
    current: Optional[object] = coroutine
    while current is not None and len(lines) < 64:
        frame = getattr(current, "cr_frame", None) or getattr(current, "gi_frame", None)
        where = f" at {frame.f_code.co_filename}:{frame.f_lineno}" if frame is not None else ""
        if frame is None or not frame.f_code.co_filename.startswith(_PLUGIN_DIR):  # the plugin's own
            lines.append(f"  {getattr(current, '__qualname__', type(current).__name__)}{where}")
        current = getattr(current, "cr_await", None) or getattr(current, "gi_yieldfrom", None)
    return "\n".join(lines)


class TestTimeout(Exception):
    """A test, or an async fixture's set-up or tear-down, ran longer than its pyasync timeout."""


# The deadline of each phase task that has one: SharedLoop.run looks up an abandoned one there.
_of_task: "weakref.WeakKeyDictionary[Any, Deadline]" = weakref.WeakKeyDictionary()


def abandoned_deadline(task: Any) -> "Optional[Deadline]":
    """The deadline of ``task`` if it abandoned the task (its phase then failed as timed out)."""
    deadline = _of_task.get(task)
    return deadline if deadline is not None and deadline.abandoned else None


class Deadline:
    """Started when a phase starts. From threads: ``expire`` when its limit passes (cancel the
    phase), ``abandon`` a grace period later (stop waiting for a phase that ignores its
    cancellation; the loop must answer), and after a second grace period the process ends."""

    def __init__(self, limit: float, grace: float, what: str, expire: Callable[[], None],
                 abandon: Optional[Callable[[], None]] = None) -> None:
        self.limit = limit
        self.what = what
        self.expired = threading.Event()
        self.abandoned = False  # set on the loop's thread when it stopped waiting for the phase
        self.where = ""  # the suspension chain when it expired, if the loop answered
        self._started = time.monotonic()
        self._finished = threading.Event()

        def on_limit() -> None:
            self.expired.set()
            expire()

        self._timers = [threading.Timer(limit, on_limit), threading.Timer(limit + 2 * grace, self._end_the_process)]
        if abandon is not None:
            self._timers.append(threading.Timer(limit + grace, abandon))
        self._grace = grace
        for timer in self._timers:
            timer.daemon = True
            timer.start()

    def watch(self, task: Any) -> None:
        """Lets SharedLoop.run find this deadline when it abandons ``task``."""
        _of_task[task] = self

    def finish(self) -> None:
        self._finished.set()
        for timer in self._timers:
            timer.cancel()

    def overran(self) -> bool:
        return self.expired.is_set() or time.monotonic() - self._started > self.limit

    def message(self) -> str:
        elapsed = time.monotonic() - self._started
        text = (f"{self.what} timed out after {self.limit:g} s (it ran {elapsed:.2f} s, over by "
                f"{max(elapsed - self.limit, 0):.2f} s)")
        if self.abandoned:
            text += (f" and ignored its cancellation for the grace period of {self._grace:g} s "
                     "(pyasync_timeout_grace): abandoned, its task left pending on the loop")
        if self.where:
            return f"{text}: cancelled while suspended at:\n{self.where}\n(pyasync timeout)"
        return (f"{text}: its cancellation never reached it in time: it blocked the event loop (a blocking "
                "call such as time.sleep) or swallowed the cancellation (pyasync timeout)")

    def _end_the_process(self) -> None:
        if self._finished.is_set():
            return
        if release_output is not None:
            try:
                release_output()
            except Exception:  # the dump goes where stderr goes now
                pass
        stream = sys.stderr
        stream.write(f"\npyasync: {self.what} overran its timeout of {self.limit:g} s and has not given the event "
                     f"loop back within twice the grace period of {self._grace:g} s (pyasync_timeout_grace): "
                     f"the stacks of every thread follow; pytest exits with status {EXIT_STATUS_BLOCKED}\n")
        stream.flush()
        faulthandler.dump_traceback(file=stream, all_threads=True)
        stream.flush()
        os._exit(EXIT_STATUS_BLOCKED)
