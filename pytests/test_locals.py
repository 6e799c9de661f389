"""Task locals: the running loop and contextvars seen from Python awaitables that C++ starts."""
import asyncio
import contextvars

import pyasync_examples as ex

request_id = contextvars.ContextVar("request_id", default="unset")


def test_python_awaited_from_cpp_sees_the_callers_context_variables(run):
    async def read():
        await asyncio.sleep(0)
        return request_id.get()

    async def main(value):
        request_id.set(value)
        direct = await ex.await_py(read())
        gathered = await ex.gather([read(), read()])
        called = await ex.call_py(read)
        return direct, gathered, called

    # Twice, in two asyncio.run calls, like pyo3-asyncio's test_contextvars.
    assert run(main("first")) == ("first", ["first", "first"], "first")
    assert run(main("second")) == ("second", ["second", "second"], "second")


def test_context_changes_made_by_cpp_started_awaitables_follow_task_rules(run):
    async def set_inside():
        request_id.set("inner")
        return request_id.get()

    async def main():
        request_id.set("outer")
        assert await ex.await_py(set_inside()) == "inner"
        # Delegation runs in the caller's Task context, exactly as `await set_inside()` would.
        return request_id.get()

    assert run(main()) == "inner"
