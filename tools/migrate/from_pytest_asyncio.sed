# pytest-asyncio's names to pyasync's own, over a suite's Python files and its pytest.ini (or the
# [pytest] / [tool:pytest] section of tox.ini or setup.cfg); pyproject.toml is edited by hand:
#   sed -i -f tools/migrate/from_pytest_asyncio.sed $(grep -rlE 'pytest_asyncio|mark\.asyncio|^asyncio_' tests pytest.ini)
# The two ini lines it adds keep pytest-asyncio's defaults (a fresh loop per test, loop errors
# left to asyncio's handler); drop them to take pyasync's (one loop for the session, loop errors
# fail the test); a suite that sets asyncio_default_test_loop_scope gives pyasync_loop_scope its
# value instead. pytests/test_plugin_asyncio_vocabulary.py runs this over the corpus.
s/^import pytest_asyncio$/import pyasync/
s/^from pytest_asyncio import fixture$/from pyasync import fixture/
s/\bpytest_asyncio\.fixture\b/pyasync.fixture/g
s/\bpytest\.mark\.asyncio\b/pytest.mark.pyasync/g
s/\(pytest\.mark\.pyasync(.*\)\bscope=/\1loop_scope=/
s/^asyncio_mode *=/pyasync_mode =/
/^\[\(pytest\|tool:pytest\)\]$/a pyasync_loop_scope = function\npyasync_loop_errors = log
