#!/usr/bin/env python3
"""One row of the instruction-count gate (instructions.py), run under callgrind: ROW done N times
inside bench_runtime_native.counted(), the only region callgrind counts
(--toggle-collect=pyasync_bench_counted): no start-up, imports or shut-down.

Usage: count_row.py ROW N   (ROW: a key of ROWS)"""
import asyncio
import sys

import bench_runtime_native as native

from bench_await import make_cases
from bench_runtime import round_trip_pass


def rows(n):
    """Each row: an async function doing its operation n times. The await rows are bench_await's
    own cases, so the gate counts what the time benchmark times."""
    cases = make_cases(n)
    chosen = {
        "floor": cases["floor: await f(x)"],
        "ready": cases["await ready(x) [pyasync::def]"],
        "minimal_c_awaitable": cases["await minimal C awaitable (C API)"],
        "python_delegates": cases["Python awaits Python coroutine x N"],
        "cpp_awaits_python": cases["C++ awaits Python coroutine x N"],
        "cpp_awaits_python_call": cases["C++ awaits Python x N [pyasync::call]"],
        "cpp_awaits_cpp_same_module": cases["C++ awaits C++ (same module) x N"],
        "cpp_awaits_cpp_other_module": cases["C++ awaits C++ (other module) x N"],
    }

    async def runtime_round_trip():
        await round_trip_pass(native.echo, n)

    chosen["runtime_round_trip"] = runtime_round_trip
    return chosen


def main(row, n):
    case = rows(n)[row]
    native.counted(lambda: asyncio.run(case()))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
