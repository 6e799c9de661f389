"""The default executor of a loop that schedule exploration runs on (``pyasync/detail/schedule.hpp``).

While a schedule run is bound to the loop, each function given to ``loop.run_in_executor(None, ...)``
or ``asyncio.to_thread`` runs as a job of the lockstep engine: one at a time, in the order the
schedule chooses, so the order in which executor calls complete is explored like the runtime's own
work. Outside a run it is asyncio's usual thread pool. The engine installs it when a run binds a
loop (``install``)."""
from __future__ import annotations

import concurrent.futures
from typing import Any, Callable

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


def install(loop: Any) -> None:
    """Makes ``loop``'s default executor a ``LockstepExecutor``, in place of none yet or of the one
    asyncio made itself. A default executor the code set (``set_default_executor``) is left as it is,
    and so is one this cannot see (uvloop keeps it out of reach): their calls are not explored."""
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
