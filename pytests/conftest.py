"""Shared fixtures: every test that takes `run` runs once per event loop (asyncio, uvloop)."""
import asyncio
import gc
import os
import time

import pytest

import dependencies

# pytester: the pytest plugin's tests (test_plugin_*.py) run pytest in-process.
pytest_plugins = ["pytester"]

LOOPS = ("asyncio", "uvloop")


@pytest.fixture(params=LOOPS)
def loop_name(request):
    if request.param == "uvloop":
        dependencies.require("uvloop")  # skipped with the reason where uvloop may be missing
    return request.param


def loop_factory(name):
    return None if name == "asyncio" else dependencies.require("uvloop").new_event_loop


@pytest.fixture
def run(loop_name):
    """run(coroutine) -> result, on a fresh loop of the parametrised kind (like asyncio.run)."""

    def runner(coroutine, *, debug=False):
        with asyncio.Runner(loop_factory=loop_factory(loop_name), debug=debug) as r:
            return r.run(coroutine)

    return runner


@pytest.fixture
def unraisable(monkeypatch):
    """Collects unraisable exceptions (sys.unraisablehook) during a test."""
    import sys

    seen = []
    monkeypatch.setattr(sys, "unraisablehook", lambda report: seen.append(report))
    yield seen
    gc.collect()


SANITIZED = bool(os.environ.get("PYASYNC_SANITIZED"))


async def settle(predicate, seconds=10.0):
    """Waits, yielding to the loop, until predicate() holds (or `seconds` pass); returns it.
    Tests wait for an observable state this way, never with fixed sleeps."""
    deadline = time.monotonic() + seconds
    while not predicate() and time.monotonic() < deadline:
        await asyncio.sleep(0.001)
    return predicate()


def fresh_python(code, **environment):
    """Runs `code` in a fresh interpreter: this one's environment without the runtime's
    variables (so that a test's own settings are the only ones), plus `environment`."""
    import subprocess
    import sys
    import textwrap

    env = {name: value for name, value in os.environ.items() if name not in ("PYASYNC_THREADS", "PYASYNC_SPIN_US")}
    env.update(environment)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=env,
                          timeout=120)
