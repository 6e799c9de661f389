"""The benchmarks print only live goals, each from goals.py: no script writes a goal as text of
its own, every report names a goal that exists, and every goal is reported by some benchmark."""
import ast
import pathlib
import re

import pytest

import goals

HERE = pathlib.Path(__file__).resolve().parent
SCRIPTS = sorted(HERE.glob("bench_*.py"))
WRITTEN_GOAL = re.compile(r"goals?\b[^\n]{0,20}?[0-9]")  # "goal <= 1.5x", "goal: each under 2 s"


def report_keys(script: pathlib.Path):
    """The goal keys a script's report(...) calls name, as regular expressions (an f-string
    key matches whatever its fields hold)."""
    for node in ast.walk(ast.parse(script.read_text(), str(script))):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "report":
            key = node.args[2]
            if isinstance(key, ast.Constant):
                yield re.escape(key.value)
            elif isinstance(key, ast.JoinedStr):
                yield "".join(re.escape(part.value) if isinstance(part, ast.Constant) else ".+" for part in key.values)
            else:
                raise AssertionError(f"{script.name}:{node.lineno}: a goal key must be written where it is reported")


def test_the_benchmarks_are_found():
    assert {script.name for script in SCRIPTS} >= {"bench_await.py", "bench_runtime.py", "bench_plugin.py"}


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda script: script.name)
def test_no_goal_is_written_outside_goals_py(script):
    written = [f"{script.name}:{node.lineno}: {node.value!r}"
               for node in ast.walk(ast.parse(script.read_text(), str(script)))
               if isinstance(node, ast.Constant) and isinstance(node.value, str) and WRITTEN_GOAL.search(node.value)]
    assert written == []


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda script: script.name)
def test_every_report_names_a_live_goal(script):
    for pattern in report_keys(script):
        assert any(re.fullmatch(pattern, key) for key in goals.GOALS), f"{script.name}: no goal matches {pattern}"


def test_every_goal_is_reported_by_a_benchmark():
    patterns = [pattern for script in SCRIPTS for pattern in report_keys(script)]
    unreported = [key for key in goals.GOALS if not any(re.fullmatch(pattern, key) for pattern in patterns)]
    assert unreported == [], "goals no benchmark reports: remove them from goals.py, or report them"


def test_a_report_says_whether_the_goal_is_met_and_names_the_floor():
    line = goals.report("ready / floor", 0.82, "await.ready", "40.1 ns")
    assert "0.82x" in line and "goal <= 0.7x" in line and "NOT MET" in line
    assert "against Python's `await f(x)` of an async def, same run: 40.1 ns" in line
    assert goals.report("ready / floor", 0.70, "await.ready").split("(issue 32) ")[1].startswith("met;")
    assert " met;" in goals.report("speedup", 25, "runtime.completion_speedup")
    assert "NOT MET" in goals.report("speedup", 19.9, "runtime.completion_speedup")


def test_a_goal_compares_one_way():
    assert all(goal.comparison in goals.COMPARE for goal in goals.GOALS.values())
