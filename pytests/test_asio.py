"""Asio interop: Asio operations awaited in a task (pyasync::use_task), asio::awaitable<T> awaited
in a task and returned to Python, their errors as Python exceptions, and cancellation that reaches
the Asio operation before the frame resumes; every test on asyncio and uvloop."""
import asyncio
import socket
import time

import pytest

from conftest import settle
from _pyasync_tests import asio


async def cancel_after_start(coroutine, waiting=None):
    """Starts `coroutine` as a Task, lets it reach its Asio wait (or until `waiting()`), cancels it
    and returns the Task once it has ended (a Task that never ends fails the test)."""
    pending_before = asio.pending()
    task = asyncio.ensure_future(coroutine)
    assert await settle(waiting or (lambda: asio.pending() > pending_before))  # the wait has started
    task.cancel()
    await asyncio.wait([task], timeout=10)
    assert task.done(), "the cancelled Task did not end: the cancellation never reached Asio"
    return task


def test_an_asio_timer_awaited_in_a_task_resumes_it_on_the_loop_thread(run):
    assert run(asio.timer_wait(0.001)) == asio.main_thread()
    assert asio.pending() == 0


def test_a_completion_signature_without_an_error_and_one_with_several_values(run):
    assert run(asio.post_and_return()) == asio.main_thread()
    assert run(asio.pair_of(7, "seven")) == (7, "seven")


def test_an_errno_error_code_is_the_matching_oserror_subclass(run):
    with pytest.raises(ConnectionRefusedError) as raised:
        run(asio.fail_with_errno(111))
    assert raised.value.errno == 111
    with pytest.raises(FileNotFoundError):
        run(asio.fail_with_errno(2))


def test_asio_end_of_file_is_eoferror(run):
    with pytest.raises(EOFError, match="End of file"):
        run(asio.fail_with_eof())


def test_cancelling_the_task_aborts_the_asio_wait_and_the_frame_resumes_after_it(run):
    before = asio.counts()["aborted_before_deadline"]

    async def main():
        return await cancel_after_start(asio.cancellable_timer_wait(60))
    task = run(main())
    assert task.cancelled()
    assert asio.counts()["aborted_before_deadline"] == before + 1
    assert asio.pending() == 0


def test_a_cancelled_frame_resumes_only_once_the_asio_operation_has_reported(run):
    # The operation takes 20 ms to acknowledge; the frame's I/O objects must outlive it.
    before = asio.counts()["resumed_after_report"]

    async def main():
        return await cancel_after_start(asio.await_slow_to_cancel())
    assert run(main()).cancelled()
    assert asio.counts()["resumed_after_report"] == before + 1
    assert asio.pending() == 0


def test_an_asio_operation_awaited_away_resumes_the_frame_on_a_runtime_thread(run):
    assert run(asio.timer_wait_away(0.001)) is True
    before = asio.counts()["aborted_before_deadline"]

    async def main():
        return await cancel_after_start(asio.timer_wait_away(60))
    assert run(main()).cancelled()
    assert asio.counts()["aborted_before_deadline"] == before + 1
    assert asio.pending() == 0


@pytest.fixture
def line_server():
    """An asyncio TCP server on the test's loop: replies to each line with it upper-cased, or
    closes without a reply for b"close\\n", or never replies for b"silence\\n"."""
    seen = {"silenced": 0, "closed_by_peer": 0}

    async def handle(reader, writer):
        line = await reader.readline()
        if line == b"silence\n":
            seen["silenced"] += 1
            if await reader.read() == b"":
                seen["closed_by_peer"] += 1
        elif line != b"close\n":
            writer.write(line.upper())
            await writer.drain()
        writer.close()

    async def start():
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        return server, server.sockets[0].getsockname()[1]
    return start, seen


def test_an_asio_tcp_client_talks_to_an_asyncio_server_on_the_same_loop(run, line_server):
    start, _ = line_server

    async def main():
        server, port = await start()
        async with server:
            replies = await asyncio.gather(*(asio.tcp_request("127.0.0.1", port, f"hello {i}\n")
                                             for i in range(20)))
        return replies
    assert run(main()) == [f"HELLO {i}\n" for i in range(20)]
    assert asio.pending() == 0


def test_asio_socket_errors_reach_python_as_oserror_and_eoferror(run, line_server):
    start, _ = line_server
    with socket.socket() as unused:  # a port nobody listens on
        unused.bind(("127.0.0.1", 0))
        closed_port = unused.getsockname()[1]
    with pytest.raises(ConnectionRefusedError):
        run(asio.tcp_request("127.0.0.1", closed_port, "hello\n"))

    async def peer_closes():
        server, port = await start()
        async with server:
            await asio.tcp_request("127.0.0.1", port, "close\n")
    with pytest.raises(EOFError):
        run(peer_closes())


def test_cancelling_a_socket_read_closes_the_socket_the_frame_owned(run, line_server):
    start, seen = line_server

    async def main():
        server, port = await start()
        async with server:
            task = await cancel_after_start(asio.tcp_request("127.0.0.1", port, "silence\n"),
                                            waiting=lambda: seen["silenced"] == 1)
            assert await settle(lambda: seen["closed_by_peer"] == 1)  # the server saw the close
            return task
    assert run(main()).cancelled()
    assert asio.pending() == 0


def test_an_asio_awaitable_is_a_python_coroutine(run):
    coroutine = asio.awaitable_sum(1000)
    assert asyncio.iscoroutine(coroutine)  # lazy: nothing runs until it is awaited
    assert run(coroutine) == sum(range(1000))
    with pytest.raises(ValueError, match="from an Asio coroutine"):
        run(asio.awaitable_fails("from an Asio coroutine"))


def test_a_task_awaits_an_asio_awaitable_and_resumes_on_the_loop_thread(run):
    assert run(asio.task_awaits_awaitable(1000)) == (sum(range(1000)), asio.main_thread())
    with pytest.raises(ValueError, match="in the awaitable"):
        run(asio.task_awaits_failing_awaitable("in the awaitable"))


@pytest.mark.parametrize("make", [asio.awaitable_timer, asio.task_awaits_awaitable_timer],
                         ids=["returned_to_python", "awaited_in_a_task"])
def test_cancelling_reaches_the_operation_inside_the_asio_awaitable(run, make):
    before = asio.counts()["awaitables_aborted"]

    async def main():
        return await cancel_after_start(make(60))
    assert run(main()).cancelled()
    assert asio.counts()["awaitables_aborted"] == before + 1
    assert asio.pending() == 0


def test_future_into_py_starts_an_asio_awaitable_before_the_loop_runs_again(run):
    async def main():
        before = asio.eager_awaitable_starts()
        future = asio.eager_awaitable()
        # Block the loop thread: only an eager start can make the awaitable run meanwhile.
        deadline = time.monotonic() + 10
        while asio.eager_awaitable_starts() == before and time.monotonic() < deadline:
            time.sleep(0.001)
        started_while_the_loop_was_blocked = asio.eager_awaitable_starts() == before + 1
        return started_while_the_loop_was_blocked, isinstance(future, asyncio.Future), await future
    assert run(main()) == (True, True, "done")


def test_asio_interop_names_the_fix_when_the_default_runtime_is_not_asio():
    message = asio.asio_executor_error_with_user_runtime()
    assert "needs an asio_runtime as the default runtime" in message
    assert "co_spawn on your own executor with pyasync::use_task" in message
