"""Processes that exit with 10,000 bridged operations still on runtime threads: exit status 0,
nothing on stderr, no hang; 20 runs over three ways of ending (extension module under
asyncio.run, an abandoned loop never closed, and an embedded PYASYNC_MAIN program).

How long each exit takes is measured by tools/bench/bench_runtime.py, not asserted here."""
import os
import subprocess
import sys
import time

import pytest

# Timers, frames away on the runtime, worker completions and blocking jobs, all in flight.
START_PENDING = """
import asyncio, pyasync_examples as ex
from _pyasync_tests import away, runtime as r
def start_pending():
    for i in range(10_000):
        kind = i % 4
        if kind == 0:
            coroutine = ex.sleep(60)
        elif kind == 1:
            coroutine = away.sleep_away(60)
        elif kind == 2:
            coroutine = ex.spawn_blocking_sum(10**5)
        else:
            coroutine = r.blocking_sleep(0.05)
        asyncio.ensure_future(coroutine)
"""

ENDINGS = {
    # asyncio.run cancels what is left, then the runtime stops at exit.
    "asyncio.run": START_PENDING + """
async def main():
    start_pending()
    await asyncio.sleep(0.01)
asyncio.run(main())
""",
    # The loop is never closed: its tasks stay pending through interpreter exit.
    "abandoned loop": START_PENDING + """
loop = asyncio.new_event_loop()
asyncio.set_event_loop(loop)
async def main():
    start_pending()
    await asyncio.sleep(0.01)
loop.run_until_complete(main())
""",
}

RUNS = [(name, index) for index in range(7) for name in ENDINGS] + [("embedded", index) for index in range(6)]


@pytest.mark.parametrize("ending,index", RUNS)
def test_exit_with_ten_thousand_pending_is_clean(ending, index):
    if ending == "embedded":
        command = [os.environ["PYASYNC_MAIN_PROBE"], "leave-pending"]
    else:
        command = [sys.executable, "-c", ENDINGS[ending]]
    start = time.monotonic()
    # The timeout only catches a hang; the exit's speed is a benchmark figure.
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    elapsed = time.monotonic() - start
    assert (done.returncode, done.stderr) == (0, ""), f"{ending} run {index} after {elapsed:.2f} s"
