"""The pytest snippet of the documentation: a Python test using the C++ fixture of job_fixtures.cpp."""
import pytest


@pytest.mark.pyasync(timeout=5)   # or every async def test with pyasync_mode = auto
async def test_takes_a_job(jobs):  # jobs: the C++ fixture above, on the same loop as the test
    job = await jobs.get()
    assert job.read_text() == "payload"
