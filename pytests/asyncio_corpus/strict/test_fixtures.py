import asyncio
import socket

import pytest
import pytest_asyncio

pytestmark = pytest.mark.asyncio

seen = []


@pytest_asyncio.fixture
async def coroutine_fixture():
    await asyncio.sleep(0)
    return "value"


@pytest_asyncio.fixture
async def generator_fixture():
    seen.append("set up")
    await asyncio.sleep(0)
    yield "generated"
    await asyncio.sleep(0)
    seen.append("torn down")


@pytest_asyncio.fixture(scope="module")
async def module_fixture():
    await asyncio.sleep(0)
    yield object()


@pytest_asyncio.fixture(params=[10, 20], ids=["ten", "twenty"])
async def parametrized_fixture(request):
    await asyncio.sleep(0)
    return request.param


@pytest_asyncio.fixture(name="renamed")
async def fixture_with_another_name():
    return "by name"


@pytest_asyncio.fixture
async def failing_setup():
    await asyncio.sleep(0)
    raise LookupError("set-up fails on purpose")


@pytest_asyncio.fixture
async def failing_teardown():
    yield 1
    raise LookupError("tear-down fails on purpose")


async def test_coroutine_fixture(coroutine_fixture):
    assert coroutine_fixture == "value"


async def test_generator_fixture(generator_fixture):
    assert generator_fixture == "generated"


def test_generator_fixture_was_torn_down():
    assert seen == ["set up", "torn down"]


async def test_module_fixture_is_shared_1(module_fixture, request):
    request.config.cache_module = module_fixture


async def test_module_fixture_is_shared_2(module_fixture, request):
    assert request.config.cache_module is module_fixture


async def test_session_fixture_from_conftest(session_resource):
    assert session_resource == {"opened": True}


async def test_parametrized_fixture(parametrized_fixture):
    assert parametrized_fixture in (10, 20)


async def test_named_fixture(renamed):
    assert renamed == "by name"


async def test_failing_setup_errors(failing_setup):
    pass


async def test_failing_teardown_errors(failing_teardown):
    assert failing_teardown == 1


async def test_sync_fixture_in_async_test(tmp_path):
    assert tmp_path.exists()


async def test_unused_tcp_port_is_free(unused_tcp_port):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", unused_tcp_port))


async def test_unused_port_factories_give_distinct_ports(unused_tcp_port_factory, unused_udp_port_factory):
    tcp = {unused_tcp_port_factory() for _ in range(5)}
    udp = {unused_udp_port_factory() for _ in range(5)}
    assert len(tcp) == 5 and len(udp) == 5


async def test_unused_udp_port(unused_udp_port):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver:
        receiver.bind(("127.0.0.1", unused_udp_port))


async def test_a_server_on_the_port(unused_tcp_port):
    async def echo(reader, writer):
        writer.write(await reader.readline())
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(echo, "127.0.0.1", unused_tcp_port)
    async with server:
        reader, writer = await asyncio.open_connection("127.0.0.1", unused_tcp_port)
        writer.write(b"ping\n")
        assert await reader.readline() == b"ping\n"
        writer.close()
        await writer.wait_closed()
