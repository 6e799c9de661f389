import asyncio

import greeter
import pyasync


def test_greet_awaits_python_and_returns_a_string():
    assert asyncio.run(greeter.greet(asyncio.sleep(0, "pytest"))) == "hello pytest"


def test_add_later_is_a_real_coroutine():
    coroutine = greeter.add_later(20, 22)
    assert isinstance(coroutine, pyasync.coroutine) and asyncio.iscoroutine(coroutine)
    assert asyncio.run(coroutine) == 42
