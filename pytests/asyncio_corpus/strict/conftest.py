import asyncio

import pytest
import pytest_asyncio


# pytest-asyncio 0.20 runs wider-scoped async fixtures on this loop; pyasync never needs it.
@pytest.fixture(scope="session")
def event_loop():
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest_asyncio.fixture(scope="session")
async def session_resource():
    await asyncio.sleep(0)
    yield {"opened": True}


@pytest_asyncio.fixture(autouse=True)
async def autouse_marker(request):
    request.node.autoused = True
    yield
