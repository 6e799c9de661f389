"""The ready-made C++ fixtures of pyasync_fixtures, which the plugin exposes by default:
pyasync_virtual_clock, pyasync_echo_server and pyasync_counted."""
import dependencies

from plugin_support import run_plugin

DEFAULT_MODULES = ("-o", "pyasync_fixture_modules=pyasync_fixtures pyasync_examples")


def test_the_plugin_exposes_pyasync_fixtures_by_default(pytester):
    pytester.makepyfile(test_a="def test_nothing():\n    pass\n")
    result = pytester.runpytest("-p", "pyasync", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["pyasync: *C++ fixtures: pyasync_fixtures (3 fixtures)"])


def test_the_virtual_clock_lets_an_hour_pass_at_once_in_deadline_order(pytester):
    result = run_plugin(pytester, *DEFAULT_MODULES, "--pyasync-timeout=30", test_a="""
import asyncio, time, pytest

@pytest.mark.pyasync
async def test_hour(pyasync_virtual_clock):
    order = []
    started = time.monotonic()
    async def after(seconds, name):
        await asyncio.sleep(seconds)
        order.append(name)
    await asyncio.gather(after(3600, "hour"), after(60, "minute"), after(1, "second"))
    assert order == ["second", "minute", "hour"]
    assert pyasync_virtual_clock.elapsed() == pytest.approx(3600)
    assert time.monotonic() - started < 10
    await pyasync_virtual_clock.advance(5)
    assert pyasync_virtual_clock.elapsed() == pytest.approx(3605)

@pytest.mark.pyasync
async def test_real_time_again():
    loop = asyncio.get_running_loop()
    assert "time" not in vars(loop)
""")
    result.assert_outcomes(passed=2)


ECHO = """
import asyncio, pytest

@pytest.mark.pyasync
async def test_echo(pyasync_echo_server):
    host, port = pyasync_echo_server
    assert host == "127.0.0.1" and port > 0
    for text in (b"hello\\n", b"again\\n"):
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(text)
        assert await reader.readline() == text
        writer.close()
        await writer.wait_closed()
    assert pyasync_echo_server.connections == 2

@pytest.mark.pyasync
async def test_open_connection_at_tear_down_is_closed(pyasync_echo_server):
    reader, writer = await asyncio.open_connection(*pyasync_echo_server)
    writer.write(b"x")
    assert await reader.readexactly(1) == b"x"
    OPEN.append((reader, writer))

OPEN = []

@pytest.mark.pyasync
async def test_the_server_closed_it():
    reader, writer = OPEN.pop()
    assert await reader.read() == b""
    writer.close()
"""


def test_the_echo_server_echoes_counts_connections_and_closes_them_at_tear_down(pytester):
    run_plugin(pytester, *DEFAULT_MODULES, "--pyasync-timeout=30", test_a=ECHO).assert_outcomes(passed=3)


def test_counted_passes_when_every_object_is_gone_and_fails_naming_the_leak(pytester):
    result = run_plugin(pytester, *DEFAULT_MODULES, test_a="""
import pytest

KEPT = []

def test_all_released(pyasync_counted):
    objects = [pyasync_counted.make() for _ in range(3)]
    assert pyasync_counted.alive == 3
    del objects

def test_one_kept(pyasync_counted):
    KEPT.append(pyasync_counted.make())
    pyasync_counted.make()
""")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*C++ fixture 'pyasync_counted' (pyasync_fixtures.cpp:*) failed in tear-down: "
                                 "AssertionError: 1 of the 2 object(s) the test made through pyasync_counted are still "
                                 "alive at tear-down*"])


def test_the_virtual_clock_on_uvloop_is_an_error_naming_the_fix(pytester):
    dependencies.require("uvloop")
    result = run_plugin(pytester, *DEFAULT_MODULES, "-o", "pyasync_loop=uvloop", test_a="""
import pytest

@pytest.mark.pyasync
async def test_clock(pyasync_virtual_clock):
    pass
""")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*C++ fixture 'pyasync_virtual_clock' (*) failed in set-up: TypeError: virtual_clock "
                                 "needs an asyncio selector event loop, got uvloop.Loop*"])


def test_the_timeout_counts_real_seconds_under_the_virtual_clock(pytester):
    result = run_plugin(pytester, *DEFAULT_MODULES, "--pyasync-timeout=20", test_a="""
import asyncio, pytest

@pytest.mark.pyasync
async def test_waits_for_a_thread_and_sleeps_an_hour(pyasync_virtual_clock):
    await asyncio.sleep(3600)                                       # virtual: at once
    assert await asyncio.to_thread(lambda: "from a thread") == "from a thread"  # real I/O wait

@pytest.mark.pyasync(timeout=0.3)
async def test_still_times_out_when_stuck(pyasync_virtual_clock):
    await asyncio.get_running_loop().create_future()                # no timer at all: stuck
""")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*TestTimeout: test_a.py::test_still_times_out_when_stuck timed out after 0.3 s*"])
