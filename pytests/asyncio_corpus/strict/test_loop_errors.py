import asyncio
import gc
import logging

import pytest


@pytest.mark.asyncio
async def test_asyncio_logs_an_exception_never_retrieved(caplog):
    async def fails():
        raise KeyError("nobody retrieves me")

    task = asyncio.get_running_loop().create_task(fails())
    await asyncio.sleep(0.01)
    del task
    gc.collect()
    records = [record for record in caplog.records if record.name == "asyncio"]
    assert records and "Task exception was never retrieved" in records[0].getMessage()
    assert records[0].levelno == logging.ERROR


@pytest.mark.asyncio
async def test_a_callback_that_raises_is_logged(caplog):
    asyncio.get_running_loop().call_soon(lambda: 1 / 0)
    await asyncio.sleep(0.01)
    assert "Exception in callback" in caplog.text
