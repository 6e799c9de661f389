#!/usr/bin/env python3
"""pytest plugin benchmark, measured in one run on this machine:

- pyasync: N async tests, each using a function-scoped C++ coroutine fixture (ex_counter: one loop
  turn in set-up and one in tear-down);
- pytest-asyncio 0.20: the same N tests with an equivalent ``async def`` fixture;
- pyasync speaking pytest-asyncio's vocabulary: those very files, run by pyasync with
  ``-p no:asyncio`` (a suite that switched in one line: it must not be slower);
- the floor: N plain sync tests using a sync fixture;
- the asyncio floor: the least any asyncio plugin does for the same async tests, a conftest of a
  dozen lines: one loop, and the test and its fixture's set-up and tear-down each in
  ``run_until_complete`` (one loop turn in each fixture phase, as ex_counter has), with none of a
  plugin's features (no timeout, no loop-error check, no contextvars, no marker).

Each suite runs in its own pytest process (collection and start-up included), the median of a few
runs is kept, and the ratios are printed against the goals. Asserts nothing."""
import argparse
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

from goals import report

FILES = 20

PYASYNC_TEST = """
@pytest.mark.pyasync
async def test_{n}(ex_counter):
    assert ex_counter.total == 0
"""

ASYNCIO_TEST = """
@pytest.mark.asyncio
async def test_{n}(counter):
    assert counter.total == 0
"""

SYNC_TEST = """
def test_{n}(counter):
    assert counter.total == 0
"""

HEADERS = {
    "pyasync": "import pytest\n",
    "asyncio": textwrap.dedent("""
        import asyncio, pytest, pytest_asyncio
        import pyasync_examples

        @pytest_asyncio.fixture
        async def counter():
            await asyncio.sleep(0)
            yield pyasync_examples.Counter()
            await asyncio.sleep(0)
    """),
    "sync": textwrap.dedent("""
        import pytest
        import pyasync_examples

        @pytest.fixture
        def counter():
            yield pyasync_examples.Counter()
    """),
}
HEADERS["vocabulary"] = HEADERS["asyncio"]
HEADERS["minimal"] = "import pytest\n"
MINIMAL_TEST = """
async def test_{n}(counter):
    assert counter.total == 0
"""
CONFTESTS = {"minimal": textwrap.dedent("""
    import asyncio, inspect, pytest
    import pyasync_examples

    loop = asyncio.new_event_loop()

    @pytest.hookimpl(tryfirst=True)
    def pytest_pyfunc_call(pyfuncitem):
        if inspect.iscoroutinefunction(pyfuncitem.obj):
            arguments = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
            loop.run_until_complete(pyfuncitem.obj(**arguments))
            return True

    async def set_up():
        await asyncio.sleep(0)
        return pyasync_examples.Counter()

    @pytest.fixture
    def counter():
        yield loop.run_until_complete(set_up())
        loop.run_until_complete(asyncio.sleep(0))
""")}
BODIES = {"pyasync": PYASYNC_TEST, "asyncio": ASYNCIO_TEST, "vocabulary": ASYNCIO_TEST, "sync": SYNC_TEST,
          "minimal": MINIMAL_TEST}
ARGUMENTS = {
    "pyasync": ["-p", "pyasync", "-p", "no:asyncio", "-o", "pyasync_fixture_modules=pyasync_examples"],
    "asyncio": ["-p", "no:pyasync"],
    "vocabulary": ["-p", "pyasync", "-p", "no:asyncio"],
    "sync": ["-p", "no:asyncio"],
    "minimal": ["-p", "no:asyncio", "-p", "no:pyasync"],
}


def write_suite(root: pathlib.Path, kind: str, tests: int, header: str = "", test: str = "") -> pathlib.Path:
    """``tests`` tests in FILES files under root/kind: ``header`` then ``test`` (formatted with
    ``n``) per test, by default this benchmark's suite of that kind."""
    suite = root / kind
    suite.mkdir()
    (suite / "pytest.ini").write_text("[pytest]\n")
    if kind in CONFTESTS and not test:
        (suite / "conftest.py").write_text(CONFTESTS[kind])
    header, test = header or HEADERS[kind], test or BODIES[kind]
    per_file = tests // FILES
    for f in range(FILES):
        body = "".join(test.format(n=f * per_file + i) for i in range(per_file))
        (suite / f"test_{kind}_{f:02d}.py").write_text(header + body)
    return suite


def environment() -> dict:
    """This environment, with PYTHONPATH made absolute: the suites run in their own directories."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # the first run caches the rewritten test modules, as a user's would
    paths = [str(pathlib.Path(p).resolve()) for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


def wall(suite: pathlib.Path, kind: str, repeat: int, tests: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *ARGUMENTS[kind]],
                                cwd=suite, env=environment(), capture_output=True, text=True, check=False)
        times.append(time.perf_counter() - start)
        if result.returncode != 0 or f"{tests} passed" not in result.stdout:
            sys.exit(f"bench_plugin: the {kind} suite did not pass:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tests", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    tests = args.tests - args.tests % FILES
    with tempfile.TemporaryDirectory() as directory:
        root = pathlib.Path(directory)
        seconds = {kind: wall(write_suite(root, kind, tests), kind, args.repeat, tests) for kind in BODIES}
    print(f"pytest plugin, {tests} tests in {FILES} files, median of {args.repeat} runs (start-up included):")
    for kind, label in (("sync", "sync tests, sync fixture (the floor)"),
                        ("minimal", "the asyncio floor: a bare conftest, no features"),
                        ("pyasync", "pyasync: async tests, C++ coroutine fixture"),
                        ("asyncio", "pytest-asyncio 0.20: async tests, async fixture"),
                        ("vocabulary", "pyasync running those pytest-asyncio files")):
        print(f"  {label:50s} {seconds[kind]:7.2f} s  {seconds[kind] / tests * 1e6:7.0f} us/test")
    print(f"  pytest-asyncio / pyasync      {seconds['asyncio'] / seconds['pyasync']:5.2f}x")
    # The sync floor runs no event loop: three loop runs per test are what any asyncio plugin pays
    # over it, and the asyncio floor shows how much of the sync ratio they alone take.
    print(f"  pyasync / sync floor          {seconds['pyasync'] / seconds['sync']:5.2f}x")
    print(f"  the asyncio floor / sync floor {seconds['minimal'] / seconds['sync']:5.2f}x")
    print("goals:")
    print(report("pyasync / the asyncio floor", seconds["pyasync"] / seconds["minimal"], "plugin.cpp_fixture",
                 f"{seconds['minimal']:.2f} s"))
    print(report("pyasync on pytest-asyncio's files / pytest-asyncio", seconds["vocabulary"] / seconds["asyncio"],
                 "plugin.vocabulary", f"{seconds['asyncio']:.2f} s"))
    # pytest's own cost per test (the floor) bounds the whole-run ratio: what each plugin adds is
    # the comparison it cannot hide.
    ours, theirs, least = (seconds[kind] - seconds["sync"] for kind in ("pyasync", "asyncio", "minimal"))
    print(f"  added per test over the floor: pyasync {ours / tests * 1e6:5.0f} us, pytest-asyncio "
          f"{theirs / tests * 1e6:5.0f} us ({theirs / ours if ours > 0 else float('inf'):.1f}x), "
          f"the asyncio floor {least / tests * 1e6:5.0f} us")

if __name__ == "__main__":
    main()
