import asyncio

import pytest
import pytest_asyncio


@pytest.mark.asyncio
async def test_marked_function_runs():
    await asyncio.sleep(0)
    assert asyncio.get_running_loop().is_running()


@pytest.mark.asyncio
async def test_assertion_failure_fails():
    await asyncio.sleep(0)
    assert 1 == 2


@pytest.mark.asyncio
async def test_exception_fails():
    raise ValueError("on purpose")


@pytest.mark.asyncio
async def test_skip_inside_skips():
    pytest.skip("skipped inside the coroutine")


@pytest.mark.xfail(reason="known", strict=True)
@pytest.mark.asyncio
async def test_xfail_marked_fails_as_expected():
    raise RuntimeError("expected")


@pytest.mark.asyncio
@pytest.mark.parametrize("value", [1, 2, 3])
async def test_parametrized(value):
    await asyncio.sleep(0)
    assert value in (1, 2)


@pytest.mark.asyncio
async def test_timeout_inside_is_the_tests_own():
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(asyncio.sleep(1), 0.01)


def test_sync_test_is_untouched():
    assert True


@pytest.mark.asyncio
async def test_autouse_async_fixture_ran(request):
    assert request.node.autoused


class TestMarkedClass:
    pytestmark = pytest.mark.asyncio

    @pytest_asyncio.fixture
    async def doubled(self):
        return 2 * 21

    async def test_method(self, doubled):
        assert doubled == 42

    async def test_method_failing(self):
        assert False, "method fails on purpose"
