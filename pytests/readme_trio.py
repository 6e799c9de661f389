"""The trio tutorial's example (docs/tutorials/trio.md includes this file from `import trio` on), run
by test_trio.py."""
import trio

import pyasync_examples as ex


async def main():
    assert await ex.ready(3) == 3                    # completes at once: no trio trap
    with trio.move_on_after(0.05):
        await ex.sleep(10, "never")                  # the runtime timer is cancelled; RAII runs in C++
    async with trio.open_nursery() as nursery:       # 10,000 runtime completions wake their tasks in batches
        for i in range(10_000):
            nursery.start_soon(ex.threaded_ready, i)
    values = await ex.threaded_ready_all(list(range(100_000)))  # spawn_all: one task, one wake
    assert values == list(range(100_000))
trio.run(main)
