"""Helpers of the pytest plugin's tests (test_plugin_*.py): each runs pytest in-process through
pytester with the plugin loaded from the build tree (-p pyasync) and the C++ fixtures of
pyasync_examples exposed."""
import os

import pyasync_examples

# Under a sanitizer the inner run captures Python's output only: a sanitizer's report, written to
# the process's stderr, must reach ctest's log even when it aborts the process.
CAPTURE = ("--capture=sys",) if os.environ.get("PYASYNC_SANITIZED") else ()
PLUGIN_ARGS = ("-p", "pyasync", "-o", "pyasync_fixture_modules=pyasync_examples", "-p", "no:cacheprovider", *CAPTURE)


def run_plugin(pytester, *args, **files):
    """Writes the test files ``files`` (name -> source), clears the C++ fixture log, runs pytest
    with the plugin and returns pytester's result."""
    if files:
        pytester.makepyfile(**files)
    pyasync_examples.clear_fixture_log()
    return pytester.runpytest(*PLUGIN_ARGS, *args)


def fixture_log():
    return pyasync_examples.fixture_log()
