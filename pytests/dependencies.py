"""The suite's optional test dependencies (uvloop, trio, anyio, pytest-asyncio, xdist), proven
wherever they exist and skipped with the reason only where they may be missing.

Debian builds its compiled packages (uvloop) for its own interpreter only, and trio 0.22 does
not import on 3.13: the builds against the image's other CPythons name those modules in
PYASYNC_OPTIONAL_TEST_MODULES (a comma-separated list, from the CMake cache variable of the same
name). There a module that does not import skips the tests that need it, each with the import
error as its reason. Anywhere else the import error fails the test: a suite must never lose
uvloop or trio silently because a package broke.
"""
import importlib
import os
import sys

import pytest

MAY_BE_MISSING = frozenset(filter(None, os.environ.get("PYASYNC_OPTIONAL_TEST_MODULES", "").split(",")))
PYTHON = "Python %d.%d" % sys.version_info[:2]
_why_missing = {}


def load(name):
    """The module `name`, or None where it may be missing and does not import. Raises the
    import error (with what to do) where it is required."""
    if name in _why_missing:
        return None
    try:
        return importlib.import_module(name)
    except Exception as error:  # trio 0.22 on 3.13 fails with TypeError, not ImportError
        reason = f"{type(error).__name__}: {error}"
        if name not in MAY_BE_MISSING:
            raise ImportError(f"the test dependency {name} does not import in {PYTHON} ({reason}): install it "
                              "(ci/install-deps.sh), or, for an interpreter it is not built for, name it in "
                              "PYASYNC_OPTIONAL_TEST_MODULES") from error
        _why_missing[name] = reason
        return None


def reason_missing(name):
    return f"{name} does not import in {PYTHON}: {_why_missing[name]}"


def require(name):
    """Inside a test or fixture: the module `name`, or the test skipped with the reason."""
    module = load(name)
    if module is None:
        pytest.skip(reason_missing(name))
    return module


def needs(*names):
    """A mark for a whole module or test (`pytestmark = needs("trio")`): skipped with the
    reason where one of `names` may be missing and does not import. Unlike a module-level
    importorskip, the tests are still collected and each is reported skipped."""
    missing = [name for name in names if load(name) is None]
    return pytest.mark.skipif(bool(missing), reason="; ".join(reason_missing(name) for name in missing))
