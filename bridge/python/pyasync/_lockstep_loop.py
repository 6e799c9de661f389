"""What schedule exploration installs on the loop a run binds (``pyasync/detail/schedule.hpp``).

- The loop's default executor: while a schedule run is bound to the loop, each function given to
  ``loop.run_in_executor(None, ...)`` or ``asyncio.to_thread`` runs as a job of the lockstep
  engine, one at a time, in the order the schedule chooses; outside a run it is asyncio's usual
  thread pool.
- The loop's selector: when a poll finds several file descriptors ready at once, the schedule
  chooses the order in which the loop handles them (real timing could have made any of them ready
  first); outside a run, the poll's own order.

Both stay installed after the run and cost nothing then but a check."""
from __future__ import annotations

import concurrent.futures
import selectors
from typing import Any, Callable, List, Optional, Tuple

from pyasync import _core


class LockstepExecutor(concurrent.futures.ThreadPoolExecutor):
    """asyncio's default thread pool, whose calls a schedule run orders while one is bound to the loop."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future:
        future: concurrent.futures.Future = concurrent.futures.Future()

        def call() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:  # the caller's to see, as ThreadPoolExecutor keeps it
                future.set_exception(exc)
            else:
                future.set_result(result)

        if _core._submit_to_schedule(call):
            return future
        return super().submit(fn, *args, **kwargs)


class OrderedSelector:
    """A loop's selector whose polls a schedule run may reorder; everything else is the selector's."""

    def __init__(self, selector: Any) -> None:
        self._selector = selector

    def select(self, timeout: Optional[float] = None) -> List[Tuple[Any, int]]:
        events = self._selector.select(timeout)
        if len(events) > 1:
            order = _core._schedule_order([f"fd {key.fd} {_READINESS.get(mask, 'ready')}" for key, mask in events])
            if order is not None:
                return [events[index] for index in order]
        return events

    def __getattr__(self, name: str) -> Any:
        return getattr(self._selector, name)


_READINESS = {selectors.EVENT_READ: "readable", selectors.EVENT_WRITE: "writable",
              selectors.EVENT_READ | selectors.EVENT_WRITE: "readable and writable"}


def install(loop: Any) -> None:
    """Installs both on ``loop``. Where a loop keeps them out of reach (uvloop), neither.

    The default executor becomes a ``LockstepExecutor`` in place of none yet or of the one asyncio
    made itself; one the code set (``set_default_executor``) is left as it is: its calls are not
    explored."""
    selector = getattr(loop, "_selector", None)
    if selector is not None and not isinstance(selector, OrderedSelector):
        loop._selector = OrderedSelector(selector)
    current = getattr(loop, "_default_executor", LockstepExecutor)
    if isinstance(current, LockstepExecutor):
        return
    made_by_asyncio = (type(current) is concurrent.futures.ThreadPoolExecutor
                       and getattr(current, "_thread_name_prefix", "").startswith("asyncio"))
    if current is not None and not made_by_asyncio:
        return
    loop.set_default_executor(LockstepExecutor(thread_name_prefix="asyncio"))
    if current is not None:
        current.shutdown(wait=False)  # its idle threads end; calls it runs now finish first
