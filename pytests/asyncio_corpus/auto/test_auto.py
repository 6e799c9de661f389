import asyncio

import pytest


@pytest.fixture
async def plain_coroutine_fixture():
    await asyncio.sleep(0)
    return 7


@pytest.fixture
async def plain_generator_fixture():
    await asyncio.sleep(0)
    yield [1]


@pytest.fixture(scope="module")
async def module_scoped():
    yield "module"


async def test_unmarked_runs():
    await asyncio.sleep(0)


async def test_unmarked_fails():
    assert "auto" == "strict"


async def test_plain_fixtures(plain_coroutine_fixture, plain_generator_fixture, conftest_value):
    assert (plain_coroutine_fixture, plain_generator_fixture, conftest_value) == (7, [1], "from conftest")


async def test_module_scoped(module_scoped):
    assert module_scoped == "module"


@pytest.mark.asyncio
async def test_marked_in_auto_mode_too():
    await asyncio.sleep(0)


class TestInAClass:
    async def test_method(self):
        await asyncio.sleep(0)

    @pytest.fixture
    async def method_fixture(self):
        return "method"

    async def test_method_fixture(self, method_fixture):
        assert method_fixture == "method"


def test_sync():
    pass
