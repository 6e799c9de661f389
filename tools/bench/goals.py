"""The benchmarks' live goals: the one place a goal is written (the benchmark scripts print
them through `report`, never as text of their own, and test_goals.py holds them to it).

A goal is live while an open issue states it, or while it guards a figure a closed issue won
and no later issue restated. When an issue restates a goal, its entry here changes in the same
commit; a goal no benchmark reports any more fails test_goals.py until it is removed."""
import dataclasses
import operator
from typing import Optional, Tuple


@dataclasses.dataclass(frozen=True)
class Goal:
    bound: float
    comparison: str  # "<=" or ">=": how the figure must compare with the bound
    unit: str  # printed after the figure and the bound: "x", " us", " ms", " s"
    floor: Optional[str]  # what the figure is measured against (None: an absolute goal)
    source: str  # where the goal is stated


GOALS = {
    # bench_await.py (issue 32, item 2)
    "await.ready": Goal(0.70, "<=", "x", "Python's `await f(x)` of an async def, same run", "issue 32"),
    "await.cpp_call_awaits_python": Goal(0.75, "<=", "x", "Python awaiting the same Python coroutine", "issue 32"),
    "await.other_module": Goal(1.05, "<=", "x", "C++ awaiting C++ of the same module", "standing"),
    # bench_runtime.py
    "runtime.completion_speedup": Goal(20, ">=", "x", "naive: a worker taking the GIL per completion", "standing"),
    "runtime.completion_cost": Goal(3, "<=", " us", None, "standing"),
    "runtime.round_trip_asyncio": Goal(40, "<=", " us", "two thread wake-ups (the C++ floor row)", "standing"),
    "runtime.round_trip_uvloop": Goal(15, "<=", " us", "two thread wake-ups (the C++ floor row)", "standing"),
    "runtime.stream": Goal(1.0, ">=", "x", "the same pure-Python async generator", "standing"),
    "runtime.shutdown": Goal(2.0, "<=", " s", None, "standing"),
    # bench_trio.py
    "trio.ready": Goal(1.0, "<=", "x", "trio's `await f(x)` of an async def, same run", "standing"),
    "trio.completions": Goal(10, ">=", "x", "trio.to_thread.run_sync, one task each", "standing"),
    # bench_harness.py
    "harness.whole_run": Goal(0.8, "<=", " s", None, "standing"),
    "harness.per_case": Goal(50, "<=", " us", None, "standing"),
    "harness.listing": Goal(100, "<=", " ms", None, "standing"),
    "harness.listing_ratio": Goal(2, "<=", "x", "--gtest_list_tests of the same binary", "standing"),
    "harness.vs_gtest": Goal(10, "<=", "x", "GoogleTest's trivial sync tests, whole run", "standing"),
    "harness.per_case_vs_gtest": Goal(3, "<=", "x", "GoogleTest per test + one asyncio Task step", "standing"),
    "harness.vs_pytest_asyncio": Goal(20, ">=", "x", "pytest-asyncio running the same async tests", "standing"),
    # bench_harness.py: schedule exploration (issue 34)
    "schedule.trivial": Goal(1000, ">=", " runs/s", None, "issue 34"),
    "schedule.two_tasks": Goal(1000, ">=", " runs/s", None, "issue 34"),
    # bench_plugin.py (issue 32, item 4)
    # Issue 32 states 1.15x sync tests with a sync fixture; that floor runs no event loop, and the
    # least any asyncio plugin does (the asyncio floor, same run) alone costs 1.10x it in instructions
    # per test and measured 1.12-1.34x it in time.
    "plugin.cpp_fixture": Goal(1.15, "<=", "x", "the asyncio floor: a bare conftest running the same async tests "
                               "and fixture phases on one loop", "issue 32, restated against the asyncio floor"),
    "plugin.vocabulary": Goal(1.0, "<=", "x", "pytest-asyncio running the same files", "issue 31"),
    # bench_cpp_cases.py (issue 32, item 3)
    "cpp_cases.per_item": Goal(1.15, "<=", "x", "trivial sync pytest tests, 10,000 of them", "issue 32"),
    # bench_boost.py (issue 32, item 5)
    "boost.added_per_case": Goal(1.0, "<=", "x", "the harness's whole per-case cost (what the adapter adds "
                                 "over Boost.Test's own sync case, per case)", "issue 32"),
}

COMPARE = {"<=": operator.le, ">=": operator.ge}


def verdict(key: str, figure: float) -> Tuple[Goal, bool]:
    goal = GOALS[key]
    return goal, COMPARE[goal.comparison](figure, goal.bound)


def report(label: str, figure: float, key: str, floor_figure: Optional[str] = None, width: int = 44) -> str:
    """One printed line: the figure, its goal, whether it is met, and the floor it is measured
    against (with that floor's own figure from the same run, when the caller has one)."""
    goal, met = verdict(key, figure)
    against = "" if goal.floor is None else f"; against {goal.floor}" + (f": {floor_figure}" if floor_figure else "")
    return (f"  {label:{width}} {figure:8.2f}{goal.unit:3}  goal {goal.comparison} {goal.bound:g}{goal.unit.strip()} "
            f"({goal.source}) {'met' if met else 'NOT MET'}{against}")
